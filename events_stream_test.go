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
	"sync/atomic"
	"testing"
	"time"

	"github.com/qoder-go/qoder/internal/leakcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------------
// Helpers

const (
	streamSessionID = "sess_stream_1"
	streamPattern   = "GET /api-test/sessions/" + streamSessionID + "/events/stream"
	// streamWait bounds how long a test waits for a stream to end; a stream
	// that has not ended by then hangs.
	streamWait = 10 * time.Second
)

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
func (h *streamLogRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *streamLogRecorder) WithGroup(string) slog.Handler            { return h }
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

func TestStream_openErrors(t *testing.T) {
	errBody := func(typ, msg string) string {
		return fmt.Sprintf(`{"type":"error","request_id":"req_open","error":{"type":%q,"message":%q}}`, typ, msg)
	}
	for _, tt := range []struct {
		status   int
		body     string
		sentinel error
	}{
		{http.StatusBadRequest, errBody(ErrorTypeInvalidRequest, "bad cursor"), ErrInvalidRequest},
		{http.StatusUnauthorized, errBody(ErrorTypeAuthentication, "invalid token"), ErrAuthentication},
		{http.StatusForbidden, errBody(ErrorTypePermission, "no access"), ErrPermission},
		{http.StatusNotFound, errBody(ErrorTypeNotFound, "no such session"), ErrNotFound},
		{http.StatusConflict, errBody(ErrorTypeConflict, "conflict"), ErrConflict},
		{http.StatusUnprocessableEntity, errBody(ErrorTypeInvalidRequest, "bad"), ErrInvalidRequest},
	} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
				serveJSON(t, w, tt.status, tt.body)
			})
			s, err := c.Events.Stream(streamCtx(t), streamSessionID, nil)
			require.Error(t, err)
			assert.Nil(t, s, "the stream is non-nil only when the error is nil")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, "req_open", apiErr.RequestID)
			assert.ErrorIs(t, err, tt.sentinel)
			assert.NotErrorIs(t, err, ErrStreamGaveUp)
			assert.Equal(t, 1, rr.count(), "a 4xx other than 408/429 is never retried")
			assert.NotContains(t, err.Error(), testToken)
		})
	}

	for _, status := range []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprintf("%d retried then succeeds", status), func(t *testing.T) {
			c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n < 2 {
					w.Header().Set("Retry-After-Ms", "20")
					serveJSON(t, w, status, errBody(ErrorTypeAPI, "try again"))
					return
				}
				sseStart(w)
				sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning), terminatedFrame("evt_2"))
			})
			start := time.Now()
			s := openTestStream(t, t.Context(), c, nil)
			assert.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond, "Retry-After-Ms is honoured")
			assert.Equal(t, idRange(1, 2), eventIDs(collectStream(t, s, streamWait)))
			assert.NoError(t, s.Err())
			assert.Equal(t, 3, rr.count())
		})
	}

	t.Run("Retry-After 0 retries at once", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				w.Header().Set("Retry-After", "0")
				serveJSON(t, w, http.StatusServiceUnavailable, errBody(ErrorTypeAPI, "try again"))
				return
			}
			sseStart(w)
			sseWrite(w, terminatedFrame("evt_1"))
		})
		c.backoff = defaultBackoff // would wait 750 ms or more
		s := openTestStream(t, t.Context(), c, nil)
		assert.Equal(t, idRange(1, 1), eventIDs(collectStream(t, s, streamWait)))
		reqs := rr.list()
		require.Len(t, reqs, 2)
		assert.Less(t, reqs[1].at.Sub(reqs[0].at), 500*time.Millisecond)
	})

	t.Run("500 gives up after MaxReconnects", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			serveJSON(t, w, http.StatusInternalServerError, errBody(ErrorTypeAPI, "boom"))
		})
		s, err := c.Events.Stream(streamCtx(t), streamSessionID, &StreamParams{MaxReconnects: 3})
		require.Error(t, err)
		assert.Nil(t, s)
		assert.ErrorIs(t, err, ErrStreamGaveUp)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr, "the last failure stays reachable")
		assert.Equal(t, http.StatusInternalServerError, apiErr.StatusCode)
		assert.Contains(t, err.Error(), "3 consecutive failed attempts")
		assert.Equal(t, 3, rr.count())
	})

	t.Run("default budget is 10 attempts", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			serveJSON(t, w, http.StatusServiceUnavailable, errBody(ErrorTypeAPI, "down"))
		})
		_, err := c.Events.Stream(streamCtx(t), streamSessionID, nil)
		assert.ErrorIs(t, err, ErrStreamGaveUp)
		assert.ErrorIs(t, err, ErrServer)
		assert.Equal(t, 10, rr.count())
	})

	t.Run("x-should-retry false", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("X-Should-Retry", "false")
			serveJSON(t, w, http.StatusServiceUnavailable, errBody(ErrorTypeAPI, "down"))
		})
		_, err := c.Events.Stream(streamCtx(t), streamSessionID, nil)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.NotErrorIs(t, err, ErrStreamGaveUp)
		assert.Equal(t, 1, rr.count())
	})

	t.Run("empty session id fails before any request", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {})
		s, err := c.Events.Stream(streamCtx(t), "", nil)
		require.Error(t, err)
		assert.Nil(t, s)
		assert.Zero(t, rr.count())
	})
}

func TestStream_reconnectErrors(t *testing.T) {
	for _, tt := range []struct {
		status   int
		sentinel error
	}{
		{http.StatusUnauthorized, ErrAuthentication},
		{http.StatusNotFound, ErrNotFound},
		{http.StatusForbidden, ErrPermission},
	} {
		t.Run(fmt.Sprintf("%d ends the stream", tt.status), func(t *testing.T) {
			c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 0 {
					sseStart(w)
					sseWrite(w, sseEvents(1, 2)...)
					abort()
				}
				serveJSON(t, w, tt.status, `{"type":"error","error":{"type":"","message":"refused"}}`)
			})
			s := openTestStream(t, t.Context(), c, nil)
			evs := collectStream(t, s, streamWait)
			assert.Equal(t, idRange(1, 2), eventIDs(evs))
			err := s.Err()
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.ErrorIs(t, err, tt.sentinel)
			assert.NotErrorIs(t, err, ErrStreamGaveUp)
			assert.Equal(t, []string{"", "evt_2"}, rr.lastEventIDs(), "no retry after a 4xx")
		})
	}

	t.Run("503 with Retry-After then 200 continues, and each reconnect is logged with its reason", func(t *testing.T) {
		logs := &streamLogRecorder{}
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			switch n {
			case 0:
				sseStart(w)
				sseWrite(w, sseEvents(1, 2)...)
				abort()
			case 1:
				w.Header().Set("Retry-After", "0.05")
				w.Header().Set("X-Request-Id", r.Header.Get("Authorization")) // an echo must not reach the log
				serveJSON(t, w, http.StatusServiceUnavailable, `{"type":"error","error":{"type":"api_error","message":"busy"}}`)
			default:
				sseStart(w)
				sseWrite(w, sseEvent("evt_2", EventTypeSessionUpdated), sseEvent("evt_3", EventTypeSessionUpdated), terminatedFrame("evt_4"))
			}
		}, WithLogger(slog.New(logs)))
		s := openTestStream(t, t.Context(), c, nil)
		assert.Equal(t, idRange(1, 4), eventIDs(collectStream(t, s, streamWait)))
		assert.NoError(t, s.Err())
		var reconnects []string
		for _, m := range logs.messages() {
			if strings.HasPrefix(m, "qoder: stream reconnecting") {
				reconnects = append(reconnects, m)
			}
			assert.NotContains(t, m, testToken)
		}
		require.Len(t, reconnects, 2)
		assert.Contains(t, reconnects[0], "reason=", "the drop")
		assert.Contains(t, reconnects[1], "reason=qoder: GET /sessions/"+streamSessionID+"/events/stream: 503 api_error: busy")
		assert.Contains(t, reconnects[1], "status=503")
		reqs := rr.list()
		require.Len(t, reqs, 3)
		assert.Equal(t, []string{"", "evt_2", "evt_2"}, rr.lastEventIDs())
		assert.GreaterOrEqual(t, reqs[2].at.Sub(reqs[1].at), 50*time.Millisecond, "Retry-After is honoured")
	})

	t.Run("gives up after MaxReconnects", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				sseStart(w)
				sseWrite(w, sseEvents(1, 1)...)
				abort()
			}
			serveJSON(t, w, http.StatusBadGateway, `<html><body>Bad Gateway</body></html>`)
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{MaxReconnects: 2})
		assert.Equal(t, idRange(1, 1), eventIDs(collectStream(t, s, streamWait)))
		err := s.Err()
		assert.ErrorIs(t, err, ErrStreamGaveUp)
		assert.Contains(t, err.Error(), "2 consecutive failed attempts")
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusBadGateway, apiErr.StatusCode)
		assert.Contains(t, apiErr.Message, "HTML")
		assert.Equal(t, 3, rr.count(), "the first connection, then 2 failed attempts")
	})

	t.Run("connections that deliver nothing count as failures", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, ": heartbeat\n\n")
			abort()
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{MaxReconnects: 3})
		assert.Empty(t, collectStream(t, s, streamWait))
		err := s.Err()
		assert.ErrorIs(t, err, ErrStreamGaveUp)
		assert.Equal(t, 3, rr.count())
	})
}

// ---------------------------------------------------------------------------
// Idle watchdog

func TestStream_idleTimeout(t *testing.T) {
	t.Run("silence after an event reconnects", func(t *testing.T) {
		released := make(chan struct{})
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			if n == 0 {
				sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
				<-r.Context().Done() // silent until the client gives up on us
				close(released)
				return
			}
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning), sseEvent("evt_2", EventTypeSessionUpdated), terminatedFrame("evt_3"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{IdleTimeout: 100 * time.Millisecond})
		assert.Equal(t, idRange(1, 3), eventIDs(collectStream(t, s, streamWait)))
		assert.NoError(t, s.Err())
		assert.Equal(t, []string{"", "evt_1"}, rr.lastEventIDs())
		select {
		case <-released:
		case <-time.After(streamWait):
			t.Fatal("the silent connection was never closed")
		}
	})

	t.Run("heartbeats keep the connection alive", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for range 20 { // 200 ms of heartbeats, twice the idle timeout
				select {
				case <-tick.C:
					sseWrite(w, ": heartbeat\n\n")
				case <-r.Context().Done():
					return
				}
			}
			sseWrite(w, terminatedFrame("evt_2"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{IdleTimeout: 100 * time.Millisecond})
		assert.Equal(t, idRange(1, 2), eventIDs(collectStream(t, s, streamWait)))
		assert.NoError(t, s.Err())
		assert.Equal(t, 1, rr.count())
	})

	t.Run("no headers at open", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				<-r.Context().Done() // never answers
				return
			}
			sseStart(w)
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning), terminatedFrame("evt_2"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{IdleTimeout: 50 * time.Millisecond})
		assert.Equal(t, idRange(1, 2), eventIDs(collectStream(t, s, streamWait)))
		assert.Equal(t, 2, rr.count())
	})

	t.Run("no headers on reconnect", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			switch n {
			case 0:
				sseStart(w)
				sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
				abort()
			case 1:
				<-r.Context().Done()
				return
			}
			sseStart(w)
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning), terminatedFrame("evt_2"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{IdleTimeout: 50 * time.Millisecond})
		assert.Equal(t, idRange(1, 2), eventIDs(collectStream(t, s, streamWait)))
		assert.Equal(t, []string{"", "evt_1", "evt_1"}, rr.lastEventIDs())
	})

	t.Run("a server that never answers gives up", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			<-r.Context().Done()
		})
		start := time.Now()
		s, err := c.Events.Stream(streamCtx(t), streamSessionID, &StreamParams{IdleTimeout: 30 * time.Millisecond, MaxReconnects: 2})
		assert.Nil(t, s)
		assert.ErrorIs(t, err, ErrStreamGaveUp)
		assert.ErrorContains(t, err, "no response within 30ms")
		assert.Less(t, time.Since(start), 5*time.Second)
		assert.Equal(t, 2, rr.count())
	})

	t.Run("a stalled error body is covered too", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				sseWrite(w, `{"type":"error",`) // and then nothing
				<-r.Context().Done()
				return
			}
			sseStart(w)
			sseWrite(w, terminatedFrame("evt_1"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{IdleTimeout: 50 * time.Millisecond})
		assert.Equal(t, idRange(1, 1), eventIDs(collectStream(t, s, streamWait)))
		assert.Equal(t, 2, rr.count())
	})
}

// ---------------------------------------------------------------------------
// Incremental mode

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

func TestStream_queryParams(t *testing.T) {
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		sseWrite(w, terminatedFrame("evt_1"))
	})
	s := openTestStream(t, t.Context(), c, &StreamParams{
		EventDeltas: []string{EventTypeAgentMessage, EventTypeAgentThinking},
		Types:       []string{EventTypeAgentMessage},
		Type:        "agent.message,session.status_idle",
	})
	collectStream(t, s, streamWait)
	reqs := rr.list()
	require.Len(t, reqs, 1)
	assert.Equal(t, "event_deltas%5B%5D=agent.message&event_deltas%5B%5D=agent.thinking&type=agent.message%2Csession.status_idle&types%5B%5D=agent.message", reqs[0].rawQuery)
	assert.Equal(t, "/api-test/sessions/"+streamSessionID+"/events/stream", reqs[0].path)
}

// ---------------------------------------------------------------------------
// Close, cancellation and goroutine leaks

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

// ---------------------------------------------------------------------------
// Framing and decoding (SSE.md §6.4)

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

func TestStream_heartbeatsYieldNothing(t *testing.T) {
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		sseWrite(w, ": ping\n\n", ":\n\n", "event: heartbeat\ndata: {}\n\n")
		sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
		sseWrite(w, ": ping\n\n", ":\n\n", ": heartbeat\n\n", "event: heartbeat\ndata: {}\n\n", "event: ping\ndata: {}\n\n")
		sseWrite(w, terminatedFrame("evt_2"))
	})
	s := openTestStream(t, t.Context(), c, nil)
	assert.Equal(t, idRange(1, 2), eventIDs(collectStream(t, s, streamWait)))
	assert.NoError(t, s.Err())
	assert.Equal(t, 1, rr.count())
}

func TestStream_eventSize(t *testing.T) {
	t.Run("1 MiB in 4 KiB writes", func(t *testing.T) {
		text := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
		frame := sseEvent("evt_1", EventTypeAgentMessage, `,"content":[{"type":"text","text":"`+text+`"}]`)
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			for rest := frame; rest != ""; {
				k := min(4<<10, len(rest))
				sseWrite(w, rest[:k])
				rest = rest[k:]
			}
			sseWrite(w, terminatedFrame("evt_2"))
		})
		s := openTestStream(t, t.Context(), c, nil)
		evs := collectStream(t, s, streamWait)
		require.NoError(t, s.Err())
		require.Len(t, evs, 2)
		assert.Equal(t, text, evs[0].(*AgentMessageEvent).Text())
	})

	t.Run("16 MiB, the default limit", func(t *testing.T) {
		if testing.Short() {
			t.Skip("a 16 MiB event")
		}
		const prefix, suffix = `{"id":"evt_1","type":"agent.message","content":[{"type":"text","text":"`, `"}]}`
		text := strings.Repeat("x", defaultMaxEventSize-len(prefix)-len(suffix))
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, "id: evt_1\nevent: agent.message\ndata: "+prefix+text+suffix+"\n\n")
			if n == 0 {
				// One byte more than the limit: the stream must end.
				sseWrite(w, "id: evt_2\nevent: agent.message\ndata: "+prefix+text+"x"+suffix+"\n\n")
			}
		})
		s := openTestStream(t, t.Context(), c, nil)
		evs := collectStream(t, s, streamWait)
		require.Len(t, evs, 1)
		assert.Len(t, evs[0].(*AgentMessageEvent).Text(), len(text))
		assert.ErrorIs(t, s.Err(), ErrEventTooLarge)
		assert.Equal(t, 1, rr.count())
	})

	t.Run("80 KB of 4 KB data lines", func(t *testing.T) {
		block := `{"type":"text","text":"` + strings.Repeat("x", 4000) + `"}`
		var b strings.Builder
		b.WriteString("id: evt_1\nevent: agent.message\ndata: {\"id\":\"evt_1\",\"type\":\"agent.message\",\"content\":[\n")
		for i := range 20 {
			sep := ","
			if i == 19 {
				sep = "]}"
			}
			b.WriteString("data: " + block + sep + "\n")
		}
		b.WriteString("\n")
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, b.String(), terminatedFrame("evt_2"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{MaxEventSize: 100 << 10})
		evs := collectStream(t, s, streamWait)
		require.NoError(t, s.Err())
		require.Len(t, evs, 2)
		assert.Len(t, evs[0].(*AgentMessageEvent).Text(), 80000)
	})

	t.Run("over the limit ends the stream after one request", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
			sseWrite(w, sseEvent("evt_2", EventTypeAgentMessage, `,"content":[{"type":"text","text":"`+strings.Repeat("y", 2000)+`"}]`))
			sseWrite(w, terminatedFrame("evt_3"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{MaxEventSize: 1024})
		assert.Equal(t, []string{"evt_1"}, eventIDs(collectStream(t, s, streamWait)))
		assert.ErrorIs(t, s.Err(), ErrEventTooLarge)
		assert.ErrorContains(t, s.Err(), "1024")
		assert.Equal(t, 1, rr.count(), "an oversized event is not retried")
	})

	t.Run("a line that never ends", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			chunk := strings.Repeat("z", 4096)
			sseWrite(w, "data: ")
			for r.Context().Err() == nil {
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{MaxEventSize: 64 << 10})
		assert.Empty(t, collectStream(t, s, streamWait))
		assert.ErrorIs(t, s.Err(), ErrEventTooLarge)
		assert.Equal(t, 1, rr.count())
	})
}

func TestStream_wrongContentType(t *testing.T) {
	for _, tt := range []struct {
		name, contentType, body string
	}{
		{"json", "application/json", `{"data":[]}`},
		{"html", "text/html; charset=utf-8", "<html><body>Sign in</body></html>"},
		{"plain text", "text/plain", "hello"},
		{"none", "", "data: {}\n\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header()["Content-Type"] = []string{tt.contentType}
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, tt.body)
			})
			s, err := c.Events.Stream(streamCtx(t), streamSessionID, nil)
			require.Error(t, err)
			assert.Nil(t, s)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusOK, apiErr.StatusCode)
			assert.Contains(t, apiErr.Message, "expected an event stream")
			assert.Equal(t, tt.body, string(apiErr.Body))
			assert.Equal(t, 1, rr.count(), "a wrong content type is permanent")
		})
	}

	t.Run("on reconnect", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				sseStart(w)
				sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
				abort()
			}
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>maintenance</html>")
		})
		s := openTestStream(t, t.Context(), c, nil)
		assert.Equal(t, []string{"evt_1"}, eventIDs(collectStream(t, s, streamWait)))
		var apiErr *APIError
		require.ErrorAs(t, s.Err(), &apiErr)
		assert.Equal(t, http.StatusOK, apiErr.StatusCode)
		assert.Equal(t, 2, rr.count())
	})

	t.Run("a huge body is not read", func(t *testing.T) {
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", "application/json")
			chunk := strings.Repeat(" ", 64<<10)
			for r.Context().Err() == nil {
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
		})
		_, err := c.Events.Stream(streamCtx(t), streamSessionID, nil)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.LessOrEqual(t, len(apiErr.Body), 4<<10)
	})
}

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

func TestStream_reconnectDelay(t *testing.T) {
	backoff := func(n int) time.Duration { return time.Duration(n+1) * time.Second }
	type bounds struct{ lo, hi time.Duration }
	jittered := func(d time.Duration) bounds { return bounds{d - d/4, d} }
	for _, tt := range []struct {
		name       string
		failures   int
		retry      time.Duration // the server's retry: value; 0 with hasRetry false means none
		hasRetry   bool
		retryAfter time.Duration
		hasAfter   bool
		want       bounds
	}{
		{name: "client backoff", failures: 0, want: bounds{time.Second, time.Second}},
		{name: "client backoff grows", failures: 3, want: bounds{4 * time.Second, 4 * time.Second}},
		{name: "client backoff growth is capped", failures: 50, want: bounds{7 * time.Second, 7 * time.Second}},
		{name: "Retry-After wins", failures: 2, retryAfter: 1500 * time.Millisecond, hasAfter: true, retry: time.Millisecond, hasRetry: true, want: bounds{1500 * time.Millisecond, 1500 * time.Millisecond}},
		{name: "Retry-After 0 means at once", failures: 3, retryAfter: 0, hasAfter: true, want: bounds{0, 0}},
		{name: "retry replaces the base", failures: 0, retry: 100 * time.Millisecond, hasRetry: true, want: jittered(100 * time.Millisecond)},
		{name: "retry doubles per failure", failures: 2, retry: 100 * time.Millisecond, hasRetry: true, want: jittered(400 * time.Millisecond)},
		{name: "retry growth stops at 8 s", failures: 6, retry: 500 * time.Millisecond, hasRetry: true, want: jittered(8 * time.Second)},
		{name: "retry growth stops after 6 doublings", failures: 40, retry: 10 * time.Millisecond, hasRetry: true, want: jittered(640 * time.Millisecond)},
		{name: "a large retry is kept, not grown", failures: 3, retry: 20 * time.Second, hasRetry: true, want: jittered(20 * time.Second)},
		{name: "a huge retry is capped at a minute", failures: 5, retry: 1 << 62, hasRetry: true, want: jittered(time.Minute)},
		{name: "retry 0 reconnects at once", failures: 4, retry: 0, hasRetry: true, want: bounds{0, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 { // the jitter is random
				s := &Stream{backoff: backoff, failures: tt.failures, retryAfter: tt.retryAfter, hasAfter: tt.hasAfter, serverRetry: tt.retry, hasRetry: tt.hasRetry}
				got := s.reconnectDelay()
				assert.GreaterOrEqual(t, got, tt.want.lo)
				assert.LessOrEqual(t, got, tt.want.hi)
				if tt.hasAfter {
					assert.False(t, s.hasAfter, "Retry-After is used once")
				}
				if tt.hasAfter && !tt.hasRetry {
					assert.Equal(t, time.Duration(tt.failures+1)*time.Second, s.reconnectDelay(), "then the backoff again")
				}
			}
		})
	}
}

// TestStream_retryField checks that a retry: field sets the reconnect delay
// for later connections too (the test client's own backoff is zero).
func TestStream_retryField(t *testing.T) {
	var dropped [2]time.Time
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		switch n {
		case 0:
			sseWrite(w, "retry: 80\n\n", sseEvent("evt_1", EventTypeSessionUpdated))
		case 1:
			sseWrite(w, sseEvent("evt_2", EventTypeSessionUpdated)) // no retry: field
		default:
			sseWrite(w, terminatedFrame("evt_3"))
			return
		}
		dropped[n] = time.Now()
		abort()
	})
	s := openTestStream(t, t.Context(), c, nil)
	assert.Equal(t, idRange(1, 3), eventIDs(collectStream(t, s, streamWait)))
	reqs := rr.list()
	require.Len(t, reqs, 3)
	assert.GreaterOrEqual(t, reqs[1].at.Sub(dropped[0]), 60*time.Millisecond, "retry: 80 less at most a quarter")
	assert.GreaterOrEqual(t, reqs[2].at.Sub(dropped[1]), 60*time.Millisecond, "the retry: value outlives its connection")
}

// TestStream_backoffResetsAfterProgress alternates connections that deliver
// an event and drop with refusals. With a budget of 2 consecutive failures
// the stream survives any number of such cycles, because each delivered
// event resets the count.
func TestStream_backoffResetsAfterProgress(t *testing.T) {
	const cycles = 25
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case n == 2*cycles:
			sseStart(w)
			sseWrite(w, terminatedFrame(fmt.Sprintf("evt_%d", cycles+1)))
		case n%2 == 0:
			sseStart(w)
			sseWrite(w, sseEvent(fmt.Sprintf("evt_%d", n/2+1), EventTypeSessionUpdated))
			abort()
		default:
			serveJSON(t, w, http.StatusServiceUnavailable, `{"type":"error","error":{"type":"api_error","message":"busy"}}`)
		}
	})
	s := openTestStream(t, t.Context(), c, &StreamParams{MaxReconnects: 2})
	assert.Equal(t, idRange(1, cycles+1), eventIDs(collectStream(t, s, streamWait)))
	assert.NoError(t, s.Err())
	assert.Equal(t, 2*cycles+1, rr.count())
}

// TestStream_healthyConnectionResetsFailures: a connection that stays up
// long enough counts as healthy although it delivered only heartbeats (an
// idle session), so routine drops of such connections never exhaust the
// budget.
func TestStream_healthyConnectionResetsFailures(t *testing.T) {
	const cycles = 6
	run := func(t *testing.T, hold time.Duration) (*Stream, *streamReqs) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			if n == cycles {
				sseWrite(w, terminatedFrame("evt_1"))
				return
			}
			sseWrite(w, ": heartbeat\n\n")
			select { // the connection lives this long, then drops
			case <-time.After(hold):
			case <-r.Context().Done():
			}
			abort()
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{MaxReconnects: 2})
		s.healthyAt = 20 * time.Millisecond
		collectStream(t, s, streamWait)
		return s, rr
	}
	t.Run("long-lived connections", func(t *testing.T) {
		s, rr := run(t, 40*time.Millisecond)
		assert.NoError(t, s.Err())
		assert.Equal(t, cycles+1, rr.count())
	})
	t.Run("short-lived connections", func(t *testing.T) {
		s, rr := run(t, 0)
		assert.ErrorIs(t, s.Err(), ErrStreamGaveUp)
		assert.Equal(t, 2, rr.count())
	})
}

// TestStream_headersOnEveryAttempt checks the headers of the first request
// and of every reconnect.
func TestStream_headersOnEveryAttempt(t *testing.T) {
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		if n < 2 {
			sseWrite(w, sseEvent(fmt.Sprintf("evt_%d", n+1), EventTypeSessionUpdated))
			abort()
		}
		sseWrite(w, terminatedFrame("evt_3"))
	}, WithHeader("X-Custom", "yes"))
	s := openTestStream(t, t.Context(), c, nil)
	collectStream(t, s, streamWait)
	reqs := rr.list()
	require.Len(t, reqs, 3)
	for i, r := range reqs {
		assert.Equal(t, "Bearer "+testToken, r.header.Get("Authorization"), "request %d", i+1)
		assert.Equal(t, "text/event-stream", r.header.Get("Accept"))
		assert.Equal(t, "no-cache", r.header.Get("Cache-Control"))
		assert.True(t, strings.HasPrefix(r.header.Get("User-Agent"), "qoder-go/"), r.header.Get("User-Agent"))
		assert.Equal(t, "yes", r.header.Get("X-Custom"))
		assert.Empty(t, r.header.Get("Idempotency-Key"))
	}
	assert.Equal(t, []string{"", "evt_1", "evt_2"}, rr.lastEventIDs())
}

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

func TestSessionThreadsService_Stream(t *testing.T) {
	c, mux := newTestClient(t)
	rr := &streamReqs{}
	mux.HandleFunc("GET /api-test/sessions/sess_1/threads/sthr_1/stream", func(w http.ResponseWriter, r *http.Request) {
		n := rr.add(r)
		sseStart(w)
		if n == 0 {
			sseWrite(w, sseEvent("evt_1", EventTypeSessionThreadStatusRunning, `,"session_thread_id":"sthr_1","agent_name":"worker"`))
			abort()
		}
		sseWrite(w, sseEvent("evt_2", EventTypeAgentMessage, `,"session_thread_id":"sthr_1","content":[{"type":"text","text":"done"}]`), terminatedFrame("evt_3"))
	})
	mux.HandleFunc("/", failHandler(t))
	s, err := c.Sessions.Threads.Stream(streamCtx(t), "sess_1", "sthr_1", &StreamParams{EventDeltas: []string{EventTypeAgentMessage}})
	require.NoError(t, err)
	defer s.Close()
	evs := collectStream(t, s, streamWait)
	require.NoError(t, s.Err())
	assert.Equal(t, idRange(1, 3), eventIDs(evs))
	assert.IsType(t, &SessionThreadStatusRunningEvent{}, evs[0])
	assert.Equal(t, "sthr_1", evs[1].(*AgentMessageEvent).SessionThreadID)
	reqs := rr.list()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/api-test/sessions/sess_1/threads/sthr_1/stream", reqs[0].path)
	assert.Equal(t, "event_deltas%5B%5D=agent.message", reqs[0].rawQuery)
	assert.Equal(t, "evt_1", reqs[1].header.Get("Last-Event-ID"))

	_, err = c.Sessions.Threads.Stream(streamCtx(t), "sess_1", "", nil)
	assert.ErrorContains(t, err, "thread_id")
}

func TestSessionThreadsService_StreamEndsWhenTheThreadTerminates(t *testing.T) {
	c, mux := newTestClient(t)
	rr := &streamReqs{}
	mux.HandleFunc("GET /api-test/sessions/sess_1/threads/sthr_1/stream", func(w http.ResponseWriter, r *http.Request) {
		rr.add(r)
		sseStart(w)
		sseWrite(w,
			sseEvent("evt_1", EventTypeSessionThreadStatusTerminated, `,"session_thread_id":"sthr_other","agent_name":"other"`),
			sseEvent("evt_2", EventTypeSessionThreadStatusTerminated, `,"session_thread_id":"sthr_1","agent_name":"worker"`))
		abort() // a stream that went on would reconnect here
	})
	s, err := c.Sessions.Threads.Stream(streamCtx(t), "sess_1", "sthr_1", nil)
	require.NoError(t, err)
	defer s.Close()
	evs := collectStream(t, s, streamWait)
	require.NoError(t, s.Err())
	assert.Equal(t, idRange(1, 2), eventIDs(evs), "another thread's end does not end the stream")
	assert.Len(t, rr.list(), 1, "no reconnect after the thread terminated")
}

func TestStream_logsReconnects(t *testing.T) {
	logs := &streamLogRecorder{}
	c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		if n == 0 {
			sseWrite(w, sseEvents(1, 2)...)
			abort()
		}
		sseWrite(w, terminatedFrame("evt_3"))
	}, WithLogger(slog.New(logs)))
	s := openTestStream(t, t.Context(), c, nil)
	collectStream(t, s, streamWait)
	require.NoError(t, s.Err())
	msgs := strings.Join(logs.messages(), "\n")
	assert.Contains(t, msgs, "qoder: stream dropped")
	assert.Contains(t, msgs, "last_event_id=evt_2")
	assert.Contains(t, msgs, "qoder: stream reconnecting")
	assert.Contains(t, msgs, "path=/sessions/"+streamSessionID+"/events/stream")
	assert.NotContains(t, msgs, testToken)
}

func TestStream_echoedTokenIsRedacted(t *testing.T) {
	echoEnvelope := func(r *http.Request) string {
		auth := r.Header.Get("Authorization")
		return `{"type":"error","request_id":"` + auth + `","error":{"type":"authentication_error","message":"bad ` + auth + `"}}`
	}
	t.Run("refused at open", func(t *testing.T) {
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("X-Request-Id", r.Header.Get("Authorization"))
			serveJSON(t, w, http.StatusUnauthorized, echoEnvelope(r))
		})
		_, err := c.Events.Stream(streamCtx(t), streamSessionID, nil)
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrAuthentication)
		assertAPIErrorHasNoToken(t, testToken, err)
	})
	t.Run("error frame", func(t *testing.T) {
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, "event: error\ndata: "+echoEnvelope(r)+"\n\n")
		})
		s := openTestStream(t, t.Context(), c, nil)
		collectStream(t, s, streamWait)
		require.Error(t, s.Err())
		assertAPIErrorHasNoToken(t, testToken, s.Err())
	})
}

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
		ahead := s.cursor == "evt_2"
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

// waitGoroutines waits until the number of goroutines is back at baseline,
// closing c's idle connections before each count.
func waitGoroutines(t *testing.T, c *Client, baseline int) {
	t.Helper()
	leakcheck.Wait(t, baseline, c.httpClient.CloseIdleConnections)
}
