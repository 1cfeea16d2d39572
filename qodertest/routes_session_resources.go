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

// maxSessionResources is how many resources a session (or a deployment)
// may hold: the documented limit of a deployment's resources, which are a
// session's resources to be.
const maxSessionResources = 500

// sessionResource is a resource attached to a session.
type sessionResource struct {
	id        string
	seq       int64
	typ       string         // file, github_repository or memory_store
	ref       string         // file_id or memory_store_id
	body      map[string]any // the wire fields, but id and times
	token     string         // a repository's authorization_token: kept, never shown
	createdAt time.Time
	updatedAt time.Time
}

// wire is the resource as the API shows it.
func (r *sessionResource) wire() json.RawMessage {
	m := maps.Clone(r.body)
	m["id"] = r.id
	m["created_at"], m["updated_at"] = timestamp(r.createdAt), timestamp(r.updatedAt)
	data, _ := json.Marshal(m)
	return data
}

// mountPath is where the resource appears in the container.
func (r *sessionResource) mountPath() string {
	p, _ := r.body["mount_path"].(string)
	return p
}

// resourcesJSON is the resources field of a session.
func resourcesJSON(rs []*sessionResource) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.wire())
	}
	return out
}

// resourceParam is a validated session resource from a request.
type resourceParam struct {
	typ   string
	ref   string // file_id or memory_store_id
	token string // a repository's authorization_token
	body  map[string]any
}

// readResources reads the resources of a session or deployment create:
// at most maxSessionResources, each file and memory store listed once, and
// no mount path given twice.
func readResources(f *fields) []resourceParam {
	items := f.array("resources")
	if len(items) > maxSessionResources {
		f.fail("resources", "field 'resources' may hold at most %d resources.", maxSessionResources)
		return nil
	}
	var out []resourceParam
	seen := map[string]bool{} // type/ref and mount paths
	for i, raw := range items {
		prefix := fmt.Sprintf("resources[%d]", i)
		obj, e := asObject(raw, prefix, prefix+": each resource must be an object.")
		if e != nil {
			f.err = e
			return nil
		}
		rf := newFields(obj, prefix)
		rf.require("type")
		p := resourceParam{typ: rf.strIn("type", "file", "github_repository", "memory_store")}
		switch p.typ {
		case "file":
			rf.only("type", "file_id", "mount_path")
			p.ref = rf.reqStr("file_id")
			p.body = map[string]any{"type": "file", "file_id": p.ref, "mount_path": readMountPath(rf)}
		case "memory_store":
			rf.only("type", "memory_store_id", "access", "instructions")
			p.ref = rf.reqStr("memory_store_id")
			p.body = memoryStoreResource(rf, p.ref)
		case "github_repository":
			rf.only("type", "url", "authorization_token", "mount_path", "checkout")
			u := rf.reqStr("url")
			p.token = rf.reqStr("authorization_token")
			mount := readMountPath(rf)
			if mount == "" {
				name := u[strings.LastIndex(u, "/")+1:]
				mount = "/workspace/" + strings.TrimSuffix(name, ".git")
			}
			var checkout any
			if rf.has("checkout") {
				cf := newFields(rf.object("checkout"), prefix+".checkout")
				cf.require("type")
				switch cf.strIn("type", "branch", "commit") {
				case "branch":
					cf.reqStr("name")
				case "commit":
					cf.reqStr("sha")
				}
				if cf.failed() && !rf.failed() {
					rf.err = cf.err
				}
				checkout = obj["checkout"]
			}
			p.body = map[string]any{"type": "github_repository", "url": u, "mount_path": mount, "checkout": checkout}
		}
		if p.ref != "" && seen[p.typ+"/"+p.ref] {
			rf.fail(p.typ+"_id", "%s '%s' is listed twice.", strings.ReplaceAll(p.typ, "_", " "), p.ref)
		}
		if m, _ := p.body["mount_path"].(string); m != "" && seen[m] {
			rf.fail("mount_path", "mount_path '%s' is used by another resource.", m)
		}
		if rf.failed() {
			f.err = rf.err
			return nil
		}
		seen[p.typ+"/"+p.ref] = true
		if m, _ := p.body["mount_path"].(string); m != "" {
			seen[m] = true
		}
		out = append(out, p)
	}
	return out
}

// readMountPath reads an optional mount_path: an absolute path of at most
// 512 characters that does not climb with "..".
func readMountPath(f *fields) string {
	p := f.str("mount_path")
	if f.has("mount_path") && !f.failed() &&
		(!strings.HasPrefix(p, "/") || len(p) > 512 || slices.Contains(strings.Split(p, "/"), "..")) {
		f.fail("mount_path", "field 'mount_path' must be an absolute path of at most 512 characters, without '..'.")
	}
	return p
}

// resolveResources turns resource params into resources; s.mu must be
// held. A file must exist (it is mounted at /mnt/session/uploads/<id>
// unless the params say where); a memory store must exist and not be
// archived (see mountMemoryStore).
func (s *Server) resolveResources(params []resourceParam) ([]*sessionResource, *apiError) {
	out := make([]*sessionResource, 0, len(params))
	for _, p := range params {
		switch p.typ {
		case "file":
			if _, e := s.fileByID(p.ref); e != nil {
				return nil, e
			}
			if p.body["mount_path"] == "" {
				p.body["mount_path"] = defaultMountPath(p.ref)
			}
		case "memory_store":
			if e := s.mountMemoryStore(p); e != nil {
				return nil, e
			}
		}
		now := s.Now()
		r := &sessionResource{id: newID("sesr_"), typ: p.typ, ref: p.ref, body: p.body, token: p.token, createdAt: now, updatedAt: now}
		r.seq = s.register("session_resource", r.id)
		out = append(out, r)
	}
	return out, nil
}

// listSessionResources serves GET /sessions/{id}/resources: the resources
// in the order they were attached.
func (s *Server) listSessionResources(c *call) (int, any) {
	return s.sessionList(c, "session_resource", func(ss *session) []entry {
		entries := make([]entry, 0, len(ss.resources))
		for _, r := range ss.resources {
			entries = append(entries, entry{seq: r.seq, id: r.id, value: r.wire()})
		}
		return entries
	})
}

// addSessionResource serves POST /sessions/{id}/resources: it attaches one
// file ({"type":"file","file_id","mount_path"}) and answers with the new
// resource, or, given the legacy {"resources":[...]}, attaches those files
// and answers with the session.
func (s *Server) addSessionResource(c *call) (int, any) {
	params, legacy, e := readAddedResources(c.body)
	if e != nil {
		return 0, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.sessionByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if e := ss.refuseChanges("attach resources to"); e != nil {
		return 0, e
	}
	if env, ok := s.envs[ss.environmentID]; ok && env.selfHosted() {
		return 0, invalid("", "Self-hosted environments do not support session resources or environment variables.")
	}
	if n := len(ss.resources) + len(params); n > maxSessionResources {
		return 0, invalid("resources", "Session '%s' would hold %d resources; at most %d are allowed.", ss.id, n, maxSessionResources)
	}
	added, e := s.resolveResources(params)
	if e != nil {
		return 0, e
	}
	for i, r := range added {
		for _, old := range append(slices.Clip(ss.resources), added[:i]...) {
			switch {
			case old.typ == "file" && old.ref == r.ref:
				return 0, conflict("File '%s' is already attached to session '%s' (resource '%s').", r.ref, ss.id, old.id)
			case old.mountPath() == r.mountPath():
				return 0, conflict("mount_path '%s' is already used by resource '%s' of session '%s'.", r.mountPath(), old.id, ss.id)
			}
		}
	}
	ss.resources = append(ss.resources, added...)
	ss.updatedAt = s.Now()
	if legacy {
		return http.StatusOK, ss.wire()
	}
	return http.StatusOK, added[0].wire()
}

// readAddedResources reads the body of POST /sessions/{id}/resources:
// one file resource, or the legacy {"resources":[...]} of file resources
// (legacy true). Messages name resources[i] in both shapes, as the API's
// do.
func readAddedResources(body []byte) (params []resourceParam, legacy bool, e *apiError) {
	obj, e := parseBody(body)
	if e != nil {
		return nil, false, e
	}
	items := []json.RawMessage{body}
	if _, legacy = obj["resources"]; legacy {
		f := newFields(obj, "")
		f.only("resources")
		f.require("resources")
		items = f.array("resources")
		switch {
		case f.failed():
			return nil, true, f.err
		case len(items) == 0:
			return nil, true, invalid("resources", "Field 'resources' must hold at least one resource.")
		case len(items) > maxSessionResources:
			return nil, true, invalid("resources", "Field 'resources' may hold at most %d resources.", maxSessionResources)
		}
	}
	seen := map[string]bool{}
	for i, raw := range items {
		prefix := fmt.Sprintf("resources[%d]", i)
		obj, e := asObject(raw, prefix, prefix+": each resource must be an object.")
		if e != nil {
			return nil, legacy, e
		}
		rf := newFields(obj, prefix)
		var typ, fileID string
		if kind(obj["type"]) == "string" {
			typ = rf.str("type")
		}
		if typ != "file" {
			rf.fail("type", "field 'type' must be 'file'.")
		}
		if kind(obj["file_id"]) == "string" {
			fileID = rf.str("file_id")
		}
		if fileID == "" {
			rf.fail("file_id", "field 'file_id' must be a non-empty string.")
		}
		rf.only("type", "file_id", "mount_path")
		mount := readMountPath(rf)
		switch {
		case rf.failed():
		case seen[fileID]:
			rf.fail("file_id", "file '%s' is listed twice.", fileID)
		case mount != "" && seen[mount]:
			rf.fail("mount_path", "mount_path '%s' is used by another resource.", mount)
		}
		if rf.failed() {
			return nil, legacy, rf.err
		}
		seen[fileID] = true
		if mount != "" {
			seen[mount] = true
		}
		params = append(params, resourceParam{typ: "file", ref: fileID, body: map[string]any{"type": "file", "file_id": fileID, "mount_path": mount}})
	}
	return params, legacy, nil
}

// getSessionResource serves GET /sessions/{id}/resources/{resource}.
func (s *Server) getSessionResource(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, r, e := s.sessionResourceByID(c)
	if e != nil {
		return 0, e
	}
	return http.StatusOK, r.wire()
}

// updateSessionResource serves POST /sessions/{id}/resources/{resource}:
// it rotates a repository's authorization_token, the only thing that may
// change.
func (s *Server) updateSessionResource(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if k != "authorization_token" {
			f.fail(k, "field '%s' cannot be updated; only the authorization_token of a github_repository can.", k)
		}
	}
	token := f.reqStr("authorization_token")
	if !f.failed() && token == "" {
		f.fail("authorization_token", "field 'authorization_token' must be a non-empty string.")
	}
	if f.failed() {
		return 0, f.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, r, e := s.sessionResourceByID(c)
	if e != nil {
		return 0, e
	}
	if e := ss.refuseChanges("update the resources of"); e != nil {
		return 0, e
	}
	if r.typ != "github_repository" {
		return 0, invalid("authorization_token", "Resource '%s' is a %s; only a github_repository's authorization_token can be updated.", r.id, r.typ)
	}
	r.token = token
	r.updatedAt = s.Now()
	return http.StatusOK, r.wire()
}

// deleteSessionResource serves DELETE /sessions/{id}/resources/{resource}:
// the resource is detached (also from an archived or terminated session,
// so that a repository's token can be withdrawn).
func (s *Server) deleteSessionResource(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, r, e := s.sessionResourceByID(c)
	if e != nil {
		return 0, e
	}
	ss.resources = slices.DeleteFunc(ss.resources, func(x *sessionResource) bool { return x == r })
	ss.updatedAt = s.Now()
	return http.StatusOK, map[string]string{"id": r.id, "type": "session_resource_deleted"}
}

// sessionResourceByID returns the session and the resource a request
// names, or a 404; s.mu must be held.
func (s *Server) sessionResourceByID(c *call) (*session, *sessionResource, *apiError) {
	ss, e := s.sessionByID(c.r.PathValue("id"))
	if e != nil {
		return nil, nil, e
	}
	id := c.r.PathValue("resource")
	for _, r := range ss.resources {
		if r.id == id {
			return ss, r, nil
		}
	}
	return nil, nil, notFound("Resource '%s' was not found in session '%s'.", id, ss.id)
}

// refuseChanges is a 409 when the session is archived or terminated, and
// so takes no new work; doing says what was refused.
func (ss *session) refuseChanges(doing string) *apiError {
	switch {
	case !ss.archivedAt.IsZero():
		return conflict("Cannot %s session '%s': it is archived.", doing, ss.id)
	case ss.status == statusTerminated:
		return conflict("Cannot %s session '%s': it is terminated.", doing, ss.id)
	}
	return nil
}
