package qoder_test

// Helpers of the resilience tests against the in-process fake (qodertest): retries,
// idempotency, stream resumption and turns, driven by the fake's fault
// injection (CutStreams, SilenceStreams, FailRequests). Every wait has a
// deadline; nothing sleeps for a fixed time.
//
// Speed: after a dropped connection the stream waits the client's backoff
// (about half a second) before it reconnects. Tests that drop many
// connections use retryHintTransport, a transport that prefixes every event-stream
// body with the standard SSE field "retry: 1" (the server's suggested
// reconnect delay, which the stream honours), so a reconnect takes a
// millisecond. The bytes the fake writes, and so where its cuts land, are
// unchanged. A few tests keep the real backoff on purpose.

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/internal/leakcheck"
	"github.com/qoder-go/qoder/qodertest"
	"github.com/stretchr/testify/require"
)

// fakeWait bounds every wait of these tests.
const fakeWait = 10 * time.Second

// fakeEnv is one fake server with a session and a client that has a transport
// of its own (so that its idle connections can be closed for goroutine
// counts).
type fakeEnv struct {
	srv     *qodertest.Server
	client  *qoder.Client
	hc      *http.Client
	session string
}

// newFakeEnv starts a fake whose agent runs script (EchoAgent when nil), seeds a
// session, and makes a client. fast installs retryHintTransport.
func newFakeEnv(t *testing.T, script func(*qodertest.Turn), fast bool, opts ...qodertest.Option) *fakeEnv {
	t.Helper()
	if script != nil {
		opts = append([]qodertest.Option{qodertest.WithAgent(script)}, opts...)
	}
	srv := qodertest.NewServer(t, opts...)
	var rt http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
	if fast {
		rt = retryHintTransport{base: rt}
	}
	hc := &http.Client{Transport: rt}
	t.Cleanup(hc.CloseIdleConnections)
	return &fakeEnv{
		srv:     srv,
		client:  srv.Client(qoder.WithHTTPClient(hc)),
		hc:      hc,
		session: srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env")),
	}
}

// retryHintTransport prefixes each successful event-stream body with "retry: 1",
// the SSE field by which a server sets the reconnect delay (1 ms here).
type retryHintTransport struct{ base http.RoundTripper }

func (rt retryHintTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		resp.Body = prefixedBody{Reader: io.MultiReader(strings.NewReader("retry: 1\n\n"), resp.Body), Closer: resp.Body}
	}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the base
// transport.
func (rt retryHintTransport) CloseIdleConnections() {
	if c, ok := rt.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

type prefixedBody struct {
	io.Reader
	io.Closer
}

// fakeCtx is a context for one test step, bounded by fakeWait.
func fakeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), fakeWait)
	t.Cleanup(cancel)
	return ctx
}

// recordedEvent is a buffered event as the server holds it.
type recordedEvent struct {
	ID, Type string
	Raw      json.RawMessage
}

// recordedHistory returns the session's buffered events from index from on.
func recordedHistory(t *testing.T, srv *qodertest.Server, sessionID string, from int) []recordedEvent {
	t.Helper()
	raws := srv.Events(sessionID)
	require.GreaterOrEqual(t, len(raws), from)
	out := make([]recordedEvent, 0, len(raws)-from)
	for _, raw := range raws[from:] {
		var e struct{ ID, Type string }
		require.NoError(t, json.Unmarshal(raw, &e))
		out = append(out, recordedEvent{ID: e.ID, Type: e.Type, Raw: raw})
	}
	return out
}

func historyIDs(evs []recordedEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

// frameLen is the size of the SSE frame the fake writes for ev.
func frameLen(ev recordedEvent) int {
	return len("id: "+ev.ID+"\nevent: "+ev.Type+"\ndata: ") + len(ev.Raw) + len("\n\n")
}

// bufferedIDs returns the ids of the delivered events, delta frames
// excepted.
func bufferedIDs(evs []qoder.Event) []string {
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

func eventTypes(evs []qoder.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.EventType()
	}
	return out
}

// requestsTo returns the requests with method to BasePath+path.
func requestsTo(srv *qodertest.Server, method, path string) []qodertest.Request {
	var out []qodertest.Request
	for _, r := range srv.Requests() {
		if r.Method == method && r.Path == qodertest.BasePath+path {
			out = append(out, r)
		}
	}
	return out
}

func streamRequests(srv *qodertest.Server, sessionID string) []qodertest.Request {
	return requestsTo(srv, http.MethodGet, "sessions/"+sessionID+"/events/stream")
}

func eventPosts(srv *qodertest.Server, sessionID string) []qodertest.Request {
	return requestsTo(srv, http.MethodPost, "sessions/"+sessionID+"/events")
}

// eventPostsWith returns the POSTs to the session's events whose body holds an
// input event of type typ.
func eventPostsWith(t *testing.T, srv *qodertest.Server, sessionID, typ string) []qodertest.Request {
	t.Helper()
	var out []qodertest.Request
	for _, r := range eventPosts(srv, sessionID) {
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

func lastEventIDs(reqs []qodertest.Request) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Header.Get("Last-Event-ID")
	}
	return out
}

func countOf(types []string, typ string) int {
	n := 0
	for _, x := range types {
		if x == typ {
			n++
		}
	}
	return n
}

// isEndTurn stops reading at the idle that ends a turn.
func isEndTurn(ev qoder.Event) bool {
	idle, ok := ev.(*qoder.SessionStatusIdleEvent)
	return ok && idle.StopReason.Type == qoder.StopReasonEndTurn
}

// readUntil reads the stream's channel until stop reports true (then it closes
// the stream), or the channel closes. It fails the test after fakeWait.
func readUntil(t *testing.T, s *qoder.Stream, stop func(qoder.Event) bool) []qoder.Event {
	t.Helper()
	var got []qoder.Event
	timer := time.NewTimer(fakeWait)
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
				"no end of the stream within %s; delivered %v; err %v", fakeWait, eventTypes(got), s.Err())
		}
	}
}

// waitFor polls cond until it holds, failing the test after fakeWait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(fakeWait)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNowf(t, "timeout", "waited %s for %s", fakeWait, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// toolScript is a turn of nine events: status_running, the user.message,
// span start, thinking, a Bash tool use and result, a message streamed in
// four parts, span end and the idle.
func toolScript(t *qodertest.Turn) {
	t.Think()
	t.UseTool("Bash", map[string]string{"command": "echo hi"}, "hi\n")
	t.SayDeltas("Hel", "lo, ", "wor", "ld")
}

const toolScriptText = "Hello, world"

// ---------------------------------------------------------------------------
// Retries

// checkGoroutines waits until the number of goroutines is back at base,
// closing the client's idle connections before each count.
func checkGoroutines(t *testing.T, env *fakeEnv, base int) {
	t.Helper()
	leakcheck.Wait(t, base, env.hc.CloseIdleConnections)
}
