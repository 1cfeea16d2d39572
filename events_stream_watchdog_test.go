package qoder

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// watchdogTimeout is the idle timeout of the watchdog tests whose good
// connections must answer within it: long enough that a loaded machine's
// scheduling delays do not pass for silence.
const watchdogTimeout = 250 * time.Millisecond

func TestStream_idleTimeout(t *testing.T) {
	t.Run("silence after an event reconnects", func(t *testing.T) {
		released := make(chan struct{})
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			if n == 0 {
				sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
				<-r.Context().Done() // silent until the client gives up on us
				close(released)
				return
			}
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning), sseEvent("evt_2", EventTypeSessionUpdated), terminatedFrame("evt_3"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{IdleTimeout: watchdogTimeout})
		assert.Equal(t, idRange(1, 3), eventIDs(collectStream(t, s, streamWait)))
		assert.NoError(t, s.Err())
		assert.Equal(t, []string{"", "evt_1"}, rr.lastEventIDs())
		select {
		case <-released:
		case <-time.After(streamWait):
			t.Fatal("the silent connection was never closed")
		}
	})

	t.Run("heartbeats keep the connection alive", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			// Heartbeats for twice the idle timeout; gaps of up to 240 ms
			// between them (a loaded machine) still keep the connection.
			for start := time.Now(); time.Since(start) < 2*watchdogTimeout; {
				select {
				case <-tick.C:
					sseWrite(w, ": heartbeat\n\n")
				case <-r.Context().Done():
					return
				}
			}
			sseWrite(w, terminatedFrame("evt_2"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{IdleTimeout: watchdogTimeout})
		assert.Equal(t, idRange(1, 2), eventIDs(collectStream(t, s, streamWait)))
		assert.NoError(t, s.Err())
		assert.Equal(t, 1, rr.count())
	})

	t.Run("no headers at open", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				<-r.Context().Done() // never answers
				return
			}
			sseStart(w)
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning), terminatedFrame("evt_2"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{IdleTimeout: watchdogTimeout})
		assert.Equal(t, idRange(1, 2), eventIDs(collectStream(t, s, streamWait)))
		assert.Equal(t, 2, rr.count())
	})

	t.Run("no headers on reconnect", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			switch n {
			case 0:
				sseStart(w)
				sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
				abort()
			case 1:
				<-r.Context().Done()
				return
			}
			sseStart(w)
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning), terminatedFrame("evt_2"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{IdleTimeout: watchdogTimeout})
		assert.Equal(t, idRange(1, 2), eventIDs(collectStream(t, s, streamWait)))
		assert.Equal(t, []string{"", "evt_1", "evt_1"}, rr.lastEventIDs())
	})

	t.Run("a server that never answers gives up", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			<-r.Context().Done()
		})
		start := time.Now()
		s, err := c.Events.Stream(streamCtx(t), streamSessionID, &StreamParams{IdleTimeout: 30 * time.Millisecond, MaxReconnects: 2})
		assert.Nil(t, s)
		assert.ErrorIs(t, err, ErrStreamGaveUp)
		assert.ErrorContains(t, err, "no response within 30ms")
		assert.Less(t, time.Since(start), 5*time.Second)
		assert.Equal(t, 2, rr.count())
	})

	t.Run("a stalled error body is covered too", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				sseWrite(w, `{"type":"error",`) // and then nothing
				<-r.Context().Done()
				return
			}
			sseStart(w)
			sseWrite(w, terminatedFrame("evt_1"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{IdleTimeout: watchdogTimeout})
		assert.Equal(t, idRange(1, 1), eventIDs(collectStream(t, s, streamWait)))
		assert.Equal(t, 2, rr.count())
	})
}

// ---------------------------------------------------------------------------
// Incremental mode

func TestStream_heartbeatsYieldNothing(t *testing.T) {
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		sseWrite(w, ": ping\n\n", ":\n\n", "event: heartbeat\ndata: {}\n\n")
		sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
		sseWrite(w, ": ping\n\n", ":\n\n", ": heartbeat\n\n", "event: heartbeat\ndata: {}\n\n", "event: ping\ndata: {}\n\n")
		sseWrite(w, terminatedFrame("evt_2"))
	})
	s := openTestStream(t, t.Context(), c, nil)
	assert.Equal(t, idRange(1, 2), eventIDs(collectStream(t, s, streamWait)))
	assert.NoError(t, s.Err())
	assert.Equal(t, 1, rr.count())
}
