package qoder

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinel errors, one per documented error type. An *APIError matches them
// through errors.Is:
//
//	if errors.Is(err, qoder.ErrNotFound) { ... }
var (
	// ErrInvalidRequest matches 400 responses and invalid_request_error.
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

// maxErrorBodySize bounds how much of an error response is kept.
const maxErrorBodySize = 1 << 20

// APIError is the error for any response with a non-2xx status. Match it
// with errors.As, or its category with errors.Is and the Err* sentinels.
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
