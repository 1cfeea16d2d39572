package qodertest

import (
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/qoder-go/qoder/internal/leakcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	timePattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)
)

func TestServerURLAndToken(t *testing.T) {
	srv := NewServer(t)
	assert.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), srv.URL)
	assert.True(t, strings.HasSuffix(srv.URL, "/api/v1/cloud/"), srv.URL)
	assert.Equal(t, DefaultToken, srv.Token)
	assert.Equal(t, "pt-other", NewServer(t, WithToken("pt-other")).Token)
}

func TestAuthentication(t *testing.T) {
	a := newAPI(t)
	tests := []struct {
		name string
		hdr  []string
	}{
		{"missing", []string{"Authorization", ""}},
		{"wrong token", []string{"Authorization", "Bearer pt-wrong"}},
		{"not bearer", []string{"Authorization", "Basic " + a.srv.Token}},
		{"bearer without token", []string{"Authorization", "Bearer "}},
		{"x-api-key only", []string{"Authorization", "", "X-Api-Key", a.srv.Token}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.req("GET", "agents", nil, tt.hdr...)
			require.Equal(t, http.StatusUnauthorized, r.status)
			typ, msg, _ := r.errorOf(t)
			assert.Equal(t, "authentication_error", typ)
			assert.Equal(t, "Invalid API key or token.", msg)
		})
	}
	assert.Equal(t, 200, a.req("GET", "agents", nil, "Authorization", "bearer "+a.srv.Token).status, "scheme is case-insensitive")
}

func TestErrorEnvelope(t *testing.T) {
	a := newAPI(t)

	r := a.req("GET", "agents/agent_nonexistent", nil, "X-Request-Id", "req-123")
	require.Equal(t, 404, r.status)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.JSONEq(t, `{"type":"error","request_id":"req-123","error":{"type":"not_found_error","message":"Agent 'agent_nonexistent' was not found."}}`, string(r.body))
	assert.Equal(t, "req-123", r.header.Get("X-Request-Id"))

	r = a.req("POST", "agents", map[string]any{})
	require.Equal(t, 400, r.status)
	m := r.obj(t)
	assert.Regexp(t, uuidPattern, m["request_id"], "a generated request id is a UUID")
	assert.Equal(t, m["request_id"], r.header.Get("X-Request-Id"))
	assert.Equal(t, map[string]any{"type": "invalid_request_error", "message": "Missing required field: name", "param": "name"}, m["error"])

	assert.Regexp(t, uuidPattern, a.req("GET", "models", nil).header.Get("X-Request-Id"), "successes carry a request id too")
}

func TestNotFound(t *testing.T) {
	a := newAPI(t)
	for _, tt := range []struct{ path, msg string }{
		{"agents/agent_x", "Agent 'agent_x' was not found."},
		{"environments/env_x", "Environment 'env_x' was not found."},
		{"sessions/sess_x", "Session 'sess_x' was not found."},
		{"sessions/sess_x/events", "Session 'sess_x' was not found."},
		{"sessions/sess_x/events/stream", "Session 'sess_x' was not found."},
		{"agents/agent_x/versions", "Agent 'agent_x' was not found."},
	} {
		r := a.req("GET", tt.path, nil)
		require.Equal(t, 404, r.status, tt.path)
		typ, msg, _ := r.errorOf(t)
		assert.Equal(t, "not_found_error", typ, tt.path)
		assert.Equal(t, tt.msg, msg, tt.path)
	}

	for _, tt := range []struct{ method, path string }{
		{"GET", "nope"},
		{"GET", "/api/v2/agents"},
		{"PUT", "agents"},             // a known path with another method
		{"GET", "sessions/x/turns/y"}, // legacy, never implemented
		{"GET", "agents/a/b/c"},
	} {
		r := a.req(tt.method, tt.path, nil, "Authorization", "")
		assert.Equal(t, 404, r.status, "%s %s", tt.method, tt.path)
		assert.Equal(t, "404 page not found\n", string(r.body), "%s %s", tt.method, tt.path)
		assert.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/plain"))
	}
}

func TestModels(t *testing.T) {
	a := newAPI(t)
	m := a.ok(200, "GET", "models", nil)
	assert.Equal(t, false, m["has_more"])
	assert.NotContains(t, m, "first_id")
	data := m["data"].([]any)
	require.Len(t, data, 2)
	ultimate, auto := data[0].(map[string]any), data[1].(map[string]any)
	assert.Equal(t, "ultimate", ultimate["id"])
	assert.Equal(t, "model", ultimate["type"])
	assert.Equal(t, 1.6, ultimate["price_factor"])
	assert.Equal(t, []any{"low", "medium", "high", "xhigh", "max"}, ultimate["efforts"])
	assert.Equal(t, float64(200000), ultimate["default_context_window"])
	assert.Equal(t, "auto", auto["id"])
	assert.Equal(t, true, auto["is_enabled"])
	assert.NotContains(t, auto, "efforts")
}

// TestCloseEndsEverything checks that Close ends open streams and turns,
// and that no goroutine of the server outlives it.
func TestCloseEndsEverything(t *testing.T) {
	base := runtime.NumGoroutine()

	srv := Start(WithHeartbeatInterval(time.Millisecond), WithAgent(func(turn *Turn) {
		turn.CallCustomTool("wait", nil) // blocks until the server closes
	}))
	hc := &http.Client{Transport: &http.Transport{}}
	sessionID := srv.SeedSession(srv.SeedAgent("a"), srv.SeedEnvironment("e"))

	var bodies []io.ReadCloser
	for range 3 {
		req, err := http.NewRequest("GET", srv.URL+"sessions/"+sessionID+"/events/stream", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		resp, err := hc.Do(req)
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode)
		bodies = append(bodies, resp.Body)
	}
	req, err := http.NewRequest("POST", srv.URL+"sessions/"+sessionID+"/events",
		strings.NewReader(`{"events":[{"type":"user.message","content":[{"type":"text","text":"hi"}]}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 202, resp.StatusCode)
	require.Eventually(t, func() bool {
		st, _ := srv.Session(sessionID)
		return st.StopReason == "requires_action"
	}, wait, time.Millisecond)

	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(wait):
		t.Fatal("Close did not return")
	}
	srv.Close() // idempotent
	for _, b := range bodies {
		_, err := io.Copy(io.Discard, b)
		assert.NoError(t, err, "streams end cleanly on Close")
		b.Close()
	}
	hc.CloseIdleConnections()

	assertNoLeak(t, base)
}

func TestIDsAndTimestamps(t *testing.T) {
	a := newAPI(t)
	sessionID := a.createSession()
	assert.Regexp(t, `^sess_[0-9a-f]{32}$`, sessionID)
	s := a.ok(200, "GET", "sessions/"+sessionID, nil)
	assert.Regexp(t, `^env_[0-9a-f]{32}$`, s["environment_id"])
	assert.Regexp(t, `^agent_[0-9a-f]{32}$`, s["agent"].(map[string]any)["id"])
	assert.Regexp(t, timePattern, s["created_at"])
	assert.Nil(t, s["archived_at"])
	assert.Contains(t, s, "archived_at")
	d := a.send(sessionID, userMessage("hi")).obj(t)["data"].([]any)[0].(map[string]any)
	assert.Regexp(t, `^evt_[0-9a-f]{32}$`, d["id"])
	assert.Regexp(t, timePattern, d["processed_at"])
}

// assertNoLeak waits until at most base goroutines run.
func assertNoLeak(t *testing.T, base int) {
	t.Helper()
	leakcheck.Wait(t, base, runtime.Gosched)
}
