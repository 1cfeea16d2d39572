package qoder

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/qoder-go/qoder/internal/sse"
)

// Stream defaults.
const (
	defaultMaxReconnects = 10
	defaultIdleTimeout   = 45 * time.Second
	defaultMaxEventSize  = 16 << 20
)

// Errors a stream can end with (besides *APIError and context errors).
var (
	// ErrEventTooLarge ends a stream that received an event larger than
	// StreamParams.MaxEventSize. It is not retried: the server would send
	// the same event again.
	ErrEventTooLarge = errors.New("qoder: stream: event exceeds the maximum size")
	// ErrStreamGaveUp ends a stream whose reconnect budget is spent; the
	// error wraps it together with the last failure.
	ErrStreamGaveUp = errors.New("qoder: stream: giving up reconnecting")
	// errIdleTimeout cancels an attempt that received nothing for the idle
	// timeout.
	errIdleTimeout = errors.New("no data within the idle timeout")
	// errStreamClosed is the cancel cause when Close is called.
	errStreamClosed = errors.New("qoder: stream closed")
	// errStreamEnded is the cancel cause of the connection of a stream
	// that read a terminal event.
	errStreamEnded = errors.New("qoder: stream ended: its session or thread ended")
)

// StreamParams configures [EventsService.Stream]. The zero value resumes
// from the live tail, reconnects up to 10 consecutive times and treats 45 s
// without any byte (heartbeats included) as a dropped connection.
//
// The first reconnect after a drop waits a random time drawn uniformly
// between 0 and 0.5 s (a quarter of a second on average), so that streams
// a server dropped together come back spread over that half second rather
// than all at once. Each further consecutive failure doubles the wait (1 s,
// 2 s, 4 s, then 8 s at most), less a random quarter. A Retry-After sent
// with a refused reconnect is waited as is. A retry: field from the server
// takes the place of this sequence: every wait is then the server's value
// doubled per consecutive failure (up to 8 s, or the value itself when it
// is larger, at most a minute), less a random quarter.
type StreamParams struct {
	// LastEventID resumes after this event: the server replays what came
	// after it. Empty starts at the live tail (no history). An id with a
	// control character cannot be sent and fails Stream.
	LastEventID string `url:"-"`
	// EventDeltas asks for incremental frames of these event types
	// ("agent.message", "agent.thinking"): they arrive as *EventStart and
	// *EventDelta before the final event. See [MessageAccumulator].
	EventDeltas []string `url:"event_deltas,brackets,omitempty"`
	// Types, when set, asks the server to send only these event types.
	Types []string `url:"types,brackets,omitempty"`
	// Type is the single type filter: one event type, or several separated
	// by commas ("agent.message,session.status_idle"). It may be combined
	// with Types.
	Type string `url:"type,omitempty"`

	// NoResume turns reconnecting off: the stream ends at the first drop
	// with io.ErrUnexpectedEOF or the read error.
	NoResume bool `url:"-"`
	// MaxReconnects is how many consecutive failed connection attempts end
	// the stream (default 10). An attempt that delivered an event, or that
	// stayed connected for a minute, resets the count.
	MaxReconnects int `url:"-"`
	// IdleTimeout is how long the stream may receive nothing before it
	// reconnects (default 45 s, three missed heartbeats). Negative turns the
	// watchdog off.
	IdleTimeout time.Duration `url:"-"`
	// MaxEventSize caps one event's size in bytes (default 16 MiB). A larger
	// event ends the stream with ErrEventTooLarge.
	MaxEventSize int `url:"-"`
}

// Stream is an open Server-Sent Events stream of a session's events. It
// decodes every frame into a typed [Event], ignores heartbeats, and when
// the connection drops it reconnects with Last-Event-ID set to the last
// complete event, dropping events the server sends twice.
//
// Read it in one of three ways, and use only one per stream: the channel
// of [Stream.Events], the scanner form [Stream.Next] / [Stream.Event], or
// the iterator [Stream.All]. Then check [Stream.Err]. Always Close it.
type Stream struct {
	client   *Client
	req      *preparedRequest
	params   StreamParams
	threadID string // set on a thread stream
	ctx      context.Context
	cancel   context.CancelCauseFunc

	// readMu is held by the reader (Next blocks with it) and by Close to
	// release the connection. It guards every field up to out.
	readMu   sync.Mutex
	conn     *streamConn     // the current connection; nil between two
	resume   resumeState     // where to resume, and the ids not to repeat
	policy   reconnectPolicy // when to connect again, and when to give up
	attempts int             // connection attempts made, for RequestInfo
	current  Event           // the event Next moved to
	finished bool
	terminal bool // a terminal event was read; end after it

	out delivery
}

// delivery is what the caller has got from a stream and how the stream
// ended. Its mutex is never held during I/O, so LastEventID and Err do not
// wait for a read.
type delivery struct {
	mu     sync.Mutex
	lastID string // id of the last complete event handed to the caller
	err    error
	closed bool // Close was called

	chOnce    sync.Once
	ch        chan Event
	done      chan struct{} // closed when the Events goroutine returns
	closeOnce sync.Once
}

// Stream opens the event stream of a session. It returns once the server
// has answered: an HTTP error at open comes back here as *APIError (a 4xx
// other than 408 and 429 is never retried; other failures are retried up
// to StreamParams.MaxReconnects times). The stream lives until Close, ctx
// ends, the session terminates or is deleted, or reconnecting fails.
//
// Open the stream before sending the message whose answer you want:
// without LastEventID it starts at the live tail.
//
// API: GET /sessions/{session_id}/events/stream
func (s *EventsService) Stream(ctx context.Context, sessionID string, params *StreamParams, opts ...RequestOption) (*Stream, error) {
	path, err := s.client.path("sessions/{session_id}/events/stream", sessionID)
	if err != nil {
		return nil, err
	}
	return s.client.openStream(ctx, path, "", params, opts)
}

// openStream prepares a stream on path and makes its first connection. A
// thread stream (threadID set) also ends when that thread terminates.
func (c *Client) openStream(ctx context.Context, path apiPath, threadID string, params *StreamParams, opts []RequestOption) (*Stream, error) {
	p := params.withDefaults()
	if !validHeaderValue(p.LastEventID) {
		return nil, errors.New("qoder: StreamParams.LastEventID contains a control character")
	}
	req, err := c.prepare(http.MethodGet, path, &p, nil, opts)
	if err != nil {
		return nil, err
	}
	req.accept = "text/event-stream"
	s := newStream(ctx, c, req, p, threadID)
	if err := s.connectFirst(); err != nil {
		return nil, err
	}
	return s, nil
}

// withDefaults returns a copy of p (the zero value when p is nil) with
// the defaults filled in.
func (p *StreamParams) withDefaults() StreamParams {
	var out StreamParams
	if p != nil {
		out = *p
	}
	if out.MaxReconnects <= 0 {
		out.MaxReconnects = defaultMaxReconnects
	}
	if out.IdleTimeout == 0 {
		out.IdleTimeout = defaultIdleTimeout
	}
	if out.MaxEventSize <= 0 {
		out.MaxEventSize = defaultMaxEventSize
	}
	return out
}

// newStream returns a stream that has not connected yet.
func newStream(ctx context.Context, c *Client, req *preparedRequest, p StreamParams, threadID string) *Stream {
	sctx, cancel := context.WithCancelCause(ctx)
	s := &Stream{
		client:   c,
		req:      req,
		params:   p,
		threadID: threadID,
		ctx:      sctx,
		cancel:   cancel,
		resume:   newResumeState(),
		policy:   newReconnectPolicy(c.backoff, p.MaxReconnects),
	}
	if p.LastEventID != "" {
		s.resume.startAfter(p.LastEventID)
		s.out.lastID = p.LastEventID
	}
	return s
}

// connectFirst makes the stream's first connection. On failure, including
// the context ending meanwhile, the stream is released and the error
// returned.
func (s *Stream) connectFirst() error {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	err := s.connect(true)
	if err == nil && s.conn == nil { // ctx ended while connecting
		err = context.Cause(s.ctx)
	}
	if err != nil {
		s.cancel(err)
	}
	return err
}

// Events returns a channel that delivers the stream's events. The first
// call starts one goroutine that reads the stream; it closes the channel
// exactly once, when the stream ends (see Err for why), ctx ends, or Close
// is called. Later calls return the same channel.
func (s *Stream) Events() <-chan Event {
	s.out.chOnce.Do(func() {
		s.out.mu.Lock()
		s.out.ch = make(chan Event)
		s.out.done = make(chan struct{})
		s.out.mu.Unlock()
		go s.deliver(s.out.ch, s.out.done)
	})
	return s.out.ch
}

// deliver is the goroutine of Events: it sends every event on ch, then
// closes ch and done.
func (s *Stream) deliver(ch chan<- Event, done chan<- struct{}) {
	defer close(done)
	defer close(ch)
	for {
		ev, cursor, ok := s.read()
		if !ok {
			return
		}
		select {
		case ch <- ev:
			s.publish(cursor)
		case <-s.ctx.Done():
			s.finish(nil)
			return
		}
	}
}

// All returns an iterator over the stream's events; an error, if the
// stream ends with one, is yielded last. Breaking the loop does not close
// the stream.
func (s *Stream) All() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for s.Next() {
			if !yield(s.current, nil) {
				return
			}
		}
		if err := s.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// Event returns the event Next moved to.
func (s *Stream) Event() Event { return s.current }

// LastEventID returns the id of the last complete event delivered to the
// caller (never a delta frame's): pass it as StreamParams.LastEventID to
// resume later. With Events it follows what was received from the channel:
// right after a receive it may for a moment still name the previous event
// (a resume from there repeats one event), but it never names an event not
// yet received, and it is exact once the channel is closed.
func (s *Stream) LastEventID() string {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return s.out.lastID
}

// publish records cursor as the resume point of what the caller has got.
func (s *Stream) publish(cursor string) {
	s.out.mu.Lock()
	s.out.lastID = cursor
	s.out.mu.Unlock()
}

// Err returns why the stream ended: nil after Close, a terminal event or a
// clean end; the context's error (or cause) when ctx ended; *APIError when
// the server refused a reconnect; an error wrapping ErrStreamGaveUp when the
// reconnect budget ran out; ErrEventTooLarge; or, with NoResume, the error
// that dropped the connection.
func (s *Stream) Err() error {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return s.out.err
}

// Close ends the stream and releases its connection and goroutine. It is
// idempotent and safe to call from any goroutine; Err is nil afterwards
// unless the stream had already failed.
func (s *Stream) Close() error {
	s.out.closeOnce.Do(func() {
		s.out.mu.Lock()
		s.out.closed = true
		done := s.out.done
		s.out.mu.Unlock()
		s.cancel(errStreamClosed)
		if done != nil {
			<-done
		}
		s.readMu.Lock()
		s.finished = true
		s.closeConn(errStreamClosed)
		s.readMu.Unlock()
	})
	return nil
}

// Next moves to the next event, blocking until one arrives. It returns
// false when the stream has ended; Err says why.
func (s *Stream) Next() bool {
	ev, cursor, ok := s.read()
	if ok {
		s.current = ev
		s.publish(cursor)
	}
	return ok
}

// read returns the next event and the resume point after it, or false when
// the stream has ended.
func (s *Stream) read() (Event, string, bool) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	for {
		if s.finished || s.terminal || s.ctx.Err() != nil {
			s.finishLocked(nil)
			return nil, "", false
		}
		if s.conn == nil {
			if err := s.reconnect(); err != nil {
				s.finishLocked(err)
				return nil, "", false
			}
			continue // connected, or ctx ended
		}
		frame, err := s.conn.reader.Next()
		if err != nil {
			if fatal := s.handleReadError(err); fatal != nil {
				s.finishLocked(fatal)
				return nil, "", false
			}
			continue
		}
		ev, ok, err := s.accept(frame)
		if err != nil {
			s.finishLocked(err)
			return nil, "", false
		}
		if ok {
			return ev, s.resume.cursor, true
		}
	}
}

// accept turns a frame into an event, or reports false for frames that
// carry nothing for the caller (heartbeats, duplicates).
func (s *Stream) accept(f sse.Frame) (Event, bool, error) {
	switch f.Event {
	case "heartbeat", "ping":
		return nil, false, nil
	case "error":
		return nil, false, s.client.redact.error(streamErrorFrame(s.req, f.Data))
	}
	if f.Event == "" && string(f.Data) == "[DONE]" {
		s.terminal = true
		return nil, false, nil
	}
	ev := decodeEvent(f.Event, f.Data)
	if ev.EventType() == "heartbeat" {
		return nil, false, nil
	}
	isNew, badID := s.resume.admit(ev, f)
	if badID != "" {
		s.log("qoder: stream: an event id cannot be sent back as Last-Event-ID; keeping the last good one",
			slog.String("event_id", strconv.Quote(badID)), slog.String("last_event_id", s.resume.cursor))
	}
	if !isNew {
		return nil, false, nil // delivered before
	}
	if isTerminalEvent(ev) || s.endsThread(ev) {
		s.terminal = true
	}
	s.policy.progress = true
	return ev, true, nil
}

// endsThread reports whether ev terminates the thread a thread stream
// follows.
func (s *Stream) endsThread(ev Event) bool {
	e, ok := ev.(*SessionThreadStatusTerminatedEvent)
	return ok && s.threadID != "" && e.SessionThreadID == s.threadID
}

// finish records why the stream ended (first reason wins) and releases the
// connection.
func (s *Stream) finish(err error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.finishLocked(err)
}

// finishLocked is finish for a caller that holds readMu.
func (s *Stream) finishLocked(err error) {
	cause := err
	switch {
	case cause != nil:
	case s.terminal:
		cause = errStreamEnded
	default:
		cause = errStreamClosed
	}
	s.closeConn(cause)
	s.out.mu.Lock()
	if !s.finished {
		s.finished = true
		switch {
		case s.out.closed:
			err = nil
		case err == nil && s.ctx.Err() != nil:
			err = context.Cause(s.ctx)
		}
		s.out.err = err
	}
	s.out.mu.Unlock()
	s.cancel(errStreamClosed)
}

// log reports a stream event at debug level.
func (s *Stream) log(msg string, attrs ...slog.Attr) {
	logger := s.client.logger
	if logger == nil || !logger.Enabled(s.ctx, slog.LevelDebug) {
		return
	}
	attrs = append(attrs, slog.String("path", s.req.target()))
	logger.LogAttrs(s.ctx, slog.LevelDebug, msg, s.client.redact.attrs(attrs)...)
}

// streamErrorFrame turns an `event: error` frame into an *APIError.
func streamErrorFrame(req *preparedRequest, data []byte) error {
	e := &APIError{Method: http.MethodGet, Path: req.target(), Body: data}
	var env errorEnvelope
	if json.Unmarshal(data, &env) == nil && env.Error != nil {
		e.Type, e.Message, e.Param, e.RequestID = env.Error.Type, env.Error.Message, env.Error.Param, env.RequestID
	} else {
		e.Message = "error frame: " + string(data)
	}
	return e
}
