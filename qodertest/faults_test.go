package qodertest

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCutStreamsAfterEvents(t *testing.T) {
	a := newAPI(t)
	id := a.createSession()
	a.srv.CutStreams(Cut{AfterEvents: 3, Times: 2})

	st := a.openStream(id, "")
	require.Equal(t, 202, a.send(id, userMessage("x")).status)
	got := st.ended()
	require.Len(t, got, 3)
	assert.ErrorIs(t, st.readErr(), io.ErrUnexpectedEOF, "an abrupt drop, not a clean end")
	a.waitStatus(id, "idle", "end_turn")

	// The second connection is cut too, after its own three frames.
	st = a.openStream(id, "", "Last-Event-ID", got[2].id)
	again := st.ended()
	require.Len(t, again, 3)
	assert.Equal(t, "agent.thinking", again[0].event)

	// The third is not.
	st = a.openStream(id, "", "Last-Event-ID", again[2].id)
	assert.Equal(t, []string{"agent.message", "span.model_request_end", "session.status_idle"}, events(st.until("session.status_idle")))
}

func TestCutStreamsAfterBytes(t *testing.T) {
	a := newAPI(t)
	id := a.createSession()
	a.srv.CutStreams(Cut{AfterBytes: 30})
	st := a.openStream(id, "")
	require.Equal(t, 202, a.send(id, userMessage("x")).status)
	assert.Empty(t, st.ended(), "no whole frame got through")
	assert.ErrorIs(t, st.readErr(), io.ErrUnexpectedEOF)

	a.srv.CutStreams(Cut{}) // right after the headers
	st = a.openStream(id, "")
	assert.Empty(t, st.ended())
	assert.Error(t, st.readErr())
	assert.NotErrorIs(t, st.readErr(), io.EOF)
}

func TestSilenceStreams(t *testing.T) {
	a := newAPI(t, WithHeartbeatInterval(2*time.Millisecond))
	id := a.createSession()
	release := a.srv.SilenceStreams(Silence{})
	st := a.openStream(id, "")
	require.Equal(t, 202, a.send(id, userMessage("x")).status)
	a.waitStatus(id, "idle", "end_turn")
	assert.Empty(t, st.frames, "nothing, not even a heartbeat, while silent")

	release()
	release() // safe twice
	assert.Len(t, st.until("session.status_idle"), 9, "the stream catches up once released")

	// Timed silence after some frames.
	const pause = 60 * time.Millisecond
	b := newAPI(t, WithHeartbeatInterval(0))
	id = b.createSession()
	b.srv.SilenceStreams(Silence{AfterEvents: 2, For: pause})
	st = b.openStream(id, "")
	require.Equal(t, 202, b.send(id, userMessage("x")).status)
	first := st.until("user.message")
	require.Len(t, first, 2)
	start := time.Now()
	rest := st.until("session.status_idle")
	assert.GreaterOrEqual(t, time.Since(start), pause-10*time.Millisecond)
	assert.Len(t, rest, 7)

	// A new connection is not silenced.
	st = b.openStream(id, "")
	require.Equal(t, 202, b.send(id, userMessage("y")).status)
	assert.Len(t, st.until("session.status_idle"), 9)
}

func TestFailRequests(t *testing.T) {
	a := newAPI(t)
	id := a.createSession()
	a.srv.FailRequests(Failure{Method: "POST", Path: "sessions/*/events", Status: 429, RetryAfter: "2", Times: 2})
	for range 2 {
		r := a.send(id, userMessage("x"))
		require.Equal(t, 429, r.status)
		assert.Equal(t, "2", r.header.Get("Retry-After"))
		typ, _, _ := r.errorOf(t)
		assert.Equal(t, "rate_limit_error", typ)
	}
	assert.Equal(t, 202, a.send(id, userMessage("x")).status, "only Times requests fail")
	assert.Equal(t, 200, a.req("GET", "sessions/"+id, nil).status, "other routes are unaffected")

	a.srv.FailRequests(Failure{Path: "/api/v1/cloud/agents", Status: 502, Body: "upstream connect error"})
	r := a.req("GET", "agents", nil, "Authorization", "")
	assert.Equal(t, 502, r.status, "a gateway failure comes before authentication")
	assert.Equal(t, "upstream connect error", string(r.body))
	assert.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/plain"))

	a.srv.FailRequests(Failure{Path: "sessions/*/events/stream"})
	_, status, body := a.tryStream(id, "")
	assert.Equal(t, 503, status, "%s", body)
	assert.Contains(t, string(body), `"api_error"`)

	a.srv.FailRequests(Failure{Path: "models", Times: 5})
	a.srv.ClearFaults()
	assert.Equal(t, 200, a.req("GET", "models", nil).status)
	assert.Panics(t, func() { a.srv.FailRequests(Failure{Path: "["}) })
}

func TestLatency(t *testing.T) {
	const d = 50 * time.Millisecond
	a := newAPI(t, WithLatency(d))
	start := time.Now()
	a.ok(200, "GET", "models", nil)
	assert.GreaterOrEqual(t, time.Since(start), d)
	a.srv.SetLatency(0)
	a.ok(200, "GET", "models", nil)
}

func TestRequestsLog(t *testing.T) {
	a := newAPI(t)
	id := a.createSession()
	ev := a.send(id, userMessage("x")).obj(t)["data"].([]any)[0].(map[string]any)["id"].(string)
	a.req("POST", "agents", map[string]any{"name": "k", "model": "auto"}, "Idempotency-Key", "idem-1")
	a.openStream(id, "event_deltas[]=agent.message", "Last-Event-ID", ev)

	reqs := a.srv.Requests()
	require.NotEmpty(t, reqs)
	var sawKey, sawResume bool
	for _, r := range reqs {
		assert.Equal(t, "[redacted]", r.Header.Get("Authorization"), "the token never shows")
		assert.NotContains(t, string(r.Body), a.srv.Token)
		if r.Header.Get("Idempotency-Key") == "idem-1" {
			sawKey = true
			assert.Equal(t, "/api/v1/cloud/agents", r.Path)
			assert.JSONEq(t, `{"name":"k","model":"auto"}`, string(r.Body))
		}
		if strings.HasSuffix(r.Path, "/events/stream") {
			sawResume = true
			assert.Equal(t, ev, r.Header.Get("Last-Event-ID"))
			assert.Equal(t, []string{"agent.message"}, r.Query["event_deltas[]"])
		}
	}
	assert.True(t, sawKey)
	assert.True(t, sawResume)
}
