package qodertest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidation(t *testing.T) {
	a := newAPI(t)
	env := a.createEnv("e")
	ag := a.createAgent("a", nil)
	sess := a.ok(201, "POST", "sessions", map[string]any{"agent": ag, "environment_id": env})["id"].(string)
	events := "sessions/" + sess + "/events"
	text := map[string]any{"type": "text", "text": "hi"}
	msg := func(content any) map[string]any { return map[string]any{"type": "user.message", "content": content} }
	batch := func(evs ...any) map[string]any { return map[string]any{"events": evs} }

	tests := []struct {
		name, method, path string
		body               any
		param, message     string // message: a substring
	}{
		{"malformed JSON", "POST", "agents", `{"name":`, "", "Request body must be valid JSON."},
		{"empty body", "POST", "agents", "", "", "Request body must be valid JSON."},
		{"trailing garbage", "POST", "agents", `{"name":"a","model":"auto"} x`, "", "Request body must be valid JSON."},
		{"array body", "POST", "agents", `[]`, "", "must be a JSON object"},
		{"null body", "POST", "agents", `null`, "", "must be a JSON object"},
		{"agent without name", "POST", "agents", map[string]any{"model": "auto"}, "name", "Missing required field: name"},
		{"agent null name", "POST", "agents", map[string]any{"name": nil, "model": "auto"}, "name", "Missing required field: name"},
		{"agent without model", "POST", "agents", map[string]any{"name": "a"}, "model", "Missing required field: model"},
		{"agent name wrong type", "POST", "agents", map[string]any{"name": 5, "model": "auto"}, "name", "Field 'name' must be a string, not a number."},
		{"agent name too long", "POST", "agents", map[string]any{"name": strings.Repeat("n", 257), "model": "auto"}, "name", "between 1 and 256"},
		{"agent empty name", "POST", "agents", map[string]any{"name": "", "model": "auto"}, "name", "between 1 and 256"},
		{"agent unknown model", "POST", "agents", map[string]any{"name": "a", "model": "gpt-x"}, "model", "Model 'gpt-x' is not available"},
		{"auto as object", "POST", "agents", map[string]any{"name": "a", "model": map[string]any{"id": "auto"}}, "model.id", "accepts only the string form"},
		{"bad effort", "POST", "agents", map[string]any{"name": "a", "model": map[string]any{"id": "ultimate", "effort": "huge"}}, "model.effort", "must be one of"},
		{"bad context window", "POST", "agents", map[string]any{"name": "a", "model": map[string]any{"id": "ultimate", "context_window": 5}}, "model.context_window", "not available"},
		{"description too long", "POST", "agents", map[string]any{"name": "a", "model": "auto", "description": strings.Repeat("d", 2049)}, "description", "at most 2048"},
		{"tools not array", "POST", "agents", map[string]any{"name": "a", "model": "auto", "tools": "Bash"}, "tools", "must be an array"},
		{"unknown tool name", "POST", "agents", map[string]any{"name": "a", "model": "auto", "tools": []any{map[string]any{"type": "agent_toolset_20260401", "enabled_tools": []any{"Foo"}}}}, "tools[0].enabled_tools", "unknown tool name 'Foo'"},
		{"tool both lists", "POST", "agents", map[string]any{"name": "a", "model": "auto", "tools": []any{map[string]any{"type": "agent_toolset_20260401", "enabled_tools": []any{"Bash"}, "disallowed_tools": []any{"Bash"}}}}, "tools[0].disallowed_tools", "both enabled and disallowed"},
		{"legacy tool", "POST", "agents", map[string]any{"name": "a", "model": "auto", "tools": []any{map[string]any{"type": "bash_20250124"}}}, "tools[0].type", "no longer supported"},
		{"unknown tool type", "POST", "agents", map[string]any{"name": "a", "model": "auto", "tools": []any{map[string]any{"type": "laser"}}}, "tools[0].type", "unknown tool type 'laser'"},
		{"bad permission policy", "POST", "agents", map[string]any{"name": "a", "model": "auto", "tools": []any{map[string]any{"type": "agent_toolset_20260401", "configs": []any{map[string]any{"name": "Bash", "permission_policy": map[string]any{"type": "sometimes"}}}}}}, "tools[0].configs[0].permission_policy.type", "must be one of"},
		{"browser without beta", "POST", "agents", map[string]any{"name": "a", "model": "auto", "tools": []any{map[string]any{"type": "browser_toolset_20260714"}}}, "tools[0].type", "x-qoder-beta: browser-use-2026-07-14"},
		{"custom tool without schema", "POST", "agents", map[string]any{"name": "a", "model": "auto", "tools": []any{map[string]any{"type": "custom", "name": "w", "description": "d"}}}, "tools[0].input_schema", "missing required field: input_schema"},
		{"custom tool bad name", "POST", "agents", map[string]any{"name": "a", "model": "auto", "tools": []any{map[string]any{"type": "custom", "name": "a b", "description": "d", "input_schema": map[string]any{}}}}, "tools[0].name", "letters, digits"},
		{"mcp toolset without server", "POST", "agents", map[string]any{"name": "a", "model": "auto", "tools": []any{map[string]any{"type": "mcp_toolset", "mcp_server_name": "x"}}}, "tools[0].mcp_server_name", "does not match"},
		{"mcp server unreferenced", "POST", "agents", map[string]any{"name": "a", "model": "auto", "mcp_servers": []any{map[string]any{"name": "x", "type": "url", "url": "https://x.example/mcp"}}}, "mcp_servers", "not referenced"},
		{"mcp server bad url", "POST", "agents", map[string]any{"name": "a", "model": "auto", "mcp_servers": []any{map[string]any{"name": "x", "type": "url", "url": "ftp:x"}}}, "mcp_servers[0].url", "http or https"},
		{"metadata not strings", "POST", "agents", map[string]any{"name": "a", "model": "auto", "metadata": map[string]any{"k": 1}}, "metadata", "values must be strings"},
		{"metadata too many", "POST", "agents", map[string]any{"name": "a", "model": "auto", "metadata": manyPairs(17)}, "metadata", "at most 16"},
		{"update without version", "POST", "agents/" + ag, map[string]any{"name": "b"}, "version", "Missing required field: version"},
		{"update version string", "POST", "agents/" + ag, map[string]any{"version": "1"}, "version", "must be a number"},
		{"update clears name", "POST", "agents/" + ag, map[string]any{"version": 1, "name": nil}, "name", "cannot be cleared"},
		{"get bad version", "GET", "agents/" + ag + "?version=x", nil, "version", "positive integer"},
		{"env without name", "POST", "environments", map[string]any{}, "name", "Missing required field: name"},
		{"env config empty", "POST", "environments", map[string]any{"name": "e", "config": map[string]any{}}, "config.type", "must have a 'type'"},
		{"env config null", "POST", "environments", map[string]any{"name": "e", "config": nil}, "config", "cannot be null"},
		{"env networking string", "POST", "environments", map[string]any{"name": "e", "config": map[string]any{"type": "cloud", "networking": "unrestricted"}}, "config.networking", "must be an object"},
		{"env self hosted extras", "POST", "environments", map[string]any{"name": "e", "config": map[string]any{"type": "self_hosted", "packages": map[string]any{}}}, "config.packages", "unknown field"},
		{"env bad package manager", "POST", "environments", map[string]any{"name": "e", "config": map[string]any{"type": "cloud", "packages": map[string]any{"brew": []any{"x"}}}}, "config.packages.brew", "unknown field"},
		{"session agent_id", "POST", "sessions", map[string]any{"agent_id": ag, "environment_id": env}, "agent_id", "name the agent in 'agent'"},
		{"session without agent", "POST", "sessions", map[string]any{"environment_id": env}, "agent", "Missing required field: agent"},
		{"session agent object without type", "POST", "sessions", map[string]any{"agent": map[string]any{"id": ag}, "environment_id": env}, "agent.type", "missing required field: type"},
		{"session agent number", "POST", "sessions", map[string]any{"agent": 7, "environment_id": env}, "agent", "agent id or an object"},
		{"session without environment", "POST", "sessions", map[string]any{"agent": ag}, "environment_id", "Missing required field: environment_id"},
		{"session reserved env var", "POST", "sessions", map[string]any{"agent": ag, "environment_id": env, "environment_variables": "QODER_X=1"}, "environment_variables", "reserved"},
		{"session bad env var", "POST", "sessions", map[string]any{"agent": ag, "environment_id": env, "environment_variables": "1A=1"}, "environment_variables", "not valid"},
		{"session statuses filter", "GET", "sessions?statuses=sleeping", nil, "statuses", "statuses must be among"},
		{"agent_version alone", "GET", "sessions?agent_version=1", nil, "agent_version", "needs agent_id"},
		{"session update vault_ids", "POST", "sessions/" + sess, map[string]any{"vault_ids": []any{}}, "vault_ids", "cannot be updated"},
		{"bare event", "POST", events, msg([]any{text}), "events", "not a bare event object"},
		{"events not array", "POST", events, map[string]any{"events": msg([]any{text})}, "events", "must be an array"},
		{"no events", "POST", events, `{"events":[]}`, "events", "at least one event"},
		{"null events", "POST", events, `{"events":null}`, "events", "Missing required field: events"},
		{"extra top-level field", "POST", events, map[string]any{"events": []any{msg([]any{text})}, "x": 1}, "x", "Unknown field 'x'."},
		{"event not object", "POST", events, batch("hi"), "events[0]", "must be an object"},
		{"event without type", "POST", events, batch(map[string]any{"content": []any{text}}), "events[0].type", "missing required field: type"},
		{"unknown event type", "POST", events, batch(map[string]any{"type": "user.shout"}), "events[0].type", "unknown input event type 'user.shout'"},
		{"output event type", "POST", events, batch(map[string]any{"type": "agent.message", "content": []any{text}}), "events[0].type", "unknown input event type"},
		{"string content", "POST", events, batch(msg("hi")), "events[0].content", "not a string"},
		{"empty content", "POST", events, batch(msg([]any{})), "events[0].content", "non-empty array"},
		{"missing content", "POST", events, batch(map[string]any{"type": "user.message"}), "events[0].content", "missing required field: content"},
		{"unknown event field", "POST", events, batch(map[string]any{"type": "user.message", "content": []any{text}, "role": "user"}), "events[0].role", "unknown field 'role'"},
		{"unknown block type", "POST", events, batch(msg([]any{map[string]any{"type": "video"}})), "events[0].content[0].type", "must be one of"},
		{"text block without text", "POST", events, batch(msg([]any{map[string]any{"type": "text"}})), "events[0].content[0].text", "missing required field: text"},
		{"image without source", "POST", events, batch(msg([]any{map[string]any{"type": "image"}})), "events[0].content[0].source", "missing required field: source"},
		{"system not last", "POST", events, batch(map[string]any{"type": "system.message", "content": []any{text}}, msg([]any{text})), "events[0].type", "must be the last event"},
		{"two system messages", "POST", events, batch(map[string]any{"type": "system.message", "content": []any{text}}, map[string]any{"type": "system.message", "content": []any{text}}), "events[0].type", "only one is allowed"},
		{"system image", "POST", events, batch(map[string]any{"type": "system.message", "content": []any{map[string]any{"type": "image", "source": map[string]any{"type": "url", "url": "u"}}}}), "events[0].content[0].type", "must be one of 'text'"},
		{"confirmation bad result", "POST", events, batch(map[string]any{"type": "user.tool_confirmation", "tool_use_id": "evt_x", "result": "maybe"}), "events[0].result", "must be one of 'allow', 'deny'"},
		{"deny message with allow", "POST", events, batch(map[string]any{"type": "user.tool_confirmation", "tool_use_id": "evt_x", "result": "allow", "deny_message": "no"}), "events[0].deny_message", "only allowed with result 'deny'"},
		{"custom result without id", "POST", events, batch(map[string]any{"type": "user.custom_tool_result", "content": []any{text}}), "events[0].custom_tool_use_id", "missing required field"},
		{"custom result is_error string", "POST", events, batch(map[string]any{"type": "user.custom_tool_result", "custom_tool_use_id": "evt_x", "is_error": "yes"}), "events[0].is_error", "must be a boolean"},
		{"outcome without rubric", "POST", events, batch(map[string]any{"type": "user.define_outcome", "description": "d"}), "events[0].rubric", "missing required field: rubric"},
		{"stream bad deltas", "GET", events + "/stream?event_deltas[]=agent.tool_use", nil, "event_deltas[]", "must be among"},
		{"events bad order", "GET", events + "?order=up", nil, "order", "'asc' or 'desc'"},
		{"events unknown cursor", "GET", events + "?after_id=evt_nope", nil, "after_id", "not an event of session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.req(tt.method, tt.path, tt.body)
			require.Equal(t, 400, r.status, "%s", r.body)
			typ, msg, param := r.errorOf(t)
			assert.Equal(t, "invalid_request_error", typ)
			assert.Contains(t, msg, tt.message)
			assert.Equal(t, tt.param, param)
		})
	}
	assert.Equal(t, []string{}, nonNilStrings(a.srv.EventTypes(sess)), "no rejected event was recorded")
}

func manyPairs(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[fmt.Sprint("k", i)] = "v"
	}
	return m
}

func TestBodyTooLarge(t *testing.T) {
	a := newAPI(t, WithMaxBodySize(1024))
	body := `{"name":"` + strings.Repeat("x", 2000) + `","model":"auto"}`
	r := a.req("POST", "agents", body)
	require.Equal(t, 400, r.status)
	typ, msg, _ := r.errorOf(t)
	assert.Equal(t, "invalid_request_error", typ)
	assert.Contains(t, msg, "too large")
	assert.Equal(t, 201, a.req("POST", "agents", `{"name":"small","model":"auto"}`).status)
}

// TestGarbageBodies sends random and mutated bodies to every write route:
// the answer is always a 2xx or a 4xx with the error envelope, never a
// 5xx.
func TestGarbageBodies(t *testing.T) {
	a := newAPI(t)
	env := a.createEnv("e")
	ag := a.createAgent("a", nil)
	sess := a.ok(201, "POST", "sessions", map[string]any{"agent": ag, "environment_id": env})["id"].(string)
	paths := []string{
		"agents", "agents/" + ag, "environments", "environments/" + env,
		"sessions", "sessions/" + sess, "sessions/" + sess + "/events",
	}
	seeds := []string{
		`{"name":"a","model":"ultimate","tools":[{"type":"agent_toolset_20260401","configs":[{"name":"Bash","permission_policy":{"type":"always_ask"}}]}],"metadata":{"k":"v"},"version":1}`,
		`{"name":"e","config":{"type":"cloud","networking":{"type":"limited","allowed_hosts":["x"]},"packages":{"pip":["a"]}}}`,
		`{"agent":{"type":"agent","id":"` + ag + `","version":1},"environment_id":"` + env + `","resources":[{"type":"github_repository","url":"https://github.com/a/b","authorization_token":"t","checkout":{"type":"branch","name":"main"}}],"initial_events":[{"type":"user.message","content":[{"type":"text","text":"x"}]}]}`,
		`{"events":[{"type":"user.message","content":[{"type":"text","text":"x"},{"type":"image","source":{"type":"base64","data":"x","media_type":"image/png"}}]},{"type":"system.message","content":[{"type":"text","text":"y"}]}]}`,
		`{"events":[{"type":"user.define_outcome","description":"d","rubric":{"type":"text","content":"c"},"max_iterations":3},{"type":"user.interrupt"}]}`,
		`{"title":"t","metadata":{"a":null},"environment_variables":"A=1;B=2","agent":{"tools":[]},"budget":{"type":"x","max_list_cost":1}}`,
	}
	values := []string{`null`, `0`, `-1`, `1e309`, `1.5`, `""`, `"x"`, `true`, `[]`, `{}`, `[null]`, `[{}]`, `{"type":null}`, `[1,"a"]`, `"\u0000"`, `99999999999999999999`}
	rng := rand.New(rand.NewPCG(1, 2))
	mutate := func(seed string) string {
		var v any
		if json.Unmarshal([]byte(seed), &v) != nil {
			return seed
		}
		var walk func(v any, depth int) any
		walk = func(v any, depth int) any {
			switch x := v.(type) {
			case map[string]any:
				for k := range x {
					if rng.IntN(4) == 0 {
						var r any
						_ = json.Unmarshal([]byte(values[rng.IntN(len(values))]), &r)
						x[k] = r
					} else {
						x[k] = walk(x[k], depth+1)
					}
				}
				if rng.IntN(8) == 0 {
					x["type"] = values[rng.IntN(len(values))]
				}
			case []any:
				for i := range x {
					x[i] = walk(x[i], depth+1)
				}
			}
			return v
		}
		out, _ := json.Marshal(walk(v, 0))
		return string(out)
	}
	var bodies []string
	for _, s := range seeds {
		bodies = append(bodies, s)
		for range 40 {
			bodies = append(bodies, mutate(s))
		}
		for cut := 1; cut < len(s); cut += len(s)/7 + 1 {
			bodies = append(bodies, s[:cut])
		}
	}
	for range 40 {
		b := make([]byte, rng.IntN(64))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		bodies = append(bodies, string(b))
	}
	bodies = append(bodies, values...)
	for _, path := range paths {
		for _, body := range bodies {
			r := a.req("POST", path, body)
			if !assert.Less(t, r.status, 500, "POST %s %s -> %d %s", path, body, r.status, r.body) {
				return
			}
			if r.status >= 400 {
				typ, _, _ := r.errorOf(t)
				assert.Equal(t, errorType(r.status), typ, "POST %s %s -> %s", path, body, r.body)
			}
		}
	}
}
