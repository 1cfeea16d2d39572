package qodertest

import (
	"bytes"
	"encoding/json"
	"math"
	"time"
)

// Session statuses.
const (
	statusIdle         = "idle"
	statusRunning      = "running"
	statusCanceling    = "canceling"
	statusRescheduling = "rescheduling"
	statusTerminated   = "terminated"
)

// session is a stored session with its event log.
type session struct {
	now           func() time.Time // the server's clock (Server.Now)
	id            string
	seq           int64
	agentID       string
	agentVersion  int
	agent         json.RawMessage // the snapshot sessions show
	tools         []json.RawMessage
	environmentID string
	title         string
	metadata      map[string]string
	envVars       map[string]string
	resources     []*sessionResource // in attach order
	vaultIDs      []string
	budget        json.RawMessage
	deploymentID  string // the deployment whose run made the session
	status        string
	stopReason    string // type of the last idle stop_reason
	credits       float64
	work          activity
	archivedAt    time.Time
	createdAt     time.Time
	updatedAt     time.Time
	deleted       bool

	// items is the stream timeline: buffered events and the delta frames
	// announced before some of them. It only grows.
	items   []item
	byID    map[string]int // buffered event id -> index in items
	started map[string]int // delta-streamed message id -> index of its latest frame
	wake    chan struct{}  // closed and replaced on every append

	turn    *Turn               // the running or paused turn, if any
	pending map[string]*pending // tool uses awaiting the client, by event id

	// threads are the session's threads, in creation order: none for a
	// single agent, the coordinator first for a multi-agent session.
	threads []*thread

	// onEvent, when set, sees every buffered event as it is appended
	// (with s.mu held): a deployment run or a dream follows its session
	// this way (see sessionWatch).
	onEvent func(typ string, fields map[string]any)
}

// itemKind tells buffered events from delta frames.
type itemKind int

const (
	kindEvent itemKind = iota // a buffered event, also in history
	kindStart                 // an event_start frame
	kindDelta                 // an event_delta frame
)

// item is one entry of a session's timeline.
type item struct {
	kind   itemKind
	id     string          // event id (of the final event for frames)
	thread string          // the child thread it belongs to; "" for the session's own (the coordinator's)
	typ    string          // event type (the previewed type for frames)
	data   json.RawMessage // the SSE data
	at     time.Time
}

func newSession(now func() time.Time) *session {
	return &session{
		now:     now,
		byID:    map[string]int{},
		started: map[string]int{},
		wake:    make(chan struct{}),
		pending: map[string]*pending{},
		status:  statusIdle,
	}
}

// notify wakes every stream waiting on the session.
func (ss *session) notify() {
	close(ss.wake)
	ss.wake = make(chan struct{})
}

// appendEvent adds a buffered event with a new id and returns its JSON.
func (ss *session) appendEvent(typ string, fields map[string]any) json.RawMessage {
	return ss.appendEventIn("", newID("evt_"), typ, fields)
}

// appendEventIn adds a buffered event with the given id that belongs to
// thread ("" for the session's own events).
func (ss *session) appendEventIn(thread, id, typ string, fields map[string]any) json.RawMessage {
	now := ss.now()
	data := eventJSON(id, typ, fields, now)
	ss.byID[id] = len(ss.items)
	ss.items = append(ss.items, item{kind: kindEvent, id: id, thread: thread, typ: typ, data: data, at: now})
	ss.notify()
	if ss.onEvent != nil {
		ss.onEvent(typ, fields)
	}
	return data
}

// appendStart adds the event_start frame of message id, of type typ, in
// thread.
func (ss *session) appendStart(thread, id, typ string) {
	data, _ := json.Marshal(map[string]any{"type": "event_start", "event": map[string]string{"id": id, "type": typ}})
	ss.started[id] = len(ss.items)
	ss.items = append(ss.items, item{kind: kindStart, id: id, thread: thread, typ: typ, data: data, at: ss.now()})
	ss.notify()
}

// appendDelta adds an event_delta frame with text for message id, in
// thread.
func (ss *session) appendDelta(thread, id, typ, text string) {
	data, _ := json.Marshal(map[string]any{
		"type":     "event_delta",
		"event_id": id,
		"delta": map[string]any{
			"type": "content_delta", "index": 0,
			"content": map[string]string{"type": "text", "text": text},
		},
	})
	ss.started[id] = len(ss.items)
	ss.items = append(ss.items, item{kind: kindDelta, id: id, thread: thread, typ: typ, data: data, at: ss.now()})
	ss.notify()
}

// eventJSON encodes an event as a flat object: id and type first, then
// fields in key order, then processed_at.
func eventJSON(id, typ string, fields map[string]any, at time.Time) json.RawMessage {
	var buf bytes.Buffer
	head, _ := json.Marshal(struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}{id, typ})
	buf.Write(head[:len(head)-1])
	if len(fields) > 0 {
		body, err := encodeJSON(fields)
		if err == nil {
			body = bytes.TrimSpace(body)
			buf.WriteByte(',')
			buf.Write(body[1 : len(body)-1])
		}
	}
	buf.WriteString(`,"processed_at":"` + timestamp(at) + `"}`)
	return buf.Bytes()
}

// setStatus moves the session to status, keeping active time.
func (ss *session) setStatus(status string) {
	now := ss.now()
	ss.work.change(ss.status, status, now)
	ss.status = status
	ss.updatedAt = now
}

// activity keeps the working time of a session or a thread.
type activity struct {
	active time.Duration // working time before since
	since  time.Time     // when the current working spell began
}

// busy reports whether status counts as working time.
func busy(status string) bool {
	return status == statusRunning || status == statusCanceling || status == statusRescheduling
}

// change records a move from status from to status to at now.
func (a *activity) change(from, to string, now time.Time) {
	if busy(from) && !busy(to) {
		a.active += now.Sub(a.since)
	} else if !busy(from) && busy(to) {
		a.since = now
	}
}

// seconds is the working time up to now, in seconds to one decimal, of
// something now in status.
func (a activity) seconds(status string, now time.Time) float64 {
	d := a.active
	if busy(status) {
		d += now.Sub(a.since)
	}
	return tenths(d)
}

// tenths is d in seconds, rounded to one decimal.
func tenths(d time.Duration) float64 { return math.Round(d.Seconds()*10) / 10 }

// sessionJSON is the wire form, in the recorded key order.
type sessionJSON struct {
	ID                   string            `json:"id"`
	Type                 string            `json:"type"`
	Agent                json.RawMessage   `json:"agent"`
	EnvironmentID        string            `json:"environment_id"`
	Title                string            `json:"title"`
	Status               string            `json:"status"`
	Metadata             map[string]string `json:"metadata"`
	EnvironmentVariables map[string]string `json:"environment_variables"`
	Resources            []json.RawMessage `json:"resources"`
	VaultIDs             []string          `json:"vault_ids"`
	DeploymentID         *string           `json:"deployment_id"`
	OutcomeEvaluations   []any             `json:"outcome_evaluations"`
	Stats                sessionStats      `json:"stats"`
	Budget               json.RawMessage   `json:"budget,omitempty"`
	ArchivedAt           *string           `json:"archived_at"`
	CreatedAt            string            `json:"created_at"`
	UpdatedAt            string            `json:"updated_at"`
	Usage                sessionUsage      `json:"usage"`
}

type sessionStats struct {
	ActiveSeconds   float64 `json:"active_seconds"`
	DurationSeconds float64 `json:"duration_seconds"`
}

type sessionUsage struct {
	TotalCredits float64 `json:"total_credits"`
}

func (ss *session) wire() sessionJSON {
	now := ss.now()
	vaults := ss.vaultIDs
	if vaults == nil {
		vaults = []string{}
	}
	var deployment *string
	if ss.deploymentID != "" {
		deployment = &ss.deploymentID
	}
	return sessionJSON{
		ID: ss.id, Type: "session", Agent: ss.agent, EnvironmentID: ss.environmentID,
		Title: ss.title, Status: ss.status, Metadata: ss.metadata,
		EnvironmentVariables: ss.envVars, Resources: resourcesJSON(ss.resources), VaultIDs: vaults,
		DeploymentID: deployment, OutcomeEvaluations: []any{},
		Stats:      sessionStats{ActiveSeconds: ss.work.seconds(ss.status, now), DurationSeconds: tenths(now.Sub(ss.createdAt))},
		Budget:     ss.budget,
		ArchivedAt: nullTime(ss.archivedAt),
		CreatedAt:  timestamp(ss.createdAt), UpdatedAt: timestamp(ss.updatedAt),
		Usage: sessionUsage{TotalCredits: credits(ss.credits)},
	}
}

// sessionByID returns a session that exists and is not deleted, or a 404;
// s.mu must be held.
func (s *Server) sessionByID(id string) (*session, *apiError) {
	ss, ok := s.sessions[id]
	if !ok || ss.deleted {
		return nil, notFound("Session '%s' was not found.", id)
	}
	return ss, nil
}
