package qoder

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry timing.
const (
	initialBackoff = 500 * time.Millisecond
	maxBackoff     = 8 * time.Second
	maxRetryAfter  = 60 * time.Second
)

// shouldRetry decides whether an attempt that ended with resp or err is
// worth another try, and says why. GET, HEAD, PUT, DELETE and POSTs that
// carry an Idempotency-Key are retried on connection errors, 408, 429 and
// 5xx; other 4xx are final, and so are a redirect the client refused to
// follow and a middleware that broke its contract. An x-should-retry header overrides the status rule for every
// status but 409, which is always final: on this API a 409 is a stale agent
// version, an idempotency key reused with another body, a duplicate or a
// state that does not allow the call, and replaying the same request cannot
// fix any of them (the caller must read the state first), whatever a proxy
// or the server's header says.
func shouldRetry(method string, keyed bool, resp *http.Response, err error) (bool, string) {
	replayable := keyed || isIdempotentMethod(method)
	if errors.Is(err, errRedirect) {
		return false, "a refused redirect is final"
	}
	if errors.Is(err, ErrMiddleware) {
		return false, "a middleware that broke its contract is final"
	}
	if err != nil {
		if !replayable {
			return false, "connection error on a request that is not safe to replay"
		}
		return true, "connection error: " + redactURLError(err).Error()
	}
	if resp.StatusCode == http.StatusConflict {
		return false, "status 409 is final: a conflict needs a fresh read, not a replay"
	}
	switch strings.ToLower(resp.Header.Get("X-Should-Retry")) {
	case "true":
		return replayable, "server asked for a retry (x-should-retry: true)"
	case "false":
		return false, "server asked not to retry (x-should-retry: false)"
	}
	code := resp.StatusCode
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		if !replayable {
			return false, "status " + strconv.Itoa(code) + " on a request that is not safe to replay"
		}
		return true, "status " + strconv.Itoa(code)
	}
	return false, "status " + strconv.Itoa(code) + " is final"
}

// isIdempotentMethod reports whether repeating method cannot change the
// result.
func isIdempotentMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// retryDelay returns the wait before retry number attempt (0-based): the
// response's Retry-After-Ms or Retry-After (seconds or an HTTP date),
// capped at a minute, else backoff(attempt), or defaultBackoff(attempt)
// when backoff is nil.
func retryDelay(resp *http.Response, attempt int, backoff func(int) time.Duration) time.Duration {
	if d, ok := retryAfter(resp, time.Now()); ok {
		return d
	}
	if backoff == nil {
		backoff = defaultBackoff
	}
	return backoff(attempt)
}

// retryAfter parses the server's requested delay, if any: Retry-After-Ms,
// else Retry-After in seconds or as an HTTP date. Every delay is clamped
// into [0, maxRetryAfter] before it becomes a time.Duration, so that no
// value (1e300, Inf, a date in year 9999) can overflow into a negative wait.
// A negative or NaN number is no delay.
func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	if d, ok := parseDelay(resp.Header.Get("Retry-After-Ms"), time.Millisecond); ok {
		return d, true
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if d, ok := parseDelay(v, time.Second); ok {
		return d, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return min(max(at.Sub(now), 0), maxRetryAfter), true // Sub saturates
	}
	return 0, false
}

// parseDelay parses v as a number of units, clamped to maxRetryAfter.
func parseDelay(v string, unit time.Duration) (time.Duration, bool) {
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // out of range parses as ±Inf
		return 0, false
	}
	switch {
	case math.IsNaN(n) || n < 0:
		return 0, false
	case n >= float64(maxRetryAfter/unit):
		return maxRetryAfter, true
	}
	return time.Duration(n * float64(unit)), true
}

// defaultBackoff is exponential backoff with jitter: 0.5 s doubling each
// attempt up to 8 s, less a random quarter.
func defaultBackoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt < 5 {
		d = min(initialBackoff<<attempt, maxBackoff)
	}
	jitter := time.Duration(mrand.Int64N(int64(d/4) + 1))
	return d - jitter
}

// newIdempotencyKey returns a random UUID v4 string.
func newIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
