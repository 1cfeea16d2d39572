package qoder

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"time"
)

// EventsService sends events to sessions, lists their history and streams
// them as they happen. Thread-scoped variants hang off
// client.Sessions.Threads.
type EventsService service

// Send sends a batch of input events to a session, such as a
// [UserMessage] or a [UserToolConfirmation], and returns the events the
// server accepted (with their ids). Acceptance is not completion: follow
// the session's [EventsService.Stream], opened before you send. The batch
// is checked against the documented rules first: it is not empty, every
// user.message has content, and a system.message is at most one and last.
//
// API: POST /sessions/{session_id}/events
func (s *EventsService) Send(ctx context.Context, sessionID string, events []InputEvent, opts ...RequestOption) ([]Event, error) {
	path, err := s.client.path("sessions/{session_id}/events", sessionID)
	if err != nil {
		return nil, err
	}
	if err := validateInputEvents(events); err != nil {
		return nil, err
	}
	var resp struct {
		Data []json.RawMessage `json:"data"`
	}
	body := struct {
		Events []InputEvent `json:"events"`
	}{events}
	if err := s.client.do(ctx, http.MethodPost, path, nil, body, &resp, opts...); err != nil {
		return nil, err
	}
	accepted := make([]Event, len(resp.Data))
	for i, raw := range resp.Data {
		accepted[i] = decodeEvent("", raw)
	}
	return accepted, nil
}

// SendMessage sends one text user.message and returns its accepted echo.
//
// API: POST /sessions/{session_id}/events
func (s *EventsService) SendMessage(ctx context.Context, sessionID, text string, opts ...RequestOption) (*UserMessageEvent, error) {
	if text == "" {
		return nil, errEmptyMessage
	}
	accepted, err := s.Send(ctx, sessionID, []InputEvent{NewUserMessage(text)}, opts...)
	if err != nil {
		return nil, err
	}
	for _, ev := range accepted {
		if msg, ok := ev.(*UserMessageEvent); ok {
			return msg, nil
		}
	}
	return nil, fmt.Errorf("qoder: POST /sessions/%s/events: the response holds no user.message", sessionID)
}

// List returns one page of a session's event history (buffered events
// only; delta frames never appear), decoded into the same types as the
// stream.
//
// API: GET /sessions/{session_id}/events
func (s *EventsService) List(ctx context.Context, sessionID string, params *EventListParams, opts ...RequestOption) (*Page[Event], error) {
	path, err := s.client.path("sessions/{session_id}/events", sessionID)
	if err != nil {
		return nil, err
	}
	return s.client.listEvents(ctx, path, params, opts)
}

// All returns an iterator over a session's whole event history, fetching
// pages as the loop advances.
//
// API: GET /sessions/{session_id}/events
func (s *EventsService) All(ctx context.Context, sessionID string, params *EventListParams, opts ...RequestOption) iter.Seq2[Event, error] {
	return listAll(ctx, params, func(ctx context.Context, p *EventListParams) (*Page[Event], error) {
		return s.List(ctx, sessionID, p, opts...)
	})
}

// EventListParams filters and pages [EventsService.List].
type EventListParams struct {
	// Limit is the page size (default 20, at most 100).
	Limit int `url:"limit,omitempty"`
	// AfterID and BeforeID page by event id; they exclude each other.
	AfterID  string `url:"after_id,omitempty"`
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// Order is "asc" (chronological, the default) or "desc".
	Order string `url:"order,omitempty"`
	// Types keeps only events of these types (sent as types[]).
	Types []string `url:"types,brackets,omitempty"`
	// Type is the comma-separated form of the type filter.
	Type string `url:"type,omitempty"`
	// CreatedAtGT, CreatedAtGTE, CreatedAtLT and CreatedAtLTE bound the
	// events' processed_at (gte/lte inclusive, gt/lt exclusive).
	CreatedAtGT  time.Time `url:"created_at[gt],omitempty"`
	CreatedAtGTE time.Time `url:"created_at[gte],omitempty"`
	CreatedAtLT  time.Time `url:"created_at[lt],omitempty"`
	CreatedAtLTE time.Time `url:"created_at[lte],omitempty"`
}

// Event list orders.
const (
	OrderAsc  = "asc"
	OrderDesc = "desc"
)

// listEvents fetches one page of events from path and decodes each event.
func (c *Client) listEvents(ctx context.Context, path apiPath, params *EventListParams, opts []RequestOption) (*Page[Event], error) {
	var raw Page[json.RawMessage]
	if err := c.do(ctx, http.MethodGet, path, params, nil, &raw, opts...); err != nil {
		return nil, err
	}
	page := &Page[Event]{
		resourceJSON: raw.resourceJSON,
		Data:         make([]Event, len(raw.Data)),
		FirstID:      raw.FirstID,
		LastID:       raw.LastID,
		HasMore:      raw.HasMore,
		NextPage:     raw.NextPage,
	}
	for i, data := range raw.Data {
		page.Data[i] = decodeEvent("", data)
	}
	return page, nil
}
