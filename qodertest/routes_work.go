package qodertest

import (
	"cmp"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Work item states.
const (
	workQueued   = "queued"
	workStarting = "starting"
	workActive   = "active"
	workStopping = "stopping"
	workStopped  = "stopped"
)

// Work queue defaults and limits.
const (
	defaultWorkLease   = 60 * time.Second // the lease an ack starts, and a heartbeat's default
	defaultWorkReclaim = 5 * time.Second  // reclaim_older_than_ms when the poll sends none
	maxWorkBlock       = 999              // block_ms
	maxWorkTTLSeconds  = 3600             // desired_ttl_seconds
	workerPollWindow   = 30 * time.Second // a worker that polled this recently counts as polling
)

// workState holds the self-hosted work queues; its maps are made on first
// use, under s.mu.
type workState struct {
	items  map[string]*workItem
	polled map[string]map[string]time.Time // environment id -> Worker-ID -> last poll
	wakeCh chan struct{}                   // closed (and replaced) to wake waiting polls
}

// workItem is a stored work item.
type workItem struct {
	id, environmentID string
	seq               int64
	dataType, dataID  string
	state             string
	metadata          map[string]string
	claimedBy         string    // Worker-ID of the poll holding the claim
	claimedAt         time.Time // zero when unclaimed
	leaseUntil        time.Time // starting, active or stopping: when the lease lapses
	createdAt         time.Time
	acknowledgedAt    time.Time
	startedAt         time.Time
	latestHeartbeat   time.Time
	stopRequestedAt   time.Time
	stoppedAt         time.Time
}

// WorkItem is an item [Server.EnqueueWork] puts on a queue.
type WorkItem struct {
	// Type is what the item is about: "session" (the default) or
	// "healthcheck".
	Type string
	// ID names it, such as the id of the session to run.
	ID string
	// Metadata holds string pairs.
	Metadata map[string]string
}

// WorkItemState is a snapshot of a work item, for assertions.
type WorkItemState struct {
	// ID and EnvironmentID name the item and its queue.
	ID, EnvironmentID string
	// State is queued, starting, active, stopping or stopped.
	State string
	// ClaimedBy is the Worker-ID of the poll that claimed the item; empty
	// while nobody holds it.
	ClaimedBy string
	// LeaseExpiresAt is when the holder's lease lapses (in the fake's
	// time, see [Server.Now]); zero without a lease.
	LeaseExpiresAt time.Time
	// LastHeartbeat is the time of the latest heartbeat; zero before one.
	LastHeartbeat time.Time
	// StopRequested reports whether a stop was asked for.
	StopRequested bool
	// Metadata is the item's metadata.
	Metadata map[string]string
}

// EnqueueWork puts an item on the work queue of a self-hosted environment
// without a request, wakes the polls waiting for one, and returns the
// item's id. It panics when there is no such environment or it is not
// self-hosted.
func (s *Server) EnqueueWork(environmentID string, item WorkItem) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	env, ok := s.envs[environmentID]
	if !ok || !env.selfHosted() {
		panic(fmt.Sprintf("qodertest: EnqueueWork: %q is not a self-hosted environment", environmentID))
	}
	w := &workItem{id: newID("work_"), environmentID: environmentID, dataType: cmp.Or(item.Type, "session"), dataID: item.ID,
		state: workQueued, metadata: map[string]string{}, createdAt: s.Now()}
	for k, v := range item.Metadata {
		w.metadata[k] = v
	}
	w.seq = s.register("work", w.id)
	s.workItems()[w.id] = w
	s.work.wake()
	return w.id
}

// WorkItem returns a snapshot of work item id, or false if there is none.
func (s *Server) WorkItem(id string) (WorkItemState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLeases(s.Now())
	w, ok := s.workItems()[id]
	if !ok {
		return WorkItemState{}, false
	}
	st := WorkItemState{ID: w.id, EnvironmentID: w.environmentID, State: w.state, ClaimedBy: w.claimedBy,
		LastHeartbeat: w.latestHeartbeat, StopRequested: !w.stopRequestedAt.IsZero(), Metadata: map[string]string{}}
	if w.state == workStarting || w.state == workActive || w.state == workStopping {
		st.LeaseExpiresAt = w.leaseUntil
	}
	for k, v := range w.metadata {
		st.Metadata[k] = v
	}
	return st, true
}

// workItems returns the items, making the map on first use; s.mu must be
// held.
func (s *Server) workItems() map[string]*workItem {
	if s.work.items == nil {
		s.work.items = make(map[string]*workItem)
	}
	return s.work.items
}

// waiter returns a channel closed at the next wake; s.mu must be held.
func (ws *workState) waiter() <-chan struct{} {
	if ws.wakeCh == nil {
		ws.wakeCh = make(chan struct{})
	}
	return ws.wakeCh
}

// wake wakes the waiting polls; s.mu must be held.
func (ws *workState) wake() {
	if ws.wakeCh != nil {
		close(ws.wakeCh)
		ws.wakeCh = nil
	}
}

// expireLeases applies lapsed leases at now: an item being worked on goes
// back to the queue, unclaimed, for another worker (its holder's next
// heartbeat finds the lease lost); an item asked to stop is stopped.
// s.mu must be held.
func (s *Server) expireLeases(now time.Time) {
	requeued := false
	for _, w := range s.work.items {
		if w.leaseUntil.IsZero() || !now.After(w.leaseUntil) {
			continue
		}
		switch w.state {
		case workStarting, workActive:
			w.state, w.claimedBy, w.claimedAt, w.leaseUntil = workQueued, "", time.Time{}, time.Time{}
			w.acknowledgedAt, w.startedAt, w.latestHeartbeat = time.Time{}, time.Time{}, time.Time{}
			requeued = true
		case workStopping:
			w.state, w.stoppedAt, w.leaseUntil = workStopped, now, time.Time{}
		}
	}
	if requeued {
		s.work.wake()
	}
}

// selfHostedEnv returns the environment of the path, which must exist (404)
// and be self-hosted (400); s.mu must be held.
func (s *Server) selfHostedEnv(c *call) (*environment, *apiError) {
	env, e := s.environmentByID(c.r.PathValue("id"))
	if e != nil {
		return nil, e
	}
	if !env.selfHosted() {
		return nil, invalid("environment_id", "Environment '%s' is not self-hosted: only environments with config type 'self_hosted' have a work queue.", env.id)
	}
	return env, nil
}

// onQueue runs fn, with s.mu held, on the queue of the environment of
// the path, after applying the leases that lapsed by now.
func (s *Server) onQueue(c *call, fn func(env *environment, now time.Time) (int, any)) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	env, e := s.selfHostedEnv(c)
	if e != nil {
		return 0, e
	}
	now := s.Now()
	s.expireLeases(now)
	return fn(env, now)
}

// onWork runs fn, like onQueue, on the item of the path.
func (s *Server) onWork(c *call, fn func(w *workItem) (int, any)) (int, any) {
	return s.onQueue(c, func(env *environment, _ time.Time) (int, any) {
		w, ok := s.workItems()[c.r.PathValue("work")]
		if !ok || w.environmentID != env.id {
			return 0, notFound("Work '%s' was not found in environment '%s'.", c.r.PathValue("work"), env.id)
		}
		return fn(w)
	})
}

// pollWork claims the oldest item that is queued and unclaimed, or whose
// claim is older than reclaim_older_than_ms (default 5000) without an
// ack. With none it waits up to block_ms (0 to 999; 0, the default, does
// not wait) for an item to be enqueued or requeued, and then answers null.
// The Worker-ID header names the claimant.
func (s *Server) pollWork(c *call) (int, any) {
	q := c.r.URL.Query()
	block, e := intParam(q.Get("block_ms"), "block_ms", 0, maxWorkBlock)
	if e != nil {
		return 0, e
	}
	reclaimMS, e := intParam(q.Get("reclaim_older_than_ms"), "reclaim_older_than_ms", 0, 1<<31-1)
	if e != nil {
		return 0, e
	}
	reclaim := defaultWorkReclaim
	if q.Has("reclaim_older_than_ms") {
		reclaim = time.Duration(reclaimMS) * time.Millisecond
	}
	worker := c.r.Header.Get("Worker-ID")
	timer := time.NewTimer(time.Duration(block) * time.Millisecond)
	defer timer.Stop()
	for {
		s.mu.Lock()
		env, e := s.selfHostedEnv(c)
		if e != nil {
			s.mu.Unlock()
			return 0, e
		}
		now := s.Now()
		s.expireLeases(now)
		s.markPolling(env.id, worker, now)
		if w := s.claimWork(env.id, worker, reclaim, now); w != nil {
			out := w.wire()
			s.mu.Unlock()
			return http.StatusOK, out
		}
		wake := s.work.waiter()
		s.mu.Unlock()
		if block == 0 {
			return http.StatusOK, nil
		}
		select {
		case <-wake:
		case <-timer.C:
			return http.StatusOK, nil
		case <-c.r.Context().Done():
			return http.StatusOK, nil
		case <-s.ctx.Done():
			return http.StatusOK, nil
		}
	}
}

// claimWork claims the oldest claimable item of the environment for
// worker; s.mu must be held.
func (s *Server) claimWork(envID, worker string, reclaim time.Duration, now time.Time) *workItem {
	var best *workItem
	for _, w := range s.work.items {
		if w.environmentID != envID || w.state != workQueued || (!w.claimedAt.IsZero() && now.Sub(w.claimedAt) < reclaim) {
			continue
		}
		if best == nil || w.seq < best.seq {
			best = w
		}
	}
	if best != nil {
		best.claimedBy, best.claimedAt = worker, now
	}
	return best
}

// markPolling records that worker polls the environment's queue; s.mu
// must be held.
func (s *Server) markPolling(envID, worker string, now time.Time) {
	if s.work.polled == nil {
		s.work.polled = make(map[string]map[string]time.Time)
	}
	if s.work.polled[envID] == nil {
		s.work.polled[envID] = make(map[string]time.Time)
	}
	s.work.polled[envID][worker] = now
}

// ackWork acknowledges a claimed item: it moves to starting, with a lease
// of 60 s. An item nobody claimed, or one already acknowledged or stopped,
// is 409.
func (s *Server) ackWork(c *call) (int, any) {
	return s.onWork(c, func(w *workItem) (int, any) {
		switch {
		case w.state == workStopped:
			return 0, conflict("Work '%s' is stopped.", w.id)
		case w.state != workQueued:
			return 0, conflict("Work '%s' is already acknowledged.", w.id)
		case w.claimedAt.IsZero():
			return 0, conflict("Work '%s' is not claimed: poll for it first.", w.id)
		}
		now := s.Now()
		w.state, w.acknowledgedAt, w.leaseUntil = workStarting, now, now.Add(defaultWorkLease)
		return http.StatusOK, w.wire()
	})
}

// heartbeatWork extends the lease by desired_ttl_seconds (1 to 3600,
// default 60); the first heartbeat moves a starting item to active. An
// expected_last_heartbeat that is not the item's latest heartbeat (another
// worker holds it, or the item was requeued) is 409. An item that is not
// held (requeued after its lease lapsed, or stopped) answers
// lease_extended false.
func (s *Server) heartbeatWork(c *call) (int, any) {
	q := c.r.URL.Query()
	ttl, e := intParam(q.Get("desired_ttl_seconds"), "desired_ttl_seconds", 1, maxWorkTTLSeconds)
	if e != nil {
		return 0, e
	}
	if !q.Has("desired_ttl_seconds") {
		ttl = int(defaultWorkLease / time.Second)
	}
	var expected time.Time
	if v := q.Get("expected_last_heartbeat"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return 0, invalid("expected_last_heartbeat", "expected_last_heartbeat must be an RFC 3339 timestamp.")
		}
		expected = t
	}
	return s.onWork(c, func(w *workItem) (int, any) {
		if !expected.IsZero() && !expected.Equal(w.latestHeartbeat) {
			last := "none"
			if !w.latestHeartbeat.IsZero() {
				last = timestamp(w.latestHeartbeat)
			}
			return 0, conflict("expected_last_heartbeat %s does not match the work's last heartbeat (%s): another worker holds it.", timestamp(expected), last)
		}
		out := map[string]any{"type": "work_heartbeat", "last_heartbeat": nullTime(w.latestHeartbeat), "lease_extended": false, "state": w.state, "ttl_seconds": 0}
		if w.state == workQueued || w.state == workStopped {
			return http.StatusOK, out
		}
		now := s.Now()
		if w.state == workStarting {
			w.state, w.startedAt = workActive, now
		}
		w.latestHeartbeat, w.leaseUntil = now, now.Add(time.Duration(ttl)*time.Second)
		out["last_heartbeat"], out["lease_extended"], out["state"], out["ttl_seconds"] = timestamp(now), true, w.state, ttl
		return http.StatusOK, out
	})
}

// stopWork stops an item. A queued item stops at once; one being worked
// on moves to stopping (its holder learns it from the next heartbeat and
// winds down) unless force stops it at once; stopping a stopping item
// stops it. Stopping a stopped item changes nothing.
func (s *Server) stopWork(c *call) (int, any) {
	force := false
	if len(strings.TrimSpace(string(c.body))) > 0 {
		obj, e := parseBody(c.body)
		if e != nil {
			return 0, e
		}
		f := newFields(obj, "")
		f.only("force")
		force = f.boolean("force")
		if f.failed() {
			return 0, f.err
		}
	}
	return s.onWork(c, func(w *workItem) (int, any) {
		now := s.Now()
		if w.state != workStopped && w.stopRequestedAt.IsZero() {
			w.stopRequestedAt = now
		}
		switch {
		case w.state == workStopped:
		case w.state == workQueued || w.state == workStopping || force:
			w.state, w.stoppedAt, w.leaseUntil = workStopped, now, time.Time{}
		default:
			w.state = workStopping
		}
		return http.StatusOK, w.wire()
	})
}

func (s *Server) getWork(c *call) (int, any) {
	return s.onWork(c, func(w *workItem) (int, any) { return http.StatusOK, w.wire() })
}

// updateWork patches the item's metadata (a null value deletes a key).
func (s *Server) updateWork(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	f.only("metadata")
	md := f.metadata("metadata", true)
	if f.failed() {
		return 0, f.err
	}
	return s.onWork(c, func(w *workItem) (int, any) {
		applyPatch(w.metadata, md)
		return http.StatusOK, w.wire()
	})
}

// listWork lists the environment's items in queue order, oldest first,
// stopped ones included.
func (s *Server) listWork(c *call) (int, any) {
	return s.onQueue(c, func(env *environment, _ time.Time) (int, any) {
		kind := "work/" + env.id
		pq, e := parsePage(c.r.URL.Query(), 100, kind, s.resourceResolver("work"))
		if e != nil {
			return 0, e
		}
		var entries []entry
		for _, w := range s.work.items {
			if w.environmentID == env.id {
				entries = append(entries, entry{seq: w.seq, id: w.id, value: w.wire()})
			}
		}
		sortEntries(entries, false)
		return http.StatusOK, paginate(entries, false, pq, kind)
	})
}

// workStats counts the queue: depth (items not stopped), pending (queued
// and unclaimed), the oldest queued item's created_at, and the workers
// (Worker-IDs) that polled in the last 30 seconds.
func (s *Server) workStats(c *call) (int, any) {
	return s.onQueue(c, func(env *environment, now time.Time) (int, any) {
		depth, pending := 0, 0
		var oldest time.Time
		for _, w := range s.work.items {
			if w.environmentID != env.id || w.state == workStopped {
				continue
			}
			depth++
			if w.state == workQueued {
				if w.claimedAt.IsZero() {
					pending++
				}
				if oldest.IsZero() || w.createdAt.Before(oldest) {
					oldest = w.createdAt
				}
			}
		}
		polling := 0
		for _, at := range s.work.polled[env.id] {
			if now.Sub(at) <= workerPollWindow {
				polling++
			}
		}
		return http.StatusOK, map[string]any{"type": "work_queue_stats", "depth": depth, "pending": pending,
			"oldest_queued_at": nullTime(oldest), "workers_polling": polling}
	})
}

// wire is the item's wire form, in the recorded key order.
func (w *workItem) wire() any {
	return struct {
		ID              string            `json:"id"`
		Type            string            `json:"type"`
		EnvironmentID   string            `json:"environment_id"`
		Data            map[string]string `json:"data"`
		State           string            `json:"state"`
		CreatedAt       string            `json:"created_at"`
		AcknowledgedAt  *string           `json:"acknowledged_at"`
		StartedAt       *string           `json:"started_at"`
		LatestHeartbeat *string           `json:"latest_heartbeat_at"`
		StopRequestedAt *string           `json:"stop_requested_at"`
		StoppedAt       *string           `json:"stopped_at"`
		Metadata        map[string]string `json:"metadata"`
	}{
		ID: w.id, Type: "work", EnvironmentID: w.environmentID, Data: map[string]string{"type": w.dataType, "id": w.dataID},
		State: w.state, CreatedAt: timestamp(w.createdAt), AcknowledgedAt: nullTime(w.acknowledgedAt),
		StartedAt: nullTime(w.startedAt), LatestHeartbeat: nullTime(w.latestHeartbeat),
		StopRequestedAt: nullTime(w.stopRequestedAt), StoppedAt: nullTime(w.stoppedAt), Metadata: w.metadata,
	}
}

// intParam reads an optional integer query parameter in [lo, hi].
func intParam(v, name string, lo, hi int) (int, *apiError) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, invalid(name, "%s must be an integer between %d and %d.", name, lo, hi)
	}
	return n, nil
}
