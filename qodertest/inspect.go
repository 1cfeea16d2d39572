package qodertest

import (
	"encoding/json"
	"fmt"
	"slices"
)

// SessionState is a snapshot of a session, for assertions.
type SessionState struct {
	// ID is the session id.
	ID string
	// Status is idle, running, canceling, rescheduling or terminated.
	Status string
	// StopReason is the stop_reason type of the last session.status_idle
	// ("end_turn", "requires_action", "cancelled"); empty before the first.
	StopReason string
	// Pending lists the tool-use event ids waiting for the client.
	Pending []string
	// AgentID and AgentVersion name the agent version the session runs.
	AgentID      string
	AgentVersion int
	// EnvironmentID is the session's environment.
	EnvironmentID string
	// Title and Metadata are the session's title and metadata.
	Title    string
	Metadata map[string]string
	// Archived reports whether the session is archived.
	Archived bool
	// TotalCredits is the session's usage.total_credits.
	TotalCredits float64
}

// Session returns a snapshot of session id, or false if there is no such
// session (or it was deleted).
func (s *Server) Session(id string) (SessionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.sessionByID(id)
	if e != nil {
		return SessionState{}, false
	}
	st := SessionState{
		ID: ss.id, Status: ss.status, StopReason: ss.stopReason,
		AgentID: ss.agentID, AgentVersion: ss.agentVersion, EnvironmentID: ss.environmentID,
		Title: ss.title, Metadata: make(map[string]string, len(ss.metadata)),
		Archived: !ss.archivedAt.IsZero(), TotalCredits: credits(ss.credits),
	}
	for k, v := range ss.metadata {
		st.Metadata[k] = v
	}
	for id := range ss.pending {
		st.Pending = append(st.Pending, id)
	}
	slices.Sort(st.Pending)
	return st, true
}

// Events returns the buffered events of a session (its history, without
// delta frames) as raw JSON, oldest first; nil if there is no such
// session.
func (s *Server) Events(sessionID string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.sessionByID(sessionID)
	if e != nil {
		return nil
	}
	var out []json.RawMessage
	for _, it := range ss.items {
		if it.kind == kindEvent {
			out = append(out, it.data)
		}
	}
	return out
}

// EventTypes returns the types of a session's buffered events, oldest
// first.
func (s *Server) EventTypes(sessionID string) []string {
	var out []string
	for _, raw := range s.Events(sessionID) {
		var e struct{ Type string }
		_ = json.Unmarshal(raw, &e)
		out = append(out, e.Type)
	}
	return out
}

// SeedEnvironment creates a cloud environment named name, without a
// request, and returns its id.
func (s *Server) SeedEnvironment(name string) string {
	now := s.Now()
	desc := ""
	env := &environment{id: newID("env_"), name: name, description: &desc, config: defaultConfig, metadata: map[string]string{}, createdAt: now, updatedAt: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	env.seq = s.register("environment", env.id)
	s.envs[env.id] = env
	return env.id
}

// SeedAgent creates an agent named name on model "ultimate" with every
// built-in tool, without a request, and returns its id.
func (s *Server) SeedAgent(name string) string {
	return s.seedAgent(name, json.RawMessage("null"))
}

// SeedCoordinator creates an agent like [Server.SeedAgent] that
// coordinates a roster of the agents roster (their ids) and itself
// ("self"), without a request, and returns its id. Its sessions are
// multi-agent sessions, whose turns start threads with [Turn.Delegate].
func (s *Server) SeedCoordinator(name string, roster ...string) string {
	agents := []any{map[string]string{"type": "self"}}
	for _, id := range roster {
		agents = append(agents, id)
	}
	ma, _ := json.Marshal(map[string]any{"type": "coordinator", "agents": agents})
	return s.seedAgent(name, ma)
}

func (s *Server) seedAgent(name string, multiagent json.RawMessage) string {
	now := s.Now()
	cfg := agentConfig{
		name: name, model: json.RawMessage(`"ultimate"`),
		tools:    []json.RawMessage{json.RawMessage(`{"type":"agent_toolset_20260401"}`)},
		metadata: map[string]string{}, multiagent: multiagent, version: 1, createdAt: now,
	}
	a := &agent{id: newID("agent_"), createdAt: now, updatedAt: now, versions: []agentConfig{cfg}}
	s.mu.Lock()
	defer s.mu.Unlock()
	a.seq = s.register("agent", a.id)
	s.agents[a.id] = a
	return a.id
}

// SeedSession creates an idle session of the latest version of agentID in
// environmentID, without a request, and returns its id. It panics if
// either does not exist.
func (s *Server) SeedSession(agentID, environmentID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agents[agentID]
	if !ok {
		panic(fmt.Sprintf("qodertest: SeedSession: no agent %q", agentID))
	}
	if _, ok := s.envs[environmentID]; !ok {
		panic(fmt.Sprintf("qodertest: SeedSession: no environment %q", environmentID))
	}
	return s.addSession(a, a.latest(), environmentID).id
}
