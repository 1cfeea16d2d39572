package qoder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinel errors, one per documented error type. An *APIError matches them
// through errors.Is:
//
//	if errors.Is(err, qoder.ErrNotFound) { ... }
//
// ErrInvalidRequest also matches every call the SDK refuses before sending
// anything, so one check covers local and server rejections alike.
var (
	// ErrInvalidRequest matches 400 responses and invalid_request_error,
	// and the SDK's own checks, made before any I/O: an empty path id
	// ("qoder: agent_id is required"), nil params where a method needs
	// them, an out-of-range argument, and an input event that breaks a
	// documented rule (which matches [ErrInvalidEvent] too). A local
	// rejection is not an *APIError: errors.As tells the two apart.
	ErrInvalidRequest = errors.New("qoder: invalid request")
	// ErrAuthentication matches 401 responses and authentication_error.
	ErrAuthentication = errors.New("qoder: authentication failed")
	// ErrPermission matches 403 responses and permission_error.
	ErrPermission = errors.New("qoder: permission denied")
	// ErrNotFound matches 404 responses and not_found_error.
	ErrNotFound = errors.New("qoder: not found")
	// ErrConflict matches 409 responses and conflict_error: a stale agent
	// version, a reused idempotency key, a turn already running.
	ErrConflict = errors.New("qoder: conflict")
	// ErrRateLimited matches 429 responses.
	ErrRateLimited = errors.New("qoder: rate limited")
	// ErrFeatureNotAvailable matches feature_not_available (501 in legacy
	// pages, 503 for a temporarily disabled beta feature).
	ErrFeatureNotAvailable = errors.New("qoder: feature not available")
	// ErrServer matches 5xx responses and api_error, except
	// feature_not_available.
	ErrServer = errors.New("qoder: server error")
)

// Error types the API documents in error.type.
const (
	ErrorTypeInvalidRequest      = "invalid_request_error"
	ErrorTypeAuthentication      = "authentication_error"
	ErrorTypePermission          = "permission_error"
	ErrorTypeNotFound            = "not_found_error"
	ErrorTypeConflict            = "conflict_error"
	ErrorTypeRateLimit           = "rate_limit_error"
	ErrorTypeAPI                 = "api_error"
	ErrorTypeFeatureNotAvailable = "feature_not_available"
)

// invalidParamsError is the error of a call the SDK refuses before sending
// anything. It reads as its message alone and matches [ErrInvalidRequest].
type invalidParamsError struct{ msg string }

// errInvalidParams returns an *invalidParamsError whose message is
// "qoder: " followed by the formatted text.
func errInvalidParams(format string, args ...any) error {
	return &invalidParamsError{msg: "qoder: " + fmt.Sprintf(format, args...)}
}

// Error returns the message.
func (e *invalidParamsError) Error() string { return e.msg }

// Is reports whether target is ErrInvalidRequest.
func (e *invalidParamsError) Is(target error) bool { return target == ErrInvalidRequest }

// maxErrorBodySize bounds how much of an error response is kept.
const maxErrorBodySize = 1 << 20

// APIError is the error for any response with a non-2xx status. Match it
// with errors.As, or its category with errors.Is and the Err* sentinels.
// Wherever the server echoed the client's token (in the body, a header or
// the request id), it reads "[redacted]".
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Type is error.type, such as "not_found_error"; empty when the body
	// was not the API's JSON envelope (a gateway page, say).
	Type string
	// Message is error.message, or a readable summary of a non-JSON body.
	Message string
	// Param names the offending request field, when the API says.
	Param string
	// Code is error.code, when present.
	Code string
	// Feature and AvailableFrom are set on legacy feature_not_available
	// errors: the feature and the beta identifier that enables it.
	Feature, AvailableFrom string
	// RequestID is the body's request_id, else the X-Request-Id header.
	RequestID string
	// Body is the raw response body, at most 1 MiB.
	Body []byte
	// Header is the response header.
	Header http.Header

	// Method and Path name the request, for Error.
	Method, Path string
}

// errorEnvelope is the API's error body.
type errorEnvelope struct {
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
	Error     *struct {
		Type          string `json:"type"`
		Message       string `json:"message"`
		Param         string `json:"param"`
		Code          string `json:"code"`
		Feature       string `json:"feature"`
		AvailableFrom string `json:"available_from"`
	} `json:"error"`
	Message string `json:"message"`
}

// newAPIError builds the error of a non-2xx response whose body is data.
func newAPIError(method, path string, resp *http.Response, data []byte) *APIError {
	e := &APIError{
		StatusCode: resp.StatusCode,
		Body:       data,
		Header:     resp.Header,
		Method:     method,
		Path:       path,
	}
	var env errorEnvelope
	if json.Unmarshal(data, &env) == nil && (env.Error != nil || env.Message != "") {
		e.RequestID = env.RequestID
		if env.Error != nil {
			e.Type = env.Error.Type
			e.Message = env.Error.Message
			e.Param = env.Error.Param
			e.Code = env.Error.Code
			e.Feature = env.Error.Feature
			e.AvailableFrom = env.Error.AvailableFrom
		} else {
			e.Message = env.Message
		}
	} else {
		e.Message = describeBody(resp, data)
	}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("X-Request-Id")
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if msg := redirectMessage(method, resp); msg != "" {
			e.Message = msg
		}
	}
	return e
}

// describeBody summarises a body that is not the API's error envelope.
func describeBody(resp *http.Response, data []byte) string {
	status := http.StatusText(resp.StatusCode)
	if status == "" {
		status = "status " + strconv.Itoa(resp.StatusCode)
	}
	text := strings.TrimSpace(string(data))
	if text == "" {
		return strings.ToLower(status) + " (empty body)"
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType == "text/html" || strings.HasPrefix(text, "<") {
		return strings.ToLower(status) + " (HTML body)"
	}
	if mediaType == "application/json" || strings.HasPrefix(text, "{") {
		return strings.ToLower(status) + " (unrecognised JSON body)"
	}
	if i := strings.IndexAny(text, "\r\n"); i >= 0 {
		text = text[:i]
	}
	if len(text) > 200 {
		text = text[:200]
		for !utf8.ValidString(text) {
			text = text[:len(text)-1]
		}
		text += "…"
	}
	return text
}

// Error reads like
// "qoder: POST /agents: 400 invalid_request_error: name is required (request_id=req_123)".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("qoder: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Type != "" {
		b.WriteByte(' ')
		b.WriteString(e.Type)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Param != "" {
		b.WriteString(" (param=")
		b.WriteString(e.Param)
		b.WriteByte(')')
	}
	if e.RequestID != "" {
		b.WriteString(" (request_id=")
		b.WriteString(e.RequestID)
		b.WriteByte(')')
	}
	return b.String()
}

// Is reports whether the error belongs to the category of target, one of
// the Err* sentinels. The error.type decides; the status decides when the
// type is missing or unknown.
func (e *APIError) Is(target error) bool {
	switch e.Type {
	case ErrorTypeInvalidRequest:
		return target == ErrInvalidRequest
	case ErrorTypeAuthentication:
		return target == ErrAuthentication
	case ErrorTypePermission:
		return target == ErrPermission
	case ErrorTypeNotFound:
		return target == ErrNotFound
	case ErrorTypeConflict:
		return target == ErrConflict
	case ErrorTypeRateLimit:
		return target == ErrRateLimited
	case ErrorTypeFeatureNotAvailable:
		return target == ErrFeatureNotAvailable
	case ErrorTypeAPI:
		return target == ErrServer
	}
	switch target {
	case ErrInvalidRequest:
		return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnprocessableEntity
	case ErrAuthentication:
		return e.StatusCode == http.StatusUnauthorized
	case ErrPermission:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrFeatureNotAvailable:
		return e.StatusCode == http.StatusNotImplemented
	case ErrServer:
		return e.StatusCode >= 500 && e.StatusCode != http.StatusNotImplemented
	}
	return false
}

// redactedText replaces the client's token wherever a server echoed it.
const redactedText = "[redacted]"

// redactor removes the client's own token from what a server sends back: a
// server or a proxy that echoes the Authorization header in an error body,
// a header or a stream error frame must not put the token into an error or
// a log line. It knows the token as sent and as JSON and URLs escape it.
type redactor struct{ forms []string }

// newRedactor returns the redactor of token.
func newRedactor(token string) redactor {
	var r redactor
	quoted, _ := json.Marshal(token)
	for _, f := range []string{token, string(quoted[1 : len(quoted)-1]), url.QueryEscape(token), url.PathEscape(token)} {
		if f != "" && !slices.Contains(r.forms, f) {
			r.forms = append(r.forms, f)
		}
	}
	return r
}

// string returns s without the token.
func (r redactor) string(s string) string {
	for _, f := range r.forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, redactedText)
		}
	}
	return s
}

// bytes returns b without the token; b itself is returned when it holds
// none.
func (r redactor) bytes(b []byte) []byte {
	for _, f := range r.forms {
		if bytes.Contains(b, []byte(f)) {
			b = bytes.ReplaceAll(b, []byte(f), []byte(redactedText))
		}
	}
	return b
}

// header returns h without the token in any value; h itself is returned
// when it holds none.
func (r redactor) header(h http.Header) http.Header {
	var out http.Header
	for k, vs := range h {
		for i, v := range vs {
			if clean := r.string(v); clean != v {
				if out == nil {
					out = h.Clone()
				}
				out[k][i] = clean
			}
		}
	}
	if out == nil {
		return h
	}
	return out
}

// error returns err without the token: an *APIError in it is cleaned in
// place, and an error whose text still holds the token is replaced by one
// that reads the same without it and matches the same targets in errors.Is.
func (r redactor) error(err error) error {
	if err == nil {
		return nil
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		apiErr.Body = r.bytes(apiErr.Body)
		apiErr.Header = r.header(apiErr.Header)
		for _, s := range []*string{&apiErr.Type, &apiErr.Message, &apiErr.Param, &apiErr.Code, &apiErr.Feature, &apiErr.AvailableFrom, &apiErr.RequestID} {
			*s = r.string(*s)
		}
	}
	if msg := err.Error(); r.string(msg) != msg {
		return &redactedError{msg: r.string(msg), err: err}
	}
	return err
}

// attrs cleans the string values of log attributes in place.
func (r redactor) attrs(attrs []slog.Attr) []slog.Attr {
	for i, a := range attrs {
		if a.Value.Kind() == slog.KindString {
			attrs[i].Value = slog.StringValue(r.string(a.Value.String()))
		}
	}
	return attrs
}

// redactedError is an error whose text held the token. It matches what the
// original matched in errors.Is but does not unwrap to it, so errors.As
// cannot reach the original text.
type redactedError struct {
	msg string
	err error
}

// Error returns the text without the token.
func (e *redactedError) Error() string { return e.msg }

// Is reports whether the original error matches target.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }
