package qoder

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAgentTool_JSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tool AgentTool
		wire string
	}{
		{"toolset, every tool", AgentToolset(), `{"type":"agent_toolset_20260401"}`},
		{"toolset allowlist", AgentToolset(ToolBash, ToolDeliverArtifacts),
			`{"type":"agent_toolset_20260401","enabled_tools":["Bash","DeliverArtifacts"]}`},
		{"toolset with configs", AgentTool{
			Type:            AgentToolTypeAgentToolset,
			DisallowedTools: []string{ToolImageGen, ToolImageSearch},
			DefaultConfig:   ToolDefaultConfig{PermissionPolicy: PermissionPolicy{Type: PermissionAlwaysAsk}},
			Configs: []ToolConfig{
				{Name: ToolWebSearch, AllowedDomains: []string{"go.dev"}, UserLocation: UserLocation{Type: "approximate", Country: "US"}},
				{Name: ToolWebFetch, BlockedDomains: []string{"ads.example"}, MaxContentTokens: 100, Enabled: Ptr(false)},
				{Name: ToolGlob, PermissionPolicy: PermissionPolicy{Type: PermissionAlwaysDeny}},
			},
		}, `{"type":"agent_toolset_20260401","disallowed_tools":["ImageGen","ImageSearch"],
			"default_config":{"permission_policy":{"type":"always_ask"}},
			"configs":[
				{"name":"WebSearch","allowed_domains":["go.dev"],"user_location":{"type":"approximate","country":"US"}},
				{"name":"WebFetch","blocked_domains":["ads.example"],"max_content_tokens":100,"enabled":false},
				{"name":"Glob","permission_policy":{"type":"always_deny"}}]}`},
		{"browser", BrowserToolset(), `{"type":"browser_toolset_20260714"}`},
		{"mcp", MCPToolset("github"), `{"type":"mcp_toolset","mcp_server_name":"github"}`},
		{"mcp with configs", AgentTool{
			Type: AgentToolTypeMCPToolset, MCPServerName: "github",
			DefaultConfig: ToolDefaultConfig{Enabled: Ptr(false)},
			Configs:       []ToolConfig{{Name: "create_issue", Enabled: Ptr(true), PermissionPolicy: PermissionPolicy{Type: PermissionAlwaysAsk}}},
		}, `{"type":"mcp_toolset","mcp_server_name":"github","default_config":{"enabled":false},
			"configs":[{"name":"create_issue","enabled":true,"permission_policy":{"type":"always_ask"}}]}`},
		{"custom", CustomTool("get_weather", "Current weather", json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)),
			`{"type":"custom","name":"get_weather","description":"Current weather",
			"input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := json.Marshal(tt.tool)
			require.NoError(t, err)
			assert.JSONEq(t, tt.wire, string(data))

			var back AgentTool
			require.NoError(t, json.Unmarshal([]byte(tt.wire), &back))
			again, err := json.Marshal(back)
			require.NoError(t, err)
			assert.JSONEq(t, tt.wire, string(again))
		})
	}
}

func TestCustomTool_schemaForms(t *testing.T) {
	t.Parallel()
	const want = `{"type":"object","properties":{"q":{"type":"string"}}}`
	type schema struct {
		Type       string                       `json:"type"`
		Properties map[string]map[string]string `json:"properties"`
	}
	forms := map[string]any{
		"raw message": json.RawMessage(want),
		"bytes":       []byte(want),
		"string":      want,
		"map":         map[string]any{"type": "object", "properties": map[string]any{"q": map[string]any{"type": "string"}}},
		"struct":      schema{Type: "object", Properties: map[string]map[string]string{"q": {"type": "string"}}},
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tool := CustomTool("search", "Search", form)
			assert.JSONEq(t, want, string(tool.InputSchema))
		})
	}
	t.Run("nil", func(t *testing.T) {
		t.Parallel()
		data, err := json.Marshal(CustomTool("noop", "No input", nil))
		require.NoError(t, err)
		assert.JSONEq(t, `{"type":"custom","name":"noop","description":"No input"}`, string(data))
	})
}

func TestCustomTool_badSchemaFailsTheRequest(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	tool := CustomTool("bad", "Bad schema", map[string]any{"fn": func() {}})
	_, err := json.Marshal(tool)
	require.ErrorContains(t, err, `custom tool "bad": encoding input schema`)

	_, err = client.Agents.Create(t.Context(), &AgentCreateParams{Name: "a", Model: ModelConfig{ID: "auto"}, Tools: []AgentTool{tool}})
	assert.ErrorContains(t, err, `custom tool "bad"`)
}

func TestAgentTool_fixtureRoundTrip(t *testing.T) {
	t.Parallel()
	// Decoding then encoding an agent's tools, servers, skills and roster
	// reproduces the wire JSON, so a read agent can be written back.
	var raw struct {
		Tools      json.RawMessage `json:"tools"`
		MCPServers json.RawMessage `json:"mcp_servers"`
		Skills     json.RawMessage `json:"skills"`
		Multiagent json.RawMessage `json:"multiagent"`
	}
	data := fixture(t, "agents/agent.json")
	require.NoError(t, json.Unmarshal(data, &raw))
	var agent Agent
	require.NoError(t, json.Unmarshal(data, &agent))

	for name, pair := range map[string]struct {
		value any
		wire  json.RawMessage
	}{
		"tools":       {agent.Tools, raw.Tools},
		"mcp_servers": {agent.MCPServers, raw.MCPServers},
		"skills":      {agent.Skills, raw.Skills},
		"multiagent":  {agent.Multiagent, raw.Multiagent},
	} {
		got, err := json.Marshal(pair.value)
		require.NoError(t, err, name)
		assert.JSONEq(t, string(pair.wire), string(got), name)
	}
}

func TestAgentTool_unknownTypeDecodes(t *testing.T) {
	t.Parallel()
	var tools []AgentTool
	require.NoError(t, json.Unmarshal([]byte(`[{"type":"bash_20250124","permission":"ask"},{"type":"future_toolset","name":"x"}]`), &tools))
	require.Len(t, tools, 2)
	assert.Equal(t, AgentToolType("bash_20250124"), tools[0].Type)
	assert.Equal(t, "x", tools[1].Name)
}

func TestPermissionPolicyAndToolNames(t *testing.T) {
	t.Parallel()
	for policy, wire := range map[PermissionPolicyType]string{
		PermissionAlwaysAllow: "always_allow", PermissionAlwaysAsk: "always_ask", PermissionAlwaysDeny: "always_deny",
	} {
		data, err := json.Marshal(PermissionPolicy{Type: policy})
		require.NoError(t, err)
		assert.JSONEq(t, `{"type":"`+wire+`"}`, string(data))
	}
	assert.Equal(t,
		[]string{"Bash", "Read", "Write", "Edit", "Glob", "Grep", "WebFetch", "WebSearch", "ImageGen", "ImageSearch", "DeliverArtifacts"},
		[]string{ToolBash, ToolRead, ToolWrite, ToolEdit, ToolGlob, ToolGrep, ToolWebFetch, ToolWebSearch, ToolImageGen, ToolImageSearch, ToolDeliverArtifacts})
}

func TestAgentsService_Update_sessionAgentTools(t *testing.T) {
	t.Parallel()
	// The browser toolset and a custom tool survive a full request cycle.
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, BetaBrowserUse, r.Header.Get("X-Qoder-Beta"))
		assertJSONBody(t, r, `{"version":2,"tools":[{"type":"browser_toolset_20260714"},
			{"type":"custom","name":"ask_human","description":"Ask a human","input_schema":{"type":"object"}}]}`)
		serveFixture(t, w, http.StatusOK, "agents/agent.json")
	})
	_, err := client.Agents.Update(context.Background(), "agent_1", &AgentUpdateParams{
		Version: 2,
		Tools:   []AgentTool{BrowserToolset(), CustomTool("ask_human", "Ask a human", map[string]string{"type": "object"})},
	}, WithBeta(BetaBrowserUse))
	require.NoError(t, err)
}

// TestUpstreamFieldInventory checks that every wire field the official
// SDK models for these resources (upstream-fields.json, Go field names
// turned into snake_case) exists in our types, as a json tag or, for list
// params, a url tag. Left out on purpose: AgentRef (custom encoding, see
// TestAgentRef_JSON) and SessionUpdateParams.vault_ids, which the API
// rejects as reserved.
func TestUpstreamFieldInventory(t *testing.T) {
	t.Parallel()
	inventory := []struct {
		typ    any
		fields []string
	}{
		{Agent{}, []string{"archived_at", "created_at", "description", "id", "mcp_servers", "metadata", "model", "multiagent", "name", "skills", "system", "tools", "type", "updated_at", "version"}},
		{AgentCreateParams{}, []string{"description", "mcp_servers", "metadata", "model", "multiagent", "name", "skills", "system", "tools"}},
		{AgentListParams{}, []string{"created_at[gte]", "created_at[lte]", "include_archived", "limit", "page"}},
		{AgentTool{}, []string{"configs", "default_config", "description", "input_schema", "mcp_server_name", "name", "type"}},
		{AgentUpdateParams{}, []string{"description", "mcp_servers", "metadata", "model", "multiagent", "name", "skills", "system", "tools", "version"}},
		{AgentVersionListParams{}, []string{"limit", "page"}},
		{DeletedEnvironment{}, []string{"id", "type"}},
		{DeletedSession{}, []string{"id", "type"}},
		{DeletedSessionResource{}, []string{"id", "type"}},
		{Environment{}, []string{"archived_at", "config", "created_at", "description", "id", "metadata", "name", "scope", "type", "updated_at"}},
		{EnvironmentConfig{}, []string{"networking", "packages", "type"}},
		{EnvironmentCreateParams{}, []string{"config", "description", "metadata", "name", "scope"}},
		{EnvironmentListParams{}, []string{"include_archived", "limit", "page"}},
		{EnvironmentUpdateParams{}, []string{"config", "description", "metadata", "name", "scope"}},
		{MCPServer{}, []string{"name", "type", "url"}},
		{Model{}, []string{"allowed_fallback_models", "capabilities", "created_at", "display_name", "id", "max_input_tokens", "max_tokens", "type"}},
		{ModelConfig{}, []string{"effort", "id", "inference_geo", "speed"}},
		{ModelListParams{}, []string{"after_id", "before_id", "limit"}},
		{Multiagent{}, []string{"agents", "type"}},
		{MultiagentAgent{}, []string{"description", "id", "mcp_servers", "model", "name", "skills", "system", "tools", "type", "version"}},
		{OutcomeEvaluation{}, []string{"completed_at", "description", "explanation", "iteration", "outcome_id", "result", "type"}},
		{PermissionPolicy{}, []string{"type"}},
		{RepositoryCheckout{}, []string{"name", "sha", "type"}},
		{Session{}, []string{"agent", "archived_at", "budget", "created_at", "deployment_id", "environment_id", "id", "metadata", "outcome_evaluations", "resources", "stats", "status", "title", "type", "updated_at", "usage", "vault_ids"}},
		{SessionAgentUpdate{}, []string{"mcp_servers", "tools"}},
		{SessionBudget{}, []string{"max_list_cost", "type"}},
		{SessionCreateParams{}, []string{"agent", "budget", "environment_id", "initial_events", "metadata", "resources", "title", "vault_ids"}},
		{SessionListParams{}, []string{"agent_id", "agent_version", "created_at[gt]", "created_at[gte]", "created_at[lt]", "created_at[lte]", "deployment_id", "include_archived", "limit", "memory_store_id", "order", "page", "statuses"}},
		{SessionResource{}, []string{"access", "checkout", "created_at", "description", "file_id", "id", "instructions", "memory_store_id", "mount_path", "name", "type", "updated_at", "url"}},
		{SessionResourceListParams{}, []string{"limit", "page"}},
		{SessionResourceParams{}, []string{"access", "authorization_token", "checkout", "file_id", "instructions", "memory_store_id", "mount_path", "type", "url"}},
		{SessionResourceUpdateParams{}, []string{"authorization_token"}},
		{SessionStats{}, []string{"active_seconds", "duration_seconds"}},
		{SessionThreadListParams{}, []string{"limit", "page"}},
		{SessionUpdateParams{}, []string{"agent", "budget", "metadata", "title"}},
		{SessionUsage{}, []string{"active_seconds", "cache_creation", "cache_read_input_tokens", "input_tokens", "list_cost", "output_tokens", "server_tool_use"}},
		{SkillBinding{}, []string{"skill_id", "type", "version"}},
		{Thread{}, []string{"agent", "archived_at", "created_at", "id", "parent_thread_id", "stats", "status", "type", "updated_at", "usage"}},
		{ThreadStats{}, []string{"active_seconds", "duration_seconds", "startup_seconds"}},
		{ToolConfig{}, []string{"allowed_domains", "blocked_domains", "enabled", "max_content_tokens", "name", "permission_policy", "type", "user_location"}},
		{ToolDefaultConfig{}, []string{"enabled", "permission_policy"}},
		{UsageCacheCreation{}, []string{"ephemeral_1h_input_tokens", "ephemeral_5m_input_tokens"}},
		{UsageServerToolUse{}, []string{"web_fetch_requests", "web_search_requests"}},
		{UserLocation{}, []string{"city", "country", "region", "timezone", "type"}}}
	for _, entry := range inventory {
		typ := reflect.TypeOf(entry.typ)
		t.Run(typ.Name(), func(t *testing.T) {
			t.Parallel()
			have := make(map[string]bool)
			for i := range typ.NumField() {
				f := typ.Field(i)
				for _, key := range []string{"json", "url"} {
					if name, _, _ := strings.Cut(f.Tag.Get(key), ","); name != "" && name != "-" {
						have[name] = true
					}
				}
			}
			for _, field := range entry.fields {
				assert.True(t, have[field], "%s has no field %q", typ.Name(), field)
			}
		})
	}
}
