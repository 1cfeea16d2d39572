package qoder

import (
	"context"
	"iter"
)

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
