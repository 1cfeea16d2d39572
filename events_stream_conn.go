package qoder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/qoder-go/qoder/internal/sse"
)

// maxContentTypeBody bounds what is read of a 200 response that is not an
// event stream, for the error.
const maxContentTypeBody = 4 << 10

// streamConn is one connection attempt of a stream and, once the server
// answered with an event stream, the connection itself: the response body,
// the parser reading it, and the attempt's context, which the idle
// watchdog cancels when nothing arrives for the idle timeout.
type streamConn struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	idle    *time.Timer // the watchdog; nil when it is off
	timeout time.Duration
	body    io.ReadCloser
	reader  *sse.Reader
	since   time.Time // when the response headers arrived
}

// newStreamConn starts an attempt under parent. The watchdog covers waiting
// for the response headers too, so a server that never answers cannot hang
// the stream.
func newStreamConn(parent context.Context, idleTimeout time.Duration) *streamConn {
	c := &streamConn{timeout: idleTimeout}
	c.ctx, c.cancel = context.WithCancelCause(parent)
	if idleTimeout > 0 {
		c.idle = time.AfterFunc(idleTimeout, func() { c.cancel(errIdleTimeout) })
	}
	return c
}

// attach makes body the connection's: from now on the watchdog measures
// the silence between bytes.
func (c *streamConn) attach(body io.ReadCloser, maxEventSize int, now time.Time) {
	if c.idle != nil {
		c.idle.Reset(c.timeout)
	}
	c.body = body
	c.since = now
	c.reader = sse.NewReader(c, maxEventSize)
}

// Read reads from the body and pushes the idle deadline back.
func (c *streamConn) Read(p []byte) (int, error) {
	n, err := c.body.Read(p)
	if n > 0 && c.idle != nil {
		c.idle.Reset(c.timeout)
	}
	return n, err
}

// idleExpired reports whether the watchdog cancelled the attempt.
func (c *streamConn) idleExpired() bool {
	return errors.Is(context.Cause(c.ctx), errIdleTimeout)
}

// close stops the watchdog, cancels the attempt with cause (why the
// connection ends, for a middleware that wraps the body; nil for
// context.Canceled) and closes the body.
func (c *streamConn) close(cause error) {
	if c.idle != nil {
		c.idle.Stop()
	}
	c.cancel(cause)
	if c.body != nil {
		_ = c.body.Close()
	}
}

// open makes one connection attempt and, when it succeeds, makes it the
// stream's connection. It reports whether a failure is worth another
// attempt.
func (s *Stream) open() (bool, error) {
	conn := newStreamConn(s.ctx, s.params.IdleTimeout)
	req, err := s.newRequest(conn.ctx)
	if err != nil {
		conn.close(nil)
		return false, err
	}
	timer := newAttemptTimer(s.req.cfg.timeout, conn.cancel)
	start := time.Now()
	resp, err := s.client.roundTrip(req, s.req, s.attempts, true)
	s.attempts++
	if timer.stop() {
		if resp != nil {
			_ = resp.Body.Close()
		}
		resp, err = nil, timer.err()
	}
	if err != nil {
		conn.close(nil)
		s.client.logAttempt(s.ctx, s.req, nil, s.policy.failures, time.Since(start), err)
		if conn.idleExpired() {
			err = fmt.Errorf("no response within %s", s.params.IdleTimeout)
		}
		// A refused redirect, or a middleware that broke its contract, is final.
		retry := !errors.Is(err, errRedirect) && !errors.Is(err, ErrMiddleware)
		return retry, fmt.Errorf("qoder: GET /%s: %w", s.req.path, redactURLError(err))
	}
	s.client.logAttempt(s.ctx, s.req, resp, s.policy.failures, time.Since(start), nil)
	if retry, err := s.checkResponse(resp); err != nil {
		conn.close(nil)
		return retry, err
	}
	conn.attach(resp.Body, s.params.MaxEventSize, s.policy.now())
	s.conn = conn
	return false, nil
}

// newRequest builds one attempt's request, resuming from the cursor.
func (s *Stream) newRequest(ctx context.Context) (*http.Request, error) {
	req, err := s.client.newHTTPRequest(ctx, s.req)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Cache-Control", "no-cache")
	if s.resume.cursor != "" {
		req.Header.Set("Last-Event-ID", s.resume.cursor)
	}
	return req, nil
}

// checkResponse returns the error for a response that is not an event
// stream, having read and closed its body, and reports whether another
// attempt is worth it. A refusal's Retry-After is kept for that attempt.
func (s *Stream) checkResponse(resp *http.Response) (bool, error) {
	if resp.StatusCode != http.StatusOK {
		data, _ := readBody(resp)
		retry, _ := shouldRetry(http.MethodGet, false, resp, nil)
		if d, ok := retryAfter(resp, time.Now()); ok && retry {
			s.policy.refused(d)
		}
		return retry, newAPIError(http.MethodGet, s.req.target(), resp, data)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxContentTypeBody))
		_ = resp.Body.Close()
		return false, &APIError{
			StatusCode: resp.StatusCode,
			Message:    fmt.Sprintf("expected an event stream, got Content-Type %q", resp.Header.Get("Content-Type")),
			RequestID:  resp.Header.Get("X-Request-Id"),
			Body:       data,
			Header:     resp.Header,
			Method:     http.MethodGet,
			Path:       s.req.target(),
		}
	}
	return false, nil
}

// closeConn releases the current connection, if any, keeping the retry:
// value it carried for the next reconnect. cause says why it ends.
func (s *Stream) closeConn(cause error) {
	if s.conn == nil {
		return
	}
	if d, ok := s.conn.reader.Retry(); ok {
		s.policy.setServerRetry(d)
	}
	s.conn.close(cause)
	s.conn = nil
}
