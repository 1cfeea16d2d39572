package qodertest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// storagePath is where the fake serves the content of its presigned
// download URLs: outside the API's base path, on the same host.
const storagePath = "/storage/"

// downloadURLTTL is how long a presigned download URL works.
const downloadURLTTL = time.Hour

// storedFile is an uploaded file or a delivered artifact.
type storedFile struct {
	id           string
	seq          int64
	filename     string
	mimeType     string
	size         int64
	sha256       [32]byte
	content      []byte // nil when the fake keeps no content
	kept         bool
	downloadable bool
	scopeID      string // a session id for artifacts
	metadata     map[string]string
	expiresAt    time.Time
	createdAt    time.Time
}

// fileJSON is the wire form of a file.
type fileJSON struct {
	ID           string            `json:"id"`
	Type         string            `json:"type"`
	Filename     string            `json:"filename"`
	MimeType     string            `json:"mime_type"`
	SizeBytes    int64             `json:"size_bytes"`
	Downloadable bool              `json:"downloadable"`
	Scope        *scopeJSON        `json:"scope"`
	Metadata     map[string]string `json:"metadata"`
	ExpiresAt    *string           `json:"expires_at"`
	CreatedAt    string            `json:"created_at"`
}

type scopeJSON struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

func (f *storedFile) wire() fileJSON {
	j := fileJSON{
		ID: f.id, Type: "file", Filename: f.filename, MimeType: f.mimeType, SizeBytes: f.size,
		Downloadable: f.downloadable, Metadata: f.metadata, ExpiresAt: nullTime(f.expiresAt), CreatedAt: timestamp(f.createdAt),
	}
	if f.scopeID != "" {
		j.Scope = &scopeJSON{ID: f.scopeID, Type: "session"}
	}
	return j
}

// createFile serves POST /files.
func (s *Server) createFile(c *call, form *uploadForm) (int, any) {
	var part *formFile
	for _, f := range form.files {
		if f.field == "file" {
			part = f
			break
		}
	}
	if part == nil {
		return 0, invalid("file", "Field 'file' is required.")
	}
	if _, ok := form.fields["purpose"]; ok {
		return 0, invalid("purpose", "Field 'purpose' is no longer supported.")
	}
	meta := map[string]string{}
	if raw, ok := form.fields["metadata"]; ok {
		if len(raw) > 8<<10 {
			return 0, invalid("metadata", "Field 'metadata' must be at most 8 KB.")
		}
		if err := json.Unmarshal([]byte(raw), &meta); err != nil || meta == nil {
			return 0, invalid("metadata", "Field 'metadata' must be a JSON object of strings.")
		}
	}
	now := s.Now()
	var expires time.Time
	if raw, ok := form.fields["expires_in_seconds"]; ok {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 3600 || n > 7776000 {
			return 0, invalid("expires_in_seconds", "Field 'expires_in_seconds' must be an integer from 3600 to 7776000.")
		}
		expires = now.Add(time.Duration(n) * time.Second)
	}
	name := form.fields["name"]
	if name == "" {
		name = part.filename
	}
	f := s.newFile(name, part, meta, now)
	f.expiresAt = expires
	s.mu.Lock()
	defer s.mu.Unlock()
	part.adopted = true
	s.addFile(f)
	return http.StatusCreated, f.wire()
}

// newFile makes a file of an uploaded part: the final path component of
// name (or "unnamed" and the extension of its type), and the type the
// fake detects from the extension, else from the content.
func (s *Server) newFile(name string, part *formFile, meta map[string]string, now time.Time) *storedFile {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	mimeType := ""
	if ext := path.Ext(name); ext != "" {
		mimeType, _, _ = mime.ParseMediaType(mime.TypeByExtension(ext))
	}
	if mimeType == "" && part.kept {
		mimeType, _, _ = mime.ParseMediaType(http.DetectContentType(part.content))
	}
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	if name == "" || name == "." || name == ".." {
		name = "unnamed"
		if exts, _ := mime.ExtensionsByType(mimeType); slices.Contains(exts, ".txt") {
			name += ".txt"
		} else if len(exts) > 0 {
			name += exts[0]
		}
	}
	return &storedFile{
		id: newID("file_"), filename: name, mimeType: mimeType, size: part.size, sha256: part.sha256,
		content: part.content, kept: part.kept, metadata: meta, createdAt: now,
	}
}

// addFile stores f; s.mu must be held.
func (s *Server) addFile(f *storedFile) {
	f.seq = s.register("file", f.id)
	s.files[f.id] = f
}

// fileByID returns a file; s.mu must be held.
func (s *Server) fileByID(id string) (*storedFile, *apiError) {
	f, ok := s.files[id]
	if !ok {
		return nil, notFound("File '%s' was not found.", id)
	}
	return f, nil
}

// listFiles serves GET /files: newest first, with scope_id, ids and the
// legacy purpose filter.
func (s *Server) listFiles(c *call) (int, any) {
	q := cursorAliases(c.r.URL.Query())
	ids := queryList(q, "ids", "ids[]")
	if len(ids) > 100 {
		return 0, invalid("ids", "ids may name at most 100 files.")
	}
	if len(ids) > 0 && (q.Get("page") != "" || q.Get("limit") != "") {
		return 0, invalid("ids", "ids cannot be combined with page or limit.")
	}
	scope, purpose := q.Get("scope_id"), q.Get("purpose")
	s.mu.Lock()
	defer s.mu.Unlock()
	pq, e := parsePage(q, 1000, "files", s.resourceResolver("file"))
	if e != nil {
		return 0, e
	}
	if len(ids) > 0 {
		pq.limit = 100
	}
	var entries []entry
	for _, f := range s.files {
		switch {
		case scope != "" && f.scopeID != scope,
			len(ids) > 0 && !slices.Contains(ids, f.id),
			purpose != "" && purpose != f.purpose():
			continue
		}
		entries = append(entries, entry{seq: f.seq, id: f.id, value: f.wire()})
	}
	sortEntries(entries, true)
	return http.StatusOK, paginate(entries, true, pq, "files")
}

// purpose is the legacy purpose of a file.
func (f *storedFile) purpose() string {
	if f.downloadable {
		return "agent_output"
	}
	return "user_upload"
}

// getFile serves GET /files/{id}.
func (s *Server) getFile(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, e := s.fileByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	return http.StatusOK, f.wire()
}

// fileContent serves GET /files/{id}/content: a presigned URL of the fake's
// storage, for downloadable files only.
func (s *Server) fileContent(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, e := s.fileByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if !f.downloadable {
		return 0, &apiError{http.StatusForbidden, "permission_error",
			fmt.Sprintf("File '%s' is not downloadable: only files delivered by an agent can be downloaded.", f.id), ""}
	}
	expires := s.Now().Add(downloadURLTTL).Truncate(time.Second)
	return http.StatusOK, map[string]string{
		"url":        s.presign(c.r, "files/"+f.id, expires),
		"expires_at": timestamp(expires),
	}
}

// deleteFile serves DELETE /files/{id}.
func (s *Server) deleteFile(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, e := s.fileByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	delete(s.files, f.id)
	if f.kept {
		s.stored -= int64(len(f.content))
	}
	return http.StatusOK, map[string]string{"id": f.id, "type": "file_deleted"}
}

// presign returns the URL of object in the fake's storage, signed until
// expires, on the host the request came to.
func (s *Server) presign(r *http.Request, object string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	q := url.Values{"expires": {exp}, "signature": {s.signature(object, exp)}}
	name := path.Base(object)
	q.Set("response-content-disposition", "attachment; filename=\""+name+"\"")
	return "http://" + r.Host + storagePath + object + "?" + q.Encode()
}

// signature signs a storage object and its expiry with the server's key.
func (s *Server) signature(object, expires string) string {
	mac := hmac.New(sha256.New, s.signKey[:])
	mac.Write([]byte(object + "\n" + expires))
	return hex.EncodeToString(mac.Sum(nil))
}

// serveStorage serves a presigned URL. Like real storage hosts, it refuses
// a request that also carries an Authorization header (so a client that
// leaks its API token fails loudly), and an unsigned or expired URL.
func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "InvalidArgument: a presigned URL must be fetched without an Authorization header; only one auth mechanism is allowed.", http.StatusBadRequest)
		return
	}
	object := strings.TrimPrefix(r.URL.Path, storagePath)
	q := r.URL.Query()
	exp, sig := q.Get("expires"), q.Get("signature")
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !hmac.Equal([]byte(sig), []byte(s.signature(object, exp))) {
		http.Error(w, "SignatureDoesNotMatch", http.StatusForbidden)
		return
	}
	if s.Now().Unix() > unix {
		http.Error(w, "AccessDenied: Request has expired", http.StatusForbidden)
		return
	}
	content, kept, mimeType, name, ok := s.storageObject(object)
	if !ok {
		http.Error(w, "NoSuchKey", http.StatusNotFound)
		return
	}
	if !kept {
		http.Error(w, "Gone: the fake keeps no file content (qodertest.WithoutFileContent)", http.StatusGone)
		return
	}
	w.Header().Set("Content-Type", mimeType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(content)
	}
}

// storageObject returns the content of a storage object: "files/<id>".
func (s *Server) storageObject(object string) (content []byte, kept bool, mimeType, name string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, found := strings.CutPrefix(object, "files/"); found {
		if f, exists := s.files[id]; exists {
			return f.content, f.kept, f.mimeType, f.filename, true
		}
	}
	return nil, false, "", "", false
}

// cursorAliases returns q with the alias cursors after and before (which
// files, skills and vaults accept) renamed to after_id and before_id.
func cursorAliases(q url.Values) url.Values {
	for alias, name := range map[string]string{"after": "after_id", "before": "before_id"} {
		if v := q.Get(alias); v != "" && q.Get(name) == "" {
			q.Set(name, v)
		}
		q.Del(alias)
	}
	return q
}
