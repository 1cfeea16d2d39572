package qoder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"iter"
	"net/url"
	"os"

	"github.com/qoder-go/qoder/internal/leakcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testToken is the token of every test client.
const testToken = "pt-test-secret-token"

// newTestClient starts an httptest server and returns a client whose base
// URL is srv.URL+"/api-test/", so a request built with an absolute path
// misses the mux. Retries wait no time.
func newTestClient(t *testing.T, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	all := append([]Option{WithToken(testToken), WithBaseURL(srv.URL + "/api-test/")}, opts...)
	c, err := NewClient(all...)
	require.NoError(t, err)
	c.backoff = func(int) time.Duration { return 0 }
	return c, mux
}

// serveJSON writes body with status as an application/json response.
func serveJSON(t *testing.T, w http.ResponseWriter, status int, body string) {
	t.Helper()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := io.WriteString(w, body)
	assert.NoError(t, err)
}

// fixture returns the contents of testdata/<path>.
func fixture(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", path))
	require.NoError(t, err)
	return data
}

// serveFixture answers with testdata/<path> as JSON.
func serveFixture(t *testing.T, w http.ResponseWriter, status int, path string) {
	t.Helper()
	serveJSON(t, w, status, string(fixture(t, path)))
}

// assertJSONBody checks that the request body is the JSON want.
func assertJSONBody(t *testing.T, r *http.Request, want string) {
	t.Helper()
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.JSONEq(t, want, string(got))
}

// testAPIErrors registers pattern to answer a documented 404 and checks
// that call turns it into an *APIError matching ErrNotFound.
func testAPIErrors(t *testing.T, mux *http.ServeMux, pattern string, call func() error) {
	t.Helper()
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusNotFound,
			`{"type":"error","request_id":"req_404","error":{"type":"not_found_error","message":"Agent 'agent_x' was not found."}}`)
	})
	err := call()
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrNotFound)
	var apiErr *APIError
	require.True(t, errors.As(err, &apiErr), "want *APIError, got %T", err)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.Equal(t, "not_found_error", apiErr.Type)
	assert.Equal(t, "req_404", apiErr.RequestID)
	assert.NotContains(t, err.Error(), testToken)
}

// failHandler fails the test if a request reaches it.
func failHandler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "unexpected", http.StatusTeapot)
	}
}

// resEmptyIDCase is a call that must fail on an empty path id before any
// request is sent.
type resEmptyIDCase struct {
	name        string
	placeholder string
	call        func(context.Context, *Client) error
}

// resTestEmptyIDs runs each case against a server that fails the test when
// it receives a request.
func resTestEmptyIDs(t *testing.T, cases []resEmptyIDCase) {
	t.Helper()
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t.Context(), client)
			assert.EqualError(t, err, "qoder: "+tc.placeholder+" is required")
		})
	}
}

// resAPIErrorCase is a call whose route answers a documented 404.
type resAPIErrorCase struct {
	name    string
	pattern string
	call    func(context.Context, *Client) error
}

// resTestAPIErrors checks the error path of each case through testAPIErrors.
func resTestAPIErrors(t *testing.T, cases []resAPIErrorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			testAPIErrors(t, mux, tc.pattern, func() error { return tc.call(t.Context(), client) })
		})
	}
}

// resAssertQuery checks the request's query parameters.
func resAssertQuery(t *testing.T, r *http.Request, want url.Values) {
	t.Helper()
	assert.Equal(t, want, r.URL.Query())
}

// resCollect drains an All iterator.
func resCollect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var items []T
	for item, err := range seq {
		if err != nil {
			return items, err
		}
		items = append(items, item)
	}
	return items, nil
}

// resIDs maps items to a comparable key, such as their ids.
func resIDs[T, K any](items []T, key func(T) K) []K {
	keys := make([]K, 0, len(items))
	for _, item := range items {
		keys = append(keys, key(item))
	}
	return keys
}

// streamReq is what a test server saw of one stream request.
type streamReq struct {
	path     string
	rawQuery string
	header   http.Header
	proto    int
	at       time.Time
}

// streamReqs records the requests a test server received.
type streamReqs struct {
	mu   sync.Mutex
	reqs []streamReq
	// arrived gets a value for every request, when the test asks for it.
	arrived chan int
}

// add records r and returns its 0-based number.
func (rr *streamReqs) add(r *http.Request) int {
	rr.mu.Lock()
	n := len(rr.reqs)
	rr.reqs = append(rr.reqs, streamReq{
		path:     r.URL.Path,
		rawQuery: r.URL.RawQuery,
		header:   r.Header.Clone(),
		proto:    r.ProtoMajor,
		at:       time.Now(),
	})
	ch := rr.arrived
	rr.mu.Unlock()
	if ch != nil {
		select {
		case ch <- n:
		default:
		}
	}
	return n
}

func (rr *streamReqs) list() []streamReq {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return append([]streamReq(nil), rr.reqs...)
}

func (rr *streamReqs) count() int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return len(rr.reqs)
}

// lastEventIDs returns the Last-Event-ID header of every request ("" when
// absent).
func (rr *streamReqs) lastEventIDs() []string {
	var ids []string
	for _, r := range rr.list() {
		ids = append(ids, r.header.Get("Last-Event-ID"))
	}
	return ids
}

// newStreamTest returns a test client whose session stream is served by
// handler; n is the request's 0-based number.
func newStreamTest(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, n int), opts ...Option) (*Client, *streamReqs) {
	t.Helper()
	c, mux := newTestClient(t, opts...)
	rr := &streamReqs{arrived: make(chan int, 64)}
	mux.HandleFunc(streamPattern, func(w http.ResponseWriter, r *http.Request) {
		handler(w, r, rr.add(r))
	})
	return c, rr
}

// sseStart sends the headers of an event stream.
func sseStart(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_ = http.NewResponseController(w).Flush()
}

// sseWrite writes each chunk and flushes it.
func sseWrite(w http.ResponseWriter, chunks ...string) {
	rc := http.NewResponseController(w)
	for _, c := range chunks {
		_, _ = io.WriteString(w, c)
		_ = rc.Flush()
	}
}

// sseEvent is one frame of a minimal event of type typ; extra is appended
// to the JSON object.
func sseEvent(id, typ string, extra ...string) string {
	return fmt.Sprintf("id: %s\nevent: %s\ndata: {\"id\":%q,\"type\":%q%s}\n\n", id, typ, id, typ, strings.Join(extra, ""))
}

// sseEvents returns frames evt_<from>..evt_<to> as session.updated events.
func sseEvents(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, sseEvent(fmt.Sprintf("evt_%d", i), EventTypeSessionUpdated))
	}
	return out
}

// terminatedFrame ends a stream for good.
func terminatedFrame(id string) string { return sseEvent(id, EventTypeSessionStatusTerminated) }

// abort drops the connection without ending the response.
func abort() { panic(http.ErrAbortHandler) }

// streamCtx is t.Context() with a deadline, so that a stream or an open
// that hangs fails the test instead of blocking it.
func streamCtx(t *testing.T) context.Context {
	return withStreamDeadline(t, t.Context())
}

func withStreamDeadline(t *testing.T, ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, 2*streamWait)
	t.Cleanup(cancel)
	return ctx
}

// openTestStream opens the test session's stream and fails the test on error.
func openTestStream(t *testing.T, ctx context.Context, c *Client, p *StreamParams) *Stream {
	t.Helper()
	s, err := c.Events.Stream(withStreamDeadline(t, ctx), streamSessionID, p)
	require.NoError(t, err)
	require.NotNil(t, s)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// collectStream reads s through Events until the channel closes and fails
// the test if that takes longer than timeout.
func collectStream(t *testing.T, s *Stream, timeout time.Duration) []Event {
	t.Helper()
	var evs []Event
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	ch := s.Events()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-deadline.C:
			t.Fatalf("the stream did not end within %s (got %d events)", timeout, len(evs))
		}
	}
}

// receive waits for the next event on ch.
func receive(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.True(t, ok, "the channel closed early")
		return ev
	case <-time.After(streamWait):
		t.Fatal("no event arrived")
		return nil
	}
}

// waitClosed drains ch and returns how long it took to close; it fails the
// test if ch is still open after limit.
func waitClosed(t *testing.T, ch <-chan Event, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return time.Since(since)
			}
		case <-deadline.C:
			t.Fatalf("the channel is still open %s after the cancel", limit)
		}
	}
}

// within runs fn and fails the test if it has not returned after limit.
func within(t *testing.T, limit time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("%s still blocks after %s", what, limit)
	}
}

// waitRequest waits until the test server has seen request n (0-based).
func waitRequest(t *testing.T, rr *streamReqs, n int) {
	t.Helper()
	deadline := time.Now().Add(streamWait)
	for rr.count() <= n {
		select {
		case <-rr.arrived:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("request %d never arrived (got %d)", n+1, rr.count())
		}
	}
}

// eventIDs returns the ids of evs.
func eventIDs(evs []Event) []string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.EventID()
	}
	return ids
}

// idRange is evt_<from>..evt_<to>.
func idRange(from, to int) []string {
	var ids []string
	for i := from; i <= to; i++ {
		ids = append(ids, fmt.Sprintf("evt_%d", i))
	}
	return ids
}

// sseBlock is one blank-line-terminated block of an LF transcript.
type sseBlock struct {
	start, end int // byte range, blank line included
	id, event  string
	data       bool
}

// buffered reports whether the block is a complete event that can be a
// resume point (not a heartbeat, comment or delta frame).
func (b sseBlock) buffered() bool {
	switch b.event {
	case EventTypeEventStart, EventTypeEventDelta, "heartbeat":
		return false
	}
	return b.data && b.id != ""
}

// parseSSEBlocks splits an LF-only transcript into blocks.
func parseSSEBlocks(t *testing.T, data []byte) []sseBlock {
	t.Helper()
	var blocks []sseBlock
	for pos := 0; pos < len(data); {
		i := bytes.Index(data[pos:], []byte("\n\n"))
		require.GreaterOrEqual(t, i, 0, "the transcript must end with a blank line")
		b := sseBlock{start: pos, end: pos + i + 2}
		for _, line := range strings.Split(string(data[pos:pos+i]), "\n") {
			switch {
			case strings.HasPrefix(line, "id: "):
				b.id = line[len("id: "):]
			case strings.HasPrefix(line, "event: "):
				b.event = line[len("event: "):]
			case strings.HasPrefix(line, "data:"):
				b.data = true
			}
		}
		blocks = append(blocks, b)
		pos = b.end
	}
	return blocks
}

// replayServer serves a recorded transcript. The first request is cut
// after cut bytes (the connection drops); a request with Last-Event-ID gets
// the transcript again from the event with that id, which it replays, so the
// client must drop it as a duplicate.
type replayServer struct {
	t      *testing.T
	data   []byte
	blocks []sseBlock
	// fromFirst replays from the first block carrying the id (for a message
	// streamed with deltas, its event_start) instead of the event itself.
	fromFirst bool

	mu      sync.Mutex
	cut     int
	lastIDs []string
}

func newReplayServer(t *testing.T, name string) *replayServer {
	data := fixture(t, filepath.Join("streams", name))
	return &replayServer{t: t, data: data, blocks: parseSSEBlocks(t, data)}
}

// reset starts a new run whose first connection drops after cut bytes.
func (rs *replayServer) reset(cut int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.cut = cut
	rs.lastIDs = nil
}

func (rs *replayServer) requests() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.lastIDs...)
}

// resumeAt returns the offset a request with Last-Event-ID id starts at.
func (rs *replayServer) resumeAt(id string) int {
	if id == "" {
		return 0
	}
	at := -1
	for _, b := range rs.blocks {
		if b.id != id {
			continue
		}
		if rs.fromFirst {
			return b.start
		}
		if b.buffered() {
			at = b.start
		}
	}
	if at < 0 {
		rs.t.Errorf("Last-Event-ID %q is not an event of the transcript", id)
		return 0
	}
	return at
}

// write sends data[from:to], flushing at every block boundary.
func (rs *replayServer) write(w http.ResponseWriter, from, to int) {
	rc := http.NewResponseController(w)
	for _, b := range rs.blocks {
		lo, hi := max(b.start, from), min(b.end, to)
		if lo >= hi {
			continue
		}
		_, _ = w.Write(rs.data[lo:hi])
		_ = rc.Flush()
	}
}

func (rs *replayServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("Last-Event-ID")
	rs.mu.Lock()
	n := len(rs.lastIDs)
	rs.lastIDs = append(rs.lastIDs, id)
	cut := rs.cut
	rs.mu.Unlock()
	sseStart(w)
	from := rs.resumeAt(id)
	if n == 0 && cut < len(rs.data) {
		rs.write(w, from, cut)
		abort()
	}
	rs.write(w, from, len(rs.data))
}

// completeEvents returns the buffered events of the transcript, in order.
func (rs *replayServer) completeEvents() []sseBlock {
	var out []sseBlock
	for _, b := range rs.blocks {
		if b.buffered() {
			out = append(out, b)
		}
	}
	return out
}

// lastCompleteBefore returns the id of the last buffered event that ends at
// or before cut ("" when none does).
func (rs *replayServer) lastCompleteBefore(cut int) string {
	id := ""
	for _, b := range rs.blocks {
		if b.end <= cut && b.buffered() {
			id = b.id
		}
	}
	return id
}

// streamLogRecorder is a slog handler that keeps every record.
type streamLogRecorder struct {
	mu      sync.Mutex
	records []slog.Record
	notify  chan slog.Record
}

func (h *streamLogRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *streamLogRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *streamLogRecorder) WithGroup(string) slog.Handler { return h }

func (h *streamLogRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r.Clone())
	ch := h.notify
	h.mu.Unlock()
	if ch != nil {
		select {
		case ch <- r.Clone():
		default:
		}
	}
	return nil
}

// messages returns the text of every record with the attributes appended.
func (h *streamLogRecorder) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%s", a.Key, a.Value)
			return true
		})
		out = append(out, b.String())
	}
	return out
}

// ---------------------------------------------------------------------------
// Resume: a drop at every byte of a recorded turn

// waitBackoff waits until the stream logs that it sleeps delay before its
// next attempt (it logs that just before sleeping).
func waitBackoff(t *testing.T, logs *streamLogRecorder, delay time.Duration) {
	t.Helper()
	deadline := time.After(streamWait)
	for {
		select {
		case r := <-logs.notify:
			if r.Message == "qoder: stream reconnecting" && logAttr(r, "delay") == delay {
				return
			}
		case <-deadline:
			t.Fatalf("the stream never backed off for %s; log: %q", delay, logs.messages())
		}
	}
}

// logAttr returns the value of attribute key of r.
func logAttr(r slog.Record, key string) any {
	var v any
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.Any()
			return false
		}
		return true
	})
	return v
}

// sdkGoroutines counts the goroutines the SDK started: those of
// Stream.Events, the only place it starts any.
func sdkGoroutines() int {
	buf := make([]byte, 64<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return bytes.Count(buf, []byte("\ncreated by github.com/qoder-go/qoder.(*Stream)."))
}

// waitGoroutines waits until the number of goroutines is back at baseline,
// closing c's idle connections before each count.
func waitGoroutines(t *testing.T, c *Client, baseline int) {
	t.Helper()
	leakcheck.Wait(t, baseline, c.httpClient.CloseIdleConnections)
}

const (
	streamSessionID = "sess_stream_1"
	streamPattern   = "GET /api-test/sessions/" + streamSessionID + "/events/stream"
	// streamWait bounds how long a test waits for a stream to end; a stream
	// that has not ended by then hangs.
	streamWait = 10 * time.Second
)

// withoutRaw returns v with the JSON it kept (its Raw) dropped, for
// comparing a decoded resource with one written by hand.
func withoutRaw[T any](v T) T {
	if k, ok := any(&v).(rawKeeper); ok {
		k.keepRaw(nil)
	}
	return v
}

// flakyWrites records the body and Idempotency-Key of each attempt a
// handler from serveAfterFailures received.
type flakyWrites struct {
	mu     sync.Mutex
	bodies []string
	keys   []string
}

// serveAfterFailures registers pattern to answer its first failures
// requests with a 503 and the rest with status and body, recording what
// each attempt sent; check, when not nil, looks at each request first.
func serveAfterFailures(t *testing.T, mux *http.ServeMux, pattern string, failures, status int, body string, check func(*http.Request)) *flakyWrites {
	t.Helper()
	rec := &flakyWrites{}
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if check != nil {
			check(r)
		}
		b, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		rec.mu.Lock()
		rec.bodies = append(rec.bodies, string(b))
		rec.keys = append(rec.keys, r.Header.Get("Idempotency-Key"))
		n := len(rec.bodies)
		rec.mu.Unlock()
		if n <= failures {
			serveJSON(t, w, http.StatusServiceUnavailable, `{"type":"error","error":{"type":"api_error","message":"busy"}}`)
			return
		}
		serveJSON(t, w, status, body)
	})
	return rec
}

// assertReplayed checks that attempts attempts arrived, all with the same
// non-empty key and the same body, and returns that body.
func (rec *flakyWrites) assertReplayed(t *testing.T, attempts int) string {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.bodies, attempts)
	assert.NotEmpty(t, rec.keys[0])
	for i := 1; i < attempts; i++ {
		assert.Equal(t, rec.keys[0], rec.keys[i], "one idempotency key for the call")
		assert.Equal(t, rec.bodies[0], rec.bodies[i], "a retry sends the same bytes")
	}
	return rec.bodies[0]
}
