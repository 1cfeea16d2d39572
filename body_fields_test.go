package qoder

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestApplyBodyFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		fields []bodyField
		want   string
	}{
		{"set a new field goes last", `{"name":"a","model":"m"}`, []bodyField{{name: "priority", value: "high"}}, `{"name":"a","model":"m","priority":"high"}`},
		{"set replaces in place", `{"name":"a","model":"m"}`, []bodyField{{name: "name", value: 7}}, `{"name":7,"model":"m"}`},
		{"remove", `{"name":"a","model":"m"}`, []bodyField{{name: "name", remove: true}}, `{"model":"m"}`},
		{"remove a missing field", `{"name":"a"}`, []bodyField{{name: "x", remove: true}}, `{"name":"a"}`},
		{"in order: set then remove", `{}`, []bodyField{{name: "x", value: 1}, {name: "x", remove: true}}, `{}`},
		{"in order: remove then set", `{"x":1}`, []bodyField{{name: "x", remove: true}, {name: "x", value: 2}}, `{"x":2}`},
		{"raw JSON is sent as it is", `{"a":1}`, []bodyField{{name: "cfg", value: json.RawMessage(`{"deep": [1, 2]}`)}}, `{"a":1,"cfg":{"deep":[1,2]}}`},
		{"null", `{"a":1}`, []bodyField{{name: "a", value: nil}}, `{"a":null}`},
		{"no HTML escaping, odd names", `{}`, []bodyField{{name: `a"<b>`, value: "<&>"}}, `{"a\"<b>":"<&>"}`},
		{"untouched members keep their bytes", `{"t":"2026-01-02T03:04:05.123456789Z","n":1.50,"s":"\u00e9"}`, []bodyField{{name: "z", value: true}}, `{"t":"2026-01-02T03:04:05.123456789Z","n":1.50,"s":"\u00e9","z":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyBodyFields([]byte(tt.body), tt.fields)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}

	t.Run("errors", func(t *testing.T) {
		_, err := applyBodyFields([]byte(`[1]`), []bodyField{{name: "x", value: 1}})
		assert.ErrorIs(t, err, errNotAnObject)
		_, err = applyBodyFields([]byte(`{}`), []bodyField{{name: "x", value: make(chan int)}})
		assert.ErrorContains(t, err, `WithBodyField("x")`)
		_, err = applyBodyFields([]byte(`{}`), []bodyField{{name: "x", value: json.RawMessage(`{bad`)}})
		assert.ErrorContains(t, err, `WithBodyField("x")`)
	})
}

// TestBodyFields_onTheWire: fields set and removed reach the server in the
// typed body, and every retry sends the same bytes with the same key.
func TestBodyFields_onTheWire(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	rec := serveAfterFailures(t, mux, "POST /api-test/agents", 2, http.StatusOK, `{"id":"agent_1","type":"agent","name":"bot","version":1,"priority":"high"}`, nil)
	agent, err := c.Agents.Create(t.Context(), &AgentCreateParams{Name: "bot", Model: ModelConfig{ID: "ultimate"}, System: "be brief"},
		WithBodyField("priority", "high"),
		WithBodyField("labels", []string{"a", "b"}),
		WithoutBodyField("system"),
	)
	require.NoError(t, err)
	body := rec.assertReplayed(t, 3) // two 503s, then the answer
	assert.JSONEq(t, `{"name":"bot","model":"ultimate","priority":"high","labels":["a","b"]}`, body)

	var extra struct {
		Priority string `json:"priority"`
	}
	require.NoError(t, json.Unmarshal(agent.Raw(), &extra), "and Raw reads the field back")
	assert.Equal(t, "high", extra.Priority)
}

// TestBodyFields_withoutABody: a body field on a call that sends no JSON
// body fails before any I/O, as a local invalid request.
func TestBodyFields_withoutABody(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	set := WithBodyField("x", 1)
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"Get", func() error { _, err := c.Agents.Get(t.Context(), "agent_1", set); return err }, "GET /agents/agent_1: body field options: this call sends no body"},
		{"Archive, a POST without a body", func() error { _, err := c.Agents.Archive(t.Context(), "agent_1", set); return err }, "POST /agents/agent_1/archive: body field options: this call sends no body"},
		{"Delete", func() error { _, err := c.Agents.Delete(t.Context(), "agent_1", WithoutBodyField("x")); return err }, "this call sends no body"},
		{"a stream", func() error { _, err := c.Events.Stream(t.Context(), "sess_1", nil, set); return err }, "GET /sessions/sess_1/events/stream: body field options: this call sends no body"},
		{"a multipart upload", func() error {
			_, err := c.Files.Upload(t.Context(), &FileUploadParams{Name: "a.txt", Content: strings.NewReader("hi")}, set)
			return err
		}, "POST /files: body field options: this call sends a multipart form, not a JSON body"},
		{"a raw GET", func() error { return c.Do(t.Context(), http.MethodGet, "widgets", nil, nil, set) }, "GET /widgets: body field options: this call sends no body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidRequest)
			assert.ErrorContains(t, err, tt.want)
			var apiErr *APIError
			assert.NotErrorAs(t, err, &apiErr, "a local rejection")
		})
	}
}

// TestQueryParams_onTheWire: query parameters are added after the typed
// ones, on a list and on every connection of a stream.
func TestQueryParams_onTheWire(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/agents", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "include_archived=true&limit=5&limit=7&tag=a&tag=b", r.URL.RawQuery)
		serveJSON(t, w, http.StatusOK, `{"data":[],"has_more":false}`)
	})
	_, err := c.Agents.List(t.Context(), &AgentListParams{Limit: 5},
		WithQueryParam("tag", "a"), WithQueryParam("include_archived", "true"), WithQueryParam("tag", "b"), WithQueryParam("limit", "7"))
	require.NoError(t, err)

	t.Run("a stream sends them on every reconnect", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			assert.Equal(t, "event_deltas%5B%5D=agent.message&since=x%26y", r.URL.RawQuery)
			sseStart(w)
			if n == 0 {
				sseWrite(w, sseEvents(1, 1)...)
				abort()
			}
			sseWrite(w, sseEvent("evt_2", EventTypeSessionDeleted))
		})
		s, err := c.Events.Stream(withStreamDeadline(t, t.Context()), streamSessionID, &StreamParams{EventDeltas: []string{"agent.message"}}, WithQueryParam("since", "x&y"))
		require.NoError(t, err)
		defer s.Close()
		evs := collectStream(t, s, streamWait)
		require.NoError(t, s.Err())
		assert.Equal(t, idRange(1, 2), eventIDs(evs))
		assert.Len(t, rr.lastEventIDs(), 2, "a reconnect")
	})
}
