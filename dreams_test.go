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

const testDreamID = "drm_019e86b4a8f070a3b6c5d4e3f2a1b0c9"

func TestDreamsService_Create(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *DreamCreateParams
		body   string
	}{
		{"memory store, model id", &DreamCreateParams{
			Inputs: []DreamInput{DreamFromMemoryStore("memstore_1")}, Model: DreamModel{ID: "auto"},
			Instructions: "Focus on user preferences for code style",
		}, `{"inputs":[{"type":"memory_store","memory_store_id":"memstore_1"}],"model":"auto","instructions":"Focus on user preferences for code style"}`},
		{"sessions, model with speed, output behavior", &DreamCreateParams{
			Inputs: []DreamInput{DreamFromSessions("sess_1", "sess_2")}, Model: DreamModel{ID: "m1", Speed: "fast"},
			OutputBehavior: json.RawMessage(`{"type":"new_memory_store"}`),
		}, `{"inputs":[{"type":"sessions","session_ids":["sess_1","sess_2"]}],"model":{"id":"m1","speed":"fast"},
			"output_behavior":{"type":"new_memory_store"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/dreams", func(w http.ResponseWriter, r *http.Request) {
				assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "dreams/dream.json")
			})
			d, err := client.Dreams.Create(t.Context(), tt.params)
			require.NoError(t, err)
			assert.Equal(t, testDreamID, d.ID)
		})
	}
	client, _ := newTestClient(t)
	_, err := client.Dreams.Create(t.Context(), nil)
	assert.EqualError(t, err, "qoder: dream create params are required")
}

func TestDreamsService_Get(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/dreams/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testDreamID, r.PathValue("id"))
		serveFixture(t, w, http.StatusOK, "dreams/dream.json")
	})
	d, err := client.Dreams.Get(t.Context(), testDreamID)
	require.NoError(t, err)
	want := &Dream{
		ID: testDreamID, Type: "dream", Status: DreamCompleted,
		Inputs:    []DreamInput{DreamFromMemoryStore("memstore_019e5cdb9c3f71c3b6505eba937a40b4")},
		Outputs:   []DreamOutput{{Type: "memory_store", MemoryStoreID: "memstore_019e86b4b10578059435632bb357c5ed", FilesTouched: []string{"preferences.md", "project/arch.md"}}},
		Model:     DreamModel{ID: "auto"},
		SessionID: "sess_019e86b4b10578059435632bb357c5ed",
		Usage:     DreamUsage{InputTokens: 12500, OutputTokens: 3200, CacheReadInputTokens: 8000},
		CreatedAt: time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC),
		EndedAt:   time.Date(2026, 6, 15, 10, 3, 42, 0, time.UTC),
	}
	assert.Equal(t, *want, withoutRaw(*d))
	assert.True(t, d.Done())
}

func TestDream_decodesErrorAndModelForms(t *testing.T) {
	t.Parallel()
	var d Dream
	require.NoError(t, json.Unmarshal([]byte(`{"status":"failed","model":{"id":"m1","speed":"fast"},
		"error":{"type":"model_error","message":"overloaded"},"output_behavior":{"type":"in_place"}}`), &d))
	assert.Equal(t, DreamModel{ID: "m1", Speed: "fast"}, d.Model)
	assert.Equal(t, &DreamError{Type: "model_error", Message: "overloaded"}, d.Error)
	assert.JSONEq(t, `{"type":"in_place"}`, string(d.OutputBehavior))
	require.NoError(t, json.Unmarshal([]byte(`{"model":"auto","error":null}`), &d))
	assert.Equal(t, DreamModel{ID: "auto"}, d.Model)
	assert.Nil(t, d.Error)
}

func TestDream_Done(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dream Dream
		done  bool
	}{
		{Dream{Status: DreamPending}, false},
		{Dream{Status: DreamRunning}, false},
		{Dream{Status: DreamCompleted}, true},
		{Dream{Status: DreamFailed}, true},
		{Dream{Status: DreamCanceled}, true},
		{Dream{Status: "consolidating"}, false},
		{Dream{Status: "expired", EndedAt: time.Unix(1, 0)}, true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.done, tt.dream.Done(), "%+v", tt.dream.Status)
	}
}

func TestDreamsService_List(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *DreamListParams
		query  url.Values
	}{
		{"defaults", nil, url.Values{}},
		{"every filter", &DreamListParams{
			Limit: 2, Page: "tok", IncludeArchived: true, Statuses: []DreamStatus{DreamRunning, DreamFailed},
			CreatedAtGt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), CreatedAtLt: time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC),
		}, url.Values{"limit": {"2"}, "page": {"tok"}, "include_archived": {"true"}, "statuses": {"running", "failed"},
			"created_at[gt]": {"2026-06-01T00:00:00Z"}, "created_at[lt]": {"2026-06-02T00:00:00Z"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("GET /api-test/dreams", func(w http.ResponseWriter, r *http.Request) {
				resAssertQuery(t, r, tt.query)
				serveJSON(t, w, http.StatusOK, `{"data":[`+string(fixture(t, "dreams/dream.json"))+`]}`)
			})
			page, err := client.Dreams.List(t.Context(), tt.params)
			require.NoError(t, err)
			require.Len(t, page.Data, 1)
		})
	}
}

func TestDreamsService_All(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("GET /api-test/dreams", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			assert.Empty(t, r.URL.RawQuery)
			serveJSON(t, w, http.StatusOK, `{"data":[{"id":"drm_a"}],"next_page":"p2"}`)
			return
		}
		resAssertQuery(t, r, url.Values{"page": {"p2"}})
		serveJSON(t, w, http.StatusOK, `{"data":[{"id":"drm_b"}]}`)
	})
	dreams, err := resCollect(client.Dreams.All(t.Context(), nil))
	require.NoError(t, err)
	assert.Equal(t, []string{"drm_a", "drm_b"}, resIDs(dreams, func(d Dream) string { return d.ID }))
}

func TestDreamsService_verbs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		verb string
		call func(context.Context, *Client, string) (*Dream, error)
		body string
		want DreamStatus
	}{
		{"archive", func(ctx context.Context, c *Client, id string) (*Dream, error) { return c.Dreams.Archive(ctx, id) },
			`{"id":"drm_1","status":"completed","archived_at":"2026-06-15T12:00:00Z"}`, DreamCompleted},
		{"cancel", func(ctx context.Context, c *Client, id string) (*Dream, error) { return c.Dreams.Cancel(ctx, id) },
			`{"id":"drm_1","status":"canceled","ended_at":"2026-06-15T10:01:15Z"}`, DreamCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.verb, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/dreams/{id}/"+tt.verb, func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "drm_1", r.PathValue("id"))
				assert.Zero(t, r.ContentLength)
				serveJSON(t, w, http.StatusOK, tt.body)
			})
			d, err := tt.call(t.Context(), client, "drm_1")
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.Status)
			assert.True(t, d.Done())
		})
	}
}

func TestDreamsService_Wait(t *testing.T) {
	t.Parallel()
	states := []string{
		`{"id":"drm_1","status":"pending"}`,
		`{"id":"drm_1","status":"running","session_id":"sess_9"}`,
		`{"id":"drm_1","status":"failed","session_id":"sess_9","error":{"type":"x","message":"boom"}}`,
	}
	client, mux := newTestClient(t)
	var polls int
	mux.HandleFunc("GET /api-test/dreams/drm_1", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, states[polls])
		polls++
	})
	sleeper := &fakeSleeper{}
	client.waitSleep = sleeper.sleep
	var sessions []string
	d, err := client.Dreams.Wait(t.Context(), "drm_1", &WaitParams{OnSession: func(_ context.Context, id string) error {
		sessions = append(sessions, id)
		return nil
	}})
	require.NoError(t, err)
	assert.Equal(t, DreamFailed, d.Status)
	assert.Equal(t, "boom", d.Error.Message)
	assert.Equal(t, []string{"sess_9"}, sessions)
	assert.Equal(t, []time.Duration{time.Second, 1500 * time.Millisecond}, sleeper.delays)
}

func TestDreamsService_emptyIDs(t *testing.T) {
	t.Parallel()
	resTestEmptyIDs(t, []resEmptyIDCase{
		{"Get", "dream_id", func(ctx context.Context, c *Client) error { _, err := c.Dreams.Get(ctx, ""); return err }},
		{"Archive", "dream_id", func(ctx context.Context, c *Client) error { _, err := c.Dreams.Archive(ctx, ""); return err }},
		{"Cancel", "dream_id", func(ctx context.Context, c *Client) error { _, err := c.Dreams.Cancel(ctx, ""); return err }},
		{"Wait", "dream_id", func(ctx context.Context, c *Client) error { _, err := c.Dreams.Wait(ctx, "", nil); return err }},
	})
}

func TestDreamsService_apiErrors(t *testing.T) {
	t.Parallel()
	resTestAPIErrors(t, []resAPIErrorCase{
		{"Get", "GET /api-test/dreams/{id}", func(ctx context.Context, c *Client) error { _, err := c.Dreams.Get(ctx, "drm_x"); return err }},
		{"Cancel", "POST /api-test/dreams/{id}/cancel", func(ctx context.Context, c *Client) error {
			_, err := c.Dreams.Cancel(ctx, "drm_x")
			return err
		}},
		{"List", "GET /api-test/dreams", func(ctx context.Context, c *Client) error { _, err := c.Dreams.List(ctx, nil); return err }},
	})
}
