package qoder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Webhook event types: the catalog the documentation lists. Other types
// (agent and thread events are mentioned but not spelled out) arrive as
// [UnknownWebhook].
const (
	WebhookTypeSessionCreated              = "session.created"
	WebhookTypeSessionUpdated              = "session.updated"
	WebhookTypeSessionArchived             = "session.archived"
	WebhookTypeSessionDeleted              = "session.deleted"
	WebhookTypeForwardScheduleCreated      = "forward.schedule.created"
	WebhookTypeForwardScheduleRunSucceeded = "forward.schedule_run.succeeded"
)

// WebhookEvent is a verified webhook delivery: the envelope
// {"type":"event","id","created_at","data":{"type","id",...}}.
type WebhookEvent struct {
	// ID is the event id ("whe_…"), the signed Webhook-ID header, which
	// equals the envelope's id. It stays the same when a delivery is
	// retried: use it to process each event once.
	ID string
	// Type is the event type, data.type, such as "session.created".
	Type string
	// CreatedAt is when the event happened.
	CreatedAt time.Time
	// Data is the typed payload: a pointer to one of the *Webhook structs
	// of this package, such as *SessionCreatedWebhook, or *UnknownWebhook
	// for a type the SDK does not know. It is never nil.
	Data WebhookData
	// RawData is the data object as received, with any fields the typed
	// payload does not have.
	RawData json.RawMessage
}

// WebhookData is the typed payload of a [WebhookEvent]. Switch on its
// concrete type:
//
//	switch d := ev.Data.(type) {
//	case *qoder.SessionArchivedWebhook:
//		archive(d.ID)
//	case *qoder.UnknownWebhook:
//		log.Printf("ignoring %s", d.Type)
//	}
type WebhookData interface {
	// WebhookType returns the event type, such as "session.created".
	WebhookType() string
	isWebhookData()
}

// SessionCreatedWebhook is the data of session.created: a session was
// created (POST /sessions succeeded).
type SessionCreatedWebhook struct {
	// ID is the session's id.
	ID string `json:"id"`
}

// SessionUpdatedWebhook is the data of session.updated: a session's title
// or metadata changed.
type SessionUpdatedWebhook struct {
	// ID is the session's id.
	ID string `json:"id"`
}

// SessionArchivedWebhook is the data of session.archived: a session was
// archived and takes no new messages.
type SessionArchivedWebhook struct {
	// ID is the session's id.
	ID string `json:"id"`
}

// SessionDeletedWebhook is the data of session.deleted: a session was
// deleted for good.
type SessionDeletedWebhook struct {
	// ID is the session's id.
	ID string `json:"id"`
}

// ForwardScheduleCreatedWebhook is the data of forward.schedule.created, a
// Forward API event. Only id and schema_version are documented; the rest is
// in [WebhookEvent.RawData].
type ForwardScheduleCreatedWebhook struct {
	// ID is the schedule's id.
	ID string `json:"id"`
	// SchemaVersion is the payload's schema version, currently 1.
	SchemaVersion int `json:"schema_version"`
}

// ForwardScheduleRunSucceededWebhook is the data of
// forward.schedule_run.succeeded, a Forward API event: a scheduled run
// finished. The documentation lists the fields but not their values, so
// the enumerations are plain strings.
type ForwardScheduleRunSucceededWebhook struct {
	// ID is the id of the resource the event is about.
	ID string `json:"id"`
	// SchemaVersion is the payload's schema version, currently 1.
	SchemaVersion int `json:"schema_version"`
	// RunID, ScheduleID, IdentityID and TemplateID identify the run, its
	// schedule, the identity it ran as and its template.
	RunID      string `json:"run_id"`
	ScheduleID string `json:"schedule_id"`
	IdentityID string `json:"identity_id"`
	TemplateID string `json:"template_id"`
	// Status is the run's status.
	Status string `json:"status"`
	// TriggerType says what started the run.
	TriggerType string `json:"trigger_type"`
	// Attempt numbers the run's attempts.
	Attempt int `json:"attempt"`
	// PushStatus is the status of pushing the run's result.
	PushStatus string `json:"push_status"`
	// DurationMS is how long the run took, in milliseconds.
	DurationMS int64 `json:"duration_ms"`
	// Source and SourceSessionID are optional: where the run came from.
	Source          string `json:"source,omitempty"`
	SourceSessionID string `json:"source_session_id,omitempty"`
}

// UnknownWebhook is the data of an event type the SDK does not know, or of
// a known type whose data did not decode into its struct. It is never an
// error: ignore it, or read Data.
type UnknownWebhook struct {
	// Type is the event type, data.type (empty when the data has none).
	Type string
	// Data is the data object as received.
	Data json.RawMessage
	// Err is nil for a type the SDK does not know, and the decode error
	// for a known type whose fields have unexpected JSON types.
	Err error
}

// WebhookType returns "session.created".
func (*SessionCreatedWebhook) WebhookType() string { return WebhookTypeSessionCreated }

// WebhookType returns "session.updated".
func (*SessionUpdatedWebhook) WebhookType() string { return WebhookTypeSessionUpdated }

// WebhookType returns "session.archived".
func (*SessionArchivedWebhook) WebhookType() string { return WebhookTypeSessionArchived }

// WebhookType returns "session.deleted".
func (*SessionDeletedWebhook) WebhookType() string { return WebhookTypeSessionDeleted }

// WebhookType returns "forward.schedule.created".
func (*ForwardScheduleCreatedWebhook) WebhookType() string {
	return WebhookTypeForwardScheduleCreated
}

// WebhookType returns "forward.schedule_run.succeeded".
func (*ForwardScheduleRunSucceededWebhook) WebhookType() string {
	return WebhookTypeForwardScheduleRunSucceeded
}

// WebhookType returns the event type as received.
func (d *UnknownWebhook) WebhookType() string { return d.Type }

func (*SessionCreatedWebhook) isWebhookData()              {}
func (*SessionUpdatedWebhook) isWebhookData()              {}
func (*SessionArchivedWebhook) isWebhookData()             {}
func (*SessionDeletedWebhook) isWebhookData()              {}
func (*ForwardScheduleCreatedWebhook) isWebhookData()      {}
func (*ForwardScheduleRunSucceededWebhook) isWebhookData() {}
func (*UnknownWebhook) isWebhookData()                     {}

// webhookKinds makes the data struct of each known type.
var webhookKinds = map[string]func() WebhookData{
	WebhookTypeSessionCreated:              func() WebhookData { return new(SessionCreatedWebhook) },
	WebhookTypeSessionUpdated:              func() WebhookData { return new(SessionUpdatedWebhook) },
	WebhookTypeSessionArchived:             func() WebhookData { return new(SessionArchivedWebhook) },
	WebhookTypeSessionDeleted:              func() WebhookData { return new(SessionDeletedWebhook) },
	WebhookTypeForwardScheduleCreated:      func() WebhookData { return new(ForwardScheduleCreatedWebhook) },
	WebhookTypeForwardScheduleRunSucceeded: func() WebhookData { return new(ForwardScheduleRunSucceededWebhook) },
}

// webhookEnvelope is the body of a delivery. Unknown fields are ignored.
type webhookEnvelope struct {
	ID        string          `json:"id"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// decodeWebhookEvent decodes a delivery's body. Only a body that is not an
// envelope with a data object is an error; the data of an unknown type, or
// data that does not fit its type's struct, becomes *UnknownWebhook.
func decodeWebhookEvent(body []byte) (*WebhookEvent, error) {
	var env webhookEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWebhookMalformedBody, err)
	}
	if data := bytes.TrimSpace(env.Data); len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("%w: no data object", ErrWebhookMalformedBody)
	}
	var head struct {
		Type string `json:"type"`
	}
	// The data is a valid JSON object, so a type that is not a string is
	// the only possible error: such data is kept as unknown below.
	typeErr := json.Unmarshal(env.Data, &head)
	ev := &WebhookEvent{ID: env.ID, Type: head.Type, CreatedAt: env.CreatedAt, RawData: env.Data}
	newData, known := webhookKinds[head.Type]
	switch {
	case typeErr != nil:
		ev.Data = &UnknownWebhook{Data: env.Data, Err: fmt.Errorf("qoder: decode webhook data: %w", typeErr)}
	case !known:
		ev.Data = &UnknownWebhook{Type: head.Type, Data: env.Data}
	default:
		d := newData()
		if err := json.Unmarshal(env.Data, d); err != nil {
			ev.Data = &UnknownWebhook{Type: head.Type, Data: env.Data, Err: fmt.Errorf("qoder: decode %s webhook: %w", head.Type, err)}
		} else {
			ev.Data = d
		}
	}
	return ev, nil
}
