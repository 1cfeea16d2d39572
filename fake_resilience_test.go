package qoder_test

// Resilience tests against the in-process fake (qodertest): retries,
// idempotency, stream resumption and turns, driven by the fake's fault
// injection (CutStreams, SilenceStreams, FailRequests). Every wait has a
// deadline; nothing sleeps for a fixed time.
//
// Speed: after a dropped connection the stream waits the client's backoff
// (about half a second) before it reconnects. Tests that drop many
// connections use frRetryHint, a transport that prefixes every event-stream
// body with the standard SSE field "retry: 1" (the server's suggested
// reconnect delay, which the stream honours), so a reconnect takes a
// millisecond. The bytes the fake writes, and so where its cuts land, are
// unchanged. A few tests keep the real backoff on purpose.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/internal/leakcheck"
	"github.com/qoder-go/qoder/qodertest"
)

// frWait bounds every wait of these tests.
const frWait = 10 * time.Second

// frEnv is one fake server with a session and a client that has a transport
// of its own (so that its idle connections can be closed for goroutine
// counts).
type frEnv struct {
	srv     *qodertest.Server
	client  *qoder.Client
	hc      *http.Client
	session string
}

// frNew starts a fake whose agent runs script (EchoAgent when nil), seeds a
// session, and makes a client. fast installs frRetryHint.
func frNew(t *testing.T, script func(*qodertest.Turn), fast bool, opts ...qodertest.Option) *frEnv {
	t.Helper()
	if script != nil {
		opts = append([]qodertest.Option{qodertest.WithAgent(script)}, opts...)
	}
	srv := qodertest.NewServer(t, opts...)
	var rt http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
	if fast {
		rt = frRetryHint{base: rt}
	}
	hc := &http.Client{Transport: rt}
	t.Cleanup(hc.CloseIdleConnections)
	return &frEnv{
		srv:     srv,
		client:  srv.Client(qoder.WithHTTPClient(hc)),
		hc:      hc,
		session: srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env")),
	}
}

// frRetryHint prefixes each successful event-stream body with "retry: 1",
// the SSE field by which a server sets the reconnect delay (1 ms here).
type frRetryHint struct{ base http.RoundTripper }

func (rt frRetryHint) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		resp.Body = frPrefixedBody{Reader: io.MultiReader(strings.NewReader("retry: 1\n\n"), resp.Body), Closer: resp.Body}
	}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the base
// transport.
func (rt frRetryHint) CloseIdleConnections() {
	if c, ok := rt.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

type frPrefixedBody struct {
	io.Reader
	io.Closer
}

// frCtx is a context for one test step, bounded by frWait.
func frCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), frWait)
	t.Cleanup(cancel)
	return ctx
}

// frEvent is a buffered event as the server holds it.
type frEvent struct {
	ID, Type string
	Raw      json.RawMessage
}

// frHistory returns the session's buffered events from index from on.
func frHistory(t *testing.T, srv *qodertest.Server, sessionID string, from int) []frEvent {
	t.Helper()
	raws := srv.Events(sessionID)
	require.GreaterOrEqual(t, len(raws), from)
	out := make([]frEvent, 0, len(raws)-from)
	for _, raw := range raws[from:] {
		var e struct{ ID, Type string }
		require.NoError(t, json.Unmarshal(raw, &e))
		out = append(out, frEvent{ID: e.ID, Type: e.Type, Raw: raw})
	}
	return out
}

func frHistoryIDs(evs []frEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

// frFrameLen is the size of the SSE frame the fake writes for ev.
func frFrameLen(ev frEvent) int {
	return len("id: "+ev.ID+"\nevent: "+ev.Type+"\ndata: ") + len(ev.Raw) + len("\n\n")
}

// frBufferedIDs returns the ids of the delivered events, delta frames
// excepted.
func frBufferedIDs(evs []qoder.Event) []string {
	var out []string
	for _, ev := range evs {
		switch ev.(type) {
		case *qoder.EventStart, *qoder.EventDelta:
			continue
		}
		out = append(out, ev.EventID())
	}
	return out
}

func frTypes(evs []qoder.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.EventType()
	}
	return out
}

// frRequests returns the requests with method to BasePath+path.
func frRequests(srv *qodertest.Server, method, path string) []qodertest.Request {
	var out []qodertest.Request
	for _, r := range srv.Requests() {
		if r.Method == method && r.Path == qodertest.BasePath+path {
			out = append(out, r)
		}
	}
	return out
}

func frStreamRequests(srv *qodertest.Server, sessionID string) []qodertest.Request {
	return frRequests(srv, http.MethodGet, "sessions/"+sessionID+"/events/stream")
}

func frEventPosts(srv *qodertest.Server, sessionID string) []qodertest.Request {
	return frRequests(srv, http.MethodPost, "sessions/"+sessionID+"/events")
}

// frPostsWith returns the POSTs to the session's events whose body holds an
// input event of type typ.
func frPostsWith(t *testing.T, srv *qodertest.Server, sessionID, typ string) []qodertest.Request {
	t.Helper()
	var out []qodertest.Request
	for _, r := range frEventPosts(srv, sessionID) {
		var body struct {
			Events []struct{ Type string } `json:"events"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &body), "body %s", r.Body)
		for _, ev := range body.Events {
			if ev.Type == typ {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func frLastEventIDs(reqs []qodertest.Request) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Header.Get("Last-Event-ID")
	}
	return out
}

func frCount(types []string, typ string) int {
	n := 0
	for _, x := range types {
		if x == typ {
			n++
		}
	}
	return n
}

// frEndTurn stops reading at the idle that ends a turn.
func frEndTurn(ev qoder.Event) bool {
	idle, ok := ev.(*qoder.SessionStatusIdleEvent)
	return ok && idle.StopReason.Type == qoder.StopReasonEndTurn
}

// frRead reads the stream's channel until stop reports true (then it closes
// the stream), or the channel closes. It fails the test after frWait.
func frRead(t *testing.T, s *qoder.Stream, stop func(qoder.Event) bool) []qoder.Event {
	t.Helper()
	var got []qoder.Event
	timer := time.NewTimer(frWait)
	defer timer.Stop()
	ch := s.Events()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, ev)
			if stop != nil && stop(ev) {
				require.NoError(t, s.Close())
				return got
			}
		case <-timer.C:
			_ = s.Close()
			require.FailNowf(t, "stream stalled",
				"no end of the stream within %s; delivered %v; err %v", frWait, frTypes(got), s.Err())
		}
	}
}

// frWaitFor polls cond until it holds, failing the test after frWait.
func frWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(frWait)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNowf(t, "timeout", "waited %s for %s", frWait, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// frToolScript is a turn of nine events: status_running, the user.message,
// span start, thinking, a Bash tool use and result, a message streamed in
// four parts, span end and the idle.
func frToolScript(t *qodertest.Turn) {
	t.Think()
	t.UseTool("Bash", map[string]string{"command": "echo hi"}, "hi\n")
	t.SayDeltas("Hel", "lo, ", "wor", "ld")
}

const frToolScriptText = "Hello, world"

// ---------------------------------------------------------------------------
// Retries

func TestFakeResilience_Retries(t *testing.T) {
	const html = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
	type env struct {
		*frEnv
		agentID string
	}
	getAgent := func(ctx context.Context, e env) error {
		_, err := e.client.Agents.Get(ctx, e.agentID)
		return err
	}
	cases := []struct {
		name    string
		fail    qodertest.Failure
		opts    []qoder.Option
		call    func(context.Context, env) error
		method  string
		path    func(env) string
		want    int // requests the call makes
		wantErr error
		check   func(t *testing.T, e env, err error, reqs []qodertest.Request)
	}{
		{
			name:   "GET 503 twice then success",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 503, RetryAfter: "0", Times: 2},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 3,
		},
		{
			name: "POST create 503 twice then success, one key, one agent",
			fail: qodertest.Failure{Method: "POST", Path: "agents", Status: 503, RetryAfter: "0", Times: 2},
			call: func(ctx context.Context, e env) error {
				_, err := e.client.Agents.Create(ctx, &qoder.AgentCreateParams{Name: "retried-agent", Model: qoder.ModelConfig{ID: "ultimate"}})
				return err
			},
			method: "POST", path: func(env) string { return "agents" },
			want: 3,
			check: func(t *testing.T, e env, _ error, reqs []qodertest.Request) {
				key := reqs[0].Header.Get("Idempotency-Key")
				require.NotEmpty(t, key, "a POST carries an Idempotency-Key")
				for i, r := range reqs {
					assert.Equal(t, key, r.Header.Get("Idempotency-Key"), "attempt %d must reuse the key of the first", i+1)
					assert.Equal(t, string(reqs[0].Body), string(r.Body), "attempt %d must replay the same body", i+1)
				}
				n := 0
				for a, err := range e.client.Agents.All(frCtx(t), nil) {
					require.NoError(t, err)
					if a.Name == "retried-agent" {
						n++
					}
				}
				assert.Equal(t, 1, n, "the retried create must make exactly one agent")
			},
		},
		{
			name: "POST send 503 twice then success, one user.message",
			fail: qodertest.Failure{Method: "POST", Path: "sessions/*/events", Status: 503, RetryAfter: "0", Times: 2},
			call: func(ctx context.Context, e env) error {
				_, err := e.client.Events.SendMessage(ctx, e.session, "hello")
				return err
			},
			method: "POST", path: func(e env) string { return "sessions/" + e.session + "/events" },
			want: 3,
			check: func(t *testing.T, e env, _ error, reqs []qodertest.Request) {
				assert.Equal(t, reqs[0].Header.Get("Idempotency-Key"), reqs[2].Header.Get("Idempotency-Key"))
				frWaitFor(t, "the turn to end", func() bool {
					s, _ := e.srv.Session(e.session)
					return s.Status == "idle" && s.StopReason == "end_turn"
				})
				assert.Equal(t, 1, frCount(e.srv.EventTypes(e.session), "user.message"), "the retried send must be accepted once")
			},
		},
		{
			name:   "GET 409 is not retried",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 409},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 1, wantErr: qoder.ErrConflict,
		},
		{
			name: "POST 409 is not retried",
			fail: qodertest.Failure{Method: "POST", Path: "sessions/*/events", Status: 409},
			call: func(ctx context.Context, e env) error {
				_, err := e.client.Events.SendMessage(ctx, e.session, "hello")
				return err
			},
			method: "POST", path: func(e env) string { return "sessions/" + e.session + "/events" },
			want: 1, wantErr: qoder.ErrConflict,
			check: func(t *testing.T, e env, _ error, _ []qodertest.Request) {
				assert.Empty(t, e.srv.EventTypes(e.session), "the refused send must not reach the session")
			},
		},
		{
			name:   "429 with Retry-After 0 twice then success",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 429, RetryAfter: "0", Times: 2},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 3,
			check: func(t *testing.T, _ env, _ error, reqs []qodertest.Request) {
				// Without the header the waits would be 375–500 ms, then 750–1000 ms.
				for i := 1; i < len(reqs); i++ {
					assert.Less(t, reqs[i].Time.Sub(reqs[i-1].Time), 300*time.Millisecond, "Retry-After: 0 means retry at once (attempt %d)", i+1)
				}
			},
		},
		{
			name:   "429 with Retry-After 1 waits a second",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 429, RetryAfter: "1"},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 2,
			check: func(t *testing.T, _ env, _ error, reqs []qodertest.Request) {
				// The default first backoff is at most 500 ms.
				assert.GreaterOrEqual(t, reqs[1].Time.Sub(reqs[0].Time), time.Second, "Retry-After: 1 must be honoured")
			},
		},
		{
			name:   "retries exhausted",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 503, RetryAfter: "0", Times: 3},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 3, wantErr: qoder.ErrServer,
			check: func(t *testing.T, _ env, err error, _ []qodertest.Request) {
				var apiErr *qoder.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, 503, apiErr.StatusCode)
				assert.Equal(t, qoder.ErrorTypeAPI, apiErr.Type)
				assert.Contains(t, apiErr.Message, "Injected failure")
				require.NotEmpty(t, apiErr.RequestID)
				assert.Equal(t, apiErr.Header.Get("X-Request-Id"), apiErr.RequestID, "the request id of the last attempt")
				assert.Contains(t, err.Error(), "request_id="+apiErr.RequestID)
			},
		},
		{
			name:   "retries exhausted with WithMaxRetries(4)",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 500, RetryAfter: "0", Times: 5},
			opts:   []qoder.Option{qoder.WithMaxRetries(4)},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 5, wantErr: qoder.ErrServer,
		},
		{
			name: "WithRequestMaxRetries(0) makes one attempt",
			fail: qodertest.Failure{Method: "GET", Path: "agents/*", Status: 503, RetryAfter: "0"},
			call: func(ctx context.Context, e env) error {
				_, err := e.client.Agents.Get(ctx, e.agentID, qoder.WithRequestMaxRetries(0))
				return err
			},
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 1, wantErr: qoder.ErrServer,
		},
		{
			name:   "HTML gateway page gives a readable APIError",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 502, Body: html, RetryAfter: "0", Times: 3},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 3, wantErr: qoder.ErrServer,
			check: func(t *testing.T, _ env, err error, _ []qodertest.Request) {
				var apiErr *qoder.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, 502, apiErr.StatusCode)
				assert.Empty(t, apiErr.Type, "a gateway page has no error type")
				assert.Contains(t, strings.ToLower(apiErr.Message), "bad gateway")
				assert.NotContains(t, err.Error(), "<", "no markup in the message: %q", err.Error())
				assert.Equal(t, html, string(apiErr.Body), "the raw body is kept")
				assert.NotEmpty(t, apiErr.RequestID, "the request id comes from X-Request-Id")
			},
		},
		{
			name:   "plain-text 503 page gives its first line",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 503, Body: "upstream connect error\nreset reason: overflow", RetryAfter: "0", Times: 3},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 3, wantErr: qoder.ErrServer,
			check: func(t *testing.T, _ env, err error, _ []qodertest.Request) {
				var apiErr *qoder.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, "upstream connect error", apiErr.Message)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fe := frNew(t, nil, false)
			e := env{frEnv: fe, agentID: fe.srv.SeedAgent("target")}
			if tc.opts != nil {
				e.client = fe.srv.Client(append([]qoder.Option{qoder.WithHTTPClient(fe.hc)}, tc.opts...)...)
			}
			e.srv.FailRequests(tc.fail)
			err := tc.call(frCtx(t), e)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				var apiErr *qoder.APIError
				require.ErrorAs(t, err, &apiErr, "want *APIError, got %T", err)
			} else {
				require.NoError(t, err)
			}
			reqs := frRequests(e.srv, tc.method, tc.path(e))
			require.Len(t, reqs, tc.want, "requests made")
			if tc.check != nil {
				tc.check(t, e, err, reqs)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Idempotency

func TestFakeResilience_Idempotency(t *testing.T) {
	create := func(e *frEnv, name, key string, into **http.Response) (*qoder.Agent, error) {
		opts := []qoder.RequestOption{qoder.WithIdempotencyKey(key)}
		if into != nil {
			opts = append(opts, qoder.WithResponseInto(into))
		}
		ctx, cancel := context.WithTimeout(context.Background(), frWait)
		defer cancel()
		return e.client.Agents.Create(ctx, &qoder.AgentCreateParams{Name: name, Model: qoder.ModelConfig{ID: "ultimate"}}, opts...)
	}
	count := func(t *testing.T, e *frEnv, name string) int {
		n := 0
		for a, err := range e.client.Agents.All(frCtx(t), nil) {
			require.NoError(t, err)
			if a.Name == name {
				n++
			}
		}
		return n
	}

	t.Run("same key and body give the same resource", func(t *testing.T) {
		e := frNew(t, nil, false)
		var resp *http.Response
		first, err := create(e, "idem", "key-1", nil)
		require.NoError(t, err)
		second, err := create(e, "idem", "key-1", &resp)
		require.NoError(t, err)
		assert.Equal(t, first.ID, second.ID)
		require.NotNil(t, resp)
		assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
		assert.Equal(t, 1, count(t, e, "idem"))
		for _, r := range frRequests(e.srv, "POST", "agents") {
			assert.Equal(t, "key-1", r.Header.Get("Idempotency-Key"), "WithIdempotencyKey replaces the minted key")
		}
	})

	t.Run("same key with another body is a conflict", func(t *testing.T) {
		e := frNew(t, nil, false)
		_, err := create(e, "idem-a", "key-2", nil)
		require.NoError(t, err)
		_, err = create(e, "idem-b", "key-2", nil)
		require.ErrorIs(t, err, qoder.ErrConflict)
		var apiErr *qoder.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 409, apiErr.StatusCode)
		assert.Len(t, frRequests(e.srv, "POST", "agents"), 2, "a 409 is not retried")
		assert.Equal(t, 0, count(t, e, "idem-b"))
	})

	t.Run("a retried keyed create replays for a later call", func(t *testing.T) {
		e := frNew(t, nil, false)
		e.srv.FailRequests(qodertest.Failure{Method: "POST", Path: "agents", Status: 503, RetryAfter: "0"})
		first, err := create(e, "idem-r", "key-3", nil)
		require.NoError(t, err)
		second, err := create(e, "idem-r", "key-3", nil)
		require.NoError(t, err)
		assert.Equal(t, first.ID, second.ID, "the 503 was not stored; the success was")
		assert.Len(t, frRequests(e.srv, "POST", "agents"), 3)
		assert.Equal(t, 1, count(t, e, "idem-r"))
	})

	t.Run("different keys make different resources", func(t *testing.T) {
		e := frNew(t, nil, false)
		a, err := create(e, "idem-d", "key-4", nil)
		require.NoError(t, err)
		b, err := create(e, "idem-d", "key-5", nil)
		require.NoError(t, err)
		assert.NotEqual(t, a.ID, b.ID)
		assert.Equal(t, 2, count(t, e, "idem-d"))
	})
}

// ---------------------------------------------------------------------------
// Streams

// TestFakeResilience_StreamCutAfterEvents drops the first connections after
// N frames at every position of a scripted turn.
func TestFakeResilience_StreamCutAfterEvents(t *testing.T) {
	type tc struct {
		name       string
		cut        qodertest.Cut
		fast       bool
		goroutines bool
	}
	var cases []tc
	for n := 1; n <= 8; n++ {
		cases = append(cases, tc{name: fmt.Sprintf("after %d", n), cut: qodertest.Cut{AfterEvents: n}, fast: true})
	}
	cases = append(cases,
		tc{name: "after 3 with the default backoff", cut: qodertest.Cut{AfterEvents: 3}, goroutines: true},
		tc{name: "every 2 events three times", cut: qodertest.Cut{AfterEvents: 2, Times: 3}, fast: true, goroutines: true},
		tc{name: "every event seven times", cut: qodertest.Cut{AfterEvents: 1, Times: 7}, fast: true},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := frNew(t, frToolScript, c.fast)
			base := runtime.NumGoroutine()
			ctx := frCtx(t)
			env.srv.CutStreams(c.cut)
			s, err := env.client.Events.Stream(ctx, env.session, nil)
			require.NoError(t, err)
			_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
			require.NoError(t, err)
			got := frRead(t, s, frEndTurn)
			require.NoError(t, s.Err())

			hist := frHistory(t, env.srv, env.session, 0)
			require.Len(t, hist, 9, "the scripted turn")
			ids := frHistoryIDs(hist)
			require.Equal(t, ids, frBufferedIDs(got), "every event exactly once, in order")
			assert.Equal(t, ids[len(ids)-1], s.LastEventID())

			times := max(c.cut.Times, 1)
			want := []string{""}
			for i := 1; i <= times; i++ {
				want = append(want, ids[i*c.cut.AfterEvents-1])
			}
			assert.Equal(t, want, frLastEventIDs(frStreamRequests(env.srv, env.session)),
				"one reconnect per cut, each from the last complete event delivered")
			if c.goroutines {
				frCheckGoroutines(t, env, base)
			}
		})
	}
}

// TestFakeResilience_StreamCutAtEveryByte drops the first connection of a
// small turn after every byte offset, including inside the "id:" line,
// inside the JSON and between the two newlines that end a frame. The
// offsets are split among parallel subtests, each with its own fake.
func TestFakeResilience_StreamCutAtEveryByte(t *testing.T) {
	script := func(t *qodertest.Turn) { t.Say("hi there") }
	// newEnv starts a fake and runs a first turn without faults: it gives a
	// resume point, so that a drop before the first complete frame resumes
	// without losing events.
	newEnv := func(t *testing.T) *frEnv {
		env := frNew(t, script, true, qodertest.WithHeartbeatInterval(0))
		_, err := env.client.Sessions.Run(frCtx(t), env.session, "hi")
		require.NoError(t, err)
		return env
	}
	total := 0
	calib := newEnv(t)
	for _, ev := range frHistory(t, calib.srv, calib.session, 0) {
		total += frFrameLen(ev)
	}
	require.Greater(t, total, 500, "the turn's size in bytes")
	step := 1
	if testing.Short() {
		step = 7
	}
	const chunk = 180
	var reconnects atomic.Int64
	t.Run("offsets", func(t *testing.T) {
		for from := 1; from <= total+3; from += chunk {
			to := min(from+chunk-1, total+3)
			t.Run(fmt.Sprintf("%d-%d", from, to), func(t *testing.T) {
				t.Parallel()
				env := newEnv(t)
				var n int
				var gaps time.Duration
				for k := from; k <= to; k += step {
					gap, ok := frCutAtByte(t, env, k)
					if !ok {
						continue
					}
					reconnects.Add(1)
					n++
					gaps += gap
					// Fail fast rather than crawl through the sweep at half a
					// second per offset.
					if n >= 10 && gaps/time.Duration(n) > 150*time.Millisecond {
						require.FailNowf(t, "slow reconnects",
							"the mean time from opening to reconnecting is %s over %d drops: the stream does not honour the server's \"retry: 1\" (SSE reconnection time)", gaps/time.Duration(n), n)
					}
				}
			})
		}
	})
	// Guard against a sweep that cut nothing: every offset short of the
	// last frame's end must have caused a reconnect.
	assert.Greater(t, reconnects.Load(), int64((total-300)/step), "offsets that led to a reconnect")
	t.Logf("swept byte offsets 1..%d (step %d) of a %d-byte turn; %d reconnects", total+3, step, total, reconnects.Load())
}

// frCutAtByte runs one turn on a stream whose first connection drops after
// k bytes, checks it, and reports whether the stream reconnected and how
// long after the first connection.
func frCutAtByte(t *testing.T, env *frEnv, k int) (time.Duration, bool) {
	t.Helper()
	ctx := frCtx(t)
	before := len(env.srv.Events(env.session))
	resume := frHistory(t, env.srv, env.session, before-1)[0].ID
	nreq := len(frStreamRequests(env.srv, env.session))

	env.srv.CutStreams(qodertest.Cut{AfterBytes: k})
	s, err := env.client.Events.Stream(ctx, env.session, &qoder.StreamParams{LastEventID: resume})
	require.NoError(t, err, "offset %d", k)
	_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
	require.NoError(t, err, "offset %d", k)
	got := frRead(t, s, frEndTurn)
	require.NoError(t, s.Err(), "offset %d", k)
	env.srv.ClearFaults()

	turn := frHistory(t, env.srv, env.session, before)
	require.Equal(t, frHistoryIDs(turn), frBufferedIDs(got), "offset %d: every event exactly once, in order", k)

	// The last frame complete within the first k bytes.
	wantLEI, sum, complete := resume, 0, false
	for _, ev := range turn {
		sum += frFrameLen(ev)
		if sum <= k {
			wantLEI = ev.ID
			complete = ev.ID == turn[len(turn)-1].ID
		}
	}
	reqs := frStreamRequests(env.srv, env.session)[nreq:]
	require.NotEmpty(t, reqs)
	require.Equal(t, resume, reqs[0].Header.Get("Last-Event-ID"), "offset %d", k)
	if k >= sum || complete {
		return 0, false // the idle was delivered whole; a reconnect may or may not have raced the Close
	}
	require.Len(t, reqs, 2, "offset %d of %d: one drop, one reconnect", k, sum)
	require.Equal(t, wantLEI, reqs[1].Header.Get("Last-Event-ID"),
		"offset %d: the reconnect must resume from the last complete frame", k)
	return reqs[1].Time.Sub(reqs[0].Time), true
}

// TestFakeResilience_StreamDeltasCut cuts a stream that asked for
// agent.message deltas after every frame of a turn; a MessageAccumulator
// fed from it must end with exactly the final text, never showing a text
// that is not a prefix of it.
func TestFakeResilience_StreamDeltasCut(t *testing.T) {
	parts := []string{"Hel", "lo, ", "wor", "ld"}
	script := func(t *qodertest.Turn) {
		t.Think()
		t.UseTool("Bash", map[string]string{"command": "true"}, "")
		t.SayDeltas(parts...)
	}
	const frames = 9 + 1 + 4 // buffered events, the event_start, the deltas
	env := frNew(t, script, true)
	for n := 1; n < frames; n++ {
		ctx := frCtx(t)
		before := len(env.srv.Events(env.session))
		var resume string
		if before > 0 {
			resume = frHistory(t, env.srv, env.session, before-1)[0].ID
		}
		nreq := len(frStreamRequests(env.srv, env.session))
		env.srv.CutStreams(qodertest.Cut{AfterEvents: n})
		s, err := env.client.Events.Stream(ctx, env.session, &qoder.StreamParams{
			LastEventID: resume,
			EventDeltas: []string{qoder.EventTypeAgentMessage},
		})
		require.NoError(t, err)
		_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
		require.NoError(t, err)
		got := frRead(t, s, frEndTurn)
		require.NoError(t, s.Err())

		turn := frHistory(t, env.srv, env.session, before)
		require.Equal(t, frHistoryIDs(turn), frBufferedIDs(got), "cut after %d frames: buffered events exactly once, in order", n)

		var acc qoder.MessageAccumulator
		var msgID string
		for _, ev := range got {
			if id, text, changed := acc.Add(ev); changed {
				msgID = id
				assert.True(t, strings.HasPrefix(frToolScriptText, text),
					"cut after %d frames: the accumulated text %q is not a prefix of the final text", n, text)
			}
		}
		require.NotEmpty(t, msgID)
		assert.True(t, acc.Final(msgID))
		assert.Equal(t, frToolScriptText, acc.Text(msgID), "cut after %d frames", n)

		// Frames of the first connection: buffered events with the message's
		// start and deltas before it.
		var wire []frEvent
		for _, ev := range turn {
			if ev.Type == qoder.EventTypeAgentMessage {
				for range 1 + len(parts) {
					wire = append(wire, frEvent{})
				}
			}
			wire = append(wire, ev)
		}
		wantLEI := resume
		for _, f := range wire[:n] {
			if f.ID != "" {
				wantLEI = f.ID
			}
		}
		reqs := frStreamRequests(env.srv, env.session)[nreq:]
		assert.Equal(t, []string{resume, wantLEI}, frLastEventIDs(reqs), "cut after %d frames", n)
	}
}

// TestFakeResilience_StreamDeltasReplayInProgress drops the stream while a
// message is still being generated: the reconnect replays its event_start
// and the deltas so far, and the accumulator rebuilds the text without
// duplicating it.
func TestFakeResilience_StreamDeltasReplayInProgress(t *testing.T) {
	for _, n := range []int{3, 4, 5, 6} { // running, user.message, span start, event_start, delta, delta
		t.Run(fmt.Sprintf("cut after %d frames", n), func(t *testing.T) {
			gate := make(chan struct{})
			script := func(t *qodertest.Turn) {
				m := t.StartMessage()
				m.Delta("Hel")
				m.Delta("lo, ")
				select {
				case <-gate:
				case <-t.Context().Done():
					return
				}
				m.Delta("wor")
				m.Delta("ld")
				m.End()
			}
			env := frNew(t, script, true)
			ctx := frCtx(t)
			env.srv.CutStreams(qodertest.Cut{AfterEvents: n})
			s, err := env.client.Events.Stream(ctx, env.session, &qoder.StreamParams{EventDeltas: []string{qoder.EventTypeAgentMessage}})
			require.NoError(t, err)
			_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
			require.NoError(t, err)

			// The first connection delivers the event_start when n >= 4; the
			// replay on the second connection delivers it again.
			wantStarts := 1
			if n >= 4 {
				wantStarts = 2
			}
			var acc qoder.MessageAccumulator
			var got []qoder.Event
			starts := 0
			timer := time.NewTimer(frWait)
			defer timer.Stop()
			ch := s.Events()
		loop:
			for {
				select {
				case ev, ok := <-ch:
					require.True(t, ok, "stream ended early: %v, %v", frTypes(got), s.Err())
					got = append(got, ev)
					if _, text, changed := acc.Add(ev); changed {
						assert.True(t, strings.HasPrefix("Hello, world", text), "accumulated %q", text)
					}
					if _, ok := ev.(*qoder.EventStart); ok {
						if starts++; starts == wantStarts {
							close(gate) // the replay arrived: let the agent finish
						}
					}
					if frEndTurn(ev) {
						break loop
					}
				case <-timer.C:
					require.FailNowf(t, "timeout", "delivered %v; the replay of the event_start (%d expected) never came", frTypes(got), wantStarts)
				}
			}
			require.NoError(t, s.Close())
			require.NoError(t, s.Err())
			assert.Equal(t, wantStarts, starts)
			msgs := 0
			for _, ev := range got {
				if m, ok := ev.(*qoder.AgentMessageEvent); ok {
					msgs++
					assert.Equal(t, "Hello, world", acc.Text(m.ID))
					assert.True(t, acc.Final(m.ID))
				}
			}
			assert.Equal(t, 1, msgs)
			assert.Equal(t, frHistoryIDs(frHistory(t, env.srv, env.session, 0)), frBufferedIDs(got))
			assert.Len(t, frStreamRequests(env.srv, env.session), 2)
		})
	}
}

// TestFakeResilience_StreamSilence stalls connections: the idle timeout
// must notice and resume; a stall shorter than it must not.
func TestFakeResilience_StreamSilence(t *testing.T) {
	cases := []struct {
		name    string
		silence qodertest.Silence
		idle    time.Duration
		resume  bool // open the stream from a resume point (needed when nothing is delivered before the stall)
		want    int  // stream requests
		wantLEI int  // index of the event the reconnect resumes from (-1: the resume point)
	}{
		{name: "silent after 3 events", silence: qodertest.Silence{AfterEvents: 3}, idle: 250 * time.Millisecond, want: 2, wantLEI: 2},
		{name: "silent after 7 events", silence: qodertest.Silence{AfterEvents: 7}, idle: 250 * time.Millisecond, want: 2, wantLEI: 6},
		{name: "silent from the start", silence: qodertest.Silence{}, idle: 250 * time.Millisecond, resume: true, want: 2, wantLEI: -1},
		{name: "two stalls in a row", silence: qodertest.Silence{AfterEvents: 2, Times: 2}, idle: 250 * time.Millisecond, want: 3, wantLEI: 1},
		{name: "a short stall is waited out", silence: qodertest.Silence{AfterEvents: 3, For: 50 * time.Millisecond}, idle: 2 * time.Second, want: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := frNew(t, frToolScript, true, qodertest.WithHeartbeatInterval(20*time.Millisecond))
			ctx := frCtx(t)
			var resume string
			if c.resume {
				_, err := env.client.Sessions.Run(ctx, env.session, "warm up")
				require.NoError(t, err)
				hist := frHistory(t, env.srv, env.session, 0)
				resume = hist[len(hist)-1].ID
			}
			before := len(env.srv.Events(env.session))
			nreq := len(frStreamRequests(env.srv, env.session))
			base := runtime.NumGoroutine()
			release := env.srv.SilenceStreams(c.silence)
			t.Cleanup(release)
			start := time.Now()
			s, err := env.client.Events.Stream(ctx, env.session, &qoder.StreamParams{IdleTimeout: c.idle, LastEventID: resume})
			require.NoError(t, err)
			_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
			require.NoError(t, err)
			got := frRead(t, s, frEndTurn)
			require.NoError(t, s.Err())
			took := time.Since(start)

			turn := frHistory(t, env.srv, env.session, before)
			require.Len(t, turn, 9)
			require.Equal(t, frHistoryIDs(turn), frBufferedIDs(got), "every event exactly once, in order")
			reqs := frStreamRequests(env.srv, env.session)[nreq:]
			require.Len(t, reqs, c.want, "stream connections")
			if c.want > 1 {
				want := resume
				if c.wantLEI >= 0 {
					want = turn[c.wantLEI].ID
				}
				assert.Equal(t, want, reqs[1].Header.Get("Last-Event-ID"))
				assert.GreaterOrEqual(t, took, c.idle, "the stall lasts at least the idle timeout")
			}
			if c.want == 3 {
				assert.Equal(t, turn[2*c.silence.AfterEvents-1].ID, reqs[2].Header.Get("Last-Event-ID"))
			}
			release()
			frCheckGoroutines(t, env, base)
		})
	}
}

// TestFakeResilience_StreamOpenFailures injects failures into the first
// connection of a stream.
func TestFakeResilience_StreamOpenFailures(t *testing.T) {
	cases := []struct {
		name    string
		fail    qodertest.Failure
		params  *qoder.StreamParams
		want    int // stream requests
		wantErr []error
		status  int
	}{
		{name: "401", fail: qodertest.Failure{Status: 401}, want: 1, wantErr: []error{qoder.ErrAuthentication}, status: 401},
		{name: "403", fail: qodertest.Failure{Status: 403}, want: 1, wantErr: []error{qoder.ErrPermission}, status: 403},
		{name: "404", fail: qodertest.Failure{Status: 404}, want: 1, wantErr: []error{qoder.ErrNotFound}, status: 404},
		{name: "409", fail: qodertest.Failure{Status: 409}, want: 1, wantErr: []error{qoder.ErrConflict}, status: 409},
		{name: "401 HTML page", fail: qodertest.Failure{Status: 401, Body: "<html><body>401 Authorization Required</body></html>"}, want: 1, wantErr: []error{qoder.ErrAuthentication}, status: 401},
		{
			name: "503 with MaxReconnects 1 gives up", fail: qodertest.Failure{Status: 503, Times: 5},
			params: &qoder.StreamParams{MaxReconnects: 1},
			want:   1, wantErr: []error{qoder.ErrStreamGaveUp, qoder.ErrServer}, status: 503,
		},
		{name: "503 then success", fail: qodertest.Failure{Status: 503, RetryAfter: "0"}, want: 2},
		{name: "429 then success", fail: qodertest.Failure{Status: 429, RetryAfter: "0"}, want: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := frNew(t, frToolScript, false)
			base := runtime.NumGoroutine()
			ctx := frCtx(t)
			c.fail.Method, c.fail.Path = "GET", "sessions/*/events/stream"
			env.srv.FailRequests(c.fail)
			s, err := env.client.Events.Stream(ctx, env.session, c.params)
			reqs := frStreamRequests(env.srv, env.session)
			if c.wantErr != nil {
				require.Error(t, err)
				require.Nil(t, s)
				for _, want := range c.wantErr {
					assert.ErrorIs(t, err, want)
				}
				var apiErr *qoder.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, c.status, apiErr.StatusCode)
				assert.NotEmpty(t, apiErr.RequestID)
				assert.NotContains(t, apiErr.Message, "<")
				require.Len(t, reqs, c.want, "no retry of a final refusal")
				frCheckGoroutines(t, env, base)
				return
			}
			require.NoError(t, err)
			require.Len(t, reqs, c.want)
			// Retry-After: 0 asks for an immediate retry; the stream's own
			// backoff for a second attempt is 750–1000 ms.
			assert.Less(t, reqs[1].Time.Sub(reqs[0].Time), 500*time.Millisecond,
				"Retry-After: 0 on a refused stream connection means reconnect at once, not after the backoff (events_stream_reconnect.go reconnectPolicy.delay must not treat 0 as unset)")
			_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
			require.NoError(t, err)
			got := frRead(t, s, frEndTurn)
			assert.Equal(t, frHistoryIDs(frHistory(t, env.srv, env.session, 0)), frBufferedIDs(got))
			frCheckGoroutines(t, env, base)
		})
	}
}

// TestFakeResilience_StreamReconnectFailures drops a stream, then injects
// failures into its reconnects.
func TestFakeResilience_StreamReconnectFailures(t *testing.T) {
	cases := []struct {
		name    string
		fail    qodertest.Failure
		params  qoder.StreamParams
		want    int // stream requests
		wantErr []error
	}{
		{name: "503 twice then success", fail: qodertest.Failure{Status: 503, RetryAfter: "0", Times: 2}, want: 4},
		{name: "502 HTML twice then success", fail: qodertest.Failure{Status: 502, Body: "<html>Bad Gateway</html>", Times: 2}, want: 4},
		{name: "429 then success", fail: qodertest.Failure{Status: 429, RetryAfter: "0"}, want: 3},
		{name: "404 ends the stream", fail: qodertest.Failure{Status: 404}, want: 2, wantErr: []error{qoder.ErrNotFound}},
		{name: "401 ends the stream", fail: qodertest.Failure{Status: 401}, want: 2, wantErr: []error{qoder.ErrAuthentication}},
		{
			name: "503 beyond MaxReconnects gives up", fail: qodertest.Failure{Status: 503, Times: 10},
			params: qoder.StreamParams{MaxReconnects: 3},
			want:   4, wantErr: []error{qoder.ErrStreamGaveUp, qoder.ErrServer},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := frNew(t, frToolScript, true)
			base := runtime.NumGoroutine()
			ctx := frCtx(t)
			env.srv.CutStreams(qodertest.Cut{AfterEvents: 2})
			s, err := env.client.Events.Stream(ctx, env.session, &c.params)
			require.NoError(t, err)
			// Registered after the first connection, so only reconnects fail.
			c.fail.Method, c.fail.Path = "GET", "sessions/*/events/stream"
			env.srv.FailRequests(c.fail)
			_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
			require.NoError(t, err)
			got := frRead(t, s, frEndTurn)
			hist := frHistory(t, env.srv, env.session, 0)
			reqs := frStreamRequests(env.srv, env.session)
			require.Len(t, reqs, c.want, "stream connections")
			for i, r := range reqs[1:] {
				assert.Equal(t, hist[1].ID, r.Header.Get("Last-Event-ID"), "reconnect %d resumes from the second event", i+1)
			}
			if c.wantErr != nil {
				require.Len(t, got, 2, "the events before the drop")
				err := s.Err()
				for _, want := range c.wantErr {
					assert.ErrorIs(t, err, want)
				}
				var apiErr *qoder.APIError
				assert.ErrorAs(t, err, &apiErr)
			} else {
				require.NoError(t, s.Err())
				assert.Equal(t, frHistoryIDs(hist), frBufferedIDs(got), "every event exactly once, in order")
			}
			frCheckGoroutines(t, env, base)
		})
	}
}

// TestFakeResilience_StreamTerminal ends streams with terminal events: the
// channel closes by itself with a nil Err and no reconnect.
func TestFakeResilience_StreamTerminal(t *testing.T) {
	cases := []struct {
		name   string
		cut    *qodertest.Cut
		delete bool
		want   int // stream requests
		last   string
	}{
		{name: "terminated", want: 1, last: qoder.EventTypeSessionStatusTerminated},
		{name: "terminated, connection cut right after it", cut: &qodertest.Cut{AfterEvents: 6}, want: 1, last: qoder.EventTypeSessionStatusTerminated},
		{name: "terminated, connection cut right before it", cut: &qodertest.Cut{AfterEvents: 5}, want: 2, last: qoder.EventTypeSessionStatusTerminated},
		{name: "deleted", delete: true, want: 1, last: qoder.EventTypeSessionDeleted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			said := make(chan struct{})
			script := func(t *qodertest.Turn) {
				t.Say("bye")
				if c.delete {
					close(said)
					<-t.Context().Done()
					return
				}
				t.Terminate()
			}
			env := frNew(t, script, true)
			base := runtime.NumGoroutine()
			ctx := frCtx(t)
			if c.cut != nil {
				env.srv.CutStreams(*c.cut)
			}
			s, err := env.client.Events.Stream(ctx, env.session, nil)
			require.NoError(t, err)
			_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
			require.NoError(t, err)
			if c.delete {
				select {
				case <-said:
				case <-time.After(frWait):
					require.FailNow(t, "the agent never spoke")
				}
				_, err := env.client.Sessions.Delete(ctx, env.session)
				require.NoError(t, err)
			}
			got := frRead(t, s, nil) // until the channel closes by itself
			require.NoError(t, s.Err(), "a terminal event ends the stream cleanly")
			require.NotEmpty(t, got)
			assert.Equal(t, c.last, got[len(got)-1].EventType())
			assert.Len(t, frStreamRequests(env.srv, env.session), c.want, "no reconnect after a terminal event")
			// Next after the end stays false and the error stays nil.
			assert.False(t, s.Next())
			assert.NoError(t, s.Err())
			require.NoError(t, s.Close())
			frCheckGoroutines(t, env, base)
		})
	}
}

// ---------------------------------------------------------------------------
// Turns

// TestFakeResilience_RunCustomToolExactlyOnce cuts the turn's stream
// around the custom tool use; the tool must be answered exactly once.
func TestFakeResilience_RunCustomToolExactlyOnce(t *testing.T) {
	script := func(t *qodertest.Turn) {
		res, ok := t.CallCustomTool("get_weather", map[string]string{"city": "Paris"})
		if !ok {
			return
		}
		t.Say("Weather: " + res.Text)
	}
	// running, user.message, span start, custom_tool_use, span end, idle
	// requires_action, running, user.custom_tool_result, span start,
	// agent.message, span end, idle end_turn.
	cases := []struct {
		name      string
		cut       *qodertest.Cut
		failReply bool // the POST of the result gets a 503 first
	}{
		{name: "no fault"},
		{name: "cut right after the custom_tool_use", cut: &qodertest.Cut{AfterEvents: 4}},
		{name: "cut right after the span end", cut: &qodertest.Cut{AfterEvents: 5}},
		{name: "cut right after the requires_action idle", cut: &qodertest.Cut{AfterEvents: 6}},
		{name: "cut right after the result echo", cut: &qodertest.Cut{AfterEvents: 8}},
		{name: "cut after every 3 events", cut: &qodertest.Cut{AfterEvents: 3, Times: 3}},
		{name: "cut after the idle and the result POST fails once", cut: &qodertest.Cut{AfterEvents: 6}, failReply: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := frNew(t, script, true)
			ctx := frCtx(t)
			if c.cut != nil {
				env.srv.CutStreams(*c.cut)
			}
			var calls atomic.Int32
			turn, err := env.client.Sessions.Run(ctx, env.session, "Weather in Paris?",
				qoder.WithCustomTool("get_weather", func(ctx context.Context, use *qoder.AgentCustomToolUseEvent) ([]qoder.ContentBlock, error) {
					calls.Add(1)
					var in struct{ City string }
					if err := use.DecodeInput(&in); err != nil {
						return nil, err
					}
					if c.failReply {
						env.srv.FailRequests(qodertest.Failure{Method: "POST", Path: "sessions/*/events", Status: 503, RetryAfter: "0"})
					}
					return []qoder.ContentBlock{qoder.TextBlock("sunny in " + in.City)}, nil
				}))
			require.NoError(t, err)
			require.NotNil(t, turn)
			assert.Equal(t, qoder.StopReasonEndTurn, turn.StopReason.Type)
			assert.Equal(t, "Weather: sunny in Paris", turn.Text())
			assert.EqualValues(t, 1, calls.Load(), "the handler runs once")

			types := env.srv.EventTypes(env.session)
			assert.Equal(t, 1, frCount(types, qoder.EventTypeUserCustomToolResult), "the fake received one result: %v", types)
			posts := frPostsWith(t, env.srv, env.session, qoder.EventTypeUserCustomToolResult)
			if c.failReply {
				require.Len(t, posts, 2, "the refused POST and its retry")
				assert.Equal(t, posts[0].Header.Get("Idempotency-Key"), posts[1].Header.Get("Idempotency-Key"))
			} else {
				assert.Len(t, posts, 1, "one POST of the result")
			}
			want := 1
			if c.cut != nil {
				want += max(c.cut.Times, 1)
			}
			assert.Len(t, frStreamRequests(env.srv, env.session), want, "stream connections")
			st, ok := env.srv.Session(env.session)
			require.True(t, ok)
			assert.Equal(t, "end_turn", st.StopReason)
			assert.Empty(t, st.Pending)
		})
	}
}

// TestFakeResilience_RunToolConfirmation allows and denies a tool that asks.
func TestFakeResilience_RunToolConfirmation(t *testing.T) {
	script := func(t *qodertest.Turn) {
		allowed, deny := t.AskConfirmation("Bash", map[string]string{"command": "rm -rf build"}, "removed")
		if allowed {
			t.Say("done")
		} else {
			t.Say("denied: " + deny)
		}
	}
	cases := []struct {
		name     string
		allow    bool
		cut      *qodertest.Cut
		wantText string
	}{
		{name: "allow", allow: true, wantText: "done"},
		{name: "deny", allow: false, wantText: "denied: not in CI"},
		{name: "allow, cut after the idle", allow: true, cut: &qodertest.Cut{AfterEvents: 6}, wantText: "done"},
		{name: "deny, cut after the tool use", allow: false, cut: &qodertest.Cut{AfterEvents: 4}, wantText: "denied: not in CI"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := frNew(t, script, true)
			ctx := frCtx(t)
			if c.cut != nil {
				env.srv.CutStreams(*c.cut)
			}
			var asked []qoder.Event
			turn, err := env.client.Sessions.Run(ctx, env.session, "clean up",
				qoder.WithToolConfirmation(func(ctx context.Context, use qoder.Event) (bool, string, error) {
					asked = append(asked, use)
					if c.allow {
						return true, "", nil
					}
					return false, "not in CI", nil
				}))
			require.NoError(t, err)
			assert.Equal(t, qoder.StopReasonEndTurn, turn.StopReason.Type)
			assert.Equal(t, c.wantText, turn.Text())
			require.Len(t, asked, 1, "the confirmer is asked once")
			use, ok := asked[0].(*qoder.AgentToolUseEvent)
			require.True(t, ok, "got %T", asked[0])
			assert.Equal(t, "Bash", use.Name)
			assert.Equal(t, qoder.EvaluatedPermissionAsk, use.EvaluatedPermission)

			var confirmations []qoder.UserToolConfirmationEvent
			for _, raw := range env.srv.Events(env.session) {
				var ev qoder.UserToolConfirmationEvent
				require.NoError(t, json.Unmarshal(raw, &ev))
				if ev.Type == qoder.EventTypeUserToolConfirmation {
					confirmations = append(confirmations, ev)
				}
			}
			require.Len(t, confirmations, 1, "the fake received one confirmation")
			assert.Equal(t, use.ID, confirmations[0].ToolUseID)
			types := env.srv.EventTypes(env.session)
			if c.allow {
				assert.Equal(t, qoder.ToolConfirmationAllow, confirmations[0].Result)
				assert.Empty(t, confirmations[0].DenyMessage)
				assert.Equal(t, 1, frCount(types, qoder.EventTypeAgentToolResult), "the allowed tool ran")
			} else {
				assert.Equal(t, qoder.ToolConfirmationDeny, confirmations[0].Result)
				assert.Equal(t, "not in CI", confirmations[0].DenyMessage)
				assert.Equal(t, 0, frCount(types, qoder.EventTypeAgentToolResult), "the denied tool did not run")
			}
		})
	}
}

// TestFakeResilience_RunFailures covers turns that do not end well.
func TestFakeResilience_RunFailures(t *testing.T) {
	cases := []struct {
		name       string
		script     func(*qodertest.Turn)
		cut        *qodertest.Cut
		wantErr    error
		wantMsg    string
		wantStop   qoder.StopReasonType
		wantErrors int
		streams    int
		why        string // explains a failure of the error check
	}{
		{
			name: "session.error exhausted then idle retries_exhausted",
			script: func(t *qodertest.Turn) {
				t.Error("model_overloaded_error", "Overloaded", "retrying")
				t.Error("model_overloaded_error", "Overloaded", "exhausted")
				t.Emit("session.status_idle", map[string]any{"stop_reason": map[string]any{"type": "retries_exhausted"}})
			},
			wantErr: qoder.ErrTurnFailed, wantMsg: "Overloaded", wantStop: qoder.StopReasonRetriesExhausted, wantErrors: 2, streams: 1,
		},
		{
			name: "same, cut right after the exhausted error",
			script: func(t *qodertest.Turn) {
				t.Error("model_overloaded_error", "Overloaded", "retrying")
				t.Error("model_overloaded_error", "Overloaded", "exhausted")
				t.Emit("session.status_idle", map[string]any{"stop_reason": map[string]any{"type": "retries_exhausted"}})
			},
			cut:     &qodertest.Cut{AfterEvents: 4},
			wantErr: qoder.ErrTurnFailed, wantMsg: "Overloaded", wantStop: qoder.StopReasonRetriesExhausted, wantErrors: 2, streams: 2,
		},
		{
			// ErrTurnFailed's doc: "a session.error whose retries ran out, or an
			// idle with stop reason retries_exhausted or budget_reached".
			name: "session.error exhausted then the turn idles",
			script: func(t *qodertest.Turn) {
				t.Error("model_request_failed_error", "upstream failed", "exhausted")
			},
			wantErr: qoder.ErrTurnFailed, wantMsg: "upstream failed", wantStop: qoder.StopReasonEndTurn, wantErrors: 1, streams: 1,
			why: "BUG: ErrTurnFailed is documented for \"a session.error whose retries ran out\", but Run returned nil: " +
				"sessions_run.go turnRunner.handle only looks at the idle's stop reason, so an exhausted session.error followed by an end_turn idle passes as success",
		},
		{
			name: "idle budget_reached",
			script: func(t *qodertest.Turn) {
				t.Say("partial")
				t.Emit("session.status_idle", map[string]any{"stop_reason": map[string]any{"type": "budget_reached"}})
			},
			wantErr: qoder.ErrTurnFailed, wantMsg: "budget_reached", wantStop: qoder.StopReasonBudgetReached, streams: 1,
		},
		{
			name: "a retried session.error does not fail the turn",
			script: func(t *qodertest.Turn) {
				t.Error("model_overloaded_error", "Overloaded", "retrying")
				t.Say("recovered")
			},
			wantStop: qoder.StopReasonEndTurn, wantErrors: 1, streams: 1,
		},
		{
			name:    "terminated",
			script:  func(t *qodertest.Turn) { t.Say("bye"); t.Terminate() },
			wantErr: qoder.ErrSessionTerminated, streams: 1,
		},
		{
			// running, user.message, span start, agent.message, span end, terminated
			name:    "terminated, cut right before it",
			script:  func(t *qodertest.Turn) { t.Say("bye"); t.Terminate() },
			cut:     &qodertest.Cut{AfterEvents: 5},
			wantErr: qoder.ErrSessionTerminated, streams: 2,
		},
		{
			name:     "rescheduled mid-turn with a drop",
			script:   func(t *qodertest.Turn) { t.Say("one"); t.Reschedule(); t.Say("two") },
			cut:      &qodertest.Cut{AfterEvents: 5}, // right after session.status_rescheduled
			wantStop: qoder.StopReasonEndTurn, streams: 2,
		},
		{
			name:    "no handler for a custom tool",
			script:  func(t *qodertest.Turn) { t.CallCustomTool("unknown_tool", nil) },
			wantErr: qoder.ErrRequiresAction, wantMsg: "unknown_tool", wantStop: qoder.StopReasonRequiresAction, streams: 1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := frNew(t, c.script, true)
			base := runtime.NumGoroutine()
			if c.cut != nil {
				env.srv.CutStreams(*c.cut)
			}
			turn, err := env.client.Sessions.Run(frCtx(t), env.session, "go")
			require.NotNil(t, turn, "the turn so far comes with the error")
			if c.wantErr != nil {
				require.ErrorIs(t, err, c.wantErr, "%s; turn events %v", c.why, frTypes(turn.Events))
				if c.wantMsg != "" {
					assert.Contains(t, err.Error(), c.wantMsg)
				}
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, c.wantStop, turn.StopReason.Type)
			assert.Len(t, turn.Errors, c.wantErrors)
			assert.Len(t, frStreamRequests(env.srv, env.session), c.streams, "stream connections")
			if errors.Is(c.wantErr, qoder.ErrSessionTerminated) {
				assert.Equal(t, qoder.EventTypeSessionStatusTerminated, turn.Events[len(turn.Events)-1].EventType())
				assert.Equal(t, "bye", turn.Text())
				st, ok := env.srv.Session(env.session)
				require.True(t, ok)
				assert.Equal(t, "terminated", st.Status)
			}
			if c.wantStop == qoder.StopReasonEndTurn || errors.Is(c.wantErr, qoder.ErrSessionTerminated) {
				assert.Equal(t, frHistoryIDs(frHistory(t, env.srv, env.session, 0)), frBufferedIDs(turn.Events),
					"the turn holds every event of the session once, in order")
			}
			if c.name == "rescheduled mid-turn with a drop" {
				assert.Equal(t, "one\n\ntwo", turn.Text())
			}
			if c.wantErr == nil || errors.Is(c.wantErr, qoder.ErrSessionTerminated) {
				frCheckGoroutines(t, env, base)
			}
		})
	}
}

// TestFakeResilience_RunCancelFromOnEvent cancels the turn from OnEvent.
func TestFakeResilience_RunCancelFromOnEvent(t *testing.T) {
	cases := []struct {
		name string
		cut  *qodertest.Cut
	}{
		{name: "no fault"},
		// running, user.message, span start, agent.message: cancel while the
		// stream reconnects.
		{name: "cut right after the message", cut: &qodertest.Cut{AfterEvents: 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			script := func(t *qodertest.Turn) {
				t.Say("working on it")
				<-t.Context().Done() // until cancelled
			}
			env := frNew(t, script, true)
			base := runtime.NumGoroutine()
			ctx := frCtx(t)
			if c.cut != nil {
				env.srv.CutStreams(*c.cut)
			}
			cancelled := make(chan error, 1)
			var once sync.Once
			turn, err := env.client.Sessions.Run(ctx, env.session, "start",
				qoder.OnEvent(func(ev qoder.Event) {
					if _, ok := ev.(*qoder.AgentMessageEvent); ok {
						once.Do(func() {
							go func() {
								_, err := env.client.Sessions.Cancel(ctx, env.session)
								cancelled <- err
							}()
						})
					}
				}))
			require.NoError(t, err, "a cancelled turn is not an error")
			assert.Equal(t, qoder.StopReasonCancelled, turn.StopReason.Type)
			assert.Equal(t, "working on it", turn.Text())
			select {
			case err := <-cancelled:
				require.NoError(t, err)
			case <-time.After(frWait):
				require.FailNow(t, "Cancel never returned")
			}
			st, ok := env.srv.Session(env.session)
			require.True(t, ok)
			assert.Equal(t, "idle", st.Status)
			assert.Equal(t, "cancelled", st.StopReason)
			frCheckGoroutines(t, env, base)
		})
	}
}

// TestFakeResilience_RunWhileTurnRuns starts a turn that blocks, then runs
// another: its send is refused with 409 and not retried.
func TestFakeResilience_RunWhileTurnRuns(t *testing.T) {
	gate := make(chan struct{})
	script := func(t *qodertest.Turn) {
		select {
		case <-gate:
		case <-t.Context().Done():
			return
		}
		t.Say("first done")
	}
	env := frNew(t, script, false)
	base := runtime.NumGoroutine()
	ctx := frCtx(t)

	type result struct {
		turn *qoder.Turn
		err  error
	}
	first := make(chan result, 1)
	go func() {
		turn, err := env.client.Sessions.Run(ctx, env.session, "first")
		first <- result{turn, err}
	}()
	frWaitFor(t, "the first turn to run", func() bool {
		st, _ := env.srv.Session(env.session)
		return st.Status == "running"
	})

	turn, err := env.client.Sessions.Run(ctx, env.session, "second")
	require.ErrorIs(t, err, qoder.ErrConflict)
	assert.Nil(t, turn, "nothing of a turn that was never accepted")
	var apiErr *qoder.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 409, apiErr.StatusCode)
	assert.Len(t, frPostsWith(t, env.srv, env.session, qoder.EventTypeUserMessage), 2, "the refused send is not retried")
	assert.Equal(t, 1, frCount(env.srv.EventTypes(env.session), qoder.EventTypeUserMessage))

	close(gate)
	select {
	case r := <-first:
		require.NoError(t, r.err)
		assert.Equal(t, "first done", r.turn.Text())
		assert.Equal(t, qoder.StopReasonEndTurn, r.turn.StopReason.Type)
	case <-time.After(frWait):
		require.FailNow(t, "the first turn never ended")
	}
	frCheckGoroutines(t, env, base)
}

// TestFakeResilience_RunSendRetried makes the turn's user.message POST fail
// twice: it is retried with the same key and accepted once.
func TestFakeResilience_RunSendRetried(t *testing.T) {
	env := frNew(t, nil, false)
	env.srv.FailRequests(qodertest.Failure{Method: "POST", Path: "sessions/*/events", Status: 503, RetryAfter: "0", Times: 2})
	turn, err := env.client.Sessions.Run(frCtx(t), env.session, "hello")
	require.NoError(t, err)
	assert.Equal(t, "You said: hello", turn.Text())
	posts := frEventPosts(env.srv, env.session)
	require.Len(t, posts, 3)
	key := posts[0].Header.Get("Idempotency-Key")
	require.NotEmpty(t, key)
	for _, p := range posts {
		assert.Equal(t, key, p.Header.Get("Idempotency-Key"))
	}
	assert.Equal(t, 1, frCount(env.srv.EventTypes(env.session), qoder.EventTypeUserMessage))
	require.Len(t, turn.Input, 1)
	assert.Equal(t, qoder.EventTypeUserMessage, turn.Input[0].EventType())
}

// TestFakeResilience_RunDropBeforeFirstEvent drops the turn's stream before
// it delivers anything. Run opened it at the live tail, so the reconnect has
// no Last-Event-ID; Run must still see the whole turn ("It opens the stream
// before it sends, so no event is missed, and resumes across dropped
// connections").
func TestFakeResilience_RunDropBeforeFirstEvent(t *testing.T) {
	cases := []struct {
		name string
		cut  qodertest.Cut
	}{
		{name: "cut right after the headers", cut: qodertest.Cut{}},
		{name: "cut inside the first frame", cut: qodertest.Cut{AfterBytes: 10}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := frNew(t, func(t *qodertest.Turn) { t.Say("answer") }, false)
			env.srv.CutStreams(c.cut)
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			turn, err := env.client.Sessions.Run(ctx, env.session, "question")
			reqs := frStreamRequests(env.srv, env.session)
			require.NoError(t, err,
				"BUG: Run lost the turn: its stream dropped before the first event and reconnected with Last-Event-ID %q, "+
					"i.e. at the live tail, after the events it had missed (sessions_run.go RunEvents should resume from the accepted user.message id)",
				frLastEventIDs(reqs))
			assert.Equal(t, "answer", turn.Text())
		})
	}
}

// frCheckGoroutines waits until the number of goroutines is back at base,
// closing the client's idle connections before each count.
func frCheckGoroutines(t *testing.T, env *frEnv, base int) {
	t.Helper()
	leakcheck.Wait(t, base, env.hc.CloseIdleConnections)
}
