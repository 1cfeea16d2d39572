package qodertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"
)

// vaultState holds the vaults; it is made on first use, under s.mu.
type vaultState struct {
	vaults map[string]*vault
}

// vault is a stored vault with its credentials.
type vault struct {
	id, name             string
	seq                  int64
	metadata             map[string]string
	archivedAt           time.Time
	createdAt, updatedAt time.Time
	creds                map[string]*credential
}

// credential is a stored credential. auth holds the non-secret fields
// shown in responses; secrets holds the write-only ones, kept but never
// returned.
type credential struct {
	id, vaultID, name    string
	seq                  int64
	auth                 map[string]any
	secrets              map[string]string
	metadata             map[string]string
	archivedAt           time.Time
	createdAt, updatedAt time.Time
}

func (v *vault) wire() map[string]any {
	return map[string]any{
		"id": v.id, "type": "vault", "display_name": v.name, "metadata": v.metadata,
		"archived_at": nullTime(v.archivedAt), "created_at": timestamp(v.createdAt), "updated_at": timestamp(v.updatedAt),
	}
}

func (c *credential) wire() map[string]any {
	var name any
	if c.name != "" {
		name = c.name
	}
	return map[string]any{
		"id": c.id, "type": "vault_credential", "vault_id": c.vaultID, "auth": c.auth, "display_name": name,
		"metadata": c.metadata, "archived_at": nullTime(c.archivedAt),
		"created_at": timestamp(c.createdAt), "updated_at": timestamp(c.updatedAt),
	}
}

// vaultsMap returns the vaults, making the map on first use; s.mu must be
// held.
func (s *Server) vaultsMap() map[string]*vault {
	if s.vaults.vaults == nil {
		s.vaults.vaults = make(map[string]*vault)
	}
	return s.vaults.vaults
}

// vaultByID returns the vault or a 404; s.mu must be held.
func (s *Server) vaultByID(id string) (*vault, *apiError) {
	v, ok := s.vaultsMap()[id]
	if !ok {
		return nil, notFound("Vault '%s' was not found.", id)
	}
	return v, nil
}

// createVault creates a vault, with the credentials a request of the
// legacy shape lists inline (flat static_bearer credentials whose token is
// access_token); the answer lists them, without their secrets.
func (s *Server) createVault(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	name := f.reqStr("display_name")
	f.maxLen("display_name", name, 1, 255)
	md := f.metadata("metadata", false)
	inline := readInlineCredentials(f)
	f.only("display_name", "metadata", "credentials")
	if f.failed() {
		return 0, f.err
	}
	now := s.Now()
	v := &vault{id: newID("vault_"), name: name, metadata: plain(md), createdAt: now, updatedAt: now, creds: map[string]*credential{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	v.seq = s.register("vault", v.id)
	s.vaultsMap()[v.id] = v
	creds := []any{}
	for _, cr := range inline {
		cr.id, cr.vaultID, cr.createdAt, cr.updatedAt = newID("vcred_"), v.id, now, now
		cr.seq = s.register("vault_credential", cr.id)
		v.creds[cr.id] = cr
		creds = append(creds, cr.wire())
	}
	out := v.wire()
	out["credentials"] = creds
	return http.StatusOK, out
}

// readInlineCredentials reads the credentials of a legacy vault create:
// each {mcp_server_url, protocol: sse|streamable_http, type:
// static_bearer, access_token}, all required.
func readInlineCredentials(f *fields) []*credential {
	var out []*credential
	for i, raw := range f.array("credentials") {
		param := fmt.Sprintf("credentials[%d]", i)
		o, e := asObject(raw, f.param(param), "each credential must be an object.")
		if e != nil {
			f.err = e
			return nil
		}
		cf := newFields(o, param)
		cr := readFlatCredential(cf)
		if cf.failed() {
			f.err = cf.err
			return nil
		}
		out = append(out, cr)
	}
	return out
}

// readFlatCredential reads a credential of the legacy flat shape, all
// fields required: {mcp_server_url, protocol: sse|streamable_http, type:
// static_bearer, access_token}. It becomes a static_bearer credential
// whose token is the access token.
func readFlatCredential(f *fields) *credential {
	url := f.reqStr("mcp_server_url")
	f.require("protocol")
	f.strIn("protocol", "sse", "streamable_http")
	f.require("type")
	f.strIn("type", "static_bearer")
	token := f.reqStr("access_token")
	f.only("mcp_server_url", "protocol", "type", "access_token")
	return &credential{auth: map[string]any{"type": "static_bearer", "mcp_server_url": url},
		secrets: map[string]string{"token": token}, metadata: map[string]string{}}
}

func (s *Server) getVault(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.vaultByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	return http.StatusOK, v.wire()
}

func (s *Server) listVaults(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := c.r.URL.Query()
	l, e := s.parseResourceList(q, "vault")
	if e != nil {
		return 0, e
	}
	for _, v := range s.vaultsMap() {
		if name := q.Get("name"); name == "" || v.name == name {
			l.add(v.seq, v.id, v.archivedAt, v.createdAt, func() any { return v.wire() })
		}
	}
	return l.result()
}

func (s *Server) archiveVault(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.vaultByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if v.archivedAt.IsZero() {
		v.archivedAt = s.Now()
		v.updatedAt = v.archivedAt
	}
	return http.StatusOK, v.wire()
}

func (s *Server) deleteVault(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.vaultByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	delete(s.vaults.vaults, v.id)
	return http.StatusOK, map[string]string{"id": v.id, "type": "vault_deleted"}
}

// secretName is the documented pattern of an environment variable's name.
var secretName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// readAuth validates a credential's auth object, on create (every
// required field) or update (only the fields each kind accepts), and
// returns its shown fields and its secrets.
func readAuth(f *fields, update bool, kind string) (map[string]any, map[string]string) {
	af := newFields(f.object("auth"), "auth")
	if f.failed() {
		return nil, nil
	}
	typ := af.reqStr("type")
	if update && typ != "" && typ != kind {
		af.fail("type", "field 'type' must be '%s', the credential's kind.", kind)
	}
	shown, secrets := map[string]any{"type": typ}, map[string]string{}
	secret := func(name string) {
		if v := af.str(name); update && v != "" || !update && af.reqStr(name) != "" {
			secrets[name] = v
		}
	}
	switch typ {
	case "static_bearer":
		if update {
			af.only("type", "token")
		} else {
			af.only("type", "mcp_server_url", "token")
			shown["mcp_server_url"] = af.reqStr("mcp_server_url")
		}
		secret("token")
	case "environment_variable":
		if update {
			af.only("type", "secret_value", "injection_location", "networking")
		} else {
			af.only("type", "secret_name", "secret_value", "injection_location", "networking")
			name := af.reqStr("secret_name")
			if name != "" && !secretName.MatchString(name) {
				af.fail("secret_name", "field 'secret_name' must match [A-Za-z_][A-Za-z0-9_]*.")
			}
			shown["secret_name"] = name
		}
		secret("secret_value")
		for _, k := range []string{"injection_location", "networking"} {
			if af.has(k) {
				shown[k] = af.object(k)
			}
		}
	case "mcp_oauth":
		if update {
			af.only("type", "access_token", "expires_at", "refresh")
		} else {
			af.only("type", "mcp_server_url", "access_token", "expires_at", "refresh")
			shown["mcp_server_url"] = af.reqStr("mcp_server_url")
		}
		secret("access_token")
		if af.has("expires_at") {
			shown["expires_at"] = af.str("expires_at")
		}
		if af.has("refresh") {
			rf := newFields(af.object("refresh"), "auth.refresh")
			refresh := map[string]any{}
			for _, k := range []string{"client_id", "token_endpoint", "resource", "scope"} {
				if rf.has(k) {
					refresh[k] = rf.str(k)
				}
			}
			if v := rf.str("refresh_token"); v != "" {
				secrets["refresh_token"] = v
			}
			if rf.has("token_endpoint_auth") {
				tf := newFields(rf.object("token_endpoint_auth"), "auth.refresh.token_endpoint_auth")
				refresh["token_endpoint_auth"] = map[string]any{"type": tf.strIn("type", "none", "client_secret_basic", "client_secret_post")}
				if v := tf.str("client_secret"); v != "" {
					secrets["client_secret"] = v
				}
				if tf.failed() {
					rf.err = tf.err
				}
			}
			if rf.failed() {
				af.err = rf.err
			}
			shown["refresh"] = refresh
		}
	case "":
	default:
		af.fail("type", "field 'type' must be 'static_bearer', 'environment_variable' or 'mcp_oauth'.")
	}
	if af.failed() {
		f.err = af.err
	}
	return shown, secrets
}

func (s *Server) createCredential(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	var cr *credential
	if !f.present("auth") && f.present("access_token") {
		cr = readFlatCredential(f) // the legacy shape
	} else {
		f.require("auth")
		shown, secrets := readAuth(f, false, "")
		name := f.str("display_name")
		f.maxLen("display_name", name, 0, 255)
		md := f.metadata("metadata", false)
		f.only("auth", "display_name", "metadata")
		cr = &credential{name: name, auth: shown, secrets: secrets, metadata: plain(md)}
	}
	if f.failed() {
		return 0, f.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.vaultByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	now := s.Now()
	cr.id, cr.vaultID, cr.createdAt, cr.updatedAt = newID("vcred_"), v.id, now, now
	cr.seq = s.register("vault_credential", cr.id)
	v.creds[cr.id] = cr
	return http.StatusOK, cr.wire()
}

// credentialByID returns a vault's credential or a 404; s.mu must be held.
func (s *Server) credentialByID(c *call) (*vault, *credential, *apiError) {
	v, e := s.vaultByID(c.r.PathValue("id"))
	if e != nil {
		return nil, nil, e
	}
	cr, ok := v.creds[c.r.PathValue("credential")]
	if !ok {
		return nil, nil, notFound("Credential '%s' was not found.", c.r.PathValue("credential"))
	}
	return v, cr, nil
}

func (s *Server) getCredential(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, cr, e := s.credentialByID(c)
	if e != nil {
		return 0, e
	}
	return http.StatusOK, cr.wire()
}

// updateCredential rotates secrets and changes the fields the kind
// accepts; display_name cannot change, metadata is a patch.
func (s *Server) updateCredential(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, cr, e := s.credentialByID(c)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	if f.present("display_name") {
		f.fail("display_name", "field 'display_name' cannot be updated.")
	}
	var shown map[string]any
	var secrets map[string]string
	if f.present("auth") && !f.failed() {
		shown, secrets = readAuth(f, true, cr.auth["type"].(string))
	}
	md := f.metadata("metadata", true)
	f.only("auth", "metadata")
	if f.failed() {
		return 0, f.err
	}
	for k, v := range shown {
		cr.auth[k] = v
	}
	for k, v := range secrets {
		cr.secrets[k] = v
	}
	applyPatch(cr.metadata, md)
	cr.updatedAt = s.Now()
	return http.StatusOK, cr.wire()
}

func (s *Server) listCredentials(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := c.r.URL.Query()
	v, e := s.vaultByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	l, e := s.parseResourceList(q, "vault_credential")
	if e != nil {
		return 0, e
	}
	for _, cr := range v.creds {
		if name := q.Get("name"); name == "" || cr.name == name {
			l.add(cr.seq, cr.id, cr.archivedAt, cr.createdAt, func() any { return cr.wire() })
		}
	}
	return l.result()
}

func (s *Server) archiveCredential(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, cr, e := s.credentialByID(c)
	if e != nil {
		return 0, e
	}
	if cr.archivedAt.IsZero() {
		cr.archivedAt = s.Now()
		cr.updatedAt = cr.archivedAt
	}
	return http.StatusOK, cr.wire()
}

func (s *Server) deleteCredential(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, cr, e := s.credentialByID(c)
	if e != nil {
		return 0, e
	}
	delete(v.creds, cr.id)
	return http.StatusOK, map[string]string{"id": cr.id, "type": "vault_credential_deleted"}
}

// validateCredential answers for an mcp_oauth credential: the fake has no
// MCP server to probe, so the probe is recorded as unreachable and the
// status is "invalid"; a credential of another kind is 400.
func (s *Server) validateCredential(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, cr, e := s.credentialByID(c)
	if e != nil {
		return 0, e
	}
	if cr.auth["type"] != "mcp_oauth" {
		return 0, invalid("", "Only mcp_oauth credentials can be validated.")
	}
	refresh := map[string]any{"status": "no_refresh_token", "http_response": nil}
	_, hasRefresh := cr.secrets["refresh_token"]
	if hasRefresh {
		refresh["status"] = "not_attempted"
	}
	return http.StatusOK, map[string]any{
		"type": "vault_credential_validation", "vault_id": v.id, "credential_id": cr.id, "status": "invalid",
		"validated_at": timestamp(s.Now()), "has_refresh_token": hasRefresh,
		"mcp_probe": map[string]any{"method": "initialize", "http_response": nil}, "refresh": refresh,
	}
}

// checkVaults is the MCP discovery a session's creation runs: every vault
// must exist and not be archived, and every MCP server of the agent must
// have an active static_bearer or mcp_oauth credential for its url in one
// of them; otherwise the upstream answers Unauthorized and the session is
// not created. s.mu must be held.
func (s *Server) checkVaults(ids []string, servers []json.RawMessage) *apiError {
	if len(ids) == 0 {
		return nil
	}
	var urls []string
	for _, id := range ids {
		v, e := s.vaultByID(id)
		if e != nil {
			return e
		}
		if !v.archivedAt.IsZero() {
			return invalid("vault_ids", "Vault '%s' is archived.", id)
		}
		for _, cr := range v.creds {
			if u, ok := cr.auth["mcp_server_url"].(string); ok && cr.archivedAt.IsZero() {
				urls = append(urls, u)
			}
		}
	}
	for _, raw := range servers {
		var srv struct{ Name, URL string }
		_ = json.Unmarshal(raw, &srv)
		if !slices.Contains(urls, srv.URL) {
			return invalid("vault_ids", "MCP server '%s' (%s): upstream returned Unauthorized; no credential in vault_ids matches its url.", srv.Name, srv.URL)
		}
	}
	return nil
}
