package qodertest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
)

// Multipart uploads (POST /files, POST /skills, POST /skills/{id}/versions)
// are parsed as they arrive, never read whole before routing: their file
// parts are hashed, measured and kept in memory only within the storage
// cap (see WithFileStorageLimit and WithoutFileContent).

// maxFormField bounds a multipart field that is not a file.
const maxFormField = 64 << 10

// errInvalidForm is the documented answer to a body that is not a valid
// multipart form or is too large.
var errInvalidForm = invalid("", "Invalid multipart form or request too large.")

// isMultipart reports whether r carries a multipart/form-data body.
func isMultipart(r *http.Request) bool {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mediaType == "multipart/form-data"
}

// formFile is a file part of an upload.
type formFile struct {
	field       string // "file" or "files"
	filename    string
	contentType string
	size        int64
	sha256      [32]byte
	content     []byte // nil when the fake keeps no content
	kept        bool
}

// uploadForm is a parsed multipart body.
type uploadForm struct {
	fields      map[string]string
	files       []*formFile
	fingerprint [32]byte // of the raw body, for idempotency keys
}

// formHandler serves a multipart route.
type formHandler func(c *call, form *uploadForm) (int, any)

// countingReader counts and hashes what passes through it, and fails once
// more than limit bytes have.
type countingReader struct {
	r     io.Reader
	h     hash.Hash
	n     int64
	limit int64
}

var errTooLarge = errors.New("request body too large")

// Read reads, counts and hashes; past the limit it fails with errTooLarge.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if c.n > c.limit {
		return n, errTooLarge
	}
	return n, err
}

// form wraps a multipart route: it parses the body as it arrives (within
// the body limit), keeps file content within the storage cap, then applies
// idempotency keys like the JSON routes.
func (s *Server) form(fn formHandler, keep bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r)
		form, e := s.parseForm(r, keep || s.cfg.keepFiles)
		if e != nil {
			s.releaseForm(form)
			writeError(w, ri.id, e)
			return
		}
		key := idempotencyKey(r)
		if key != "" {
			if replay, e := s.idemClaim(key, form.fingerprint); e != nil {
				s.releaseForm(form)
				writeError(w, ri.id, e)
				return
			} else if replay != nil {
				s.releaseForm(form)
				w.Header().Set("Idempotent-Replayed", "true")
				writeRaw(w, replay.status, replay.body)
				return
			}
		}
		status, body := s.invoke(func(c *call) (int, any) {
			status, v := fn(c, form)
			if _, failed := v.(*apiError); failed {
				s.releaseForm(form)
			}
			return status, v
		}, &call{r: r})
		if key != "" {
			s.idemEnd(key, status, body)
		}
		writeRaw(w, status, body)
	})
}

// parseForm reads a multipart body part by part.
func (s *Server) parseForm(r *http.Request, keep bool) (*uploadForm, *apiError) {
	form := &uploadForm{fields: map[string]string{}}
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return form, errInvalidForm
	}
	body := &countingReader{r: r.Body, h: fingerprint(r), limit: s.cfg.maxBody}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return form, errInvalidForm
		}
		name := part.FormName()
		if part.FileName() == "" && name != "file" && name != "files" {
			value, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil || len(value) > maxFormField {
				return form, errInvalidForm
			}
			form.fields[name] = string(value)
			continue
		}
		f, e := s.readFormFile(part, keep)
		if e != nil {
			return form, e
		}
		form.files = append(form.files, f)
	}
	// Whatever follows the closing boundary still counts.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return form, errInvalidForm
	}
	copy(form.fingerprint[:], body.h.Sum(nil))
	return form, nil
}

// readFormFile reads a file part, keeping its content when the storage cap
// allows.
func (s *Server) readFormFile(part *multipart.Part, keep bool) (*formFile, *apiError) {
	f := &formFile{field: part.FormName(), filename: part.FileName(), contentType: part.Header.Get("Content-Type")}
	h := sha256.New()
	if !keep {
		var err error
		if f.size, err = io.Copy(h, part); err != nil {
			return nil, errInvalidForm
		}
		copy(f.sha256[:], h.Sum(nil))
		return f, nil
	}
	left := s.storageLeft()
	var buf bytes.Buffer
	n, err := io.Copy(io.MultiWriter(&buf, h), io.LimitReader(part, left+1))
	if err != nil {
		return nil, errInvalidForm
	}
	if n > left || !s.reserve(n) {
		return nil, invalid(f.field, "File storage is full: the fake keeps at most %d bytes of content (see qodertest.WithFileStorageLimit).", s.cfg.fileStorage)
	}
	f.size, f.content, f.kept = n, buf.Bytes(), true
	copy(f.sha256[:], h.Sum(nil))
	return f, nil
}

// storageLeft returns how many bytes the storage cap still allows.
func (s *Server) storageLeft() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.cfg.fileStorage-s.stored, 0)
}

// reserve claims n bytes of the storage cap.
func (s *Server) reserve(n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stored+n > s.cfg.fileStorage {
		return false
	}
	s.stored += n
	return true
}

// release gives n bytes of the storage cap back.
func (s *Server) release(n int64) {
	s.mu.Lock()
	s.stored -= n
	s.mu.Unlock()
}

// releaseForm gives back the storage of a form that was not stored.
func (s *Server) releaseForm(form *uploadForm) {
	if form == nil {
		return
	}
	for _, f := range form.files {
		if f.kept {
			s.release(int64(len(f.content)))
			f.kept, f.content = false, nil
		}
	}
}
