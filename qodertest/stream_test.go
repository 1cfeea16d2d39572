package qodertest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStreamStartsAtLiveTail(t *testing.T) {
	a := newAPI(t)
	id := a.createSession()
	require.Equal(t, 202, a.send(id, userMessage("old")).status)
	a.waitStatus(id, "idle", "end_turn")

	st := a.openStream(id, "")
	accepted := a.send(id, userMessage("new")).obj(t)["data"].([]any)[0].(map[string]any)
	frames := st.until("session.status_idle")
	require.Equal(t, "session.status_running", frames[0].event, "no history before the live tail")
	assert.Equal(t, accepted["id"], frames[1].id)
	assert.Len(t, frames, 9)
}

func TestStreamResumeWithLastEventID(t *testing.T) {
	a := newAPI(t)
	id := a.createSession()
	accepted := a.send(id, userMessage("one")).obj(t)["data"].([]any)[0].(map[string]any)
	a.waitStatus(id, "idle", "end_turn")

	st := a.openStream(id, "", "Last-Event-ID", accepted["id"].(string))
	frames := st.until("session.status_idle")
	assert.Equal(t, []string{"span.model_request_start", "agent.thinking", "agent.tool_use", "agent.tool_result", "agent.message", "span.model_request_end", "session.status_idle"}, events(frames), "replays what came after the id")

	// Then it goes live.
	require.Equal(t, 202, a.send(id, userMessage("two")).status)
	frames = st.until("session.status_idle")
	assert.Equal(t, "session.status_running", frames[0].event)
	assert.Equal(t, "You said: two", decode(t, frames[6].data)["content"].([]any)[0].(map[string]any)["text"])

	// The last event replays nothing.
	last := frames[len(frames)-1].id
	st2 := a.openStream(id, "", "Last-Event-ID", last)
	require.Equal(t, 202, a.send(id, userMessage("three")).status)
	f, ok := st2.next()
	require.True(t, ok)
	assert.Equal(t, "session.status_running", f.event)

	other := a.createSession()
	otherEvent := a.send(other, userMessage("x")).obj(t)["data"].([]any)[0].(map[string]any)["id"].(string)
	for _, bad := range []string{"evt_unknown", otherEvent} {
		_, status, body := a.tryStream(id, "", "Last-Event-ID", bad)
		require.Equal(t, 400, status, "%s", body)
		r := response{status: status, body: body}
		typ, msg, param := r.errorOf(t)
		assert.Equal(t, "invalid_request_error", typ)
		assert.Equal(t, "Last-Event-ID", param)
		assert.Contains(t, msg, "is not an event of session")
	}
}

func TestStreamHeartbeats(t *testing.T) {
	const interval = 30 * time.Millisecond
	a := newAPI(t, WithHeartbeatInterval(interval))
	id := a.createSession()
	start := time.Now()
	st := a.openStream(id, "")
	n := 0
	for n < 3 {
		select {
		case f, ok := <-st.frames:
			require.True(t, ok)
			require.Equal(t, "heartbeat", f.comment, "only heartbeats on an idle session: %+v", f)
			n++
		case <-time.After(wait):
			t.Fatal("no heartbeat")
		}
	}
	assert.GreaterOrEqual(t, time.Since(start), 3*interval-5*time.Millisecond, "heartbeats come every interval, not faster")

	// Off when the interval is zero.
	b := newAPI(t, WithHeartbeatInterval(0))
	id = b.createSession()
	st = b.openStream(id, "")
	require.Equal(t, 202, b.send(id, userMessage("x")).status)
	for _, f := range st.until("session.status_idle") {
		assert.Empty(t, f.comment)
	}
}

func TestStreamDeltas(t *testing.T) {
	a := newAPI(t, WithAgent(func(turn *Turn) {
		turn.Think()
		turn.SayDeltas("Hel", "lo")
	}))
	id := a.createSession()
	withDeltas := a.openStream(id, "event_deltas[]=agent.message&event_deltas[]=agent.thinking")
	messageOnly := a.openStream(id, "event_deltas[]=agent.message")
	plain := a.openStream(id, "")
	require.Equal(t, 202, a.send(id, userMessage("hi")).status)

	frames := withDeltas.until("session.status_idle")
	assert.Equal(t, []string{
		"session.status_running", "user.message", "span.model_request_start",
		"event_start", "agent.thinking",
		"event_start", "event_delta", "event_delta", "agent.message",
		"span.model_request_end", "session.status_idle",
	}, events(frames))
	think, msg := frames[4].id, frames[8].id
	assert.Equal(t, think, frames[3].id)
	assert.JSONEq(t, `{"type":"event_start","event":{"id":"`+think+`","type":"agent.thinking"}}`, frames[3].data)
	assert.JSONEq(t, `{"type":"event_start","event":{"id":"`+msg+`","type":"agent.message"}}`, frames[5].data)
	for i, text := range []string{"Hel", "lo"} {
		f := frames[6+i]
		assert.Equal(t, msg, f.id, "delta frames carry the final event's id")
		assert.JSONEq(t, `{"type":"event_delta","event_id":"`+msg+`","delta":{"type":"content_delta","index":0,"content":{"type":"text","text":"`+text+`"}}}`, f.data)
	}
	assert.Equal(t, "Hello", decode(t, frames[8].data)["content"].([]any)[0].(map[string]any)["text"])

	assert.Equal(t, []string{
		"session.status_running", "user.message", "span.model_request_start", "agent.thinking",
		"event_start", "event_delta", "event_delta", "agent.message", "span.model_request_end", "session.status_idle",
	}, events(messageOnly.until("session.status_idle")), "selection is per connection")
	assert.NotContains(t, events(plain.until("session.status_idle")), "event_delta")
	assert.NotContains(t, a.srv.EventTypes(id), "event_delta", "deltas never enter history")
	assert.NotContains(t, a.srv.EventTypes(id), "event_start")
}

// TestStreamDeltaReconnect checks the three documented reconnect cases
// of a delta-streamed message.
func TestStreamDeltaReconnect(t *testing.T) {
	step := make(chan struct{})
	a := newAPI(t, WithAgent(func(turn *Turn) {
		m := turn.StartMessage()
		m.Delta("Hel")
		select {
		case <-step:
		case <-turn.Context().Done():
		}
		m.Delta("lo")
		m.End()
	}))
	id := a.createSession()
	const q = "event_deltas[]=agent.message"
	first := a.openStream(id, q)
	require.Equal(t, 202, a.send(id, userMessage("hi")).status)
	frames := first.until("event_delta")
	spanStart, msg := frames[2].id, frames[3].id
	require.Equal(t, "span.model_request_start", frames[2].event)

	// Case 1: a cursor before the message's event_start replays the
	// event_start and the deltas so far.
	before := a.openStream(id, q, "Last-Event-ID", spanStart)
	got := []sseFrame{}
	for range 2 {
		f, ok := before.next()
		require.True(t, ok)
		got = append(got, f)
	}
	assert.Equal(t, []string{"event_start", "event_delta"}, events(got))
	assert.Contains(t, got[1].data, `"Hel"`)

	// Case 2: a cursor equal to the message in progress skips old deltas.
	at := a.openStream(id, q, "Last-Event-ID", msg)

	close(step)
	for _, s := range []*sse{before, at} {
		frames := s.until("agent.message")
		require.Equal(t, []string{"event_delta", "agent.message"}, events(frames))
		assert.Contains(t, frames[0].data, `"lo"`)
	}
	a.waitStatus(id, "idle", "end_turn")

	// Case 3: the message has finished: no deltas, only the buffered
	// event (or later).
	after := a.openStream(id, q, "Last-Event-ID", spanStart)
	assert.Equal(t, []string{"agent.message", "span.model_request_end", "session.status_idle"}, events(after.until("session.status_idle")))
	// With the message's own id, a delta client may have seen only the
	// deltas: the final event is replayed; a plain client resumes after it.
	assert.Equal(t, []string{"agent.message", "span.model_request_end", "session.status_idle"}, events(a.openStream(id, q, "Last-Event-ID", msg).until("session.status_idle")))
	assert.Equal(t, []string{"span.model_request_end", "session.status_idle"}, events(a.openStream(id, "", "Last-Event-ID", msg).until("session.status_idle")))
}

func TestStreamEndsOnDelete(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	a := newAPI(t, WithAgent(blockingAgent(release)))
	id := a.createSession()
	st := a.openStream(id, "")
	require.Equal(t, 202, a.send(id, userMessage("x")).status)
	st.until("agent.message")

	assert.Equal(t, map[string]any{"id": id, "type": "session_deleted"}, a.ok(200, "DELETE", "sessions/"+id, nil))
	rest := st.ended()
	require.NotEmpty(t, rest)
	assert.Equal(t, "session.deleted", rest[len(rest)-1].event)
	assert.NotContains(t, events(rest), "session.status_idle", "a deleted session's turn emits nothing more")
	assert.Equal(t, 404, a.req("GET", "sessions/"+id, nil).status)
	assert.Equal(t, 404, a.req("GET", "sessions/"+id+"/events", nil).status)
	_, status, _ := a.tryStream(id, "")
	assert.Equal(t, 404, status)
	_, ok := a.srv.Session(id)
	assert.False(t, ok)
}

func TestStreamTypeFilter(t *testing.T) {
	a := newAPI(t)
	id := a.createSession()
	st := a.openStream(id, "types[]=agent.message&types[]=session.status_idle")
	require.Equal(t, 202, a.send(id, userMessage("x")).status)
	assert.Equal(t, []string{"agent.message", "session.status_idle"}, events(st.until("session.status_idle")))
}

func TestStreamEndsWhenClientLeaves(t *testing.T) {
	a := newAPI(t, WithHeartbeatInterval(0))
	id := a.createSession()
	st := a.openStream(id, "")
	require.Eventually(t, func() bool { return a.srv.streams.Load() == 1 }, wait, time.Millisecond)
	st.close()
	require.Eventually(t, func() bool { return a.srv.streams.Load() == 0 }, wait, time.Millisecond, "the handler returns when the client goes away")
}

func TestStreamHeaders(t *testing.T) {
	a := newAPI(t)
	id := a.createSession()
	req, err := http.NewRequestWithContext(t.Context(), "GET", a.srv.URL+"sessions/"+id+"/events/stream", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+a.srv.Token)
	resp, err := a.hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	assert.True(t, strings.Contains(resp.Header.Get("X-Request-Id"), "-"))
}
