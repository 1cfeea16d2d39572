package qodertest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// environment is a stored environment.
type environment struct {
	id          string
	seq         int64
	name        string
	description *string
	config      json.RawMessage
	metadata    map[string]string
	scope       string
	archivedAt  time.Time
	createdAt   time.Time
	updatedAt   time.Time
}

// environmentJSON is the wire form, in the recorded key order.
type environmentJSON struct {
	ID          string            `json:"id"`
	Type        string            `json:"type"`
	Name        string            `json:"name"`
	Description *string           `json:"description"`
	Config      json.RawMessage   `json:"config"`
	Metadata    map[string]string `json:"metadata"`
	Scope       string            `json:"scope,omitempty"`
	ArchivedAt  *string           `json:"archived_at"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
}

func (e *environment) wire() environmentJSON {
	return environmentJSON{
		ID: e.id, Type: "environment", Name: e.name, Description: e.description,
		Config: e.config, Metadata: e.metadata, Scope: e.scope,
		ArchivedAt: nullTime(e.archivedAt),
		CreatedAt:  timestamp(e.createdAt), UpdatedAt: timestamp(e.updatedAt),
	}
}

func (e *environment) selfHosted() bool {
	var c struct{ Type string }
	_ = json.Unmarshal(e.config, &c)
	return c.Type == "self_hosted"
}

// defaultConfig is the config of an environment created without one.
var defaultConfig = json.RawMessage(`{"type":"cloud","networking":{"type":"limited","allowed_hosts":[],"allow_package_managers":false,"allow_mcp_servers":false},"packages":{"type":"packages","apt":[],"cargo":[],"gem":[],"go":[],"npm":[],"pip":[]}}`)

func (s *Server) createEnvironment(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	name := f.reqStr("name")
	f.maxLen("name", name, 1, 256)
	desc := f.str("description")
	f.maxLen("description", desc, 0, 2048)
	md := f.metadata("metadata", false)
	scope := f.strIn("scope", "organization", "account")
	config := defaultConfig
	if f.present("config") {
		config = validateEnvConfig(f)
	}
	if f.failed() {
		return 0, f.err
	}
	now := s.Now()
	env := &environment{
		id: newID("env_"), name: name, description: &desc, config: config,
		metadata: plain(md), scope: scope, createdAt: now, updatedAt: now,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	env.seq = s.register("environment", env.id)
	s.envs[env.id] = env
	return http.StatusCreated, env.wire()
}

// validateEnvConfig checks the config field and returns its normalised
// form. config: {} and config: null are rejected, as documented.
func validateEnvConfig(f *fields) json.RawMessage {
	if f.isNull("config") {
		f.fail("config", "field 'config' cannot be null; omit it for the default cloud config.")
		return nil
	}
	obj := f.object("config")
	if f.failed() {
		return nil
	}
	cf := newFields(obj, f.param("config"))
	if len(obj) == 0 {
		f.err = invalid("config.type", "config must have a 'type'.")
		return nil
	}
	typ := cf.reqStr("type")
	out := map[string]any{"type": typ}
	switch {
	case cf.failed():
	case typ == "self_hosted":
		cf.only("type")
	case typ == "cloud":
		cf.only("type", "networking", "packages", "setup_script")
		out["networking"] = validateNetworking(cf)
		out["packages"] = validatePackages(cf)
		if cf.has("setup_script") {
			out["setup_script"] = cf.str("setup_script")
		}
	default:
		cf.fail("type", "field 'type' must be 'cloud' or 'self_hosted'.")
	}
	if cf.failed() {
		f.err = cf.err
		return nil
	}
	data, _ := json.Marshal(out)
	return data
}

func validateNetworking(cf *fields) any {
	if !cf.has("networking") {
		return json.RawMessage(`{"type":"limited","allowed_hosts":[],"allow_package_managers":false,"allow_mcp_servers":false}`)
	}
	obj := cf.object("networking")
	if cf.failed() {
		return nil
	}
	nf := newFields(obj, cf.param("networking"))
	var out any
	switch typ := nf.reqStr("type"); {
	case nf.failed():
	case typ == "unrestricted":
		nf.only("type")
		out = map[string]any{"type": "unrestricted"}
	case typ == "limited":
		nf.only("type", "allowed_hosts", "allow_package_managers", "allow_mcp_servers")
		hosts := nf.strings("allowed_hosts")
		if hosts == nil {
			hosts = []string{}
		}
		out = map[string]any{
			"type": "limited", "allowed_hosts": hosts,
			"allow_package_managers": nf.boolean("allow_package_managers"),
			"allow_mcp_servers":      nf.boolean("allow_mcp_servers"),
		}
	default:
		nf.fail("type", "field 'type' must be 'unrestricted' or 'limited'.")
	}
	if nf.failed() {
		cf.err = nf.err
	}
	return out
}

var packageManagers = []string{"apt", "cargo", "gem", "go", "npm", "pip"}

func validatePackages(cf *fields) any {
	out := map[string]any{"type": "packages"}
	for _, m := range packageManagers {
		out[m] = []string{}
	}
	if !cf.has("packages") {
		return out
	}
	obj := cf.object("packages")
	if cf.failed() {
		return nil
	}
	pf := newFields(obj, cf.param("packages"))
	pf.only(append([]string{"type"}, packageManagers...)...)
	if pf.has("type") && pf.str("type") != "packages" {
		pf.fail("type", "field 'type' must be 'packages'.")
	}
	for _, m := range packageManagers {
		if specs := pf.strings(m); specs != nil {
			out[m] = specs
		}
	}
	if pf.failed() {
		cf.err = pf.err
	}
	return out
}

// environmentByID returns the environment or a 404; s.mu must be held.
func (s *Server) environmentByID(id string) (*environment, *apiError) {
	env, ok := s.envs[id]
	if !ok {
		return nil, notFound("Environment '%s' was not found.", id)
	}
	return env, nil
}

func (s *Server) getEnvironment(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	env, e := s.environmentByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	return http.StatusOK, env.wire()
}

func (s *Server) listEnvironments(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, e := s.parseResourceList(c.r.URL.Query(), "environment")
	if e != nil {
		return 0, e
	}
	for _, env := range s.envs {
		l.add(env.seq, env.id, env.archivedAt, env.createdAt, func() any { return env.wire() })
	}
	return l.result()
}

// sortEntries puts entries in list order.
func sortEntries(entries []entry, desc bool) {
	slices.SortFunc(entries, func(a, b entry) int {
		if desc {
			return cmp.Compare(b.seq, a.seq)
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

// updateEnvironment applies a partial update: omitted fields are kept,
// description null stores null, metadata is a patch in which null or ""
// deletes a key.
func (s *Server) updateEnvironment(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	name := f.str("name")
	if f.isNull("name") {
		f.fail("name", "field 'name' cannot be null.")
	}
	f.maxLen("name", name, 1, 256)
	desc := f.str("description")
	f.maxLen("description", desc, 0, 2048)
	md := f.metadata("metadata", true)
	scope := f.strIn("scope", "organization", "account")
	var config json.RawMessage
	if f.present("config") {
		config = validateEnvConfig(f)
	}
	if f.failed() {
		return 0, f.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	env, e := s.environmentByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if f.has("name") {
		env.name = name
	}
	if f.has("description") {
		env.description = &desc
	} else if f.isNull("description") {
		env.description = nil
	}
	if config != nil {
		env.config = config
	}
	for k, v := range md {
		if v != nil && *v == "" {
			md[k] = nil
		}
	}
	applyPatch(env.metadata, md)
	if f.has("scope") {
		env.scope = scope
	}
	env.updatedAt = s.Now()
	return http.StatusOK, env.wire()
}

// archiveEnvironment is idempotent: archiving twice keeps the first time.
func (s *Server) archiveEnvironment(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	env, e := s.environmentByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if env.archivedAt.IsZero() {
		env.archivedAt = s.Now()
		env.updatedAt = env.archivedAt
	}
	return http.StatusOK, env.wire()
}

// deleteEnvironment fails with 409 while a session (not deleted) still
// references the environment.
func (s *Server) deleteEnvironment(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	env, e := s.environmentByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	n := 0
	for _, sess := range s.sessions {
		if sess.environmentID == env.id {
			n++
		}
	}
	if n > 0 {
		return 0, conflict("Environment '%s' is referenced by %d session(s); archive it instead, or delete the sessions first.", env.id, n)
	}
	delete(s.envs, env.id)
	return http.StatusOK, map[string]string{"id": env.id, "type": "environment_deleted"}
}
