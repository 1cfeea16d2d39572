package qoder

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func response(status int, headers ...string) *http.Response {
	h := make(http.Header)
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	return &http.Response{StatusCode: status, Header: h}
}

func TestShouldRetry(t *testing.T) {
	t.Parallel()
	connErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		name   string
		method string
		keyed  bool
		resp   *http.Response
		err    error
		want   bool
	}{
		{"GET connection error", "GET", false, nil, connErr, true},
		{"POST with key connection error", "POST", true, nil, connErr, true},
		{"POST without key connection error", "POST", false, nil, connErr, false},
		{"DELETE 500", "DELETE", false, response(500), nil, true},
		{"GET 502", "GET", false, response(502), nil, true},
		{"GET 503", "GET", false, response(503), nil, true},
		{"GET 408", "GET", false, response(408), nil, true},
		{"GET 429", "GET", false, response(429), nil, true},
		{"HEAD 504", "HEAD", false, response(504), nil, true},
		{"keyed POST 500", "POST", true, response(500), nil, true},
		{"keyed POST 429", "POST", true, response(429), nil, true},
		{"unkeyed POST 500", "POST", false, response(500), nil, false},
		{"GET 400", "GET", false, response(400), nil, false},
		{"GET 401", "GET", false, response(401), nil, false},
		{"GET 403", "GET", false, response(403), nil, false},
		{"GET 404", "GET", false, response(404), nil, false},
		{"keyed POST 409", "POST", true, response(409), nil, false},
		{"GET 409", "GET", false, response(409), nil, false},
		{"GET 200", "GET", false, response(200), nil, false},
		{"x-should-retry true on 400", "GET", false, response(400, "X-Should-Retry", "true"), nil, true},
		{"x-should-retry false on 503", "GET", false, response(503, "X-Should-Retry", "false"), nil, false},
		{"x-should-retry true on unkeyed POST", "POST", false, response(400, "X-Should-Retry", "true"), nil, false},
		{"x-should-retry true on GET 409", "GET", false, response(409, "X-Should-Retry", "true"), nil, false},
		{"x-should-retry true on keyed POST 409", "POST", true, response(409, "X-Should-Retry", "True"), nil, false},
		{"x-should-retry false on 409", "GET", false, response(409, "X-Should-Retry", "false"), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, reason := shouldRetry(tt.method, tt.keyed, tt.resp, tt.err)
			assert.Equal(t, tt.want, got, reason)
			assert.NotEmpty(t, reason)
		})
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	backoff := func(attempt int) time.Duration { return time.Duration(attempt+1) * time.Hour }
	tests := []struct {
		name    string
		resp    *http.Response
		attempt int
		want    time.Duration
		tol     time.Duration
	}{
		{"no response uses backoff", nil, 1, 2 * time.Hour, 0},
		{"no header uses backoff", response(503), 0, time.Hour, 0},
		{"Retry-After seconds", response(429, "Retry-After", "3"), 0, 3 * time.Second, 0},
		{"Retry-After zero", response(429, "Retry-After", "0"), 0, 0, 0},
		{"Retry-After capped", response(429, "Retry-After", "3600"), 0, time.Minute, 0},
		{"Retry-After-Ms wins", response(429, "Retry-After-Ms", "250", "Retry-After", "9"), 0, 250 * time.Millisecond, 0},
		{"Retry-After-Ms capped", response(429, "Retry-After-Ms", "900000"), 0, time.Minute, 0},
		{"Retry-After date in the past", response(503, "Retry-After", "Mon, 02 Jan 2006 15:04:05 GMT"), 0, 0, 0},
		{"Retry-After garbage uses backoff", response(503, "Retry-After", "soon"), 2, 3 * time.Hour, 0},
		{"negative Retry-After uses backoff", response(503, "Retry-After", "-5"), 0, time.Hour, 0},
		{"garbage Retry-After-Ms falls back to Retry-After", response(503, "Retry-After-Ms", "x", "Retry-After", "1"), 0, time.Second, 0},
		{"fractional Retry-After", response(503, "Retry-After", "0.25"), 0, 250 * time.Millisecond, 0},
		{"Retry-After of 10^10 seconds is capped", response(503, "Retry-After", "10000000000"), 0, time.Minute, 0},
		{"Retry-After 1e300 is capped", response(503, "Retry-After", "1e300"), 0, time.Minute, 0},
		{"Retry-After beyond float range is capped", response(503, "Retry-After", "1"+strings.Repeat("0", 400)), 0, time.Minute, 0},
		{"Retry-After Inf is capped", response(503, "Retry-After", "Inf"), 0, time.Minute, 0},
		{"Retry-After NaN uses backoff", response(503, "Retry-After", "NaN"), 0, time.Hour, 0},
		{"Retry-After-Ms Inf is capped", response(503, "Retry-After-Ms", "Inf"), 0, time.Minute, 0},
		{"Retry-After-Ms +Inf is capped", response(503, "Retry-After-Ms", "+Inf"), 0, time.Minute, 0},
		{"Retry-After-Ms -Inf falls back", response(503, "Retry-After-Ms", "-Inf", "Retry-After", "2"), 0, 2 * time.Second, 0},
		{"Retry-After-Ms NaN falls back", response(503, "Retry-After-Ms", "NaN"), 1, 2 * time.Hour, 0},
		{"Retry-After-Ms 1e300 is capped", response(503, "Retry-After-Ms", "1e300"), 0, time.Minute, 0},
		{"Retry-After-Ms max int64 is capped", response(503, "Retry-After-Ms", "9223372036854775807"), 0, time.Minute, 0},
		{"Retry-After-Ms 2^64 is capped", response(503, "Retry-After-Ms", "18446744073709551616"), 0, time.Minute, 0},
		{"Retry-After date in year 9999 is capped", response(503, "Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"), 0, time.Minute, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := retryDelay(tt.resp, tt.attempt, backoff)
			assert.InDelta(t, float64(tt.want), float64(got), float64(tt.tol))
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	d, ok := retryAfter(response(503, "Retry-After", now.Add(20*time.Second).Format(http.TimeFormat)), now)
	assert.True(t, ok)
	assert.Equal(t, 20*time.Second, d)
	d, ok = retryAfter(response(503, "Retry-After", now.Add(time.Hour).Format(http.TimeFormat)), now)
	assert.True(t, ok)
	assert.Equal(t, time.Minute, d, "capped")
}

func TestDefaultBackoff(t *testing.T) {
	t.Parallel()
	for attempt, base := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second} {
		for range 50 {
			d := defaultBackoff(attempt)
			assert.LessOrEqual(t, d, base, "attempt %d", attempt)
			assert.GreaterOrEqual(t, d, base*3/4, "attempt %d", attempt)
		}
	}
	assert.LessOrEqual(t, defaultBackoff(1000), 8*time.Second, "no overflow on large attempts")
}

func TestIdempotencyKeyFormat(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		k := newIdempotencyKey()
		assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, k)
		assert.False(t, seen[k])
		seen[k] = true
	}
}

func TestRetriesReplayBodyAndKey(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	rec := serveAfterFailures(t, mux, "POST /api-test/things", 2, http.StatusCreated, `{"ok":true}`, nil)
	var out struct{ OK bool }
	err := c.do(t.Context(), http.MethodPost, literalPath("things"), nil, map[string]string{"name": "<b>&"}, &out)
	require.NoError(t, err)
	assert.True(t, out.OK)
	assert.Equal(t, `{"name":"<b>&"}`, rec.assertReplayed(t, 3), "HTML is not escaped")
}

func TestRetryOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		method    string
		status    int
		header    []string
		opts      []RequestOption
		clientOpt []Option
		wantCalls int32
		wantIs    error
	}{
		{"503 exhausts the default 2 retries", "GET", 503, nil, nil, nil, 3, ErrServer},
		{"429 is retried", "GET", 429, nil, nil, nil, 3, ErrRateLimited},
		{"409 is never retried", "POST", 409, nil, nil, nil, 1, ErrConflict},
		{"404 is never retried", "GET", 404, nil, nil, nil, 1, ErrNotFound},
		{"400 is never retried", "POST", 400, nil, nil, nil, 1, ErrInvalidRequest},
		{"x-should-retry false stops", "GET", 500, []string{"X-Should-Retry", "false"}, nil, nil, 1, ErrServer},
		{"x-should-retry true retries a 400", "GET", 400, []string{"X-Should-Retry", "true"}, nil, nil, 3, ErrInvalidRequest},
		{"x-should-retry true does not retry a 409", "POST", 409, []string{"X-Should-Retry", "true"}, nil, nil, 1, ErrConflict},
		{"per-call max retries", "GET", 500, nil, []RequestOption{WithRequestMaxRetries(0)}, nil, 1, ErrServer},
		{"client max retries", "DELETE", 500, nil, nil, []Option{WithMaxRetries(4)}, 5, ErrServer},
		{"retries off", "GET", 500, nil, nil, []Option{WithMaxRetries(0)}, 1, ErrServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := newTestClient(t, tt.clientOpt...)
			var calls atomic.Int32
			mux.HandleFunc("/api-test/x", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				for i := 0; i+1 < len(tt.header); i += 2 {
					w.Header().Set(tt.header[i], tt.header[i+1])
				}
				serveJSON(t, w, tt.status, `{"type":"error","error":{"message":"no"}}`)
			})
			err := c.do(t.Context(), tt.method, literalPath("x"), nil, nil, nil, tt.opts...)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.wantIs)
			assert.Equal(t, tt.wantCalls, calls.Load())
		})
	}
}

func TestRetryOnDroppedConnection(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	var calls atomic.Int32
	mux.HandleFunc("GET /api-test/flaky", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			panic(http.ErrAbortHandler) // the connection drops without a response
		}
		serveJSON(t, w, 200, `{"id":"x"}`)
	})
	var out struct{ ID string }
	require.NoError(t, c.do(t.Context(), http.MethodGet, literalPath("flaky"), nil, nil, &out))
	assert.Equal(t, "x", out.ID)
	assert.EqualValues(t, 2, calls.Load())
}

func TestCancelDuringRetryWait(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	c.backoff = defaultBackoff
	served := make(chan struct{}, 1)
	mux.HandleFunc("GET /api-test/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		serveJSON(t, w, http.StatusServiceUnavailable, `{}`)
		served <- struct{}{}
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.do(ctx, http.MethodGet, literalPath("slow"), nil, nil, nil) }()
	<-served
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), 5*time.Second, "the 30 s wait must end with the context")
	case <-time.After(10 * time.Second):
		t.Fatal("do did not return after cancel")
	}
}

// TestHugeRetryAfterIsAWaitNotAnImmediateRetry: a delay that overflowed
// time.Duration used to come out negative, and the retry went at once.
func TestHugeRetryAfterIsAWaitNotAnImmediateRetry(t *testing.T) {
	t.Parallel()
	for _, h := range [][2]string{{"Retry-After", "1e300"}, {"Retry-After", "10000000000"}, {"Retry-After-Ms", "Inf"}, {"Retry-After-Ms", "1e300"}} {
		t.Run(h[0]+": "+h[1], func(t *testing.T) {
			t.Parallel()
			c, mux := newTestClient(t)
			var calls atomic.Int32
			mux.HandleFunc("GET /api-test/x", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set(h[0], h[1])
				serveJSON(t, w, http.StatusServiceUnavailable, `{}`)
			})
			// The capped wait is a minute: the context ends first, with no
			// second request.
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			err := c.do(ctx, http.MethodGet, literalPath("x"), nil, nil, nil)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.EqualValues(t, 1, calls.Load())
		})
	}
}
