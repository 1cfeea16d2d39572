package qoder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStream_cancelAndCloseLeaks ends a stream in every state it can be in.
// The channel must close within 100 ms, Err must say why, and every
// goroutine (the stream's, the transport's, the server's) must go away.
// It is not parallel: it counts the process's goroutines.
func TestStream_cancelAndCloseLeaks(t *testing.T) {
	const promptly = 100 * time.Millisecond
	// silent serves evt_1, then nothing until the client leaves.
	silent := func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
		<-r.Context().Done()
	}
	// flood serves events as fast as the client takes them.
	flood := func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		for i := 1; r.Context().Err() == nil; i++ {
			if _, err := io.WriteString(w, sseEvent(fmt.Sprintf("evt_%d", i), EventTypeSessionUpdated)); err != nil {
				return
			}
		}
	}
	// dropThen503 serves evt_1 and drops, then refuses for 30 s.
	dropThen503 := func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			sseStart(w)
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
			abort()
		}
		w.Header().Set("Retry-After", "30")
		serveJSON(t, w, http.StatusServiceUnavailable, `{"type":"error","error":{"type":"api_error","message":"busy"}}`)
	}
	// dropThenHang serves evt_1 and drops, then never answers.
	dropThenHang := func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			sseStart(w)
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
			abort()
		}
		<-r.Context().Done()
	}
	cause := errors.New("shutting down")

	for _, tt := range []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request, n int)
		// stop ends the stream once it is in the state under test.
		stop func(s *Stream, cancel context.CancelCauseFunc) error
		// wait brings the stream into the state under test.
		wait func(t *testing.T, s *Stream, ch <-chan Event, rr *streamReqs, logs *streamLogRecorder)
		want error
	}{
		{
			name:    "Close while connected",
			handler: silent,
			stop:    func(s *Stream, _ context.CancelCauseFunc) error { return s.Close() },
			want:    nil,
		},
		{
			name:    "cancel while connected",
			handler: silent,
			stop:    func(_ *Stream, cancel context.CancelCauseFunc) error { cancel(nil); return nil },
			want:    context.Canceled,
		},
		{
			name:    "cancel with a cause while connected",
			handler: silent,
			stop:    func(_ *Stream, cancel context.CancelCauseFunc) error { cancel(cause); return nil },
			want:    cause,
		},
		{
			name:    "cancel in reconnect backoff",
			handler: dropThen503,
			wait: func(t *testing.T, s *Stream, ch <-chan Event, rr *streamReqs, logs *streamLogRecorder) {
				waitRequest(t, rr, 1)
				waitBackoff(t, logs, 30*time.Second)
			},
			stop: func(_ *Stream, cancel context.CancelCauseFunc) error { cancel(nil); return nil },
			want: context.Canceled,
		},
		{
			name:    "Close in reconnect backoff",
			handler: dropThen503,
			wait: func(t *testing.T, s *Stream, ch <-chan Event, rr *streamReqs, logs *streamLogRecorder) {
				waitRequest(t, rr, 1)
				waitBackoff(t, logs, 30*time.Second)
			},
			stop: func(s *Stream, _ context.CancelCauseFunc) error { return s.Close() },
			want: nil,
		},
		{
			name:    "cancel while connecting",
			handler: dropThenHang,
			wait: func(t *testing.T, s *Stream, ch <-chan Event, rr *streamReqs, logs *streamLogRecorder) {
				waitRequest(t, rr, 1)
			},
			stop: func(_ *Stream, cancel context.CancelCauseFunc) error { cancel(nil); return nil },
			want: context.Canceled,
		},
		{
			name:    "consumer stopped reading, then cancel",
			handler: flood,
			stop:    func(_ *Stream, cancel context.CancelCauseFunc) error { cancel(nil); return nil },
			want:    context.Canceled,
		},
		{
			name:    "consumer stopped reading, then Close",
			handler: flood,
			stop:    func(s *Stream, _ context.CancelCauseFunc) error { return s.Close() },
			want:    nil,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := &streamLogRecorder{notify: make(chan slog.Record, 256)}
			c, rr := newStreamTest(t, tt.handler, WithLogger(slog.New(logs)))
			c.backoff = defaultBackoff
			waitGoroutines(t, c, runtime.NumGoroutine()) // settle
			baseline := runtime.NumGoroutine()

			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			s, err := c.Events.Stream(ctx, streamSessionID, nil)
			require.NoError(t, err)
			ch := s.Events()
			assert.Equal(t, "evt_1", receive(t, ch).EventID())
			if tt.wait != nil {
				tt.wait(t, s, ch, rr, logs)
			}

			stopped := time.Now()
			var stopErr error
			within(t, streamWait, "stopping the stream", func() { stopErr = tt.stop(s, cancel) })
			assert.NoError(t, stopErr)
			took := waitClosed(t, ch, stopped, streamWait)
			assert.Less(t, took, promptly, "the channel must close promptly")
			if tt.want == nil {
				assert.NoError(t, s.Err())
			} else {
				assert.ErrorIs(t, s.Err(), tt.want)
				assert.Equal(t, tt.want, s.Err(), "the context's own error, not a wrapper")
			}
			within(t, streamWait, "Close", func() {
				assert.NoError(t, s.Close(), "Close after the end is a no-op")
				assert.NoError(t, s.Close())
			})
			_, open := <-ch
			assert.False(t, open)
			waitGoroutines(t, c, baseline)
		})
	}

	t.Run("deadline", func(t *testing.T) {
		c, _ := newStreamTest(t, silent)
		baseline := runtime.NumGoroutine()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		s, err := c.Events.Stream(ctx, streamSessionID, nil)
		require.NoError(t, err)
		assert.Equal(t, []string{"evt_1"}, eventIDs(collectStream(t, s, streamWait)))
		assert.Equal(t, context.DeadlineExceeded, s.Err())
		waitGoroutines(t, c, baseline)
	})

	t.Run("pull form: cancel unblocks Next", func(t *testing.T) {
		c, _ := newStreamTest(t, silent)
		baseline := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s, err := c.Events.Stream(ctx, streamSessionID, nil)
		require.NoError(t, err)
		require.True(t, s.Next())
		done := make(chan bool)
		go func() { done <- s.Next() }()
		stopped := time.Now()
		cancel()
		select {
		case more := <-done:
			assert.False(t, more)
			assert.Less(t, time.Since(stopped), promptly)
		case <-time.After(streamWait):
			t.Fatal("Next still blocks after the cancel")
		}
		assert.Equal(t, context.Canceled, s.Err())
		assert.False(t, s.Next(), "Next stays false")
		waitGoroutines(t, c, baseline)
	})

	t.Run("cancel while Stream waits for the server", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
		baseline := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		type result struct {
			s   *Stream
			err error
		}
		done := make(chan result, 1)
		go func() {
			s, err := c.Events.Stream(ctx, streamSessionID, nil)
			done <- result{s, err}
		}()
		waitRequest(t, rr, 0)
		stopped := time.Now()
		cancel()
		select {
		case res := <-done:
			assert.Less(t, time.Since(stopped), promptly)
			assert.Nil(t, res.s)
			assert.Equal(t, context.Canceled, res.err)
		case <-time.After(streamWait):
			t.Fatal("Stream still blocks after the cancel")
		}
		waitGoroutines(t, c, baseline)
	})

	t.Run("cancel while Stream backs off", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Retry-After", "30")
			serveJSON(t, w, http.StatusServiceUnavailable, `{"type":"error","error":{"type":"api_error","message":"busy"}}`)
		})
		baseline := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := c.Events.Stream(ctx, streamSessionID, nil)
			done <- err
		}()
		waitRequest(t, rr, 0)
		cancel()
		select {
		case err := <-done:
			assert.Equal(t, context.Canceled, err)
		case <-time.After(streamWait):
			t.Fatal("Stream still blocks after the cancel")
		}
		assert.Equal(t, 1, rr.count())
		waitGoroutines(t, c, baseline)
	})
}

// TestStream_oneGoroutinePerStream: a stream read with Next runs no
// goroutine of the SDK, one read through Events runs one, and Close ends
// it. It is not parallel: it counts the process's goroutines.
func TestStream_oneGoroutinePerStream(t *testing.T) {
	c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		sseWrite(w, sseEvent("evt_1", EventTypeSessionUpdated))
		<-r.Context().Done()
	})
	waitGoroutines(t, c, runtime.NumGoroutine()) // settle
	baseline := runtime.NumGoroutine()
	require.Zero(t, sdkGoroutines())

	const n = 3
	var streams []*Stream
	for range n {
		s := openTestStream(t, t.Context(), c, nil)
		require.True(t, s.Next())
		streams = append(streams, s)
	}
	assert.Zero(t, sdkGoroutines(), "Next runs on the caller's goroutine")
	for _, s := range streams {
		ch := s.Events()
		require.Equal(t, ch, s.Events(), "one channel")
	}
	assert.Equal(t, n, sdkGoroutines(), "one goroutine per stream read through Events")
	for _, s := range streams {
		require.NoError(t, s.Close())
	}
	waitGoroutines(t, c, baseline)
	assert.Zero(t, sdkGoroutines())
}

// ---------------------------------------------------------------------------
// Framing and decoding (SSE.md §6.4)

func TestStream_concurrentStreams(t *testing.T) {
	c, mux := newTestClient(t)
	var reqs sync.Map // session id -> *atomic.Int32
	mux.HandleFunc("GET /api-test/sessions/{id}/events/stream", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		v, _ := reqs.LoadOrStore(id, new(atomic.Int32))
		n := v.(*atomic.Int32).Add(1) - 1
		sseStart(w)
		var frames []string
		for i := 1; i <= 50; i++ {
			frames = append(frames, sseEvent(fmt.Sprintf("%s_evt_%d", id, i), EventTypeSessionUpdated))
		}
		if n == 0 {
			sseWrite(w, frames[:20]...)
			abort()
		}
		if got, want := r.Header.Get("Last-Event-ID"), id+"_evt_20"; got != want {
			t.Errorf("%s: Last-Event-ID %q, want %q", id, got, want)
		}
		sseWrite(w, frames[19:]...)
		sseWrite(w, terminatedFrame(id+"_end"))
	})
	ctx := streamCtx(t)
	var wg sync.WaitGroup
	for _, id := range []string{"sess_a", "sess_b", "sess_c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.Events.Stream(ctx, id, nil)
			if !assert.NoError(t, err) {
				return
			}
			defer s.Close()
			var got []string
			for ev := range s.Events() {
				got = append(got, ev.EventID())
				_ = s.LastEventID() // read concurrently with the reader goroutine
				_ = s.Err()
			}
			assert.NoError(t, s.Err())
			var want []string
			for i := 1; i <= 50; i++ {
				want = append(want, fmt.Sprintf("%s_evt_%d", id, i))
			}
			assert.Equal(t, append(want, id+"_end"), got)
		}()
	}
	wg.Wait()
}

// TestStream_closeWhileBlockedInNext closes the stream only once Next is
// known to be blocked in a read.
func TestStream_closeWhileBlockedInNext(t *testing.T) {
	reading := make(chan struct{})
	c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		sseWrite(w, sseEvent("evt_1", EventTypeSessionUpdated))
		close(reading) // the client has the event; Next will block on the next read
		<-r.Context().Done()
	})
	s := openTestStream(t, t.Context(), c, nil)
	require.True(t, s.Next())
	<-reading
	done := make(chan bool)
	go func() { done <- s.Next() }()
	// Next is blocked in a read or about to be; give it every chance to
	// get there before Close, without relying on it.
	runtime.Gosched()
	closed := time.Now()
	within(t, streamWait, "Close", func() { assert.NoError(t, s.Close()) })
	select {
	case more := <-done:
		assert.False(t, more)
		assert.Less(t, time.Since(closed), 100*time.Millisecond)
	case <-time.After(streamWait):
		t.Fatal("Next still blocks after Close")
	}
	assert.NoError(t, s.Err())
	assert.Equal(t, "evt_1", s.LastEventID())
}

// ---------------------------------------------------------------------------
// Threads and logging
