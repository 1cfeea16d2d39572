package qodertest

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// apiError is an error answered with the documented envelope.
type apiError struct {
	status  int
	typ     string
	message string
	param   string
}

func (e *apiError) Error() string { return e.typ + ": " + e.message }

func invalid(param, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_request_error", fmt.Sprintf(format, args...), param}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, "not_found_error", fmt.Sprintf(format, args...), ""}
}

func conflict(format string, args ...any) *apiError {
	return &apiError{http.StatusConflict, "conflict_error", fmt.Sprintf(format, args...), ""}
}

// errorTypes maps statuses to the error.type used when a fault names none.
var errorTypes = map[int]string{
	400: "invalid_request_error",
	401: "authentication_error",
	403: "permission_error",
	404: "not_found_error",
	409: "conflict_error",
	429: "rate_limit_error",
}

func errorType(status int) string {
	if t, ok := errorTypes[status]; ok {
		return t
	}
	return "api_error"
}

// errorEnvelope is the documented error body.
type errorEnvelope struct {
	Type      string      `json:"type"`
	RequestID string      `json:"request_id"`
	Error     errorDetail `json:"error"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
}

// reqInfo is what the outer handler learns about a request before routing.
type reqInfo struct {
	id       string // request id
	body     []byte
	tooLarge bool
	readErr  error
}

type reqInfoKey struct{}

func info(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{id: newRequestID()}
}

// serveHTTP is the outer handler: request id, recording, latency, injected
// failures, routing, authentication, then the route.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	ri := &reqInfo{id: r.Header.Get("X-Request-Id")}
	if ri.id == "" {
		ri.id = newRequestID()
	}
	w.Header().Set("X-Request-Id", ri.id)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { // a deliberate drop (stream faults)
				panic(v)
			}
			s.errorf("panic serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
			writeError(w, ri.id, &apiError{status: 500, typ: "api_error", message: "Internal server error."})
		}
	}()

	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead && !isMultipart(r) {
		ri.body, ri.tooLarge, ri.readErr = readBody(r.Body, s.cfg.maxBody)
	}
	r = r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri))
	s.record(r, ri.body)

	s.mu.Lock()
	delay := s.latency
	s.mu.Unlock()
	if delay > 0 && !sleep(r.Context(), s.ctx, delay) {
		return
	}
	if f := s.takeFailure(r); f != nil {
		f.write(w, ri.id)
		return
	}
	if strings.HasPrefix(r.URL.Path, storagePath) {
		s.serveStorage(w, r) // presigned URLs carry no token
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		// Unknown routes and methods get the gateway's plain 404.
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if !s.authorized(r) {
		writeError(w, ri.id, &apiError{http.StatusUnauthorized, "authentication_error", "Invalid API key or token.", ""})
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	tok = strings.TrimSpace(tok)
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.Token)) == 1
}

// readBody reads at most limit bytes of body and reports whether there was
// more.
func readBody(body io.Reader, limit int64) ([]byte, bool, error) {
	if limit <= 0 {
		limit = 32 << 20
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) > limit {
		return nil, true, nil
	}
	return data, false, nil
}

// sleep waits for d and reports whether it was not interrupted.
func sleep(a, b context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-a.Done():
		return false
	case <-b.Done():
		return false
	}
}

// jsonHandler serves a JSON route. It returns the status and the value to
// encode, or an *apiError.
type jsonHandler func(c *call) (int, any)

// call is one request to a JSON route.
type call struct {
	r    *http.Request
	body []byte
}

// json wraps a JSON route: body limits, idempotency keys, encoding.
func (s *Server) json(fn jsonHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r)
		if ri.tooLarge {
			writeError(w, ri.id, invalid("", "Request body is too large (the limit is %d bytes).", s.cfg.maxBody))
			return
		}
		if ri.readErr != nil {
			writeError(w, ri.id, invalid("", "Request body could not be read."))
			return
		}
		key := idempotencyKey(r)
		if key != "" {
			if replay, e := s.idemBegin(key, r, ri.body); e != nil {
				writeError(w, ri.id, e)
				return
			} else if replay != nil {
				w.Header().Set("Idempotent-Replayed", "true")
				writeRaw(w, replay.status, replay.body)
				return
			}
		}
		status, body := s.invoke(fn, &call{r: r, body: ri.body})
		if key != "" {
			s.idemEnd(key, status, body)
		}
		writeRaw(w, status, body)
	})
}

// invoke runs fn and encodes its answer.
func (s *Server) invoke(fn jsonHandler, c *call) (status int, body []byte) {
	status, v := fn(c)
	if e, ok := v.(*apiError); ok {
		return e.status, encodeError(info(c.r).id, e)
	}
	data, err := encodeJSON(v)
	if err != nil {
		s.errorf("encoding response of %s %s: %v", c.r.Method, c.r.URL.Path, err)
		return 500, encodeError(info(c.r).id, &apiError{status: 500, typ: "api_error", message: "Internal server error."})
	}
	return status, data
}

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encodeError(requestID string, e *apiError) []byte {
	data, _ := encodeJSON(errorEnvelope{
		Type:      "error",
		RequestID: requestID,
		Error:     errorDetail{Type: e.typ, Message: e.message, Param: e.param},
	})
	return data
}

func writeError(w http.ResponseWriter, requestID string, e *apiError) {
	writeRaw(w, e.status, encodeError(requestID, e))
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
