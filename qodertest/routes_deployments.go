package qodertest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The run configuration the fake injects as metadata.cas_config.config.
const (
	deploymentMaxConcurrent = 1
	deploymentMaxRetries    = 0
	deploymentTimeoutMS     = 60 * 60 * 1000
)

// deployState holds the deployments and their runs; its maps are made on
// first use, under s.mu.
type deployState struct {
	deployments map[string]*deployment
	runs        map[string]*deploymentRun
}

// deployment is a stored deployment.
type deployment struct {
	id, name, description string
	seq                   int64
	agentID               string
	agentVersion          int // 0: the agent's latest version at each run
	environmentID         string
	events                []json.RawMessage // initial_events as sent
	inputs                []input           // the same, parsed
	schedule              *deploymentSchedule
	status                string         // active or paused
	pausedReason          map[string]any // nil unless paused
	resources             []json.RawMessage
	resourceParams        []resourceParam
	vaultIDs              []string
	envVars               map[string]string
	metadata              map[string]string
	budget                json.RawMessage
	stats                 deploymentStats
	archivedAt            time.Time
	createdAt, updatedAt  time.Time
}

// deploymentSchedule is a deployment's cron schedule.
type deploymentSchedule struct {
	expression, timezone string
	spec                 *cronSpec
	loc                  *time.Location
	lastRunAt            time.Time
	next                 time.Time // the next firing time Advance acts on
}

// deploymentStats are the counters of metadata.cas_config.stats.
type deploymentStats struct {
	consecutiveFailures, totalFailures, totalRuns int
	lastTriggeredAt                               time.Time
}

// deploymentFields are the fields a create or update body may hold.
var deploymentFields = []string{"name", "description", "agent", "environment_id", "initial_events", "schedule",
	"resources", "vault_ids", "environment_variables", "metadata", "budget"}

// deploymentEventTypes are the event types of a deployment's initial
// events.
var deploymentEventTypes = []string{"user.message", "user.define_outcome", "system.message"}

// deploymentsMap returns the deployments, making the map on first use;
// s.mu must be held.
func (s *Server) deploymentsMap() map[string]*deployment {
	if s.deploy.deployments == nil {
		s.deploy.deployments = make(map[string]*deployment)
	}
	return s.deploy.deployments
}

// deploymentByID returns the deployment or a 404; s.mu must be held.
func (s *Server) deploymentByID(id string) (*deployment, *apiError) {
	d, ok := s.deploymentsMap()[id]
	if !ok {
		return nil, notFound("Deployment '%s' was not found.", id)
	}
	return d, nil
}

// createDeployment checks the body, the agent and the environment (they
// must exist and not be archived); vaults and resources are checked when
// a run starts, as their pause reasons suggest.
func (s *Server) createDeployment(c *call) (int, any) {
	p, e := readDeploymentParams(c.body, true)
	if e != nil {
		return 0, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.checkDeploymentRefs(p); e != nil {
		return 0, e
	}
	now := s.Now()
	d := &deployment{id: newID("dep_"), status: "active", envVars: map[string]string{}, metadata: map[string]string{}, createdAt: now}
	p.apply(d, now)
	d.seq = s.register("deployment", d.id)
	s.deploymentsMap()[d.id] = d
	return http.StatusCreated, s.deploymentWire(d)
}

func (s *Server) getDeployment(c *call) (int, any) {
	return s.onDeployment(c, "", func(d *deployment) (int, any) { return http.StatusOK, s.deploymentWire(d) })
}

// updateDeployment changes the fields the body holds: metadata is a merge
// patch, initial_events, resources and vault_ids replace their lists, and
// schedule null makes the deployment manual-only. An archived deployment
// cannot change (409).
func (s *Server) updateDeployment(c *call) (int, any) {
	p, e := readDeploymentParams(c.body, false)
	if e != nil {
		return 0, e
	}
	return s.onDeployment(c, "changed", func(d *deployment) (int, any) {
		if e := s.checkDeploymentRefs(p); e != nil {
			return 0, e
		}
		p.apply(d, s.Now())
		return http.StatusOK, s.deploymentWire(d)
	})
}

// listDeployments lists newest first, without archived deployments unless
// include_archived, filtered by status (which cannot be combined with
// include_archived), agent_id and created_at bounds.
func (s *Server) listDeployments(c *call) (int, any) {
	q := c.r.URL.Query()
	status := q.Get("status")
	if status != "" && status != "active" && status != "paused" {
		return 0, invalid("status", "status must be 'active' or 'paused'.")
	}
	archived, e := boolParam(q, "include_archived")
	if e != nil {
		return 0, e
	}
	if status != "" && archived {
		return 0, invalid("status", "status cannot be combined with include_archived.")
	}
	agentID := q.Get("agent_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	l, e := s.parseResourceListMax(q, "deployment", 1000)
	if e != nil {
		return 0, e
	}
	for _, d := range s.deploymentsMap() {
		if (status == "" || d.status == status) && (agentID == "" || d.agentID == agentID) {
			l.add(d.seq, d.id, d.archivedAt, d.createdAt, func() any { return s.deploymentWire(d) })
		}
	}
	return l.result()
}

// archiveDeployment stops the schedule for good and renames the
// deployment; archiving it again is 409.
func (s *Server) archiveDeployment(c *call) (int, any) {
	return s.onDeployment(c, "archived again", func(d *deployment) (int, any) {
		now := s.Now()
		d.archivedAt, d.updatedAt = now, now
		d.name = fmt.Sprintf("%s_archived_%d", d.name, now.Unix())
		return http.StatusOK, s.deploymentWire(d)
	})
}

// pauseDeployment pauses an active deployment (manual reason); pausing a
// paused or archived one is 409.
func (s *Server) pauseDeployment(c *call) (int, any) {
	return s.onDeployment(c, "paused", func(d *deployment) (int, any) {
		if d.status == "paused" {
			return 0, conflict("Deployment '%s' is already paused.", d.id)
		}
		d.status, d.pausedReason, d.updatedAt = "paused", map[string]any{"type": "manual"}, s.Now()
		return http.StatusOK, s.deploymentWire(d)
	})
}

// unpauseDeployment makes a paused deployment active and computes its next
// firing from now; unpausing an active or archived one is 409.
func (s *Server) unpauseDeployment(c *call) (int, any) {
	return s.onDeployment(c, "unpaused", func(d *deployment) (int, any) {
		if d.status != "paused" {
			return 0, conflict("Deployment '%s' is not paused.", d.id)
		}
		now := s.Now()
		d.status, d.pausedReason, d.updatedAt = "active", nil, now
		d.schedule.from(now)
		return http.StatusOK, s.deploymentWire(d)
	})
}

// runDeployment starts a run of an active deployment now (see startRun);
// a paused or archived deployment is 409. The body, if any, must be {}.
func (s *Server) runDeployment(c *call) (int, any) {
	if len(strings.TrimSpace(string(c.body))) > 0 {
		obj, e := parseBody(c.body)
		if e != nil {
			return 0, e
		}
		f := newFields(obj, "")
		if f.only(); f.failed() {
			return 0, f.err
		}
	}
	return s.onDeployment(c, "run", func(d *deployment) (int, any) {
		if d.status == "paused" {
			return 0, conflict("Deployment '%s' is paused; unpause it to run it.", d.id)
		}
		return http.StatusOK, s.startRun(d, "manual", time.Time{})
	})
}

// onDeployment runs fn, with s.mu held, on the deployment of the path.
// With a verb, an archived deployment is 409: it cannot be verb.
func (s *Server) onDeployment(c *call, verb string, fn func(d *deployment) (int, any)) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.deploymentByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if verb != "" && !d.archivedAt.IsZero() {
		return 0, conflict("Deployment '%s' is archived and cannot be %s.", d.id, verb)
	}
	return fn(d)
}

// deploymentParams is a create or update body, read and checked; apply
// sets the fields it holds.
type deploymentParams struct {
	f              *fields
	name           string
	description    string
	agentID        string
	agentVersion   int
	environmentID  string
	events         []json.RawMessage
	inputs         []input
	schedule       *deploymentSchedule
	resources      []json.RawMessage
	resourceParams []resourceParam
	vaultIDs       []string
	envVars        map[string]string
	metadata       map[string]*string
	budget         json.RawMessage
}

// readDeploymentParams reads a create body (name, agent, environment_id
// and initial_events required) or an update body (every field optional;
// null metadata values delete keys, null schedule and budget clear them).
func readDeploymentParams(body []byte, create bool) (*deploymentParams, *apiError) {
	obj, e := parseBody(body)
	if e != nil {
		return nil, e
	}
	f := newFields(obj, "")
	f.only(deploymentFields...)
	if create {
		for _, name := range []string{"name", "agent", "environment_id", "initial_events"} {
			f.require(name)
		}
	}
	p := &deploymentParams{f: f}
	p.name = f.str("name")
	if f.present("name") {
		f.require("name")
		f.maxLen("name", p.name, 1, 256)
	}
	p.description = f.str("description")
	if f.present("agent") {
		f.require("agent")
		p.agentID, p.agentVersion = readAgentRef(f)
	}
	if f.present("environment_id") {
		p.environmentID = f.reqStr("environment_id")
	}
	if f.present("initial_events") {
		items := f.array("initial_events")
		switch {
		case f.failed():
		case len(items) == 0:
			f.fail("initial_events", "field 'initial_events' must hold 1 to 50 events; it cannot be cleared.")
		case len(items) > 50:
			f.fail("initial_events", "field 'initial_events' may hold at most 50 events.")
		default:
			p.inputs, f.err = parseInputEvents(items, "initial_events", deploymentEventTypes...)
			for _, raw := range items {
				p.events = append(p.events, compact(raw))
			}
		}
	}
	if f.has("schedule") {
		p.schedule = readSchedule(f)
	}
	p.resourceParams = readResources(f)
	for _, r := range p.resourceParams {
		data, _ := json.Marshal(r.body)
		p.resources = append(p.resources, data)
	}
	p.vaultIDs = f.strings("vault_ids")
	if len(p.vaultIDs) > 50 {
		f.fail("vault_ids", "field 'vault_ids' may hold at most 50 vaults.")
	}
	p.envVars = readEnvVars(f)
	p.metadata = f.metadata("metadata", !create)
	if _, ok := p.metadata[casConfigKey]; ok {
		f.fail("metadata", "metadata key '%s' is reserved for the server.", casConfigKey)
	}
	p.budget = readBudget(f)
	if f.failed() {
		return nil, f.err
	}
	return p, nil
}

// casConfigKey is the metadata key the server injects.
const casConfigKey = "cas_config"

// readSchedule reads a cron schedule: type "cron", a valid 5-field
// expression and an IANA time zone, all required.
func readSchedule(f *fields) *deploymentSchedule {
	sf := newFields(f.object("schedule"), "schedule")
	if f.failed() {
		return nil
	}
	sf.only("type", "expression", "timezone")
	for _, name := range []string{"type", "expression", "timezone"} {
		sf.require(name)
	}
	sf.strIn("type", "cron")
	sch := &deploymentSchedule{expression: sf.str("expression"), timezone: sf.str("timezone")}
	if !sf.failed() {
		var err error
		if sch.spec, err = parseCron(sch.expression); err != nil {
			sf.fail("expression", "invalid cron expression '%s': %v.", sch.expression, err)
		} else if sch.loc, err = time.LoadLocation(sch.timezone); err != nil || sch.timezone == "Local" {
			sf.fail("timezone", "unknown time zone '%s'; use an IANA name such as 'Europe/Berlin'.", sch.timezone)
		}
	}
	if sf.failed() && !f.failed() {
		f.err = sf.err
	}
	return sch
}

// checkDeploymentRefs checks the agent and environment the params name;
// s.mu must be held.
func (s *Server) checkDeploymentRefs(p *deploymentParams) *apiError {
	if p.f.present("agent") {
		if _, _, e := s.usableAgent(p.agentID, p.agentVersion); e != nil {
			return e
		}
	}
	if p.f.present("environment_id") {
		if _, e := s.usableEnvironment(p.environmentID); e != nil {
			return e
		}
	}
	return nil
}

// apply sets the fields the params hold on d, at time now.
func (p *deploymentParams) apply(d *deployment, now time.Time) {
	f := p.f
	if f.present("name") {
		d.name = p.name
	}
	if f.present("description") {
		d.description = p.description
	}
	if f.present("agent") {
		d.agentID, d.agentVersion = p.agentID, p.agentVersion
	}
	if f.present("environment_id") {
		d.environmentID = p.environmentID
	}
	if f.present("initial_events") {
		d.events, d.inputs = p.events, p.inputs
	}
	if f.present("schedule") {
		d.schedule = p.schedule
		d.schedule.from(now)
	}
	if f.present("resources") {
		d.resources, d.resourceParams = p.resources, p.resourceParams
	}
	if f.present("vault_ids") {
		d.vaultIDs = p.vaultIDs
	}
	if f.present("environment_variables") {
		d.envVars = p.envVars
	}
	if f.present("metadata") {
		applyPatch(d.metadata, p.metadata)
	}
	if f.present("budget") {
		d.budget = p.budget
	}
	d.updatedAt = now
}

// from computes the next firing time after now; a nil schedule does
// nothing.
func (sch *deploymentSchedule) from(now time.Time) {
	if sch != nil {
		sch.next = sch.spec.next(now, sch.loc)
	}
}

// agentRef is the resolved agent reference of a deployment or a run;
// s.mu must be held.
func (s *Server) agentRef(agentID string, version int) map[string]any {
	if version == 0 {
		if a, ok := s.agents[agentID]; ok {
			version = a.latest().version
		}
	}
	return map[string]any{"id": agentID, "type": "agent", "version": version}
}

// deploymentWire is the wire form (its keys encode in the recorded
// order); s.mu must be held.
func (s *Server) deploymentWire(d *deployment) map[string]any {
	out := map[string]any{
		"id": d.id, "type": "deployment", "name": d.name, "description": d.description,
		"agent": s.agentRef(d.agentID, d.agentVersion), "environment_id": d.environmentID,
		"initial_events": d.events, "schedule": s.scheduleWire(d), "status": d.status,
		"paused_reason": d.pausedReason, "resources": nonNil(d.resources), "vault_ids": nonNilStrings(d.vaultIDs),
		"environment_variables": envVarString(d.envVars), "metadata": s.deploymentMetadata(d),
		"archived_at": nullTime(d.archivedAt), "created_at": timestamp(d.createdAt), "updated_at": timestamp(d.updatedAt),
	}
	if d.budget != nil {
		out["budget"] = d.budget
	}
	return out
}

// scheduleWire shows the schedule with its next five firing times (none
// once the deployment is archived).
func (s *Server) scheduleWire(d *deployment) any {
	sch := d.schedule
	if sch == nil {
		return nil
	}
	upcoming := []string{}
	if d.archivedAt.IsZero() {
		for _, t := range sch.spec.upcoming(s.Now(), sch.loc, 5) {
			upcoming = append(upcoming, timestamp(t))
		}
	}
	out := map[string]any{"type": "cron", "expression": sch.expression, "timezone": sch.timezone, "upcoming_runs_at": upcoming}
	if !sch.lastRunAt.IsZero() {
		out["last_run_at"] = timestamp(sch.lastRunAt)
	}
	return out
}

// deploymentMetadata is the user's pairs and the injected cas_config.
func (s *Server) deploymentMetadata(d *deployment) map[string]any {
	out := make(map[string]any, len(d.metadata)+1)
	for k, v := range d.metadata {
		out[k] = v
	}
	var next *string
	if d.schedule != nil && d.status == "active" && d.archivedAt.IsZero() {
		next = nullTime(d.schedule.next)
	}
	out[casConfigKey] = map[string]any{
		"config": map[string]any{
			"max_concurrent": deploymentMaxConcurrent, "max_retries": deploymentMaxRetries, "timeout_ms": deploymentTimeoutMS,
		},
		"session_strategy": "new_session",
		"stats": map[string]any{
			"consecutive_failures": d.stats.consecutiveFailures, "total_failures": d.stats.totalFailures,
			"total_runs": d.stats.totalRuns, "last_triggered_at": nullTime(d.stats.lastTriggeredAt), "next_trigger_at": next,
		},
	}
	return out
}

// envVarString writes environment variables as the API echoes them:
// KEY=VALUE lines in key order.
func envVarString(vars map[string]string) string {
	lines := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		lines = append(lines, k+"="+vars[k])
	}
	return strings.Join(lines, "\n")
}

func nonNilStrings(a []string) []string {
	if a == nil {
		return []string{}
	}
	return a
}
