package qoder

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResumeState_windowGrowsOnDemand: the window of delivered ids costs
// nothing until an event is delivered, grows with the events, and once it
// holds dedupWindow ids forgets the oldest first.
func TestResumeState_windowGrowsOnDemand(t *testing.T) {
	r := newResumeState()
	assert.Nil(t, r.window.seen, "nothing delivered, no window")
	assert.Zero(t, cap(r.window.ring))

	id := func(i int) string { return fmt.Sprintf("evt_%d", i) }
	for i := 1; i <= 3; i++ {
		r.remember(id(i))
	}
	assert.Len(t, r.window.ring, 3)
	assert.Less(t, cap(r.window.ring), 16, "three ids, a small window")

	const extra = 5
	for i := 4; i <= dedupWindow+extra; i++ {
		require.False(t, r.delivered(id(i)))
		r.remember(id(i))
	}
	assert.Equal(t, dedupWindow, cap(r.window.ring), "never more than dedupWindow")
	assert.Len(t, r.window.seen, dedupWindow)
	for i := 1; i <= extra; i++ {
		assert.False(t, r.delivered(id(i)), "the oldest ids are forgotten: %s", id(i))
	}
	for i := extra + 1; i <= dedupWindow+extra; i++ {
		require.True(t, r.delivered(id(i)), "%s is still in the window", id(i))
	}
	r.remember(id(dedupWindow + extra + 1))
	assert.False(t, r.delivered(id(extra+1)), "one more id pushes out the next oldest")
	assert.True(t, r.delivered(id(extra+2)))
}

// TestStream_dropAtEveryOffset cuts the first connection of a recorded turn
// after every possible number of bytes. The server honours Last-Event-ID and
// replays the boundary event. No event may be lost, duplicated or reordered,
// and each reconnect must resume from the last complete event delivered.
func TestStream_dropAtEveryOffset(t *testing.T) {
	forEveryCut(t, "turn.sse", false, func(t *testing.T, rs *replayServer, c *Client, cut int) {
		want := rs.completeEvents()
		require.Len(t, want, 10)
		var wantIDs, wantTypes []string
		for _, b := range want {
			wantIDs = append(wantIDs, b.id)
			wantTypes = append(wantTypes, b.event)
		}
		s := openTestStream(t, t.Context(), c, nil)
		evs := collectStream(t, s, streamWait)
		require.NoError(t, s.Err())
		var types []string
		for _, ev := range evs {
			types = append(types, ev.EventType())
			_, unknown := ev.(*UnknownEvent)
			assert.False(t, unknown, "event %s decoded as *UnknownEvent", ev.EventID())
		}
		assert.Equal(t, wantIDs, eventIDs(evs), "events lost, duplicated or reordered")
		assert.Equal(t, wantTypes, types)
		assert.Equal(t, wantIDs[len(wantIDs)-1], s.LastEventID())

		reqs := rs.requests()
		if cut == len(rs.data) {
			assert.Equal(t, []string{""}, reqs, "a complete transcript needs one request")
			return
		}
		assert.Equal(t, []string{"", rs.lastCompleteBefore(cut)}, reqs, "Last-Event-ID of each request")
	})
}

// forEveryCut runs check once for every cut offset of transcript name, from
// 0 (the connection drops before the first byte) to its length (no drop).
// The offsets are spread over a few workers, each with its own server and
// client; a worker stops at its first failing offset.
func forEveryCut(t *testing.T, name string, fromFirst bool, check func(t *testing.T, rs *replayServer, c *Client, cut int)) {
	workers := min(runtime.GOMAXPROCS(0), 4)
	size := len(fixture(t, filepath.Join("streams", name)))
	for w := range workers {
		t.Run(fmt.Sprintf("worker=%d", w), func(t *testing.T) {
			t.Parallel()
			rs := newReplayServer(t, name)
			rs.fromFirst = fromFirst
			c, mux := newTestClient(t)
			mux.Handle(streamPattern, rs)
			for cut := w; cut <= size; cut += workers {
				ok := t.Run(fmt.Sprintf("cut=%d", cut), func(t *testing.T) {
					rs.reset(cut)
					check(t, rs, c, cut)
				})
				if !ok {
					return // one failing offset says enough
				}
			}
		})
	}
}

// TestStream_dropAtEveryOffsetWithDeltas does the same with a turn streamed
// incrementally. On reconnect the server replays from the first frame of the
// boundary event, so event_start and deltas of a message already complete
// come again; a MessageAccumulator fed from the stream must never hold
// duplicated text.
func TestStream_dropAtEveryOffsetWithDeltas(t *testing.T) {
	const msgID = "evt_019e3bb2c15370000000000000000204"
	const final = "Hello, world! ✔ Second block."
	forEveryCut(t, "turn_deltas.sse", true, func(t *testing.T, rs *replayServer, c *Client, cut int) {
		var wantIDs []string
		for _, b := range rs.completeEvents() {
			wantIDs = append(wantIDs, b.id)
		}
		s := openTestStream(t, t.Context(), c, &StreamParams{EventDeltas: []string{EventTypeAgentMessage, EventTypeAgentThinking}})
		var acc MessageAccumulator
		var complete []string
		finalSeen := map[string]bool{}
		for _, ev := range collectStream(t, s, streamWait) {
			acc.Add(ev)
			switch ev := ev.(type) {
			case *EventStart, *EventDelta:
				assert.False(t, finalSeen[ev.EventID()], "a %s frame of %s after its final event", ev.EventType(), ev.EventID())
			default:
				complete = append(complete, ev.EventID())
				finalSeen[ev.EventID()] = true
			}
			text := acc.Text(msgID)
			assert.True(t, strings.HasPrefix(final, text), "partial text %q is not a prefix of %q", text, final)
		}
		require.NoError(t, s.Err())
		assert.Equal(t, wantIDs, complete, "complete events lost, duplicated or reordered")
		assert.True(t, acc.Final(msgID))
		assert.Equal(t, final, acc.Text(msgID))

		reqs := rs.requests()
		if cut == len(rs.data) {
			assert.Equal(t, []string{""}, reqs)
			return
		}
		assert.Equal(t, []string{"", rs.lastCompleteBefore(cut)}, reqs, "Last-Event-ID must be the last complete event, never a delta's")
	})
}

// ---------------------------------------------------------------------------
// HTTP errors at open and on reconnect

func TestStream_cleanEOFReconnects(t *testing.T) {
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		if n == 0 {
			sseWrite(w, sseEvents(1, 2)...)
			return // a clean end of the response, between events
		}
		sseWrite(w, sseEvent("evt_2", EventTypeSessionUpdated), terminatedFrame("evt_3"))
	})
	s := openTestStream(t, t.Context(), c, nil)
	assert.Equal(t, idRange(1, 3), eventIDs(collectStream(t, s, streamWait)))
	assert.NoError(t, s.Err())
	assert.Equal(t, []string{"", "evt_2"}, rr.lastEventIDs())
}

func TestStream_noResume(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(w http.ResponseWriter)
	}{
		{"clean EOF", func(w http.ResponseWriter) {}},
		{"abrupt drop", func(w http.ResponseWriter) { abort() }},
		{"clean EOF mid-event", func(w http.ResponseWriter) { sseWrite(w, "id: evt_3\nevent: session.updated\ndata: {") }},
		{"drop mid-event", func(w http.ResponseWriter) {
			sseWrite(w, "id: evt_3\nevent: session.updated\ndata: {")
			abort()
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
				sseStart(w)
				sseWrite(w, sseEvents(1, 2)...)
				tt.end(w)
			})
			s := openTestStream(t, t.Context(), c, &StreamParams{NoResume: true})
			assert.Equal(t, idRange(1, 2), eventIDs(collectStream(t, s, streamWait)))
			assert.ErrorIs(t, s.Err(), io.ErrUnexpectedEOF)
			assert.Equal(t, 1, rr.count())
			assert.Equal(t, "evt_2", s.LastEventID())
		})
	}
}

// TestStream_resumeFrom: a stream that drops before its first event
// reconnects from the resume point its owner set after opening it (the turn
// runner's accepted user.message), not at the live tail.
func TestStream_resumeFrom(t *testing.T) {
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		if n == 0 {
			abort() // before any event
		}
		switch r.Header.Get("Last-Event-ID") {
		case "evt_msg":
			sseWrite(w, sseEvent("evt_msg", EventTypeUserMessage, `,"content":[{"type":"text","text":"hi"}]`),
				sseEvent("evt_answer", EventTypeAgentMessage, `,"content":[{"type":"text","text":"hello"}]`),
				terminatedFrame("evt_end"))
		default:
			sseWrite(w, terminatedFrame("evt_end")) // the live tail: the turn is gone
		}
	})
	s := openTestStream(t, t.Context(), c, nil)
	require.True(t, s.resumeFrom("evt_msg"))
	assert.Empty(t, s.LastEventID(), "nothing was delivered yet")
	assert.Equal(t, []string{"evt_msg", "evt_answer", "evt_end"}, eventIDs(collectStream(t, s, streamWait)))
	assert.Equal(t, []string{"", "evt_msg"}, rr.lastEventIDs())
	assert.False(t, s.resumeFrom("evt_other"), "a stream that has delivered events keeps its own resume point")

	t.Run("not over StreamParams.LastEventID", func(t *testing.T) {
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, terminatedFrame("evt_end"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{LastEventID: "evt_1"})
		assert.False(t, s.resumeFrom("evt_msg"))
		assert.False(t, s.resumeFrom(""))
	})
}

func TestStream_resumeFromParams(t *testing.T) {
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		if n == 0 {
			// The boundary event comes again, then what follows it.
			sseWrite(w, sseEvent("evt_5", EventTypeSessionUpdated), sseEvent("evt_6", EventTypeSessionUpdated))
			abort()
		}
		// This server ignores Last-Event-ID and replays everything.
		sseWrite(w, sseEvents(1, 7)...)
		sseWrite(w, terminatedFrame("evt_8"))
	})
	s := openTestStream(t, t.Context(), c, &StreamParams{LastEventID: "evt_5"})
	assert.Equal(t, "evt_5", s.LastEventID())
	evs := collectStream(t, s, streamWait)
	// evt_1..evt_4 were never delivered by this stream, so the replay is
	// all it has of them; evt_5 and evt_6 are duplicates.
	assert.Equal(t, []string{"evt_6", "evt_1", "evt_2", "evt_3", "evt_4", "evt_7", "evt_8"}, eventIDs(evs))
	assert.Equal(t, []string{"evt_5", "evt_6"}, rr.lastEventIDs())
	assert.Equal(t, "evt_8", s.LastEventID())
}

// ---------------------------------------------------------------------------
// Reconnect policy

func TestStream_terminalEvents(t *testing.T) {
	for _, tt := range []struct {
		name  string
		frame string
		ids   []string
	}{
		{"session.status_terminated", terminatedFrame("evt_2"), idRange(1, 2)},
		{"session.deleted", sseEvent("evt_2", EventTypeSessionDeleted), idRange(1, 2)},
		{"[DONE]", "data: [DONE]\n\n", idRange(1, 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
				sseStart(w)
				sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusIdle, `,"stop_reason":{"type":"end_turn"}`), tt.frame)
				<-r.Context().Done() // the client must leave by itself
			})
			s := openTestStream(t, t.Context(), c, nil)
			assert.Equal(t, tt.ids, eventIDs(collectStream(t, s, streamWait)))
			assert.NoError(t, s.Err())
			assert.Equal(t, 1, rr.count(), "no reconnect after a terminal event")
		})
	}
	t.Run("thread terminated does not end a session stream", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, sseEvent("evt_1", EventTypeSessionThreadStatusTerminated, `,"session_thread_id":"sthr_1","agent_name":"a"`), terminatedFrame("evt_2"))
		})
		s := openTestStream(t, t.Context(), c, nil)
		assert.Equal(t, idRange(1, 2), eventIDs(collectStream(t, s, streamWait)))
		assert.Equal(t, 1, rr.count())
	})
}

// ---------------------------------------------------------------------------
// Transports and concurrency

// TestStream_unsendableEventIDIsNoResumePoint: an event id with a control
// character cannot go back as Last-Event-ID; adopting it made every
// reconnect fail before it left the machine.
func TestStream_unsendableEventIDIsNoResumePoint(t *testing.T) {
	logs := &streamLogRecorder{}
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		if n == 0 {
			sseWrite(w,
				sseEvent("evt_1", EventTypeSessionUpdated),
				"event: session.updated\ndata: {\"id\":\"evt_\\r\\n2\",\"type\":\"session.updated\"}\n\n",
				"event: session.updated\ndata: {\"id\":\"evt_\\u00003\",\"type\":\"session.updated\"}\n\n",
				"id: evt_\x014\nevent: session.updated\ndata: {\"type\":\"session.updated\"}\n\n")
			abort()
		}
		sseWrite(w, terminatedFrame("evt_5"))
	}, WithLogger(slog.New(logs)))
	s := openTestStream(t, t.Context(), c, nil)
	var ids []string
	for s.Next() {
		ids = append(ids, s.Event().EventID())
		assert.Equal(t, "evt_1", s.LastEventID(), "the resume point stays the last good id")
		if len(ids) == 4 {
			break
		}
	}
	assert.Equal(t, []string{"evt_1", "evt_\r\n2", "evt_\x003", ""}, ids, "the events themselves are delivered")
	evs := collectStream(t, s, streamWait)
	require.NoError(t, s.Err())
	assert.Equal(t, []string{"evt_5"}, eventIDs(evs))
	assert.Equal(t, []string{"", "evt_1"}, rr.lastEventIDs())
	var bad int
	for _, m := range logs.messages() {
		if strings.Contains(m, "cannot be sent back as Last-Event-ID") {
			bad++
			assert.Contains(t, m, `event_id="evt_\r\n2"`)
		}
	}
	assert.Equal(t, 1, bad, "logged once")
}

func TestStream_unsendableLastEventIDParam(t *testing.T) {
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		sseWrite(w, terminatedFrame("evt_1"))
	})
	_, err := c.Events.Stream(streamCtx(t), streamSessionID, &StreamParams{LastEventID: "evt_\n1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "StreamParams.LastEventID contains a control character")
	assert.Zero(t, rr.count())
}

// TestStream_lastEventIDFollowsTheConsumer: with Events, the reader
// goroutine reads the next event before the consumer takes it. LastEventID
// must still name the last event the consumer received, or a consumer that
// checkpoints it would skip the event in flight after a restart.
func TestStream_lastEventIDFollowsTheConsumer(t *testing.T) {
	c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		sseWrite(w, sseEvents(1, 2)...)
		<-r.Context().Done()
	})
	s := openTestStream(t, t.Context(), c, nil)
	ch := s.Events()
	assert.Equal(t, "evt_1", receive(t, ch).EventID())
	// Wait until the goroutine has read evt_2 (it then blocks on the send).
	deadline := time.Now().Add(streamWait)
	for {
		s.readMu.Lock()
		ahead := s.resume.cursor == "evt_2"
		s.readMu.Unlock()
		if ahead {
			break
		}
		require.True(t, time.Now().Before(deadline), "the reader never read evt_2")
		time.Sleep(time.Millisecond)
	}
	assert.Equal(t, "evt_1", s.LastEventID(), "evt_2 has not reached the consumer")
	assert.Equal(t, "evt_2", receive(t, ch).EventID())
	// The goroutine records the hand-over right after the send; it may lag
	// the receive by a moment (a resume from evt_1 only repeats evt_2).
	assert.Eventually(t, func() bool { return s.LastEventID() == "evt_2" }, streamWait, time.Millisecond)
	require.NoError(t, s.Close())
	assert.Equal(t, "evt_2", s.LastEventID(), "exact once the stream is closed")
}
