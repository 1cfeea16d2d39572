package qodertest

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxMemoryContent is the documented limit of a memory's content.
const maxMemoryContent = 100 << 10

// memoryState holds the memory stores; it is made on first use, under
// s.mu.
type memoryState struct {
	stores map[string]*memoryStore
}

// memoryStore is a stored memory store with its memories and versions.
type memoryStore struct {
	id, name, description string
	seq                   int64
	metadata              map[string]string
	archivedAt            time.Time
	createdAt, updatedAt  time.Time
	memories              map[string]*memoryEntry // by id
	versions              []*memoryVersion        // oldest first
}

// memoryEntry is a stored memory.
type memoryEntry struct {
	id, path, content, versionID string
	metadata                     map[string]string
	createdAt, updatedAt         time.Time
}

// memoryVersion is one write of a memory.
type memoryVersion struct {
	id, memoryID, op, path, content, sha string
	size                                 int
	seq                                  int64
	redactedAt, createdAt                time.Time
}

func contentSHA(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

func (m *memoryStore) wire() map[string]any {
	return map[string]any{
		"id": m.id, "type": "memory_store", "name": m.name, "description": m.description,
		"metadata": m.metadata, "archived_at": nullTime(m.archivedAt),
		"created_at": timestamp(m.createdAt), "updated_at": timestamp(m.updatedAt),
	}
}

func (e *memoryEntry) wire(storeID string, full bool) map[string]any {
	out := map[string]any{
		"id": e.id, "type": "memory", "memory_store_id": storeID, "path": e.path,
		"content_sha256": contentSHA(e.content), "content_size_bytes": len(e.content),
		"memory_version_id": e.versionID, "metadata": e.metadata,
		"created_at": timestamp(e.createdAt), "updated_at": timestamp(e.updatedAt),
	}
	if full {
		out["content"] = e.content
	}
	return out
}

// fakeActor is who makes every change through the fake's API: its API
// key.
var fakeActor = map[string]string{"type": "api_key", "api_key_id": "key_qodertest"}

// writtenBy reports whether actor passes the api_key_id, session_id and
// service_account_id filters of q.
func writtenBy(q url.Values, actor map[string]string) bool {
	for _, k := range []string{"api_key_id", "session_id", "service_account_id"} {
		if want := q.Get(k); want != "" && actor[k] != want {
			return false
		}
	}
	return true
}

func (v *memoryVersion) wire(storeID string, full bool) map[string]any {
	out := map[string]any{
		"id": v.id, "type": "memory_version", "memory_id": v.memoryID, "memory_store_id": storeID,
		"operation": v.op, "path": v.path, "content_sha256": v.sha, "content_size_bytes": v.size,
		"created_by":  fakeActor,
		"redacted_at": nullTime(v.redactedAt), "redacted_by": nil, "created_at": timestamp(v.createdAt),
	}
	if full && v.redactedAt.IsZero() && v.op != "deleted" {
		out["content"] = v.content
	}
	if !v.redactedAt.IsZero() {
		out["redacted_by"] = fakeActor
	}
	return out
}

// memoryStores returns the stores, making the map on first use; s.mu must
// be held.
func (s *Server) memoryStores() map[string]*memoryStore {
	if s.memory.stores == nil {
		s.memory.stores = make(map[string]*memoryStore)
	}
	return s.memory.stores
}

// memoryStoreByID returns the store or a 404; s.mu must be held.
func (s *Server) memoryStoreByID(id string) (*memoryStore, *apiError) {
	m, ok := s.memoryStores()[id]
	if !ok {
		return nil, notFound("Memory store '%s' was not found.", id)
	}
	return m, nil
}

func (s *Server) createMemoryStore(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	name := f.reqStr("name")
	f.maxLen("name", name, 1, 255)
	desc := f.str("description")
	f.maxLen("description", desc, 0, 1024)
	md := f.metadata("metadata", false)
	f.only("name", "description", "metadata")
	if f.failed() {
		return 0, f.err
	}
	now := s.Now()
	m := &memoryStore{id: newID("memstore_"), name: name, description: desc, metadata: plain(md),
		createdAt: now, updatedAt: now, memories: make(map[string]*memoryEntry)}
	s.mu.Lock()
	defer s.mu.Unlock()
	m.seq = s.register("memory_store", m.id)
	s.memoryStores()[m.id] = m
	return http.StatusOK, m.wire()
}

func (s *Server) getMemoryStore(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.memoryStoreByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	return http.StatusOK, m.wire()
}

// updateMemoryStore applies a partial update: description "" clears it and
// metadata is a patch.
func (s *Server) updateMemoryStore(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	name := f.str("name")
	if f.has("name") {
		f.maxLen("name", name, 1, 255)
	}
	desc := f.str("description")
	f.maxLen("description", desc, 0, 1024)
	md := f.metadata("metadata", true)
	f.only("name", "description", "metadata")
	if f.failed() {
		return 0, f.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.memoryStoreByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if f.has("name") {
		m.name = name
	}
	if f.has("description") {
		m.description = desc
	}
	applyPatch(m.metadata, md)
	m.updatedAt = s.Now()
	return http.StatusOK, m.wire()
}

// listMemoryStores filters by name (a case-insensitive prefix) besides the
// usual resource filters.
func (s *Server) listMemoryStores(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := c.r.URL.Query()
	l, e := s.parseResourceList(q, "memory_store")
	if e != nil {
		return 0, e
	}
	prefix := strings.ToLower(q.Get("name"))
	for _, m := range s.memoryStores() {
		if strings.HasPrefix(strings.ToLower(m.name), prefix) {
			l.add(m.seq, m.id, m.archivedAt, m.createdAt, func() any { return m.wire() })
		}
	}
	return l.result()
}

func (s *Server) archiveMemoryStore(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.memoryStoreByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if m.archivedAt.IsZero() {
		m.archivedAt = s.Now()
		m.updatedAt = m.archivedAt
	}
	return http.StatusOK, m.wire()
}

func (s *Server) deleteMemoryStore(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.memoryStoreByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	delete(s.memory.stores, m.id)
	return http.StatusOK, map[string]string{"id": m.id, "type": "memory_store_deleted"}
}

// viewParam reads view=basic|full; def is the view when absent.
func viewParam(c *call, def string) (bool, *apiError) {
	switch v := c.r.URL.Query().Get("view"); v {
	case "":
		return def == "full", nil
	case "basic", "full":
		return v == "full", nil
	default:
		return false, invalid("view", "view must be 'basic' or 'full'.")
	}
}

// checkMemoryContent applies the documented content rules.
func checkMemoryContent(f *fields, content string) {
	if !utf8.ValidString(content) {
		f.fail("content", "field 'content' must be valid UTF-8.")
	} else if len(content) > maxMemoryContent {
		f.fail("content", "field 'content' must be at most %d bytes.", maxMemoryContent)
	}
}

// checkMemoryPath rejects an empty path, a leading "/" and "..".
func checkMemoryPath(f *fields, path string) {
	if path == "" || strings.HasPrefix(path, "/") || slices.Contains(strings.Split(path, "/"), "..") {
		f.fail("path", "field 'path' must be a non-empty relative path without '..'.")
	}
}

// write adds a version of e; s.mu must be held.
func (s *Server) writeMemory(m *memoryStore, e *memoryEntry, op string, now time.Time) {
	v := &memoryVersion{id: newID("memver_"), memoryID: e.id, op: op, path: e.path, createdAt: now}
	if op != "deleted" {
		v.content, v.sha, v.size = e.content, contentSHA(e.content), len(e.content)
	}
	v.seq = s.register("memory_version", v.id)
	m.versions = append(m.versions, v)
	e.versionID = v.id
}

func (s *Server) createMemory(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	full, e := viewParam(c, "full")
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	path := f.reqStr("path")
	f.require("content")
	content := f.str("content")
	md := f.metadata("metadata", false)
	if !f.failed() {
		checkMemoryPath(f, path)
		checkMemoryContent(f, content)
	}
	if f.failed() {
		return 0, f.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.memoryStoreByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if m.pathTaken(path) {
		return 0, conflict("A memory already exists at path '%s'.", path)
	}
	now := s.Now()
	entry := &memoryEntry{id: newID("mem_"), path: path, content: content, metadata: plain(md), createdAt: now, updatedAt: now}
	s.register("memory", entry.id)
	m.memories[entry.id] = entry
	s.writeMemory(m, entry, "created", now)
	return http.StatusOK, entry.wire(m.id, full)
}

// pathTaken reports whether a memory of m has path.
func (m *memoryStore) pathTaken(path string) bool {
	for _, other := range m.memories {
		if other.path == path {
			return true
		}
	}
	return false
}

// memoryByID returns a store's memory or a 404; s.mu must be held.
func (s *Server) memoryByID(c *call) (*memoryStore, *memoryEntry, *apiError) {
	m, e := s.memoryStoreByID(c.r.PathValue("id"))
	if e != nil {
		return nil, nil, e
	}
	entry, ok := m.memories[c.r.PathValue("memory")]
	if !ok {
		return nil, nil, notFound("Memory '%s' was not found.", c.r.PathValue("memory"))
	}
	return m, entry, nil
}

func (s *Server) getMemory(c *call) (int, any) {
	full, e := viewParam(c, "full")
	if e != nil {
		return 0, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, entry, e := s.memoryByID(c)
	if e != nil {
		return 0, e
	}
	return http.StatusOK, entry.wire(m.id, full)
}

// preconditionFailed is the 409 of a conditional write whose hash does not
// match.
func preconditionFailed(path string) *apiError {
	return conflict("memory_precondition_failed: the content of '%s' changed; its content_sha256 no longer matches.", path)
}

// updateMemory changes content, path or metadata (replaced whole); a
// precondition {type: content_sha256, content_sha256} must match the
// stored content, and so must a top-level content_sha256, the form the
// docs' example sends.
func (s *Server) updateMemory(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	full, e := viewParam(c, "full")
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	content, path := f.str("content"), f.str("path")
	md := f.metadata("metadata", false)
	want := f.str("content_sha256")
	if f.present("precondition") {
		pf := newFields(f.object("precondition"), "precondition")
		if pf.strIn("type", "content_sha256") == "" && !pf.failed() {
			pf.fail("type", "field 'type' is required.")
		}
		want = pf.reqStr("content_sha256")
		if pf.failed() {
			f.err = pf.err
		}
	}
	if f.has("path") && !f.failed() {
		checkMemoryPath(f, path)
	}
	if f.has("content") && !f.failed() {
		checkMemoryContent(f, content)
	}
	if f.failed() {
		return 0, f.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, entry, e := s.memoryByID(c)
	if e != nil {
		return 0, e
	}
	if want != "" && want != contentSHA(entry.content) {
		return 0, preconditionFailed(entry.path)
	}
	if f.has("path") && path != entry.path {
		if m.pathTaken(path) {
			return 0, conflict("A memory already exists at path '%s'.", path)
		}
		entry.path = path
	}
	if f.has("content") {
		entry.content = content
	}
	if f.has("metadata") {
		entry.metadata = plain(md)
	}
	entry.updatedAt = s.Now()
	s.writeMemory(m, entry, "modified", entry.updatedAt)
	return http.StatusOK, entry.wire(m.id, full)
}

func (s *Server) deleteMemory(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, entry, e := s.memoryByID(c)
	if e != nil {
		return 0, e
	}
	if want := c.r.URL.Query().Get("expected_content_sha256"); want != "" && want != contentSHA(entry.content) {
		return 0, preconditionFailed(entry.path)
	}
	delete(m.memories, entry.id)
	s.writeMemory(m, entry, "deleted", s.Now())
	return http.StatusOK, map[string]string{"id": entry.id, "type": "memory_deleted"}
}

// listMemories lists the memories under path_prefix in path order. With a
// depth, memories deeper than it below the prefix roll up into one
// memory_prefix item per folder at that depth; prefixes count toward the
// limit. Pages continue through the page token only.
func (s *Server) listMemories(c *call) (int, any) {
	q := c.r.URL.Query()
	full, e := viewParam(c, "basic")
	if e != nil {
		return 0, e
	}
	prefix := q.Get("path_prefix")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		return 0, invalid("path_prefix", "path_prefix must end with '/'.")
	}
	depth := 0
	if v := q.Get("depth"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, invalid("depth", "depth must be a non-negative integer.")
		}
		depth = n
	}
	maxLimit := 100
	if full {
		maxLimit = 20
		if n, _ := strconv.Atoi(q.Get("limit")); n > 20 {
			return 0, invalid("limit", "limit must be at most 20 with view=full.")
		}
	}
	pq, e := parsePage(q, maxLimit, "memories", func(param, _ string) (int64, *apiError) {
		return 0, invalid(param, "memories are paged with page only.")
	})
	if e != nil {
		return 0, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.memoryStoreByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	type item struct {
		path  string
		value any
	}
	var items []item
	folders := map[string]bool{}
	for _, entry := range m.memories {
		rel, ok := strings.CutPrefix(entry.path, prefix)
		if !ok {
			continue
		}
		parts := strings.Split(rel, "/")
		if depth > 0 && len(parts) > depth {
			folder := prefix + strings.Join(parts[:depth], "/") + "/"
			if !folders[folder] {
				folders[folder] = true
				items = append(items, item{folder, map[string]string{"type": "memory_prefix", "path": folder}})
			}
			continue
		}
		items = append(items, item{entry.path, entry.wire(m.id, full)})
	}
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.path, b.path) })
	entries := make([]entry, len(items))
	for i, it := range items {
		entries[i] = entry{seq: int64(i + 1), value: it.value}
	}
	page := paginate(entries, false, pq, "memories")
	page.FirstID, page.LastID = nil, nil // items are not all ids
	return http.StatusOK, page
}

// listMemoryVersions lists versions newest first, filtered by memory_id,
// operation, created_at and who wrote them (every write through the fake's
// API is made by its API key).
func (s *Server) listMemoryVersions(c *call) (int, any) {
	q := c.r.URL.Query()
	full, e := viewParam(c, "basic")
	if e != nil {
		return 0, e
	}
	created, e := parseTimeFilter(q, "created_at")
	if e != nil {
		return 0, e
	}
	op := q.Get("operation")
	if op != "" && op != "created" && op != "modified" && op != "deleted" {
		return 0, invalid("operation", "operation must be 'created', 'modified' or 'deleted'.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pq, e := parsePage(q, 100, "memory_versions", s.resourceResolver("memory_version"))
	if e != nil {
		return 0, e
	}
	m, e := s.memoryStoreByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	var entries []entry
	for _, v := range slices.Backward(m.versions) {
		if (q.Get("memory_id") == "" || v.memoryID == q.Get("memory_id")) && (op == "" || v.op == op) && created.match(v.createdAt) &&
			writtenBy(q, fakeActor) {
			entries = append(entries, entry{seq: v.seq, id: v.id, value: v.wire(m.id, full)})
		}
	}
	return http.StatusOK, paginate(entries, true, pq, "memory_versions")
}

// memoryVersionByID returns a store's version or a 404; s.mu must be held.
func (s *Server) memoryVersionByID(c *call) (*memoryStore, *memoryVersion, *apiError) {
	m, e := s.memoryStoreByID(c.r.PathValue("id"))
	if e != nil {
		return nil, nil, e
	}
	for _, v := range m.versions {
		if v.id == c.r.PathValue("version") {
			return m, v, nil
		}
	}
	return nil, nil, notFound("Memory version '%s' was not found.", c.r.PathValue("version"))
}

func (s *Server) getMemoryVersion(c *call) (int, any) {
	full, e := viewParam(c, "full")
	if e != nil {
		return 0, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, v, e := s.memoryVersionByID(c)
	if e != nil {
		return 0, e
	}
	return http.StatusOK, v.wire(m.id, full)
}

// redactMemoryVersion drops a version's content for good.
func (s *Server) redactMemoryVersion(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, v, e := s.memoryVersionByID(c)
	if e != nil {
		return 0, e
	}
	if v.redactedAt.IsZero() {
		v.redactedAt, v.content = s.Now(), ""
	}
	return http.StatusOK, v.wire(m.id, true)
}

// mountMemoryStore completes a session's memory_store resource: the store
// must exist and not be archived, and it is mounted at /mnt/memory/ and a
// slug of its name, with its name and description; s.mu must be held.
func (s *Server) mountMemoryStore(p resourceParam) *apiError {
	m, e := s.memoryStoreByID(p.ref)
	if e != nil {
		return e
	}
	if !m.archivedAt.IsZero() {
		return invalid("memory_store_id", "Memory store '%s' is archived and cannot be mounted.", m.id)
	}
	slug := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, strings.ToLower(m.name))
	p.body["mount_path"] = "/mnt/memory/" + slug
	p.body["name"], p.body["description"] = m.name, m.description
	return nil
}

// memoryStoreResource reads the fields of a session's memory_store
// resource; access defaults to read_write.
func memoryStoreResource(rf *fields, storeID string) map[string]any {
	return map[string]any{"type": "memory_store", "memory_store_id": storeID,
		"access": cmp.Or(rf.strIn("access", "read_only", "read_write"), "read_write"), "instructions": rf.str("instructions")}
}
