package qoder

import (
	"net/http"
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
