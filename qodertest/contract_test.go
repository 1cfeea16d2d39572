package qodertest

import (
	"encoding/json"
	"os"
	"slices"
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
