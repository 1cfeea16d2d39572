package qoder

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/qoder-go/qoder/internal/sse"
)

// healthyConnection is how long a connection must stay up for its drop not
// to count as a failed attempt, even if it delivered no event (an idle
// session kept alive by heartbeats).
const healthyConnection = time.Minute

// reconnectPolicy decides when a stream connects again after a drop and
// when it gives up: a budget of consecutive failed attempts, and the wait
// before each attempt.
type reconnectPolicy struct {
	backoff   func(int) time.Duration
	max       int              // consecutive failed attempts that end the stream
	healthyAt time.Duration    // a connection this old was healthy
	now       func() time.Time // the clock that ages connections; tests replace it

	failures    int  // consecutive failed attempts
	progress    bool // the current connection delivered an event or was healthy
	lastErr     error
	retryAfter  time.Duration // the Retry-After of the last refusal
	hasAfter    bool          // retryAfter is set; it is used once
	serverRetry time.Duration // the last retry: value the server sent
	hasRetry    bool
}

// newReconnectPolicy returns the policy of a stream that has not connected
// yet; a nil backoff means reconnectBackoff.
func newReconnectPolicy(backoff func(int) time.Duration, maxFailures int) reconnectPolicy {
	if backoff == nil {
		backoff = reconnectBackoff
	}
	return reconnectPolicy{backoff: backoff, max: maxFailures, healthyAt: healthyConnection, now: time.Now}
}

// reconnectBackoff is a stream's default wait before reconnect attempt n
// (0-based, counting consecutive failures). The first attempt after a drop
// waits a uniformly random time between 0 and initialBackoff ("full
// jitter"), so that streams a server dropped together come back spread over
// that whole window rather than at once, and a single stream waits a
// quarter of a second on average. Later attempts wait as calls retry:
// defaultBackoff(n).
func reconnectBackoff(n int) time.Duration {
	if n == 0 {
		return time.Duration(mrand.Int64N(int64(initialBackoff) + 1))
	}
	return defaultBackoff(n)
}

// dropped records why the current connection ended and how long it lasted.
func (p *reconnectPolicy) dropped(reason error, lasted time.Duration) {
	if lasted >= p.healthyAt {
		p.progress = true // a long-lived connection was healthy
	}
	p.lastErr = reason
}

// nextConnection counts the connection that just ended: one that made
// progress resets the count of consecutive failures, any other adds one.
func (p *reconnectPolicy) nextConnection() {
	if p.progress {
		p.failures = 0
	} else {
		p.failures++
	}
	p.progress = false
}

// failed counts a connection attempt that failed with err.
func (p *reconnectPolicy) failed(err error) {
	p.lastErr = err
	p.failures++
}

// refused records the Retry-After of a refusal worth another attempt.
func (p *reconnectPolicy) refused(after time.Duration) {
	p.retryAfter, p.hasAfter = after, true
}

// setServerRetry records the server's retry: value.
func (p *reconnectPolicy) setServerRetry(d time.Duration) {
	p.serverRetry, p.hasRetry = d, true
}

// exhausted reports whether the budget of consecutive failures is spent.
func (p *reconnectPolicy) exhausted() bool { return p.failures >= p.max }

// lastFailure is the error of the last failure, io.ErrUnexpectedEOF when
// none was recorded.
func (p *reconnectPolicy) lastFailure() error {
	if p.lastErr == nil {
		return io.ErrUnexpectedEOF
	}
	return p.lastErr
}

// delay is the wait before the next attempt: a Retry-After the server sent
// with its last refusal, else the client's backoff, growing with
// consecutive failures. A retry: value from the server replaces the
// backoff's base: it doubles with each consecutive failure up to 8 s (or the
// value itself when larger, at most a minute), less a random quarter.
func (p *reconnectPolicy) delay() time.Duration {
	if p.hasAfter { // Retry-After: 0 means at once
		p.hasAfter = false
		return p.retryAfter
	}
	n := min(p.failures, 6)
	if !p.hasRetry {
		return p.backoff(n)
	}
	base := min(p.serverRetry, maxRetryAfter)
	d := min(base<<n, max(base, maxBackoff))
	return d - time.Duration(mrand.Int64N(int64(d/4)+1))
}

// handleReadError decides what a failed read means: nil to reconnect, or
// the error that ends the stream.
func (s *Stream) handleReadError(err error) error {
	reason := err
	if s.conn.idleExpired() {
		reason = fmt.Errorf("no data for %s", s.params.IdleTimeout)
	}
	lasted := s.policy.now().Sub(s.conn.since)
	s.closeConn()
	switch {
	case s.ctx.Err() != nil:
		return nil // Next reports the context's error
	case errors.Is(err, sse.ErrEventTooLarge):
		return fmt.Errorf("%w (limit %d bytes)", ErrEventTooLarge, s.params.MaxEventSize)
	case s.params.NoResume:
		if errors.Is(err, io.EOF) || errors.Is(err, sse.ErrTruncated) {
			return io.ErrUnexpectedEOF
		}
		return reason
	}
	s.policy.dropped(reason, lasted)
	s.log("qoder: stream dropped", slog.String("reason", reason.Error()), slog.String("last_event_id", s.resume.cursor))
	return nil
}

// reconnect connects again after a drop.
func (s *Stream) reconnect() error {
	s.policy.nextConnection()
	return s.connect(false)
}

// connect makes connection attempts until one succeeds, one fails for
// good, or the budget of consecutive failures is spent. It returns nil
// when ctx ends (Next reports that). The caller holds readMu.
func (s *Stream) connect(first bool) error {
	for {
		if !first {
			if s.policy.exhausted() {
				last := s.policy.lastFailure()
				s.log("qoder: stream giving up", append(failureAttrs(last), slog.Int("failures", s.policy.failures))...)
				return fmt.Errorf("%w after %d consecutive failed attempts: %w", ErrStreamGaveUp, s.policy.failures, last)
			}
			delay := s.policy.delay()
			s.log("qoder: stream reconnecting", append(failureAttrs(s.policy.lastErr), slog.Int("failures", s.policy.failures),
				slog.Duration("delay", delay), slog.String("last_event_id", s.resume.cursor))...)
			if err := sleepCtx(s.ctx, delay); err != nil {
				return nil
			}
		}
		first = false
		retry, err := s.open()
		err = s.client.redact.error(err)
		if err == nil {
			return nil
		}
		if s.ctx.Err() != nil {
			return nil
		}
		if !retry {
			return err
		}
		s.policy.failed(err)
	}
}

// failureAttrs describes why the last attempt failed, for the log: the
// error, and the status when the server refused it.
func failureAttrs(err error) []slog.Attr {
	if err == nil {
		return nil
	}
	attrs := []slog.Attr{slog.String("reason", err.Error())}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		attrs = append(attrs, slog.Int("status", apiErr.StatusCode))
	}
	return attrs
}
