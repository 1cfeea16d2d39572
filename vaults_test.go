package qoder

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testVaultID = "vault_019e3bb940277f0db05ab74291acf6ef"

func TestVaultsService_Create(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *VaultCreateParams
		body   string
	}{
		{"documented case 1", &VaultCreateParams{DisplayName: "my-mcp-vault", Metadata: map[string]string{"team": "docs"}},
			`{"display_name":"my-mcp-vault","metadata":{"team":"docs"}}`},
		{"no metadata", &VaultCreateParams{DisplayName: "plain"}, `{"display_name":"plain"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/vaults", func(w http.ResponseWriter, r *http.Request) {
				assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "vaults/vault_created.json")
			})
			v, err := client.Vaults.Create(t.Context(), tt.params)
			require.NoError(t, err)
			assert.Equal(t, testVaultID, v.ID)
			assert.Equal(t, "vault", v.Type)
			assert.Equal(t, "my-mcp-vault", v.DisplayName)
			assert.Equal(t, map[string]string{"team": "docs"}, v.Metadata)
			assert.Empty(t, v.Credentials)
			assert.True(t, v.ArchivedAt.IsZero())
			assert.Equal(t, time.Date(2026, 5, 18, 15, 34, 16, 874877000, time.UTC), v.CreatedAt)
		})
	}
}

func TestVaultsService_Get(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/vaults/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "vault_01legacy", r.PathValue("id"))
		serveFixture(t, w, http.StatusOK, "vaults/vault_legacy.json")
	})
	v, err := client.Vaults.Get(t.Context(), "vault_01legacy")
	require.NoError(t, err)
	assert.Equal(t, "active", v.Status)
	require.Len(t, v.Credentials, 1)
	assert.Equal(t, CredentialAuthInfo{Type: CredentialAuthStaticBearer, MCPServerURL: "https://mcp.example.com/mcp"}, v.Credentials[0].Auth)

	testAPIErrors(t, mux, "GET /api-test/vaults/vault_missing", func() error {
		_, err := client.Vaults.Get(t.Context(), "vault_missing")
		return err
	})
}

func TestVaultsService_List(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *VaultListParams
		query  string
	}{
		{"defaults", nil, ""},
		{"every filter", &VaultListParams{Limit: 5, IncludeArchived: true, Name: "my vault"}, "include_archived=true&limit=5&name=my+vault"},
		{"id cursors", &VaultListParams{AfterID: "vault_a", BeforeID: "vault_z"}, "after_id=vault_a&before_id=vault_z"},
		{"page token", &VaultListParams{Page: "tok_2"}, "page=tok_2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("GET /api-test/vaults", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, tt.query, r.URL.RawQuery)
				serveFixture(t, w, http.StatusOK, "vaults/list_page1.json")
			})
			page, err := client.Vaults.List(t.Context(), tt.params)
			require.NoError(t, err)
			require.Len(t, page.Data, 1)
			assert.Equal(t, "vault_a", page.Data[0].ID)
			assert.Equal(t, "tok_2", page.NextPage)
		})
	}
}

func TestVaultsService_All(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var queries []string
	mux.HandleFunc("GET /api-test/vaults", func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		if r.URL.Query().Get("page") == "tok_2" {
			serveFixture(t, w, http.StatusOK, "vaults/list_page2.json")
			return
		}
		serveFixture(t, w, http.StatusOK, "vaults/list_page1.json")
	})
	params := &VaultListParams{IncludeArchived: true}
	var ids []string
	for v, err := range client.Vaults.All(t.Context(), params) {
		require.NoError(t, err)
		ids = append(ids, v.ID)
	}
	assert.Equal(t, []string{"vault_a", "vault_b"}, ids)
	assert.Equal(t, []string{"include_archived=true", "include_archived=true&page=tok_2"}, queries)
	assert.Empty(t, params.Page, "params are not modified")
}

func TestVaultsService_DeleteAndArchive(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("DELETE /api-test/vaults/{id}", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"id":"`+r.PathValue("id")+`","type":"vault_deleted"}`)
	})
	mux.HandleFunc("POST /api-test/vaults/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testVaultID, r.PathValue("id"))
		serveFixture(t, w, http.StatusOK, "vaults/vault_archived.json")
	})
	deleted, err := client.Vaults.Delete(t.Context(), testVaultID)
	require.NoError(t, err)
	assert.Equal(t, DeletedVault{ID: testVaultID, Type: "vault_deleted"}, withoutRaw(*deleted))

	v, err := client.Vaults.Archive(t.Context(), testVaultID)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 5, 18, 15, 34, 35, 630693000, time.UTC), v.ArchivedAt)
}

func TestVaultsService_BadInput(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("/", failHandler(t))
	tests := []struct {
		name string
		call func(ctx context.Context) error
		want string
	}{
		{"nil create params", func(ctx context.Context) error { _, err := client.Vaults.Create(ctx, nil); return err },
			"qoder: vault create params are required"},
		{"no display name", func(ctx context.Context) error { _, err := client.Vaults.Create(ctx, &VaultCreateParams{}); return err },
			"qoder: a vault's display name is required"},
		{"get without id", func(ctx context.Context) error { _, err := client.Vaults.Get(ctx, ""); return err },
			"qoder: vault_id is required"},
		{"delete without id", func(ctx context.Context) error { _, err := client.Vaults.Delete(ctx, ""); return err },
			"qoder: vault_id is required"},
		{"archive without id", func(ctx context.Context) error { _, err := client.Vaults.Archive(ctx, ""); return err },
			"qoder: vault_id is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(t.Context())
			assert.EqualError(t, err, tt.want)
			assert.ErrorIs(t, err, ErrInvalidRequest, "a local rejection matches the server's 400")
		})
	}
}

// TestVaultsService_legacyShape decodes vaults of older API versions, whose
// credentials are listed inline in the flat shape (mcp_server_url, protocol
// and type beside the id; some without vault_id or times): a create
// answered 201 and a list.
func TestVaultsService_legacyShape(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/vaults", func(w http.ResponseWriter, r *http.Request) {
		assertJSONBody(t, r, `{"display_name":"My GitHub credentials"}`)
		serveFixture(t, w, http.StatusCreated, "vaults/vault_legacy_created.json")
	})
	mux.HandleFunc("GET /api-test/vaults", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"data":[`+string(fixture(t, "vaults/vault_legacy.json"))+`],"has_more":false}`)
	})
	v, err := client.Vaults.Create(t.Context(), &VaultCreateParams{DisplayName: "My GitHub credentials"})
	require.NoError(t, err)
	assert.Equal(t, "vault_abc123", v.ID)
	require.Len(t, v.Credentials, 2)
	first := withoutRaw(v.Credentials[0])
	first.Auth.Raw = nil
	assert.Equal(t, Credential{ID: "cred_def456", Type: "static_bearer", VaultID: "vault_abc123", Protocol: "sse",
		Auth: CredentialAuthInfo{Type: CredentialAuthStaticBearer, MCPServerURL: "https://mcp.github.com/sse"}}, first,
		"an inline credential without vault_id gets the vault's")
	assert.Equal(t, "vault_abc123", v.Credentials[1].VaultID)
	assert.Equal(t, "https://example.com/mcp", v.Credentials[1].Auth.MCPServerURL)
	assert.Equal(t, "streamable_http", v.Credentials[1].Protocol)
	assert.Equal(t, "active", v.Credentials[1].Status)
	assert.Nil(t, v.Credentials[0].Raw(), "a nested credential has no Raw of its own")
	assert.Contains(t, string(v.Raw()), "cred_def456")

	var got []Vault
	for v, err := range client.Vaults.All(t.Context(), nil) {
		require.NoError(t, err)
		got = append(got, v)
	}
	require.Len(t, got, 1)
	assert.Equal(t, "active", got[0].Status)
	require.Len(t, got[0].Credentials, 1)
	assert.Equal(t, CredentialAuthStaticBearer, got[0].Credentials[0].Auth.Type)
	assert.Equal(t, "vault_01legacy", got[0].Credentials[0].VaultID)
}
