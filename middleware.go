package qoder

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Middleware wraps each HTTP attempt of the client: it receives the
// request of one attempt and next, which sends it on (to the next
// middleware, and after the last to the HTTP client), and returns the
// response or error of the attempt. It may change the request, look at
// the response, or answer without calling next. A middleware sees the
// request as it goes out, so it carries the Authorization header with the
// client's token: never log or record the request's headers.
//
// Middlewares run once per attempt: a call retried twice runs them three
// times, and a stream runs them for its first connection and for every
// reconnect. They run in order, the client's ([WithMiddleware]) before the
// call's ([WithRequestMiddleware]), each in the order given: the first
// sees the request first and the response last. The redirects a GET
// follows happen inside next. [RequestInfoFromContext] on the request's
// context tells which call and attempt the request belongs to.
//
// A middleware must return a response or an error. The body of the
// response it returns is read by the client (or, for a stream or a
// download, by the caller) and closed. A middleware that returns neither,
// or that panics, fails the call with an error matching [ErrMiddleware],
// which is not retried; the panic does not escape the client.
type Middleware func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error)

// ErrMiddleware matches the error of a call whose middleware panicked or
// returned neither a response nor an error. Such a failure is final: the
// call is not retried.
var ErrMiddleware = errors.New("qoder: middleware failed")

// WithMiddleware adds middlewares that wrap every HTTP attempt of the
// client, in the order given, after those of earlier WithMiddleware
// options. See [Middleware].
func WithMiddleware(mw ...Middleware) Option {
	return func(c *clientConfig) { c.middleware = appendMiddleware(c.middleware, mw) }
}

// WithRequestMiddleware adds middlewares that wrap every HTTP attempt of
// this call, after the client's. See [Middleware].
func WithRequestMiddleware(mw ...Middleware) RequestOption {
	return func(r *requestConfig) { r.middleware = appendMiddleware(r.middleware, mw) }
}

// appendMiddleware appends the non-nil middlewares of mw to list.
func appendMiddleware(list, mw []Middleware) []Middleware {
	for _, m := range mw {
		if m != nil {
			list = append(list, m)
		}
	}
	return list
}

// RequestInfo describes, to a middleware, the call an HTTP request
// belongs to. Read it with [RequestInfoFromContext].
type RequestInfo struct {
	// Route is the endpoint's path template relative to the base URL, such
	// as "sessions/{session_id}/events/stream": the path without its ids,
	// fit to name a span or label a metric; it is the template the method
	// filled in, whatever its ids. A [Client.Do] call's route is its path
	// as given, ids included. It is empty for the fetch of a presigned
	// download URL, which goes to another host without the token.
	Route string
	// Attempt counts the attempts before this one: 0 for the first, 1 for
	// the first retry. On a stream it counts the connection attempts
	// before this one: 0 opens the stream, and every reconnect adds one.
	Attempt int
	// Stream is set on the connection attempts of an event stream. The
	// client closes the response body when the connection ends; then
	// context.Cause of the request's context says why (the stream was
	// closed, a terminal event arrived, the connection dropped or went
	// idle, ...).
	Stream bool
}

// requestInfoKey is the context key of a RequestInfo.
type requestInfoKey struct{}

// RequestInfoFromContext returns the RequestInfo of the request whose
// context ctx is, as a middleware sees it; false outside a middleware.
func RequestInfoFromContext(ctx context.Context) (RequestInfo, bool) {
	info, ok := ctx.Value(requestInfoKey{}).(RequestInfo)
	return info, ok
}

// roundTrip sends one attempt's request through the call's middlewares and
// the HTTP client. attempt numbers it (see RequestInfo).
func (c *Client) roundTrip(req *http.Request, p *preparedRequest, attempt int, stream bool) (*http.Response, error) {
	if len(p.middleware) == 0 {
		return c.httpClient.Do(req)
	}
	info := RequestInfo{Route: p.path.template, Attempt: attempt, Stream: stream}
	req = req.WithContext(context.WithValue(req.Context(), requestInfoKey{}, info))
	return runMiddleware(req, p.middleware, c.httpClient.Do)
}

// runMiddleware runs req through mws, the first outermost, and then send.
// A middleware that panics or returns neither a response nor an error
// gives a *middlewareError; a response that send returned and the
// middlewares did not pass on is closed then, so that its connection is
// not leaked.
func runMiddleware(req *http.Request, mws []Middleware, send func(*http.Request) (*http.Response, error)) (resp *http.Response, err error) {
	var sent *http.Response // the last response send returned
	next := func(r *http.Request) (*http.Response, error) {
		if r == nil {
			return nil, &middlewareError{what: "passed a nil request to next"}
		}
		resp, err := send(r)
		if resp != nil {
			sent = resp
		}
		return resp, err
	}
	for i := len(mws) - 1; i >= 0; i-- {
		mw, inner := mws[i], next
		next = func(r *http.Request) (*http.Response, error) { return mw(r, inner) }
	}
	defer func() {
		if v := recover(); v != nil {
			cause, _ := v.(error)
			resp, err = nil, &middlewareError{what: fmt.Sprintf("panicked: %v", v), cause: cause}
		}
		if err == nil && resp == nil {
			err = &middlewareError{what: "returned neither a response nor an error"}
		}
		if err != nil {
			if resp != nil && resp.Body != nil {
				_ = resp.Body.Close()
			}
			if sent != nil && sent != resp {
				_ = sent.Body.Close()
			}
			resp = nil
			return
		}
		switch {
		case resp.Body == nil:
			resp.Body = http.NoBody
		case resp.ContentLength == 0 && resp.Body != http.NoBody:
			// A response made by a middleware that left the length
			// unset; net/http gives a declared empty body as NoBody.
			resp.ContentLength = -1
		}
	}()
	return next(req)
}

// middlewareError is the failure of a middleware that broke its contract.
// It matches ErrMiddleware.
type middlewareError struct {
	what  string
	cause error // the value of a panic, when it was an error
}

// Error says what the middleware did.
func (e *middlewareError) Error() string { return "middleware " + e.what }

// Is reports whether target is ErrMiddleware.
func (e *middlewareError) Is(target error) bool { return target == ErrMiddleware }

// Unwrap returns the error a middleware panicked with, if any.
func (e *middlewareError) Unwrap() error { return e.cause }
