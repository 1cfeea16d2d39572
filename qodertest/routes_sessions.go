package qodertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// sessionAgentJSON is the agent snapshot inside a session, in the recorded
// key order.
type sessionAgentJSON struct {
	ID          string            `json:"id"`
	Type        string            `json:"type"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Model       json.RawMessage   `json:"model"`
	System      string            `json:"system"`
	Tools       []json.RawMessage `json:"tools"`
	Skills      []json.RawMessage `json:"skills"`
	MCPServers  []json.RawMessage `json:"mcp_servers"`
	Multiagent  json.RawMessage   `json:"multiagent,omitempty"`
	Version     int               `json:"version"`
}

func snapshot(a *agent, cfg *agentConfig, tools, servers []json.RawMessage) json.RawMessage {
	ma := cfg.multiagent
	if kind(ma) == "null" {
		ma = nil
	}
	data, _ := json.Marshal(sessionAgentJSON{
		ID: a.id, Type: "agent", Name: cfg.name, Description: cfg.description,
		Model: sessionModel(cfg.model), System: cfg.system,
		Tools: nonNil(tools), Skills: nonNil(cfg.skills), MCPServers: nonNil(servers),
		Multiagent: ma, Version: cfg.version,
	})
	return data
}

// createSession binds an agent version to an environment. agent is an id
// (latest version) or {"type":"agent","id","version"}; the agent and the
// environment must exist and not be archived.
func (s *Server) createSession(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	if f.present("agent_id") {
		f.fail("agent_id", "field 'agent_id' is not supported; name the agent in 'agent'.")
	}
	for _, old := range []string{"environment", "vaults", "memory_store_ids"} {
		if f.present(old) {
			f.fail(old, "field '%s' is no longer supported.", old)
		}
	}
	f.require("agent")
	agentID, version := readAgentRef(f)
	envID := f.reqStr("environment_id")
	title := f.str("title")
	md := f.metadata("metadata", false)
	resources := readResources(f)
	vaults := f.strings("vault_ids")
	envVars := readEnvVars(f)
	budget := readBudget(f)
	var initial []input
	if f.has("initial_events") {
		items := f.array("initial_events")
		if len(items) > 50 {
			f.fail("initial_events", "field 'initial_events' may hold at most 50 events.")
		}
		if !f.failed() {
			initial, f.err = parseInputEvents(items, "initial_events", "user.message", "user.define_outcome")
		}
	}
	if f.failed() {
		return 0, f.err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	a, cfg, e := s.usableAgent(agentID, version)
	if e != nil {
		return 0, e
	}
	env, e := s.usableEnvironment(envID)
	if e != nil {
		return 0, e
	}
	if env.selfHosted() && (len(resources) > 0 || len(envVars) > 0) {
		return 0, invalid("", "Self-hosted environments do not support session resources or environment variables.")
	}
	out, e := s.resolveResources(resources)
	if e != nil {
		return 0, e
	}
	if e := s.checkVaults(vaults, cfg.mcpServers); e != nil {
		return 0, e
	}
	ss := s.addSession(a, cfg, env.id)
	ss.vaultIDs = vaults
	ss.title = title
	ss.metadata = plain(md)
	ss.envVars = envVars
	ss.resources = out
	ss.budget = budget
	if len(initial) > 0 {
		if _, e := s.accept(ss, initial); e != nil {
			return 0, e
		}
	}
	return http.StatusCreated, ss.wire()
}

// readAgentRef reads the field agent: an agent id (version 0, the latest)
// or {"type":"agent","id","version"}.
func readAgentRef(f *fields) (id string, version int) {
	switch kind(f.obj["agent"]) {
	case "string":
		id = f.str("agent")
	case "object":
		af := newFields(f.object("agent"), "agent")
		af.only("type", "id", "version")
		af.require("type")
		af.strIn("type", "agent")
		id = af.reqStr("id")
		version = af.integer("version", 1, 1<<31-1)
		if af.failed() && !f.failed() {
			f.err = af.err
		}
	case "null", "":
	default:
		f.fail("agent", "field 'agent' must be an agent id or an object {\"type\":\"agent\",\"id\",\"version\"}.")
	}
	return id, version
}

// usableAgent returns version (0: the latest) of an agent that may start
// sessions: 404 when there is no such agent or version, 400 when it is
// archived. s.mu must be held.
func (s *Server) usableAgent(agentID string, version int) (*agent, *agentConfig, *apiError) {
	a, ok := s.agents[agentID]
	if !ok {
		return nil, nil, notFound("Agent '%s' was not found.", agentID)
	}
	if !a.archivedAt.IsZero() {
		return nil, nil, invalid("agent", "Agent '%s' is archived and cannot start new sessions.", agentID)
	}
	if version > len(a.versions) {
		return nil, nil, notFound("Agent '%s' has no version %d.", agentID, version)
	} else if version > 0 {
		return a, &a.versions[version-1], nil
	}
	return a, a.latest(), nil
}

// usableEnvironment returns an environment that may host sessions: 404
// when there is none, 400 when it is archived. s.mu must be held.
func (s *Server) usableEnvironment(envID string) (*environment, *apiError) {
	env, ok := s.envs[envID]
	if !ok {
		return nil, notFound("Environment '%s' was not found.", envID)
	}
	if !env.archivedAt.IsZero() {
		return nil, invalid("environment_id", "Environment '%s' is archived and cannot host new sessions.", envID)
	}
	return env, nil
}

// addSession stores a new idle session of agent version cfg in
// environment envID, with its coordinator thread when cfg has a
// multiagent roster; s.mu must be held.
func (s *Server) addSession(a *agent, cfg *agentConfig, envID string) *session {
	now := s.Now()
	ss := newSession(s.Now)
	ss.id = newID("sess_")
	ss.agentID, ss.agentVersion = a.id, cfg.version
	ss.tools = cfg.tools
	ss.agent = snapshot(a, cfg, cfg.tools, cfg.mcpServers)
	ss.environmentID = envID
	ss.metadata, ss.envVars = map[string]string{}, map[string]string{}
	ss.createdAt, ss.updatedAt = now, now
	ss.seq = s.register("session", ss.id)
	s.addCoordinator(ss, cfg)
	s.sessions[ss.id] = ss
	s.emitWebhook("session.created", ss.id)
	return ss
}

var (
	envVarName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	reservedVars = []string{"SERVER_ENDPOINT", "USER_ID", "WORK_DIR"}
)

// readEnvVars reads environment_variables: the documented string of
// KEY=VALUE pairs separated by ";" or newlines, or (tolerated) an object.
func readEnvVars(f *fields) map[string]string {
	out := map[string]string{}
	if !f.has("environment_variables") {
		return out
	}
	pairs := map[string]string{}
	switch kind(f.obj["environment_variables"]) {
	case "object":
		for k, v := range f.metadata("environment_variables", false) {
			pairs[k] = *v
		}
	default:
		for part := range strings.FieldsFuncSeq(f.str("environment_variables"), func(r rune) bool { return r == ';' || r == '\n' || r == '\r' }) {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				f.fail("environment_variables", "environment variable '%s' must be written KEY=VALUE.", part)
				return nil
			}
			pairs[strings.TrimSpace(k)] = v
		}
	}
	for k, v := range pairs {
		switch {
		case !envVarName.MatchString(k):
			f.fail("environment_variables", "environment variable name '%s' is not valid.", k)
		case slices.Contains(reservedVars, k) || strings.HasPrefix(k, "CAW_") || strings.HasPrefix(k, "QODER_"):
			f.fail("environment_variables", "environment variable name '%s' is reserved.", k)
		}
		out[k] = v
	}
	return out
}

func readBudget(f *fields) json.RawMessage {
	if !f.has("budget") {
		return nil
	}
	bf := newFields(f.object("budget"), "budget")
	bf.only("type", "max_list_cost")
	bf.reqStr("type")
	bf.require("max_list_cost")
	bf.number("max_list_cost")
	if bf.failed() && !f.failed() {
		f.err = bf.err
	}
	return compact(f.obj["budget"])
}

func (s *Server) getSession(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.sessionByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	return http.StatusOK, ss.wire()
}

var listStatuses = []string{statusRescheduling, statusRunning, statusIdle, statusCanceling, statusTerminated}

// listSessions filters by agent_id (and agent_version), statuses,
// include_archived, created_at bounds, deployment_id (the sessions of a
// deployment's runs) and memory_store_id (which matches none);
// order is desc by default.
func (s *Server) listSessions(c *call) (int, any) {
	q := c.r.URL.Query()
	statuses, e := statusesParam(q, listStatuses)
	if e != nil {
		return 0, e
	}
	agentID := q.Get("agent_id")
	agentVersion := 0
	if v := q.Get("agent_version"); v != "" {
		if agentID == "" {
			return 0, invalid("agent_version", "agent_version needs agent_id.")
		}
		if _, err := fmt.Sscan(v, &agentVersion); err != nil || agentVersion < 1 {
			return 0, invalid("agent_version", "agent_version must be a positive integer.")
		}
	}
	deploymentID := q.Get("deployment_id")
	unmatched := q.Get("memory_store_id") != ""
	s.mu.Lock()
	defer s.mu.Unlock()
	l, e := s.parseResourceList(q, "session")
	if e != nil {
		return 0, e
	}
	for _, ss := range s.sessions {
		switch {
		case unmatched,
			agentID != "" && ss.agentID != agentID,
			deploymentID != "" && ss.deploymentID != deploymentID,
			agentVersion != 0 && ss.agentVersion != agentVersion,
			len(statuses) > 0 && !slices.Contains(statuses, ss.status):
			continue
		}
		l.add(ss.seq, ss.id, ss.archivedAt, ss.createdAt, func() any { return ss.wire() })
	}
	return l.result()
}

// updateSession changes title, metadata (a patch), environment variables,
// budget, or the agent's tools and MCP servers, and emits session.updated.
func (s *Server) updateSession(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	if f.present("vault_ids") {
		f.fail("vault_ids", "field 'vault_ids' cannot be updated.")
	}
	title := f.str("title")
	md := f.metadata("metadata", true)
	envVars := readEnvVars(f)
	budget := readBudget(f)
	var agentPatch *agentConfig
	if f.has("agent") {
		af := newFields(f.object("agent"), "agent")
		af.only("tools", "mcp_servers")
		agentPatch = &agentConfig{}
		if af.present("mcp_servers") {
			agentPatch.mcpServers = validateMCPServers(af)
		}
		if af.present("tools") {
			agentPatch.tools = validateTools(af, true)
		}
		if af.failed() && !f.failed() {
			f.err = af.err
		}
	}
	if f.failed() {
		return 0, f.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.sessionByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	changed := map[string]any{}
	if f.present("title") {
		ss.title = title
		changed["title"] = title
	}
	if md != nil {
		applyPatch(ss.metadata, md)
		changed["metadata"] = ss.metadata
	}
	if f.present("environment_variables") {
		ss.envVars = envVars
	}
	if budget != nil {
		ss.budget = budget
		changed["budget"] = budget
	}
	if agentPatch != nil {
		var snap sessionAgentJSON
		_ = json.Unmarshal(ss.agent, &snap)
		if agentPatch.tools != nil {
			snap.Tools = agentPatch.tools
			ss.tools = agentPatch.tools
		}
		if agentPatch.mcpServers != nil {
			snap.MCPServers = agentPatch.mcpServers
		}
		ss.agent, _ = json.Marshal(snap)
		changed["agent"] = ss.agent
	}
	ss.updatedAt = s.Now()
	if len(changed) > 0 {
		ss.appendEvent("session.updated", changed)
	}
	s.sessionUpdatedWebhook(ss.id, changed)
	return http.StatusOK, ss.wire()
}

// archiveSession keeps history readable and refuses new input events; a
// running turn finishes.
func (s *Server) archiveSession(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.sessionByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if ss.archivedAt.IsZero() {
		ss.archivedAt = s.Now()
		ss.updatedAt = ss.archivedAt
		s.emitWebhook("session.archived", ss.id)
	}
	return http.StatusOK, ss.wire()
}

// deleteSession stops any turn, emits session.deleted to open streams and
// forgets the session and its events.
func (s *Server) deleteSession(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.sessionByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if t := ss.turn; t != nil {
		t.cancelled = true
		t.cancel()
	}
	ss.turn = nil
	clear(ss.pending)
	ss.appendEvent("session.deleted", nil)
	ss.deleted = true
	delete(s.sessions, ss.id)
	s.emitWebhook("session.deleted", ss.id)
	return http.StatusOK, map[string]string{"id": ss.id, "type": "session_deleted"}
}

// cancelSession answers 202 when it stops a turn (running, or paused for
// the client) and 200 when there was nothing to stop.
func (s *Server) cancelSession(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.sessionByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	status := http.StatusOK
	if s.cancelTurn(ss) {
		status = http.StatusAccepted
	}
	return status, map[string]string{"id": ss.id, "type": "session", "status": ss.status}
}

// cancelTurn asks the session's turn to stop; s.mu must be held. The turn
// settles to idle with stop reason cancelled when its script returns.
func (s *Server) cancelTurn(ss *session) bool {
	t := ss.turn
	if t == nil || ss.status == statusTerminated {
		return false
	}
	t.cancelled = true
	ss.setStatus(statusCanceling)
	clear(ss.pending)
	t.cancel()
	return true
}
