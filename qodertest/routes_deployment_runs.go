package qodertest

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"
)

// Deployment run statuses.
const (
	runPending   = "pending"
	runRunning   = "running"
	runCompleted = "completed"
	runFailed    = "failed"
	runSkipped   = "skipped"
)

var runStatuses = []string{runPending, runRunning, runCompleted, runFailed, runSkipped}

// pauseCauses are the run failures after which the server pauses the
// deployment (paused_reason {type: error, error: {type}}).
var pauseCauses = []string{"agent_archived", "environment_archived", "memory_store_archived", "vault_archived",
	"environment_not_found", "file_not_found", "skill_not_found", "vault_not_found", "session_resource_not_found",
	"mcp_egress_blocked", "organization_disabled", "workspace_archived", "self_hosted_resources_unsupported"}

// deploymentRun is a stored run.
type deploymentRun struct {
	id, deploymentID     string
	seq                  int64
	agentID              string
	agentVersion         int
	status               string
	err                  *sessionFault // why a failed run failed
	trigger              string        // manual or schedule
	scheduledAt          time.Time
	sessionID            string
	createdAt, startedAt time.Time
	completedAt          time.Time
	durationMS           *int64
}

// runsMap returns the runs, making the map on first use; s.mu must be
// held.
func (s *Server) runsMap() map[string]*deploymentRun {
	if s.deploy.runs == nil {
		s.deploy.runs = make(map[string]*deploymentRun)
	}
	return s.deploy.runs
}

// startRun records a run of d and starts it, and returns the run as it
// was recorded (pending, or skipped); s.mu must be held. Over the
// concurrency limit the run is skipped. Otherwise it gets a session of
// the deployment's agent, environment, resources and vaults, which is
// sent the initial events; the run is running from the session's first
// session.status_running, and completed or failed when its turn ends (see
// watchSession). A run whose references no longer hold fails at once, and
// pauses the deployment when the cause is one of the pause reasons.
func (s *Server) startRun(d *deployment, trigger string, scheduledAt time.Time) map[string]any {
	now := s.Now()
	inFlight := 0
	for _, r := range s.runsMap() {
		if r.deploymentID == d.id && (r.status == runPending || r.status == runRunning) {
			inFlight++
		}
	}
	r := &deploymentRun{id: newID("drun_"), deploymentID: d.id, agentID: d.agentID, agentVersion: d.agentVersion,
		status: runPending, trigger: trigger, scheduledAt: scheduledAt, createdAt: now}
	if a, ok := s.agents[d.agentID]; ok && r.agentVersion == 0 {
		r.agentVersion = a.latest().version
	}
	r.seq = s.register("deployment_run", r.id)
	s.runsMap()[r.id] = r
	d.stats.totalRuns++
	d.stats.lastTriggeredAt = now
	if d.schedule != nil {
		d.schedule.lastRunAt = now
	}
	if inFlight >= deploymentMaxConcurrent {
		r.status, r.completedAt = runSkipped, now
		return s.runWire(r)
	}
	ss, fault := s.runSession(d, r)
	if fault != nil {
		s.endRun(d, r, fault)
		return s.runWire(r)
	}
	r.sessionID = ss.id
	recorded := s.runWire(r)
	watchSession(ss, func() {
		r.status, r.startedAt = runRunning, s.Now()
	}, func(f *sessionFault) {
		if f != nil && f.typ != "unknown" { // a session.error's type is no run cause
			f = &sessionFault{typ: "unknown", message: fmt.Sprintf("session error %s: %s", f.typ, f.message)}
		}
		s.endRun(d, r, f)
	})
	if _, e := s.accept(ss, d.inputs); e != nil {
		ss.onEvent = nil
		s.endRun(d, r, &sessionFault{typ: "session_creation_rejected", message: e.message})
	} else if ss.turn == nil && r.status == runPending {
		ss.onEvent = nil // no user.message: nothing runs
		s.endRun(d, r, nil)
	}
	return recorded
}

// runSession creates the session of a run; s.mu must be held. It fails,
// with the documented cause, when the deployment's references no longer
// hold.
func (s *Server) runSession(d *deployment, r *deploymentRun) (*session, *sessionFault) {
	fail := func(typ, format string, args ...any) (*session, *sessionFault) {
		return nil, &sessionFault{typ: typ, message: fmt.Sprintf(format, args...)}
	}
	a, ok := s.agents[d.agentID]
	switch {
	case !ok:
		return fail("unknown", "Agent '%s' was not found.", d.agentID)
	case !a.archivedAt.IsZero():
		return fail("agent_archived", "Agent '%s' is archived.", d.agentID)
	case r.agentVersion < 1 || r.agentVersion > len(a.versions):
		return fail("unknown", "Agent '%s' has no version %d.", d.agentID, r.agentVersion)
	}
	cfg := &a.versions[r.agentVersion-1]
	env, ok := s.envs[d.environmentID]
	switch {
	case !ok:
		return fail("environment_not_found", "Environment '%s' was not found.", d.environmentID)
	case !env.archivedAt.IsZero():
		return fail("environment_archived", "Environment '%s' is archived.", d.environmentID)
	case env.selfHosted() && (len(d.resourceParams) > 0 || len(d.envVars) > 0):
		return fail("self_hosted_resources_unsupported", "Self-hosted environments do not support session resources or environment variables.")
	}
	for _, id := range d.vaultIDs {
		v, ok := s.vaultsMap()[id]
		switch {
		case !ok:
			return fail("vault_not_found", "Vault '%s' was not found.", id)
		case !v.archivedAt.IsZero():
			return fail("vault_archived", "Vault '%s' is archived.", id)
		}
	}
	if e := s.checkVaults(d.vaultIDs, cfg.mcpServers); e != nil {
		return fail("session_creation_rejected", "%s", e.message)
	}
	params := make([]resourceParam, len(d.resourceParams))
	for i, p := range d.resourceParams {
		p.body = maps.Clone(p.body) // resolveResources fills it in
		params[i] = p
		switch p.typ {
		case "file":
			if _, ok := s.files[p.ref]; !ok {
				return fail("file_not_found", "File '%s' was not found.", p.ref)
			}
		case "memory_store":
			m, ok := s.memoryStores()[p.ref]
			switch {
			case !ok:
				return fail("session_resource_not_found", "Memory store '%s' was not found.", p.ref)
			case !m.archivedAt.IsZero():
				return fail("memory_store_archived", "Memory store '%s' is archived.", p.ref)
			}
		}
	}
	resources, e := s.resolveResources(params)
	if e != nil {
		return fail("session_creation_rejected", "%s", e.message)
	}
	ss := s.addSession(a, cfg, env.id)
	ss.deploymentID = d.id
	ss.title = d.name
	ss.vaultIDs = slices.Clone(d.vaultIDs)
	ss.envVars = maps.Clone(d.envVars)
	ss.resources = resources
	ss.budget = d.budget
	return ss, nil
}

// endRun settles a run: completed when fault is nil, failed otherwise
// (pausing the deployment for a pause cause); s.mu must be held.
func (s *Server) endRun(d *deployment, r *deploymentRun, fault *sessionFault) {
	if r.status != runPending && r.status != runRunning {
		return
	}
	r.completedAt = s.Now()
	if !r.startedAt.IsZero() {
		ms := r.completedAt.Sub(r.startedAt).Milliseconds()
		r.durationMS = &ms
	}
	if fault == nil {
		r.status = runCompleted
		d.stats.consecutiveFailures = 0
		return
	}
	r.status, r.err = runFailed, fault
	d.stats.totalFailures++
	d.stats.consecutiveFailures++
	if slices.Contains(pauseCauses, fault.typ) && d.status == "active" && d.archivedAt.IsZero() {
		d.status = "paused"
		d.pausedReason = map[string]any{"type": "error", "error": map[string]string{"type": fault.typ}}
		d.updatedAt = r.completedAt
	}
}

// runWire is the wire form of a run (its keys encode in the recorded
// order); s.mu must be held.
func (s *Server) runWire(r *deploymentRun) map[string]any {
	var errObj, session any
	if r.err != nil {
		errObj = map[string]string{"type": r.err.typ, "message": r.err.message}
	}
	if r.sessionID != "" {
		session = r.sessionID
	}
	trigger := map[string]any{"type": r.trigger}
	if !r.scheduledAt.IsZero() {
		trigger["scheduled_at"] = timestamp(r.scheduledAt)
	}
	extras := map[string]any{"attempt": 1}
	if !r.startedAt.IsZero() {
		extras["started_at"] = timestamp(r.startedAt)
	}
	return map[string]any{
		"id": r.id, "type": "deployment_run", "deployment_id": r.deploymentID,
		"agent": s.agentRef(r.agentID, r.agentVersion), "status": r.status, "error": errObj,
		"trigger_context": trigger, "session_id": session, "triggered_at": timestamp(r.createdAt),
		"created_at": timestamp(r.createdAt), "completed_at": nullTime(r.completedAt), "duration_ms": r.durationMS,
		"cas_run_extras": extras,
	}
}

// listRuns serves GET /deployment_runs: the runs of every deployment.
func (s *Server) listRuns(c *call) (int, any) {
	return s.runList(c, "")
}

// listDeploymentRuns serves GET /deployments/{id}/runs.
func (s *Server) listDeploymentRuns(c *call) (int, any) {
	return s.runList(c, c.r.PathValue("id"))
}

// runList lists runs newest first, of the deployment scope (every one when
// empty), filtered by deployment_id (an unknown id lists nothing), status,
// trigger_type, has_error and created_at[gt|gte|lt|lte].
func (s *Server) runList(c *call, scope string) (int, any) {
	q := c.r.URL.Query()
	status, trigger, deploymentID := q.Get("status"), q.Get("trigger_type"), q.Get("deployment_id")
	if status != "" && !slices.Contains(runStatuses, status) {
		return 0, invalid("status", "status must be one of %s.", quoteList(runStatuses))
	}
	if trigger != "" && !slices.Contains([]string{"manual", "schedule", "retry"}, trigger) {
		return 0, invalid("trigger_type", "trigger_type must be one of 'manual', 'schedule', 'retry'.")
	}
	hasError, e := boolParam(q, "has_error")
	if e != nil {
		return 0, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if scope != "" {
		if _, e := s.deploymentByID(scope); e != nil {
			return 0, e
		}
	}
	l, e := s.parseResourceListMax(q, "deployment_run", 1000)
	if e != nil {
		return 0, e
	}
	for _, r := range s.runsMap() {
		switch {
		case scope != "" && r.deploymentID != scope,
			deploymentID != "" && r.deploymentID != deploymentID,
			status != "" && r.status != status,
			trigger != "" && r.trigger != trigger,
			q.Has("has_error") && (r.err != nil) != hasError:
			continue
		}
		l.add(r.seq, r.id, time.Time{}, r.createdAt, func() any { return s.runWire(r) })
	}
	return l.result()
}

// getRun serves GET /deployment_runs/{id}.
func (s *Server) getRun(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runsMap()[c.r.PathValue("run")]
	if !ok {
		return 0, notFound("Deployment run '%s' was not found.", c.r.PathValue("run"))
	}
	return http.StatusOK, s.runWire(r)
}

// getDeploymentRun serves GET /deployments/{id}/runs/{run}: the run must
// belong to the deployment.
func (s *Server) getDeploymentRun(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.deploymentByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	r, ok := s.runsMap()[c.r.PathValue("run")]
	if !ok || r.deploymentID != d.id {
		return 0, notFound("Deployment run '%s' was not found in deployment '%s'.", c.r.PathValue("run"), d.id)
	}
	return http.StatusOK, s.runWire(r)
}

// fireSchedules runs, once each, the active deployments whose schedule
// fell due by now (Advance calls it); s.mu must be held. The run's
// scheduled_at is the latest firing time due; earlier ones missed in the
// same jump are not made up.
func (s *Server) fireSchedules(now time.Time) {
	ds := slices.SortedFunc(maps.Values(s.deploymentsMap()), func(a, b *deployment) int { return cmp.Compare(a.seq, b.seq) })
	for _, d := range ds {
		sch := d.schedule
		if sch == nil || d.status != "active" || !d.archivedAt.IsZero() || sch.next.IsZero() || sch.next.After(now) {
			continue
		}
		due := sch.next
		for t, i := due, 0; !t.IsZero() && !t.After(now) && i < 100_000; t, i = sch.spec.next(t, sch.loc), i+1 {
			due = t
		}
		sch.next = sch.spec.next(now, sch.loc)
		s.startRun(d, "schedule", due)
	}
}
