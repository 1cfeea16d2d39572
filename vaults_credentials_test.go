package qoder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testCredentialID = "vcred_019e3bb98877759e862750b495c1fce8"

func TestVaultCredentialsService_Create(t *testing.T) {
	t.Parallel()
	oauth := NewMCPOAuthAuth("https://mcp.example.com/mcp", "oauth-access-token")
	oauth.ExpiresAt = time.Date(2026, 8, 16, 8, 0, 0, 0, time.UTC)
	oauth.Refresh = NewMCPOAuthRefresh("oauth-client-id", "oauth-refresh-token", "https://auth.example.com/oauth/token",
		ClientSecretBasic("oauth-client-secret"))
	oauth.Refresh.Resource = "https://mcp.example.com/mcp"
	oauth.Refresh.Scope = "mcp.read mcp.write"

	env := NewEnvironmentVariableAuth("STRIPE_API_KEY", "sk_live_x")
	env.InjectionLocation = &InjectionLocation{Header: true}
	env.Networking = LimitedNetworking("api.stripe.com")

	postAuth := NewMCPOAuthAuth("https://mcp.example.com/mcp", "at")
	postAuth.Refresh = NewMCPOAuthRefresh("cid", "rt", "https://auth.example.com/token", ClientSecretPost("cs"))
	noneAuth := NewMCPOAuthAuth("https://mcp.example.com/mcp", "at")
	noneAuth.Refresh = NewMCPOAuthRefresh("cid", "rt", "https://auth.example.com/token", TokenEndpointAuthNone())
	openEnv := NewEnvironmentVariableAuth("_TOKEN2", "v")
	openEnv.Networking = UnrestrictedNetworking()

	tests := []struct {
		name    string
		params  *CredentialCreateParams
		body    string
		fixture string
		check   func(t *testing.T, c *Credential)
	}{
		{
			name:    "documented case 1: static bearer",
			params:  &CredentialCreateParams{Auth: NewStaticBearerAuth("https://example.com/mcp-stream", "your-access-token"), Metadata: map[string]string{"team": "docs"}},
			body:    `{"auth":{"type":"static_bearer","mcp_server_url":"https://example.com/mcp-stream","token":"your-access-token"},"metadata":{"team":"docs"}}`,
			fixture: "vaults/credential_static_bearer.json",
			check: func(t *testing.T, c *Credential) {
				assert.Equal(t, CredentialAuthStaticBearer, c.Auth.Type)
				assert.Equal(t, "https://example.com/mcp-stream", c.Auth.MCPServerURL)
				assert.Empty(t, c.DisplayName)
			},
		},
		{
			name:   "documented case 2: mcp oauth with refresh and client_secret_basic",
			params: &CredentialCreateParams{Auth: oauth, Metadata: map[string]string{"team": "docs"}},
			body: `{"auth":{"type":"mcp_oauth","mcp_server_url":"https://mcp.example.com/mcp","access_token":"oauth-access-token",
				"expires_at":"2026-08-16T08:00:00Z","refresh":{"client_id":"oauth-client-id","refresh_token":"oauth-refresh-token",
				"token_endpoint":"https://auth.example.com/oauth/token","token_endpoint_auth":{"type":"client_secret_basic","client_secret":"oauth-client-secret"},
				"resource":"https://mcp.example.com/mcp","scope":"mcp.read mcp.write"}},"metadata":{"team":"docs"}}`,
			fixture: "vaults/credential_mcp_oauth.json",
			check: func(t *testing.T, c *Credential) {
				assert.Equal(t, CredentialAuthMCPOAuth, c.Auth.Type)
				assert.Equal(t, time.Date(2026, 8, 16, 8, 0, 0, 0, time.UTC), c.Auth.ExpiresAt)
				require.NotNil(t, c.Auth.Refresh)
				assert.Equal(t, "oauth-client-id", c.Auth.Refresh.ClientID)
				assert.Equal(t, TokenEndpointAuthTypeClientSecretBasic, c.Auth.Refresh.TokenEndpointAuth.Type())
				assert.Equal(t, "mcp.read mcp.write", c.Auth.Refresh.Scope)
			},
		},
		{
			name:   "mcp oauth with client_secret_post",
			params: &CredentialCreateParams{Auth: postAuth},
			body: `{"auth":{"type":"mcp_oauth","mcp_server_url":"https://mcp.example.com/mcp","access_token":"at","refresh":{"client_id":"cid",
				"refresh_token":"rt","token_endpoint":"https://auth.example.com/token","token_endpoint_auth":{"type":"client_secret_post","client_secret":"cs"}}}}`,
			fixture: "vaults/credential_mcp_oauth.json",
		},
		{
			name:   "mcp oauth public client",
			params: &CredentialCreateParams{Auth: noneAuth},
			body: `{"auth":{"type":"mcp_oauth","mcp_server_url":"https://mcp.example.com/mcp","access_token":"at","refresh":{"client_id":"cid",
				"refresh_token":"rt","token_endpoint":"https://auth.example.com/token","token_endpoint_auth":{"type":"none"}}}}`,
			fixture: "vaults/credential_mcp_oauth.json",
		},
		{
			name:   "environment variable, limited, header only",
			params: &CredentialCreateParams{Auth: env, DisplayName: "stripe"},
			body: `{"auth":{"type":"environment_variable","secret_name":"STRIPE_API_KEY","secret_value":"sk_live_x",
				"injection_location":{"body":false,"header":true},"networking":{"type":"limited","allowed_hosts":["api.stripe.com"]}},"display_name":"stripe"}`,
			fixture: "vaults/credential_environment_variable.json",
			check: func(t *testing.T, c *Credential) {
				assert.Equal(t, CredentialAuthEnvironmentVariable, c.Auth.Type)
				assert.Equal(t, "STRIPE_API_KEY", c.Auth.SecretName)
				assert.Equal(t, &InjectionLocation{Header: true}, c.Auth.InjectionLocation)
				assert.Equal(t, NetworkingLimited, c.Auth.Networking.Type())
				assert.Equal(t, []string{"api.stripe.com"}, c.Auth.Networking.AllowedHosts())
				assert.Equal(t, "stripe", c.DisplayName)
			},
		},
		{
			name:    "environment variable, unrestricted",
			params:  &CredentialCreateParams{Auth: openEnv},
			body:    `{"auth":{"type":"environment_variable","secret_name":"_TOKEN2","secret_value":"v","networking":{"type":"unrestricted"}}}`,
			fixture: "vaults/credential_environment_variable.json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/vaults/{id}/credentials", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testVaultID, r.PathValue("id"))
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, tt.fixture)
			})
			c, err := client.Vaults.Credentials.Create(t.Context(), testVaultID, tt.params)
			require.NoError(t, err)
			assert.Equal(t, "vault_credential", c.Type)
			assert.Equal(t, testVaultID, c.VaultID)
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestVaultCredentialsService_Get(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		want    Credential
	}{
		{"vaults/credential_static_bearer.json", Credential{
			ID: testCredentialID, Type: "vault_credential", VaultID: testVaultID,
			Auth:      CredentialAuthInfo{Type: CredentialAuthStaticBearer, MCPServerURL: "https://example.com/mcp-stream"},
			Metadata:  map[string]string{"team": "docs"},
			CreatedAt: time.Date(2026, 5, 18, 15, 34, 35, 387093000, time.UTC), UpdatedAt: time.Date(2026, 5, 18, 15, 34, 35, 387093000, time.UTC),
		}},
		{"vaults/credential_legacy.json", Credential{
			ID: "vcred_01legacy", Type: "static_bearer", VaultID: "vault_01legacy",
			Auth:     CredentialAuthInfo{Type: CredentialAuthStaticBearer, MCPServerURL: "https://mcp.example.com/mcp"},
			Protocol: "streamable_http", Status: "active",
			CreatedAt: time.Date(2025, 11, 2, 10, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2025, 11, 2, 10, 0, 0, 0, time.UTC),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("GET /api-test/vaults/{vault}/credentials/{id}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testVaultID, r.PathValue("vault"))
				assert.Equal(t, testCredentialID, r.PathValue("id"))
				serveFixture(t, w, http.StatusOK, tt.fixture)
			})
			c, err := client.Vaults.Credentials.Get(t.Context(), testVaultID, testCredentialID)
			require.NoError(t, err)
			c.Auth.Raw = nil
			assert.Equal(t, tt.want, withoutRaw(*c))
		})
	}
}

// TestCredentialUnknownKindKeptRaw checks that an auth of a kind the SDK
// does not know, even one whose fields clash with known ones, decodes and
// marshals back as received.
func TestCredentialUnknownKindKeptRaw(t *testing.T) {
	t.Parallel()
	data := fixture(t, "vaults/credential_unknown_kind.json")
	var c Credential
	require.NoError(t, json.Unmarshal(data, &c))
	assert.Equal(t, CredentialAuthType("mcp_static_header"), c.Auth.Type)
	assert.JSONEq(t, `{"type":"mcp_static_header","mcp_server_url":"https://mcp.example.com","header_name":"apikey","expires_at":17}`, string(c.Auth.Raw))
	again, err := json.Marshal(c)
	require.NoError(t, err)
	var back struct {
		Auth json.RawMessage `json:"auth"`
	}
	require.NoError(t, json.Unmarshal(again, &back))
	assert.JSONEq(t, string(c.Auth.Raw), string(back.Auth))

	require.Error(t, json.Unmarshal([]byte(`{"auth":{"type":"static_bearer","mcp_server_url":7}}`), &c), "a known kind still fails on a wrong field")
}

func TestVaultCredentialsService_Update(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *CredentialUpdateParams
		body   string
	}{
		{"documented: static bearer rotation with a metadata patch",
			&CredentialUpdateParams{Auth: &StaticBearerAuthUpdate{Token: NewSecret("rotated-test-token")},
				Metadata: map[string]*string{"remove": nil, "rotated_by": Ptr("sdk")}},
			`{"auth":{"type":"static_bearer","token":"rotated-test-token"},"metadata":{"remove":null,"rotated_by":"sdk"}}`},
		{"environment variable: value only",
			&CredentialUpdateParams{Auth: &EnvironmentVariableAuthUpdate{SecretValue: NewSecret("new")}},
			`{"auth":{"type":"environment_variable","secret_value":"new"}}`},
		{"environment variable: policy only",
			&CredentialUpdateParams{Auth: &EnvironmentVariableAuthUpdate{InjectionLocation: &InjectionLocation{Body: true, Header: true},
				Networking: LimitedNetworking("a.example.com", "b.example.com")}},
			`{"auth":{"type":"environment_variable","injection_location":{"body":true,"header":true},
				"networking":{"type":"limited","allowed_hosts":["a.example.com","b.example.com"]}}}`},
		{"mcp oauth: access token and expiry",
			&CredentialUpdateParams{Auth: &MCPOAuthAuthUpdate{AccessToken: NewSecret("at2"), ExpiresAt: time.Date(2026, 8, 20, 8, 0, 0, 0, time.UTC)}},
			`{"auth":{"type":"mcp_oauth","access_token":"at2","expires_at":"2026-08-20T08:00:00Z"}}`},
		{"mcp oauth: refresh fields only",
			&CredentialUpdateParams{Auth: &MCPOAuthAuthUpdate{Refresh: &MCPOAuthRefreshUpdate{RefreshToken: NewSecret("rt2"),
				Scope: "mcp.read", TokenEndpointAuth: ClientSecretPost("cs2")}}},
			`{"auth":{"type":"mcp_oauth","refresh":{"refresh_token":"rt2","scope":"mcp.read",
				"token_endpoint_auth":{"type":"client_secret_post","client_secret":"cs2"}}}}`},
		{"metadata only",
			&CredentialUpdateParams{Metadata: map[string]*string{"rotated_by": Ptr("ops")}},
			`{"metadata":{"rotated_by":"ops"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/vaults/{vault}/credentials/{id}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testCredentialID, r.PathValue("id"))
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "vaults/credential_mcp_oauth.json")
			})
			c, err := client.Vaults.Credentials.Update(t.Context(), testVaultID, testCredentialID, tt.params)
			require.NoError(t, err)
			assert.Equal(t, "vcred_01oauth", c.ID)
		})
	}
}

func TestVaultCredentialsService_ListAll(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var queries []string
	mux.HandleFunc("GET /api-test/vaults/{vault}/credentials", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testVaultID, r.PathValue("vault"))
		queries = append(queries, r.URL.RawQuery)
		if r.URL.Query().Get("after_id") == "" {
			serveJSON(t, w, http.StatusOK, `{"data":[`+string(fixture(t, "vaults/credential_static_bearer.json"))+`],
				"first_id":"`+testCredentialID+`","last_id":"`+testCredentialID+`","has_more":true}`)
			return
		}
		serveJSON(t, w, http.StatusOK, `{"data":[`+string(fixture(t, "vaults/credential_environment_variable.json"))+`],"has_more":false}`)
	})
	params := &CredentialListParams{Limit: 1, IncludeArchived: true, Name: "stripe"}
	page, err := client.Vaults.Credentials.List(t.Context(), testVaultID, params)
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	assert.True(t, page.HasMore)

	var kinds []CredentialAuthType
	for c, err := range client.Vaults.Credentials.All(t.Context(), testVaultID, params) {
		require.NoError(t, err)
		kinds = append(kinds, c.Auth.Type)
	}
	assert.Equal(t, []CredentialAuthType{CredentialAuthStaticBearer, CredentialAuthEnvironmentVariable}, kinds)
	assert.Equal(t, []string{
		"include_archived=true&limit=1&name=stripe",
		"include_archived=true&limit=1&name=stripe",
		"after_id=" + testCredentialID + "&include_archived=true&limit=1&name=stripe",
	}, queries)
}

func TestVaultCredentialsService_DeleteArchive(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("DELETE /api-test/vaults/{vault}/credentials/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /api-test/vaults/{vault}/credentials/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"id":"`+r.PathValue("id")+`","type":"vault_credential","vault_id":"`+r.PathValue("vault")+
			`","auth":{"type":"static_bearer","mcp_server_url":"https://x"},"archived_at":"2026-05-18T15:45:35.387093Z"}`)
	})
	deleted, err := client.Vaults.Credentials.Delete(t.Context(), testVaultID, testCredentialID)
	require.NoError(t, err)
	assert.Equal(t, testCredentialID, deleted.ID, "a 204 names the credential deleted")

	c, err := client.Vaults.Credentials.Archive(t.Context(), testVaultID, testCredentialID)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 5, 18, 15, 45, 35, 387093000, time.UTC), c.ArchivedAt)

	testAPIErrors(t, mux, "DELETE /api-test/vaults/{vault}/credentials/vcred_missing", func() error {
		_, err := client.Vaults.Credentials.Delete(t.Context(), testVaultID, "vcred_missing")
		return err
	})
}

func TestVaultCredentialsService_ValidateMCPOAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		want    CredentialValidation
	}{
		{"vaults/validation_invalid.json", CredentialValidation{
			Type: "vault_credential_validation", VaultID: testVaultID, CredentialID: testCredentialID, Status: "invalid",
			ValidatedAt: time.Date(2026, 8, 19, 2, 58, 16, 0, time.UTC),
			MCPProbe: MCPProbe{Method: "initialize", HTTPResponse: &ValidationHTTPResponse{
				StatusCode: 401, ContentType: "application/json", Body: `{"error":"invalid_token"}`}},
			Refresh: CredentialRefreshResult{Status: "no_refresh_token"},
		}},
		{"vaults/validation_refreshed.json", CredentialValidation{
			Type: "vault_credential_validation", VaultID: "vault_x", CredentialID: "vcred_01oauth", Status: "valid",
			ValidatedAt: time.Date(2026, 8, 19, 2, 58, 16, 0, time.UTC), HasRefreshToken: true,
			MCPProbe: MCPProbe{Method: "initialize", HTTPResponse: &ValidationHTTPResponse{StatusCode: 200, ContentType: "text/event-stream"}},
			Refresh: CredentialRefreshResult{Status: "refreshed", HTTPResponse: &ValidationHTTPResponse{
				StatusCode: 200, ContentType: "application/json", Body: `{"token_type":"Bearer","expires_in":3600,`, BodyTruncated: true}},
		}},
		{"vaults/validation_token_echoed.json", CredentialValidation{
			Type: "vault_credential_validation", VaultID: "vault_x", CredentialID: "vcred_01oauth", Status: "valid",
			ValidatedAt: time.Date(2026, 8, 19, 2, 58, 16, 0, time.UTC), HasRefreshToken: true,
			MCPProbe: MCPProbe{Method: "initialize", HTTPResponse: &ValidationHTTPResponse{StatusCode: 200, ContentType: "application/x-www-form-urlencoded",
				Body: "access_token=[redacted]&token_type=bearer&token=[redacted]"}},
			Refresh: CredentialRefreshResult{Status: "refreshed", HTTPResponse: &ValidationHTTPResponse{
				StatusCode: 200, ContentType: "application/json", BodyTruncated: true,
				Body: `{"access_token":"[redacted]","token_type":"Bearer","expires_in":3600,"refresh_token":"[redacted]`}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/vaults/{vault}/credentials/{id}/mcp_oauth_validate", func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				assert.Empty(t, body)
				serveFixture(t, w, http.StatusOK, tt.fixture)
			})
			got, err := client.Vaults.Credentials.ValidateMCPOAuth(t.Context(), testVaultID, testCredentialID)
			require.NoError(t, err)
			assert.Equal(t, tt.want, withoutRaw(*got))
			assert.NotContains(t, string(got.Raw()), "LEAKED", "Raw keeps no secret either")
			assert.Contains(t, string(got.Raw()), `"validated_at"`)
		})
	}
}

func TestVaultCredentialsService_BadInput(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-b4d-1nput"
	client, mux := newTestClient(t)
	mux.HandleFunc("/", failHandler(t))
	create := func(auth CredentialAuth) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := client.Vaults.Credentials.Create(ctx, testVaultID, &CredentialCreateParams{Auth: auth})
			return err
		}
	}
	update := func(auth CredentialAuthUpdate) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := client.Vaults.Credentials.Update(ctx, testVaultID, testCredentialID, &CredentialUpdateParams{Auth: auth})
			return err
		}
	}
	withRefresh := func(r *MCPOAuthRefresh) CredentialAuth {
		a := NewMCPOAuthAuth("https://mcp.example.com", secret)
		a.Refresh = r
		return a
	}
	tests := []struct {
		name string
		call func(ctx context.Context) error
		want string
	}{
		{"no vault id", func(ctx context.Context) error {
			_, err := client.Vaults.Credentials.Create(ctx, "", &CredentialCreateParams{Auth: NewStaticBearerAuth("u", secret)})
			return err
		}, "vault_id is required"},
		{"nil params", func(ctx context.Context) error {
			_, err := client.Vaults.Credentials.Create(ctx, testVaultID, nil)
			return err
		},
			"auth is required"},
		{"static bearer without URL", create(NewStaticBearerAuth("", secret)), "needs its MCP server URL"},
		{"static bearer without token", create(NewStaticBearerAuth("https://mcp.example.com", "")), "needs its token"},
		{"env var without name", create(NewEnvironmentVariableAuth("", secret)), "needs its secret name"},
		{"env var with a bad name", create(NewEnvironmentVariableAuth("1-BAD NAME", secret)), `secret name "1-BAD NAME" must match`},
		{"env var without value", create(NewEnvironmentVariableAuth("OK", "")), "needs its secret value"},
		{"limited networking without hosts", create(&EnvironmentVariableAuth{SecretName: "OK", SecretValue: NewSecret(secret),
			Networking: LimitedNetworking()}), "at least one allowed host"},
		{"oauth without URL", create(NewMCPOAuthAuth("", secret)), "needs its MCP server URL"},
		{"oauth without access token", create(NewMCPOAuthAuth("https://mcp.example.com", "")), "needs its access token"},
		{"refresh without client id", create(withRefresh(NewMCPOAuthRefresh("", secret, "https://t", TokenEndpointAuthNone()))), "needs its client id"},
		{"refresh without token", create(withRefresh(NewMCPOAuthRefresh("c", "", "https://t", TokenEndpointAuthNone()))), "needs its refresh token"},
		{"refresh without endpoint", create(withRefresh(NewMCPOAuthRefresh("c", secret, "", TokenEndpointAuthNone()))), "needs its token endpoint"},
		{"refresh without endpoint auth", create(withRefresh(NewMCPOAuthRefresh("c", secret, "https://t", TokenEndpointAuth{}))), "needs its token endpoint auth"},
		{"basic without client secret", create(withRefresh(NewMCPOAuthRefresh("c", secret, "https://t", ClientSecretBasic("")))), "needs the client secret"},
		{"nil update params", func(ctx context.Context) error {
			_, err := client.Vaults.Credentials.Update(ctx, testVaultID, testCredentialID, nil)
			return err
		}, "update params are required"},
		{"static bearer update without token", update(&StaticBearerAuthUpdate{}), "needs the new token"},
		{"oauth update switching to none", update(&MCPOAuthAuthUpdate{AccessToken: NewSecret(secret),
			Refresh: &MCPOAuthRefreshUpdate{TokenEndpointAuth: TokenEndpointAuthNone()}}), "cannot set the token endpoint auth"},
		{"oauth update post without secret", update(&MCPOAuthAuthUpdate{Refresh: &MCPOAuthRefreshUpdate{TokenEndpointAuth: ClientSecretPost("")}}),
			"needs the client secret"},
		{"a nil static bearer", create((*StaticBearerAuth)(nil)), "auth is required"},
		{"a nil environment variable", create((*EnvironmentVariableAuth)(nil)), "auth is required"},
		{"a nil mcp oauth", create((*MCPOAuthAuth)(nil)), "auth is required"},
		{"a nil static bearer update", update((*StaticBearerAuthUpdate)(nil)), "update's auth is a nil pointer"},
		{"a nil environment variable update", update((*EnvironmentVariableAuthUpdate)(nil)), "update's auth is a nil pointer"},
		{"a nil mcp oauth update", update((*MCPOAuthAuthUpdate)(nil)), "update's auth is a nil pointer"},
		{"get without credential id", func(ctx context.Context) error {
			_, err := client.Vaults.Credentials.Get(ctx, testVaultID, "")
			return err
		}, "credential_id is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(t.Context())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "qoder: "), err.Error())
			assert.NotContains(t, err.Error(), secret)
			assert.ErrorIs(t, err, ErrInvalidRequest, "a local rejection matches the server's 400")
			var apiErr *APIError
			assert.False(t, errors.As(err, &apiErr), "nothing was sent")
		})
	}
}

// TestCredentialSecretsNeverShown puts one known secret in every place a
// credential's params can hold one and searches for it in everything the
// SDK lets out of the process other than the request body: fmt under every
// verb, slog text and JSON, json.Marshal, an error whose body echoes the
// request, and the client's debug log.
func TestCredentialSecretsNeverShown(t *testing.T) {
	t.Parallel()
	const secret = "sk-KNOWN-s3cret-9f2c"
	oauth := NewMCPOAuthAuth("https://mcp.example.com/mcp", secret)
	oauth.Refresh = NewMCPOAuthRefresh("cid", secret+"-refresh", "https://auth.example.com/token", ClientSecretPost(secret+"-client"))
	creates := map[string]*CredentialCreateParams{
		"static_bearer":        {Auth: NewStaticBearerAuth("https://mcp.example.com/mcp", secret)},
		"environment_variable": {Auth: NewEnvironmentVariableAuth("API_KEY", secret)},
		"mcp_oauth":            {Auth: oauth},
	}
	updates := map[string]*CredentialUpdateParams{
		"static_bearer":        {Auth: &StaticBearerAuthUpdate{Token: NewSecret(secret)}},
		"environment_variable": {Auth: &EnvironmentVariableAuthUpdate{SecretValue: NewSecret(secret)}},
		"mcp_oauth": {Auth: &MCPOAuthAuthUpdate{AccessToken: NewSecret(secret),
			Refresh: &MCPOAuthRefreshUpdate{RefreshToken: NewSecret(secret), TokenEndpointAuth: ClientSecretBasic(secret)}}},
	}
	var values []any
	for _, p := range creates {
		values = append(values, p, *p, p.Auth)
	}
	for _, p := range updates {
		values = append(values, p, *p, p.Auth)
	}
	values = append(values, NewSecret(secret), oauth.Refresh, oauth.Refresh.TokenEndpointAuth)

	var out bytes.Buffer
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%T"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		fmt.Fprintln(&out, v)
		data, err := json.Marshal(v)
		require.NoError(t, err)
		out.Write(data)
		for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
			slog.New(h).Info("params", "value", v)
		}
	}
	assert.Contains(t, out.String(), "[redacted]", "the outputs were written")

	// The server answers every call with an error that echoes the body it
	// got; the client logs at debug level.
	var logs bytes.Buffer
	client, mux := newTestClient(t, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	var sent int
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte(secret)) {
			sent++
		}
		quoted, _ := json.Marshal("invalid auth: " + string(body))
		w.Header().Set("X-Echo", secret)
		serveJSON(t, w, http.StatusBadRequest, `{"type":"error","error":{"type":"invalid_request_error","message":`+string(quoted)+`},"echo":`+string(body)+`}`)
	})
	var errs []error
	for _, p := range creates {
		_, err := client.Vaults.Credentials.Create(t.Context(), testVaultID, p)
		errs = append(errs, err)
	}
	for _, p := range updates {
		_, err := client.Vaults.Credentials.Update(t.Context(), testVaultID, testCredentialID, p)
		errs = append(errs, err)
	}
	assert.Equal(t, 6, sent, "every request body carried its secret")
	for _, err := range errs {
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrInvalidRequest)
		fmt.Fprintf(&out, "%v %+v %#v\n", err, err, err)
		var apiErr *APIError
		require.True(t, errors.As(err, &apiErr))
		out.Write(apiErr.Body)
		out.WriteString(apiErr.Message)
		fmt.Fprintln(&out, apiErr.Header)
	}
	out.Write(logs.Bytes())
	assert.NotContains(t, out.String(), secret)
}

// TestCredentialRawRedactsEchoedSecrets has a server echo secrets it
// should never return, in every place a credential or a vault can carry
// one: no typed field takes them, Raw and Auth.Raw read "[redacted]" in
// their place (and keep every other field), and printing or logging the
// values shows neither the secret nor the raw JSON.
func TestCredentialRawRedactsEchoedSecrets(t *testing.T) {
	t.Parallel()
	const secret = "sk-ECHOED-s3cret-4b1d"
	oauth := `{"id":"vcred_1","type":"vault_credential","vault_id":"vault_1","x_future_field":1,"auth":{"type":"mcp_oauth",
		"mcp_server_url":"https://mcp.example.com","access_token":"` + secret + `","refresh":{"client_id":"c","refresh_token":"` + secret + `",
		"token_endpoint":"https://t","token_endpoint_auth":{"type":"client_secret_post","client_secret":"` + secret + `"}}}}`
	page := `{"data":[{"id":"vcred_2","type":"vault_credential","vault_id":"vault_1","x_future_field":1,
		"auth":{"type":"static_bearer","mcp_server_url":"https://mcp.example.com","token":"` + secret + `"}},
		{"id":"vcred_3","type":"vault_credential","vault_id":"vault_1","x_future_field":1,
		"auth":{"type":"environment_variable","secret_name":"K","secret_value":"` + secret + `"}}],"has_more":false}`
	legacyVault := `{"id":"vault_1","type":"vault","display_name":"old","status":"active","x_future_field":1,"credentials":[
		{"id":"cred_1","mcp_server_url":"https://mcp.example.com","protocol":"sse","type":"static_bearer","access_token":"` + secret + `"}]}`
	escaped := `{"id":"vcred_4","type":"vault_credential","x_future_field":1,"auth":{"type":"static_bearer","tok\u0065n":"` + secret + `"}}`
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/vaults/vault_1/credentials/vcred_1", func(w http.ResponseWriter, r *http.Request) { serveJSON(t, w, 200, oauth) })
	mux.HandleFunc("GET /api-test/vaults/vault_1/credentials/vcred_4", func(w http.ResponseWriter, r *http.Request) { serveJSON(t, w, 200, escaped) })
	mux.HandleFunc("GET /api-test/vaults/vault_1/credentials", func(w http.ResponseWriter, r *http.Request) { serveJSON(t, w, 200, page) })
	mux.HandleFunc("GET /api-test/vaults/vault_1", func(w http.ResponseWriter, r *http.Request) { serveJSON(t, w, 200, legacyVault) })

	var values []any
	var raws []json.RawMessage
	for _, id := range []string{"vcred_1", "vcred_4"} {
		c, err := client.Vaults.Credentials.Get(t.Context(), "vault_1", id)
		require.NoError(t, err)
		values = append(values, c, *c)
		raws = append(raws, c.Raw(), c.Auth.Raw)
	}
	p, err := client.Vaults.Credentials.List(t.Context(), "vault_1", nil)
	require.NoError(t, err)
	require.Len(t, p.Data, 2)
	values = append(values, p, p.Data[0], p.Data[1])
	raws = append(raws, p.Raw(), p.Data[0].Raw(), p.Data[1].Raw(), p.Data[0].Auth.Raw, p.Data[1].Auth.Raw)
	for c, err := range client.Vaults.Credentials.All(t.Context(), "vault_1", nil) {
		require.NoError(t, err)
		values = append(values, c)
		raws = append(raws, c.Raw())
	}
	v, err := client.Vaults.Get(t.Context(), "vault_1")
	require.NoError(t, err)
	require.Len(t, v.Credentials, 1)
	assert.Equal(t, "vault_1", v.Credentials[0].VaultID, "an inline credential gets its vault's id")
	values = append(values, v, *v)
	raws = append(raws, v.Raw())

	for i, raw := range raws {
		require.NotEmpty(t, raw, "raw %d", i)
		assert.NotContains(t, string(raw), secret, "raw %d", i)
		assert.Contains(t, string(raw), redactedText, "raw %d", i)
	}
	for _, raw := range []json.RawMessage{values[0].(*Credential).Raw(), p.Raw(), v.Raw()} {
		assert.Contains(t, string(raw), rawFutureField, "the other fields are kept")
	}
	var out bytes.Buffer
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		data, err := json.Marshal(v)
		require.NoError(t, err)
		out.Write(data)
		for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
			slog.New(h).Info("credential", "value", v)
		}
	}
	assert.NotContains(t, out.String(), secret)
	assert.NotContains(t, out.String(), rawFutureField, "printing a resource does not print its raw JSON")
}

func TestRedactEchoedSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		same           bool // in is returned as it is
	}{
		{"nothing to redact", `{"id":"a","auth":{"type":"static_bearer"}}`, "", true},
		{"nested and in lists", `{"a":[{"token":"x"},{"b":{"client_secret":"y","refresh_token":7}}],"secret_value":"z"}`,
			`{"a":[{"token":"[redacted]"},{"b":{"client_secret":"[redacted]","refresh_token":"[redacted]"}}],"secret_value":"[redacted]"}`, false},
		{"null stays null", `{"access_token":null,"n":1.50}`, "", true},
		{"an escaped key, numbers and html kept", `{"tok\u0065n":"x","n":1.50,"html":"<a&b>"}`, `{"html":"<a&b>","n":1.50,"token":"[redacted]"}`, false},
		{"not JSON", `{"token":`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redactEchoedSecrets([]byte(tt.in))
			if tt.same {
				assert.Equal(t, tt.in, string(got))
				return
			}
			assert.Equal(t, tt.want, string(got))
		})
	}
	same := []byte(`{"id":"a"}`)
	assert.Same(t, &same[0], &redactEchoedSecrets(same)[0], "no copy when there is nothing to redact")
}
