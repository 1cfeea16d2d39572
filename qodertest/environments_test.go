package qodertest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvironmentLifecycle(t *testing.T) {
	a := newAPI(t)
	created := a.ok(201, "POST", "environments", map[string]any{
		"name":     "doc-test-env",
		"config":   map[string]any{"type": "cloud", "packages": map[string]any{"apt": []any{"curl"}}},
		"metadata": map[string]any{"a": "1", "b": "2", "c": "3"},
	})
	id := created["id"].(string)
	assert.Equal(t, "environment", created["type"])
	assert.Equal(t, "", created["description"])
	config := created["config"].(map[string]any)
	assert.Equal(t, "cloud", config["type"])
	assert.Equal(t, map[string]any{"type": "packages", "apt": []any{"curl"}, "cargo": []any{}, "gem": []any{}, "go": []any{}, "npm": []any{}, "pip": []any{}}, config["packages"])
	assert.Equal(t, "limited", config["networking"].(map[string]any)["type"], "networking defaults to limited")

	def := a.ok(201, "POST", "environments", map[string]any{"name": "default"})
	assert.Equal(t, "cloud", def["config"].(map[string]any)["type"], "config may be omitted")

	up := a.ok(200, "POST", "environments/"+id, map[string]any{"description": nil, "metadata": map[string]any{"a": nil, "b": "", "d": "4"}})
	assert.Nil(t, up["description"])
	assert.Equal(t, map[string]any{"c": "3", "d": "4"}, up["metadata"], "null and \"\" delete keys")
	assert.Equal(t, "doc-test-env", up["name"])
	assert.Equal(t, config, up["config"])
	sh := a.ok(200, "POST", "environments/"+id, map[string]any{"config": map[string]any{"type": "self_hosted"}})
	assert.Equal(t, map[string]any{"type": "self_hosted"}, sh["config"])

	assert.Equal(t, []string{def["id"].(string), id}, ids(a.ok(200, "GET", "environments", nil)))
	arch := a.ok(200, "POST", "environments/"+id+"/archive", nil)
	assert.NotNil(t, arch["archived_at"])
	assert.Equal(t, arch["archived_at"], a.ok(200, "POST", "environments/"+id+"/archive", nil)["archived_at"], "archive is idempotent")
	assert.Equal(t, []string{def["id"].(string)}, ids(a.ok(200, "GET", "environments", nil)))

	assert.Equal(t, map[string]any{"id": id, "type": "environment_deleted"}, a.ok(200, "DELETE", "environments/"+id, nil))
	assert.Equal(t, 404, a.req("GET", "environments/"+id, nil).status)
}

func TestEnvironmentDeleteWhileReferenced(t *testing.T) {
	a := newAPI(t)
	env := a.createEnv("e")
	sess := a.ok(201, "POST", "sessions", map[string]any{"agent": a.createAgent("a", nil), "environment_id": env})["id"].(string)
	r := a.req("DELETE", "environments/"+env, nil)
	require.Equal(t, 409, r.status)
	typ, _, _ := r.errorOf(t)
	assert.Equal(t, "conflict_error", typ)
	a.ok(200, "DELETE", "sessions/"+sess, nil)
	a.ok(200, "DELETE", "environments/"+env, nil)
}
