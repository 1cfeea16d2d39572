package qodertest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSessionCreate(t *testing.T) {
	a := newAPI(t)
	env := a.createEnv("e")
	ag := a.createAgent("bot", map[string]any{"system": "v1"})
	a.ok(200, "POST", "agents/"+ag, map[string]any{"version": 1, "system": "v2"})

	s := a.ok(201, "POST", "sessions", map[string]any{
		"agent": ag, "environment_id": env, "title": "Code review", "metadata": map[string]any{"purpose": "review"},
		"environment_variables": "FEATURE_FLAG=on;LOG_LEVEL=debug",
	})
	assert.Equal(t, "session", s["type"])
	assert.Equal(t, "idle", s["status"])
	assert.Equal(t, "Code review", s["title"])
	assert.Equal(t, map[string]any{"FEATURE_FLAG": "on", "LOG_LEVEL": "debug"}, s["environment_variables"])
	assert.Equal(t, map[string]any{"total_credits": float64(0)}, s["usage"])
	assert.Equal(t, map[string]any{"active_seconds": float64(0), "duration_seconds": float64(0)}, s["stats"])
	assert.Equal(t, []any{}, s["resources"])
	assert.Equal(t, []any{}, s["vault_ids"])
	assert.Nil(t, s["deployment_id"])
	snap := s["agent"].(map[string]any)
	assert.Equal(t, ag, snap["id"])
	assert.Equal(t, float64(2), snap["version"], "a bare id means the latest version")
	assert.Equal(t, "v2", snap["system"])
	assert.Equal(t, map[string]any{"id": "ultimate", "effective_context_window": float64(200000)}, snap["model"])

	pinned := a.ok(201, "POST", "sessions", map[string]any{"agent": map[string]any{"type": "agent", "id": ag, "version": 1}, "environment_id": env})
	assert.Equal(t, float64(1), pinned["agent"].(map[string]any)["version"])
	assert.Equal(t, "v1", pinned["agent"].(map[string]any)["system"])

	repo := a.ok(201, "POST", "sessions", map[string]any{"agent": ag, "environment_id": env,
		"resources": []any{map[string]any{"type": "github_repository", "url": "https://github.com/o/repo.git", "authorization_token": "secret"}}})
	res := repo["resources"].([]any)[0].(map[string]any)
	assert.Equal(t, "/workspace/repo", res["mount_path"])
	assert.NotContains(t, res, "authorization_token", "tokens are write-only")

	a.ok(200, "POST", "agents/"+a.createAgent("x", nil)+"/archive", nil)
	archivedEnv := a.createEnv("old")
	a.ok(200, "POST", "environments/"+archivedEnv+"/archive", nil)
	archivedAgent := a.createAgent("old", nil)
	a.ok(200, "POST", "agents/"+archivedAgent+"/archive", nil)
	tests := []struct {
		name   string
		body   map[string]any
		status int
		typ    string
	}{
		{"unknown agent", map[string]any{"agent": "agent_nope", "environment_id": env}, 404, "not_found_error"},
		{"unknown version", map[string]any{"agent": map[string]any{"type": "agent", "id": ag, "version": 7}, "environment_id": env}, 404, "not_found_error"},
		{"archived agent", map[string]any{"agent": archivedAgent, "environment_id": env}, 400, "invalid_request_error"},
		{"unknown environment", map[string]any{"agent": ag, "environment_id": "env_nope"}, 404, "not_found_error"},
		{"archived environment", map[string]any{"agent": ag, "environment_id": archivedEnv}, 400, "invalid_request_error"},
		{"unknown file", map[string]any{"agent": ag, "environment_id": env, "resources": []any{map[string]any{"type": "file", "file_id": "file_x"}}}, 404, "not_found_error"},
		{"unknown vault", map[string]any{"agent": ag, "environment_id": env, "vault_ids": []any{"vault_x"}}, 404, "not_found_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.req("POST", "sessions", tt.body)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			typ, _, _ := r.errorOf(t)
			assert.Equal(t, tt.typ, typ)
		})
	}
}

func TestSessionInitialEvents(t *testing.T) {
	a := newAPI(t)
	s := a.ok(201, "POST", "sessions", map[string]any{
		"agent": a.srv.SeedAgent("a"), "environment_id": a.srv.SeedEnvironment("e"),
		"initial_events": []any{userMessage("first")},
	})
	id := s["id"].(string)
	a.waitStatus(id, "idle", "end_turn")
	assert.Contains(t, a.srv.EventTypes(id), "agent.message")
}

func TestSessionListFilters(t *testing.T) {
	a := newAPI(t)
	env := a.createEnv("e")
	ag1, ag2 := a.createAgent("one", nil), a.createAgent("two", nil)
	mk := func(agent any) string {
		return a.ok(201, "POST", "sessions", map[string]any{"agent": agent, "environment_id": env})["id"].(string)
	}
	s1 := mk(ag1)
	a.ok(200, "POST", "agents/"+ag1, map[string]any{"version": 1, "description": "v2"})
	s2 := mk(ag1)
	s3 := mk(ag2)
	a.ok(200, "POST", "sessions/"+s3+"/archive", nil)

	assert.Equal(t, []string{s2, s1}, ids(a.ok(200, "GET", "sessions", nil)), "newest first, archived hidden")
	assert.Equal(t, []string{s3, s2, s1}, ids(a.ok(200, "GET", "sessions?include_archived=true", nil)))
	assert.Equal(t, []string{s1, s2, s3}, ids(a.ok(200, "GET", "sessions?include_archived=true&order=asc", nil)))
	assert.Equal(t, []string{s2, s1}, ids(a.ok(200, "GET", "sessions?agent_id="+ag1, nil)))
	assert.Equal(t, []string{s1}, ids(a.ok(200, "GET", "sessions?agent_id="+ag1+"&agent_version=1", nil)))
	assert.Equal(t, []string{s2, s1}, ids(a.ok(200, "GET", "sessions?statuses[]=idle", nil)))
	assert.Empty(t, ids(a.ok(200, "GET", "sessions?statuses=running&statuses=terminated", nil)))
	assert.Empty(t, ids(a.ok(200, "GET", "sessions?deployment_id=dep_x", nil)))
}

func TestSessionUpdateEmitsUpdated(t *testing.T) {
	a := newAPI(t)
	id := a.ok(201, "POST", "sessions", map[string]any{
		"agent": a.srv.SeedAgent("a"), "environment_id": a.srv.SeedEnvironment("e"),
		"metadata": map[string]any{"keep": "1", "drop": "2"},
	})["id"].(string)
	st := a.openStream(id, "")
	s := a.ok(200, "POST", "sessions/"+id, map[string]any{"title": "New title", "metadata": map[string]any{"drop": nil, "add": "3"}})
	assert.Equal(t, "New title", s["title"])
	assert.Equal(t, map[string]any{"keep": "1", "add": "3"}, s["metadata"])

	f, ok := st.next()
	require.True(t, ok)
	assert.Equal(t, "session.updated", f.event)
	data := decode(t, f.data)
	assert.Equal(t, "New title", data["title"])
	assert.Equal(t, map[string]any{"keep": "1", "add": "3"}, data["metadata"])
}

func TestSessionArchiveRefusesInput(t *testing.T) {
	a := newAPI(t)
	id := a.createSession()
	s := a.ok(200, "POST", "sessions/"+id+"/archive", nil)
	assert.NotNil(t, s["archived_at"])
	r := a.send(id, userMessage("hi"))
	require.Equal(t, 409, r.status)
	typ, msg, _ := r.errorOf(t)
	assert.Equal(t, "conflict_error", typ)
	assert.Contains(t, msg, "archived")
	a.ok(200, "GET", "sessions/"+id+"/events", nil) // history stays readable
}

func TestSessionCancel(t *testing.T) {
	release := make(chan struct{})
	a := newAPI(t, WithAgent(blockingAgent(release)))
	id := a.createSession()

	idle := a.ok(200, "POST", "sessions/"+id+"/cancel", nil)
	assert.Equal(t, map[string]any{"id": id, "type": "session", "status": "idle"}, idle, "nothing runs: 200 no-op")

	st := a.openStream(id, "")
	require.Equal(t, 202, a.send(id, userMessage("work")).status)
	st.until("agent.message") // "started": the turn is running
	assert.Equal(t, "running", a.ok(200, "GET", "sessions/"+id, nil)["status"])

	got := a.ok(202, "POST", "sessions/"+id+"/cancel", nil)
	assert.Equal(t, map[string]any{"id": id, "type": "session", "status": "canceling"}, got)
	frames := st.until("session.status_idle")
	idleEv := decode(t, frames[len(frames)-1].data)
	assert.Equal(t, map[string]any{"type": "cancelled"}, idleEv["stop_reason"])
	assert.NotContains(t, events(frames), "agent.message", "Say after cancel is a no-op")
	assert.Equal(t, "idle", a.ok(200, "GET", "sessions/"+id, nil)["status"])

	// The session stays usable.
	close(release)
	require.Equal(t, 202, a.send(id, userMessage("again")).status)
	a.waitStatus(id, "idle", "end_turn")
}
