package qoder

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStream_queryParams(t *testing.T) {
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		sseWrite(w, terminatedFrame("evt_1"))
	})
	s := openTestStream(t, t.Context(), c, &StreamParams{
		EventDeltas: []string{EventTypeAgentMessage, EventTypeAgentThinking},
		Types:       []string{EventTypeAgentMessage},
	})
	collectStream(t, s, streamWait)
	reqs := rr.list()
	require.Len(t, reqs, 1)
	assert.Equal(t, "event_deltas%5B%5D=agent.message&event_deltas%5B%5D=agent.thinking&types%5B%5D=agent.message", reqs[0].rawQuery)
	assert.Equal(t, "/api-test/sessions/"+streamSessionID+"/events/stream", reqs[0].path)
}

// ---------------------------------------------------------------------------
// Close, cancellation and goroutine leaks

// TestStream_transcripts serves each recorded edge-case transcript on the
// first connection and a terminal event on any reconnect.
func TestStream_transcripts(t *testing.T) {
	type want struct {
		ids     []string // ids of the delivered events
		types   []string // their EventType, when checked
		lastIDs []string // Last-Event-ID of each request
		err     func(t *testing.T, err error)
		check   func(t *testing.T, evs []Event)
	}
	textOf := func(t *testing.T, ev Event) string {
		t.Helper()
		msg, ok := ev.(*AgentMessageEvent)
		require.True(t, ok, "got %T", ev)
		return msg.Text()
	}
	for _, tt := range []struct {
		file string
		want want
	}{
		{"crlf.sse", want{
			ids:     idRange(1, 3),
			types:   []string{EventTypeSessionStatusRunning, EventTypeAgentMessage, EventTypeSessionStatusTerminated},
			lastIDs: []string{""},
			check:   func(t *testing.T, evs []Event) { assert.Equal(t, "crlf", textOf(t, evs[1])) },
		}},
		{"cr.sse", want{
			ids:     idRange(1, 3),
			types:   []string{EventTypeSessionStatusRunning, EventTypeAgentMessage, EventTypeSessionStatusTerminated},
			lastIDs: []string{""},
			check:   func(t *testing.T, evs []Event) { assert.Equal(t, "cr", textOf(t, evs[1])) },
		}},
		{"bom.sse", want{
			ids:     idRange(1, 2),
			types:   []string{EventTypeAgentMessage, EventTypeSessionDeleted},
			lastIDs: []string{""},
			check:   func(t *testing.T, evs []Event) { assert.Equal(t, "bom", textOf(t, evs[0])) },
		}},
		{"multiline_data.sse", want{
			ids:     idRange(1, 3),
			types:   []string{EventTypeAgentMessage, EventTypeSessionStatusIdle, EventTypeSessionStatusTerminated},
			lastIDs: []string{""},
			check: func(t *testing.T, evs []Event) {
				assert.Equal(t, "multi\nline", textOf(t, evs[0]))
				assert.Equal(t, "{\"id\":\"evt_1\",\n\n\"type\":\"agent.message\",\n \"content\":[{\"type\":\"text\",\"text\":\"multi\\nline\"}]}", string(evs[0].Raw()))
				assert.Equal(t, StopReasonEndTurn, evs[1].(*SessionStatusIdleEvent).StopReason.Type)
			},
		}},
		{"keepalive_comments.sse", want{
			// Heartbeats before and after the events yield nothing; the
			// clean EOF after them reconnects from evt_2.
			ids:     []string{"evt_1", "evt_2", "evt_9"},
			lastIDs: []string{"", "evt_2"},
		}},
		{"unknown_event.sse", want{
			ids:     []string{"evt_1", "evt_2", "evt_9"},
			types:   []string{"agent.brand_new", EventTypeSessionStatusRunning, EventTypeSessionStatusTerminated},
			lastIDs: []string{"", "evt_2"},
			check: func(t *testing.T, evs []Event) {
				u, ok := evs[0].(*UnknownEvent)
				require.True(t, ok, "got %T", evs[0])
				assert.Equal(t, "agent.brand_new", u.Type)
				assert.NoError(t, u.Err)
				assert.JSONEq(t, `{"id":"evt_1","type":"agent.brand_new","payload":{"x":1}}`, string(u.Data))
			},
		}},
		{"invalid_json.sse", want{
			ids:     []string{"evt_1", "", "evt_3", "evt_9"},
			types:   []string{EventTypeSessionStatusRunning, EventTypeAgentMessage, EventTypeSessionStatusIdle, EventTypeSessionStatusTerminated},
			lastIDs: []string{"", "evt_3"},
			check: func(t *testing.T, evs []Event) {
				u, ok := evs[1].(*UnknownEvent)
				require.True(t, ok, "got %T", evs[1])
				assert.Error(t, u.Err)
				assert.Equal(t, `{"id":"evt_2","type":"agent.message","content":[`, string(u.Data))
			},
		}},
		{"error_frame.sse", want{
			ids:     []string{"evt_1"},
			lastIDs: []string{""},
			err: func(t *testing.T, err error) {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, "overloaded_error", apiErr.Type)
				assert.Equal(t, "Overloaded", apiErr.Message)
				assert.Equal(t, "req_err_1", apiErr.RequestID)
				assert.Contains(t, err.Error(), "/sessions/"+streamSessionID+"/events/stream")
			},
		}},
		{"truncated.sse", want{
			// The cut event is never delivered; the reconnect resumes
			// from the one before it.
			ids:     []string{"evt_1", "evt_9"},
			lastIDs: []string{"", "evt_1"},
		}},
		{"done.sse", want{
			ids:     []string{"evt_1"},
			lastIDs: []string{""},
		}},
		{"fields.sse", want{
			// retry-only, id-only, event-only and malformed blocks yield
			// nothing; an id-only block is not a resume point.
			ids:     idRange(1, 3),
			types:   []string{EventTypeSessionStatusRunning, EventTypeSessionStatusIdle, EventTypeSessionStatusTerminated},
			lastIDs: []string{""},
		}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			data := fixture(t, filepath.Join("streams", tt.file))
			c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
				sseStart(w)
				if n == 0 {
					_, _ = w.Write(data)
					return
				}
				sseWrite(w, terminatedFrame("evt_9"))
			})
			s := openTestStream(t, t.Context(), c, nil)
			evs := collectStream(t, s, streamWait)
			assert.Equal(t, tt.want.ids, eventIDs(evs))
			if tt.want.types != nil {
				var types []string
				for _, ev := range evs {
					types = append(types, ev.EventType())
				}
				assert.Equal(t, tt.want.types, types)
			}
			assert.Equal(t, tt.want.lastIDs, rr.lastEventIDs())
			if tt.want.err != nil {
				tt.want.err(t, s.Err())
			} else {
				assert.NoError(t, s.Err())
			}
			if tt.want.check != nil && len(evs) == len(tt.want.ids) {
				tt.want.check(t, evs)
			}
		})
	}
}

func TestStream_http2(t *testing.T) {
	rr := &streamReqs{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rr.add(r)
		sseStart(w)
		if n == 0 {
			sseWrite(w, sseEvents(1, 3)...)
			abort() // resets the HTTP/2 stream
		}
		sseWrite(w, sseEvent("evt_3", EventTypeSessionUpdated), sseEvent("evt_4", EventTypeSessionUpdated), terminatedFrame("evt_5"))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL+"/api-test/"), WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	c.backoff = func(int) time.Duration { return 0 }

	s := openTestStream(t, t.Context(), c, nil)
	assert.Equal(t, idRange(1, 5), eventIDs(collectStream(t, s, streamWait)))
	assert.NoError(t, s.Err())
	reqs := rr.list()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		assert.Equal(t, 2, r.proto, "HTTP/2")
	}
	assert.Equal(t, []string{"", "evt_3"}, rr.lastEventIDs())

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		rr.mu.Lock()
		rr.reqs = nil
		rr.mu.Unlock()
		s, err := c.Events.Stream(ctx, streamSessionID, nil)
		require.NoError(t, err)
		ch := s.Events()
		receive(t, ch)
		stopped := time.Now()
		cancel()
		assert.Less(t, waitClosed(t, ch, stopped, streamWait), 100*time.Millisecond)
		assert.Equal(t, context.Canceled, s.Err())
	})
}

// ---------------------------------------------------------------------------
// The three ways to read

func TestStream_readForms(t *testing.T) {
	handler := func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		if n == 0 {
			sseWrite(w, sseEvents(1, 2)...)
			abort()
		}
		sseWrite(w, sseEvent("evt_2", EventTypeSessionUpdated), sseEvent("evt_3", EventTypeSessionUpdated), terminatedFrame("evt_4"))
	}

	t.Run("Next and Event", func(t *testing.T) {
		c, _ := newStreamTest(t, handler)
		s := openTestStream(t, t.Context(), c, nil)
		assert.Empty(t, s.LastEventID())
		var ids, lastIDs []string
		for s.Next() {
			ids = append(ids, s.Event().EventID())
			lastIDs = append(lastIDs, s.LastEventID())
		}
		require.NoError(t, s.Err())
		assert.Equal(t, idRange(1, 4), ids)
		assert.Equal(t, idRange(1, 4), lastIDs, "LastEventID follows every delivered event")
		assert.False(t, s.Next())
		_, open := <-s.Events()
		assert.False(t, open, "Events after the end is a closed channel")
	})

	t.Run("All", func(t *testing.T) {
		c, _ := newStreamTest(t, handler)
		s := openTestStream(t, t.Context(), c, nil)
		var ids []string
		for ev, err := range s.All() {
			require.NoError(t, err)
			ids = append(ids, ev.EventID())
		}
		assert.Equal(t, idRange(1, 4), ids)
		assert.NoError(t, s.Err())
	})

	t.Run("All yields the error last", func(t *testing.T) {
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, sseEvents(1, 2)...)
			sseWrite(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"internal\"}}\n\n")
		})
		s := openTestStream(t, t.Context(), c, nil)
		var ids []string
		var errs []error
		for ev, err := range s.All() {
			if err != nil {
				assert.Nil(t, ev)
				errs = append(errs, err)
				continue
			}
			ids = append(ids, ev.EventID())
		}
		assert.Equal(t, idRange(1, 2), ids)
		require.Len(t, errs, 1)
		var apiErr *APIError
		require.ErrorAs(t, errs[0], &apiErr)
		assert.Equal(t, "internal", apiErr.Message)
		assert.Equal(t, errs[0], s.Err())
	})

	t.Run("breaking out of All keeps the stream", func(t *testing.T) {
		c, _ := newStreamTest(t, handler)
		s := openTestStream(t, t.Context(), c, nil)
		for ev := range s.All() {
			assert.Equal(t, "evt_1", ev.EventID())
			break
		}
		require.True(t, s.Next())
		assert.Equal(t, "evt_2", s.Event().EventID())
	})

	t.Run("Events returns one channel", func(t *testing.T) {
		c, _ := newStreamTest(t, handler)
		s := openTestStream(t, t.Context(), c, nil)
		assert.Equal(t, s.Events(), s.Events())
		assert.Equal(t, idRange(1, 4), eventIDs(collectStream(t, s, streamWait)))
	})

	t.Run("Close from another goroutine while Next blocks", func(t *testing.T) {
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			<-r.Context().Done()
		})
		s := openTestStream(t, t.Context(), c, nil)
		done := make(chan bool)
		go func() { done <- s.Next() }()
		// Close may come before or while Next blocks; both must unblock it.
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
	})

	t.Run("Close from many goroutines", func(t *testing.T) {
		c, _ := newStreamTest(t, handler)
		s := openTestStream(t, t.Context(), c, nil)
		ch := s.Events()
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, s.Close())
			}()
		}
		wg.Wait()
		waitClosed(t, ch, time.Now(), streamWait)
		assert.NoError(t, s.Err())
	})
}
