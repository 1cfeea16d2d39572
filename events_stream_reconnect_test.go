package qoder

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReconnectBackoff_fullJitterFirst: the first reconnect after a drop
// waits a uniformly random time in [0, 500 ms]; later attempts wait as
// calls retry.
func TestReconnectBackoff_fullJitterFirst(t *testing.T) {
	const draws, buckets = 5000, 10
	var hist [buckets]int
	var sum time.Duration
	for range draws {
		d := reconnectBackoff(0)
		require.GreaterOrEqual(t, d, time.Duration(0))
		require.LessOrEqual(t, d, initialBackoff)
		hist[min(int(d*buckets/initialBackoff), buckets-1)]++
		sum += d
	}
	// Each 50 ms bucket expects 500 draws (standard deviation about 21).
	for i, n := range hist {
		assert.InDelta(t, draws/buckets, n, 150, "bucket %d of 50 ms: the draws spread over the whole window", i)
	}
	assert.InDelta(t, float64(initialBackoff/2), float64(sum/draws), float64(25*time.Millisecond), "a quarter of a second on average")

	for attempt := 1; attempt < 8; attempt++ {
		lo, hi := defaultBackoff(attempt), defaultBackoff(attempt)
		for range 50 {
			d := reconnectBackoff(attempt)
			lo, hi = min(lo, d), max(hi, d)
		}
		base := min(initialBackoff<<attempt, maxBackoff)
		assert.GreaterOrEqual(t, lo, base*3/4, "attempt %d", attempt)
		assert.LessOrEqual(t, hi, base, "attempt %d", attempt)
	}
}

// TestNewClient_backoffDefaults: a client's streams reconnect with
// reconnectBackoff and its calls retry with defaultBackoff.
func TestNewClient_backoffDefaults(t *testing.T) {
	c, err := NewClient(WithToken(testToken))
	require.NoError(t, err)
	p := newStream(t.Context(), c, &preparedRequest{}, (*StreamParams)(nil).withDefaults(), "").policy
	callLo, streamLo := time.Duration(1<<62), time.Duration(1<<62)
	for range 200 {
		streamLo = min(streamLo, p.delay())
		callLo = min(callLo, retryDelay(&http.Response{}, 0, c.backoff))
	}
	assert.Less(t, streamLo, initialBackoff*3/4, "a stream's first reconnect is fully jittered")
	assert.GreaterOrEqual(t, callLo, initialBackoff*3/4, "a call's first retry keeps its jitter of a quarter")
}

func TestStream_reconnectErrors(t *testing.T) {
	for _, tt := range []struct {
		status   int
		sentinel error
	}{
		{http.StatusUnauthorized, ErrAuthentication},
		{http.StatusNotFound, ErrNotFound},
		{http.StatusForbidden, ErrPermission},
	} {
		t.Run(fmt.Sprintf("%d ends the stream", tt.status), func(t *testing.T) {
			c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 0 {
					sseStart(w)
					sseWrite(w, sseEvents(1, 2)...)
					abort()
				}
				serveJSON(t, w, tt.status, `{"type":"error","error":{"type":"","message":"refused"}}`)
			})
			s := openTestStream(t, t.Context(), c, nil)
			evs := collectStream(t, s, streamWait)
			assert.Equal(t, idRange(1, 2), eventIDs(evs))
			err := s.Err()
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.ErrorIs(t, err, tt.sentinel)
			assert.NotErrorIs(t, err, ErrStreamGaveUp)
			assert.Equal(t, []string{"", "evt_2"}, rr.lastEventIDs(), "no retry after a 4xx")
		})
	}

	t.Run("503 with Retry-After then 200 continues, and each reconnect is logged with its reason", func(t *testing.T) {
		logs := &streamLogRecorder{}
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			switch n {
			case 0:
				sseStart(w)
				sseWrite(w, sseEvents(1, 2)...)
				abort()
			case 1:
				w.Header().Set("Retry-After", "0.05")
				w.Header().Set("X-Request-Id", r.Header.Get("Authorization")) // an echo must not reach the log
				serveJSON(t, w, http.StatusServiceUnavailable, `{"type":"error","error":{"type":"api_error","message":"busy"}}`)
			default:
				sseStart(w)
				sseWrite(w, sseEvent("evt_2", EventTypeSessionUpdated), sseEvent("evt_3", EventTypeSessionUpdated), terminatedFrame("evt_4"))
			}
		}, WithLogger(slog.New(logs)))
		s := openTestStream(t, t.Context(), c, nil)
		assert.Equal(t, idRange(1, 4), eventIDs(collectStream(t, s, streamWait)))
		assert.NoError(t, s.Err())
		var reconnects []string
		for _, m := range logs.messages() {
			if strings.HasPrefix(m, "qoder: stream reconnecting") {
				reconnects = append(reconnects, m)
			}
			assert.NotContains(t, m, testToken)
		}
		require.Len(t, reconnects, 2)
		assert.Contains(t, reconnects[0], "reason=", "the drop")
		assert.Contains(t, reconnects[1], "reason=qoder: GET /sessions/"+streamSessionID+"/events/stream: 503 api_error: busy")
		assert.Contains(t, reconnects[1], "status=503")
		reqs := rr.list()
		require.Len(t, reqs, 3)
		assert.Equal(t, []string{"", "evt_2", "evt_2"}, rr.lastEventIDs())
		assert.GreaterOrEqual(t, reqs[2].at.Sub(reqs[1].at), 50*time.Millisecond, "Retry-After is honoured")
	})

	t.Run("gives up after MaxReconnects", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				sseStart(w)
				sseWrite(w, sseEvents(1, 1)...)
				abort()
			}
			serveJSON(t, w, http.StatusBadGateway, `<html><body>Bad Gateway</body></html>`)
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{MaxReconnects: 2})
		assert.Equal(t, idRange(1, 1), eventIDs(collectStream(t, s, streamWait)))
		err := s.Err()
		assert.ErrorIs(t, err, ErrStreamGaveUp)
		assert.Contains(t, err.Error(), "2 consecutive failed attempts")
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusBadGateway, apiErr.StatusCode)
		assert.Contains(t, apiErr.Message, "HTML")
		assert.Equal(t, 3, rr.count(), "the first connection, then 2 failed attempts")
	})

	t.Run("connections that deliver nothing count as failures", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, ": heartbeat\n\n")
			abort()
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{MaxReconnects: 3})
		assert.Empty(t, collectStream(t, s, streamWait))
		err := s.Err()
		assert.ErrorIs(t, err, ErrStreamGaveUp)
		assert.Equal(t, 3, rr.count())
	})
}

// ---------------------------------------------------------------------------
// Idle watchdog

func TestStream_reconnectDelay(t *testing.T) {
	backoff := func(n int) time.Duration { return time.Duration(n+1) * time.Second }
	type bounds struct{ lo, hi time.Duration }
	jittered := func(d time.Duration) bounds { return bounds{d - d/4, d} }
	for _, tt := range []struct {
		name       string
		failures   int
		retry      time.Duration // the server's retry: value; 0 with hasRetry false means none
		hasRetry   bool
		retryAfter time.Duration
		hasAfter   bool
		want       bounds
	}{
		{name: "client backoff", failures: 0, want: bounds{time.Second, time.Second}},
		{name: "client backoff grows", failures: 3, want: bounds{4 * time.Second, 4 * time.Second}},
		{name: "client backoff growth is capped", failures: 50, want: bounds{7 * time.Second, 7 * time.Second}},
		{name: "Retry-After wins", failures: 2, retryAfter: 1500 * time.Millisecond, hasAfter: true, retry: time.Millisecond, hasRetry: true, want: bounds{1500 * time.Millisecond, 1500 * time.Millisecond}},
		{name: "Retry-After 0 means at once", failures: 3, retryAfter: 0, hasAfter: true, want: bounds{0, 0}},
		{name: "retry replaces the base", failures: 0, retry: 100 * time.Millisecond, hasRetry: true, want: jittered(100 * time.Millisecond)},
		{name: "retry doubles per failure", failures: 2, retry: 100 * time.Millisecond, hasRetry: true, want: jittered(400 * time.Millisecond)},
		{name: "retry growth stops at 8 s", failures: 6, retry: 500 * time.Millisecond, hasRetry: true, want: jittered(8 * time.Second)},
		{name: "retry growth stops after 6 doublings", failures: 40, retry: 10 * time.Millisecond, hasRetry: true, want: jittered(640 * time.Millisecond)},
		{name: "a large retry is kept, not grown", failures: 3, retry: 20 * time.Second, hasRetry: true, want: jittered(20 * time.Second)},
		{name: "a huge retry is capped at a minute", failures: 5, retry: 1 << 62, hasRetry: true, want: jittered(time.Minute)},
		{name: "retry 0 reconnects at once", failures: 4, retry: 0, hasRetry: true, want: bounds{0, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 { // the jitter is random
				p := &reconnectPolicy{backoff: backoff, failures: tt.failures, retryAfter: tt.retryAfter, hasAfter: tt.hasAfter, serverRetry: tt.retry, hasRetry: tt.hasRetry}
				got := p.delay()
				assert.GreaterOrEqual(t, got, tt.want.lo)
				assert.LessOrEqual(t, got, tt.want.hi)
				if tt.hasAfter {
					assert.False(t, p.hasAfter, "Retry-After is used once")
				}
				if tt.hasAfter && !tt.hasRetry {
					assert.Equal(t, time.Duration(tt.failures+1)*time.Second, p.delay(), "then the backoff again")
				}
			}
		})
	}
}

// TestStream_retryField checks that a retry: field sets the reconnect delay
// for later connections too (the test client's own backoff is zero).
func TestStream_retryField(t *testing.T) {
	var dropped [2]time.Time
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		switch n {
		case 0:
			sseWrite(w, "retry: 80\n\n", sseEvent("evt_1", EventTypeSessionUpdated))
		case 1:
			sseWrite(w, sseEvent("evt_2", EventTypeSessionUpdated)) // no retry: field
		default:
			sseWrite(w, terminatedFrame("evt_3"))
			return
		}
		dropped[n] = time.Now()
		abort()
	})
	s := openTestStream(t, t.Context(), c, nil)
	assert.Equal(t, idRange(1, 3), eventIDs(collectStream(t, s, streamWait)))
	reqs := rr.list()
	require.Len(t, reqs, 3)
	assert.GreaterOrEqual(t, reqs[1].at.Sub(dropped[0]), 60*time.Millisecond, "retry: 80 less at most a quarter")
	assert.GreaterOrEqual(t, reqs[2].at.Sub(dropped[1]), 60*time.Millisecond, "the retry: value outlives its connection")
}

// TestStream_backoffResetsAfterProgress alternates connections that deliver
// an event and drop with refusals. With a budget of 2 consecutive failures
// the stream survives any number of such cycles, because each delivered
// event resets the count.
func TestStream_backoffResetsAfterProgress(t *testing.T) {
	const cycles = 25
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case n == 2*cycles:
			sseStart(w)
			sseWrite(w, terminatedFrame(fmt.Sprintf("evt_%d", cycles+1)))
		case n%2 == 0:
			sseStart(w)
			sseWrite(w, sseEvent(fmt.Sprintf("evt_%d", n/2+1), EventTypeSessionUpdated))
			abort()
		default:
			serveJSON(t, w, http.StatusServiceUnavailable, `{"type":"error","error":{"type":"api_error","message":"busy"}}`)
		}
	})
	s := openTestStream(t, t.Context(), c, &StreamParams{MaxReconnects: 2})
	assert.Equal(t, idRange(1, cycles+1), eventIDs(collectStream(t, s, streamWait)))
	assert.NoError(t, s.Err())
	assert.Equal(t, 2*cycles+1, rr.count())
}

// TestStream_healthyConnectionResetsFailures: a connection that stays up
// long enough counts as healthy although it delivered only heartbeats (an
// idle session), so routine drops of such connections never exhaust the
// budget. The stream's clock is replaced, so how long a connection lasted
// does not depend on the machine's load.
func TestStream_healthyConnectionResetsFailures(t *testing.T) {
	const cycles = 6
	run := func(t *testing.T, lasts time.Duration) (*Stream, *streamReqs) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			if n == cycles {
				sseWrite(w, terminatedFrame("evt_1"))
				return
			}
			sseWrite(w, ": heartbeat\n\n")
			abort()
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{MaxReconnects: 2})
		s.policy.healthyAt = time.Minute
		var ticks atomic.Int64 // every reading of the clock is lasts later than the one before
		start := time.Now()
		s.policy.now = func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * lasts) }
		collectStream(t, s, streamWait)
		return s, rr
	}
	t.Run("long-lived connections", func(t *testing.T) {
		s, rr := run(t, time.Hour)
		assert.NoError(t, s.Err())
		assert.Equal(t, cycles+1, rr.count())
	})
	t.Run("short-lived connections", func(t *testing.T) {
		s, rr := run(t, 0)
		assert.ErrorIs(t, s.Err(), ErrStreamGaveUp)
		assert.Equal(t, 2, rr.count())
	})
}

// TestStream_headersOnEveryAttempt checks the headers of the first request
// and of every reconnect.
func TestStream_headersOnEveryAttempt(t *testing.T) {
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		if n < 2 {
			sseWrite(w, sseEvent(fmt.Sprintf("evt_%d", n+1), EventTypeSessionUpdated))
			abort()
		}
		sseWrite(w, terminatedFrame("evt_3"))
	}, WithHeader("X-Custom", "yes"))
	s := openTestStream(t, t.Context(), c, nil)
	collectStream(t, s, streamWait)
	reqs := rr.list()
	require.Len(t, reqs, 3)
	for i, r := range reqs {
		assert.Equal(t, "Bearer "+testToken, r.header.Get("Authorization"), "request %d", i+1)
		assert.Equal(t, "text/event-stream", r.header.Get("Accept"))
		assert.Equal(t, "no-cache", r.header.Get("Cache-Control"))
		assert.True(t, strings.HasPrefix(r.header.Get("User-Agent"), "qoder-go/"), r.header.Get("User-Agent"))
		assert.Equal(t, "yes", r.header.Get("X-Custom"))
		assert.Empty(t, r.header.Get("Idempotency-Key"))
	}
	assert.Equal(t, []string{"", "evt_1", "evt_2"}, rr.lastEventIDs())
}

func TestStream_logsReconnects(t *testing.T) {
	logs := &streamLogRecorder{}
	c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		if n == 0 {
			sseWrite(w, sseEvents(1, 2)...)
			abort()
		}
		sseWrite(w, terminatedFrame("evt_3"))
	}, WithLogger(slog.New(logs)))
	s := openTestStream(t, t.Context(), c, nil)
	collectStream(t, s, streamWait)
	require.NoError(t, s.Err())
	msgs := strings.Join(logs.messages(), "\n")
	assert.Contains(t, msgs, "qoder: stream dropped")
	assert.Contains(t, msgs, "last_event_id=evt_2")
	assert.Contains(t, msgs, "qoder: stream reconnecting")
	assert.Contains(t, msgs, "path=/sessions/"+streamSessionID+"/events/stream")
	assert.NotContains(t, msgs, testToken)
}
