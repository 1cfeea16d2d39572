package qodertest

import (
	"net/http"
	"strings"
	"time"
)

// streamDeltaTypes are the values event_deltas[] accepts.
var streamDeltaTypes = []string{"agent.message", "agent.thinking"}

// frame is one SSE frame to write.
type frame struct {
	id, event string
	data      []byte
	terminal  bool // the stream ends after it
}

// scope is what a stream or an event list shows: a whole session, or one
// of its threads.
type scope struct {
	ss *session
	th *thread // nil: the whole session
}

// scopeOf looks up the session, and on thread routes the thread, that a
// request names; s.mu must be held.
func (s *Server) scopeOf(r *http.Request) (scope, *apiError) {
	ss, e := s.sessionByID(r.PathValue("id"))
	if e != nil {
		return scope{}, e
	}
	sc := scope{ss: ss}
	if id := r.PathValue("thread"); id != "" {
		sc.th, e = ss.threadByID(id)
	}
	return sc, e
}

// has reports whether it belongs to the scope: a session has every item,
// a child thread its own, and the coordinator the session's own.
func (sc scope) has(it item) bool {
	switch {
	case sc.th == nil:
		return true
	case sc.th.parent == "":
		return it.thread == ""
	}
	return it.thread == sc.th.id
}

// ends reports whether it is an event after which the scope has no more:
// the session's end, or the thread's.
func (sc scope) ends(it item) bool {
	if it.kind != kindEvent {
		return false
	}
	switch it.typ {
	case "session.status_terminated", "session.deleted":
		return true
	case "session.thread_status_terminated":
		return sc.th != nil && it.thread == sc.th.id
	}
	return false
}

// ended reports whether the scope will have no more events.
func (sc scope) ended() bool {
	if sc.ss.deleted || sc.ss.status == statusTerminated {
		return true
	}
	return sc.th != nil && sc.th.parent != "" && sc.th.status == statusTerminated
}

// name is how messages name the scope.
func (sc scope) name() string {
	if sc.th != nil {
		return "thread '" + sc.th.id + "'"
	}
	return "session '" + sc.ss.id + "'"
}

// stream serves GET /sessions/{id}/events/stream and, for one thread's
// events, GET /sessions/{id}/threads/{thread}/stream.
//
// Without Last-Event-ID it starts at the live tail. With it, it replays
// what came after that event, then goes live; the id must be an event of
// the session (else 400). Delta frames follow the documented reconnect
// cases: a cursor before a message still being generated replays its
// event_start and deltas; a cursor equal to it skips the deltas already
// sent; a finished message replays as its buffered event only. When the
// cursor is a finished delta-streamed message and this connection asks for
// its deltas, that final event is replayed too (the client may have seen
// only its deltas, which carry the same id). The stream ends after
// session.status_terminated or session.deleted, and a thread's after its
// session.thread_status_terminated. A thread's stream takes any event of
// the session as its Last-Event-ID.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	q := r.URL.Query()
	deltas := map[string]bool{}
	for _, v := range queryList(q, "event_deltas[]", "event_deltas") {
		if v != streamDeltaTypes[0] && v != streamDeltaTypes[1] {
			writeError(w, ri.id, invalid("event_deltas[]", "event_deltas[] must be among %s.", quoteList(streamDeltaTypes)))
			return
		}
		deltas[v] = true
	}
	types := map[string]bool{}
	for _, v := range queryList(q, "type", "types", "types[]") {
		types[v] = true
	}
	lastID := strings.TrimSpace(r.Header.Get("Last-Event-ID"))

	s.mu.Lock()
	sc, e := s.scopeOf(r)
	ss := sc.ss
	var pos int
	if e == nil {
		pos, e = ss.resumeAt(lastID, deltas)
	}
	replayEnd := 0
	if e == nil {
		replayEnd = len(ss.items)
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, ri.id, e)
		return
	}

	s.streams.Add(1)
	defer s.streams.Add(-1)
	cut, sil := s.takeStreamFaults()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	c := &sseConn{w: w, rc: http.NewResponseController(w), cut: cut, sil: sil, r: r, s: s}
	c.flush()
	if cut != nil && cut.AfterEvents == 0 && cut.AfterBytes == 0 {
		panic(http.ErrAbortHandler)
	}
	if sil != nil && sil.AfterEvents == 0 && !c.silence() {
		return
	}

	var beat <-chan time.Time
	if s.cfg.heartbeat > 0 {
		t := time.NewTicker(s.cfg.heartbeat)
		defer t.Stop()
		beat = t.C
	}
	for {
		s.mu.Lock()
		var frames []frame
		for ; pos < len(ss.items); pos++ {
			it := ss.items[pos]
			terminal := sc.ends(it)
			switch {
			case terminal: // the session's end reaches its threads' streams too
			case !sc.has(it):
				continue
			case len(types) > 0 && !types[it.typ]:
				continue
			case it.kind != kindEvent && !deltas[it.typ]:
				continue
			case it.kind != kindEvent && pos < replayEnd:
				if _, done := ss.byID[it.id]; done {
					continue // finished while the client was away: no deltas
				}
			}
			name := it.typ
			switch it.kind {
			case kindStart:
				name = "event_start"
			case kindDelta:
				name = "event_delta"
			}
			frames = append(frames, frame{id: it.id, event: name, data: it.data, terminal: terminal})
		}
		ended := sc.ended()
		wake := ss.wake
		s.mu.Unlock()

		for _, f := range frames {
			if !c.send(f) || f.terminal {
				return
			}
		}
		if ended {
			return
		}
		select {
		case <-wake:
		case <-beat:
			if !c.write([]byte(": heartbeat\n\n")) {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// resumeAt returns the timeline index a stream starts from; s.mu must be
// held.
func (ss *session) resumeAt(lastID string, deltas map[string]bool) (int, *apiError) {
	if lastID == "" {
		return len(ss.items), nil
	}
	if i, ok := ss.byID[lastID]; ok {
		if _, streamed := ss.started[lastID]; streamed && deltas[ss.items[i].typ] {
			return i, nil
		}
		return i + 1, nil
	}
	if i, ok := ss.started[lastID]; ok { // a message still being generated
		return i + 1, nil
	}
	return 0, invalid("Last-Event-ID", "Last-Event-ID '%s' is not an event of session '%s'.", lastID, ss.id)
}

// sseConn writes frames to one stream connection and applies its faults.
type sseConn struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	r        *http.Request
	s        *Server
	cut      *Cut
	sil      *silenceFault
	silenced bool // the silence already happened
	written  int
	frames   int
}

func (c *sseConn) flush() { _ = c.rc.Flush() }

// write writes b and flushes; it reports false when the client is gone.
// A byte cut aborts the connection.
func (c *sseConn) write(b []byte) bool {
	if c.cut != nil && c.cut.AfterBytes > 0 && c.written+len(b) >= c.cut.AfterBytes {
		_, _ = c.w.Write(b[:c.cut.AfterBytes-c.written])
		c.flush()
		panic(http.ErrAbortHandler)
	}
	if _, err := c.w.Write(b); err != nil {
		return false
	}
	c.written += len(b)
	return c.rc.Flush() == nil
}

// send writes one frame, then applies event-count faults.
func (c *sseConn) send(f frame) bool {
	var b strings.Builder
	b.WriteString("id: " + f.id + "\n")
	b.WriteString("event: " + f.event + "\n")
	b.WriteString("data: ")
	b.Write(f.data)
	b.WriteString("\n\n")
	if !c.write([]byte(b.String())) {
		return false
	}
	c.frames++
	if c.cut != nil && c.cut.AfterEvents > 0 && c.frames >= c.cut.AfterEvents {
		panic(http.ErrAbortHandler)
	}
	if c.sil != nil && !c.silenced && c.frames >= c.sil.AfterEvents {
		return c.silence()
	}
	return true
}

// silence stops writing until the silence ends; it reports false when the
// client or the server went away meanwhile.
func (c *sseConn) silence() bool {
	c.silenced = true
	var timeout <-chan time.Time
	if c.sil.For > 0 {
		t := time.NewTimer(c.sil.For)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
		return true
	case <-c.sil.released:
		return true
	case <-c.r.Context().Done():
		return false
	case <-c.s.ctx.Done():
		return false
	}
}
