package qodertest

import (
	"crypto/sha256"
	"hash"
	"net/http"
	"time"
)

// idempotencyTTL is how long the API keeps an Idempotency-Key.
const idempotencyTTL = 24 * time.Hour

// idemEntry is the remembered outcome of a request made with an
// Idempotency-Key.
type idemEntry struct {
	fingerprint [32]byte
	created     time.Time
	done        bool // false while the first request is still running
	status      int
	body        []byte
}

// idempotencyKey returns the request's key (the legacy X-Idempotency-Key
// also counts) for methods that take one.
func idempotencyKey(r *http.Request) string {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch:
	default:
		return ""
	}
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		return k
	}
	return r.Header.Get("X-Idempotency-Key")
}

// idemBegin looks key up. It returns the stored entry to replay, an error
// (the key is in use for another request, or by one still running), or
// neither: then the caller runs the request and calls idemEnd. Keys are
// scoped to the token, and a server accepts one token.
func (s *Server) idemBegin(key string, r *http.Request, body []byte) (*idemEntry, *apiError) {
	h := fingerprint(r)
	h.Write(body)
	var fp [32]byte
	copy(fp[:], h.Sum(nil))
	return s.idemClaim(key, fp)
}

// fingerprint starts the hash of a request: its method and path, to which
// the caller adds the body.
func fingerprint(r *http.Request) hash.Hash {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	return h
}

// idemClaim is idemBegin for a request whose fingerprint (a hash of its
// method, path and body) is known, such as a multipart upload hashed while
// it was read.
func (s *Server) idemClaim(key string, fp [32]byte) (*idemEntry, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if e, ok := s.idem[key]; ok && now.Sub(e.created) < idempotencyTTL {
		switch {
		case e.fingerprint != fp:
			return nil, conflict("Idempotency key reused with a different request body.")
		case !e.done:
			return nil, conflict("A request with this Idempotency-Key is still being processed.")
		default:
			return e, nil
		}
	}
	s.idem[key] = &idemEntry{fingerprint: fp, created: now}
	return nil, nil
}

// idemEnd stores the outcome of the request that claimed key. Server
// errors are not stored, so a retry runs again.
func (s *Server) idemEnd(key string, status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.idem[key]
	if !ok {
		return
	}
	if status >= 500 {
		delete(s.idem, key)
		return
	}
	e.done, e.status, e.body = true, status, body
}
