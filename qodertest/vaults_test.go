package qodertest

import (
	"strings"
	"testing"

	"github.com/qoder-go/qoder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVaultsKeepSecretsAndNeverReturnThem(t *testing.T) {
	t.Parallel()
	const secret = "sk-FAKE-vault-secret-77"
	a := newAPI(t)
	client := a.srv.Client()
	ctx := t.Context()
	v, err := client.Vaults.Create(ctx, &qoder.VaultCreateParams{DisplayName: "v"})
	require.NoError(t, err)
	env := qoder.NewEnvironmentVariableAuth("API_KEY", secret)
	env.Networking = qoder.LimitedNetworking("api.example.com")
	oauth := qoder.NewMCPOAuthAuth("https://mcp.example.com/mcp", secret)
	oauth.Refresh = qoder.NewMCPOAuthRefresh("cid", secret, "https://auth.example.com/token", qoder.ClientSecretBasic(secret))
	var ids []string
	for _, auth := range []qoder.CredentialAuth{qoder.NewStaticBearerAuth("https://mcp.example.com/other", secret), env, oauth} {
		cr, err := client.Vaults.Credentials.Create(ctx, v.ID, &qoder.CredentialCreateParams{Auth: auth})
		require.NoError(t, err)
		ids = append(ids, cr.ID)
	}
	_, err = client.Vaults.Credentials.Update(ctx, v.ID, ids[0], &qoder.CredentialUpdateParams{
		Auth: &qoder.StaticBearerAuthUpdate{Token: qoder.NewSecret(secret + "-rotated")}})
	require.NoError(t, err)
	_, err = client.Vaults.Credentials.Update(ctx, v.ID, ids[1], &qoder.CredentialUpdateParams{Auth: &qoder.StaticBearerAuthUpdate{Token: qoder.NewSecret("x")}})
	require.ErrorIs(t, err, qoder.ErrInvalidRequest, "an update of another kind")

	got, err := client.Vaults.Credentials.Get(ctx, v.ID, ids[2])
	require.NoError(t, err)
	assert.Equal(t, qoder.TokenEndpointAuthTypeClientSecretBasic, got.Auth.Refresh.TokenEndpointAuth.Type())
	val, err := client.Vaults.Credentials.ValidateMCPOAuth(ctx, v.ID, ids[2])
	require.NoError(t, err)
	assert.True(t, val.HasRefreshToken)

	for _, path := range []string{"vaults/" + v.ID, "vaults/" + v.ID + "/credentials", "vaults/" + v.ID + "/credentials/" + ids[1]} {
		r := a.req("GET", path, nil)
		require.Equal(t, 200, r.status)
		assert.NotContains(t, string(r.body), "sk-FAKE", path)
	}
	page, err := client.Vaults.Credentials.List(ctx, v.ID, nil)
	require.NoError(t, err)
	assert.Len(t, page.Data, 3)
	assert.False(t, strings.Contains(page.Data[0].Auth.MCPServerURL, secret))
}

func TestSessionVaultsMustCoverTheAgentsMCPServers(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	env := a.createEnv("e")
	agent := a.createAgent("a", map[string]any{
		"mcp_servers": []any{map[string]any{"type": "url", "name": "docs", "url": "https://mcp.example.com/mcp"}},
		"tools":       []any{map[string]any{"type": "mcp_toolset", "mcp_server_name": "docs"}},
	})
	good := a.ok(200, "POST", "vaults", map[string]any{"display_name": "good"})["id"].(string)
	a.ok(200, "POST", "vaults/"+good+"/credentials", map[string]any{"auth": map[string]any{
		"type": "static_bearer", "mcp_server_url": "https://mcp.example.com/mcp", "token": "t"}})
	wrong := a.ok(200, "POST", "vaults", map[string]any{"display_name": "wrong"})["id"].(string)
	a.ok(200, "POST", "vaults/"+wrong+"/credentials", map[string]any{"auth": map[string]any{
		"type": "static_bearer", "mcp_server_url": "https://elsewhere.example.com/mcp", "token": "t"}})
	tests := []struct {
		name   string
		vaults []string
		status int
		msg    string
	}{
		{"matching credential", []string{good}, 201, ""},
		{"mismatched credential", []string{wrong}, 400, "Unauthorized"},
		{"unknown vault", []string{"vault_missing"}, 404, "Vault 'vault_missing' was not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.req("POST", "sessions", map[string]any{"agent": agent, "environment_id": env, "vault_ids": tt.vaults})
			require.Equal(t, tt.status, r.status, "body: %s", r.body)
			if tt.msg != "" {
				_, msg, _ := r.errorOf(t)
				assert.Contains(t, msg, tt.msg)
				return
			}
			assert.Equal(t, []any{good}, r.obj(t)["vault_ids"])
		})
	}
}

// TestVaultLegacyInlineCredentials creates a vault the legacy way, with its
// credentials inline, and adds one in the legacy flat shape: the fake
// keeps their tokens, lists them without, and a session whose agent's MCP
// server one of them covers is created.
func TestVaultLegacyInlineCredentials(t *testing.T) {
	t.Parallel()
	const secret = "ghp_LEGACY-inline-token"
	a := newAPI(t)
	client := a.srv.Client()
	r := a.req("POST", "vaults", map[string]any{"display_name": "My GitHub credentials", "credentials": []any{map[string]any{
		"mcp_server_url": "https://mcp.example.com/mcp", "protocol": "sse", "type": "static_bearer", "access_token": secret}}})
	require.Equal(t, 200, r.status, "body: %s", r.body)
	assert.NotContains(t, string(r.body), secret)
	id := r.obj(t)["id"].(string)

	v, err := client.Vaults.Get(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, "My GitHub credentials", v.DisplayName)
	page, err := client.Vaults.Credentials.List(t.Context(), id, nil)
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	assert.Equal(t, qoder.CredentialAuthStaticBearer, page.Data[0].Auth.Type)
	assert.Equal(t, "https://mcp.example.com/mcp", page.Data[0].Auth.MCPServerURL)
	assert.NotContains(t, string(page.Raw()), secret)

	flat := a.req("POST", "vaults/"+id+"/credentials", map[string]any{
		"mcp_server_url": "https://mcp.example.com/other", "protocol": "streamable_http", "type": "static_bearer", "access_token": secret})
	require.Equal(t, 200, flat.status, "a credential added in the legacy flat shape: %s", flat.body)
	assert.NotContains(t, string(flat.body), secret)
	assert.Equal(t, "https://mcp.example.com/other", flat.obj(t)["auth"].(map[string]any)["mcp_server_url"])

	env := a.createEnv("e")
	agent := a.createAgent("a", map[string]any{
		"mcp_servers": []any{map[string]any{"type": "url", "name": "docs", "url": "https://mcp.example.com/mcp"}},
		"tools":       []any{map[string]any{"type": "mcp_toolset", "mcp_server_name": "docs"}},
	})
	a.ok(201, "POST", "sessions", map[string]any{"agent": agent, "environment_id": env, "vault_ids": []any{id}})

	bad := []struct {
		name  string
		cred  any
		param string
	}{
		{"no token", map[string]any{"mcp_server_url": "u", "protocol": "sse", "type": "static_bearer"}, "credentials[0].access_token"},
		{"a wrong protocol", map[string]any{"mcp_server_url": "u", "protocol": "ws", "type": "static_bearer", "access_token": secret}, "credentials[0].protocol"},
		{"another type", map[string]any{"mcp_server_url": "u", "protocol": "sse", "type": "mcp_oauth", "access_token": secret}, "credentials[0].type"},
		{"not an object", "u", "credentials[0]"},
	}
	for _, tt := range bad {
		r := a.req("POST", "vaults", map[string]any{"display_name": "v", "credentials": []any{tt.cred}})
		require.Equal(t, 400, r.status, tt.name)
		_, msg, param := r.errorOf(t)
		assert.Equal(t, tt.param, param, tt.name)
		assert.NotContains(t, msg, secret, tt.name)
	}
}
