package qoder

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// MemoryStoresService manages memory stores: persistent, path-addressed
// text memories that sessions share. A session mounts a store as a
// resource ([MemoryStoreResource]); only the store's description (and the
// resource's instructions) go into the system prompt, and the agent reads
// and writes the memories with tools while it runs. Every write of a
// memory makes a version.
//
// See https://docs.qoder.com/cloud-agents/memory-stores.
type MemoryStoresService struct {
	service

	// Memories manages the memories of a store.
	Memories *MemoryStoreMemoriesService
	// Versions lists, reads and redacts the versions of a store's memories.
	Versions *MemoryStoreVersionsService
}

// Create creates a memory store.
//
// API: POST /memory_stores
func (s *MemoryStoresService) Create(ctx context.Context, params *MemoryStoreCreateParams, opts ...RequestOption) (*MemoryStore, error) {
	if params == nil {
		return nil, errInvalidParams("memory store create params are required")
	}
	if params.Name == "" {
		return nil, errInvalidParams("a memory store's name is required")
	}
	return invoke[MemoryStore](ctx, s.client, http.MethodPost, literalPath("memory_stores"), nil, params, opts)
}

// Get retrieves a memory store.
//
// API: GET /memory_stores/{memory_store_id}
func (s *MemoryStoresService) Get(ctx context.Context, storeID string, opts ...RequestOption) (*MemoryStore, error) {
	path, err := s.client.path("memory_stores/{memory_store_id}", storeID)
	if err != nil {
		return nil, err
	}
	return invoke[MemoryStore](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// Update changes the fields of a memory store that params sets and keeps
// the others. Renaming a store changes its mount path in sessions created
// afterwards.
//
// API: POST /memory_stores/{memory_store_id}
func (s *MemoryStoresService) Update(ctx context.Context, storeID string, params *MemoryStoreUpdateParams, opts ...RequestOption) (*MemoryStore, error) {
	path, err := s.client.path("memory_stores/{memory_store_id}", storeID)
	if err != nil {
		return nil, err
	}
	if params == nil {
		return nil, errInvalidParams("memory store update params are required")
	}
	return invoke[MemoryStore](ctx, s.client, http.MethodPost, path, nil, params, opts)
}

// List returns one page of memory stores. Archived stores are left out
// unless params.IncludeArchived is set. nil params means defaults.
//
// API: GET /memory_stores
func (s *MemoryStoresService) List(ctx context.Context, params *MemoryStoreListParams, opts ...RequestOption) (*Page[MemoryStore], error) {
	return invoke[Page[MemoryStore]](ctx, s.client, http.MethodGet, literalPath("memory_stores"), params, nil, opts)
}

// All iterates over every memory store matching params, fetching pages as
// the loop needs them. params is not modified.
//
// API: GET /memory_stores
func (s *MemoryStoresService) All(ctx context.Context, params *MemoryStoreListParams, opts ...RequestOption) iter.Seq2[MemoryStore, error] {
	return listAll(ctx, params, func(ctx context.Context, p *MemoryStoreListParams) (*Page[MemoryStore], error) {
		return s.List(ctx, p, opts...)
	})
}

// Delete deletes a memory store with all its memories and versions.
//
// API: DELETE /memory_stores/{memory_store_id}
func (s *MemoryStoresService) Delete(ctx context.Context, storeID string, opts ...RequestOption) (*DeletedMemoryStore, error) {
	return deleteAt[DeletedMemoryStore](ctx, s.client, opts, "memory_stores/{memory_store_id}", storeID)
}

// Archive archives a memory store and returns it with ArchivedAt set.
// Archived stores cannot be mounted by new sessions.
//
// API: POST /memory_stores/{memory_store_id}/archive
func (s *MemoryStoresService) Archive(ctx context.Context, storeID string, opts ...RequestOption) (*MemoryStore, error) {
	path, err := s.client.path("memory_stores/{memory_store_id}/archive", storeID)
	if err != nil {
		return nil, err
	}
	return invoke[MemoryStore](ctx, s.client, http.MethodPost, path, nil, nil, opts)
}

// MemoryStore is a store of memories.
type MemoryStore struct {
	resourceJSON

	// ID is the store's id, "memstore_…".
	ID string `json:"id"`
	// Type is always "memory_store".
	Type string `json:"type"`
	// Name is the store's name (1–255 characters; not unique). Sessions
	// mount the store at a path made from it.
	Name string `json:"name"`
	// Description is shown to the agent (up to 1024 characters).
	Description string `json:"description"`
	// Metadata holds string pairs of your own, not shown to the agent.
	Metadata map[string]string `json:"metadata"`
	// ArchivedAt is when the store was archived; zero if it is not.
	ArchivedAt time.Time `json:"archived_at,omitzero"`
	// CreatedAt is when the store was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the store last changed.
	UpdatedAt time.Time `json:"updated_at"`

	// Status ("active", "archived" or "deleted"), EntryCount and TotalSize
	// (in bytes) are sent by older API versions only.
	Status     string `json:"status,omitempty"`
	EntryCount int64  `json:"entry_count,omitempty"`
	TotalSize  int64  `json:"total_size,omitempty"`
}

// DeletedMemoryStore is the answer to [MemoryStoresService.Delete].
type DeletedMemoryStore struct {
	resourceJSON

	// ID is the deleted store's id.
	ID string `json:"id"`
	// Type is "memory_store_deleted"; empty when the API answered with no
	// body.
	Type string `json:"type"`
}

// MemoryStoreCreateParams are the fields of a new memory store.
type MemoryStoreCreateParams struct {
	// Name is required (1–255 characters, no control characters).
	Name string `json:"name"`
	// Description is shown to the agent (up to 1024 characters).
	Description string `json:"description,omitempty"`
	// Metadata holds up to 16 string pairs of your own.
	Metadata map[string]string `json:"metadata,omitzero"`
}

// MemoryStoreUpdateParams change a memory store. Fields left nil are kept.
type MemoryStoreUpdateParams struct {
	// Name renames the store.
	Name *string `json:"name,omitempty"`
	// Description replaces the description; Ptr("") clears it.
	Description *string `json:"description,omitempty"`
	// Metadata patches the metadata: a key with a value sets it, a key with
	// a nil value deletes it, and absent keys are kept.
	Metadata map[string]*string `json:"metadata,omitzero"`
}

// MemoryStoreListParams filter and page [MemoryStoresService.List].
type MemoryStoreListParams struct {
	// Limit is the page size (1–100, default 20).
	Limit int `url:"limit,omitempty"`
	// AfterID returns the page after this store id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the page before this store id.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// IncludeArchived includes archived stores.
	IncludeArchived bool `url:"include_archived,omitempty"`
	// Name keeps the stores whose name starts with this prefix, ignoring
	// case.
	Name string `url:"name,omitempty"`
	// CreatedAtGte keeps stores created at or after this time.
	CreatedAtGte time.Time `url:"created_at[gte],omitempty"`
	// CreatedAtLte keeps stores created at or before this time.
	CreatedAtLte time.Time `url:"created_at[lte],omitempty"`
}
