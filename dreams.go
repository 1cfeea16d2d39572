package qoder

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"time"
)

// DreamsService runs dreams: jobs that consolidate what sessions or a
// memory store hold into a memory store. By default a dream writes a new
// store cloned from its input store; the input is never changed. The
// Qoder docs do not describe dreams; this follows the official SDKs.
type DreamsService service

// Create starts a dream. It comes back pending; follow it with
// [DreamsService.Wait].
//
// API: POST /dreams
func (s *DreamsService) Create(ctx context.Context, params *DreamCreateParams, opts ...RequestOption) (*Dream, error) {
	if params == nil {
		return nil, errInvalidParams("dream create params are required")
	}
	return invoke[Dream](ctx, s.client, http.MethodPost, literalPath("dreams"), nil, params, opts)
}

// Get retrieves a dream.
//
// API: GET /dreams/{dream_id}
func (s *DreamsService) Get(ctx context.Context, dreamID string, opts ...RequestOption) (*Dream, error) {
	return s.call(ctx, http.MethodGet, "dreams/{dream_id}", dreamID, opts)
}

// List returns one page of dreams. Archived ones are left out unless
// params.IncludeArchived is set. nil params means defaults.
//
// API: GET /dreams
func (s *DreamsService) List(ctx context.Context, params *DreamListParams, opts ...RequestOption) (*Page[Dream], error) {
	return invoke[Page[Dream]](ctx, s.client, http.MethodGet, literalPath("dreams"), params, nil, opts)
}

// All iterates over every dream matching params, fetching pages as the
// loop needs them. params is not modified.
//
// API: GET /dreams
func (s *DreamsService) All(ctx context.Context, params *DreamListParams, opts ...RequestOption) iter.Seq2[Dream, error] {
	return listAll(ctx, params, func(ctx context.Context, p *DreamListParams) (*Page[Dream], error) {
		return s.List(ctx, p, opts...)
	})
}

// Archive archives a dream and returns it with ArchivedAt set.
//
// API: POST /dreams/{dream_id}/archive
func (s *DreamsService) Archive(ctx context.Context, dreamID string, opts ...RequestOption) (*Dream, error) {
	return s.call(ctx, http.MethodPost, "dreams/{dream_id}/archive", dreamID, opts)
}

// Cancel stops a pending or running dream; it ends canceled.
//
// API: POST /dreams/{dream_id}/cancel
func (s *DreamsService) Cancel(ctx context.Context, dreamID string, opts ...RequestOption) (*Dream, error) {
	return s.call(ctx, http.MethodPost, "dreams/{dream_id}/cancel", dreamID, opts)
}

// Wait polls a dream with a growing interval until it ends (completed,
// failed or canceled) and returns it; a failed dream is returned with a
// nil error and its Error set. It honours ctx like
// [DeploymentRunsService.Wait], and calls params.OnSession once the dream
// has a session. nil params means the default intervals.
//
// API: GET /dreams/{dream_id} (repeatedly)
func (s *DreamsService) Wait(ctx context.Context, dreamID string, params *WaitParams, opts ...RequestOption) (*Dream, error) {
	if _, err := s.client.path("dreams/{dream_id}", dreamID); err != nil {
		return nil, err
	}
	return pollUntil(ctx, s.client, params,
		func(ctx context.Context) (*Dream, error) { return s.Get(ctx, dreamID, opts...) },
		func(d *Dream) (string, bool) { return d.SessionID, d.Done() })
}

// call sends a request without parameters to a path of one dream.
func (s *DreamsService) call(ctx context.Context, method, template, dreamID string, opts []RequestOption) (*Dream, error) {
	path, err := s.client.path(template, dreamID)
	if err != nil {
		return nil, err
	}
	return invoke[Dream](ctx, s.client, method, path, nil, nil, opts)
}

// DreamStatus is where a dream is in its life. The wire strings are not
// documented beyond the recorded pending, completed and canceled; running
// and failed follow the official SDKs.
type DreamStatus string

// Dream statuses.
const (
	DreamPending   DreamStatus = "pending"
	DreamRunning   DreamStatus = "running"
	DreamCompleted DreamStatus = "completed"
	DreamFailed    DreamStatus = "failed"
	DreamCanceled  DreamStatus = "canceled"
)

// Dream is a memory consolidation job.
type Dream struct {
	resourceJSON

	// ID is the dream's id, "drm_…".
	ID string `json:"id"`
	// Type is always "dream".
	Type string `json:"type"`
	// Status is where the dream is.
	Status DreamStatus `json:"status"`
	// Inputs are what the dream reads.
	Inputs []DreamInput `json:"inputs"`
	// Outputs are the stores the dream wrote; empty until it completes.
	Outputs []DreamOutput `json:"outputs"`
	// Model is the model the dream runs on.
	Model DreamModel `json:"model"`
	// Instructions guide the consolidation.
	Instructions string `json:"instructions"`
	// OutputBehavior is how the dream writes its output, as sent.
	OutputBehavior json.RawMessage `json:"output_behavior,omitempty"`
	// SessionID is the session the dream runs in, once it exists.
	SessionID string `json:"session_id,omitempty"`
	// Usage counts the tokens the dream used.
	Usage DreamUsage `json:"usage"`
	// Error says why a failed dream failed; nil otherwise.
	Error *DreamError `json:"error"`
	// CreatedAt is when the dream was created.
	CreatedAt time.Time `json:"created_at"`
	// EndedAt is when the dream ended; zero until then.
	EndedAt time.Time `json:"ended_at,omitzero"`
	// ArchivedAt is when the dream was archived; zero if it is not.
	ArchivedAt time.Time `json:"archived_at,omitzero"`
}

// Done reports whether the dream has ended: completed, failed or
// canceled, or (for a status the SDK does not know) EndedAt is set.
func (d *Dream) Done() bool {
	switch d.Status {
	case DreamCompleted, DreamFailed, DreamCanceled:
		return true
	case DreamPending, DreamRunning:
		return false
	}
	return !d.EndedAt.IsZero()
}

// DreamInputType is the kind of a [DreamInput].
type DreamInputType string

// Dream input types.
const (
	DreamInputMemoryStore DreamInputType = "memory_store"
	DreamInputSessions    DreamInputType = "sessions"
)

// DreamInput is what a dream reads: a memory store or a list of sessions.
// Build one with [DreamFromMemoryStore] or [DreamFromSessions].
type DreamInput struct {
	// Type is memory_store or sessions.
	Type DreamInputType `json:"type"`
	// MemoryStoreID is the store (memory_store).
	MemoryStoreID string `json:"memory_store_id,omitempty"`
	// SessionIDs are the sessions (sessions).
	SessionIDs []string `json:"session_ids,omitempty"`
}

// DreamFromMemoryStore is the input of a dream that reads a memory store.
func DreamFromMemoryStore(memoryStoreID string) DreamInput {
	return DreamInput{Type: DreamInputMemoryStore, MemoryStoreID: memoryStoreID}
}

// DreamFromSessions is the input of a dream that reads sessions.
func DreamFromSessions(sessionIDs ...string) DreamInput {
	return DreamInput{Type: DreamInputSessions, SessionIDs: sessionIDs}
}

// DreamOutput is a store a dream wrote.
type DreamOutput struct {
	// Type is "memory_store".
	Type string `json:"type"`
	// MemoryStoreID is the store written.
	MemoryStoreID string `json:"memory_store_id"`
	// FilesTouched are the paths the dream changed in it.
	FilesTouched []string `json:"files_touched,omitempty"`
}

// DreamModel is the model of a dream: an id, and optionally a speed. It
// encodes as the bare id when Speed is empty and decodes from both forms.
type DreamModel struct {
	// ID is the model's id, such as "auto".
	ID string `json:"id"`
	// Speed is the model's speed setting, when it has one.
	Speed string `json:"speed,omitempty"`
}

// MarshalJSON encodes the bare id when Speed is empty, else an object.
func (m DreamModel) MarshalJSON() ([]byte, error) {
	if m.Speed == "" {
		return json.Marshal(m.ID)
	}
	type plain DreamModel
	return json.Marshal(plain(m))
}

// UnmarshalJSON decodes a model id string or a {id, speed} object.
func (m *DreamModel) UnmarshalJSON(data []byte) error {
	switch jsonKind(data) {
	case 'n':
		return nil
	case '"':
		*m = DreamModel{}
		return json.Unmarshal(data, &m.ID)
	}
	type plain DreamModel
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*m = DreamModel(p)
	return nil
}

// DreamUsage counts the tokens a dream used.
type DreamUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
}

// DreamError says why a dream failed.
type DreamError struct {
	// Type names the cause.
	Type string `json:"type"`
	// Message describes it.
	Message string `json:"message"`
}

// DreamCreateParams are the fields of a new dream.
type DreamCreateParams struct {
	// Inputs is required: a memory store ([DreamFromMemoryStore]) or
	// sessions ([DreamFromSessions]).
	Inputs []DreamInput `json:"inputs"`
	// Model is required: DreamModel{ID: "auto"} is sent as "auto".
	Model DreamModel `json:"model"`
	// Instructions guide the consolidation.
	Instructions string `json:"instructions,omitempty"`
	// OutputBehavior is how the dream writes its output, sent as given
	// (its schema is not documented); nil means a new store cloned from
	// the input store.
	OutputBehavior json.RawMessage `json:"output_behavior,omitempty"`
}

// DreamListParams filter and page [DreamsService.List].
type DreamListParams struct {
	// Limit is the page size.
	Limit int `url:"limit,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// Statuses keeps the dreams in any of these states; sent as
	// statuses=... once per state.
	Statuses []DreamStatus `url:"statuses,omitempty"`
	// IncludeArchived includes archived dreams.
	IncludeArchived bool `url:"include_archived,omitempty"`
	// CreatedAtGt and CreatedAtLt bound the creation time (exclusive).
	CreatedAtGt time.Time `url:"created_at[gt],omitempty"`
	CreatedAtLt time.Time `url:"created_at[lt],omitempty"`
}
