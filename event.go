package qoder

import (
	"encoding/json"
	"time"
)

// Event is one event of a session, as listed by EventsService.List or
// delivered by a [Stream]. It is sealed: every implementation is a pointer to
// a struct of this package, one per wire type (*[AgentMessageEvent],
// *[SessionStatusIdleEvent], ...), plus the stream-only frames *[EventStart]
// and *[EventDelta] and the catch-all *[UnknownEvent]. Switch on the
// concrete type:
//
//	switch ev := ev.(type) {
//	case *qoder.AgentMessageEvent:
//		fmt.Print(ev.Text())
//	case *qoder.UnknownEvent:
//		log.Printf("skipping %s", ev.Type)
//	}
type Event interface {
	// EventID returns the event's id (evt_…). For *EventDelta it is the id of
	// the event the delta belongs to.
	EventID() string
	// EventType returns the wire type, e.g. "agent.message" or "event_delta".
	EventType() string
	// Raw returns the event's JSON exactly as received. Do not modify it.
	Raw() json.RawMessage

	isEvent()
}

// EventMeta holds the fields every buffered event carries. It is embedded in
// each event struct, so ev.ID, ev.Type and ev.ProcessedAt work on all of them.
type EventMeta struct {
	// ID is the event id (evt_…), also the SSE id used to resume a stream.
	ID string `json:"id"`
	// Type is the wire type, e.g. "agent.message". It always matches the Go
	// type the event was decoded into.
	Type string `json:"type"`
	// ProcessedAt is when the platform processed the event; zero when the
	// payload has none or null (not yet processed).
	ProcessedAt time.Time `json:"processed_at,omitzero"`
	// SessionThreadID is set on thread-scoped events of multi-agent sessions.
	SessionThreadID string `json:"session_thread_id,omitempty"`
	// SessionID is the session id; only older payloads carry it.
	SessionID string `json:"session_id,omitempty"`
	// TurnID is the turn id (turn_…); only older payloads carry it.
	TurnID string `json:"turn_id,omitempty"`
	// CreatedAt is the creation time; only older payloads carry it.
	CreatedAt time.Time `json:"created_at,omitzero"`

	raw json.RawMessage
}

// EventID returns m.ID.
func (m *EventMeta) EventID() string { return m.ID }

// EventType returns m.Type.
func (m *EventMeta) EventType() string { return m.Type }

// Raw returns the event's JSON as received.
func (m *EventMeta) Raw() json.RawMessage { return m.raw }

func (m *EventMeta) isEvent() {}

func (m *EventMeta) setDecoded(typ string, raw []byte) {
	m.Type = typ
	m.raw = capped(raw)
}

// capped returns b with its capacity cut to its length, so that appending to
// it never writes into memory shared with fields that point into it.
func capped(b []byte) []byte { return b[:len(b):len(b)] }

// UnknownEvent is an event whose type the SDK does not know, or that could not
// be decoded into its struct. It is never dropped: Type (promoted from
// EventMeta) names the wire type and Data holds the raw JSON.
type UnknownEvent struct {
	EventMeta
	// Data is the event's JSON as received (the same bytes as Raw).
	Data json.RawMessage `json:"-"`
	// Err is the decode error: the payload is not a JSON object, or it does
	// not match the struct of its (known) type, or its common fields (id,
	// processed_at, ...) have the wrong JSON type. It is nil for a
	// well-formed event whose type is merely unknown.
	Err error `json:"-"`
}

// decodable is implemented by every struct decodeEvent fills.
type decodable interface {
	Event
	// setDecoded records the resolved wire type and the raw JSON.
	setDecoded(typ string, raw []byte)
}

// eventKind is how decodeEvent makes the struct of one wire type.
type eventKind struct {
	typ string
	new func() decodable
}

func kindOf[T any, P interface {
	*T
	decodable
}](typ string) eventKind {
	return eventKind{typ: typ, new: func() decodable { return P(new(T)) }}
}

// eventKinds maps every known wire type to its struct. A new event type is a
// struct (EventMeta embedded, json tags on its fields) and a line here: the
// fast decoder reads it by its tags, and TestFastDecode_matchesEncodingJSON
// covers it.
var eventKinds = func() map[string]eventKind {
	kinds := []eventKind{
		kindOf[UserMessageEvent](EventTypeUserMessage),
		kindOf[UserInterruptEvent](EventTypeUserInterrupt),
		kindOf[UserToolConfirmationEvent](EventTypeUserToolConfirmation),
		kindOf[UserCustomToolResultEvent](EventTypeUserCustomToolResult),
		kindOf[UserToolResultEvent](EventTypeUserToolResult),
		kindOf[UserDefineOutcomeEvent](EventTypeUserDefineOutcome),
		kindOf[SystemMessageEvent](EventTypeSystemMessage),

		kindOf[AgentMessageEvent](EventTypeAgentMessage),
		kindOf[AgentThinkingEvent](EventTypeAgentThinking),
		kindOf[AgentToolUseEvent](EventTypeAgentToolUse),
		kindOf[AgentToolResultEvent](EventTypeAgentToolResult),
		kindOf[AgentCustomToolUseEvent](EventTypeAgentCustomToolUse),
		kindOf[AgentMCPToolUseEvent](EventTypeAgentMCPToolUse),
		kindOf[AgentMCPToolResultEvent](EventTypeAgentMCPToolResult),
		kindOf[AgentArtifactDeliveredEvent](EventTypeAgentArtifactDelivered),
		kindOf[AgentThreadMessageSentEvent](EventTypeAgentThreadMessageSent),
		kindOf[AgentThreadMessageReceivedEvent](EventTypeAgentThreadMessageReceived),
		kindOf[AgentThreadContextCompactedEvent](EventTypeAgentThreadContextCompacted),

		kindOf[SessionStatusRunningEvent](EventTypeSessionStatusRunning),
		kindOf[SessionStatusIdleEvent](EventTypeSessionStatusIdle),
		kindOf[SessionStatusRescheduledEvent](EventTypeSessionStatusRescheduled),
		kindOf[SessionStatusTerminatedEvent](EventTypeSessionStatusTerminated),
		kindOf[SessionErrorEvent](EventTypeSessionError),
		kindOf[SessionUpdatedEvent](EventTypeSessionUpdated),
		kindOf[SessionDeletedEvent](EventTypeSessionDeleted),
		kindOf[SessionThreadCreatedEvent](EventTypeSessionThreadCreated),
		kindOf[SessionThreadStatusRunningEvent](EventTypeSessionThreadStatusRunning),
		kindOf[SessionThreadStatusIdleEvent](EventTypeSessionThreadStatusIdle),
		kindOf[SessionThreadStatusRescheduledEvent](EventTypeSessionThreadStatusRescheduled),
		kindOf[SessionThreadStatusTerminatedEvent](EventTypeSessionThreadStatusTerminated),
		kindOf[SessionUsageEvent](EventTypeSessionUsage),

		kindOf[SpanModelRequestStartEvent](EventTypeSpanModelRequestStart),
		kindOf[SpanModelRequestEndEvent](EventTypeSpanModelRequestEnd),
		kindOf[SpanOutcomeEvaluationStartEvent](EventTypeSpanOutcomeEvaluationStart),
		kindOf[SpanOutcomeEvaluationOngoingEvent](EventTypeSpanOutcomeEvaluationOngoing),
		kindOf[SpanOutcomeEvaluationEndEvent](EventTypeSpanOutcomeEvaluationEnd),

		kindOf[EventStart](EventTypeEventStart),
		kindOf[EventDelta](EventTypeEventDelta),
	}
	m := make(map[string]eventKind, len(kinds))
	for _, k := range kinds {
		m[k.typ] = k
	}
	return m
}()
