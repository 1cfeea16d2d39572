package qoder

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryStoreVersionsService_ListAll(t *testing.T) {
	t.Parallel()
	gte := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		params *MemoryVersionListParams
		query  string
	}{
		{"defaults", nil, ""},
		{"every filter", &MemoryVersionListParams{Limit: 5, MemoryID: "mem_1", Operation: MemoryVersionDeleted, SessionID: "sesn_1",
			APIKeyID: "key_1", ServiceAccountID: "sa_1", CreatedAtGte: gte, CreatedAtLte: gte.AddDate(0, 1, 0), View: MemoryViewFull},
			"api_key_id=key_1&created_at%5Bgte%5D=2026-05-01T00%3A00%3A00Z&created_at%5Blte%5D=2026-06-01T00%3A00%3A00Z&limit=5" +
				"&memory_id=mem_1&operation=deleted&service_account_id=sa_1&session_id=sesn_1&view=full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			var queries []string
			mux.HandleFunc("GET /api-test/memory_stores/{id}/memory_versions", func(w http.ResponseWriter, r *http.Request) {
				queries = append(queries, r.URL.RawQuery)
				next := `"next_page":"p2"`
				if r.URL.Query().Get("page") == "p2" {
					next = `"next_page":null`
				}
				serveJSON(t, w, http.StatusOK, `{"data":[`+string(fixture(t, "memory_stores/version.json"))+`],`+next+`}`)
			})
			var ops []MemoryVersionOperation
			for v, err := range client.MemoryStores.Versions.All(t.Context(), testStoreID, tt.params) {
				require.NoError(t, err)
				ops = append(ops, v.Operation)
			}
			assert.Equal(t, []MemoryVersionOperation{MemoryVersionModified, MemoryVersionModified}, ops)
			require.Len(t, queries, 2)
			assert.Equal(t, tt.query, queries[0])
		})
	}
}

func TestMemoryStoreVersionsService_GetRedact(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/memory_stores/{id}/memory_versions/{v}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "memver_01b", r.PathValue("v"))
		assert.Equal(t, "view=full", r.URL.RawQuery, "Get asks for the content")
		serveFixture(t, w, http.StatusOK, "memory_stores/version.json")
	})
	mux.HandleFunc("POST /api-test/memory_stores/{id}/memory_versions/{v}/redact", func(w http.ResponseWriter, r *http.Request) {
		assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
		serveFixture(t, w, http.StatusOK, "memory_stores/version_redacted.json")
	})
	v, err := client.MemoryStores.Versions.Get(t.Context(), testStoreID, "memver_01b")
	require.NoError(t, err)
	assert.Equal(t, MemoryVersion{
		ID: "memver_01b", Type: "memory_version", MemoryID: "mem_01arch", MemoryStoreID: testStoreID, Operation: MemoryVersionModified,
		Path: "decisions/arch-choice.md", Content: Ptr("# Updated content"), ContentSHA256: "0b3a", ContentSizeBytes: 17,
		CreatedBy: Actor{Type: "session", SessionID: "sesn_01"}, CreatedAt: time.Date(2026, 5, 20, 9, 5, 0, 0, time.UTC),
	}, withoutRaw(*v))

	v, err = client.MemoryStores.Versions.Redact(t.Context(), testStoreID, "memver_01b")
	require.NoError(t, err)
	assert.Nil(t, v.Content, "a redacted version has no content")
	assert.Equal(t, time.Date(2026, 5, 21, 10, 0, 0, 0, time.UTC), v.RedactedAt)
	assert.Equal(t, &Actor{Type: "api_key", APIKeyID: "key_01"}, v.RedactedBy)

	_, err = client.MemoryStores.Versions.Redact(t.Context(), testStoreID, "")
	assert.EqualError(t, err, "qoder: memory_version_id is required")
}
