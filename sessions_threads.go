package qoder

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// SessionThreadsService reads the threads of a multi-agent session: one
// coordinator thread, and the child threads it starts to run roster
// agents.
//
// See https://docs.qoder.com/cloud-agents/managed-agents.
type SessionThreadsService service

// Get retrieves one thread of a session.
//
// API: GET /sessions/{session_id}/threads/{thread_id}
func (s *SessionThreadsService) Get(ctx context.Context, sessionID, threadID string, opts ...RequestOption) (*Thread, error) {
	path, err := s.client.path("sessions/{session_id}/threads/{thread_id}", sessionID, threadID)
	if err != nil {
		return nil, err
	}
	return invoke[Thread](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// List returns one page of a session's threads. nil params means defaults.
//
// API: GET /sessions/{session_id}/threads
func (s *SessionThreadsService) List(ctx context.Context, sessionID string, params *SessionThreadListParams, opts ...RequestOption) (*Page[Thread], error) {
	path, err := s.client.path("sessions/{session_id}/threads", sessionID)
	if err != nil {
		return nil, err
	}
	return invoke[Page[Thread]](ctx, s.client, http.MethodGet, path, params, nil, opts)
}

// All iterates over every thread of a session. params is not modified.
//
// API: GET /sessions/{session_id}/threads
func (s *SessionThreadsService) All(ctx context.Context, sessionID string, params *SessionThreadListParams, opts ...RequestOption) iter.Seq2[Thread, error] {
	return listAll(ctx, params, func(ctx context.Context, p *SessionThreadListParams) (*Page[Thread], error) {
		return s.List(ctx, sessionID, p, opts...)
	})
}

// Archive archives a thread and returns it with ArchivedAt set.
//
// API: POST /sessions/{session_id}/threads/{thread_id}/archive
func (s *SessionThreadsService) Archive(ctx context.Context, sessionID, threadID string, opts ...RequestOption) (*Thread, error) {
	path, err := s.client.path("sessions/{session_id}/threads/{thread_id}/archive", sessionID, threadID)
	if err != nil {
		return nil, err
	}
	return invoke[Thread](ctx, s.client, http.MethodPost, path, nil, nil, opts)
}

// ListEvents returns one page of one thread's events, decoded like the
// session's.
//
// API: GET /sessions/{session_id}/threads/{thread_id}/events
func (s *SessionThreadsService) ListEvents(ctx context.Context, sessionID, threadID string, params *EventListParams, opts ...RequestOption) (*Page[Event], error) {
	path, err := s.client.path("sessions/{session_id}/threads/{thread_id}/events", sessionID, threadID)
	if err != nil {
		return nil, err
	}
	return s.client.listEvents(ctx, path, params, opts)
}

// AllEvents returns an iterator over one thread's whole event history.
//
// API: GET /sessions/{session_id}/threads/{thread_id}/events
func (s *SessionThreadsService) AllEvents(ctx context.Context, sessionID, threadID string, params *EventListParams, opts ...RequestOption) iter.Seq2[Event, error] {
	return listAll(ctx, params, func(ctx context.Context, p *EventListParams) (*Page[Event], error) {
		return s.ListEvents(ctx, sessionID, threadID, p, opts...)
	})
}

// Stream opens the event stream of one thread. It behaves like
// [EventsService.Stream], resuming included, and also ends after the
// thread's session.thread_status_terminated.
//
// API: GET /sessions/{session_id}/threads/{thread_id}/stream
func (s *SessionThreadsService) Stream(ctx context.Context, sessionID, threadID string, params *StreamParams, opts ...RequestOption) (*Stream, error) {
	path, err := s.client.path("sessions/{session_id}/threads/{thread_id}/stream", sessionID, threadID)
	if err != nil {
		return nil, err
	}
	return s.client.openStream(ctx, path, threadID, params, opts)
}

// Thread is one thread of a multi-agent session.
type Thread struct {
	// ID is the thread's id, "sthr_...".
	ID string `json:"id"`
	// Type is always "session_thread".
	Type string `json:"type"`
	// SessionID is the session the thread belongs to.
	SessionID string `json:"session_id"`
	// ParentThreadID is the thread that started this one; empty for the
	// coordinator thread.
	ParentThreadID string `json:"parent_thread_id,omitempty"`
	// Agent is the snapshot of the agent the thread runs; it may carry only
	// ID, Type and Version.
	Agent Agent `json:"agent"`
	// Status is the thread's state, such as SessionStatusRunning.
	Status SessionStatus `json:"status"`
	// Stats are the thread's timings; zero when not sent.
	Stats ThreadStats `json:"stats,omitzero"`
	// Usage is a snapshot of what the thread has used.
	Usage SessionUsage `json:"usage,omitzero"`
	// ArchivedAt is when the thread was archived; zero if it is not.
	ArchivedAt time.Time `json:"archived_at,omitzero"`
	// CreatedAt is when the thread started.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the thread last changed.
	UpdatedAt time.Time `json:"updated_at"`
}

// IsCoordinator reports whether t is the session's coordinator thread,
// the one without a parent.
func (t *Thread) IsCoordinator() bool { return t.ParentThreadID == "" }

// ThreadStats are a thread's timings, in seconds.
type ThreadStats struct {
	// ActiveSeconds is the time the thread spent working.
	ActiveSeconds float64 `json:"active_seconds"`
	// DurationSeconds is the time since the thread started.
	DurationSeconds float64 `json:"duration_seconds"`
	// StartupSeconds is the time the thread took to start.
	StartupSeconds float64 `json:"startup_seconds"`
}

// SessionThreadListParams page [SessionThreadsService.List]. Thread lists
// page forward only, with opaque tokens.
type SessionThreadListParams struct {
	// Limit is the page size (default 1000).
	Limit int `url:"limit,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
}
