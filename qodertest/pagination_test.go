package qodertest

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ids returns the ids of a list page's items.
func ids(page map[string]any) []string {
	var out []string
	for _, d := range page["data"].([]any) {
		out = append(out, d.(map[string]any)["id"].(string))
	}
	return out
}

func TestPaginationIDCursors(t *testing.T) {
	a := newAPI(t)
	var created []string
	for i := range 5 {
		created = append(created, a.createAgent(fmt.Sprintf("a%d", i), nil))
	}
	newest := []string{created[4], created[3], created[2], created[1], created[0]}

	all := a.ok(200, "GET", "agents", nil)
	assert.Equal(t, newest, ids(all), "newest first")
	assert.Equal(t, false, all["has_more"])
	assert.Nil(t, all["next_page"])

	p1 := a.ok(200, "GET", "agents?limit=2", nil)
	assert.Equal(t, newest[:2], ids(p1))
	assert.Equal(t, newest[0], p1["first_id"])
	assert.Equal(t, newest[1], p1["last_id"])
	assert.Equal(t, true, p1["has_more"])

	p2 := a.ok(200, "GET", "agents?limit=2&after_id="+newest[1], nil)
	assert.Equal(t, newest[2:4], ids(p2))
	assert.Equal(t, true, p2["has_more"])
	p3 := a.ok(200, "GET", "agents?limit=2&after_id="+newest[3], nil)
	assert.Equal(t, newest[4:], ids(p3))
	assert.Equal(t, false, p3["has_more"])

	back := a.ok(200, "GET", "agents?limit=2&before_id="+newest[4], nil)
	assert.Equal(t, newest[2:4], ids(back), "before_id returns the items just before the cursor")
	assert.Equal(t, true, back["has_more"])
	back = a.ok(200, "GET", "agents?limit=2&before_id="+newest[2], nil)
	assert.Equal(t, newest[:2], ids(back))
	assert.Equal(t, false, back["has_more"])

	// Cursors stay valid after their item is deleted.
	a.ok(200, "DELETE", "agents/"+newest[1], nil)
	assert.Equal(t, newest[2:], ids(a.ok(200, "GET", "agents?after_id="+newest[1], nil)))

	empty := a.ok(200, "GET", "agents?after_id="+newest[4], nil)
	assert.Equal(t, []any{}, empty["data"])
	assert.Nil(t, empty["first_id"])
	assert.Nil(t, empty["last_id"])
	assert.Equal(t, false, empty["has_more"])
}

func TestPaginationPageTokens(t *testing.T) {
	a := newAPI(t)
	var want []string
	for i := range 7 {
		want = append([]string{a.createEnv(fmt.Sprintf("e%d", i))}, want...)
	}
	var got []string
	page := ""
	for range 10 {
		q := "environments?limit=3"
		if page != "" {
			q += "&page=" + url.QueryEscape(page)
		}
		p := a.ok(200, "GET", q, nil)
		got = append(got, ids(p)...)
		next, _ := p["next_page"].(string)
		if next == "" {
			assert.Equal(t, false, p["has_more"])
			break
		}
		assert.True(t, strings.HasPrefix(next, "page_"), next)
		page = next
	}
	assert.Equal(t, want, got)

	// A token of one list is not valid for another.
	p := a.ok(200, "GET", "environments?limit=1", nil)
	r := a.req("GET", "agents?page="+url.QueryEscape(p["next_page"].(string)), nil)
	assert.Equal(t, 400, r.status)
}

func TestPaginationErrors(t *testing.T) {
	a := newAPI(t)
	ag := a.createAgent("a", nil)
	tests := []struct {
		query, param string
	}{
		{"limit=0", "limit"},
		{"limit=-1", "limit"},
		{"limit=ten", "limit"},
		{"after_id=" + ag + "&before_id=" + ag, ""},
		{"page=page_x&after_id=" + ag, ""},
		{"page=page_x&before_id=" + ag, ""},
		{"page=bogus", "page"},
		{"page=page_%21%21", "page"},
		{"after_id=agent_unknown", "after_id"},
		{"before_id=env_unknown", "before_id"},
		{"include_archived=maybe", "include_archived"},
		{"order=sideways", "order"},
		{"created_at[gte]=yesterday", "created_at[gte]"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := a.req("GET", "agents?"+tt.query, nil)
			require.Equal(t, 400, r.status, "%s", r.body)
			typ, msg, param := r.errorOf(t)
			assert.Equal(t, "invalid_request_error", typ)
			assert.NotEmpty(t, msg)
			assert.Equal(t, tt.param, param)
		})
	}
}

func TestPaginationLimitCap(t *testing.T) {
	a := newAPI(t)
	sessionID := a.srv.SeedSession(a.srv.SeedAgent("a"), a.srv.SeedEnvironment("e"))
	for range 12 { // 12 turns of the default agent make 108 events
		require.Equal(t, 202, a.send(sessionID, userMessage("x")).status)
		a.waitStatus(sessionID, "idle", "end_turn")
	}
	p := a.ok(200, "GET", "sessions/"+sessionID+"/events?limit=1000", nil)
	assert.Len(t, p["data"], 100, "limit is capped at 100 without an error")
	assert.Equal(t, true, p["has_more"])
	p = a.ok(200, "GET", "sessions/"+sessionID+"/events", nil)
	assert.Len(t, p["data"], 20, "default limit")
}

func TestAgentVersionsPagination(t *testing.T) {
	a := newAPI(t)
	id := a.createAgent("v", nil)
	for v := 1; v < 4; v++ {
		a.ok(200, "POST", "agents/"+id, map[string]any{"version": v, "description": fmt.Sprint("v", v+1)})
	}
	all := a.ok(200, "GET", "agents/"+id+"/versions", nil)
	var versions []float64
	for _, d := range all["data"].([]any) {
		versions = append(versions, d.(map[string]any)["version"].(float64))
	}
	assert.Equal(t, []float64{4, 3, 2, 1}, versions, "newest first")
	assert.Equal(t, "4", all["first_id"])
	assert.Equal(t, "1", all["last_id"])

	p := a.ok(200, "GET", "agents/"+id+"/versions?limit=2&after_id=3", nil)
	assert.Equal(t, "2", p["first_id"])
	assert.Equal(t, "1", p["last_id"])
	p = a.ok(200, "GET", "agents/"+id+"/versions?limit=1&before_id=2", nil)
	assert.Equal(t, "3", p["first_id"])
	assert.Equal(t, true, p["has_more"])
	p = a.ok(200, "GET", "agents/"+id+"/versions?limit=3", nil)
	p = a.ok(200, "GET", "agents/"+id+"/versions?page="+url.QueryEscape(p["next_page"].(string)), nil)
	assert.Equal(t, "1", p["first_id"])
	assert.Equal(t, 400, a.req("GET", "agents/"+id+"/versions?after_id=two", nil).status)
}
