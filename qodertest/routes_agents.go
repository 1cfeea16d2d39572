package qodertest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// agent is a stored agent with every version's snapshot.
type agent struct {
	id         string
	seq        int64
	createdAt  time.Time
	updatedAt  time.Time
	archivedAt time.Time
	versions   []agentConfig // versions[i] is version i+1
}

// agentConfig is one version of an agent's configuration.
type agentConfig struct {
	name        string
	description string
	model       json.RawMessage
	system      string
	tools       []json.RawMessage
	mcpServers  []json.RawMessage
	skills      []json.RawMessage
	metadata    map[string]string
	multiagent  json.RawMessage
	version     int
	createdAt   time.Time // when this version was made
}

// agentJSON is the wire form, in the recorded key order.
type agentJSON struct {
	Type        string            `json:"type"`
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Model       json.RawMessage   `json:"model"`
	System      string            `json:"system"`
	Tools       []json.RawMessage `json:"tools"`
	MCPServers  []json.RawMessage `json:"mcp_servers"`
	Skills      []json.RawMessage `json:"skills"`
	Metadata    map[string]string `json:"metadata"`
	Multiagent  json.RawMessage   `json:"multiagent"`
	Version     int               `json:"version"`
	ArchivedAt  *string           `json:"archived_at"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
}

func (a *agent) latest() *agentConfig { return &a.versions[len(a.versions)-1] }

// wire encodes version v (0 means the latest).
func (a *agent) wire(v int) agentJSON {
	cfg := a.latest()
	updated := a.updatedAt
	if v != 0 && v != cfg.version {
		cfg = &a.versions[v-1]
		updated = cfg.createdAt
	}
	return agentJSON{
		Type: "agent", ID: a.id, Name: cfg.name, Description: cfg.description,
		Model: cfg.model, System: cfg.system,
		Tools: nonNil(cfg.tools), MCPServers: nonNil(cfg.mcpServers), Skills: nonNil(cfg.skills),
		Metadata: cfg.metadata, Multiagent: cfg.multiagent, Version: cfg.version,
		ArchivedAt: nullTime(a.archivedAt),
		CreatedAt:  timestamp(a.createdAt), UpdatedAt: timestamp(updated),
	}
}

func nonNil(a []json.RawMessage) []json.RawMessage {
	if a == nil {
		return []json.RawMessage{}
	}
	return a
}

// readAgentConfig validates the configuration fields of a create or
// update body and applies them to cfg. On update (patch) omitted fields
// are kept, description and system are cleared by "" or null, and
// metadata is a patch.
func readAgentConfig(f *fields, cfg *agentConfig, patch bool, beta bool) {
	if !patch {
		f.require("name")
	}
	if f.isNull("name") {
		f.fail("name", "field 'name' cannot be cleared.")
	}
	if f.has("name") {
		cfg.name = f.str("name")
		f.maxLen("name", cfg.name, 1, 256)
	}
	if !patch {
		f.require("model")
	}
	if f.isNull("model") {
		f.fail("model", "field 'model' cannot be cleared.")
	}
	if f.has("model") {
		cfg.model = validateModel(f)
	}
	for _, name := range []string{"system", "instructions"} { // instructions: legacy alias
		if f.present(name) {
			cfg.system = f.str(name)
			f.maxLen(name, cfg.system, 0, 100000)
		}
	}
	if f.present("description") {
		cfg.description = f.str("description")
		f.maxLen("description", cfg.description, 0, 2048)
	}
	if f.present("mcp_servers") {
		cfg.mcpServers = validateMCPServers(f)
	}
	if f.present("tools") {
		cfg.tools = validateTools(f, beta)
	}
	if f.present("skills") {
		cfg.skills = validateSkills(f)
	}
	if f.present("metadata") {
		md := f.metadata("metadata", patch)
		if patch {
			applyPatch(cfg.metadata, md)
		} else {
			cfg.metadata = plain(md)
		}
	}
	if f.present("multiagent") {
		cfg.multiagent = validateMultiagent(f)
	}
	if !f.failed() {
		checkMCPReferences(f, cfg)
	}
}

func (s *Server) createAgent(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	now := s.Now()
	cfg := agentConfig{metadata: map[string]string{}, multiagent: json.RawMessage("null"), version: 1, createdAt: now}
	readAgentConfig(f, &cfg, false, hasBeta(c.r, betaBrowserUse))
	if f.failed() {
		return 0, f.err
	}
	a := &agent{id: newID("agent_"), createdAt: now, updatedAt: now, versions: []agentConfig{cfg}}
	s.mu.Lock()
	defer s.mu.Unlock()
	a.seq = s.register("agent", a.id)
	s.agents[a.id] = a
	return http.StatusCreated, a.wire(0)
}

// agentByID returns the agent or a 404; s.mu must be held.
func (s *Server) agentByID(id string) (*agent, *apiError) {
	a, ok := s.agents[id]
	if !ok {
		return nil, notFound("Agent '%s' was not found.", id)
	}
	return a, nil
}

// getAgent serves the latest version, or the snapshot ?version=N.
func (s *Server) getAgent(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	v := 0
	if raw := c.r.URL.Query().Get("version"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return 0, invalid("version", "version must be a positive integer.")
		}
		if n > len(a.versions) {
			return 0, notFound("Agent '%s' has no version %d.", a.id, n)
		}
		v = n
	}
	return http.StatusOK, a.wire(v)
}

func (s *Server) listAgents(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, e := s.parseResourceList(c.r.URL.Query(), "agent")
	if e != nil {
		return 0, e
	}
	for _, a := range s.agents {
		l.add(a.seq, a.id, a.archivedAt, a.createdAt, func() any { return a.wire(0) })
	}
	return l.result()
}

// updateAgent needs the agent's current version in the body: a stale one
// is a 409 "Version conflict". Every successful update makes a new version
// and keeps the old snapshot.
func (s *Server) updateAgent(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	f.require("version")
	version := f.integer("version", 1, 1<<31-1)
	if f.failed() {
		return 0, f.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	cur := a.latest()
	next := *cur
	next.metadata = make(map[string]string, len(cur.metadata))
	for k, v := range cur.metadata {
		next.metadata[k] = v
	}
	readAgentConfig(f, &next, true, hasBeta(c.r, betaBrowserUse))
	if f.failed() {
		return 0, f.err
	}
	if version != cur.version {
		return 0, conflict("Version conflict")
	}
	now := s.Now()
	next.version = cur.version + 1
	next.createdAt = now
	a.versions = append(a.versions, next)
	a.updatedAt = now
	return http.StatusOK, a.wire(0)
}

// archiveAgent keeps the version; archiving twice keeps the first time.
func (s *Server) archiveAgent(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if a.archivedAt.IsZero() {
		a.archivedAt = s.Now()
		a.updatedAt = a.archivedAt
	}
	return http.StatusOK, a.wire(0)
}

// deleteAgent needs no prior archive; sessions keep their snapshot.
func (s *Server) deleteAgent(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	delete(s.agents, a.id)
	return http.StatusOK, map[string]string{"id": a.id, "type": "agent_deleted"}
}

// listAgentVersions lists snapshots newest first; cursors are version
// numbers.
func (s *Server) listAgentVersions(c *call) (int, any) {
	q := c.r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	kind := "versions/" + a.id
	pq, e := parsePage(q, 100, kind, func(param, id string) (int64, *apiError) {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 1 {
			return 0, invalid(param, "%s must be a positive version number.", param)
		}
		return n, nil
	})
	if e != nil {
		return 0, e
	}
	entries := make([]entry, 0, len(a.versions))
	for i := len(a.versions) - 1; i >= 0; i-- {
		v := a.versions[i].version
		entries = append(entries, entry{seq: int64(v), id: strconv.Itoa(v), value: a.wire(v)})
	}
	return http.StatusOK, paginate(entries, true, pq, kind)
}

// betaBrowserUse is the beta that agent writes with the browser toolset
// must name in x-qoder-beta.
const betaBrowserUse = "browser-use-2026-07-14"

func hasBeta(r *http.Request, beta string) bool {
	for _, v := range r.Header.Values("X-Qoder-Beta") {
		for part := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(part) == beta {
				return true
			}
		}
	}
	return false
}
