package qoder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Errors a turn can end with.
var (
	// ErrTurnFailed means the agent could not finish the turn: the last
	// session.error of the turn had retry status exhausted or terminal, or
	// the turn ended idle with stop reason retries_exhausted or
	// budget_reached.
	ErrTurnFailed = errors.New("qoder: turn failed")
	// ErrRequiresAction means the turn paused for a tool confirmation or a
	// custom tool result that no handler of the Run call could give.
	ErrRequiresAction = errors.New("qoder: turn requires action")
	// ErrSessionTerminated means the session was terminated or deleted
	// during the turn; it accepts no more input.
	ErrSessionTerminated = errors.New("qoder: session terminated")
	// errEmptyMessage rejects an empty message text before any request.
	errEmptyMessage = fmt.Errorf("%w: the message text is empty", ErrInvalidEvent)
)

// Run sends text as a user.message and follows the session until the turn
// settles, answering custom tools and tool confirmations through the
// handlers given as options. It opens the stream before it sends, so no
// event is missed, and resumes across dropped connections.
//
// The returned Turn holds what happened even when err is not nil. err is
// nil when the turn ends with end_turn or cancelled; it matches
// ErrTurnFailed, ErrRequiresAction or ErrSessionTerminated when the turn
// ends otherwise, and is the context's or stream's error when those end
// first.
//
// When ctx ends while the turn is in flight (after the input was
// accepted), Run interrupts the turn: it sends a user.interrupt, with a
// timeout of its own since ctx is over, and keeps following the stream
// until the session settles (normally idle with stop reason cancelled),
// for at most 10 s in all ([WithInterruptTimeout]). Then it returns the
// turn so far, the interruption included, with ctx.Err(); the session is
// ready for the next message. [WithoutInterrupt] turns this off: Run then
// returns ctx.Err() at once and the turn goes on without it. When ctx ends
// before the input was accepted, nothing is sent and Run returns nil and
// ctx.Err().
func (s *SessionsService) Run(ctx context.Context, sessionID, text string, opts ...RunOption) (*Turn, error) {
	if text == "" {
		return nil, errEmptyMessage
	}
	return s.RunEvents(ctx, sessionID, []InputEvent{NewUserMessage(text)}, opts...)
}

// RunEvents is Run for any batch of input events, such as a user.message
// with images followed by a system.message.
func (s *SessionsService) RunEvents(ctx context.Context, sessionID string, input []InputEvent, opts ...RunOption) (*Turn, error) {
	cfg := runConfig{customTools: map[string]CustomToolHandler{}, interruptTimeout: defaultInterruptTimeout}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	if err := validateInputEvents(input); err != nil {
		return nil, err
	}
	perRequest := perRequestOptions(cfg.requestOptions)
	events := s.client.Events
	// The stream may outlive ctx, to see the session settle after an
	// interrupt; until the input is accepted, ctx ending closes it.
	streamCtx, closeStream := context.WithCancel(context.WithoutCancel(ctx))
	defer closeStream()
	stopOpening := context.AfterFunc(ctx, closeStream)
	stream, err := events.Stream(streamCtx, sessionID, cfg.stream, perRequest...)
	if !stopOpening() {
		if stream != nil {
			stream.Close()
		}
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	accepted, err := events.Send(ctx, sessionID, input, cfg.requestOptions...)
	if err != nil {
		return nil, err
	}
	r := &turnRunner{
		ctx:        ctx,
		events:     events,
		cfg:        &cfg,
		perRequest: perRequest,
		turn:       &Turn{SessionID: sessionID, Input: accepted},
		inputIDs:   map[string]bool{},
		toolUses:   map[string]Event{},
		answered:   map[string]bool{},
	}
	for _, ev := range accepted {
		r.inputIDs[ev.EventID()] = true
	}
	if len(accepted) > 0 {
		// Should the stream drop before its first event, resume after our
		// input instead of at the live tail, which would skip the turn.
		stream.resumeFrom(accepted[0].EventID())
	}
	defer r.onCancel(closeStream)()
	for stream.Next() {
		ended := ctx.Err() != nil // the event came after ctx ended
		if ended && !cfg.interrupt() {
			break
		}
		done, err := r.handle(stream.Event())
		switch {
		case done && ended:
			return r.turn, ctx.Err()
		case done:
			return r.turn, err
		case err != nil && ctx.Err() != nil && cfg.interrupt():
			// Answering failed because ctx ended: the interrupt settles
			// the turn.
		case err != nil:
			return r.turn, err
		}
	}
	if err := ctx.Err(); err != nil {
		return r.turn, err
	}
	if err := stream.Err(); err != nil {
		return r.turn, err
	}
	return r.turn, fmt.Errorf("qoder: session %s: the event stream ended before the turn settled", sessionID)
}

// defaultInterruptTimeout bounds the interrupt that follows the end of
// Run's context, and the wait for the session to settle.
const defaultInterruptTimeout = 10 * time.Second

// onCancel arranges for the end of r.ctx to interrupt the turn (or, with
// interrupts off, to close the stream at once) and returns the function
// that undoes it, which waits for an interrupt already under way.
func (r *turnRunner) onCancel(closeStream context.CancelFunc) (stop func()) {
	if !r.cfg.interrupt() {
		stopWatching := context.AfterFunc(r.ctx, closeStream)
		return func() { stopWatching() }
	}
	finished := make(chan struct{})
	var deadline *time.Timer
	stopWatching := context.AfterFunc(r.ctx, func() {
		defer close(finished)
		// One budget for the interrupt and the wait that follows: then
		// the stream closes, and Run returns whatever the turn reached.
		d := r.cfg.interruptTimeout
		deadline = time.AfterFunc(d, closeStream)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), d)
		defer cancel()
		if _, err := r.events.Send(ctx, r.turn.SessionID, []InputEvent{UserInterrupt{}}, r.perRequest...); err != nil {
			if logger := r.events.client.logger; logger != nil {
				logger.LogAttrs(ctx, slog.LevelWarn, "qoder: interrupting the turn failed",
					slog.String("session_id", r.turn.SessionID), slog.Any("error", err))
			}
		}
	})
	return func() {
		if !stopWatching() {
			<-finished
			deadline.Stop()
		}
	}
}

// perRequestOptions returns opts without those that make sense for one
// request only (WithIdempotencyKey, WithResponseInto, WithBodyField,
// WithoutBodyField): Run gives those to the input send alone.
func perRequestOptions(opts []RequestOption) []RequestOption {
	return slices.DeleteFunc(slices.Clone(opts), func(opt RequestOption) bool {
		if opt == nil {
			return true
		}
		var probe requestConfig
		opt(&probe)
		return probe.idempotencyKey != "" || probe.responseInto != nil || len(probe.bodyFields) > 0
	})
}

// Turn records one turn of a session, from the input to the idle (or
// other end) that settled it.
type Turn struct {
	// SessionID is the session the turn ran in.
	SessionID string
	// Input holds the input events as the server accepted them.
	Input []Event
	// Events holds every event of the turn in order, delta frames excepted.
	Events []Event
	// StopReason is the stop reason of the session.status_idle that ended
	// the turn; its Type is empty when the turn ended otherwise.
	StopReason StopReason
	// Credits adds up the credits of the turn's model requests
	// (span.model_request_end model_usage.credits).
	Credits float64
	// ModelRequests counts the turn's completed model requests.
	ModelRequests int
	// Errors holds the session.error events of the turn, retried ones
	// included.
	Errors []SessionError
}

// Text returns the text of the turn's agent messages, joined by blank
// lines; messages of child threads in multi-agent sessions are left out.
func (t *Turn) Text() string {
	var parts []string
	for _, msg := range t.Messages() {
		if msg.SessionThreadID == "" {
			if text := msg.Text(); text != "" {
				parts = append(parts, text)
			}
		}
	}
	return strings.Join(parts, "\n\n")
}

// Messages returns the turn's agent.message events in order.
func (t *Turn) Messages() []*AgentMessageEvent {
	var out []*AgentMessageEvent
	for _, ev := range t.Events {
		if msg, ok := ev.(*AgentMessageEvent); ok {
			out = append(out, msg)
		}
	}
	return out
}

// RunOption configures [SessionsService.Run].
type RunOption func(*runConfig)

// CustomToolHandler answers one use of a custom tool. The content it
// returns is sent as the user.custom_tool_result; an error is sent as a
// result with is_error set and the error's text, and so is a panic, which
// Run recovers.
type CustomToolHandler func(ctx context.Context, use *AgentCustomToolUseEvent) ([]ContentBlock, error)

// ToolConfirmer decides on a built-in or MCP tool use that waits for
// confirmation (an *AgentToolUseEvent or *AgentMCPToolUseEvent whose
// evaluated permission is "ask"). denyMessage is sent only when allow is
// false. An error ends the turn with that error.
type ToolConfirmer func(ctx context.Context, toolUse Event) (allow bool, denyMessage string, err error)

// runConfig is the configuration built from RunOptions.
type runConfig struct {
	onEvent          func(Event)
	customTools      map[string]CustomToolHandler
	toolConcurrency  int
	toolTimeout      time.Duration
	confirm          ToolConfirmer
	stream           *StreamParams
	requestOptions   []RequestOption
	noInterrupt      bool          // WithoutInterrupt
	interruptTimeout time.Duration // see WithInterruptTimeout
	err              error         // a misconfiguration Run reports before any request
}

// interrupt reports whether the end of Run's context interrupts the turn.
func (c *runConfig) interrupt() bool { return !c.noInterrupt }

// fail records a misconfiguration; Run reports the first.
func (c *runConfig) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// addCustomTool answers uses of the custom tool name with handler; a name
// handled twice is a misconfiguration.
func (c *runConfig) addCustomTool(name string, handler CustomToolHandler) {
	if _, dup := c.customTools[name]; dup {
		c.fail(fmt.Errorf("%w: two handlers for custom tool %q", ErrInvalidTool, name))
		return
	}
	c.customTools[name] = handler
}

// OnEvent calls fn with every event as it arrives, delta frames included
// when the stream asks for them, before Run acts on it. fn runs on Run's
// goroutine; keep it quick.
func OnEvent(fn func(Event)) RunOption {
	return func(c *runConfig) { c.onEvent = fn }
}

// WithCustomTool answers uses of the custom tool name with handler. Each
// tool use is answered exactly once, after the session pauses with
// requires_action; then the turn goes on. [NewTool] and [WithTools] do the
// same with a typed input. A name handled twice makes Run fail with
// [ErrInvalidTool] before any request.
func WithCustomTool(name string, handler CustomToolHandler) RunOption {
	return func(c *runConfig) { c.addCustomTool(name, handler) }
}

// WithToolConfirmation answers tool confirmations (permission policy
// always_ask) with confirm.
func WithToolConfirmation(confirm ToolConfirmer) RunOption {
	return func(c *runConfig) { c.confirm = confirm }
}

// WithStreamParams sets the parameters of the turn's stream, such as
// EventDeltas to see text as it is produced (through OnEvent).
// LastEventID is ignored: a turn always starts at the live tail.
func WithStreamParams(p *StreamParams) RunOption {
	return func(c *runConfig) {
		if p == nil {
			c.stream = nil
			return
		}
		cp := *p
		cp.LastEventID = ""
		c.stream = &cp
	}
}

// WithRunRequestOptions applies opts to the requests of the turn: the
// stream, the input send, the sends of tool answers and the interrupt.
// Options that make sense for one request apply to the input send alone:
// [WithIdempotencyKey] makes the input idempotent (a retried Run with the
// same key does not start a second turn), [WithResponseInto] receives
// the input send's response, and [WithBodyField] and [WithoutBodyField]
// change the input send's body.
func WithRunRequestOptions(opts ...RequestOption) RunOption {
	return func(c *runConfig) { c.requestOptions = append(c.requestOptions, opts...) }
}

// WithoutInterrupt makes Run leave the turn running when its context ends:
// Run returns ctx.Err() at once, sends no user.interrupt, and the session
// stays busy until the turn ends by itself (a message sent meanwhile is
// rejected with [ErrConflict]).
func WithoutInterrupt() RunOption {
	return func(c *runConfig) { c.noInterrupt = true }
}

// WithInterruptTimeout sets how long Run, when its context ends while the
// turn is in flight, may spend sending user.interrupt and waiting for the
// session to settle: 10 s by default. When the time is up Run returns
// without waiting further. Zero or less keeps the default.
func WithInterruptTimeout(d time.Duration) RunOption {
	return func(c *runConfig) {
		if d > 0 {
			c.interruptTimeout = d
		}
	}
}

// turnRunner follows one turn.
type turnRunner struct {
	ctx        context.Context
	events     *EventsService
	cfg        *runConfig
	perRequest []RequestOption // cfg.requestOptions less the once-only ones
	turn       *Turn
	started    bool
	inputIDs   map[string]bool
	toolUses   map[string]Event
	answered   map[string]bool
}

// handle acts on one event and reports whether the turn is over.
func (r *turnRunner) handle(ev Event) (bool, error) {
	if r.cfg.onEvent != nil {
		r.cfg.onEvent(ev)
	}
	switch ev.(type) {
	case *EventStart, *EventDelta:
		return false, nil
	}
	if _, idle := ev.(*SessionStatusIdleEvent); !idle {
		r.started = true
	}
	if !r.started {
		return false, nil // an idle that settled an earlier turn
	}
	r.turn.Events = append(r.turn.Events, ev)
	switch e := ev.(type) {
	case *AgentCustomToolUseEvent, *AgentToolUseEvent, *AgentMCPToolUseEvent:
		r.toolUses[ev.EventID()] = ev
	case *SpanModelRequestEndEvent:
		r.turn.ModelRequests++
		if e.ModelUsage != nil {
			r.turn.Credits += e.ModelUsage.Credits
		}
	case *SessionErrorEvent:
		r.turn.Errors = append(r.turn.Errors, e.Error)
	case *SessionStatusTerminatedEvent:
		return true, fmt.Errorf("%w during the turn", ErrSessionTerminated)
	case *SessionDeletedEvent:
		return true, fmt.Errorf("%w: the session was deleted during the turn", ErrSessionTerminated)
	case *SessionStatusIdleEvent:
		r.turn.StopReason = e.StopReason
		switch e.StopReason.Type {
		case StopReasonRequiresAction:
			if r.ctx.Err() != nil {
				return false, nil // Run is interrupting the turn: nothing to answer
			}
			return false, r.answer(e.StopReason.EventIDs)
		case StopReasonRetriesExhausted, StopReasonBudgetReached:
			return true, r.failure(string(e.StopReason.Type))
		case StopReasonCancelled:
			return true, nil
		}
		if n := len(r.turn.Errors); n > 0 && r.turn.Errors[n-1].RetryStatus != nil {
			switch r.turn.Errors[n-1].RetryStatus.Type {
			case RetryStatusExhausted, RetryStatusTerminal:
				return true, r.failure("session.error retries " + string(r.turn.Errors[n-1].RetryStatus.Type))
			}
		}
		return true, nil
	}
	return false, nil
}

// failure describes a failed turn, naming its last session error.
func (r *turnRunner) failure(reason string) error {
	if n := len(r.turn.Errors); n > 0 {
		last := r.turn.Errors[n-1]
		// The message is the server's: it may echo the token.
		return r.events.client.redact.error(fmt.Errorf("%w: %s: session.error %s: %s", ErrTurnFailed, reason, last.Type, last.Message))
	}
	return fmt.Errorf("%w: %s", ErrTurnFailed, reason)
}

// answer sends, in one batch, the results and confirmations the pending
// events wait for. Custom tool handlers may run concurrently (see
// WithToolConcurrency); confirmations are asked one at a time.
func (r *turnRunner) answer(pending []string) error {
	replies := make([]InputEvent, len(pending))
	calls := newToolCalls(r.cfg.toolConcurrency)
	for i, id := range pending {
		if r.answered[id] {
			continue
		}
		r.answered[id] = true
		if use, handler := r.customTool(id); handler != nil {
			calls.run(func() { replies[i] = r.callCustomTool(id, use, handler) })
			continue
		}
		reply, err := r.reply(id)
		if err != nil {
			calls.wait()
			return err
		}
		replies[i] = reply
	}
	calls.wait()
	batch := slices.DeleteFunc(replies, func(e InputEvent) bool { return e == nil })
	if len(batch) == 0 {
		return nil
	}
	if _, err := r.events.Send(r.ctx, r.turn.SessionID, batch, r.perRequest...); err != nil {
		return err
	}
	return nil
}

// customTool returns the custom tool use whose id is id and its handler;
// the handler is nil when id is not a custom tool use or has none.
func (r *turnRunner) customTool(id string) (*AgentCustomToolUseEvent, CustomToolHandler) {
	use, ok := r.toolUses[id].(*AgentCustomToolUseEvent)
	if !ok {
		return nil, nil
	}
	return use, r.cfg.customTools[use.Name]
}

// reply builds the answer to the pending event id, other than a custom
// tool use with a handler.
func (r *turnRunner) reply(id string) (InputEvent, error) {
	ev, ok := r.toolUses[id]
	if !ok {
		return nil, fmt.Errorf("%w: event %s is pending but was not seen during the turn", ErrRequiresAction, id)
	}
	if use, ok := ev.(*AgentCustomToolUseEvent); ok {
		return nil, fmt.Errorf("%w: no handler for custom tool %q (use qoder.WithTools or qoder.WithCustomTool)", ErrRequiresAction, use.Name)
	}
	if r.cfg.confirm == nil {
		return nil, fmt.Errorf("%w: tool use %s waits for confirmation (use qoder.WithToolConfirmation)", ErrRequiresAction, id)
	}
	allow, denyMessage, err := r.cfg.confirm(r.ctx, ev)
	if err != nil {
		return nil, err
	}
	if allow {
		return AllowTool(id), nil
	}
	return DenyTool(id, denyMessage), nil
}
