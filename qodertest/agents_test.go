package qodertest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAgentLifecycle(t *testing.T) {
	a := newAPI(t)
	created := a.ok(201, "POST", "agents", map[string]any{
		"name": "doc-test-agent", "model": "ultimate", "system": "You are a tester.",
		"tools":    []any{map[string]any{"type": "agent_toolset_20260401", "enabled_tools": []any{"Bash", "Read"}}},
		"metadata": map[string]any{"team": "qa", "tier": "1"},
	})
	id := created["id"].(string)
	assert.Equal(t, "agent", created["type"])
	assert.Equal(t, float64(1), created["version"])
	assert.Equal(t, "ultimate", created["model"])
	assert.Equal(t, "", created["description"])
	assert.Equal(t, []any{}, created["mcp_servers"])
	assert.Equal(t, []any{}, created["skills"])
	assert.Nil(t, created["multiagent"])
	assert.Contains(t, created, "multiagent")
	assert.Equal(t, created["created_at"], created["updated_at"])

	// Stale version: 409, nothing changes.
	r := a.req("POST", "agents/"+id, map[string]any{"version": 2, "name": "x"})
	require.Equal(t, 409, r.status)
	typ, msg, _ := r.errorOf(t)
	assert.Equal(t, "conflict_error", typ)
	assert.Equal(t, "Version conflict", msg)

	updated := a.ok(200, "POST", "agents/"+id, map[string]any{
		"version": 1, "description": "Used for tests", "metadata": map[string]any{"tier": nil, "env": "ci"},
		"model": map[string]any{"id": "ultimate", "effort": "max", "context_window": 400000},
	})
	assert.Equal(t, float64(2), updated["version"])
	assert.Equal(t, "doc-test-agent", updated["name"], "omitted fields are kept")
	assert.Equal(t, "You are a tester.", updated["system"])
	assert.Equal(t, "Used for tests", updated["description"])
	assert.Equal(t, map[string]any{"team": "qa", "env": "ci"}, updated["metadata"], "metadata is a patch")
	assert.Equal(t, map[string]any{"id": "ultimate", "effort": "max", "context_window": float64(400000)}, updated["model"])
	assert.Len(t, updated["tools"], 1)

	cleared := a.ok(200, "POST", "agents/"+id, map[string]any{"version": 2, "tools": nil, "system": ""})
	assert.Equal(t, []any{}, cleared["tools"], "null clears an array")
	assert.Equal(t, "", cleared["system"])
	assert.Equal(t, 409, a.req("POST", "agents/"+id, map[string]any{"version": 2}).status, "version 2 is stale now")

	v1 := a.ok(200, "GET", "agents/"+id+"?version=1", nil)
	assert.Equal(t, float64(1), v1["version"])
	assert.Equal(t, "", v1["description"])
	assert.Equal(t, "ultimate", v1["model"])
	assert.Equal(t, v1["created_at"], v1["updated_at"], "a snapshot's updated_at is its own time")
	latest := a.ok(200, "GET", "agents/"+id, nil)
	assert.Equal(t, float64(3), latest["version"])
	r = a.req("GET", "agents/"+id+"?version=9", nil)
	assert.Equal(t, 404, r.status)

	archived := a.ok(200, "POST", "agents/"+id+"/archive", nil)
	assert.NotNil(t, archived["archived_at"])
	assert.Equal(t, float64(3), archived["version"], "archive keeps the version")
	again := a.ok(200, "POST", "agents/"+id+"/archive", nil)
	assert.Equal(t, archived["archived_at"], again["archived_at"])
	assert.Empty(t, ids(a.ok(200, "GET", "agents", nil)), "archived agents are hidden")
	assert.Equal(t, []string{id}, ids(a.ok(200, "GET", "agents?include_archived=true", nil)))
	a.ok(200, "GET", "agents/"+id, nil)

	assert.Equal(t, map[string]any{"id": id, "type": "agent_deleted"}, a.ok(200, "DELETE", "agents/"+id, nil))
	assert.Equal(t, 404, a.req("GET", "agents/"+id, nil).status)
	assert.Equal(t, 404, a.req("DELETE", "agents/"+id, nil).status)
}

func TestAgentToolsAndBeta(t *testing.T) {
	a := newAPI(t)
	body := map[string]any{
		"name": "full", "model": "auto",
		"tools": []any{
			map[string]any{"type": "browser_toolset_20260714"},
			map[string]any{"type": "mcp_toolset", "mcp_server_name": "weather"},
			map[string]any{"type": "custom", "name": "get_weather", "description": "d", "input_schema": map[string]any{"type": "object"}},
		},
		"mcp_servers": []any{map[string]any{"name": "weather", "type": "url", "url": "https://mcp.example.com/mcp"}},
		"skills":      []any{map[string]any{"type": "custom", "skill_id": "skill_1"}},
		"multiagent":  map[string]any{"type": "coordinator", "agents": []any{"agent_x", map[string]any{"type": "self"}}},
	}
	assert.Equal(t, 400, a.req("POST", "agents", body).status, "the browser toolset needs the beta header")
	got := a.ok(201, "POST", "agents", body, "X-Qoder-Beta", "browser-use-2026-07-14")
	assert.Len(t, got["tools"], 3)
	assert.Equal(t, "coordinator", got["multiagent"].(map[string]any)["type"])
	assert.Equal(t, "auto", got["model"])
	a.ok(201, "POST", "agents", map[string]any{"name": "legacy", "model": "auto", "instructions": "old name of system"})
}
