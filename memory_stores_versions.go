package qoder

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// MemoryStoreVersionsService lists, reads and redacts the versions of a
// store's memories. Every create, update and delete of a memory adds one;
// versions outlive the memory they belong to.
type MemoryStoreVersionsService service

// Get retrieves a memory version with its content (the full view), unless
// it was redacted or is a delete.
//
// API: GET /memory_stores/{memory_store_id}/memory_versions/{memory_version_id}
func (s *MemoryStoreVersionsService) Get(ctx context.Context, storeID, versionID string, opts ...RequestOption) (*MemoryVersion, error) {
	path, err := s.client.path("memory_stores/{memory_store_id}/memory_versions/{memory_version_id}", storeID, versionID)
	if err != nil {
		return nil, err
	}
	return invoke[MemoryVersion](ctx, s.client, http.MethodGet, path, memoryViewQuery{MemoryViewFull}, nil, opts)
}

// List returns one page of a store's memory versions, newest first. nil
// params means defaults.
//
// API: GET /memory_stores/{memory_store_id}/memory_versions
func (s *MemoryStoreVersionsService) List(ctx context.Context, storeID string, params *MemoryVersionListParams, opts ...RequestOption) (*Page[MemoryVersion], error) {
	path, err := s.client.path("memory_stores/{memory_store_id}/memory_versions", storeID)
	if err != nil {
		return nil, err
	}
	return invoke[Page[MemoryVersion]](ctx, s.client, http.MethodGet, path, params, nil, opts)
}

// All iterates over every memory version matching params, fetching pages
// as the loop needs them. params is not modified.
//
// API: GET /memory_stores/{memory_store_id}/memory_versions
func (s *MemoryStoreVersionsService) All(ctx context.Context, storeID string, params *MemoryVersionListParams, opts ...RequestOption) iter.Seq2[MemoryVersion, error] {
	return listAll(ctx, params, func(ctx context.Context, p *MemoryVersionListParams) (*Page[MemoryVersion], error) {
		return s.List(ctx, storeID, p, opts...)
	})
}

// Redact irreversibly removes the content of a memory version and returns
// it with RedactedAt set. The memory itself is unchanged.
//
// API: POST /memory_stores/{memory_store_id}/memory_versions/{memory_version_id}/redact
func (s *MemoryStoreVersionsService) Redact(ctx context.Context, storeID, versionID string, opts ...RequestOption) (*MemoryVersion, error) {
	path, err := s.client.path("memory_stores/{memory_store_id}/memory_versions/{memory_version_id}/redact", storeID, versionID)
	if err != nil {
		return nil, err
	}
	return invoke[MemoryVersion](ctx, s.client, http.MethodPost, path, nil, nil, opts)
}

// MemoryVersion is one write of a memory.
type MemoryVersion struct {
	resourceJSON

	// ID is the version's id.
	ID string `json:"id"`
	// Type is "memory_version".
	Type string `json:"type"`
	// MemoryID is the memory written.
	MemoryID string `json:"memory_id"`
	// MemoryStoreID is the store of the memory.
	MemoryStoreID string `json:"memory_store_id"`
	// Operation is what the write did.
	Operation MemoryVersionOperation `json:"operation"`
	// Path is the memory's path after the write.
	Path string `json:"path"`
	// Content is the content after the write: nil once redacted, in the
	// basic view and for a delete, and a pointer to "" for a write that
	// emptied the memory.
	Content *string `json:"content,omitempty"`
	// ContentSHA256 is the hash of that content.
	ContentSHA256 string `json:"content_sha256,omitempty"`
	// ContentSizeBytes is the size of that content.
	ContentSizeBytes int64 `json:"content_size_bytes,omitempty"`
	// CreatedBy is who wrote it.
	CreatedBy Actor `json:"created_by,omitzero"`
	// RedactedAt is when the content was redacted; zero if it was not.
	RedactedAt time.Time `json:"redacted_at,omitzero"`
	// RedactedBy is who redacted it; nil if nobody did.
	RedactedBy *Actor `json:"redacted_by,omitempty"`
	// CreatedAt is when the write happened.
	CreatedAt time.Time `json:"created_at"`
}

// MemoryVersionOperation is what a memory write did.
type MemoryVersionOperation string

// Memory version operations.
const (
	// MemoryVersionCreated is the write that created the memory.
	MemoryVersionCreated MemoryVersionOperation = "created"
	// MemoryVersionModified changed its content, path or metadata.
	MemoryVersionModified MemoryVersionOperation = "modified"
	// MemoryVersionDeleted deleted it.
	MemoryVersionDeleted MemoryVersionOperation = "deleted"
)

// Actor is who made a change, a union discriminated by Type: an API key
// ("api_key", APIKeyID), a user ("user", UserID), a session ("session",
// SessionID) or a service account ("service_account", ServiceAccountID).
type Actor struct {
	// Type is the kind of actor.
	Type string `json:"type"`
	// APIKeyID is the API key (api_key).
	APIKeyID string `json:"api_key_id,omitempty"`
	// UserID is the user (user).
	UserID string `json:"user_id,omitempty"`
	// SessionID is the session whose agent made the change (session).
	SessionID string `json:"session_id,omitempty"`
	// ServiceAccountID is the service account (service_account).
	ServiceAccountID string `json:"service_account_id,omitempty"`
}

// MemoryVersionListParams filter and page [MemoryStoreVersionsService.List].
type MemoryVersionListParams struct {
	// Limit is the page size (1–100, default 20).
	Limit int `url:"limit,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// MemoryID keeps the versions of one memory.
	MemoryID string `url:"memory_id,omitempty"`
	// Operation keeps the versions of one operation.
	Operation MemoryVersionOperation `url:"operation,omitempty"`
	// SessionID keeps the versions a session wrote.
	SessionID string `url:"session_id,omitempty"`
	// APIKeyID keeps the versions an API key wrote.
	APIKeyID string `url:"api_key_id,omitempty"`
	// ServiceAccountID keeps the versions a service account wrote.
	ServiceAccountID string `url:"service_account_id,omitempty"`
	// CreatedAtGte keeps versions written at or after this time.
	CreatedAtGte time.Time `url:"created_at[gte],omitempty"`
	// CreatedAtLte keeps versions written at or before this time.
	CreatedAtLte time.Time `url:"created_at[lte],omitempty"`
	// View chooses whether versions hold their content.
	View MemoryView `url:"view,omitempty"`
}
