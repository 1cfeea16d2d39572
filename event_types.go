package qoder

import (
	"encoding/json"
	"fmt"
)

// Wire types of session events, as sent in the JSON "type" field and the SSE
// event name. [Event.EventType] returns one of these (or, for *UnknownEvent,
// whatever the server sent).
const (
	EventTypeUserMessage          = "user.message"
	EventTypeUserInterrupt        = "user.interrupt"
	EventTypeUserToolConfirmation = "user.tool_confirmation"
	EventTypeUserCustomToolResult = "user.custom_tool_result"
	EventTypeUserToolResult       = "user.tool_result"
	EventTypeUserDefineOutcome    = "user.define_outcome"
	EventTypeSystemMessage        = "system.message"

	EventTypeAgentMessage                = "agent.message"
	EventTypeAgentThinking               = "agent.thinking"
	EventTypeAgentToolUse                = "agent.tool_use"
	EventTypeAgentToolResult             = "agent.tool_result"
	EventTypeAgentCustomToolUse          = "agent.custom_tool_use"
	EventTypeAgentMCPToolUse             = "agent.mcp_tool_use"
	EventTypeAgentMCPToolResult          = "agent.mcp_tool_result"
	EventTypeAgentArtifactDelivered      = "agent.artifact_delivered"
	EventTypeAgentThreadMessageSent      = "agent.thread_message_sent"
	EventTypeAgentThreadMessageReceived  = "agent.thread_message_received"
	EventTypeAgentThreadContextCompacted = "agent.thread_context_compacted"

	EventTypeSessionStatusRunning           = "session.status_running"
	EventTypeSessionStatusIdle              = "session.status_idle"
	EventTypeSessionStatusRescheduled       = "session.status_rescheduled"
	EventTypeSessionStatusTerminated        = "session.status_terminated"
	EventTypeSessionError                   = "session.error"
	EventTypeSessionUpdated                 = "session.updated"
	EventTypeSessionDeleted                 = "session.deleted"
	EventTypeSessionThreadCreated           = "session.thread_created"
	EventTypeSessionThreadStatusRunning     = "session.thread_status_running"
	EventTypeSessionThreadStatusIdle        = "session.thread_status_idle"
	EventTypeSessionThreadStatusRescheduled = "session.thread_status_rescheduled"
	EventTypeSessionThreadStatusTerminated  = "session.thread_status_terminated"
	// EventTypeSessionUsage is the official SDK's session usage event; Qoder
	// does not list it.
	EventTypeSessionUsage = "session.usage"

	EventTypeSpanModelRequestStart        = "span.model_request_start"
	EventTypeSpanModelRequestEnd          = "span.model_request_end"
	EventTypeSpanOutcomeEvaluationStart   = "span.outcome_evaluation_start"
	EventTypeSpanOutcomeEvaluationOngoing = "span.outcome_evaluation_ongoing"
	EventTypeSpanOutcomeEvaluationEnd     = "span.outcome_evaluation_end"

	// EventTypeEventStart and EventTypeEventDelta are the stream-only frames
	// of incremental mode (StreamParams.EventDeltas); see [EventStart] and
	// [EventDelta].
	EventTypeEventStart = "event_start"
	EventTypeEventDelta = "event_delta"
)

// isTerminalEvent reports whether ev ends the session for good: after it a
// stream stops reconnecting.
func isTerminalEvent(ev Event) bool {
	switch ev.(type) {
	case *SessionStatusTerminatedEvent, *SessionDeletedEvent:
		return true
	}
	return false
}

// metaOf returns the common fields of a buffered event, or nil for the
// stream-only frames *EventStart and *EventDelta.
func metaOf(ev Event) *EventMeta {
	if m, ok := ev.(interface{ meta() *EventMeta }); ok {
		return m.meta()
	}
	return nil
}

func (m *EventMeta) meta() *EventMeta { return m }

// ---------------------------------------------------------------------------
// Shared value types

// StopReasonType says why a session (or thread) went idle.
type StopReasonType string

// Stop reasons. The API may add more.
const (
	// StopReasonEndTurn: the agent finished the turn.
	StopReasonEndTurn StopReasonType = "end_turn"
	// StopReasonRequiresAction: the agent waits for the client; StopReason.EventIDs
	// lists the pending agent.tool_use / agent.mcp_tool_use events (answer with
	// user.tool_confirmation) and agent.custom_tool_use events (answer with
	// user.custom_tool_result).
	StopReasonRequiresAction StopReasonType = "requires_action"
	// StopReasonCancelled: the turn was interrupted or cancelled.
	StopReasonCancelled StopReasonType = "cancelled"
	// StopReasonRetriesExhausted: the platform gave up retrying after errors.
	StopReasonRetriesExhausted StopReasonType = "retries_exhausted"
	// StopReasonBudgetReached: the session's spend budget was reached.
	StopReasonBudgetReached StopReasonType = "budget_reached"
)

// StopReason is the stop_reason of session.status_idle and
// session.thread_status_idle.
type StopReason struct {
	Type StopReasonType `json:"type"`
	// EventIDs lists the pending event ids when Type is
	// StopReasonRequiresAction.
	EventIDs []string `json:"event_ids,omitzero"`
}

// UnmarshalJSON accepts the object form and a bare string ("end_turn").
func (r *StopReason) UnmarshalJSON(data []byte) error {
	type fields StopReason
	return unmarshalStringOr(data, r, (*fields)(r))
}

func (r *StopReason) fromString(s string) { r.Type = StopReasonType(s) }

// EvaluatedPermission is the permission the platform evaluated for a tool call.
type EvaluatedPermission string

// Evaluated permissions. With EvaluatedPermissionAsk the session pauses
// (stop reason requires_action) until a user.tool_confirmation answers.
const (
	EvaluatedPermissionAllow EvaluatedPermission = "allow"
	EvaluatedPermissionAsk   EvaluatedPermission = "ask"
	EvaluatedPermissionDeny  EvaluatedPermission = "deny"
)

// ToolConfirmationResult answers a tool call that waits for confirmation.
type ToolConfirmationResult string

// Tool confirmation results.
const (
	ToolConfirmationAllow ToolConfirmationResult = "allow"
	ToolConfirmationDeny  ToolConfirmationResult = "deny"
)

// RubricType is the type of a [Rubric].
type RubricType string

// Rubric types.
const (
	RubricTypeText RubricType = "text"
	RubricTypeFile RubricType = "file"
)

// Rubric is how an outcome (user.define_outcome) is evaluated: inline text
// ([TextRubric]) or an uploaded file ([FileRubric]).
type Rubric struct {
	Type    RubricType `json:"type"`
	Content string     `json:"content,omitempty"`
	FileID  string     `json:"file_id,omitempty"`
}

// TextRubric returns a rubric given as text.
func TextRubric(content string) Rubric {
	return Rubric{Type: RubricTypeText, Content: content}
}

// FileRubric returns a rubric stored in an uploaded file.
func FileRubric(fileID string) Rubric {
	return Rubric{Type: RubricTypeFile, FileID: fileID}
}

// RetryStatusType says whether the platform retries after a session error.
type RetryStatusType string

// Retry statuses.
const (
	RetryStatusRetrying  RetryStatusType = "retrying"
	RetryStatusExhausted RetryStatusType = "exhausted"
	RetryStatusTerminal  RetryStatusType = "terminal"
)

// RetryStatus is the retry_status of a [SessionError].
type RetryStatus struct {
	Type RetryStatusType `json:"type"`
}

// SessionError is the error of a session.error event. Type names the error
// (the wire strings are not documented: billing, model overloaded, model rate
// limited, model request failed, MCP connection or authentication failed,
// credential host unreachable, unknown). MCPServerName is set for MCP errors,
// CredentialID and VaultID for credential errors.
//
// *SessionError implements error.
type SessionError struct {
	Type          string       `json:"type"`
	Message       string       `json:"message"`
	RetryStatus   *RetryStatus `json:"retry_status,omitempty"`
	MCPServerName string       `json:"mcp_server_name,omitempty"`
	CredentialID  string       `json:"credential_id,omitempty"`
	VaultID       string       `json:"vault_id,omitempty"`
}

// Error returns e.g. "qoder: session error model_overloaded: overloaded (retry_status=retrying)".
func (e *SessionError) Error() string {
	s := "qoder: session error"
	if e.Type != "" {
		s += " " + e.Type
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.MCPServerName != "" {
		s += " (mcp_server_name=" + e.MCPServerName + ")"
	}
	if e.RetryStatus != nil && e.RetryStatus.Type != "" {
		s += " (retry_status=" + string(e.RetryStatus.Type) + ")"
	}
	return s
}

// UnmarshalJSON accepts the object form and, from older payloads, a bare
// message string.
func (e *SessionError) UnmarshalJSON(data []byte) error {
	type fields SessionError
	return unmarshalStringOr(data, e, (*fields)(e))
}

func (e *SessionError) fromString(s string) { e.Message = s }

// ModelUsage is what one model request cost (span.model_request_end), or an
// outcome evaluation (span.outcome_evaluation_end).
//
// Qoder reports only Credits, floored to 2 decimals (it may be 0). The token
// fields come from the official SDK's type and are nil unless the server
// sends them.
type ModelUsage struct {
	Credits                  float64 `json:"credits"`
	InputTokens              *int64  `json:"input_tokens,omitempty"`
	OutputTokens             *int64  `json:"output_tokens,omitempty"`
	CacheCreationInputTokens *int64  `json:"cache_creation_input_tokens,omitempty"`
	CacheReadInputTokens     *int64  `json:"cache_read_input_tokens,omitempty"`
	Speed                    string  `json:"speed,omitempty"`
}

// ---------------------------------------------------------------------------
// User and system events: the server's echo of what clients sent.

// UserMessageEvent is a user.message: a message sent to the agent.
type UserMessageEvent struct {
	EventMeta
	Content ContentBlocks `json:"content"`
}

// Text returns the concatenated text blocks of the message.
func (e *UserMessageEvent) Text() string { return blocksText(e.Content) }

// UserInterruptEvent is a user.interrupt: the current turn was interrupted,
// for the whole session or, with SessionThreadID, one thread.
type UserInterruptEvent struct {
	EventMeta
}

// UserToolConfirmationEvent is a user.tool_confirmation: the answer to a tool
// call that waited for confirmation.
type UserToolConfirmationEvent struct {
	EventMeta
	// ToolUseID is the id of the agent.tool_use or agent.mcp_tool_use event.
	ToolUseID   string                 `json:"tool_use_id"`
	Result      ToolConfirmationResult `json:"result"`
	DenyMessage string                 `json:"deny_message,omitempty"`
}

// UserCustomToolResultEvent is a user.custom_tool_result: the client's answer
// to an agent.custom_tool_use.
type UserCustomToolResultEvent struct {
	EventMeta
	// CustomToolUseID is the id of the agent.custom_tool_use event.
	CustomToolUseID string        `json:"custom_tool_use_id"`
	Content         ContentBlocks `json:"content,omitzero"`
	IsError         bool          `json:"is_error,omitempty"`
}

// Text returns the concatenated text blocks of the result.
func (e *UserCustomToolResultEvent) Text() string { return blocksText(e.Content) }

// UserToolResultEvent is a user.tool_result: the result of a built-in tool
// run by a self-hosted worker.
type UserToolResultEvent struct {
	EventMeta
	ToolUseID string        `json:"tool_use_id"`
	Content   ContentBlocks `json:"content,omitzero"`
	IsError   bool          `json:"is_error,omitempty"`
}

// Text returns the concatenated text blocks of the result.
func (e *UserToolResultEvent) Text() string { return blocksText(e.Content) }

// UserDefineOutcomeEvent is a user.define_outcome: an outcome the platform
// evaluates with span.outcome_evaluation_* events.
type UserDefineOutcomeEvent struct {
	EventMeta
	// OutcomeID is assigned by the server.
	OutcomeID     string `json:"outcome_id,omitempty"`
	Description   string `json:"description"`
	Rubric        Rubric `json:"rubric,omitzero"`
	MaxIterations *int   `json:"max_iterations,omitempty"`
}

// SystemMessageEvent is a system.message: system-prompt-level guidance sent
// by the client.
type SystemMessageEvent struct {
	EventMeta
	Content ContentBlocks `json:"content"`
}

// Text returns the concatenated text blocks of the message.
func (e *SystemMessageEvent) Text() string { return blocksText(e.Content) }

// ---------------------------------------------------------------------------
// Agent events

// AgentMessageEvent is an agent.message: text from the agent. With
// incremental streaming it is the final, authoritative version of the text
// that [EventStart] and [EventDelta] frames previewed.
type AgentMessageEvent struct {
	EventMeta
	Content ContentBlocks `json:"content"`
}

// Text returns the concatenated text blocks of the message.
func (e *AgentMessageEvent) Text() string { return blocksText(e.Content) }

// AgentThinkingEvent is an agent.thinking: the agent is reasoning. The current
// API sends a marker only and never exposes the reasoning; Content and
// Thinking are set only by older servers.
type AgentThinkingEvent struct {
	EventMeta
	// Content is legacy reasoning content (older servers sent a string).
	Content ContentBlocks `json:"content,omitzero"`
	// Thinking is legacy reasoning text.
	Thinking string `json:"thinking,omitempty"`
}

// Text returns the legacy reasoning text, if any: Thinking followed by the
// text blocks of Content. It is "" on the current API.
func (e *AgentThinkingEvent) Text() string {
	if e.Thinking == "" {
		return blocksText(e.Content)
	}
	return e.Thinking + blocksText(e.Content)
}

// AgentToolUseEvent is an agent.tool_use: the agent calls a built-in tool
// (Name e.g. "Bash"). When EvaluatedPermission is "ask", the session pauses
// until a user.tool_confirmation with ToolUseID = this event's ID answers.
type AgentToolUseEvent struct {
	EventMeta
	Name string `json:"name"`
	// Input is the tool input, a JSON object; see DecodeInput.
	Input               json.RawMessage     `json:"input,omitzero"`
	EvaluatedPermission EvaluatedPermission `json:"evaluated_permission,omitempty"`
	// ToolUseID is the tool call id of older payloads, which agent.tool_result
	// referred to; the current API uses the event ID instead.
	ToolUseID string `json:"tool_use_id,omitempty"`
	// RequiresConfirmation is set by older payloads; when true and
	// EvaluatedPermission is empty, EvaluatedPermission is set to "ask".
	RequiresConfirmation bool `json:"requires_confirmation,omitempty"`
}

// DecodeInput unmarshals the tool input into v.
func (e *AgentToolUseEvent) DecodeInput(v any) error { return decodeToolInput(e.Name, e.Input, v) }

// UnmarshalJSON also accepts the legacy field names tool_name and tool_input.
func (e *AgentToolUseEvent) UnmarshalJSON(data []byte) error {
	type fields AgentToolUseEvent
	var legacy agentToolUseLegacy
	aux := struct {
		*fields
		*agentToolUseLegacy
	}{(*fields)(e), &legacy}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	if e.Name == "" && legacy.ToolName != nil {
		e.Name = *legacy.ToolName
	}
	if len(e.Input) == 0 && len(legacy.ToolInput) > 0 {
		e.Input = legacy.ToolInput
	}
	e.normalize()
	return nil
}

// agentToolUseLegacy holds the members older payloads used for the name and
// input of an agent.tool_use.
type agentToolUseLegacy struct {
	ToolName  *string         `json:"tool_name"`
	ToolInput json.RawMessage `json:"tool_input"`
}

func (e *AgentToolUseEvent) legacyFields() any { return agentToolUseLegacy{} }

// normalize turns the requires_confirmation of older payloads into
// EvaluatedPermission "ask".
func (e *AgentToolUseEvent) normalize() {
	if e.RequiresConfirmation && e.EvaluatedPermission == "" {
		e.EvaluatedPermission = EvaluatedPermissionAsk
	}
}

// AgentToolResultEvent is an agent.tool_result: the result of a built-in
// tool call.
type AgentToolResultEvent struct {
	EventMeta
	// ToolUseID is the id of the agent.tool_use event.
	ToolUseID string        `json:"tool_use_id"`
	Content   ContentBlocks `json:"content,omitzero"`
	IsError   bool          `json:"is_error,omitempty"`
}

// Text returns the concatenated text blocks of the result.
func (e *AgentToolResultEvent) Text() string { return blocksText(e.Content) }

// UnmarshalJSON also accepts legacy string content and the legacy output
// field, which becomes a text block when there is no content.
func (e *AgentToolResultEvent) UnmarshalJSON(data []byte) error {
	type fields AgentToolResultEvent
	var legacy agentToolResultLegacy
	aux := struct {
		*fields
		*agentToolResultLegacy
	}{(*fields)(e), &legacy}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	if len(e.Content) == 0 && len(legacy.Output) > 0 && string(legacy.Output) != "null" {
		text := string(legacy.Output)
		if legacy.Output[0] == '"' {
			if err := json.Unmarshal(legacy.Output, &text); err != nil {
				return err
			}
		}
		e.Content = ContentBlocks{TextBlock(text)}
	}
	return nil
}

// agentToolResultLegacy holds the output member of older agent.tool_result
// payloads.
type agentToolResultLegacy struct {
	Output json.RawMessage `json:"output"`
}

func (e *AgentToolResultEvent) legacyFields() any { return agentToolResultLegacy{} }

// AgentCustomToolUseEvent is an agent.custom_tool_use: the agent calls a
// custom tool the client implements. Answer with a user.custom_tool_result
// whose CustomToolUseID is this event's ID.
type AgentCustomToolUseEvent struct {
	EventMeta
	Name string `json:"name"`
	// Input is the tool input, a JSON object; see DecodeInput.
	Input json.RawMessage `json:"input,omitzero"`
}

// DecodeInput unmarshals the tool input into v.
func (e *AgentCustomToolUseEvent) DecodeInput(v any) error {
	return decodeToolInput(e.Name, e.Input, v)
}

// AgentMCPToolUseEvent is an agent.mcp_tool_use: the agent calls a tool of an
// MCP server. With EvaluatedPermission "ask" it waits for a
// user.tool_confirmation.
type AgentMCPToolUseEvent struct {
	EventMeta
	Name string `json:"name"`
	// Input is the tool input, a JSON object; see DecodeInput.
	Input               json.RawMessage     `json:"input,omitzero"`
	MCPServerName       string              `json:"mcp_server_name"`
	EvaluatedPermission EvaluatedPermission `json:"evaluated_permission,omitempty"`
}

// DecodeInput unmarshals the tool input into v.
func (e *AgentMCPToolUseEvent) DecodeInput(v any) error { return decodeToolInput(e.Name, e.Input, v) }

// AgentMCPToolResultEvent is an agent.mcp_tool_result: the result of an MCP
// tool call.
type AgentMCPToolResultEvent struct {
	EventMeta
	// MCPToolUseID is the id of the agent.mcp_tool_use event.
	MCPToolUseID string        `json:"mcp_tool_use_id"`
	Content      ContentBlocks `json:"content,omitzero"`
	IsError      bool          `json:"is_error,omitempty"`
}

// Text returns the concatenated text blocks of the result.
func (e *AgentMCPToolResultEvent) Text() string { return blocksText(e.Content) }

// AgentArtifactDeliveredEvent is an agent.artifact_delivered: the agent
// delivered a file. The file is downloadable and scoped to the session.
type AgentArtifactDeliveredEvent struct {
	EventMeta
	FileID           string `json:"file_id"`
	OriginalFilename string `json:"original_filename"`
	ContentType      string `json:"content_type"`
	// Size is the file size in bytes.
	Size int64 `json:"size"`
}

// AgentThreadMessageSentEvent is an agent.thread_message_sent: in a
// multi-agent session, a thread sent a message to another thread.
type AgentThreadMessageSentEvent struct {
	EventMeta
	Content           ContentBlocks `json:"content"`
	ToSessionThreadID string        `json:"to_session_thread_id"`
	ToAgentName       string        `json:"to_agent_name,omitempty"`
}

// Text returns the concatenated text blocks of the message.
func (e *AgentThreadMessageSentEvent) Text() string { return blocksText(e.Content) }

// AgentThreadMessageReceivedEvent is an agent.thread_message_received: in a
// multi-agent session, a thread received a message from another thread.
type AgentThreadMessageReceivedEvent struct {
	EventMeta
	Content             ContentBlocks `json:"content"`
	FromSessionThreadID string        `json:"from_session_thread_id"`
	FromAgentName       string        `json:"from_agent_name,omitempty"`
}

// Text returns the concatenated text blocks of the message.
func (e *AgentThreadMessageReceivedEvent) Text() string { return blocksText(e.Content) }

// AgentThreadContextCompactedEvent is an agent.thread_context_compacted: a
// thread's context was compacted.
type AgentThreadContextCompactedEvent struct {
	EventMeta
}

// ---------------------------------------------------------------------------
// Session events

// SessionStatusRunningEvent is a session.status_running: a turn started.
type SessionStatusRunningEvent struct {
	EventMeta
}

// SessionStatusIdleEvent is a session.status_idle: the turn settled. Look at
// StopReason.Type: end_turn (done), requires_action (StopReason.EventIDs
// wait for an answer), cancelled, ... Older payloads ({"status":"idle"}) have
// an empty StopReason.
type SessionStatusIdleEvent struct {
	EventMeta
	StopReason StopReason `json:"stop_reason,omitzero"`
}

// SessionStatusRescheduledEvent is a session.status_rescheduled: the runtime
// is being (re)scheduled. It is transient; the stream may drop and resume.
type SessionStatusRescheduledEvent struct {
	EventMeta
}

// SessionStatusTerminatedEvent is a session.status_terminated: the session
// ended for good.
type SessionStatusTerminatedEvent struct {
	EventMeta
}

// SessionErrorEvent is a session.error. Error.RetryStatus says whether the
// platform retries.
type SessionErrorEvent struct {
	EventMeta
	Error SessionError `json:"error"`
}

// SessionUpdatedEvent is a session.updated: the session was updated. Only the
// fields that changed are set.
type SessionUpdatedEvent struct {
	EventMeta
	Title    *string           `json:"title,omitempty"`
	Metadata map[string]string `json:"metadata,omitzero"`
	// Agent is the session's new agent configuration, as the JSON the server
	// sent (the shape of the Session resource's agent field).
	Agent json.RawMessage `json:"agent,omitzero"`
	// Budget is the session's new budget, as the JSON the server sent
	// ({"type", "max_list_cost"}).
	Budget json.RawMessage `json:"budget,omitzero"`
}

// SessionUsageEvent is a session.usage: a snapshot of what the session has
// used, and its budget. It comes from the official SDK's types; Qoder does
// not list it. Read Usage as a snapshot and never add snapshots up.
type SessionUsageEvent struct {
	EventMeta
	// Usage is the session's cumulative usage so far.
	Usage SessionUsage `json:"usage,omitzero"`
	// Budget is the session's spending limit; nil when it has none.
	Budget *SessionBudget `json:"budget,omitempty"`
}

// SessionDeletedEvent is a session.deleted: the session was deleted.
type SessionDeletedEvent struct {
	EventMeta
}

// SessionThreadCreatedEvent is a session.thread_created: a thread of a
// multi-agent session was created (SessionThreadID, AgentName).
type SessionThreadCreatedEvent struct {
	EventMeta
	AgentName string `json:"agent_name"`
}

// SessionThreadStatusRunningEvent is a session.thread_status_running.
type SessionThreadStatusRunningEvent struct {
	EventMeta
	AgentName string `json:"agent_name"`
}

// SessionThreadStatusIdleEvent is a session.thread_status_idle: one thread
// settled; StopReason as in [SessionStatusIdleEvent].
type SessionThreadStatusIdleEvent struct {
	EventMeta
	AgentName  string     `json:"agent_name"`
	StopReason StopReason `json:"stop_reason,omitzero"`
}

// SessionThreadStatusRescheduledEvent is a session.thread_status_rescheduled.
type SessionThreadStatusRescheduledEvent struct {
	EventMeta
	AgentName string `json:"agent_name"`
}

// SessionThreadStatusTerminatedEvent is a session.thread_status_terminated.
type SessionThreadStatusTerminatedEvent struct {
	EventMeta
	AgentName string `json:"agent_name"`
}

// ---------------------------------------------------------------------------
// Span events

// SpanModelRequestStartEvent is a span.model_request_start: a model call began.
type SpanModelRequestStartEvent struct {
	EventMeta
	// Model and SpanID are sent by older API versions only: the id of the
	// model called and the id of the span, which the matching
	// span.model_request_end repeats.
	Model  string `json:"model,omitempty"`
	SpanID string `json:"span_id,omitempty"`
}

// SpanModelRequestEndEvent is a span.model_request_end: a model call ended
// (not the turn).
type SpanModelRequestEndEvent struct {
	EventMeta
	// ModelRequestStartID is the id of the span.model_request_start event.
	ModelRequestStartID string `json:"model_request_start_id"`
	IsError             bool   `json:"is_error"`
	// ModelUsage is nil when the server has no usage data.
	ModelUsage *ModelUsage `json:"model_usage,omitempty"`
	// SpanID and Usage are sent by older API versions only: the id of the
	// span the request began (its span.model_request_start's SpanID) and
	// what it used, in place of ModelUsage; Usage is nil when absent.
	SpanID string      `json:"span_id,omitempty"`
	Usage  *ModelUsage `json:"usage,omitempty"`
}

// SpanOutcomeEvaluationStartEvent is a span.outcome_evaluation_start: an
// evaluation of a defined outcome began.
type SpanOutcomeEvaluationStartEvent struct {
	EventMeta
	OutcomeID string `json:"outcome_id"`
	Iteration int    `json:"iteration"`
}

// SpanOutcomeEvaluationOngoingEvent is a span.outcome_evaluation_ongoing.
type SpanOutcomeEvaluationOngoingEvent struct {
	EventMeta
	OutcomeID string `json:"outcome_id"`
	Iteration int    `json:"iteration"`
}

// SpanOutcomeEvaluationEndEvent is a span.outcome_evaluation_end: the result
// of one evaluation of an outcome.
type SpanOutcomeEvaluationEndEvent struct {
	EventMeta
	// OutcomeEvaluationStartID is the id of the span.outcome_evaluation_start event.
	OutcomeEvaluationStartID string `json:"outcome_evaluation_start_id"`
	OutcomeID                string `json:"outcome_id"`
	Iteration                int    `json:"iteration"`
	// Result is the verdict; its values are not documented.
	Result      string `json:"result"`
	Explanation string `json:"explanation"`
	// Usage is what the evaluation cost; nil when not reported.
	Usage *ModelUsage `json:"usage,omitempty"`
}

// ---------------------------------------------------------------------------
// Stream-only frames

// EventPreview names the event an [EventStart] announces.
type EventPreview struct {
	ID   string `json:"id"`
	Type string `json:"type"` // "agent.message" or "agent.thinking"
}

// EventStart announces an event whose content arrives as [EventDelta] frames
// (only on streams opened with StreamParams.EventDeltas). The buffered event
// with the same id follows and is authoritative; see [MessageAccumulator].
// EventStart frames never appear in history.
type EventStart struct {
	Type  string       `json:"type"` // "event_start"
	Event EventPreview `json:"event"`

	raw json.RawMessage
}

// EventID returns the id of the announced event (e.Event.ID).
func (e *EventStart) EventID() string { return e.Event.ID }

// EventType returns "event_start".
func (e *EventStart) EventType() string { return EventTypeEventStart }

// Raw returns the frame's JSON as received.
func (e *EventStart) Raw() json.RawMessage { return e.raw }

func (e *EventStart) isEvent() {}

func (e *EventStart) setDecoded(typ string, raw []byte) {
	e.Type = typ
	e.raw = capped(raw)
}

// ContentDelta is the delta of an [EventDelta]: a piece of the content block
// at Index of the event being streamed.
type ContentDelta struct {
	Type    string       `json:"type"` // "content_delta"
	Index   int          `json:"index"`
	Content ContentBlock `json:"content"` // a text block holding the new text
}

// EventDelta carries one piece of the content of an event announced by an
// [EventStart]: append Delta.Content.Text to block Delta.Index of the event
// TargetID. Delta frames never appear in history and their id is not a
// resume point.
type EventDelta struct {
	Type string `json:"type"` // "event_delta"
	// TargetID is the id of the event this delta belongs to (the wire field
	// event_id); EventID returns it.
	TargetID string       `json:"event_id"`
	Delta    ContentDelta `json:"delta"`

	raw json.RawMessage
}

// EventID returns the id of the event the delta belongs to (e.TargetID).
func (e *EventDelta) EventID() string { return e.TargetID }

// EventType returns "event_delta".
func (e *EventDelta) EventType() string { return EventTypeEventDelta }

// Raw returns the frame's JSON as received.
func (e *EventDelta) Raw() json.RawMessage { return e.raw }

func (e *EventDelta) isEvent() {}

func (e *EventDelta) setDecoded(typ string, raw []byte) {
	e.Type = typ
	e.raw = capped(raw)
}

// ---------------------------------------------------------------------------
// helpers

func decodeToolInput(name string, input json.RawMessage, v any) error {
	if len(input) == 0 {
		return fmt.Errorf("qoder: tool %q has no input", name)
	}
	if err := json.Unmarshal(input, v); err != nil {
		return fmt.Errorf("qoder: decode input of tool %q: %w", name, err)
	}
	return nil
}
