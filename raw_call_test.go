package qoder

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDo_retriesWithOneKey: a raw POST goes through the request path: the
// token, an idempotency key minted once and reused on each retry, the same
// body bytes, the client's headers, and the decoded result.
func TestDo_retriesWithOneKey(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t, WithHeader("X-App", "demo"))
	rec := serveAfterFailures(t, mux, "POST /api-test/widgets/w%2F1/polish", 2, http.StatusOK, `{"id":"w/1","shine":9}`, func(r *http.Request) {
		assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
		assert.Equal(t, "demo", r.Header.Get("X-App"))
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		assert.Equal(t, "dry=1", r.URL.RawQuery)
	})
	var out struct {
		ID    string `json:"id"`
		Shine int    `json:"shine"`
	}
	err := c.Do(t.Context(), "post", "/widgets/"+url.PathEscape("w/1")+"/polish", map[string]any{"level": 9, "note": "<fast>"}, &out,
		WithQueryParam("dry", "1"), WithBodyField("extra", true))
	require.NoError(t, err)
	assert.Equal(t, "w/1", out.ID)
	assert.Equal(t, 9, out.Shine)
	assert.Equal(t, `{"level":9,"note":"<fast>","extra":true}`, rec.assertReplayed(t, 3))
}

func TestDo_queryAndResults(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/widgets", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"query":`+mustJSON(t, r.URL.RawQuery)+`,"data":[{"id":"agent_1","type":"agent","name":"x"}]}`)
	})
	mux.HandleFunc("DELETE /api-test/widgets/w1", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "force=true", r.URL.RawQuery)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT /api-test/widgets/w1", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		assert.Equal(t, `{"made":"by fields"}`, string(b))
		serveJSON(t, w, http.StatusOK, `{"type":"error_free"}`)
	})
	mux.HandleFunc("GET /api-test/agents/agent_1", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"id":"agent_1","type":"agent","name":"x","new_field":"n"}`)
	})
	mux.HandleFunc("GET /api-test/missing", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusNotFound, `{"type":"error","request_id":"req_1","error":{"type":"not_found_error","message":"nope"}}`)
	})

	t.Run("a struct with url tags", func(t *testing.T) {
		var raw json.RawMessage
		require.NoError(t, c.Do(t.Context(), http.MethodGet, "widgets", &struct {
			Limit int    `url:"limit"`
			Kind  string `url:"kind,omitempty"`
		}{Limit: 3}, &raw))
		assert.JSONEq(t, `{"query":"limit=3","data":[{"id":"agent_1","type":"agent","name":"x"}]}`, string(raw), "a *json.RawMessage gets the body as it is")
	})
	t.Run("url.Values, not changed by WithQueryParam", func(t *testing.T) {
		q := url.Values{"a": {"1"}}
		var out struct{ Query string }
		require.NoError(t, c.Do(t.Context(), http.MethodGet, "widgets", q, &out, WithQueryParam("a", "2")))
		assert.Equal(t, "a=1&a=2", out.Query)
		assert.Equal(t, url.Values{"a": {"1"}}, q)
	})
	t.Run("a 204 leaves out alone", func(t *testing.T) {
		out := struct{ ID string }{ID: "kept"}
		require.NoError(t, c.Do(t.Context(), http.MethodDelete, "widgets/w1", url.Values{"force": {"true"}}, &out))
		assert.Equal(t, "kept", out.ID)
	})
	t.Run("body fields make the body of a PUT without params", func(t *testing.T) {
		require.NoError(t, c.Do(t.Context(), http.MethodPut, "widgets/w1", nil, nil, WithBodyField("made", "by fields")))
	})
	t.Run("a resource keeps its raw JSON", func(t *testing.T) {
		var agent Agent
		require.NoError(t, c.Do(t.Context(), http.MethodGet, "agents/agent_1", nil, &agent))
		assert.Equal(t, "agent_1", agent.ID)
		assert.Contains(t, string(agent.Raw()), `"new_field":"n"`)
	})
	t.Run("an error status is an *APIError", func(t *testing.T) {
		err := c.Do(t.Context(), http.MethodGet, "missing", nil, nil)
		assert.ErrorIs(t, err, ErrNotFound)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, "req_1", apiErr.RequestID)
		assert.Equal(t, "/missing", apiErr.Path)
	})
}

// TestDo_badInput: what Do cannot send fails before any I/O.
func TestDo_badInput(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	var out struct{}
	tests := []struct {
		name         string
		method, path string
		params, out  any
		want         string
	}{
		{"no method", " ", "widgets", nil, nil, "the method is required"},
		{"no path", "GET", "/", nil, nil, "the path is required"},
		{"an absolute URL", "GET", "https://evil.example/steal", nil, nil, "relative to the base URL"},
		{"a network-path reference", "GET", "//evil.example/steal", nil, nil, "relative to the base URL"},
		{"a query in the path", "GET", "widgets?limit=1", nil, nil, "WithQueryParam"},
		{"a dot-dot segment", "GET", "widgets/../../admin", nil, nil, `".." segment`},
		{"out is not a pointer", "GET", "widgets", nil, out, "out must be a non-nil pointer"},
		{"out is a nil pointer", "GET", "widgets", nil, (*struct{})(nil), "out must be a non-nil pointer"},
		{"query params that are not a struct", "GET", "widgets", map[string]string{"a": "b"}, nil, "encoding query"},
		{"a body encoding/json refuses", "POST", "widgets", map[string]any{"c": make(chan int)}, nil, "encoding body"},
		{"an invalid method", "GE T", "widgets", nil, nil, "invalid method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Do(t.Context(), tt.method, tt.path, tt.params, tt.out)
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

// TestDo_isLoggedAndRedacted: a raw call is logged like any other, and a
// token the server echoes is redacted from its error.
func TestDo_isLoggedAndRedacted(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mux := newTestClient(t, WithLogger(logger))
	mux.HandleFunc("GET /api-test/echo", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusBadRequest, `{"type":"error","error":{"type":"invalid_request_error","message":"bad token `+testToken+`"}}`)
	})
	err := c.Do(t.Context(), http.MethodGet, "echo", nil, nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testToken)
	assert.Contains(t, err.Error(), "[redacted]")
	assert.Contains(t, logs.String(), `msg="qoder: http request" method=GET path=/echo attempt=1`)
	assert.NotContains(t, logs.String(), testToken)
}

// mustJSON encodes v as JSON.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
