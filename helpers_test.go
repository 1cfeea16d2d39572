package qoder

import (
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testToken is the token of every test client.
const testToken = "pt-test-secret-token"

// newTestClient starts an httptest server and returns a client whose base
// URL is srv.URL+"/api-test/", so a request built with an absolute path
// misses the mux. Retries wait no time.
func newTestClient(t *testing.T, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	all := append([]Option{WithToken(testToken), WithBaseURL(srv.URL + "/api-test/")}, opts...)
	c, err := NewClient(all...)
	require.NoError(t, err)
	c.backoff = func(int) time.Duration { return 0 }
	return c, mux
}

// serveJSON writes body with status as an application/json response.
func serveJSON(t *testing.T, w http.ResponseWriter, status int, body string) {
	t.Helper()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := io.WriteString(w, body)
	assert.NoError(t, err)
}

// fixture returns the contents of testdata/<path>.
func fixture(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", path))
	require.NoError(t, err)
	return data
}

// serveFixture answers with testdata/<path> as JSON.
func serveFixture(t *testing.T, w http.ResponseWriter, status int, path string) {
	t.Helper()
	serveJSON(t, w, status, string(fixture(t, path)))
}

// assertJSONBody checks that the request body is the JSON want.
func assertJSONBody(t *testing.T, r *http.Request, want string) {
	t.Helper()
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.JSONEq(t, want, string(got))
}

// testAPIErrors registers pattern to answer a documented 404 and checks
// that call turns it into an *APIError matching ErrNotFound.
func testAPIErrors(t *testing.T, mux *http.ServeMux, pattern string, call func() error) {
	t.Helper()
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusNotFound,
			`{"type":"error","request_id":"req_404","error":{"type":"not_found_error","message":"Agent 'agent_x' was not found."}}`)
	})
	err := call()
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrNotFound)
	var apiErr *APIError
	require.True(t, errors.As(err, &apiErr), "want *APIError, got %T", err)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.Equal(t, "not_found_error", apiErr.Type)
	assert.Equal(t, "req_404", apiErr.RequestID)
	assert.NotContains(t, err.Error(), testToken)
}

// failHandler fails the test if a request reaches it.
func failHandler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "unexpected", http.StatusTeapot)
	}
}

// resEmptyIDCase is a call that must fail on an empty path id before any
// request is sent.
type resEmptyIDCase struct {
	name        string
	placeholder string
	call        func(context.Context, *Client) error
}

// resTestEmptyIDs runs each case against a server that fails the test when
// it receives a request.
func resTestEmptyIDs(t *testing.T, cases []resEmptyIDCase) {
	t.Helper()
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t.Context(), client)
			assert.EqualError(t, err, "qoder: "+tc.placeholder+" is required")
		})
	}
}

// resAPIErrorCase is a call whose route answers a documented 404.
type resAPIErrorCase struct {
	name    string
	pattern string
	call    func(context.Context, *Client) error
}

// resTestAPIErrors checks the error path of each case through testAPIErrors.
func resTestAPIErrors(t *testing.T, cases []resAPIErrorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			testAPIErrors(t, mux, tc.pattern, func() error { return tc.call(t.Context(), client) })
		})
	}
}

// resAssertQuery checks the request's query parameters.
func resAssertQuery(t *testing.T, r *http.Request, want url.Values) {
	t.Helper()
	assert.Equal(t, want, r.URL.Query())
}

// resCollect drains an All iterator.
func resCollect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var items []T
	for item, err := range seq {
		if err != nil {
			return items, err
		}
		items = append(items, item)
	}
	return items, nil
}

// resIDs maps items to a comparable key, such as their ids.
func resIDs[T, K any](items []T, key func(T) K) []K {
	keys := make([]K, 0, len(items))
	for _, item := range items {
		keys = append(keys, key(item))
	}
	return keys
}
