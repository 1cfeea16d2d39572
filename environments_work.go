package qoder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"time"
)

// EnvironmentWorkService is the work queue of a self-hosted environment
// (config type self_hosted): a worker you run polls it for work items,
// acknowledges them, keeps their lease alive with heartbeats while it
// works, and stops them when done. [Worker] runs that loop for you.
//
// The Qoder docs do not describe the queue; what is here follows the
// official SDKs' request and response fields. Inferred, and marked so
// below: the work states beyond those recorded, and how a lost lease is
// reported.
type EnvironmentWorkService service

// ErrWorkLeaseLost matches the error of [EnvironmentWorkService.Heartbeat]
// when the caller no longer holds the item's lease: the server did not
// extend it (lease_extended false), or answered 409 because
// ExpectedLastHeartbeat no longer matched (another worker has the item).
// A worker should stop working on the item and not stop it. It is also
// the cause of a [Worker] handler's cancelled ctx in that case.
var ErrWorkLeaseLost = errors.New("qoder: work item lease lost")

// Get retrieves a work item.
//
// API: GET /environments/{environment_id}/work/{work_id}
func (s *EnvironmentWorkService) Get(ctx context.Context, environmentID, workID string, opts ...RequestOption) (*Work, error) {
	return s.call(ctx, http.MethodGet, "environments/{environment_id}/work/{work_id}", environmentID, workID, nil, opts)
}

// Update patches a work item's metadata: a key with a value sets it, a key
// with a nil value deletes it.
//
// API: POST /environments/{environment_id}/work/{work_id}
func (s *EnvironmentWorkService) Update(ctx context.Context, environmentID, workID string, params *WorkUpdateParams, opts ...RequestOption) (*Work, error) {
	if params == nil {
		return nil, errInvalidParams("work update params are required")
	}
	return s.call(ctx, http.MethodPost, "environments/{environment_id}/work/{work_id}", environmentID, workID, params, opts)
}

// List returns one page of an environment's work items. nil params means
// defaults.
//
// API: GET /environments/{environment_id}/work
func (s *EnvironmentWorkService) List(ctx context.Context, environmentID string, params *WorkListParams, opts ...RequestOption) (*Page[Work], error) {
	path, err := s.client.path("environments/{environment_id}/work", environmentID)
	if err != nil {
		return nil, err
	}
	return invoke[Page[Work]](ctx, s.client, http.MethodGet, path, params, nil, opts)
}

// All iterates over every work item of an environment, fetching pages as
// the loop needs them. params is not modified.
//
// API: GET /environments/{environment_id}/work
func (s *EnvironmentWorkService) All(ctx context.Context, environmentID string, params *WorkListParams, opts ...RequestOption) iter.Seq2[Work, error] {
	return listAll(ctx, params, func(ctx context.Context, p *WorkListParams) (*Page[Work], error) {
		return s.List(ctx, environmentID, p, opts...)
	})
}

// Poll claims the next work item, waiting up to params.BlockMS for one.
// An empty queue is (nil, nil). A claimed item must be acknowledged
// ([EnvironmentWorkService.Ack]); an unacknowledged claim older than
// ReclaimOlderThanMS goes to the next poller. nil params means a
// non-blocking poll.
//
// API: GET /environments/{environment_id}/work/poll
func (s *EnvironmentWorkService) Poll(ctx context.Context, environmentID string, params *WorkPollParams, opts ...RequestOption) (*Work, error) {
	path, err := s.client.path("environments/{environment_id}/work/poll", environmentID)
	if err != nil {
		return nil, err
	}
	opts = append(opts[:len(opts):len(opts)], acceptEmptyBody)
	if params != nil && params.WorkerID != "" {
		opts = append(opts, WithRequestHeader("Worker-ID", params.WorkerID))
	}
	var raw json.RawMessage
	if err := s.client.do(ctx, http.MethodGet, path, params, nil, &raw, opts...); err != nil {
		return nil, err
	}
	if len(raw) == 0 || jsonKind(raw) == 'n' {
		return nil, nil
	}
	w := new(Work)
	if err := json.Unmarshal(raw, w); err != nil {
		return nil, fmt.Errorf("qoder: GET /%s: decoding the work item: %w", path, err)
	}
	keepRawJSON(w, raw)
	return w, nil
}

// Ack acknowledges a claimed work item, which then moves to starting.
//
// API: POST /environments/{environment_id}/work/{work_id}/ack
func (s *EnvironmentWorkService) Ack(ctx context.Context, environmentID, workID string, opts ...RequestOption) (*Work, error) {
	return s.call(ctx, http.MethodPost, "environments/{environment_id}/work/{work_id}/ack", environmentID, workID, nil, opts)
}

// Heartbeat extends the lease on a work item. When the lease was not
// extended it returns the reply and an error matching [ErrWorkLeaseLost];
// a 409 (ExpectedLastHeartbeat is stale) is an *APIError that matches both
// ErrConflict and ErrWorkLeaseLost. A reply whose State is stopping asks
// the worker to wind the item down.
//
// API: POST /environments/{environment_id}/work/{work_id}/heartbeat
func (s *EnvironmentWorkService) Heartbeat(ctx context.Context, environmentID, workID string, params *WorkHeartbeatParams, opts ...RequestOption) (*WorkHeartbeat, error) {
	path, err := s.client.path("environments/{environment_id}/work/{work_id}/heartbeat", environmentID, workID)
	if err != nil {
		return nil, err
	}
	hb, err := invoke[WorkHeartbeat](ctx, s.client, http.MethodPost, path, params, nil, opts)
	switch {
	case errors.Is(err, ErrConflict):
		return nil, fmt.Errorf("%w: %w", ErrWorkLeaseLost, err)
	case err != nil:
		return nil, err
	case !hb.LeaseExtended:
		return hb, fmt.Errorf("%w: work %s: the server did not extend the lease (state %q)", ErrWorkLeaseLost, workID, hb.State)
	}
	return hb, nil
}

// Stop stops a work item: gracefully, or at once with params.Force. nil
// params means a graceful stop.
//
// API: POST /environments/{environment_id}/work/{work_id}/stop
func (s *EnvironmentWorkService) Stop(ctx context.Context, environmentID, workID string, params *WorkStopParams, opts ...RequestOption) (*Work, error) {
	if params == nil {
		params = &WorkStopParams{}
	}
	return s.call(ctx, http.MethodPost, "environments/{environment_id}/work/{work_id}/stop", environmentID, workID, params, opts)
}

// Stats returns the statistics of an environment's queue.
//
// API: GET /environments/{environment_id}/work/stats
func (s *EnvironmentWorkService) Stats(ctx context.Context, environmentID string, opts ...RequestOption) (*WorkStats, error) {
	path, err := s.client.path("environments/{environment_id}/work/stats", environmentID)
	if err != nil {
		return nil, err
	}
	return invoke[WorkStats](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// call sends a request to a path of one work item.
func (s *EnvironmentWorkService) call(ctx context.Context, method, template, environmentID, workID string, body any, opts []RequestOption) (*Work, error) {
	path, err := s.client.path(template, environmentID, workID)
	if err != nil {
		return nil, err
	}
	return invoke[Work](ctx, s.client, method, path, nil, body, opts)
}

// WorkState is where a work item is. Recorded: queued, starting, active,
// stopping; stopped is inferred from StoppedAt.
type WorkState string

// Work states.
const (
	WorkQueued   WorkState = "queued"
	WorkStarting WorkState = "starting"
	WorkActive   WorkState = "active"
	WorkStopping WorkState = "stopping"
	WorkStopped  WorkState = "stopped"
)

// Work is an item of a self-hosted environment's queue: usually a session
// the worker runs. Fields the SDK does not model are in [Work.Raw].
type Work struct {
	resourceJSON

	// ID is the item's id, "work_…".
	ID string `json:"id"`
	// Type is always "work".
	Type string `json:"type"`
	// EnvironmentID is the environment whose queue holds the item.
	EnvironmentID string `json:"environment_id"`
	// Data says what to work on.
	Data WorkData `json:"data"`
	// State is where the item is.
	State WorkState `json:"state"`
	// Secret is a credential for the work, when the server sends one
	// (named by the official SDK, never recorded). It prints as
	// "[redacted]"; Secret.Reveal gives the value.
	Secret Secret `json:"secret,omitzero"`
	// Metadata holds string pairs.
	Metadata map[string]string `json:"metadata"`
	// CreatedAt is when the item was queued.
	CreatedAt time.Time `json:"created_at"`
	// AcknowledgedAt is when a worker acknowledged it.
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	// StartedAt is when the work started.
	StartedAt time.Time `json:"started_at,omitzero"`
	// LatestHeartbeatAt is the lease's last heartbeat.
	LatestHeartbeatAt time.Time `json:"latest_heartbeat_at,omitzero"`
	// StopRequestedAt is when a stop was requested.
	StopRequestedAt time.Time `json:"stop_requested_at,omitzero"`
	// StoppedAt is when the item stopped.
	StoppedAt time.Time `json:"stopped_at,omitzero"`
}

// WorkData names what a work item is about: Type "session" with the
// session's ID, or "healthcheck".
type WorkData struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// WorkHeartbeat is the reply to [EnvironmentWorkService.Heartbeat].
type WorkHeartbeat struct {
	resourceJSON

	// Type is "work_heartbeat".
	Type string `json:"type"`
	// LastHeartbeat is the heartbeat's time: pass it as the next call's
	// ExpectedLastHeartbeat.
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// LeaseExtended reports whether the lease was extended.
	LeaseExtended bool `json:"lease_extended"`
	// State is the item's state; stopping asks the worker to stop.
	State WorkState `json:"state"`
	// TTLSeconds is the lease's new length.
	TTLSeconds int `json:"ttl_seconds"`
}

// WorkStats describe a queue.
type WorkStats struct {
	resourceJSON

	// Type is "work_queue_stats".
	Type string `json:"type"`
	// Depth counts the items in the queue.
	Depth int `json:"depth"`
	// Pending counts the items not yet claimed.
	Pending int `json:"pending"`
	// OldestQueuedAt is when the oldest queued item was queued.
	OldestQueuedAt time.Time `json:"oldest_queued_at,omitzero"`
	// WorkersPolling counts the workers polling now.
	WorkersPolling int `json:"workers_polling"`
}

// WorkUpdateParams patch a work item.
type WorkUpdateParams struct {
	// Metadata: a key with a value sets it, a key with nil deletes it.
	Metadata map[string]*string `json:"metadata,omitzero"`
}

// WorkListParams page [EnvironmentWorkService.List].
type WorkListParams struct {
	// Limit is the page size.
	Limit int `url:"limit,omitempty"`
	// AfterID returns the page after this item id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the page before this item id.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
}

// WorkPollParams tune [EnvironmentWorkService.Poll].
type WorkPollParams struct {
	// BlockMS is how long the server may wait for an item (1–999 ms);
	// 0 does not wait.
	BlockMS int `url:"block_ms,omitempty"`
	// ReclaimOlderThanMS lets the poll claim items claimed but not
	// acknowledged for longer than this (server default 5000).
	ReclaimOlderThanMS int `url:"reclaim_older_than_ms,omitempty"`
	// WorkerID names the worker, sent as the Worker-ID header.
	WorkerID string `url:"-"`
}

// WorkHeartbeatParams tune [EnvironmentWorkService.Heartbeat]; they are
// sent as query parameters.
type WorkHeartbeatParams struct {
	// DesiredTTLSeconds is the lease length asked for.
	DesiredTTLSeconds int `url:"desired_ttl_seconds,omitempty"`
	// ExpectedLastHeartbeat is the LastHeartbeat of the previous call (or
	// the item's LatestHeartbeatAt): the server refuses the heartbeat when
	// another has come since. Zero sends none.
	ExpectedLastHeartbeat time.Time `url:"expected_last_heartbeat,omitempty" layout:"2006-01-02T15:04:05.999999999Z07:00"`
}

// WorkStopParams tune [EnvironmentWorkService.Stop].
type WorkStopParams struct {
	// Force stops at once, without a graceful shutdown.
	Force bool `json:"force"`
}
