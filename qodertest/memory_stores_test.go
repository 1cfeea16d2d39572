package qodertest

import (
	"testing"

	"github.com/qoder-go/qoder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryListingWithPrefixesAndDepth(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	client := srv.Client()
	ctx := t.Context()
	store, err := client.MemoryStores.Create(ctx, &qoder.MemoryStoreCreateParams{Name: "notes", Description: "d"})
	require.NoError(t, err)
	for _, p := range []string{"top.md", "notes/a.md", "notes/2026/jan.md", "notes/2026/feb/x.md", "notes/2026/feb/y.md"} {
		_, err := client.MemoryStores.Memories.Create(ctx, store.ID, &qoder.MemoryCreateParams{Path: p, Content: "content of " + p})
		require.NoError(t, err)
	}
	tests := []struct {
		name   string
		params *qoder.MemoryListParams
		want   []string // paths, a folder rollup ending in "/"
	}{
		{"everything", nil, []string{"notes/2026/feb/x.md", "notes/2026/feb/y.md", "notes/2026/jan.md", "notes/a.md", "top.md"}},
		{"root, depth 1", &qoder.MemoryListParams{Depth: 1}, []string{"notes/", "top.md"}},
		{"prefix, all descendants", &qoder.MemoryListParams{PathPrefix: "notes/2026/"},
			[]string{"notes/2026/feb/x.md", "notes/2026/feb/y.md", "notes/2026/jan.md"}},
		{"prefix, depth 1", &qoder.MemoryListParams{PathPrefix: "notes/", Depth: 1}, []string{"notes/2026/", "notes/a.md"}},
		{"prefix, depth 2, one a page", &qoder.MemoryListParams{PathPrefix: "notes/", Depth: 2, Limit: 1},
			[]string{"notes/2026/feb/", "notes/2026/jan.md", "notes/a.md"}},
		{"no match", &qoder.MemoryListParams{PathPrefix: "nothing/"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for item, err := range client.MemoryStores.Memories.All(ctx, store.ID, tt.params) {
				require.NoError(t, err)
				if item.IsPrefix() {
					assert.Equal(t, qoder.MemoryListItemPrefix, item.Type)
					assert.Empty(t, item.ID)
				} else {
					assert.NotEmpty(t, item.ID)
					assert.Nil(t, item.Content, "the basic view")
				}
				got = append(got, item.Path)
			}
			assert.Equal(t, tt.want, got)
		})
	}

	page, err := client.MemoryStores.Memories.List(ctx, store.ID, &qoder.MemoryListParams{PathPrefix: "notes/", Depth: 1, View: qoder.MemoryViewFull})
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
	assert.Equal(t, qoder.Ptr("content of notes/a.md"), page.Data[1].Content, "the full view")
}

func TestMemoryVersionsPreconditionsAndRedaction(t *testing.T) {
	t.Parallel()
	client, store := newMemoryStore(t)
	ctx := t.Context()
	m, err := client.MemoryStores.Memories.Create(ctx, store.ID, &qoder.MemoryCreateParams{Path: "a.md", Content: "v1"})
	require.NoError(t, err)
	assert.Equal(t, qoder.MemoryContentSHA256("v1"), m.ContentSHA256, "the SDK's hash is the fake's")

	_, err = client.MemoryStores.Memories.Create(ctx, store.ID, &qoder.MemoryCreateParams{Path: "a.md", Content: "again"})
	require.ErrorIs(t, err, qoder.ErrConflict, "a taken path")

	// A writer that read v1 wins; one that read it too loses its race.
	read := m.ContentSHA256
	_, err = client.MemoryStores.Memories.Update(ctx, store.ID, m.ID, &qoder.MemoryUpdateParams{
		Content: qoder.Ptr("v2"), Precondition: qoder.ContentSHA256Precondition(read)})
	require.NoError(t, err)
	_, err = client.MemoryStores.Memories.Update(ctx, store.ID, m.ID, &qoder.MemoryUpdateParams{
		Content: qoder.Ptr("v2 from the other writer"), Precondition: qoder.ContentSHA256Precondition(read)})
	require.ErrorIs(t, err, qoder.ErrConflict)
	assert.Contains(t, err.Error(), "the content changed")
	_, err = client.MemoryStores.Memories.Delete(ctx, store.ID, m.ID, &qoder.MemoryDeleteParams{ExpectedContentSHA256: read})
	require.ErrorIs(t, err, qoder.ErrConflict)

	got, err := client.MemoryStores.Memories.Get(ctx, store.ID, m.ID)
	require.NoError(t, err)
	assert.Equal(t, qoder.Ptr("v2"), got.Content)
	_, err = client.MemoryStores.Memories.Delete(ctx, store.ID, m.ID, &qoder.MemoryDeleteParams{ExpectedContentSHA256: got.ContentSHA256})
	require.NoError(t, err)

	var ops []qoder.MemoryVersionOperation
	var first qoder.MemoryVersion
	for v, err := range client.MemoryStores.Versions.All(ctx, store.ID, &qoder.MemoryVersionListParams{MemoryID: m.ID, Limit: 1}) {
		require.NoError(t, err)
		ops = append(ops, v.Operation)
		first = v
	}
	assert.Equal(t, []qoder.MemoryVersionOperation{qoder.MemoryVersionDeleted, qoder.MemoryVersionModified, qoder.MemoryVersionCreated}, ops)

	assert.Nil(t, first.Content, "a list of versions is in the basic view")
	v, err := client.MemoryStores.Versions.Get(ctx, store.ID, first.ID)
	require.NoError(t, err)
	assert.Equal(t, qoder.Ptr("v1"), v.Content, "Get is in the full view")
	v, err = client.MemoryStores.Versions.Redact(ctx, store.ID, first.ID)
	require.NoError(t, err)
	assert.Nil(t, v.Content)
	assert.False(t, v.RedactedAt.IsZero())
	v, err = client.MemoryStores.Versions.Get(ctx, store.ID, first.ID)
	require.NoError(t, err)
	assert.Nil(t, v.Content, "redaction is for good")

	page, err := client.MemoryStores.Versions.List(ctx, store.ID, &qoder.MemoryVersionListParams{Operation: qoder.MemoryVersionCreated})
	require.NoError(t, err)
	assert.Len(t, page.Data, 1)
}

func TestSessionMountsMemoryStores(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	env, agent := a.createEnv("e"), a.createAgent("a", nil)
	store := a.ok(200, "POST", "memory_stores", map[string]any{"name": "Project Notes", "description": "decisions"})
	archived := a.ok(200, "POST", "memory_stores", map[string]any{"name": "old"})
	a.ok(200, "POST", "memory_stores/"+archived["id"].(string)+"/archive", nil)
	tests := []struct {
		name     string
		resource map[string]any
		status   int
		errType  string
	}{
		{"mounted", map[string]any{"type": "memory_store", "memory_store_id": store["id"], "instructions": "read first"}, 201, ""},
		{"unknown", map[string]any{"type": "memory_store", "memory_store_id": "memstore_missing"}, 404, "not_found_error"},
		{"archived", map[string]any{"type": "memory_store", "memory_store_id": archived["id"]}, 400, "invalid_request_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.req("POST", "sessions", map[string]any{"agent": agent, "environment_id": env, "resources": []any{tt.resource}})
			require.Equal(t, tt.status, r.status, "body: %s", r.body)
			if tt.errType != "" {
				typ, _, _ := r.errorOf(t)
				assert.Equal(t, tt.errType, typ)
				return
			}
			res := r.obj(t)["resources"].([]any)[0].(map[string]any)
			assert.Equal(t, "/mnt/memory/project-notes", res["mount_path"])
			assert.Equal(t, "Project Notes", res["name"])
			assert.Equal(t, "decisions", res["description"])
			assert.Equal(t, "read_write", res["access"])
			assert.Equal(t, "read first", res["instructions"])
		})
	}
}

// TestMemoryContentMetadataAndVersionFilters checks what a memory carries
// through the fake: an empty content is "" where the view has content and
// absent where it has not, metadata is kept and replaced, and versions
// filter by who wrote them.
func TestMemoryContentMetadataAndVersionFilters(t *testing.T) {
	t.Parallel()
	client, store := newMemoryStore(t)
	ctx := t.Context()
	m, err := client.MemoryStores.Memories.Create(ctx, store.ID, &qoder.MemoryCreateParams{Path: "empty.md", Metadata: map[string]string{"k": "v"}})
	require.NoError(t, err)
	assert.Equal(t, qoder.Ptr(""), m.Content, "an empty memory in the full view")
	assert.Equal(t, map[string]string{"k": "v"}, m.Metadata)
	basic, err := client.MemoryStores.Memories.Create(ctx, store.ID, &qoder.MemoryCreateParams{Path: "b.md", Content: "b", View: qoder.MemoryViewBasic})
	require.NoError(t, err)
	assert.Nil(t, basic.Content, "the basic view leaves the content out")

	for _, tt := range []struct {
		view qoder.MemoryView
		want *string
	}{{"", nil}, {qoder.MemoryViewBasic, nil}, {qoder.MemoryViewFull, qoder.Ptr("")}} {
		page, err := client.MemoryStores.Memories.List(ctx, store.ID, &qoder.MemoryListParams{View: tt.view})
		require.NoError(t, err)
		require.Len(t, page.Data, 2)
		assert.Equal(t, "empty.md", page.Data[1].Path)
		assert.Equal(t, tt.want, page.Data[1].Content, "view %q", tt.view)
	}
	got, err := client.MemoryStores.Memories.Get(ctx, store.ID, m.ID)
	require.NoError(t, err)
	assert.Equal(t, qoder.Ptr(""), got.Content)

	updated, err := client.MemoryStores.Memories.Update(ctx, store.ID, m.ID, &qoder.MemoryUpdateParams{Metadata: map[string]string{"x": "y"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"x": "y"}, updated.Metadata, "metadata is replaced")

	versions := func(p *qoder.MemoryVersionListParams) int {
		n := 0
		for _, err := range client.MemoryStores.Versions.All(ctx, store.ID, p) {
			require.NoError(t, err)
			n++
		}
		return n
	}
	assert.Equal(t, 3, versions(nil))
	assert.Equal(t, 3, versions(&qoder.MemoryVersionListParams{APIKeyID: "key_qodertest"}), "the fake writes with its API key")
	assert.Equal(t, 0, versions(&qoder.MemoryVersionListParams{APIKeyID: "key_other"}))
	assert.Equal(t, 0, versions(&qoder.MemoryVersionListParams{SessionID: "sess_1"}))
	assert.Equal(t, 0, versions(&qoder.MemoryVersionListParams{ServiceAccountID: "sa_1"}))
	assert.Equal(t, 2, versions(&qoder.MemoryVersionListParams{MemoryID: m.ID, APIKeyID: "key_qodertest"}))
}

// TestMemoryPreconditionForms checks both forms of a conditional update the
// references give: the SDK's precondition object and the docs' top-level
// content_sha256.
func TestMemoryPreconditionForms(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	store := a.ok(200, "POST", "memory_stores", map[string]any{"name": "s"})["id"].(string)
	mem := a.ok(200, "POST", "memory_stores/"+store+"/memories", map[string]any{"path": "a.md", "content": "v1"})
	path := "memory_stores/" + store + "/memories/" + mem["id"].(string)
	sha := mem["content_sha256"].(string)
	tests := []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"docs form, stale", map[string]any{"content": "x", "content_sha256": "0000"}, 409},
		{"object form, stale", map[string]any{"content": "x", "precondition": map[string]any{"type": "content_sha256", "content_sha256": "0000"}}, 409},
		{"object form, unknown type", map[string]any{"content": "x", "precondition": map[string]any{"type": "not_exists"}}, 400},
		{"docs form, current", map[string]any{"content": "v2", "content_sha256": sha}, 200},
		{"object form, now stale", map[string]any{"content": "v3", "precondition": map[string]any{"type": "content_sha256", "content_sha256": sha}}, 409},
	}
	for _, tt := range tests {
		r := a.req("POST", path, tt.body)
		require.Equal(t, tt.status, r.status, "%s: %s", tt.name, r.body)
	}
	assert.Equal(t, "v2", a.ok(200, "GET", path, nil)["content"])
}

// newMemoryStore starts a fake and creates a memory store in it.
func newMemoryStore(t *testing.T) (*qoder.Client, *qoder.MemoryStore) {
	t.Helper()
	client := NewServer(t).Client()
	store, err := client.MemoryStores.Create(t.Context(), &qoder.MemoryStoreCreateParams{Name: "s"})
	require.NoError(t, err)
	return client, store
}
