package qodertest

import (
	"net/http"
	"net/url"
	"time"
)

// maxRecordedBody is how much of each request body Requests keeps.
const maxRecordedBody = 1 << 20

// Request is a request the server received, as [Server.Requests] reports
// it.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path, such as "/api/v1/cloud/agents".
	Path string
	// Query is the parsed query string.
	Query url.Values
	// Header holds the request headers (Last-Event-ID, Idempotency-Key,
	// ...). The Authorization value is replaced by "[redacted]".
	Header http.Header
	// Body is the request body (its first MiB).
	Body []byte
	// Time is when the request arrived.
	Time time.Time
}

// record appends r to the request log.
func (s *Server) record(r *http.Request, body []byte) {
	h := r.Header.Clone()
	if h.Get("Authorization") != "" {
		h.Set("Authorization", "[redacted]")
	}
	if len(body) > maxRecordedBody {
		body = body[:maxRecordedBody]
	}
	rec := Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: h,
		Body: append([]byte(nil), body...), Time: time.Now(),
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}
