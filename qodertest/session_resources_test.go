package qodertest

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resourceSession creates a session with a file, a repository and a memory
// store attached, and returns its path ("sessions/<id>") and resources.
func resourceSession(t *testing.T, a *api) (string, []any) {
	t.Helper()
	store := a.ok(200, "POST", "memory_stores", map[string]any{"name": "Notes", "description": "team notes"})["id"]
	s := a.ok(201, "POST", "sessions", map[string]any{"agent": a.srv.SeedAgent("a"), "environment_id": a.srv.SeedEnvironment("e"),
		"resources": []any{
			map[string]any{"type": "file", "file_id": a.srv.SeedFile("spec.md", []byte("# Spec")), "mount_path": "/data/spec.md"},
			map[string]any{"type": "github_repository", "url": "https://github.com/o/repo", "authorization_token": "ghp_old",
				"checkout": map[string]any{"type": "branch", "name": "main"}},
			map[string]any{"type": "memory_store", "memory_store_id": store, "access": "read_only"},
		}})
	return "sessions/" + s["id"].(string), s["resources"].([]any)
}

func TestSessionResources_crud(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	sess, created := resourceSession(t, a)
	require.Len(t, created, 3)

	list := a.ok(200, "GET", sess+"/resources", nil)
	assert.Equal(t, created, list["data"], "the resources given at create, in order")
	assert.Equal(t, false, list["has_more"])
	assert.Equal(t, created[0].(map[string]any)["id"], list["first_id"])
	assert.Equal(t, created[2].(map[string]any)["id"], list["last_id"])
	assert.Nil(t, list["next_page"])
	repo := created[1].(map[string]any)
	assert.Regexp(t, `^sesr_[0-9a-f]{32}$`, repo["id"])
	assert.Equal(t, map[string]any{"type": "branch", "name": "main"}, repo["checkout"])
	assert.NotContains(t, repo, "authorization_token")
	store := created[2].(map[string]any)
	assert.Equal(t, "/mnt/memory/notes", store["mount_path"])
	assert.Equal(t, "team notes", store["description"])

	fileID := a.srv.SeedFile("data.csv", []byte("a,b\n"))
	added := a.ok(200, "POST", sess+"/resources", map[string]any{"type": "file", "file_id": fileID})
	assert.Equal(t, "file", added["type"])
	assert.Equal(t, fileID, added["file_id"])
	assert.Equal(t, "/mnt/session/uploads/"+fileID, added["mount_path"], "the default mount path")
	assert.NotEmpty(t, added["created_at"])
	id := added["id"].(string)
	assert.Equal(t, added, a.ok(200, "GET", sess+"/resources/"+id, nil))
	assert.Len(t, a.ok(200, "GET", sess, nil)["resources"], 4, "the session shows the added file")

	rotated := a.ok(200, "POST", sess+"/resources/"+repo["id"].(string), map[string]any{"authorization_token": "ghp_new"})
	assert.NotContains(t, rotated, "authorization_token", "tokens are write-only")
	assert.Equal(t, repo["url"], rotated["url"])
	assert.Equal(t, repo["created_at"], rotated["created_at"])
	assert.NotEqual(t, repo["updated_at"], rotated["updated_at"])
	assert.NotContains(t, string(a.req("GET", sess+"/resources", nil).body), "ghp_")

	assert.Equal(t, map[string]any{"id": id, "type": "session_resource_deleted"}, a.ok(200, "DELETE", sess+"/resources/"+id, nil))
	r := a.req("GET", sess+"/resources/"+id, nil)
	require.Equal(t, 404, r.status)
	typ, msg, _ := r.errorOf(t)
	assert.Equal(t, "not_found_error", typ)
	assert.Contains(t, msg, id)
	assert.Len(t, a.ok(200, "GET", sess+"/resources", nil)["data"], 3)
	assert.Equal(t, 404, a.req("DELETE", sess+"/resources/"+id, nil).status, "deleted once")

	legacy := a.ok(200, "POST", sess+"/resources", map[string]any{"resources": []any{
		map[string]any{"type": "file", "file_id": fileID, "mount_path": "/data/in/data.csv"},
	}})
	assert.Equal(t, "session", legacy["type"], "the legacy body answers with the session")
	res := legacy["resources"].([]any)
	require.Len(t, res, 4)
	assert.Equal(t, "/data/in/data.csv", res[3].(map[string]any)["mount_path"])
}

// TestSessionResources_addedFileIsMounted checks that a file attached
// mid-session is where the agent reads, and is gone once detached.
func TestSessionResources_addedFileIsMounted(t *testing.T) {
	t.Parallel()
	a := newAPI(t, WithAgent(func(t *Turn) {
		if content, ok := t.ReadFile("/data/notes.txt"); ok {
			t.Say(string(content))
			return
		}
		t.Say("no file")
	}))
	id := a.createSession()
	reply := func() string {
		t.Helper()
		require.Equal(t, 202, a.send(id, userMessage("read")).status)
		a.waitStatus(id, "idle", "end_turn")
		evs := a.ok(200, "GET", "sessions/"+id+"/events?order=desc&type=agent.message&limit=1", nil)["data"].([]any)
		return evs[0].(map[string]any)["content"].([]any)[0].(map[string]any)["text"].(string)
	}
	assert.Equal(t, "no file", reply())
	res := a.ok(200, "POST", "sessions/"+id+"/resources", map[string]any{"type": "file",
		"file_id": a.srv.SeedFile("notes.txt", []byte("remember the milk")), "mount_path": "/data/notes.txt"})
	assert.Equal(t, "remember the milk", reply())
	a.ok(200, "DELETE", "sessions/"+id+"/resources/"+res["id"].(string), nil)
	assert.Equal(t, "no file", reply())
}

func TestSessionResources_list(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	sess := "sessions/" + a.createSession()
	var ids []any
	for i := range 5 {
		r := a.ok(200, "POST", sess+"/resources", map[string]any{"type": "file", "file_id": a.srv.SeedFile(fmt.Sprintf("f%d", i), nil)})
		ids = append(ids, r["id"])
	}
	idsOf := func(page map[string]any) []any {
		var out []any
		for _, r := range page["data"].([]any) {
			out = append(out, r.(map[string]any)["id"])
		}
		return out
	}
	assert.Equal(t, ids, idsOf(a.ok(200, "GET", sess+"/resources", nil)), "without a limit, every resource")

	p1 := a.ok(200, "GET", sess+"/resources?limit=2", nil)
	assert.Equal(t, ids[:2], idsOf(p1))
	assert.Equal(t, true, p1["has_more"])
	p2 := a.ok(200, "GET", sess+"/resources?limit=2&page="+url.QueryEscape(p1["next_page"].(string)), nil)
	assert.Equal(t, ids[2:4], idsOf(p2))
	p3 := a.ok(200, "GET", sess+"/resources?limit=2&after_id="+p2["last_id"].(string), nil)
	assert.Equal(t, ids[4:], idsOf(p3))
	assert.Equal(t, false, p3["has_more"])
	assert.Nil(t, p3["next_page"])
	back := a.ok(200, "GET", sess+"/resources?limit=2&before_id="+ids[4].(string), nil)
	assert.Equal(t, ids[2:4], idsOf(back))
	assert.Equal(t, ids, idsOf(a.ok(200, "GET", sess+"/resources?limit=5000", nil)), "a limit over 1000 is capped")

	for _, q := range []string{"limit=0", "limit=x", "after_id=" + ids[0].(string) + "&before_id=" + ids[1].(string), "page=page_bad", "after_id=sesr_nope"} {
		r := a.req("GET", sess+"/resources?"+q, nil)
		assert.Equal(t, 400, r.status, "%s: %s", q, r.body)
	}
	assert.Equal(t, 404, a.req("GET", "sessions/sess_nope/resources", nil).status)
}

func TestSessionResources_addValidation(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	sess, created := resourceSession(t, a)
	attached := created[0].(map[string]any)
	fileID := a.srv.SeedFile("x", nil)
	archived := "sessions/" + a.createSession()
	a.ok(200, "POST", archived+"/archive", nil)
	hostedEnv := a.ok(201, "POST", "environments", map[string]any{"name": "w", "config": map[string]any{"type": "self_hosted"}})["id"]
	hosted := "sessions/" + a.ok(201, "POST", "sessions", map[string]any{"agent": a.srv.SeedAgent("a"), "environment_id": hostedEnv})["id"].(string)

	tests := []struct {
		name, path string
		body       any
		status     int
		msg        string
	}{
		{"not a file", sess, map[string]any{"type": "github_repository", "url": "https://github.com/o/r", "authorization_token": "t"}, 400, "resources[0]: field 'type' must be 'file'."},
		{"no type", sess, map[string]any{"file_id": fileID}, 400, "resources[0]: field 'type' must be 'file'."},
		{"no file id", sess, map[string]any{"type": "file"}, 400, "resources[0]: field 'file_id' must be a non-empty string."},
		{"empty file id", sess, map[string]any{"type": "file", "file_id": ""}, 400, "resources[0]: field 'file_id' must be a non-empty string."},
		{"file id not a string", sess, map[string]any{"type": "file", "file_id": 7}, 400, "resources[0]: field 'file_id' must be a non-empty string."},
		{"unknown field", sess, map[string]any{"type": "file", "file_id": fileID, "access": "read_only"}, 400, "resources[0]: unknown field 'access'."},
		{"relative mount path", sess, map[string]any{"type": "file", "file_id": fileID, "mount_path": "data/x"}, 400, "resources[0]: field 'mount_path' must be an absolute path"},
		{"climbing mount path", sess, map[string]any{"type": "file", "file_id": fileID, "mount_path": "/data/../etc/x"}, 400, "resources[0]: field 'mount_path' must be an absolute path"},
		{"not an object", sess, []any{}, 400, "Request body must be a JSON object."},
		{"legacy empty", sess, map[string]any{"resources": []any{}}, 400, "Field 'resources' must hold at least one resource."},
		{"legacy second bad", sess, map[string]any{"resources": []any{map[string]any{"type": "file", "file_id": fileID}, map[string]any{"type": "memory_store"}}}, 400, "resources[1]: field 'type' must be 'file'."},
		{"legacy twice", sess, map[string]any{"resources": []any{map[string]any{"type": "file", "file_id": fileID}, map[string]any{"type": "file", "file_id": fileID}}}, 400, "resources[1]: file '" + fileID + "' is listed twice."},
		{"unknown file", sess, map[string]any{"type": "file", "file_id": "file_fake_test_id"}, 404, "File 'file_fake_test_id' was not found."},
		{"attached twice", sess, map[string]any{"type": "file", "file_id": attached["file_id"]}, 409, "is already attached"},
		{"mount path taken", sess, map[string]any{"type": "file", "file_id": fileID, "mount_path": "/data/spec.md"}, 409, "mount_path '/data/spec.md' is already used"},
		{"unknown session", "sessions/sess_nope", map[string]any{"type": "file", "file_id": fileID}, 404, "Session 'sess_nope' was not found."},
		{"archived session", archived, map[string]any{"type": "file", "file_id": fileID}, 409, "it is archived"},
		{"self-hosted environment", hosted, map[string]any{"type": "file", "file_id": fileID}, 400, "Self-hosted environments do not support session resources"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.req("POST", tt.path+"/resources", tt.body)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			_, msg, _ := r.errorOf(t)
			assert.Contains(t, msg, tt.msg)
		})
	}
	assert.Len(t, a.ok(200, "GET", sess+"/resources", nil)["data"], 3, "nothing was attached")
}

func TestSessionResources_updateAndDeleteValidation(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	sess, created := resourceSession(t, a)
	file, repo := created[0].(map[string]any)["id"].(string), created[1].(map[string]any)["id"].(string)
	tests := []struct {
		name, path string
		body       any
		status     int
		msg        string
	}{
		{"a file", sess + "/resources/" + file, map[string]any{"authorization_token": "t"}, 400, "only a github_repository's authorization_token can be updated"},
		{"another field", sess + "/resources/" + repo, map[string]any{"authorization_token": "t", "mount_path": "/x"}, 400, "Field 'mount_path' cannot be updated"},
		{"the url", sess + "/resources/" + repo, map[string]any{"url": "https://github.com/o/other"}, 400, "Field 'url' cannot be updated"},
		{"no token", sess + "/resources/" + repo, map[string]any{}, 400, "Missing required field: authorization_token"},
		{"empty token", sess + "/resources/" + repo, map[string]any{"authorization_token": ""}, 400, "must be a non-empty string"},
		{"token not a string", sess + "/resources/" + repo, map[string]any{"authorization_token": 1}, 400, "must be a string"},
		{"unknown resource", sess + "/resources/sesr_nope", map[string]any{"authorization_token": "t"}, 404, "Resource 'sesr_nope' was not found"},
		{"unknown session", "sessions/sess_nope/resources/" + repo, map[string]any{"authorization_token": "t"}, 404, "Session 'sess_nope' was not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.req("POST", tt.path, tt.body)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			_, msg, _ := r.errorOf(t)
			assert.Contains(t, msg, tt.msg)
		})
	}

	a.ok(200, "POST", sess+"/archive", nil)
	r := a.req("POST", sess+"/resources/"+repo, map[string]any{"authorization_token": "t"})
	assert.Equal(t, 409, r.status, "an archived session's token is not rotated: %s", r.body)
	a.ok(200, "DELETE", sess+"/resources/"+repo, nil) // but its resources can be detached
	assert.Equal(t, 404, a.req("DELETE", "sessions/sess_nope/resources/"+file, nil).status)
}

// TestSessionResources_createRules checks the rules a session create
// applies to its resources: each file and store once, mount paths
// distinct, at most 500.
func TestSessionResources_createRules(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	env, ag := a.srv.SeedEnvironment("e"), a.srv.SeedAgent("a")
	fileID := a.srv.SeedFile("x", nil)
	store := a.ok(200, "POST", "memory_stores", map[string]any{"name": "m"})["id"]
	repos := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"type": "github_repository", "url": fmt.Sprintf("https://github.com/o/r%d", i), "authorization_token": "t"}
		}
		return out
	}
	file := func(mount string) map[string]any {
		return map[string]any{"type": "file", "file_id": fileID, "mount_path": mount}
	}
	tests := []struct {
		name      string
		resources []any
		status    int
		msg       string
	}{
		{"500 resources", repos(500), 201, ""},
		{"501 resources", repos(501), 400, "at most 500 resources"},
		{"a file twice", []any{file("/a"), file("/b")}, 400, "resources[1]: file '" + fileID + "' is listed twice."},
		{"a store twice", []any{map[string]any{"type": "memory_store", "memory_store_id": store}, map[string]any{"type": "memory_store", "memory_store_id": store}}, 400, "resources[1]: memory store"},
		{"a mount path twice", []any{file("/data/x"), map[string]any{"type": "github_repository", "url": "https://github.com/o/r", "authorization_token": "t", "mount_path": "/data/x"}}, 400, "resources[1]: mount_path '/data/x' is used by another resource."},
		{"a relative mount path", []any{file("x")}, 400, "field 'mount_path' must be an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.req("POST", "sessions", map[string]any{"agent": ag, "environment_id": env, "resources": tt.resources})
			require.Equal(t, tt.status, r.status, "%.300s", r.body)
			if tt.status != 201 {
				_, msg, _ := r.errorOf(t)
				assert.Contains(t, msg, tt.msg)
				return
			}
			id := r.obj(t)["id"].(string)
			assert.Len(t, a.ok(200, "GET", "sessions/"+id+"/resources", nil)["data"], len(tt.resources))
			r = a.req("POST", "sessions/"+id+"/resources", map[string]any{"type": "file", "file_id": fileID})
			assert.Equal(t, 400, r.status, "a full session takes no more: %s", r.body)
		})
	}
}
