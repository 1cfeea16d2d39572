package qodertest

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keys returns the sorted keys of a JSON object.
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestRecordedShapes compares the fake's responses with responses recorded
// from the real API: the same fields, with the same JSON types.
func TestRecordedShapes(t *testing.T) {
	data, err := os.ReadFile("testdata/recorded_responses.json")
	require.NoError(t, err)
	var rec struct {
		Responses map[string]map[string]any `json:"responses"`
	}
	require.NoError(t, json.Unmarshal(data, &rec))

	release := make(chan struct{})
	defer close(release)
	a := newAPI(t, WithAgent(blockingAgent(release)))
	got := map[string]map[string]any{}
	env := a.ok(201, "POST", "environments", map[string]any{"name": "doc-test-env", "config": map[string]any{"type": "cloud", "packages": map[string]any{"apt": []any{"curl"}}}})
	got["POST /environments"] = env
	got["GET /environments"] = a.ok(200, "GET", "environments", nil)
	ag := a.ok(201, "POST", "agents", map[string]any{"name": "doc-test-agent", "model": "ultimate"})
	got["POST /agents"] = ag
	got["GET /agents"] = a.ok(200, "GET", "agents", nil)
	got["GET /agents/{}/versions"] = a.ok(200, "GET", "agents/"+ag["id"].(string)+"/versions", nil)
	sess := a.ok(201, "POST", "sessions", map[string]any{"agent": ag["id"], "environment_id": env["id"], "title": "Code review session"})
	id := sess["id"].(string)
	got["POST /sessions"] = sess
	got["GET /sessions/{}"] = a.ok(200, "GET", "sessions/"+id, nil)
	got["GET /sessions"] = a.ok(200, "GET", "sessions", nil)
	got["POST /sessions/{}/events"] = a.send(id, userMessage("Hello, this is a test message.")).obj(t)
	got["GET /sessions/{}/events"] = a.ok(200, "GET", "sessions/"+id+"/events?types[]=user.message", nil)
	got["POST /sessions/{}/cancel"] = a.ok(202, "POST", "sessions/"+id+"/cancel", nil)
	got["GET /models"] = a.ok(200, "GET", "models", nil)
	a.waitStatus(id, "idle", "cancelled")
	got["DELETE /sessions/{}"] = a.ok(200, "DELETE", "sessions/"+id, nil)
	got["DELETE /environments/{}"] = a.ok(200, "DELETE", "environments/"+env["id"].(string), nil)

	for route, want := range rec.Responses {
		t.Run(route, func(t *testing.T) {
			have, ok := got[route]
			require.True(t, ok, "route not exercised")
			assert.Equal(t, keys(want), keys(have))
			for k, v := range want {
				if v == nil || have[k] == nil {
					continue // null in one of them: nullable field
				}
				assert.Equal(t, kindOf(v), kindOf(have[k]), "field %s", k)
			}
			if wd, ok := want["data"].([]any); ok && len(wd) > 0 {
				hd := have["data"].([]any)
				require.NotEmpty(t, hd)
				assert.Subset(t, keys(hd[0].(map[string]any)), keys(wd[0].(map[string]any)), "fields of a list item")
			}
			if wa, ok := want["agent"].(map[string]any); ok {
				assert.Subset(t, keys(have["agent"].(map[string]any)), keys(wa), "fields of the agent snapshot")
			}
		})
	}
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

// TestContractShapes compares the fake's deployments, runs, dreams and
// work items with the responses the official SDK recorded
// (../testdata/api-contracts.json): every recorded field is there, with the
// same JSON type. The fake may add documented fields the recordings lack.
func TestContractShapes(t *testing.T) {
	recorded := contractResponses(t)
	a := newAPI(t, WithAgent(blockingAgent(nil)))
	got := map[string]json.RawMessage{}
	call := func(key string, status int, method, path string, body any) map[string]any {
		r := a.req(method, path, body)
		require.Equal(t, status, r.status, "%s: %s", key, r.body)
		got[key] = r.body
		var m map[string]any
		_ = json.Unmarshal(r.body, &m)
		return m
	}
	env, agent := a.srv.SeedEnvironment("e"), a.srv.SeedAgent("a")
	dep := call("POST /deployments", 201, "POST", "deployments", map[string]any{"name": "d", "agent": agent, "environment_id": env,
		"initial_events": []any{userMessage("Generate today's status report")}, "metadata": map[string]any{"team": "platform"},
		"environment_variables": "FEATURE_FLAG=on\nLOG_LEVEL=info", "schedule": map[string]any{"type": "cron", "expression": "0 9 * * *", "timezone": "Asia/Shanghai"}})
	d := "deployments/" + dep["id"].(string)
	call("GET /deployments/{}", 200, "GET", d, nil)
	call("POST /deployments/{}", 200, "POST", d, map[string]any{"name": "d2"})
	call("GET /deployments", 200, "GET", "deployments", nil)
	run := call("POST /deployments/{}/run", 200, "POST", d+"/run", nil)
	call("GET /deployments/{}/runs", 200, "GET", d+"/runs", nil)
	call("GET /deployments/{}/runs/{}", 200, "GET", d+"/runs/"+run["id"].(string), nil)
	call("GET /deployment_runs", 200, "GET", "deployment_runs", nil)
	call("GET /deployment_runs/{}", 200, "GET", "deployment_runs/"+run["id"].(string), nil)
	call("POST /deployments/{}/pause", 200, "POST", d+"/pause", nil)
	call("POST /deployments/{}/unpause", 200, "POST", d+"/unpause", nil)
	call("POST /deployments/{}/archive", 200, "POST", d+"/archive", nil)

	store := a.ok(200, "POST", "memory_stores", map[string]any{"name": "m"})["id"].(string)
	dream := call("POST /dreams", 201, "POST", "dreams", map[string]any{"inputs": []any{map[string]any{"type": "memory_store", "memory_store_id": store}},
		"model": "auto", "instructions": "Focus on user preferences for code style"})
	dr := "dreams/" + dream["id"].(string)
	call("GET /dreams/{}", 200, "GET", dr, nil)
	call("GET /dreams", 200, "GET", "dreams", nil)
	call("POST /dreams/{}/cancel", 200, "POST", dr+"/cancel", nil)
	call("POST /dreams/{}/archive", 200, "POST", dr+"/archive", nil)

	hosted := a.ok(201, "POST", "environments", map[string]any{"name": "w", "config": map[string]any{"type": "self_hosted"}})["id"].(string)
	w := "environments/" + hosted + "/work"
	call("GET /environments/{}/work/poll", 200, "GET", w+"/poll", nil)
	id := a.srv.EnqueueWork(hosted, WorkItem{ID: "sess_1", Metadata: map[string]string{"job": "daily-report"}})
	a.ok(200, "GET", w+"/poll", nil)
	call("POST /environments/{}/work/{}/ack", 200, "POST", w+"/"+id+"/ack", nil)
	call("POST /environments/{}/work/{}/heartbeat", 200, "POST", w+"/"+id+"/heartbeat", nil)
	call("GET /environments/{}/work/{}", 200, "GET", w+"/"+id, nil)
	call("POST /environments/{}/work/{}", 200, "POST", w+"/"+id, map[string]any{"metadata": map[string]any{"worker": "byoc-worker-01"}})
	call("GET /environments/{}/work", 200, "GET", w, nil)
	call("GET /environments/{}/work/stats", 200, "GET", w+"/stats", nil)
	call("POST /environments/{}/work/{}/stop", 200, "POST", w+"/"+id+"/stop", map[string]any{"force": false})

	assertShapes(t, recorded, got)
}

// TestContractShapes_sessionResourcesAndThreads is TestContractShapes for
// a session's resources and threads.
func TestContractShapes_sessionResourcesAndThreads(t *testing.T) {
	t.Parallel()
	recorded := contractResponses(t)
	tm := newTeam(t, func(t *Turn) {
		t.Delegate("researcher", "answer", func(c *Turn) { c.Say("Thread response") })
	})
	got := map[string]json.RawMessage{}
	call := func(key string, method, path string, body any) map[string]any {
		r := tm.req(method, path, body)
		require.Equal(t, 200, r.status, "%s: %s", key, r.body)
		got[key] = r.body
		return r.obj(t)
	}
	sess := "sessions/" + tm.session
	res := sess + "/resources/" + call("POST /sessions/{}/resources", "POST", sess+"/resources",
		map[string]any{"type": "file", "file_id": tm.srv.SeedFile("spec.md", nil), "mount_path": "/data/inputs/spec.md"})["id"].(string)
	call("GET /sessions/{}/resources/{}", "GET", res, nil)
	call("GET /sessions/{}/resources", "GET", sess+"/resources", nil)
	call("DELETE /sessions/{}/resources/{}", "DELETE", res, nil)
	repo := tm.ok(201, "POST", "sessions", map[string]any{"agent": tm.srv.SeedAgent("a"), "environment_id": tm.srv.SeedEnvironment("e"),
		"resources": []any{map[string]any{"type": "github_repository", "url": "https://github.com/your-org/your-repo", "authorization_token": "ghp_x",
			"checkout": map[string]any{"type": "branch", "name": "main"}}}})
	call("POST /sessions/{}/resources/{}", "POST", "sessions/"+repo["id"].(string)+"/resources/"+repo["resources"].([]any)[0].(map[string]any)["id"].(string),
		map[string]any{"authorization_token": "ghp_newtoken"})

	tm.run("go")
	threads := call("GET /sessions/{}/threads", "GET", sess+"/threads", nil)["data"].([]any)
	child := sess + "/threads/" + threads[1].(map[string]any)["id"].(string)
	call("GET /sessions/{}/threads/{}", "GET", child, nil)
	call("GET /sessions/{}/threads/{}/events", "GET", child+"/events?types[]=agent.message", nil)
	call("POST /sessions/{}/threads/{}/archive", "POST", child+"/archive", nil)
	assertShapes(t, recorded, got)
}

// contractResponses reads the recorded response of each route of the
// contract, by "METHOD /path/{}".
func contractResponses(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile("../testdata/api-contracts.json")
	require.NoError(t, err)
	var routes []struct {
		Method, Path string
		Response     json.RawMessage
	}
	require.NoError(t, json.Unmarshal(data, &routes))
	recorded := map[string]json.RawMessage{}
	for _, r := range routes {
		recorded[r.Method+" "+r.Path] = r.Response
	}
	return recorded
}

// assertShapes checks each response in got against the recorded one of
// its route.
func assertShapes(t *testing.T, recorded, got map[string]json.RawMessage) {
	t.Helper()
	for key, have := range got {
		t.Run(strings.ReplaceAll(key, "/", "_"), func(t *testing.T) {
			want, ok := recorded[key]
			require.True(t, ok, "%s is not in the contract", key)
			assertShape(t, want, have, key)
		})
	}
}

// assertShape checks that have holds every field of want with the same
// JSON type, recursively through objects and the first item of arrays; a
// null on either side matches anything.
func assertShape(t *testing.T, want, have json.RawMessage, at string) {
	t.Helper()
	var w, h any
	require.NoError(t, json.Unmarshal(want, &w))
	require.NoError(t, json.Unmarshal(have, &h))
	var walk func(w, h any, at string)
	walk = func(w, h any, at string) {
		if w == nil || h == nil {
			return
		}
		if !assert.Equal(t, kindOf(w), kindOf(h), "%s", at) {
			return
		}
		switch w := w.(type) {
		case map[string]any:
			h := h.(map[string]any)
			for k, v := range w {
				hv, ok := h[k]
				if assert.True(t, ok, "%s.%s is missing", at, k) {
					walk(v, hv, at+"."+k)
				}
			}
		case []any:
			if h := h.([]any); len(w) > 0 && len(h) > 0 {
				walk(w[0], h[0], at+"[0]")
			}
		}
	}
	walk(w, h, at)
}
