package qoder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	mrand "math/rand/v2"
	"mime"
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
	dedupWindow          = 1024
	// healthyConnection is how long a connection must stay up for its drop
	// not to count as a failed attempt, even if it delivered no event (an
	// idle session kept alive by heartbeats).
	healthyConnection = time.Minute
	// maxContentTypeBody bounds what is read of a 200 response that is not
	// an event stream, for the error.
	maxContentTypeBody = 4 << 10
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
)

// StreamParams configures [EventsService.Stream]. The zero value resumes
// from the live tail, reconnects up to 10 consecutive times and treats 45 s
// without any byte (heartbeats included) as a dropped connection.
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
	logger   *slog.Logger
	ctx      context.Context
	cancel   context.CancelCauseFunc
	backoff  func(int) time.Duration
	threadID string // set on a thread stream

	readMu      sync.Mutex // held by Next; Close takes it to release the body
	body        io.ReadCloser
	reader      *sse.Reader
	attemptCtx  context.Context
	attempt     context.CancelCauseFunc
	idle        *time.Timer
	connectedAt time.Time // when the current connection's headers arrived
	healthyAt   time.Duration
	failures    int  // consecutive failed attempts
	progress    bool // the current attempt delivered an event
	lastErr     error
	retryAfter  time.Duration // the Retry-After of the last refusal
	hasAfter    bool          // retryAfter is set; it is used once
	serverRetry time.Duration // the last retry: value the server sent
	hasRetry    bool

	current  Event
	finished bool
	terminal bool   // a terminal event was delivered; end after it
	cursor   string // id of the last complete event read: the resume point
	badID    bool   // an id unfit for Last-Event-ID was seen (and logged)

	seen   map[string]struct{}
	ring   []string
	ringAt int

	mu       sync.Mutex
	lastID   string // id of the last complete event handed to the caller
	err      error
	closed   bool
	chOnce   sync.Once
	ch       chan Event
	done     chan struct{}
	closeOne sync.Once
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
func (c *Client) openStream(ctx context.Context, path, threadID string, params *StreamParams, opts []RequestOption) (*Stream, error) {
	var p StreamParams
	if params != nil {
		p = *params
	}
	if p.MaxReconnects <= 0 {
		p.MaxReconnects = defaultMaxReconnects
	}
	if p.IdleTimeout == 0 {
		p.IdleTimeout = defaultIdleTimeout
	}
	if p.MaxEventSize <= 0 {
		p.MaxEventSize = defaultMaxEventSize
	}
	if !validHeaderValue(p.LastEventID) {
		return nil, errors.New("qoder: StreamParams.LastEventID contains a control character")
	}
	req, err := c.prepare(http.MethodGet, path, &p, nil, opts)
	if err != nil {
		return nil, err
	}
	req.accept = "text/event-stream"
	sctx, cancel := context.WithCancelCause(ctx)
	s := &Stream{
		client:    c,
		req:       req,
		params:    p,
		logger:    c.logger,
		ctx:       sctx,
		cancel:    cancel,
		backoff:   c.backoff,
		healthyAt: healthyConnection,
		threadID:  threadID,
		seen:      make(map[string]struct{}, dedupWindow),
		ring:      make([]string, dedupWindow),
	}
	if p.LastEventID != "" {
		s.cursor, s.lastID = p.LastEventID, p.LastEventID
		s.remember(p.LastEventID)
	}
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if err := s.connect(true); err != nil {
		cancel(err)
		return nil, err
	}
	if s.body == nil { // ctx ended while connecting
		err := context.Cause(ctx)
		cancel(err)
		return nil, err
	}
	return s, nil
}

// Events returns a channel that delivers the stream's events. The first
// call starts one goroutine that reads the stream; it closes the channel
// exactly once, when the stream ends (see Err for why), ctx ends, or Close
// is called. Later calls return the same channel.
func (s *Stream) Events() <-chan Event {
	s.chOnce.Do(func() {
		s.mu.Lock()
		s.ch = make(chan Event)
		s.done = make(chan struct{})
		s.mu.Unlock()
		go func() {
			defer close(s.done)
			defer close(s.ch)
			for {
				ev, cursor, ok := s.read()
				if !ok {
					return
				}
				select {
				case s.ch <- ev:
					s.publish(cursor)
				case <-s.ctx.Done():
					s.finish(nil)
					return
				}
			}
		}()
	})
	return s.ch
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
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// resumeFrom sets the resume point of a stream that has not delivered a
// complete event yet: a reconnect before the first event then sends
// Last-Event-ID id, and the server replays what came after id instead of
// starting at the live tail, where the events in between would be lost. It
// is meant for an event the caller sent after opening the stream, such as
// the accepted user.message of a turn. Unlike StreamParams.LastEventID, id
// is not marked as delivered: if the server sends that event, it is
// delivered. It reports whether id was taken. Do not call it while Next
// blocks: it waits for the read lock.
func (s *Stream) resumeFrom(id string) bool {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if id == "" || s.cursor != "" || s.finished || !validHeaderValue(id) {
		return false
	}
	s.cursor = id
	return true
}

// publish records cursor as the resume point of what the caller has got.
func (s *Stream) publish(cursor string) {
	s.mu.Lock()
	s.lastID = cursor
	s.mu.Unlock()
}

// Err returns why the stream ended: nil after Close, a terminal event or a
// clean end; the context's error (or cause) when ctx ended; *APIError when
// the server refused a reconnect; an error wrapping ErrStreamGaveUp when the
// reconnect budget ran out; ErrEventTooLarge; or, with NoResume, the error
// that dropped the connection.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the stream and releases its connection and goroutine. It is
// idempotent and safe to call from any goroutine; Err is nil afterwards
// unless the stream had already failed.
func (s *Stream) Close() error {
	s.closeOne.Do(func() {
		s.mu.Lock()
		s.closed = true
		done := s.done
		s.mu.Unlock()
		s.cancel(errStreamClosed)
		if done != nil {
			<-done
		}
		s.readMu.Lock()
		s.finished = true
		s.closeBody()
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
		if s.finished || s.terminal {
			s.finishLocked(nil)
			return nil, "", false
		}
		if s.ctx.Err() != nil {
			s.finishLocked(nil)
			return nil, "", false
		}
		if s.body == nil {
			if err := s.reconnect(); err != nil {
				s.finishLocked(err)
				return nil, "", false
			}
			continue // connected, or ctx ended
		}
		frame, err := s.reader.Next()
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
			return ev, s.cursor, true
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
	id := ev.EventID()
	switch ev.(type) {
	case *EventStart, *EventDelta:
		if _, done := s.seen[id]; done && id != "" {
			return nil, false, nil // the final event was already delivered
		}
	default:
		switch {
		case id != "":
			if _, dup := s.seen[id]; dup {
				return nil, false, nil
			}
			s.remember(id)
			s.adopt(id)
		case f.ID != "" && f.Event != EventTypeEventStart && f.Event != EventTypeEventDelta:
			// The JSON carries no id (it may not even be JSON): resume from
			// the frame's SSE id, unless the frame is a malformed delta, but
			// do not deduplicate by it, since an id-less frame inherits the
			// previous frame's id.
			s.adopt(f.ID)
		}
		if isTerminalEvent(ev) || s.endsThread(ev) {
			s.terminal = true
		}
	}
	s.progress = true
	return ev, true, nil
}

// adopt makes id the resume point, unless it could not be sent back as a
// Last-Event-ID header (a NUL, CR, LF or other control character): then
// the last good id stays the resume point, since every reconnect would
// otherwise fail before it left the machine. The first such id is logged.
func (s *Stream) adopt(id string) {
	if validHeaderValue(id) {
		s.cursor = id
		return
	}
	if !s.badID {
		s.badID = true
		s.log("qoder: stream: an event id cannot be sent back as Last-Event-ID; keeping the last good one",
			slog.String("event_id", strconv.Quote(id)), slog.String("last_event_id", s.cursor))
	}
}

// validHeaderValue reports whether v can be sent as an HTTP header value:
// no control characters but tab.
func validHeaderValue(v string) bool {
	for i := range len(v) {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// endsThread reports whether ev terminates the thread a thread stream
// follows.
func (s *Stream) endsThread(ev Event) bool {
	e, ok := ev.(*SessionThreadStatusTerminatedEvent)
	return ok && s.threadID != "" && e.SessionThreadID == s.threadID
}

// remember records id in the bounded window of delivered ids.
func (s *Stream) remember(id string) {
	if old := s.ring[s.ringAt]; old != "" {
		delete(s.seen, old)
	}
	s.ring[s.ringAt] = id
	s.ringAt = (s.ringAt + 1) % len(s.ring)
	s.seen[id] = struct{}{}
}

// handleReadError decides what a failed read means: nil to reconnect, or
// the error that ends the stream.
func (s *Stream) handleReadError(err error) error {
	reason := err
	if s.attemptCtx != nil && errors.Is(context.Cause(s.attemptCtx), errIdleTimeout) {
		reason = fmt.Errorf("no data for %s", s.params.IdleTimeout)
	}
	if !s.connectedAt.IsZero() && time.Since(s.connectedAt) >= s.healthyAt {
		s.progress = true // a long-lived connection was healthy
	}
	s.closeBody()
	switch {
	case s.ctx.Err() != nil:
		return nil // Next reports the context's error
	case errors.Is(err, sse.ErrEventTooLarge):
		return fmt.Errorf("%w (limit %d bytes)", ErrEventTooLarge, s.params.MaxEventSize)
	case s.params.NoResume:
		if errors.Is(err, io.EOF) || errors.Is(err, sse.ErrTruncated) {
			return io.ErrUnexpectedEOF
		}
		return reason
	}
	s.lastErr = reason
	s.log("qoder: stream dropped", slog.String("reason", reason.Error()), slog.String("last_event_id", s.cursor))
	return nil
}

// reconnect connects again after a drop. An attempt that delivered an
// event resets the count of consecutive failures.
func (s *Stream) reconnect() error {
	if s.progress {
		s.failures = 0
	} else {
		s.failures++
	}
	s.progress = false
	return s.connect(false)
}

// connect makes connection attempts until one succeeds, one fails for
// good, or the budget of consecutive failures is spent. It returns nil
// when ctx ends (Next reports that). The caller holds readMu.
func (s *Stream) connect(first bool) error {
	for {
		if !first {
			if s.failures >= s.params.MaxReconnects {
				last := s.lastErr
				if last == nil {
					last = io.ErrUnexpectedEOF
				}
				s.log("qoder: stream giving up", append(failureAttrs(last), slog.Int("failures", s.failures))...)
				return fmt.Errorf("%w after %d consecutive failed attempts: %w", ErrStreamGaveUp, s.failures, last)
			}
			delay := s.reconnectDelay()
			s.log("qoder: stream reconnecting", append(failureAttrs(s.lastErr), slog.Int("failures", s.failures),
				slog.Duration("delay", delay), slog.String("last_event_id", s.cursor))...)
			if err := sleepCtx(s.ctx, delay); err != nil {
				return nil
			}
		}
		first = false
		retry, err := s.open()
		err = s.client.redact.error(err)
		if err == nil {
			return nil
		}
		if s.ctx.Err() != nil {
			return nil
		}
		if !retry {
			return err
		}
		s.lastErr = err
		s.failures++
	}
}

// reconnectDelay is the wait before the next attempt: a Retry-After the
// server sent with its last refusal, else the client's backoff, growing with
// consecutive failures. A retry: value from the server replaces the
// backoff's base: it doubles with each consecutive failure up to 8 s (or the
// value itself when larger, at most a minute), less a random quarter.
func (s *Stream) reconnectDelay() time.Duration {
	if s.hasAfter { // Retry-After: 0 means at once
		s.hasAfter = false
		return s.retryAfter
	}
	n := min(s.failures, 6)
	if !s.hasRetry {
		return s.backoff(n)
	}
	base := min(s.serverRetry, maxRetryAfter)
	d := min(base<<n, max(base, maxBackoff))
	return d - time.Duration(mrand.Int64N(int64(d/4)+1))
}

// open makes one connection attempt. It reports whether a failure is
// worth another attempt.
func (s *Stream) open() (bool, error) {
	actx, acancel := context.WithCancelCause(s.ctx)
	req, err := s.client.newHTTPRequest(actx, s.req)
	if err != nil {
		acancel(nil)
		return false, err
	}
	req.Header.Set("Cache-Control", "no-cache")
	if s.cursor != "" {
		req.Header.Set("Last-Event-ID", s.cursor)
	}
	// The watchdog covers waiting for the response headers too, so a server
	// that never answers cannot hang the stream.
	var idle *time.Timer
	if s.params.IdleTimeout > 0 {
		idle = time.AfterFunc(s.params.IdleTimeout, func() { acancel(errIdleTimeout) })
	}
	fail := func() {
		if idle != nil {
			idle.Stop()
		}
		acancel(nil)
	}
	start := time.Now()
	resp, err := s.client.httpClient.Do(req)
	if err != nil {
		fail()
		s.client.logAttempt(s.ctx, s.req, nil, s.failures, time.Since(start), err)
		if errors.Is(context.Cause(actx), errIdleTimeout) {
			err = fmt.Errorf("no response within %s", s.params.IdleTimeout)
		}
		retry := !errors.Is(err, errRedirect) // a refused redirect is final
		return retry, fmt.Errorf("qoder: GET /%s: %w", s.req.path, redactURLError(err))
	}
	s.client.logAttempt(s.ctx, s.req, resp, s.failures, time.Since(start), nil)
	if resp.StatusCode != http.StatusOK {
		data, _ := readBody(resp)
		fail()
		retry, _ := shouldRetry(http.MethodGet, false, resp, nil)
		if d, ok := retryAfter(resp, time.Now()); ok && retry {
			s.retryAfter, s.hasAfter = d, true
		}
		return retry, newAPIError(http.MethodGet, "/"+s.req.path, resp, data)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxContentTypeBody))
		_ = resp.Body.Close()
		fail()
		return false, &APIError{
			StatusCode: resp.StatusCode,
			Message:    fmt.Sprintf("expected an event stream, got Content-Type %q", resp.Header.Get("Content-Type")),
			RequestID:  resp.Header.Get("X-Request-Id"),
			Body:       data,
			Header:     resp.Header,
			Method:     http.MethodGet,
			Path:       "/" + s.req.path,
		}
	}
	var body io.ReadCloser = resp.Body
	if idle != nil {
		idle.Reset(s.params.IdleTimeout)
		body = &idleBody{ReadCloser: body, timer: idle, timeout: s.params.IdleTimeout}
	}
	s.body = body
	s.idle = idle
	s.connectedAt = time.Now()
	s.attemptCtx = actx
	s.attempt = acancel
	s.reader = sse.NewReader(body, s.params.MaxEventSize)
	return false, nil
}

// closeBody releases the current connection, if any, keeping the retry:
// value it carried for the next reconnect.
func (s *Stream) closeBody() {
	if s.reader != nil {
		if d, ok := s.reader.Retry(); ok {
			s.serverRetry, s.hasRetry = d, true
		}
	}
	s.connectedAt = time.Time{}
	if s.idle != nil {
		s.idle.Stop()
		s.idle = nil
	}
	if s.attempt != nil {
		s.attempt(nil)
		s.attempt = nil
		s.attemptCtx = nil
	}
	if s.body != nil {
		_ = s.body.Close()
		s.body = nil
	}
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
	s.closeBody()
	s.mu.Lock()
	if !s.finished {
		s.finished = true
		switch {
		case s.closed:
			err = nil
		case err == nil && s.ctx.Err() != nil:
			err = context.Cause(s.ctx)
		}
		s.err = err
	}
	s.mu.Unlock()
	s.cancel(errStreamClosed)
}

// failureAttrs describes why the last attempt failed, for the log: the
// error, and the status when the server refused it.
func failureAttrs(err error) []slog.Attr {
	if err == nil {
		return nil
	}
	attrs := []slog.Attr{slog.String("reason", err.Error())}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		attrs = append(attrs, slog.Int("status", apiErr.StatusCode))
	}
	return attrs
}

// log reports a stream event at debug level.
func (s *Stream) log(msg string, attrs ...slog.Attr) {
	if s.logger == nil || !s.logger.Enabled(s.ctx, slog.LevelDebug) {
		return
	}
	attrs = append(attrs, slog.String("path", "/"+s.req.path))
	s.logger.LogAttrs(s.ctx, slog.LevelDebug, msg, s.client.redact.attrs(attrs)...)
}

// streamErrorFrame turns an `event: error` frame into an *APIError.
func streamErrorFrame(req *preparedRequest, data []byte) error {
	e := &APIError{Method: http.MethodGet, Path: "/" + req.path, Body: data}
	var env errorEnvelope
	if json.Unmarshal(data, &env) == nil && env.Error != nil {
		e.Type, e.Message, e.Param, e.RequestID = env.Error.Type, env.Error.Message, env.Error.Param, env.RequestID
	} else {
		e.Message = "error frame: " + string(data)
	}
	return e
}

// idleBody resets the idle watchdog whenever bytes arrive.
type idleBody struct {
	io.ReadCloser
	timer   *time.Timer
	timeout time.Duration
}

// Read reads from the body and pushes the idle deadline back.
func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.timer.Reset(b.timeout)
	}
	return n, err
}
