package qoder

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testEnvID = "env_019e3bb39b6774d8878cd0b9d237574b"

func TestEnvironmentsService_Create(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *EnvironmentCreateParams
		body   string
	}{
		{
			name: "documented case 1: apt packages",
			params: &EnvironmentCreateParams{
				Name:   "doc-test-env",
				Config: EnvironmentConfig{Type: EnvironmentConfigCloud, Packages: Packages{Apt: []string{"curl"}}},
			},
			body: `{"name":"doc-test-env","config":{"type":"cloud","packages":{"apt":["curl"]}}}`,
		},
		{
			name: "documented case 2: npm and setup script",
			params: &EnvironmentCreateParams{
				Name: "doc-test-env-with-setup",
				Config: EnvironmentConfig{
					Type:     EnvironmentConfigCloud,
					Packages: Packages{Npm: []string{"pnpm@9"}},
					SetupScript: "set -euo pipefail\n[ -d /data/workspace/repo/.git ] || git clone https://github.com/me/repo /data/workspace/repo\n" +
						"cd /data/workspace/repo && pnpm install --frozen-lockfile",
				},
			},
			body: `{"name":"doc-test-env-with-setup","config":{"type":"cloud","packages":{"npm":["pnpm@9"]},
				"setup_script":"set -euo pipefail\n[ -d /data/workspace/repo/.git ] || git clone https://github.com/me/repo /data/workspace/repo\ncd /data/workspace/repo && pnpm install --frozen-lockfile"}}`,
		},
		{
			name: "limited networking, scope, metadata",
			params: &EnvironmentCreateParams{
				Name:        "locked",
				Description: "no egress but registries",
				Config: EnvironmentConfig{Type: EnvironmentConfigCloud, Networking: Networking{
					Type: NetworkingLimited, AllowedHosts: []string{"api.github.com"}, AllowPackageManagers: true, AllowMCPServers: true,
				}},
				Metadata: map[string]string{"team": "docs"},
				Scope:    EnvironmentScopeAccount,
			},
			body: `{"name":"locked","description":"no egress but registries","scope":"account","metadata":{"team":"docs"},
				"config":{"type":"cloud","networking":{"type":"limited","allowed_hosts":["api.github.com"],
				"allow_package_managers":true,"allow_mcp_servers":true}}}`,
		},
		{
			name:   "self-hosted",
			params: &EnvironmentCreateParams{Name: "byoc", Config: EnvironmentConfig{Type: EnvironmentConfigSelfHosted}},
			body:   `{"name":"byoc","config":{"type":"self_hosted"}}`,
		},
		{
			name:   "no config: server default",
			params: &EnvironmentCreateParams{Name: "plain"},
			body:   `{"name":"plain"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/environments", func(w http.ResponseWriter, r *http.Request) {
				assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "environments/environment_created.json")
			})
			env, err := client.Environments.Create(t.Context(), tt.params)
			require.NoError(t, err)
			assert.Equal(t, testEnvID, env.ID)
			assert.Equal(t, "environment", env.Type)
			assert.Equal(t, EnvironmentConfigCloud, env.Config.Type)
			assert.Equal(t, Packages{Type: "packages", Apt: []string{"curl"}, Cargo: []string{}, Gem: []string{},
				Go: []string{}, Npm: []string{}, Pip: []string{}}, env.Config.Packages)
			assert.Zero(t, env.Config.Networking)
			assert.Empty(t, env.Scope)
		})
	}
}

func TestEnvironmentsService_Get(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/environments/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testEnvID, r.PathValue("id"))
		assert.Empty(t, r.URL.RawQuery)
		serveFixture(t, w, http.StatusOK, "environments/environment.json")
	})
	env, err := client.Environments.Get(t.Context(), testEnvID)
	require.NoError(t, err)
	assert.Equal(t, "doc-test-env", env.Name)
	assert.Equal(t, Networking{Type: NetworkingLimited, AllowedHosts: []string{"api.github.com", "packages.example.com"},
		AllowPackageManagers: true}, env.Config.Networking)
	assert.Equal(t, []string{"golang.org/x/tools/gopls@latest"}, env.Config.Packages.Go)
	assert.Equal(t, []string{"typescript@5.0.0"}, env.Config.Packages.Npm)
	assert.Equal(t, "set -e\nnpm ci", env.Config.SetupScript)
	assert.Equal(t, EnvironmentScopeOrganization, env.Scope)
	assert.Equal(t, map[string]string{"team": "docs"}, env.Metadata)
	assert.True(t, env.ArchivedAt.IsZero())
	assert.Equal(t, time.Date(2026, 5, 18, 15, 28, 7, 17808000, time.UTC), env.CreatedAt)
}

func TestEnvironmentsService_Get_escapesIDAndLegacy(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/environments/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/api-test/environments/env%2Fdefault%20x", r.URL.EscapedPath())
		serveFixture(t, w, http.StatusOK, "environments/environment_legacy.json")
	})
	env, err := client.Environments.Get(t.Context(), "env/default x")
	require.NoError(t, err)
	assert.Equal(t, "env_default", env.ID)
	assert.Equal(t, "ready", env.Status)
	assert.Empty(t, env.Description)
	assert.Equal(t, Networking{Type: NetworkingUnrestricted}, env.Config.Networking)
	assert.Equal(t, Packages{Pip: []string{"pandas"}}, env.Config.Packages)
}

func TestEnvironmentsService_Update(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *EnvironmentUpdateParams
		body   string
	}{
		{
			name:   "documented case 1",
			params: &EnvironmentUpdateParams{Description: Set("Environment used for API documentation testing")},
			body:   `{"description":"Environment used for API documentation testing"}`,
		},
		{
			name: "metadata patch, config replacement, rename, scope",
			params: &EnvironmentUpdateParams{
				Name:     Ptr("renamed"),
				Config:   EnvironmentConfig{Type: EnvironmentConfigCloud, Networking: Networking{Type: NetworkingUnrestricted}},
				Metadata: map[string]*string{"worker": Ptr("byoc-worker-01"), "obsolete_key": nil},
				Scope:    EnvironmentScopeOrganization,
			},
			body: `{"name":"renamed","config":{"type":"cloud","networking":{"type":"unrestricted"}},
				"metadata":{"worker":"byoc-worker-01","obsolete_key":null},"scope":"organization"}`,
		},
		{
			name:   "empty description",
			params: &EnvironmentUpdateParams{Description: Set("")},
			body:   `{"description":""}`,
		},
		{
			name:   "null description",
			params: &EnvironmentUpdateParams{Description: Null[string]()},
			body:   `{"description":null}`,
		},
		{
			name: "limited networking sends false permissions",
			params: &EnvironmentUpdateParams{Config: EnvironmentConfig{Type: EnvironmentConfigCloud,
				Networking: Networking{Type: NetworkingLimited, AllowedHosts: []string{"api.github.com"}}}},
			body: `{"config":{"type":"cloud","networking":{"type":"limited","allowed_hosts":["api.github.com"],
				"allow_package_managers":false,"allow_mcp_servers":false}}}`,
		},
		{
			name:   "nothing",
			params: &EnvironmentUpdateParams{},
			body:   `{}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/environments/{id}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testEnvID, r.PathValue("id"))
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "environments/environment_updated.json")
			})
			env, err := client.Environments.Update(t.Context(), testEnvID, tt.params)
			require.NoError(t, err)
			assert.Equal(t, "Environment used for API documentation testing", env.Description)
			assert.Equal(t, time.Date(2026, 5, 18, 15, 28, 8, 93156000, time.UTC), env.UpdatedAt)
		})
	}
}

func TestEnvironmentsService_List(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/environments", func(w http.ResponseWriter, r *http.Request) {
		resAssertQuery(t, r, url.Values{
			"limit":            {"10"},
			"page":             {"page_abc"},
			"include_archived": {"true"},
			"created_at[gte]":  {"2026-05-01T00:00:00Z"},
		})
		serveFixture(t, w, http.StatusOK, "environments/list.json")
	})
	page, err := client.Environments.List(t.Context(), &EnvironmentListParams{
		Limit: 10, Page: "page_abc", IncludeArchived: true, CreatedAtGte: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
	})
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
	assert.Equal(t, EnvironmentConfigCloud, page.Data[0].Config.Type)
	assert.Equal(t, EnvironmentConfig{Type: EnvironmentConfigSelfHosted}, page.Data[1].Config)
	assert.Equal(t, EnvironmentScopeAccount, page.Data[1].Scope)
	assert.False(t, page.HasMore)
	assert.Equal(t, "env_019e2590d33f711fabf42f2857cecd8a", page.LastID)
}

func TestEnvironmentsService_All(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("GET /api-test/environments", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			assert.Empty(t, r.URL.RawQuery)
			serveJSON(t, w, http.StatusOK, `{"data":[{"id":"env_a","config":{"type":"cloud"}}],"first_id":"env_a","last_id":"env_a","has_more":true,"next_page":null}`)
			return
		}
		resAssertQuery(t, r, url.Values{"after_id": {"env_a"}})
		serveFixture(t, w, http.StatusOK, "environments/list.json")
	})
	envs, err := resCollect(client.Environments.All(t.Context(), nil))
	require.NoError(t, err)
	assert.Equal(t, []string{"env_a", testEnvID, "env_019e2590d33f711fabf42f2857cecd8a"}, resIDs(envs, func(e Environment) string { return e.ID }))
	assert.Equal(t, 2, calls)
}

func TestEnvironmentsService_Delete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   DeletedEnvironment
	}{
		{"object", http.StatusOK, `{"id":"` + testEnvID + `","type":"environment_deleted"}`, DeletedEnvironment{ID: testEnvID, Type: "environment_deleted"}},
		{"legacy empty 204", http.StatusNoContent, "", DeletedEnvironment{ID: testEnvID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("DELETE /api-test/environments/{id}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testEnvID, r.PathValue("id"))
				if tt.body == "" {
					w.WriteHeader(tt.status)
					return
				}
				serveJSON(t, w, tt.status, tt.body)
			})
			got, err := client.Environments.Delete(t.Context(), testEnvID)
			require.NoError(t, err)
			assert.Equal(t, tt.want, withoutRaw(*got))
		})
	}
}

func TestEnvironmentsService_Archive(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/environments/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testEnvID, r.PathValue("id"))
		assert.Empty(t, r.Header.Get("Content-Type"))
		serveFixture(t, w, http.StatusOK, "environments/environment_archived.json")
	})
	env, err := client.Environments.Archive(t.Context(), testEnvID)
	require.NoError(t, err)
	assert.True(t, env.Archived)
	assert.Equal(t, time.Date(2026, 5, 18, 15, 28, 8, 459536000, time.UTC), env.ArchivedAt)
}

func TestNetworking_JSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		wire string
		want Networking
		send string // re-encoded form; empty means same as wire
	}{
		{"unrestricted", `{"type":"unrestricted"}`, Networking{Type: NetworkingUnrestricted}, ""},
		{"limited, all fields", `{"type":"limited","allowed_hosts":["a.example","b.example"],"allow_package_managers":true,"allow_mcp_servers":true}`,
			Networking{Type: NetworkingLimited, AllowedHosts: []string{"a.example", "b.example"}, AllowPackageManagers: true, AllowMCPServers: true}, ""},
		{"limited, flags false", `{"type":"limited","allow_package_managers":false,"allow_mcp_servers":false}`,
			Networking{Type: NetworkingLimited}, ""},
		{"legacy string shorthand", `"unrestricted"`, Networking{Type: NetworkingUnrestricted}, `{"type":"unrestricted"}`},
		{"legacy allowlist", `{"type":"allowlist","allowed_hosts":["x.example"]}`,
			Networking{Type: NetworkingAllowlist, AllowedHosts: []string{"x.example"}}, ""},
		{"legacy allowed_hosts", `{"type":"allowed_hosts","allowed_hosts":["y.example"]}`,
			Networking{Type: NetworkingAllowedHosts, AllowedHosts: []string{"y.example"}}, ""},
		{"unknown fields", `{"type":"limited","future":1}`, Networking{Type: NetworkingLimited},
			`{"type":"limited","allow_package_managers":false,"allow_mcp_servers":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n Networking
			require.NoError(t, json.Unmarshal([]byte(tt.wire), &n))
			assert.Equal(t, tt.want, n)
			data, err := json.Marshal(n)
			require.NoError(t, err)
			send := tt.send
			if send == "" {
				send = tt.wire
			}
			assert.JSONEq(t, send, string(data))
		})
	}
	t.Run("null and invalid", func(t *testing.T) {
		t.Parallel()
		var cfg EnvironmentConfig
		require.NoError(t, json.Unmarshal([]byte(`{"type":"cloud","networking":null}`), &cfg))
		assert.Zero(t, cfg.Networking)
		assert.Error(t, json.Unmarshal([]byte(`{"type":"cloud","networking":42}`), &cfg))
	})
}

func TestEnvironmentsService_nilParams(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	_, err := client.Environments.Create(t.Context(), nil)
	assert.EqualError(t, err, "qoder: environment create params are required")
	_, err = client.Environments.Update(t.Context(), testEnvID, nil)
	assert.EqualError(t, err, "qoder: environment update params are required")
}

func TestEnvironmentsService_emptyIDs(t *testing.T) {
	t.Parallel()
	resTestEmptyIDs(t, []resEmptyIDCase{
		{"Get", "environment_id", func(ctx context.Context, c *Client) error { _, err := c.Environments.Get(ctx, ""); return err }},
		{"Update", "environment_id", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Update(ctx, "", &EnvironmentUpdateParams{})
			return err
		}},
		{"Delete", "environment_id", func(ctx context.Context, c *Client) error { _, err := c.Environments.Delete(ctx, ""); return err }},
		{"Archive", "environment_id", func(ctx context.Context, c *Client) error { _, err := c.Environments.Archive(ctx, ""); return err }},
	})
}

func TestEnvironmentsService_apiErrors(t *testing.T) {
	t.Parallel()
	resTestAPIErrors(t, []resAPIErrorCase{
		{"Create", "POST /api-test/environments", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Create(ctx, &EnvironmentCreateParams{Name: "x"})
			return err
		}},
		{"Get", "GET /api-test/environments/{id}", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Get(ctx, "env_x")
			return err
		}},
		{"Update", "POST /api-test/environments/{id}", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Update(ctx, "env_x", &EnvironmentUpdateParams{Name: Ptr("y")})
			return err
		}},
		{"List", "GET /api-test/environments", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.List(ctx, nil)
			return err
		}},
		{"All", "GET /api-test/environments", func(ctx context.Context, c *Client) error {
			_, err := resCollect(c.Environments.All(ctx, nil))
			return err
		}},
		{"Delete", "DELETE /api-test/environments/{id}", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Delete(ctx, "env_x")
			return err
		}},
		{"Archive", "POST /api-test/environments/{id}/archive", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Archive(ctx, "env_x")
			return err
		}},
	})
}
