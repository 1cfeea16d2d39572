package qoder

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryContentSHA256(t *testing.T) {
	t.Parallel()
	tests := []struct{ content, want string }{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"hi", "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"},
		{"é" /* sha256sum of the bytes c3 a9 */, "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, MemoryContentSHA256(tt.content), "%q", tt.content)
	}
	var legacy Memory
	require.NoError(t, legacy.UnmarshalJSON(fixture(t, "memory_stores/memory_legacy.json")))
	require.NotNil(t, legacy.Content)
	assert.Equal(t, legacy.ContentSHA256, MemoryContentSHA256(*legacy.Content), "the hash of a recorded memory")
}

func TestMemoryStoreMemoriesService_Create(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *MemoryCreateParams
		query  string
		body   string
	}{
		{"documented case 1", &MemoryCreateParams{Path: "decisions/arch-choice.md", Content: "# Architecture Decision\n\nChose microservices."}, "",
			`{"path":"decisions/arch-choice.md","content":"# Architecture Decision\n\nChose microservices."}`},
		{"empty content is sent", &MemoryCreateParams{Path: "empty.md", View: MemoryViewBasic, Metadata: map[string]string{"k": "v"}}, "view=basic",
			`{"path":"empty.md","content":"","metadata":{"k":"v"}}`},
		{"content at the limit", &MemoryCreateParams{Path: "big.md", Content: strings.Repeat("a", MaxMemoryContentSize)}, "",
			`{"path":"big.md","content":"` + strings.Repeat("a", MaxMemoryContentSize) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/memory_stores/{id}/memories", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testStoreID, r.PathValue("id"))
				assert.Equal(t, tt.query, r.URL.RawQuery)
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "memory_stores/memory.json")
			})
			m, err := client.MemoryStores.Memories.Create(t.Context(), testStoreID, tt.params)
			require.NoError(t, err)
			assert.Equal(t, "mem_01arch", m.ID)
			assert.Equal(t, testStoreID, m.MemoryStoreID)
			assert.Equal(t, int64(44), m.ContentSizeBytes)
			assert.Equal(t, "memver_01a", m.MemoryVersionID)
		})
	}
}

func TestMemoryStoreMemoriesService_Get(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/memory_stores/{id}/memories/{mem}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "view=full", r.URL.RawQuery, "Get asks for the content")
		serveFixture(t, w, http.StatusOK, "memory_stores/memory_legacy.json")
	})
	m, err := client.MemoryStores.Memories.Get(t.Context(), testStoreID, "mem_01old")
	require.NoError(t, err)
	assert.Equal(t, "memstore_01legacy", m.MemoryStoreID, "legacy store_id")
	assert.Equal(t, int64(2), m.ContentSizeBytes, "legacy size")
	assert.Equal(t, 3, m.Version)
	assert.Equal(t, Ptr("hi"), m.Content)
	assert.Equal(t, map[string]string{"k": "v"}, m.Metadata)
}

func TestMemoryStoreMemoriesService_Update(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *MemoryUpdateParams
		query  string
		body   string
	}{
		{"conditional content", &MemoryUpdateParams{Content: Ptr("# Updated content"), Precondition: ContentSHA256Precondition("a1b2c3")}, "",
			`{"content":"# Updated content","precondition":{"type":"content_sha256","content_sha256":"a1b2c3"}}`},
		{"rename with metadata, basic view", &MemoryUpdateParams{Path: Ptr("archive/arch.md"), Metadata: map[string]string{"k": "v"}, View: MemoryViewBasic},
			"view=basic", `{"path":"archive/arch.md","metadata":{"k":"v"}}`},
		{"empty the content", &MemoryUpdateParams{Content: Ptr("")}, "", `{"content":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/memory_stores/{id}/memories/{mem}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "mem_01arch", r.PathValue("mem"))
				assert.Equal(t, tt.query, r.URL.RawQuery)
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "memory_stores/memory.json")
			})
			_, err := client.MemoryStores.Memories.Update(t.Context(), testStoreID, "mem_01arch", tt.params)
			require.NoError(t, err)
		})
	}
}

// TestMemoryPreconditionFailed checks that a conditional write the API
// refuses with 409 is ErrConflict, still an *APIError, and says the content
// changed; an unconditional 409 (a taken path) says nothing of the kind.
func TestMemoryPreconditionFailed(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	conflict := func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusConflict, `{"type":"error","error":{"type":"conflict_error","message":"memory_precondition_failed"}}`)
	}
	mux.HandleFunc("POST /api-test/memory_stores/{id}/memories/{mem}", conflict)
	mux.HandleFunc("DELETE /api-test/memory_stores/{id}/memories/{mem}", conflict)
	mux.HandleFunc("POST /api-test/memory_stores/{id}/memories", conflict)
	tests := []struct {
		name    string
		call    func(ctx context.Context) error
		changed bool
	}{
		{"update", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Update(ctx, testStoreID, "mem_1", &MemoryUpdateParams{Content: Ptr("x"), Precondition: ContentSHA256Precondition("abc")})
			return err
		}, true},
		{"delete", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Delete(ctx, testStoreID, "mem_1", &MemoryDeleteParams{ExpectedContentSHA256: "abc"})
			return err
		}, true},
		{"create on a taken path", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Create(ctx, testStoreID, &MemoryCreateParams{Path: "a.md"})
			return err
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(t.Context())
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrConflict)
			var apiErr *APIError
			assert.True(t, errors.As(err, &apiErr))
			if tt.changed {
				assert.Contains(t, err.Error(), "qoder: memory mem_1: the content changed since it had content_sha256 abc")
			} else {
				assert.NotContains(t, err.Error(), "content changed")
			}
		})
	}
}

func TestMemoryStoreMemoriesService_List(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *MemoryListParams
		query  string
	}{
		{"defaults", nil, ""},
		{"prefix, depth and full view", &MemoryListParams{PathPrefix: "notes/", Depth: 1, View: MemoryViewFull, Limit: 20, Page: "p2"},
			"depth=1&limit=20&page=p2&path_prefix=notes%2F&view=full"},
		{"a large basic page", &MemoryListParams{Limit: 100, View: MemoryViewBasic}, "limit=100&view=basic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("GET /api-test/memory_stores/{id}/memories", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, tt.query, r.URL.RawQuery)
				serveFixture(t, w, http.StatusOK, "memory_stores/memories_list.json")
			})
			page, err := client.MemoryStores.Memories.List(t.Context(), testStoreID, tt.params)
			require.NoError(t, err)
			require.Len(t, page.Data, 2)
			assert.True(t, page.Data[0].IsPrefix())
			assert.Equal(t, MemoryListItemPrefix, page.Data[0].Type)
			assert.Equal(t, "notes/2026/", page.Data[0].Path)
			assert.False(t, page.Data[1].IsPrefix())
			assert.Equal(t, MemoryListItemMemory, page.Data[1].Type)
			assert.Equal(t, "mem_01a", page.Data[1].ID)
			assert.Nil(t, page.Data[1].Content, "the basic view has no content")
		})
	}
}

func TestMemoryStoreMemoriesService_Delete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *MemoryDeleteParams
		query  string
	}{
		{"unconditional", nil, ""},
		{"conditional", &MemoryDeleteParams{ExpectedContentSHA256: "abc"}, "expected_content_sha256=abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("DELETE /api-test/memory_stores/{id}/memories/{mem}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, tt.query, r.URL.RawQuery)
				w.WriteHeader(http.StatusNoContent)
			})
			deleted, err := client.MemoryStores.Memories.Delete(t.Context(), testStoreID, "mem_01arch", tt.params)
			require.NoError(t, err)
			assert.Equal(t, "mem_01arch", deleted.ID)
		})
	}
}

func TestMemoryStoreMemoriesService_BadInput(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("/", failHandler(t))
	list := func(p *MemoryListParams) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.List(ctx, testStoreID, p)
			return err
		}
	}
	tests := []struct {
		name string
		call func(ctx context.Context) error
		want string
	}{
		{"nil create", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Create(ctx, testStoreID, nil)
			return err
		},
			"qoder: memory create params are required"},
		{"empty path", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Create(ctx, testStoreID, &MemoryCreateParams{Content: "x"})
			return err
		}, "qoder: a memory's path is required"},
		{"content too large", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Create(ctx, testStoreID, &MemoryCreateParams{Path: "a", Content: strings.Repeat("a", MaxMemoryContentSize+1)})
			return err
		}, "qoder: a memory's content is 102401 bytes, more than the 102400 the API takes"},
		{"update content too large", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Update(ctx, testStoreID, "mem_1", &MemoryUpdateParams{Content: Ptr(strings.Repeat("é", 60000))})
			return err
		}, "qoder: a memory's content is 120000 bytes, more than the 102400 the API takes"},
		{"update to an empty path", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Update(ctx, testStoreID, "mem_1", &MemoryUpdateParams{Path: Ptr("")})
			return err
		}, "qoder: a memory's new path cannot be empty"},
		{"nil update", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Update(ctx, testStoreID, "mem_1", nil)
			return err
		},
			"qoder: memory update params are required"},
		{"prefix without slash", list(&MemoryListParams{PathPrefix: "notes"}), `qoder: memory path prefix "notes" must end with "/"`},
		{"full view over 20", list(&MemoryListParams{View: MemoryViewFull, Limit: 21}),
			"qoder: a memory list with the full view takes a limit of at most 20, not 21"},
		{"negative depth", list(&MemoryListParams{Depth: -1}), "qoder: memory list depth -1 is negative"},
		{"content not UTF-8", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Create(ctx, testStoreID, &MemoryCreateParams{Path: "a", Content: "ok\xff\xfe"})
			return err
		}, "qoder: a memory's content is not valid UTF-8 (first invalid byte at offset 2)"},
		{"update content not UTF-8", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Update(ctx, testStoreID, "mem_1", &MemoryUpdateParams{Content: Ptr("\uFFFD is fine, \xc3 is not")})
			return err
		}, "qoder: a memory's content is not valid UTF-8 (first invalid byte at offset 13)"},
		{"precondition without its hash", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Update(ctx, testStoreID, "mem_1", &MemoryUpdateParams{Content: Ptr("x"), Precondition: ContentSHA256Precondition("")})
			return err
		}, "qoder: a content_sha256 precondition needs the hash the content must have (see MemoryContentSHA256)"},
		{"precondition without its type", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Update(ctx, testStoreID, "mem_1", &MemoryUpdateParams{Content: Ptr("x"), Precondition: &MemoryPrecondition{ContentSHA256: "abc"}})
			return err
		}, "qoder: a memory precondition needs its type (use ContentSHA256Precondition)"},
		{"get without memory id", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Get(ctx, testStoreID, "")
			return err
		},
			"qoder: memory_id is required"},
		{"delete without store id", func(ctx context.Context) error {
			_, err := client.MemoryStores.Memories.Delete(ctx, "", "mem_1", nil)
			return err
		},
			"qoder: memory_store_id is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(t.Context())
			assert.EqualError(t, err, tt.want)
			assert.ErrorIs(t, err, ErrInvalidRequest, "a local rejection matches the server's 400")
		})
	}
}

// TestMemoryContentOmittedOrEmpty checks that a memory's content left out
// of a response (a basic view) is nil, and an empty memory's content is a
// pointer to "", in every result that carries memories.
func TestMemoryContentOmittedOrEmpty(t *testing.T) {
	t.Parallel()
	const base = `"id":"mem_1","type":"memory","memory_store_id":"ms","path":"a.md","content_sha256":"e3b0","content_size_bytes":0`
	tests := []struct {
		name    string
		content string // the content member, or "" for none
		want    *string
	}{
		{"omitted", "", nil},
		{"null", `,"content":null`, nil},
		{"empty", `,"content":""`, Ptr("")},
		{"text", `,"content":"hi"`, Ptr("hi")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			item := `{` + base + tt.content + `}`
			client, mux := newTestClient(t)
			mux.HandleFunc("GET /api-test/memory_stores/{id}/memories", func(w http.ResponseWriter, r *http.Request) {
				serveJSON(t, w, http.StatusOK, `{"data":[`+item+`],"next_page":null}`)
			})
			mux.HandleFunc("POST /api-test/memory_stores/{id}/memories", func(w http.ResponseWriter, r *http.Request) {
				serveJSON(t, w, http.StatusOK, item)
			})
			mux.HandleFunc("GET /api-test/memory_stores/{id}/memory_versions", func(w http.ResponseWriter, r *http.Request) {
				serveJSON(t, w, http.StatusOK, `{"data":[{"id":"memver_1","type":"memory_version","operation":"modified"`+tt.content+`}],"next_page":null}`)
			})
			page, err := client.MemoryStores.Memories.List(t.Context(), "ms", nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, page.Data[0].Content, "list item")
			m, err := client.MemoryStores.Memories.Create(t.Context(), "ms", &MemoryCreateParams{Path: "a.md"})
			require.NoError(t, err)
			assert.Equal(t, tt.want, m.Content, "create")
			v, err := firstItem(client.MemoryStores.Versions.All(t.Context(), "ms", nil))
			require.NoError(t, err)
			assert.Equal(t, tt.want, v.(MemoryVersion).Content, "version")

			again, err := json.Marshal(m)
			require.NoError(t, err)
			var back Memory
			require.NoError(t, json.Unmarshal(again, &back))
			assert.Equal(t, tt.want, back.Content, "a round trip keeps the difference")
		})
	}
}
