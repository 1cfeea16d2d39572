package qoder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrRequestTimeout matches the error of an attempt that ran out of the
// time [WithRequestTimeout] gives it. The error matches
// context.DeadlineExceeded too; the call's own context did not end.
var ErrRequestTimeout = errors.New("qoder: request timeout")

// errAttemptTimeout is the cancel cause of an attempt that ran out of time.
var errAttemptTimeout = errors.New("the request timeout struck")

// attemptTimer bounds one attempt with the call's request timeout: when
// the time is up, it cancels the attempt's context. A nil *attemptTimer
// (no timeout) never strikes.
type attemptTimer struct {
	d      time.Duration
	timer  *time.Timer
	cancel context.CancelCauseFunc
}

// startAttempt returns the context of one attempt of a call with timeout
// d, and its timer: ctx itself and nil when d is not positive.
func startAttempt(ctx context.Context, d time.Duration) (context.Context, *attemptTimer) {
	if d <= 0 {
		return ctx, nil
	}
	actx, cancel := context.WithCancelCause(ctx)
	return actx, newAttemptTimer(d, cancel)
}

// newAttemptTimer starts a timer that calls cancel after d; nil when d is
// not positive.
func newAttemptTimer(d time.Duration, cancel context.CancelCauseFunc) *attemptTimer {
	if d <= 0 {
		return nil
	}
	return &attemptTimer{d: d, cancel: cancel, timer: time.AfterFunc(d, func() { cancel(errAttemptTimeout) })}
}

// stop stops the timer and reports whether it struck.
func (t *attemptTimer) stop() (struck bool) {
	return t != nil && !t.timer.Stop()
}

// release stops the timer and ends the attempt's context.
func (t *attemptTimer) release() {
	if t != nil {
		t.timer.Stop()
		t.cancel(nil)
	}
}

// closeWith returns body, which now bounds the attempt's context in place
// of the stopped timer: closing it ends the context.
func (t *attemptTimer) closeWith(body io.ReadCloser) io.ReadCloser {
	if t == nil {
		return body
	}
	return &cancelOnClose{ReadCloser: body, cancel: t.cancel}
}

// err is the error of an attempt the timer cut short.
func (t *attemptTimer) err() error { return &timeoutError{d: t.d} }

// timeoutError is the error of an attempt that ran out of time. It matches
// ErrRequestTimeout and context.DeadlineExceeded.
type timeoutError struct{ d time.Duration }

// Error says how long the attempt was given.
func (e *timeoutError) Error() string {
	return fmt.Sprintf("the attempt took longer than the request timeout of %s", e.d)
}

// Is reports whether target is ErrRequestTimeout or
// context.DeadlineExceeded.
func (e *timeoutError) Is(target error) bool {
	return target == ErrRequestTimeout || target == context.DeadlineExceeded
}

// Timeout reports true, as net.Error timeouts do.
func (e *timeoutError) Timeout() bool { return true }
