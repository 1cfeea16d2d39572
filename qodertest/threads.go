package qodertest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"
)

// thread is a thread of a multi-agent session: the coordinator, made with
// the session, or a child that the coordinator's turn starts with
// [Turn.Delegate].
type thread struct {
	id        string
	seq       int64
	parent    string          // the coordinator's id; "" for the coordinator
	agentName string          // the agent_name of its events
	agent     json.RawMessage // the agent snapshot, without the roster

	// A child's own state; the coordinator's is its session's.
	status     string
	credits    float64
	work       activity
	turn       *Turn // the child's running turn, if any
	archivedAt time.Time
	createdAt  time.Time
	updatedAt  time.Time
}

// threadJSON is the wire form, in the recorded key order.
type threadJSON struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	SessionID      string          `json:"session_id"`
	ParentThreadID *string         `json:"parent_thread_id"`
	Agent          json.RawMessage `json:"agent"`
	Status         string          `json:"status"`
	Stats          threadStats     `json:"stats"`
	Usage          sessionUsage    `json:"usage"`
	ArchivedAt     *string         `json:"archived_at"`
	CreatedAt      string          `json:"created_at"`
	UpdatedAt      string          `json:"updated_at"`
}

type threadStats struct {
	ActiveSeconds   float64 `json:"active_seconds"`
	DurationSeconds float64 `json:"duration_seconds"`
	StartupSeconds  float64 `json:"startup_seconds"`
}

// threadWire is th as the API shows it; s.mu must be held. The
// coordinator shows its session's status, timings and the credits its
// children did not use; every thread of a terminated session is
// terminated.
func (ss *session) threadWire(th *thread) threadJSON {
	now := ss.now()
	j := threadJSON{
		ID: th.id, Type: "session_thread", SessionID: ss.id, Agent: th.agent,
		ArchivedAt: nullTime(th.archivedAt), CreatedAt: timestamp(th.createdAt), UpdatedAt: timestamp(th.updatedAt),
	}
	if th.parent == "" {
		used := ss.credits
		for _, c := range ss.threads[1:] {
			used -= c.credits
		}
		j.Status, j.UpdatedAt = ss.status, timestamp(ss.updatedAt)
		j.Stats = threadStats{ActiveSeconds: ss.work.seconds(ss.status, now), DurationSeconds: tenths(now.Sub(th.createdAt))}
		j.Usage = sessionUsage{TotalCredits: credits(max(used, 0))}
		return j
	}
	j.ParentThreadID = &th.parent
	j.Status = th.status
	if ss.status == statusTerminated {
		j.Status = statusTerminated
	}
	j.Stats = threadStats{ActiveSeconds: th.work.seconds(th.status, now), DurationSeconds: tenths(now.Sub(th.createdAt))}
	j.Usage = sessionUsage{TotalCredits: credits(th.credits)}
	return j
}

// coordinator is the session's coordinator thread; nil for a session of a
// single agent.
func (ss *session) coordinator() *thread {
	if len(ss.threads) == 0 {
		return nil
	}
	return ss.threads[0]
}

// threadByID returns a thread of the session, or a 404.
func (ss *session) threadByID(id string) (*thread, *apiError) {
	for _, th := range ss.threads {
		if th.id == id {
			return th, nil
		}
	}
	return nil, notFound("Thread '%s' was not found in session '%s'.", id, ss.id)
}

// addCoordinator gives a session whose agent has a multiagent roster its
// coordinator thread; s.mu must be held.
func (s *Server) addCoordinator(ss *session, cfg *agentConfig) {
	if kind(cfg.multiagent) != "object" {
		return
	}
	th := &thread{id: newID("sthr_"), agentName: cfg.name, agent: withoutRoster(ss.agent), createdAt: ss.createdAt}
	th.seq = s.register("session_thread", th.id)
	ss.threads = append(ss.threads, th)
}

// withoutRoster is an agent snapshot without its multiagent roster, as a
// thread shows its agent.
func withoutRoster(snap json.RawMessage) json.RawMessage {
	var a sessionAgentJSON
	if json.Unmarshal(snap, &a) != nil {
		return snap
	}
	a.Multiagent = nil
	data, _ := json.Marshal(a)
	return data
}

// rosterAgent finds the roster entry of the session's agent that name
// picks: "self", or an agent entry's name, its agent's name or its id. It
// returns the agent's name and snapshot and its tools; s.mu must be held.
func (s *Server) rosterAgent(ss *session, name string) (string, json.RawMessage, []json.RawMessage, error) {
	var snap sessionAgentJSON
	_ = json.Unmarshal(ss.agent, &snap)
	var roster struct {
		Agents []json.RawMessage `json:"agents"`
	}
	_ = json.Unmarshal(snap.Multiagent, &roster)
	for _, raw := range roster.Agents {
		var e struct {
			Type    string `json:"type"`
			ID      string `json:"id"`
			Version int    `json:"version"`
			Name    string `json:"name"`
		}
		if kind(raw) == "string" {
			e.Type = "agent"
			_ = json.Unmarshal(raw, &e.ID)
		} else {
			_ = json.Unmarshal(raw, &e)
		}
		switch e.Type {
		case "self":
			if name == "self" {
				return snap.Name, withoutRoster(ss.agent), ss.tools, nil
			}
		case "agent":
			a, ok := s.agents[e.ID]
			if !ok {
				if name == e.ID || name == e.Name {
					return "", nil, nil, fmt.Errorf("roster agent %q does not exist", e.ID)
				}
				continue
			}
			cfg := a.latest()
			if e.Version >= 1 && e.Version <= len(a.versions) {
				cfg = &a.versions[e.Version-1]
			}
			if name != e.ID && name != e.Name && name != cfg.name {
				continue
			}
			agentName := cfg.name
			if e.Name != "" {
				agentName = e.Name
			}
			return agentName, withoutRoster(snapshot(a, cfg, cfg.tools, cfg.mcpServers)), cfg.tools, nil
		}
	}
	return "", nil, nil, fmt.Errorf("no roster entry of agent %q is %q (name an agent entry by name or id, or \"self\")", snap.Name, name)
}

// setThreadStatus moves thread th to status and emits typ
// (session.thread_status_*) with fields; s.mu must be held.
func (ss *session) setThreadStatus(th *thread, status, typ string, fields map[string]any) {
	now := ss.now()
	th.work.change(th.status, status, now)
	th.status, th.updatedAt = status, now
	if fields == nil {
		fields = map[string]any{}
	}
	fields["agent_name"] = th.agentName
	ss.appendThreadEvent(th, newID("evt_"), typ, fields)
}

// appendThreadEvent appends an event of child thread th, with
// session_thread_id set (an event of the session itself when th is nil);
// s.mu must be held.
func (ss *session) appendThreadEvent(th *thread, id, typ string, fields map[string]any) json.RawMessage {
	if th == nil {
		return ss.appendEventIn("", id, typ, fields)
	}
	fields = maps.Clone(fields)
	if fields == nil {
		fields = map[string]any{}
	}
	fields["session_thread_id"] = th.id
	return ss.appendEventIn(th.id, id, typ, fields)
}

// ThreadID returns the id of the child thread a thread's turn runs in
// (see [Turn.Delegate]), or "" for the session's own turn.
func (t *Turn) ThreadID() string { return t.threadID() }

// Delegate runs script as the turn of a new child thread, as a
// coordinator does when it delegates work: the session's agent must have
// a multiagent roster, and agent picks the roster entry ("self", or an
// agent entry by name or id). It emits session.thread_created,
// agent.thread_message_sent (task, from the coordinator),
// session.thread_status_running and agent.thread_message_received (in the
// thread), then runs script in the calling goroutine. The child [Turn]'s
// methods emit events of the thread (with session_thread_id) and its
// Text is task. When script returns, the thread's last agent.message goes
// back to the coordinator (agent.thread_message_sent in the thread,
// agent.thread_message_received in the coordinator) and the thread idles
// (session.thread_status_idle, end_turn; cancelled when it was
// interrupted), unless it called [Turn.Terminate]
// (session.thread_status_terminated) or was archived.
//
// Delegate returns the thread's id and that reply. It returns "", "" when
// the turn can no longer emit; a session without a roster, an unknown
// roster entry, or a call from a thread's turn (threads start no threads)
// fails the test. A script may run threads side by side by calling
// Delegate from goroutines it waits for. A thread's turn cannot wait for
// the client: CallCustomTool and AskConfirmation fail the test.
func (t *Turn) Delegate(agent, task string, script func(child *Turn)) (threadID, reply string) {
	child := t.startThread(agent, task)
	if child == nil {
		return "", ""
	}
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.s.errorf("thread script panicked: %v", v)
				child.Error("unknown_error", fmt.Sprintf("thread script panicked: %v", v), "terminal")
			}
		}()
		script(child)
	}()
	return child.thread.id, child.endThread()
}

// startThread makes the child thread and its turn, or returns nil.
func (t *Turn) startThread(agent, task string) *Turn {
	s, ss := t.s, t.ss
	s.mu.Lock()
	defer s.mu.Unlock()
	if !t.live() {
		return nil
	}
	coord := ss.coordinator()
	var err error
	var name string
	var snap json.RawMessage
	var tools []json.RawMessage
	switch {
	case t.thread != nil:
		err = fmt.Errorf("a thread's turn cannot start threads: a coordinator delegates one level")
	case coord == nil:
		err = fmt.Errorf("session %s is not a multi-agent session: its agent has no multiagent roster", ss.id)
	default:
		name, snap, tools, err = s.rosterAgent(ss, agent)
	}
	if err != nil {
		s.errorf("Delegate: %v", err)
		return nil
	}
	t.prepare()
	now := t.s.Now()
	th := &thread{id: newID("sthr_"), parent: coord.id, agentName: name, agent: snap, status: statusRunning, createdAt: now, updatedAt: now}
	th.work.since = now
	th.seq = s.register("session_thread", th.id)
	ss.threads = append(ss.threads, th)
	ctx, cancel := context.WithCancel(t.ctx)
	child := &Turn{s: s, ss: ss, ctx: ctx, cancel: cancel, text: task, tools: tools, parent: t, thread: th}
	th.turn = child

	child.record("session.thread_created", map[string]any{"agent_name": name})
	t.record("agent.thread_message_sent", map[string]any{"content": textContent(task), "to_session_thread_id": th.id, "to_agent_name": name})
	child.record("session.thread_status_running", map[string]any{"agent_name": name})
	child.record("agent.thread_message_received", map[string]any{"content": textContent(task), "from_session_thread_id": coord.id, "from_agent_name": coord.agentName})
	return child
}

// endThread settles a child thread after its script and returns its
// reply.
func (t *Turn) endThread() string {
	s, ss, th := t.s, t.ss, t.thread
	s.mu.Lock()
	defer s.mu.Unlock()
	defer t.cancel()
	th.turn = nil
	switch {
	case ss.deleted, s.closed, th.status == statusTerminated, ss.status == statusTerminated:
		return ""
	case !t.live():
		t.closeSpan()
		t.idle(map[string]any{"type": "cancelled"})
		return ""
	}
	t.closeSpan()
	if t.reply != "" {
		coord := ss.coordinator()
		t.record("agent.thread_message_sent", map[string]any{"content": textContent(t.reply), "to_session_thread_id": coord.id, "to_agent_name": coord.agentName})
		t.parent.record("agent.thread_message_received", map[string]any{"content": textContent(t.reply), "from_session_thread_id": th.id, "from_agent_name": th.agentName})
	}
	t.idle(map[string]any{"type": "end_turn"})
	return t.reply
}

// childThread is the child thread id names, or nil.
func (ss *session) childThread(id string) *thread {
	for _, th := range ss.threads[min(1, len(ss.threads)):] {
		if th.id == id {
			return th
		}
	}
	return nil
}

// archiveThread archives a child thread: it stops its turn, and a thread
// that is not terminated yet is, with session.thread_status_terminated.
// The coordinator cannot be archived (409). s.mu must be held.
func (ss *session) archiveThread(th *thread) *apiError {
	if th.parent == "" {
		return conflict("Thread '%s' is the coordinator of session '%s' and cannot be archived; archive the session instead.", th.id, ss.id)
	}
	if !th.archivedAt.IsZero() {
		return nil
	}
	now := ss.now()
	if c := th.turn; c != nil {
		c.closeSpan()
		c.terminated = true
		c.cancel()
	}
	if th.status != statusTerminated && ss.status != statusTerminated {
		ss.setThreadStatus(th, statusTerminated, "session.thread_status_terminated", nil)
	}
	th.archivedAt, th.updatedAt = now, now
	return nil
}
