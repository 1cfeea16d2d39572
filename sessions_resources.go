package qoder

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"time"
)

// SessionResourcesService manages the resources attached to a session:
// files, GitHub repositories and memory stores. Repositories and memory
// stores are attached when the session is created
// (SessionCreateParams.Resources); files can also be added later.
type SessionResourcesService service

// Add attaches a file to a running session and returns the new resource.
// Attaching the same file twice fails with ErrConflict.
//
// API: POST /sessions/{session_id}/resources
func (s *SessionResourcesService) Add(ctx context.Context, sessionID string, params *SessionResourceAddParams, opts ...RequestOption) (*SessionResource, error) {
	path, err := s.client.path("sessions/{session_id}/resources", sessionID)
	if err != nil {
		return nil, err
	}
	if params == nil {
		return nil, errInvalidParams("session resource add params are required")
	}
	return invoke[SessionResource](ctx, s.client, http.MethodPost, path, nil, params, opts)
}

// Get retrieves one resource of a session.
//
// API: GET /sessions/{session_id}/resources/{resource_id}
func (s *SessionResourcesService) Get(ctx context.Context, sessionID, resourceID string, opts ...RequestOption) (*SessionResource, error) {
	path, err := s.client.path("sessions/{session_id}/resources/{resource_id}", sessionID, resourceID)
	if err != nil {
		return nil, err
	}
	return invoke[SessionResource](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// Update changes a resource; today that means rotating the authorization
// token of a GitHub repository.
//
// API: POST /sessions/{session_id}/resources/{resource_id}
func (s *SessionResourcesService) Update(ctx context.Context, sessionID, resourceID string, params *SessionResourceUpdateParams, opts ...RequestOption) (*SessionResource, error) {
	path, err := s.client.path("sessions/{session_id}/resources/{resource_id}", sessionID, resourceID)
	if err != nil {
		return nil, err
	}
	if params == nil {
		return nil, errInvalidParams("session resource update params are required")
	}
	return invoke[SessionResource](ctx, s.client, http.MethodPost, path, nil, params, opts)
}

// List returns one page of a session's resources. Without a limit the API
// returns them all. nil params means defaults.
//
// API: GET /sessions/{session_id}/resources
func (s *SessionResourcesService) List(ctx context.Context, sessionID string, params *SessionResourceListParams, opts ...RequestOption) (*Page[SessionResource], error) {
	path, err := s.client.path("sessions/{session_id}/resources", sessionID)
	if err != nil {
		return nil, err
	}
	return invoke[Page[SessionResource]](ctx, s.client, http.MethodGet, path, params, nil, opts)
}

// All iterates over every resource of a session. params is not modified.
//
// API: GET /sessions/{session_id}/resources
func (s *SessionResourcesService) All(ctx context.Context, sessionID string, params *SessionResourceListParams, opts ...RequestOption) iter.Seq2[SessionResource, error] {
	return listAll(ctx, params, func(ctx context.Context, p *SessionResourceListParams) (*Page[SessionResource], error) {
		return s.List(ctx, sessionID, p, opts...)
	})
}

// Delete detaches a resource from a session.
//
// API: DELETE /sessions/{session_id}/resources/{resource_id}
func (s *SessionResourcesService) Delete(ctx context.Context, sessionID, resourceID string, opts ...RequestOption) (*DeletedSessionResource, error) {
	return deleteAt[DeletedSessionResource](ctx, s.client, opts, "sessions/{session_id}/resources/{resource_id}", sessionID, resourceID)
}

// SessionResource is a resource attached to a session, a union
// discriminated by Type; fields that do not belong to its Type are empty.
// Authorization tokens are write-only and never returned.
type SessionResource struct {
	resourceJSON

	// ID is the resource's id, such as "sesr_...".
	ID string `json:"id,omitempty"`
	// Type is the kind of resource, such as SessionResourceFile.
	Type SessionResourceType `json:"type"`
	// MountPath is where the resource appears in the container.
	MountPath string `json:"mount_path,omitempty"`

	// FileID is the attached file (file).
	FileID string `json:"file_id,omitempty"`

	// URL is the repository's URL (github_repository).
	URL string `json:"url,omitempty"`
	// Checkout is the branch or commit checked out (github_repository).
	Checkout RepositoryCheckout `json:"checkout,omitzero"`

	// MemoryStoreID is the attached memory store (memory_store).
	MemoryStoreID string `json:"memory_store_id,omitempty"`
	// Access is the session's access to the store (memory_store).
	Access MemoryStoreAccess `json:"access,omitempty"`
	// Name is the store's name (memory_store).
	Name string `json:"name,omitempty"`
	// Description is the store's description, which reaches the system
	// prompt (memory_store).
	Description string `json:"description,omitempty"`
	// Instructions tell the agent how to use the store (memory_store).
	Instructions string `json:"instructions,omitempty"`

	// CreatedAt is when the resource was attached.
	CreatedAt time.Time `json:"created_at,omitzero"`
	// UpdatedAt is when the resource last changed.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// SessionResourceType is the discriminator of a session resource.
type SessionResourceType string

// Session resource types.
const (
	// SessionResourceFile is an uploaded file, mounted by default at
	// /mnt/session/uploads/<file_id>; the file must be ready.
	SessionResourceFile SessionResourceType = "file"
	// SessionResourceGitHubRepository is a repository cloned when the
	// session starts; the gh CLI is set up with its token.
	SessionResourceGitHubRepository SessionResourceType = "github_repository"
	// SessionResourceMemoryStore is a memory store the agent reads (and
	// writes) through tools.
	SessionResourceMemoryStore SessionResourceType = "memory_store"
)

// RepositoryCheckout is the branch or commit of a GitHub repository
// resource.
type RepositoryCheckout struct {
	// Type is CheckoutBranch or CheckoutCommit.
	Type CheckoutType `json:"type"`
	// Name is the branch (branch).
	Name string `json:"name,omitempty"`
	// SHA is the commit (commit).
	SHA string `json:"sha,omitempty"`
}

// CheckoutType is the discriminator of a [RepositoryCheckout].
type CheckoutType string

// Checkout types.
const (
	CheckoutBranch CheckoutType = "branch"
	CheckoutCommit CheckoutType = "commit"
)

// MemoryStoreAccess is a session's access to a memory store.
type MemoryStoreAccess string

// Memory store access levels.
const (
	MemoryStoreReadOnly  MemoryStoreAccess = "read_only"
	MemoryStoreReadWrite MemoryStoreAccess = "read_write"
)

// DeletedSessionResource is the reply to [SessionResourcesService.Delete].
type DeletedSessionResource struct {
	resourceJSON

	// ID is the detached resource's id.
	ID string `json:"id"`
	// Type names the reply's kind, such as "session_resource_deleted".
	Type string `json:"type"`
}

// SessionResourceParams describe a resource to attach when creating a
// session, a union discriminated by Type. Build one with [FileResource],
// [GitHubRepositoryResource] or [MemoryStoreResource], then set optional
// fields such as MountPath.
type SessionResourceParams struct {
	// Type is the kind of resource.
	Type SessionResourceType `json:"type"`
	// MountPath overrides where the resource appears (file and
	// github_repository).
	MountPath string `json:"mount_path,omitempty"`

	// FileID is the file to attach (file; required).
	FileID string `json:"file_id,omitempty"`

	// URL is the repository's URL (github_repository; required).
	URL string `json:"url,omitempty"`
	// AuthorizationToken lets the session clone and push
	// (github_repository; required). It is never returned.
	AuthorizationToken string `json:"authorization_token,omitempty"`
	// Checkout selects a branch or commit (github_repository).
	Checkout RepositoryCheckout `json:"checkout,omitzero"`

	// MemoryStoreID is the store to attach (memory_store; required).
	MemoryStoreID string `json:"memory_store_id,omitempty"`
	// Access is read-only or read-write (memory_store).
	Access MemoryStoreAccess `json:"access,omitempty"`
	// Instructions tell the agent how to use the store (memory_store).
	Instructions string `json:"instructions,omitempty"`
}

// FileResource returns the params attaching the file fileID.
func FileResource(fileID string) SessionResourceParams {
	return SessionResourceParams{Type: SessionResourceFile, FileID: fileID}
}

// GitHubRepositoryResource returns the params cloning the repository at
// url with token.
func GitHubRepositoryResource(url, token string) SessionResourceParams {
	return SessionResourceParams{Type: SessionResourceGitHubRepository, URL: url, AuthorizationToken: token}
}

// MemoryStoreResource returns the params attaching the memory store
// storeID with access.
func MemoryStoreResource(storeID string, access MemoryStoreAccess) SessionResourceParams {
	return SessionResourceParams{Type: SessionResourceMemoryStore, MemoryStoreID: storeID, Access: access}
}

// SessionResourceAddParams describe the file [SessionResourcesService.Add]
// attaches; they are sent as a resource of type "file".
type SessionResourceAddParams struct {
	// FileID is required: the file to attach.
	FileID string `json:"file_id"`
	// MountPath overrides where the file appears, by default
	// /mnt/session/uploads/<file_id>.
	MountPath string `json:"mount_path,omitempty"`
}

// MarshalJSON adds the resource type "file" to the fields.
func (p SessionResourceAddParams) MarshalJSON() ([]byte, error) {
	type fields SessionResourceAddParams
	return json.Marshal(struct {
		Type SessionResourceType `json:"type"`
		fields
	}{SessionResourceFile, fields(p)})
}

// SessionResourceUpdateParams change a session resource.
type SessionResourceUpdateParams struct {
	// AuthorizationToken is the new token of a GitHub repository.
	AuthorizationToken string `json:"authorization_token"`
}

// SessionResourceListParams page [SessionResourcesService.List].
type SessionResourceListParams struct {
	// Limit is the page size (at most 1000); zero returns every resource.
	Limit int `url:"limit,omitempty"`
	// AfterID returns the page after this resource id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the page before this resource id.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
}
