package qoder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MemoryStoreMemoriesService manages the memories of a memory store: text
// entries addressed by a path unique within the store. Each write makes a
// version ([MemoryStoreVersionsService]). A write can be made conditional
// on the content it replaces with a [MemoryPrecondition], so that two
// writers do not lose each other's changes.
type MemoryStoreMemoriesService service

// Create adds a memory at params.Path. A path already taken is
// ErrConflict. Content may be empty but not larger than 100 KiB, and must
// be valid UTF-8; both are checked before anything is sent.
//
// API: POST /memory_stores/{memory_store_id}/memories
func (s *MemoryStoreMemoriesService) Create(ctx context.Context, storeID string, params *MemoryCreateParams, opts ...RequestOption) (*Memory, error) {
	path, err := s.client.path("memory_stores/{memory_store_id}/memories", storeID)
	if err != nil {
		return nil, err
	}
	if params == nil {
		return nil, errInvalidParams("memory create params are required")
	}
	if params.Path == "" {
		return nil, errInvalidParams("a memory's path is required")
	}
	if err := checkMemoryContent(params.Content); err != nil {
		return nil, err
	}
	return invoke[Memory](ctx, s.client, http.MethodPost, path, memoryViewQuery{params.View}, params, opts)
}

// Get retrieves a memory with its content (the full view).
//
// API: GET /memory_stores/{memory_store_id}/memories/{memory_id}
func (s *MemoryStoreMemoriesService) Get(ctx context.Context, storeID, memoryID string, opts ...RequestOption) (*Memory, error) {
	path, err := s.client.path("memory_stores/{memory_store_id}/memories/{memory_id}", storeID, memoryID)
	if err != nil {
		return nil, err
	}
	return invoke[Memory](ctx, s.client, http.MethodGet, path, memoryViewQuery{MemoryViewFull}, nil, opts)
}

// Update changes a memory's content, path or metadata. With
// params.Precondition the change applies only if the stored content still
// has the hash it names; otherwise the call fails with an error that
// matches ErrConflict and says the content changed: read the memory again,
// redo the change and retry.
//
// API: POST /memory_stores/{memory_store_id}/memories/{memory_id}
func (s *MemoryStoreMemoriesService) Update(ctx context.Context, storeID, memoryID string, params *MemoryUpdateParams, opts ...RequestOption) (*Memory, error) {
	path, err := s.client.path("memory_stores/{memory_store_id}/memories/{memory_id}", storeID, memoryID)
	if err != nil {
		return nil, err
	}
	if params == nil {
		return nil, errInvalidParams("memory update params are required")
	}
	if params.Path != nil && *params.Path == "" {
		return nil, errInvalidParams("a memory's new path cannot be empty")
	}
	if params.Content != nil {
		if err := checkMemoryContent(*params.Content); err != nil {
			return nil, err
		}
	}
	if err := params.Precondition.check(); err != nil {
		return nil, err
	}
	out, err := invoke[Memory](ctx, s.client, http.MethodPost, path, memoryViewQuery{params.View}, params, opts)
	if params.Precondition != nil {
		err = preconditionFailed(err, memoryID, params.Precondition.ContentSHA256)
	}
	return out, err
}

// List returns one page of a store's memories and folder rollups (see
// [MemoryListItem]). nil params means defaults. A PathPrefix must end with
// "/", and a full view pages at most 20 items; both are checked before
// anything is sent.
//
// API: GET /memory_stores/{memory_store_id}/memories
func (s *MemoryStoreMemoriesService) List(ctx context.Context, storeID string, params *MemoryListParams, opts ...RequestOption) (*Page[MemoryListItem], error) {
	path, err := s.client.path("memory_stores/{memory_store_id}/memories", storeID)
	if err != nil {
		return nil, err
	}
	if params != nil {
		if params.PathPrefix != "" && !strings.HasSuffix(params.PathPrefix, "/") {
			return nil, errInvalidParams("memory path prefix %q must end with \"/\"", params.PathPrefix)
		}
		if params.View == MemoryViewFull && params.Limit > maxFullViewLimit {
			return nil, errInvalidParams("a memory list with the full view takes a limit of at most %d, not %d", maxFullViewLimit, params.Limit)
		}
		if params.Depth < 0 {
			return nil, errInvalidParams("memory list depth %d is negative", params.Depth)
		}
	}
	return invoke[Page[MemoryListItem]](ctx, s.client, http.MethodGet, path, params, nil, opts)
}

// All iterates over every memory and folder rollup matching params,
// fetching pages as the loop needs them. params is not modified.
//
// API: GET /memory_stores/{memory_store_id}/memories
func (s *MemoryStoreMemoriesService) All(ctx context.Context, storeID string, params *MemoryListParams, opts ...RequestOption) iter.Seq2[MemoryListItem, error] {
	return listAll(ctx, params, func(ctx context.Context, p *MemoryListParams) (*Page[MemoryListItem], error) {
		return s.List(ctx, storeID, p, opts...)
	})
}

// Delete deletes a memory, which leaves a version of operation "deleted".
// With params.ExpectedContentSHA256 it deletes only if the stored content
// still has that hash, and otherwise fails like a conditional Update. nil
// params deletes unconditionally.
//
// API: DELETE /memory_stores/{memory_store_id}/memories/{memory_id}
func (s *MemoryStoreMemoriesService) Delete(ctx context.Context, storeID, memoryID string, params *MemoryDeleteParams, opts ...RequestOption) (*DeletedMemory, error) {
	path, err := s.client.path("memory_stores/{memory_store_id}/memories/{memory_id}", storeID, memoryID)
	if err != nil {
		return nil, err
	}
	out, err := invoke[DeletedMemory](ctx, s.client, http.MethodDelete, path, params, nil, append(slices.Clip(opts), acceptEmptyBody))
	if err != nil {
		if params != nil && params.ExpectedContentSHA256 != "" {
			err = preconditionFailed(err, memoryID, params.ExpectedContentSHA256)
		}
		return nil, err
	}
	if out.ID == "" {
		out.ID = memoryID
	}
	return out, nil
}

// MaxMemoryContentSize is the largest memory content the API takes, in
// bytes of UTF-8.
const MaxMemoryContentSize = 100 << 10

// maxFullViewLimit is the largest page of a memory list in the full view.
const maxFullViewLimit = 20

// checkMemoryContent checks a memory's content: at most
// MaxMemoryContentSize bytes, and valid UTF-8, which JSON would otherwise
// change on the way (each invalid byte becomes U+FFFD, so the stored hash
// would not be the one of the content sent).
func checkMemoryContent(content string) error {
	if len(content) > MaxMemoryContentSize {
		return errInvalidParams("a memory's content is %d bytes, more than the %d the API takes", len(content), MaxMemoryContentSize)
	}
	if !utf8.ValidString(content) {
		return errInvalidParams("a memory's content is not valid UTF-8 (first invalid byte at offset %d)", invalidUTF8At(content))
	}
	return nil
}

// invalidUTF8At returns the offset of the first byte of s that is not
// valid UTF-8.
func invalidUTF8At(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
	}
	return len(s)
}

// preconditionFailed says why a conditional write that the API refused
// with 409 failed; other errors are returned as they are.
func preconditionFailed(err error, memoryID, sha string) error {
	if err == nil || !errors.Is(err, ErrConflict) {
		return err
	}
	return fmt.Errorf("qoder: memory %s: the content changed since it had content_sha256 %s: %w", memoryID, sha, err)
}

// MemoryContentSHA256 returns the content_sha256 the API gives content:
// the SHA-256 of its UTF-8 bytes in lower-case hex. Use it to write a
// [MemoryPrecondition] for content you hold.
func MemoryContentSHA256(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

// Memory is a memory of a store.
type Memory struct {
	resourceJSON

	// ID is the memory's id, "mem_…".
	ID string `json:"id"`
	// Type is "memory" (or, for a listing item, "memory_prefix").
	Type string `json:"type"`
	// MemoryStoreID is the store the memory belongs to.
	MemoryStoreID string `json:"memory_store_id"`
	// Path is the memory's path, unique within the store.
	Path string `json:"path"`
	// Content is the memory's text: nil when the response left it out
	// (the items of a list in the basic view, a create or update asked
	// for the basic view), and a pointer to "" for an empty memory. Get
	// always has it.
	Content *string `json:"content,omitempty"`
	// ContentSHA256 is the hash of the content (see
	// [MemoryContentSHA256]).
	ContentSHA256 string `json:"content_sha256"`
	// ContentSizeBytes is the size of the content.
	ContentSizeBytes int64 `json:"content_size_bytes"`
	// MemoryVersionID is the memory's current version.
	MemoryVersionID string `json:"memory_version_id"`
	// Metadata holds string pairs of your own.
	Metadata map[string]string `json:"metadata,omitzero"`
	// CreatedAt is when the memory was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the memory last changed.
	UpdatedAt time.Time `json:"updated_at"`

	// Version is the legacy integer version, from 1; the current API
	// sends MemoryVersionID instead.
	Version int `json:"version,omitempty"`
}

// UnmarshalJSON decodes a memory in the current shape or the legacy one
// (store_id, size).
func (m *Memory) UnmarshalJSON(data []byte) error {
	type plain Memory
	var aux struct {
		plain
		StoreID string `json:"store_id"`
		Size    *int64 `json:"size"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*m = Memory(aux.plain)
	if m.MemoryStoreID == "" {
		m.MemoryStoreID = aux.StoreID
	}
	if aux.Size != nil && m.ContentSizeBytes == 0 {
		m.ContentSizeBytes = *aux.Size
	}
	return nil
}

// Kinds of [MemoryListItem].
const (
	// MemoryListItemMemory is a memory.
	MemoryListItemMemory = "memory"
	// MemoryListItemPrefix is a folder rollup: a path prefix below the
	// listing's depth, with only Path set.
	MemoryListItemPrefix = "memory_prefix"
)

// MemoryListItem is an item of a memory listing, a union discriminated by
// Type: a memory ([MemoryListItemMemory]) or a folder rollup
// ([MemoryListItemPrefix], a path such as "notes/2026/" that holds memories
// deeper than the listing's depth, with only Type and Path set).
//
//	switch item.Type {
//	case qoder.MemoryListItemPrefix:
//		fmt.Println("folder", item.Path)
//	case qoder.MemoryListItemMemory:
//		fmt.Println("memory", item.Path, item.ContentSizeBytes)
//	}
type MemoryListItem struct {
	Memory
}

// IsPrefix reports whether the item is a folder rollup.
func (i MemoryListItem) IsPrefix() bool { return i.Type == MemoryListItemPrefix }

// DeletedMemory is the answer to [MemoryStoreMemoriesService.Delete].
type DeletedMemory struct {
	resourceJSON

	// ID is the deleted memory's id.
	ID string `json:"id"`
	// Type is "memory_deleted"; empty when the API answered with no body.
	Type string `json:"type"`
}

// MemoryView chooses how much of a memory a response holds.
type MemoryView string

// Memory views.
const (
	// MemoryViewBasic leaves out the content.
	MemoryViewBasic MemoryView = "basic"
	// MemoryViewFull includes the content.
	MemoryViewFull MemoryView = "full"
)

// memoryViewQuery is the query of the calls that take only a view.
type memoryViewQuery struct {
	View MemoryView `url:"view,omitempty"`
}

// MemoryCreateParams are the fields of a new memory.
type MemoryCreateParams struct {
	// Path is required and unique within the store, such as
	// "decisions/arch-choice.md".
	Path string `json:"path"`
	// Content is the memory's text, up to [MaxMemoryContentSize] bytes;
	// it is always sent, so an empty memory is written as "".
	Content string `json:"content"`
	// Metadata holds string pairs of your own.
	Metadata map[string]string `json:"metadata,omitzero"`
	// View chooses how much of the memory the response holds; sent in the
	// query.
	View MemoryView `json:"-"`
}

// MemoryUpdateParams change a memory. Fields left nil are kept.
type MemoryUpdateParams struct {
	// Content replaces the content (up to [MaxMemoryContentSize] bytes);
	// Ptr("") empties it.
	Content *string `json:"content,omitempty"`
	// Path moves the memory to a new path.
	Path *string `json:"path,omitempty"`
	// Metadata replaces the metadata.
	Metadata map[string]string `json:"metadata,omitzero"`
	// Precondition makes the update apply only if the stored content is
	// still the one it names: see [ContentSHA256Precondition].
	Precondition *MemoryPrecondition `json:"precondition,omitempty"`
	// View chooses how much of the memory the response holds; sent in the
	// query.
	View MemoryView `json:"-"`
}

// MemoryPreconditionContentSHA256 is the type of the one precondition the
// API documents: the stored content has a given hash.
const MemoryPreconditionContentSHA256 = "content_sha256"

// MemoryPrecondition is the condition of a conditional memory write. Make
// it with [ContentSHA256Precondition].
type MemoryPrecondition struct {
	// Type is MemoryPreconditionContentSHA256.
	Type string `json:"type"`
	// ContentSHA256 is the hash the stored content must have.
	ContentSHA256 string `json:"content_sha256,omitempty"`
}

// ContentSHA256Precondition returns the precondition that the stored
// content has the hash sha256, as read from [Memory].ContentSHA256 or
// computed with [MemoryContentSHA256].
func ContentSHA256Precondition(sha256 string) *MemoryPrecondition {
	return &MemoryPrecondition{Type: MemoryPreconditionContentSHA256, ContentSHA256: sha256}
}

// check refuses a precondition that names no type, or a content_sha256
// one without its hash; a nil precondition is none.
func (p *MemoryPrecondition) check() error {
	switch {
	case p == nil:
		return nil
	case p.Type == "":
		return errInvalidParams("a memory precondition needs its type (use ContentSHA256Precondition)")
	case p.Type == MemoryPreconditionContentSHA256 && p.ContentSHA256 == "":
		return errInvalidParams("a content_sha256 precondition needs the hash the content must have (see MemoryContentSHA256)")
	}
	return nil
}

// MemoryListParams filter and page [MemoryStoreMemoriesService.List].
type MemoryListParams struct {
	// Limit is the page size (1–100, default 20; at most 20 with the full
	// view). Folder rollups count.
	Limit int `url:"limit,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// PathPrefix keeps the memories below this folder; it must end with
	// "/", such as "notes/".
	PathPrefix string `url:"path_prefix,omitempty"`
	// Depth is how many levels below PathPrefix are listed as memories;
	// deeper ones are rolled up into memory_prefix items. 0 lists every
	// descendant.
	Depth int `url:"depth,omitempty"`
	// View chooses whether items hold their content.
	View MemoryView `url:"view,omitempty"`
}

// MemoryDeleteParams make [MemoryStoreMemoriesService.Delete] conditional.
type MemoryDeleteParams struct {
	// ExpectedContentSHA256 is the hash the stored content must have for
	// the delete to apply.
	ExpectedContentSHA256 string `url:"expected_content_sha256,omitempty"`
}
