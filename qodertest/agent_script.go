package qodertest

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"
)

// DefaultCredits is what each model request of a turn costs unless
// [Turn.Credits] says otherwise.
const DefaultCredits = 0.25

// Turn is one turn of the scripted agent: the work that follows an
// accepted user.message. Its methods emit events in the order a real agent
// does; call them from the goroutine running the script. Once the turn
// is cancelled (POST /cancel, user.interrupt, session deleted, server
// closed) or terminated, every method returns at once without emitting
// anything.
//
// A model request span (span.model_request_start … span.model_request_end
// with model_usage.credits) opens before the first agent output and closes
// when the turn pauses for the client or ends.
type Turn struct {
	s      *Server
	ss     *session
	ctx    context.Context
	cancel context.CancelFunc
	text   string
	tools  []json.RawMessage
	parent *Turn   // the coordinator's turn, for a thread's turn
	thread *thread // the child thread a thread's turn runs in

	// Guarded by s.mu.
	cancelled  bool
	terminated bool
	span       string  // id of the open span.model_request_start
	cost       float64 // credits of the open span
	reply      string  // text of the last agent.message
}

// pending is a tool use awaiting the client.
type pending struct {
	kind   string // "custom" or "confirm"
	answer chan input
}

// ToolResult is the client's answer to [Turn.CallCustomTool].
type ToolResult struct {
	// Text is the text of the result's text blocks, joined by newlines.
	Text string
	// Content is the raw content block array; nil when none was sent.
	Content json.RawMessage
	// IsError is the result's is_error flag.
	IsError bool
}

func (s *Server) newTurn(ss *session, inputs []input) *Turn {
	ctx, cancel := context.WithCancel(s.ctx)
	var text []string
	for _, in := range inputs {
		if in.typ == "user.message" {
			text = append(text, in.text)
		}
	}
	return &Turn{s: s, ss: ss, ctx: ctx, cancel: cancel, text: strings.Join(text, "\n"), tools: ss.tools}
}

// run runs fn as the turn, then ends the turn.
func (t *Turn) run(fn func(*Turn)) {
	defer t.s.turnWG.Done()
	defer t.cancel()
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.s.errorf("agent script panicked: %v\n%s", v, debug.Stack())
				t.Error("unknown_error", fmt.Sprintf("agent script panicked: %v", v), "terminal")
			}
		}()
		fn(t)
	}()
	t.finish()
}

// finish closes the span and idles the session (end_turn or cancelled).
func (t *Turn) finish() {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	ss := t.ss
	if ss.turn != t || ss.deleted || t.s.closed {
		return
	}
	t.closeSpan()
	ss.turn = nil
	reason := "end_turn"
	if t.cancelled {
		reason = "cancelled"
	}
	t.idle(map[string]any{"type": reason})
}

// idle moves the session to idle with stop_reason; s.mu must be held.
// A thread's turn idles its thread instead.
func (t *Turn) idle(stopReason map[string]any) {
	if t.thread != nil {
		t.ss.setThreadStatus(t.thread, statusIdle, "session.thread_status_idle", map[string]any{"stop_reason": stopReason})
		return
	}
	t.ss.setStatus(statusIdle)
	t.ss.stopReason = stopReason["type"].(string)
	t.ss.appendEvent("session.status_idle", map[string]any{"stop_reason": stopReason})
}

// live reports whether the turn may still emit; s.mu must be held. A
// thread's turn lives while its coordinator's does and its thread is not
// archived.
func (t *Turn) live() bool {
	if t.parent != nil {
		return t.parent.live() && !t.cancelled && !t.terminated && t.thread.archivedAt.IsZero()
	}
	return t.ss.turn == t && !t.cancelled && !t.terminated && !t.ss.deleted && !t.s.closed
}

// record appends an event of the turn's thread (with session_thread_id
// set, for a thread's turn) and returns its JSON; s.mu must be held.
func (t *Turn) record(typ string, fields map[string]any) json.RawMessage {
	return t.recordID(newID("evt_"), typ, fields)
}

// recordID is record with the given event id.
func (t *Turn) recordID(id, typ string, fields map[string]any) json.RawMessage {
	return t.ss.appendThreadEvent(t.thread, id, typ, fields)
}

// threadID is the id of the child thread the turn runs in, "" for the
// session's (the coordinator's) turn.
func (t *Turn) threadID() string {
	if t.thread == nil {
		return ""
	}
	return t.thread.id
}

// prepare makes the session running again after a reschedule and opens a
// model request span; s.mu must be held.
func (t *Turn) prepare() {
	if t.thread != nil && t.thread.status == statusRescheduling {
		t.ss.setThreadStatus(t.thread, statusRunning, "session.thread_status_running", nil)
	}
	if t.thread == nil && t.ss.status == statusRescheduling {
		t.ss.setStatus(statusRunning)
		t.ss.appendEvent("session.status_running", nil)
	}
	if t.span == "" {
		t.cost = DefaultCredits
		t.span = idOf(t.record("span.model_request_start", nil))
	}
}

// closeSpan ends the open model request span and bills it; s.mu must be
// held.
func (t *Turn) closeSpan() {
	if t.span == "" {
		return
	}
	t.record("span.model_request_end", map[string]any{
		"model_request_start_id": t.span,
		"is_error":               false,
		"model_usage":            map[string]any{"credits": credits(t.cost)},
	})
	t.ss.credits += credits(t.cost)
	if t.thread != nil {
		t.thread.credits += credits(t.cost)
	}
	t.span = ""
}

// emit records an agent event inside a span; it returns the event id, or
// "" when the turn can no longer emit.
func (t *Turn) emit(typ string, fields map[string]any) string {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if !t.live() {
		return ""
	}
	t.prepare()
	return idOf(t.record(typ, fields))
}

func idOf(event json.RawMessage) string {
	var e struct{ ID string }
	_ = json.Unmarshal(event, &e)
	return e.ID
}

func textContent(text string) []map[string]string {
	return []map[string]string{{"type": "text", "text": text}}
}

func encodeInput(input any) json.RawMessage {
	if input == nil {
		return json.RawMessage("{}")
	}
	data, err := json.Marshal(input)
	if err != nil {
		return json.RawMessage("{}")
	}
	return data
}

// Context returns a context that is done when the turn is cancelled or
// the server closes. Scripts that block on anything of their own must
// select on it.
func (t *Turn) Context() context.Context { return t.ctx }

// SessionID returns the id of the turn's session.
func (t *Turn) SessionID() string { return t.ss.id }

// Text returns the text of the user.message that started the turn (the
// text blocks of every user.message of the batch, joined by newlines).
func (t *Turn) Text() string { return t.text }

// ToolPermission says whether the session's agent may use the built-in
// tool name (such as "Bash"): "" when the tool is not enabled, otherwise
// its permission policy, "always_allow", "always_ask" or "always_deny".
func (t *Turn) ToolPermission(name string) string {
	return toolPermission(t.tools, name)
}

// Cancelled reports whether the turn was cancelled or can otherwise no
// longer emit events.
func (t *Turn) Cancelled() bool {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return !t.live()
}

// Credits sets what the current model request costs (the default is
// DefaultCredits); the session's usage.total_credits grows by it when the
// request's span ends.
func (t *Turn) Credits(c float64) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if t.live() {
		t.prepare()
		t.cost = c
	}
}

// Think emits agent.thinking (a marker without text). Streams that asked
// for agent.thinking deltas get an event_start frame first.
func (t *Turn) Think() {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if !t.live() {
		return
	}
	t.prepare()
	id := newID("evt_")
	t.ss.appendStart(t.threadID(), id, "agent.thinking")
	t.recordID(id, "agent.thinking", nil)
}

// Say emits agent.message with text. Streams that asked for agent.message
// deltas get an event_start and one event_delta first.
func (t *Turn) Say(text string) {
	t.SayDeltas(text)
}

// SayDeltas emits agent.message whose text is the concatenation of
// parts. Streams that asked for agent.message deltas first get an
// event_start and one event_delta per part, all with the final event's id.
// If the turn is cancelled midway, the message is never completed.
func (t *Turn) SayDeltas(parts ...string) {
	m := t.StartMessage()
	for _, p := range parts {
		m.Delta(p)
	}
	m.End()
}

// Message is an agent.message being generated, for scripts that need to
// act between its deltas (for example to drop a stream mid-message).
// Start one with [Turn.StartMessage].
type Message struct {
	t    *Turn
	id   string
	text strings.Builder
	done bool
}

// StartMessage begins an agent.message: streams that asked for
// agent.message deltas get its event_start now. Add text with
// [Message.Delta] and finish with [Message.End]. If the turn is
// cancelled, the message's methods do nothing.
func (t *Turn) StartMessage() *Message {
	m := &Message{t: t, id: newID("evt_")}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if !t.live() {
		m.done = true
		return m
	}
	t.prepare()
	t.ss.appendStart(t.threadID(), m.id, "agent.message")
	return m
}

// ID returns the id the final agent.message will have (also the SSE id of
// its delta frames).
func (m *Message) ID() string { return m.id }

// Delta adds text to the message and sends it to delta streams as an
// event_delta.
func (m *Message) Delta(text string) {
	m.t.s.mu.Lock()
	defer m.t.s.mu.Unlock()
	if m.done || !m.t.live() {
		return
	}
	m.text.WriteString(text)
	m.t.ss.appendDelta(m.t.threadID(), m.id, "agent.message", text)
}

// End emits the final agent.message with all the text added; it is the
// authoritative event and the only one recorded in history.
func (m *Message) End() {
	m.t.s.mu.Lock()
	defer m.t.s.mu.Unlock()
	if m.done || !m.t.live() {
		return
	}
	m.done = true
	m.t.reply = m.text.String()
	m.t.recordID(m.id, "agent.message", map[string]any{"content": textContent(m.t.reply)})
}

// UseTool emits agent.tool_use of the built-in tool name with input,
// then agent.tool_result with output as its text, and returns the
// tool_use event id ("" if the turn was cancelled).
func (t *Turn) UseTool(name string, input any, output string) string {
	id := t.emit("agent.tool_use", map[string]any{"name": name, "input": encodeInput(input), "evaluated_permission": "allow"})
	if id != "" {
		t.emit("agent.tool_result", map[string]any{"tool_use_id": id, "content": textContent(output), "is_error": false})
	}
	return id
}

// CallCustomTool emits agent.custom_tool_use, idles the session with stop
// reason requires_action naming it, and waits for the client's
// user.custom_tool_result. It returns the result and true, or false if the
// turn was cancelled or the server closed while waiting.
func (t *Turn) CallCustomTool(name string, input any) (ToolResult, bool) {
	in, ok := t.await("custom", "agent.custom_tool_use", map[string]any{"name": name, "input": encodeInput(input)})
	return in.result, ok
}

// AskConfirmation emits agent.tool_use with evaluated_permission "ask" for
// the built-in tool name, idles the session with stop reason
// requires_action, and waits for the client's user.tool_confirmation. If
// the client allows the call, it emits agent.tool_result with output and
// returns true; if it denies, it returns false and the deny message. A
// cancelled turn returns false and "".
func (t *Turn) AskConfirmation(name string, input any, output string) (allowed bool, denyMessage string) {
	in, ok := t.await("confirm", "agent.tool_use", map[string]any{"name": name, "input": encodeInput(input), "evaluated_permission": "ask"})
	if !ok {
		return false, ""
	}
	if in.allow {
		t.emit("agent.tool_result", map[string]any{"tool_use_id": in.ref, "content": textContent(output), "is_error": false})
	}
	return in.allow, in.deny
}

// await emits a tool use that needs the client, pauses the session and
// waits for the answer.
func (t *Turn) await(kind, typ string, fields map[string]any) (input, bool) {
	t.s.mu.Lock()
	if t.thread != nil {
		t.s.mu.Unlock()
		t.s.errorf("a thread's turn cannot wait for the client (%s): only the coordinator's turn can", typ)
		return input{}, false
	}
	if !t.live() {
		t.s.mu.Unlock()
		return input{}, false
	}
	t.prepare()
	id := idOf(t.ss.appendEvent(typ, fields))
	p := &pending{kind: kind, answer: make(chan input, 1)}
	t.ss.pending[id] = p
	t.closeSpan()
	t.idle(map[string]any{"type": "requires_action", "event_ids": []string{id}})
	t.s.mu.Unlock()

	select {
	case in := <-p.answer:
		return in, true
	case <-t.ctx.Done():
		t.s.mu.Lock()
		delete(t.ss.pending, id)
		t.s.mu.Unlock()
		return input{}, false
	}
}

// Error emits session.error with the error type (such as
// "model_overloaded_error"), message and, unless empty, retry_status
// ("retrying", "exhausted" or "terminal"). It does not end the turn.
func (t *Turn) Error(errType, message, retryStatus string) {
	e := map[string]any{"type": errType, "message": message}
	if retryStatus != "" {
		e["retry_status"] = map[string]string{"type": retryStatus}
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if t.live() {
		t.record("session.error", map[string]any{"error": e})
	}
}

// Reschedule emits session.status_rescheduled and puts the session in
// status rescheduling; the next agent output emits session.status_running
// again. In a thread's turn it does the same with
// session.thread_status_rescheduled and session.thread_status_running, for
// the thread.
func (t *Turn) Reschedule() {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if t.live() && t.thread != nil {
		t.ss.setThreadStatus(t.thread, statusRescheduling, "session.thread_status_rescheduled", nil)
	} else if t.live() {
		t.ss.setStatus(statusRescheduling)
		t.ss.appendEvent("session.status_rescheduled", nil)
	}
}

// Terminate ends the session for good: it emits
// session.status_terminated, the session's status becomes terminated,
// streams end, and no event is accepted any more. Later calls on the turn
// do nothing. In a thread's turn it ends only the thread: it emits
// session.thread_status_terminated, and the thread's streams end.
func (t *Turn) Terminate() {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if !t.live() {
		return
	}
	t.closeSpan()
	t.terminated = true
	if t.thread != nil {
		t.ss.setThreadStatus(t.thread, statusTerminated, "session.thread_status_terminated", nil)
		return
	}
	t.ss.turn = nil
	clear(t.ss.pending)
	t.ss.setStatus(statusTerminated)
	t.ss.appendEvent("session.status_terminated", nil)
}

// Emit records an event of any type with the given fields (besides id,
// type and processed_at, which the server sets) and returns its id. Use it
// for events the other methods do not cover, such as
// agent.artifact_delivered or a type the SDK does not know yet. It opens
// no span and changes no state: use Terminate, not Emit, to end a session.
func (t *Turn) Emit(typ string, fields map[string]any) string {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if !t.live() {
		return ""
	}
	return idOf(t.record(typ, fields))
}

// EchoAgent is the default agent script. It thinks, runs Bash
// `echo <text>` when the agent's toolset enables Bash (asking for
// confirmation when Bash's policy is always_ask), and replies
// "You said: <text>".
func EchoAgent(t *Turn) {
	text := t.Text()
	t.Think()
	cmd := map[string]any{"command": "echo " + shellQuote(text)}
	switch t.ToolPermission("Bash") {
	case "always_allow":
		t.UseTool("Bash", cmd, text+"\n")
	case "always_ask":
		t.AskConfirmation("Bash", cmd, text+"\n")
	}
	t.Say("You said: " + text)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
