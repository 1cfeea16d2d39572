package qoder

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testStoreID = "memstore_019e5cdb9c3f71c3b6505eba937a40b4"

func TestMemoryStoresService_Create(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/memory_stores", func(w http.ResponseWriter, r *http.Request) {
		assertJSONBody(t, r, `{"name":"project-alpha-memory","description":"Agent knowledge base for project Alpha","metadata":{"team":"backend"}}`)
		serveFixture(t, w, http.StatusOK, "memory_stores/store.json")
	})
	store, err := client.MemoryStores.Create(t.Context(), &MemoryStoreCreateParams{
		Name: "project-alpha-memory", Description: "Agent knowledge base for project Alpha", Metadata: map[string]string{"team": "backend"},
	})
	require.NoError(t, err)
	assert.Equal(t, MemoryStore{
		ID: testStoreID, Type: "memory_store", Name: "project-alpha-memory", Description: "Agent knowledge base for project Alpha",
		Metadata: map[string]string{"team": "backend"}, CreatedAt: time.Date(2026, 5, 20, 9, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 5, 20, 9, 0, 0, 0, time.UTC),
	}, withoutRaw(*store))
}

func TestMemoryStoresService_GetLegacy(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/memory_stores/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "memstore_01legacy", r.PathValue("id"))
		serveFixture(t, w, http.StatusOK, "memory_stores/store_legacy.json")
	})
	store, err := client.MemoryStores.Get(t.Context(), "memstore_01legacy")
	require.NoError(t, err)
	assert.Equal(t, "active", store.Status)
	assert.Equal(t, int64(3), store.EntryCount)
	assert.Equal(t, int64(2048), store.TotalSize)

	testAPIErrors(t, mux, "GET /api-test/memory_stores/memstore_missing", func() error {
		_, err := client.MemoryStores.Get(t.Context(), "memstore_missing")
		return err
	})
}

func TestMemoryStoresService_Update(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *MemoryStoreUpdateParams
		body   string
	}{
		{"documented: rename and metadata patch",
			&MemoryStoreUpdateParams{Name: Ptr("project-alpha-memory-v2"), Metadata: map[string]*string{"team": nil, "env": Ptr("production")}},
			`{"name":"project-alpha-memory-v2","metadata":{"team":null,"env":"production"}}`},
		{"empty description clears it", &MemoryStoreUpdateParams{Description: Ptr("")}, `{"description":""}`},
		{"nothing", &MemoryStoreUpdateParams{}, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/memory_stores/{id}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testStoreID, r.PathValue("id"))
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "memory_stores/store.json")
			})
			_, err := client.MemoryStores.Update(t.Context(), testStoreID, tt.params)
			require.NoError(t, err)
		})
	}
}

func TestMemoryStoresService_ListAll(t *testing.T) {
	t.Parallel()
	gte := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	lte := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		params *MemoryStoreListParams
		query  string
	}{
		{"defaults", nil, ""},
		{"every filter", &MemoryStoreListParams{Limit: 10, IncludeArchived: true, Name: "proj", CreatedAtGte: gte, CreatedAtLte: lte},
			"created_at%5Bgte%5D=2026-05-01T00%3A00%3A00Z&created_at%5Blte%5D=2026-06-01T00%3A00%3A00Z&include_archived=true&limit=10&name=proj"},
		{"cursors", &MemoryStoreListParams{AfterID: "memstore_a", Page: "p2"}, "after_id=memstore_a&page=p2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("GET /api-test/memory_stores", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, tt.query, r.URL.RawQuery)
				serveJSON(t, w, http.StatusOK, `{"data":[`+string(fixture(t, "memory_stores/store.json"))+`],"has_more":false}`)
			})
			var names []string
			for store, err := range client.MemoryStores.All(t.Context(), tt.params) {
				require.NoError(t, err)
				names = append(names, store.Name)
			}
			assert.Equal(t, []string{"project-alpha-memory"}, names)
		})
	}
}

func TestMemoryStoresService_DeleteArchive(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("DELETE /api-test/memory_stores/{id}", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"id":"`+r.PathValue("id")+`","type":"memory_store_deleted"}`)
	})
	mux.HandleFunc("POST /api-test/memory_stores/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"id":"`+r.PathValue("id")+`","type":"memory_store","name":"n","archived_at":"2026-05-21T00:00:00Z"}`)
	})
	deleted, err := client.MemoryStores.Delete(t.Context(), testStoreID)
	require.NoError(t, err)
	assert.Equal(t, DeletedMemoryStore{ID: testStoreID, Type: "memory_store_deleted"}, withoutRaw(*deleted))
	store, err := client.MemoryStores.Archive(t.Context(), testStoreID)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 5, 21, 0, 0, 0, 0, time.UTC), store.ArchivedAt)
}

func TestMemoryStoresService_BadInput(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("/", failHandler(t))
	tests := []struct {
		name string
		call func(ctx context.Context) error
		want string
	}{
		{"nil create", func(ctx context.Context) error { _, err := client.MemoryStores.Create(ctx, nil); return err },
			"qoder: memory store create params are required"},
		{"no name", func(ctx context.Context) error {
			_, err := client.MemoryStores.Create(ctx, &MemoryStoreCreateParams{})
			return err
		},
			"qoder: a memory store's name is required"},
		{"nil update", func(ctx context.Context) error {
			_, err := client.MemoryStores.Update(ctx, testStoreID, nil)
			return err
		},
			"qoder: memory store update params are required"},
		{"update without id", func(ctx context.Context) error {
			_, err := client.MemoryStores.Update(ctx, "", &MemoryStoreUpdateParams{})
			return err
		}, "qoder: memory_store_id is required"},
		{"archive without id", func(ctx context.Context) error { _, err := client.MemoryStores.Archive(ctx, ""); return err },
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
