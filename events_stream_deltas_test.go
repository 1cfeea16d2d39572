package qoder

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStream_eventDeltas(t *testing.T) {
	start := `id: evt_2` + "\nevent: event_start\ndata: {\"event\":{\"id\":\"evt_2\",\"type\":\"agent.message\"},\"type\":\"event_start\"}\n\n"
	delta := func(text string) string {
		return fmt.Sprintf("id: evt_2\nevent: event_delta\ndata: {\"delta\":{\"content\":{\"text\":%q,\"type\":\"text\"},\"index\":0,\"type\":\"content_delta\"},\"event_id\":\"evt_2\",\"type\":\"event_delta\"}\n\n", text)
	}
	final := sseEvent("evt_2", EventTypeAgentMessage, `,"content":[{"type":"text","text":"Hello world"}]`)
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		if n == 0 {
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning), start, delta("Hel"), delta("lo"))
			abort()
		}
		// Case 1 of the reconnect rules: the cursor is older than the
		// event_start, so the start and every delta come again.
		sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning), start, delta("Hel"), delta("lo"), delta(" world"), final, terminatedFrame("evt_3"))
	})
	s := openTestStream(t, t.Context(), c, &StreamParams{EventDeltas: []string{EventTypeAgentMessage}})

	var acc MessageAccumulator
	var types []string
	var texts []string
	for ev := range s.Events() {
		types = append(types, ev.EventType())
		acc.Add(ev)
		if ev.EventID() == "evt_2" {
			texts = append(texts, acc.Text("evt_2"))
		}
		if d, ok := ev.(*EventDelta); ok {
			assert.Equal(t, "evt_2", d.TargetID)
		}
	}
	require.NoError(t, s.Err())

	reqs := rr.list()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		assert.Equal(t, "event_deltas%5B%5D=agent.message", r.rawQuery)
	}
	assert.Equal(t, []string{"", "evt_1"}, rr.lastEventIDs(), "the resume point is the last complete event, not the delta's id")
	assert.Equal(t, []string{
		EventTypeSessionStatusRunning, EventTypeEventStart, EventTypeEventDelta, EventTypeEventDelta,
		EventTypeEventStart, EventTypeEventDelta, EventTypeEventDelta, EventTypeEventDelta, EventTypeAgentMessage,
		EventTypeSessionStatusTerminated,
	}, types)
	assert.Equal(t, []string{"", "Hel", "Hello", "", "Hel", "Hello", "Hello world", "Hello world"}, texts)
	assert.Equal(t, "Hello world", acc.Text("evt_2"))
	assert.Equal(t, "evt_3", s.LastEventID())
}

// TestStream_malformedDeltaIsNoResumePoint: a delta frame whose JSON does
// not decode is surfaced as *UnknownEvent, and its SSE id (the id of the
// message in progress) does not become the resume point.
func TestStream_malformedDeltaIsNoResumePoint(t *testing.T) {
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		if n == 0 {
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning),
				"id: evt_2\nevent: event_delta\ndata: {\"delta\":\n\n")
			abort()
		}
		sseWrite(w, terminatedFrame("evt_3"))
	})
	s := openTestStream(t, t.Context(), c, &StreamParams{EventDeltas: []string{EventTypeAgentMessage}})
	evs := collectStream(t, s, streamWait)
	require.Len(t, evs, 3)
	u, ok := evs[1].(*UnknownEvent)
	require.True(t, ok, "got %T", evs[1])
	assert.Equal(t, EventTypeEventDelta, u.Type)
	assert.Error(t, u.Err)
	assert.Equal(t, []string{"", "evt_1"}, rr.lastEventIDs())
}
