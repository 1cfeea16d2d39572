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

const testAgentID = "agent_019e390add9f7bac9b6cc806db46fcbd"

func TestAgentsService_Create(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *AgentCreateParams
		body   string // documented request body (ts-request-bodies agents.create)
	}{
		{
			name: "documented case 1: string model, toolset, MCP server",
			params: &AgentCreateParams{
				Name:   "doc-test-agent",
				Model:  ModelConfig{ID: "ultimate"},
				System: "You are a documentation testing assistant.",
				Tools: []AgentTool{AgentToolset(ToolBash, ToolRead, ToolWrite, ToolEdit, ToolGlob, ToolGrep,
					ToolWebFetch, ToolWebSearch)},
				MCPServers: []MCPServer{{Type: MCPServerTypeURL, Name: "weather-service", URL: "https://mcp.example.com/mcp"}},
			},
			body: `{"name":"doc-test-agent","model":"ultimate","system":"You are a documentation testing assistant.",
				"tools":[{"type":"agent_toolset_20260401","enabled_tools":["Bash","Read","Write","Edit","Glob","Grep","WebFetch","WebSearch"]}],
				"mcp_servers":[{"type":"url","name":"weather-service","url":"https://mcp.example.com/mcp"}]}`,
		},
		{
			name: "documented case 2: model object",
			params: &AgentCreateParams{
				Name:   "doc-test-agent-tuned",
				Model:  ModelConfig{ID: "ultimate", Effort: EffortHigh, ContextWindow: 400000},
				System: "You are a documentation testing assistant.",
			},
			body: `{"name":"doc-test-agent-tuned","model":{"id":"ultimate","effort":"high","context_window":400000},
				"system":"You are a documentation testing assistant."}`,
		},
		{
			name: "every optional field",
			params: &AgentCreateParams{
				Name:        "coordinator",
				Model:       ModelConfig{ID: "auto"},
				Description: "d",
				Tools:       []AgentTool{BrowserToolset(), MCPToolset("wx")},
				MCPServers:  []MCPServer{{Name: "wx", Type: MCPServerTypeURL, URL: "https://wx.example.com/mcp"}},
				Skills:      []SkillBinding{{Type: SkillBindingQoder, SkillID: "xlsx"}},
				Metadata:    map[string]string{"team": "a"},
				Multiagent: Multiagent{Type: MultiagentCoordinator, Agents: []MultiagentAgent{
					{ID: "agent_a"}, {ID: "agent_b", Version: 2}, {Type: MultiagentAgentTypeSelf},
				}},
			},
			body: `{"name":"coordinator","model":"auto","description":"d",
				"tools":[{"type":"browser_toolset_20260714"},{"type":"mcp_toolset","mcp_server_name":"wx"}],
				"mcp_servers":[{"name":"wx","type":"url","url":"https://wx.example.com/mcp"}],
				"skills":[{"type":"qoder","skill_id":"xlsx"}],
				"metadata":{"team":"a"},
				"multiagent":{"type":"coordinator","agents":["agent_a",{"type":"agent","id":"agent_b","version":2},{"type":"self"}]}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/agents", func(w http.ResponseWriter, r *http.Request) {
				assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
				assert.Empty(t, r.URL.RawQuery)
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusCreated, "agents/agent_created.json")
			})
			agent, err := client.Agents.Create(t.Context(), tt.params)
			require.NoError(t, err)
			assert.Equal(t, testAgentID, agent.ID)
			assert.Equal(t, "agent", agent.Type)
			assert.Equal(t, 1, agent.Version)
			assert.Equal(t, ModelConfig{ID: "ultimate"}, agent.Model)
			require.Len(t, agent.Tools, 1)
			assert.Equal(t, AgentToolTypeAgentToolset, agent.Tools[0].Type)
			assert.Len(t, agent.Tools[0].EnabledTools, 8)
			assert.Equal(t, []MCPServer{{Name: "weather-service", Type: MCPServerTypeURL, URL: "https://mcp.example.com/mcp"}}, agent.MCPServers)
			assert.Empty(t, agent.Skills)
			assert.Zero(t, agent.Multiagent)
			assert.True(t, agent.ArchivedAt.IsZero())
			assert.Equal(t, time.Date(2026, 5, 18, 15, 26, 39, 616690000, time.UTC), agent.CreatedAt)
		})
	}
}

func TestAgentsService_Create_browserBeta(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/agents", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, []string{BetaBrowserUse}, r.Header.Values("X-Qoder-Beta"))
		assertJSONBody(t, r, `{"name":"browser","model":"ultimate","tools":[{"type":"browser_toolset_20260714"}]}`)
		serveFixture(t, w, http.StatusOK, "agents/agent_created.json")
	})
	_, err := client.Agents.Create(t.Context(), &AgentCreateParams{
		Name: "browser", Model: ModelConfig{ID: "ultimate"}, Tools: []AgentTool{BrowserToolset()},
	}, WithBeta(BetaBrowserUse))
	require.NoError(t, err)
}

func TestAgentsService_Get(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testAgentID, r.PathValue("id"))
		assert.Empty(t, r.URL.RawQuery)
		serveFixture(t, w, http.StatusOK, "agents/agent.json")
	})
	agent, err := client.Agents.Get(t.Context(), testAgentID)
	require.NoError(t, err)

	assert.Equal(t, "release-coordinator", agent.Name)
	assert.Equal(t, ModelConfig{ID: "ultimate", Effort: EffortHigh, ContextWindow: 400000, EffectiveContextWindow: 400000}, agent.Model)
	assert.Equal(t, 3, agent.Version)
	assert.Equal(t, map[string]string{"team": "release"}, agent.Metadata)

	require.Len(t, agent.Tools, 4)
	toolset := agent.Tools[0]
	assert.Equal(t, AgentToolTypeAgentToolset, toolset.Type)
	assert.Equal(t, []string{"ImageGen"}, toolset.DisallowedTools)
	assert.Equal(t, ToolDefaultConfig{Enabled: Ptr(true), PermissionPolicy: PermissionPolicy{Type: PermissionAlwaysAllow}}, toolset.DefaultConfig)
	require.Len(t, toolset.Configs, 3)
	assert.Equal(t, ToolConfig{Name: ToolBash, Type: "Bash", PermissionPolicy: PermissionPolicy{Type: PermissionAlwaysAsk}}, toolset.Configs[0])
	assert.Equal(t, ToolConfig{Name: ToolWebFetch, Enabled: Ptr(true), AllowedDomains: []string{"docs.example.com"}, MaxContentTokens: 8000}, toolset.Configs[1])
	assert.Equal(t, UserLocation{Type: "approximate", City: "Hangzhou", Country: "CN", Region: "Zhejiang", Timezone: "Asia/Shanghai"}, toolset.Configs[2].UserLocation)
	assert.Equal(t, []string{"ads.example.com"}, toolset.Configs[2].BlockedDomains)

	assert.Equal(t, BrowserToolset(), agent.Tools[1])

	mcp := agent.Tools[2]
	assert.Equal(t, AgentToolTypeMCPToolset, mcp.Type)
	assert.Equal(t, "weather-service", mcp.MCPServerName)
	assert.Equal(t, PermissionAlwaysDeny, mcp.DefaultConfig.PermissionPolicy.Type)
	assert.Nil(t, mcp.DefaultConfig.Enabled)
	assert.Equal(t, []ToolConfig{{Name: "get_forecast", Enabled: Ptr(true), PermissionPolicy: PermissionPolicy{Type: PermissionAlwaysAllow}}}, mcp.Configs)

	custom := agent.Tools[3]
	assert.Equal(t, AgentToolTypeCustom, custom.Type)
	assert.Equal(t, "lookup_ticket", custom.Name)
	assert.Equal(t, "Look up a ticket by id", custom.Description)
	assert.JSONEq(t, `{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}`, string(custom.InputSchema))

	assert.Equal(t, []SkillBinding{
		{Type: SkillBindingCustom, SkillID: "skill_019e5d133c057536872f745e0b6dbd5d", Version: "3"},
		{Type: SkillBindingQoder, SkillID: "xlsx"},
	}, agent.Skills)

	assert.Equal(t, Multiagent{Type: MultiagentCoordinator, Agents: []MultiagentAgent{
		{ID: "agent_019f000000000000000000000000001a"},
		{Type: MultiagentAgentTypeAgent, ID: "agent_019f000000000000000000000000002b", Version: 2, Name: "reviewer"},
		{Type: MultiagentAgentTypeSelf},
		{Type: MultiagentAgentTypeAdvisor, Model: ModelConfig{ID: "ultimate"}},
	}}, agent.Multiagent)
	assert.True(t, agent.ArchivedAt.IsZero())
}

func TestAgentsService_Get_escapesID(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/api-test/agents/agent%2F..%2Fx%3Fy", r.URL.EscapedPath())
		assert.Equal(t, "agent/../x?y", r.PathValue("id"))
		serveFixture(t, w, http.StatusOK, "agents/agent_created.json")
	})
	_, err := client.Agents.Get(t.Context(), "agent/../x?y")
	require.NoError(t, err)
}

func TestAgentsService_Get_legacyShapes(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		serveFixture(t, w, http.StatusOK, "agents/agent_legacy.json")
	})
	agent, err := client.Agents.Get(t.Context(), "agent_019e0000000000000000000000000abc")
	require.NoError(t, err)
	assert.Equal(t, "Be brief.", agent.Instructions)
	assert.Equal(t, agent.System, agent.Instructions)
	assert.Empty(t, agent.DefaultEnvironment)
	assert.Equal(t, ModelConfig{ID: "qoder-sonnet-latest"}, agent.Model)
	require.Len(t, agent.Tools, 1)
	assert.NotNil(t, agent.Tools[0].EnabledTools, "an explicit [] stays distinguishable from absent")
	assert.Empty(t, agent.Tools[0].EnabledTools)
	assert.Nil(t, agent.Skills)
	assert.Nil(t, agent.Metadata)
	assert.Equal(t, time.Date(2026, 5, 14, 8, 18, 28, 800813795, time.UTC), agent.UpdatedAt)
}

func TestAgentsService_GetVersion(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "version=2", r.URL.RawQuery)
		serveFixture(t, w, http.StatusOK, "agents/agent_updated.json")
	})
	agent, err := client.Agents.GetVersion(t.Context(), testAgentID, 2)
	require.NoError(t, err)
	assert.Equal(t, 2, agent.Version)
	assert.Equal(t, "doc-test-agent-updated", agent.Name)

	for _, n := range []int{0, -1} {
		_, err := client.Agents.GetVersion(t.Context(), testAgentID, n)
		assert.ErrorContains(t, err, "agent version must be 1 or more")
	}
}

func TestAgentsService_Update(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *AgentUpdateParams
		body   string
	}{
		{
			name: "documented case 1",
			params: &AgentUpdateParams{
				Version:     1,
				Name:        Ptr("doc-test-agent-updated"),
				Model:       ModelConfig{ID: "ultimate"},
				System:      Ptr("You are an updated documentation testing assistant."),
				Description: Ptr("Used for API documentation testing"),
			},
			body: `{"name":"doc-test-agent-updated","model":"ultimate",
				"system":"You are an updated documentation testing assistant.",
				"description":"Used for API documentation testing","version":1}`,
		},
		{
			name:   "only the version: lists are kept",
			params: &AgentUpdateParams{Version: 7},
			body:   `{"version":7}`,
		},
		{
			name: "empty non-nil lists clear, empty strings clear, nil metadata values delete",
			params: &AgentUpdateParams{
				Version:     3,
				Description: Ptr(""),
				System:      Ptr(""),
				Tools:       []AgentTool{},
				MCPServers:  []MCPServer{},
				Skills:      []SkillBinding{},
				Metadata:    map[string]*string{"keep": Ptr("v"), "drop": nil},
			},
			body: `{"version":3,"description":"","system":"","tools":[],"mcp_servers":[],"skills":[],
				"metadata":{"keep":"v","drop":null}}`,
		},
		{
			name:   "null multiagent makes the agent work alone",
			params: &AgentUpdateParams{Version: 5, Multiagent: Null[Multiagent]()},
			body:   `{"version":5,"multiagent":null}`,
		},
		{
			name: "multiagent set",
			params: &AgentUpdateParams{Version: 6, Multiagent: Set(Multiagent{Type: MultiagentCoordinator,
				Agents: []MultiagentAgent{{ID: "agent_2"}}})},
			body: `{"version":6,"multiagent":{"type":"coordinator","agents":["agent_2"]}}`,
		},
		{
			name: "replacing lists and the model object",
			params: &AgentUpdateParams{
				Version: 4,
				Model:   ModelConfig{ID: "ultimate", Effort: EffortMax},
				Tools: []AgentTool{{
					Type:          AgentToolTypeAgentToolset,
					DefaultConfig: ToolDefaultConfig{Enabled: Ptr(false)},
					Configs:       []ToolConfig{{Name: ToolRead, Enabled: Ptr(true)}},
				}},
			},
			body: `{"version":4,"model":{"id":"ultimate","effort":"max"},
				"tools":[{"type":"agent_toolset_20260401","default_config":{"enabled":false},"configs":[{"name":"Read","enabled":true}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testAgentID, r.PathValue("id"))
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "agents/agent_updated.json")
			})
			agent, err := client.Agents.Update(t.Context(), testAgentID, tt.params)
			require.NoError(t, err)
			assert.Equal(t, 2, agent.Version)
			assert.Equal(t, "Used for API documentation testing", agent.Description)
			assert.NotNil(t, agent.Tools)
			assert.Empty(t, agent.Tools)
		})
	}
}

func TestAgentsService_List(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/agents", func(w http.ResponseWriter, r *http.Request) {
		resAssertQuery(t, r, url.Values{
			"limit":            {"50"},
			"after_id":         {"agent_prev"},
			"include_archived": {"true"},
			"created_at[gte]":  {"2026-05-01T00:00:00Z"},
			"created_at[lte]":  {"2026-05-31T15:59:59Z"},
		})
		serveFixture(t, w, http.StatusOK, "agents/list_page1.json")
	})
	page, err := client.Agents.List(t.Context(), &AgentListParams{
		Limit:           50,
		AfterID:         "agent_prev",
		IncludeArchived: true,
		CreatedAtGte:    time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
		CreatedAtLte:    time.Date(2026, 5, 31, 23, 59, 59, 0, time.FixedZone("CST", 8*3600)),
	})
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
	assert.Equal(t, "doc-test-agent", page.Data[0].Name)
	assert.Equal(t, 2, page.Data[1].Version)
	assert.Equal(t, "agent_019eXXXXXXXXXXXXXXXXXXXXXXXXXXXX", page.FirstID)
	assert.Equal(t, "agent_019eYYYYYYYYYYYYYYYYYYYYYYYYYYYY", page.LastID)
	assert.True(t, page.HasMore)
	assert.Equal(t, "page_agents_2", page.NextPage)
}

func TestAgentsService_List_nilParams(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/agents", func(w http.ResponseWriter, r *http.Request) {
		assert.Empty(t, r.URL.RawQuery)
		serveFixture(t, w, http.StatusOK, "agents/list_page2.json")
	})
	page, err := client.Agents.List(t.Context(), nil)
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	assert.Equal(t, ModelConfig{ID: "auto"}, page.Data[0].Model)
	assert.Equal(t, time.Date(2026, 5, 20, 10, 0, 0, 0, time.UTC), page.Data[0].ArchivedAt)
	assert.False(t, page.HasMore)
	assert.Empty(t, page.NextPage)
}

func TestAgentsService_All(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("GET /api-test/agents", func(w http.ResponseWriter, r *http.Request) {
		calls++
		switch calls {
		case 1:
			resAssertQuery(t, r, url.Values{"limit": {"2"}, "include_archived": {"true"}})
			serveFixture(t, w, http.StatusOK, "agents/list_page1.json")
		case 2:
			resAssertQuery(t, r, url.Values{"limit": {"2"}, "include_archived": {"true"}, "page": {"page_agents_2"}})
			serveFixture(t, w, http.StatusOK, "agents/list_page2.json")
		default:
			t.Errorf("unexpected request %d", calls)
		}
	})
	params := &AgentListParams{Limit: 2, IncludeArchived: true}
	agents, err := resCollect(client.Agents.All(t.Context(), params))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"agent_019eXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
		"agent_019eYYYYYYYYYYYYYYYYYYYYYYYYYYYY",
		"agent_019eZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
	}, resIDs(agents, func(a Agent) string { return a.ID }))
	assert.Equal(t, 2, calls)
	assert.Equal(t, &AgentListParams{Limit: 2, IncludeArchived: true}, params, "params must not change")
}

func TestAgentsService_Delete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   DeletedAgent
	}{
		{"object", http.StatusOK, `{"id":"agent_1","type":"agent_deleted"}`, DeletedAgent{ID: "agent_1", Type: "agent_deleted"}},
		{"legacy deleted flag", http.StatusOK, `{"id":"agent_1","type":"agent","deleted":true}`, DeletedAgent{ID: "agent_1", Type: "agent", Deleted: true}},
		{"empty 204", http.StatusNoContent, ``, DeletedAgent{ID: "agent_1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("DELETE /api-test/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "agent_1", r.PathValue("id"))
				assert.Empty(t, r.Header.Get("Content-Type"))
				if tt.status == http.StatusNoContent {
					w.WriteHeader(tt.status)
					return
				}
				serveJSON(t, w, tt.status, tt.body)
			})
			got, err := client.Agents.Delete(t.Context(), "agent_1")
			require.NoError(t, err)
			assert.Equal(t, tt.want, withoutRaw(*got))
		})
	}
}

func TestAgentsService_Archive(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/agents/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testAgentID, r.PathValue("id"))
		assert.Empty(t, r.Header.Get("Content-Type"), "archive sends no body")
		assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
		serveFixture(t, w, http.StatusOK, "agents/agent_archived.json")
	})
	agent, err := client.Agents.Archive(t.Context(), testAgentID)
	require.NoError(t, err)
	assert.True(t, agent.Archived)
	assert.Equal(t, time.Date(2026, 5, 18, 15, 27, 22, 698411000, time.UTC), agent.ArchivedAt)
	assert.Equal(t, agent.ArchivedAt, agent.UpdatedAt)
}

func TestAgentVersionsService_List(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/agents/{id}/versions", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testAgentID, r.PathValue("id"))
		resAssertQuery(t, r, url.Values{"limit": {"2"}, "before_id": {"3"}})
		serveFixture(t, w, http.StatusOK, "agents/versions.json")
	})
	page, err := client.Agents.Versions.List(t.Context(), testAgentID, &AgentVersionListParams{Limit: 2, BeforeID: "3"})
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
	assert.Equal(t, 2, page.Data[0].Version)
	assert.Equal(t, 1, page.Data[1].Version)
	assert.Equal(t, "2", page.FirstID)
	assert.Equal(t, "1", page.LastID)
}

func TestAgentVersionsService_All(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("GET /api-test/agents/{id}/versions", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			assert.Empty(t, r.URL.RawQuery)
			serveJSON(t, w, http.StatusOK, `{"data":[{"id":"agent_1","version":3}],"first_id":"3","last_id":"3","has_more":true}`)
			return
		}
		resAssertQuery(t, r, url.Values{"after_id": {"3"}})
		serveFixture(t, w, http.StatusOK, "agents/versions.json")
	})
	versions, err := resCollect(client.Agents.Versions.All(t.Context(), "agent_1", nil))
	require.NoError(t, err)
	assert.Equal(t, []int{3, 2, 1}, resIDs(versions, func(a Agent) int { return a.Version }))
	assert.Equal(t, 2, calls)

	_, err = resCollect(client.Agents.Versions.All(t.Context(), "", nil))
	assert.EqualError(t, err, "qoder: agent_id is required")
}

func TestAgentsService_nilParams(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	_, err := client.Agents.Create(t.Context(), nil)
	assert.EqualError(t, err, "qoder: agent create params are required")
	_, err = client.Agents.Update(t.Context(), testAgentID, nil)
	assert.EqualError(t, err, "qoder: agent update params are required")
}

func TestAgentsService_emptyIDs(t *testing.T) {
	t.Parallel()
	resTestEmptyIDs(t, []resEmptyIDCase{
		{"Get", "agent_id", func(ctx context.Context, c *Client) error { _, err := c.Agents.Get(ctx, ""); return err }},
		{"GetVersion", "agent_id", func(ctx context.Context, c *Client) error { _, err := c.Agents.GetVersion(ctx, "", 1); return err }},
		{"Update", "agent_id", func(ctx context.Context, c *Client) error {
			_, err := c.Agents.Update(ctx, "", &AgentUpdateParams{Version: 1})
			return err
		}},
		{"Delete", "agent_id", func(ctx context.Context, c *Client) error { _, err := c.Agents.Delete(ctx, ""); return err }},
		{"Archive", "agent_id", func(ctx context.Context, c *Client) error { _, err := c.Agents.Archive(ctx, ""); return err }},
		{"Versions.List", "agent_id", func(ctx context.Context, c *Client) error {
			_, err := c.Agents.Versions.List(ctx, "", nil)
			return err
		}},
	})
}

func TestAgentsService_apiErrors(t *testing.T) {
	t.Parallel()
	resTestAPIErrors(t, []resAPIErrorCase{
		{"Create", "POST /api-test/agents", func(ctx context.Context, c *Client) error {
			_, err := c.Agents.Create(ctx, &AgentCreateParams{Name: "x", Model: ModelConfig{ID: "auto"}})
			return err
		}},
		{"Get", "GET /api-test/agents/{id}", func(ctx context.Context, c *Client) error { _, err := c.Agents.Get(ctx, "agent_x"); return err }},
		{"GetVersion", "GET /api-test/agents/{id}", func(ctx context.Context, c *Client) error {
			_, err := c.Agents.GetVersion(ctx, "agent_x", 9)
			return err
		}},
		{"Update", "POST /api-test/agents/{id}", func(ctx context.Context, c *Client) error {
			_, err := c.Agents.Update(ctx, "agent_x", &AgentUpdateParams{Version: 1})
			return err
		}},
		{"List", "GET /api-test/agents", func(ctx context.Context, c *Client) error { _, err := c.Agents.List(ctx, nil); return err }},
		{"All", "GET /api-test/agents", func(ctx context.Context, c *Client) error { _, err := resCollect(c.Agents.All(ctx, nil)); return err }},
		{"Delete", "DELETE /api-test/agents/{id}", func(ctx context.Context, c *Client) error { _, err := c.Agents.Delete(ctx, "agent_x"); return err }},
		{"Archive", "POST /api-test/agents/{id}/archive", func(ctx context.Context, c *Client) error {
			_, err := c.Agents.Archive(ctx, "agent_x")
			return err
		}},
		{"Versions.List", "GET /api-test/agents/{id}/versions", func(ctx context.Context, c *Client) error {
			_, err := c.Agents.Versions.List(ctx, "agent_x", nil)
			return err
		}},
		{"Versions.All", "GET /api-test/agents/{id}/versions", func(ctx context.Context, c *Client) error {
			_, err := resCollect(c.Agents.Versions.All(ctx, "agent_x", nil))
			return err
		}},
	})
}

func TestModelConfig_JSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config ModelConfig
		wire   string
	}{
		{"bare id", ModelConfig{ID: "ultimate"}, `"ultimate"`},
		{"effort", ModelConfig{ID: "ultimate", Effort: EffortLow}, `{"id":"ultimate","effort":"low"}`},
		{"context window", ModelConfig{ID: "ultimate", ContextWindow: 1000000}, `{"id":"ultimate","context_window":1000000}`},
		{"SDK fields", ModelConfig{ID: "m", InferenceGeo: "us", Speed: "fast"}, `{"id":"m","inference_geo":"us","speed":"fast"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := json.Marshal(tt.config)
			require.NoError(t, err)
			assert.JSONEq(t, tt.wire, string(data))
			var back ModelConfig
			require.NoError(t, json.Unmarshal([]byte(tt.wire), &back))
			assert.Equal(t, tt.config, back)
		})
	}

	t.Run("effective context window is read, never sent", func(t *testing.T) {
		t.Parallel()
		var m ModelConfig
		require.NoError(t, json.Unmarshal([]byte(`{"id":"ultimate","effective_context_window":200000}`), &m))
		assert.Equal(t, ModelConfig{ID: "ultimate", EffectiveContextWindow: 200000}, m)
		data, err := json.Marshal(m)
		require.NoError(t, err)
		assert.JSONEq(t, `"ultimate"`, string(data))
	})
	t.Run("effort object and null", func(t *testing.T) {
		t.Parallel()
		var m ModelConfig
		require.NoError(t, json.Unmarshal([]byte(`{"id":"x","effort":{"type":"xhigh"}}`), &m))
		assert.Equal(t, EffortXHigh, m.Effort)
		m = ModelConfig{ID: "keep"}
		require.NoError(t, json.Unmarshal([]byte(`null`), &m))
		assert.Equal(t, ModelConfig{ID: "keep"}, m)
	})
	t.Run("invalid", func(t *testing.T) {
		t.Parallel()
		var m ModelConfig
		assert.Error(t, json.Unmarshal([]byte(`42`), &m))
		assert.Error(t, json.Unmarshal([]byte(`{"id":7}`), &m))
	})
}

func TestMultiagentAgent_JSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		entry MultiagentAgent
		wire  string
		back  MultiagentAgent // what wire decodes to
	}{
		{"bare id", MultiagentAgent{ID: "agent_a"}, `"agent_a"`, MultiagentAgent{ID: "agent_a"}},
		{"pinned version without type", MultiagentAgent{ID: "agent_a", Version: 3},
			`{"type":"agent","id":"agent_a","version":3}`, MultiagentAgent{Type: MultiagentAgentTypeAgent, ID: "agent_a", Version: 3}},
		{"named agent", MultiagentAgent{Type: MultiagentAgentTypeAgent, ID: "agent_a", Name: "critic"},
			`{"type":"agent","id":"agent_a","name":"critic"}`, MultiagentAgent{Type: MultiagentAgentTypeAgent, ID: "agent_a", Name: "critic"}},
		{"self", MultiagentAgent{Type: MultiagentAgentTypeSelf}, `{"type":"self"}`, MultiagentAgent{Type: MultiagentAgentTypeSelf}},
		{"advisor", MultiagentAgent{Type: MultiagentAgentTypeAdvisor, Model: ModelConfig{ID: "ultimate"}},
			`{"type":"advisor","model":"ultimate"}`, MultiagentAgent{Type: MultiagentAgentTypeAdvisor, Model: ModelConfig{ID: "ultimate"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := json.Marshal(tt.entry)
			require.NoError(t, err)
			assert.JSONEq(t, tt.wire, string(data))
			var back MultiagentAgent
			require.NoError(t, json.Unmarshal([]byte(tt.wire), &back))
			assert.Equal(t, tt.back, back)
		})
	}
}

func TestAgent_nullsDecode(t *testing.T) {
	t.Parallel()
	var a Agent
	require.NoError(t, json.Unmarshal([]byte(`{"id":"agent_1","model":null,"multiagent":null,"archived_at":null,
		"tools":null,"metadata":null,"unknown_field":{"x":1}}`), &a))
	assert.Equal(t, Agent{ID: "agent_1"}, a)
}
