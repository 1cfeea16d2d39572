package qoder_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFakeResilience_Retries(t *testing.T) {
	const html = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
	type env struct {
		*fakeEnv
		agentID string
	}
	getAgent := func(ctx context.Context, e env) error {
		_, err := e.client.Agents.Get(ctx, e.agentID)
		return err
	}
	cases := []struct {
		name    string
		fail    qodertest.Failure
		opts    []qoder.Option
		call    func(context.Context, env) error
		method  string
		path    func(env) string
		want    int // requests the call makes
		wantErr error
		check   func(t *testing.T, e env, err error, reqs []qodertest.Request)
	}{
		{
			name:   "GET 503 twice then success",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 503, RetryAfter: "0", Times: 2},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 3,
		},
		{
			name: "POST create 503 twice then success, one key, one agent",
			fail: qodertest.Failure{Method: "POST", Path: "agents", Status: 503, RetryAfter: "0", Times: 2},
			call: func(ctx context.Context, e env) error {
				_, err := e.client.Agents.Create(ctx, &qoder.AgentCreateParams{Name: "retried-agent", Model: qoder.ModelConfig{ID: "ultimate"}})
				return err
			},
			method: "POST", path: func(env) string { return "agents" },
			want: 3,
			check: func(t *testing.T, e env, _ error, reqs []qodertest.Request) {
				key := reqs[0].Header.Get("Idempotency-Key")
				require.NotEmpty(t, key, "a POST carries an Idempotency-Key")
				for i, r := range reqs {
					assert.Equal(t, key, r.Header.Get("Idempotency-Key"), "attempt %d must reuse the key of the first", i+1)
					assert.Equal(t, string(reqs[0].Body), string(r.Body), "attempt %d must replay the same body", i+1)
				}
				n := 0
				for a, err := range e.client.Agents.All(fakeCtx(t), nil) {
					require.NoError(t, err)
					if a.Name == "retried-agent" {
						n++
					}
				}
				assert.Equal(t, 1, n, "the retried create must make exactly one agent")
			},
		},
		{
			name: "POST send 503 twice then success, one user.message",
			fail: qodertest.Failure{Method: "POST", Path: "sessions/*/events", Status: 503, RetryAfter: "0", Times: 2},
			call: func(ctx context.Context, e env) error {
				_, err := e.client.Events.SendMessage(ctx, e.session, "hello")
				return err
			},
			method: "POST", path: func(e env) string { return "sessions/" + e.session + "/events" },
			want: 3,
			check: func(t *testing.T, e env, _ error, reqs []qodertest.Request) {
				assert.Equal(t, reqs[0].Header.Get("Idempotency-Key"), reqs[2].Header.Get("Idempotency-Key"))
				waitFor(t, "the turn to end", func() bool {
					s, _ := e.srv.Session(e.session)
					return s.Status == "idle" && s.StopReason == "end_turn"
				})
				assert.Equal(t, 1, countOf(e.srv.EventTypes(e.session), "user.message"), "the retried send must be accepted once")
			},
		},
		{
			name:   "GET 409 is not retried",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 409},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 1, wantErr: qoder.ErrConflict,
		},
		{
			name: "POST 409 is not retried",
			fail: qodertest.Failure{Method: "POST", Path: "sessions/*/events", Status: 409},
			call: func(ctx context.Context, e env) error {
				_, err := e.client.Events.SendMessage(ctx, e.session, "hello")
				return err
			},
			method: "POST", path: func(e env) string { return "sessions/" + e.session + "/events" },
			want: 1, wantErr: qoder.ErrConflict,
			check: func(t *testing.T, e env, _ error, _ []qodertest.Request) {
				assert.Empty(t, e.srv.EventTypes(e.session), "the refused send must not reach the session")
			},
		},
		{
			name:   "429 with Retry-After 0 twice then success",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 429, RetryAfter: "0", Times: 2},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 3,
			check: func(t *testing.T, _ env, _ error, reqs []qodertest.Request) {
				// Without the header the waits would be 375–500 ms, then 750–1000 ms.
				for i := 1; i < len(reqs); i++ {
					assert.Less(t, reqs[i].Time.Sub(reqs[i-1].Time), 300*time.Millisecond, "Retry-After: 0 means retry at once (attempt %d)", i+1)
				}
			},
		},
		{
			name:   "429 with Retry-After 1 waits a second",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 429, RetryAfter: "1"},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 2,
			check: func(t *testing.T, _ env, _ error, reqs []qodertest.Request) {
				// The default first backoff is at most 500 ms.
				assert.GreaterOrEqual(t, reqs[1].Time.Sub(reqs[0].Time), time.Second, "Retry-After: 1 must be honoured")
			},
		},
		{
			name:   "retries exhausted",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 503, RetryAfter: "0", Times: 3},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 3, wantErr: qoder.ErrServer,
			check: func(t *testing.T, _ env, err error, _ []qodertest.Request) {
				var apiErr *qoder.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, 503, apiErr.StatusCode)
				assert.Equal(t, qoder.ErrorTypeAPI, apiErr.Type)
				assert.Contains(t, apiErr.Message, "Injected failure")
				require.NotEmpty(t, apiErr.RequestID)
				assert.Equal(t, apiErr.Header.Get("X-Request-Id"), apiErr.RequestID, "the request id of the last attempt")
				assert.Contains(t, err.Error(), "request_id="+apiErr.RequestID)
			},
		},
		{
			name:   "retries exhausted with WithMaxRetries(4)",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 500, RetryAfter: "0", Times: 5},
			opts:   []qoder.Option{qoder.WithMaxRetries(4)},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 5, wantErr: qoder.ErrServer,
		},
		{
			name: "WithRequestMaxRetries(0) makes one attempt",
			fail: qodertest.Failure{Method: "GET", Path: "agents/*", Status: 503, RetryAfter: "0"},
			call: func(ctx context.Context, e env) error {
				_, err := e.client.Agents.Get(ctx, e.agentID, qoder.WithRequestMaxRetries(0))
				return err
			},
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 1, wantErr: qoder.ErrServer,
		},
		{
			name:   "HTML gateway page gives a readable APIError",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 502, Body: html, RetryAfter: "0", Times: 3},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 3, wantErr: qoder.ErrServer,
			check: func(t *testing.T, _ env, err error, _ []qodertest.Request) {
				var apiErr *qoder.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, 502, apiErr.StatusCode)
				assert.Empty(t, apiErr.Type, "a gateway page has no error type")
				assert.Contains(t, strings.ToLower(apiErr.Message), "bad gateway")
				assert.NotContains(t, err.Error(), "<", "no markup in the message: %q", err.Error())
				assert.Equal(t, html, string(apiErr.Body), "the raw body is kept")
				assert.NotEmpty(t, apiErr.RequestID, "the request id comes from X-Request-Id")
			},
		},
		{
			name:   "plain-text 503 page gives its first line",
			fail:   qodertest.Failure{Method: "GET", Path: "agents/*", Status: 503, Body: "upstream connect error\nreset reason: overflow", RetryAfter: "0", Times: 3},
			call:   getAgent,
			method: "GET", path: func(e env) string { return "agents/" + e.agentID },
			want: 3, wantErr: qoder.ErrServer,
			check: func(t *testing.T, _ env, err error, _ []qodertest.Request) {
				var apiErr *qoder.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, "upstream connect error", apiErr.Message)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fe := newFakeEnv(t, nil, false)
			e := env{fakeEnv: fe, agentID: fe.srv.SeedAgent("target")}
			if tc.opts != nil {
				e.client = fe.srv.Client(append([]qoder.Option{qoder.WithHTTPClient(fe.hc)}, tc.opts...)...)
			}
			e.srv.FailRequests(tc.fail)
			err := tc.call(fakeCtx(t), e)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				var apiErr *qoder.APIError
				require.ErrorAs(t, err, &apiErr, "want *APIError, got %T", err)
			} else {
				require.NoError(t, err)
			}
			reqs := requestsTo(e.srv, tc.method, tc.path(e))
			require.Len(t, reqs, tc.want, "requests made")
			if tc.check != nil {
				tc.check(t, e, err, reqs)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Idempotency

func TestFakeResilience_Idempotency(t *testing.T) {
	create := func(e *fakeEnv, name, key string, into **http.Response) (*qoder.Agent, error) {
		opts := []qoder.RequestOption{qoder.WithIdempotencyKey(key)}
		if into != nil {
			opts = append(opts, qoder.WithResponseInto(into))
		}
		ctx, cancel := context.WithTimeout(context.Background(), fakeWait)
		defer cancel()
		return e.client.Agents.Create(ctx, &qoder.AgentCreateParams{Name: name, Model: qoder.ModelConfig{ID: "ultimate"}}, opts...)
	}
	count := func(t *testing.T, e *fakeEnv, name string) int {
		n := 0
		for a, err := range e.client.Agents.All(fakeCtx(t), nil) {
			require.NoError(t, err)
			if a.Name == name {
				n++
			}
		}
		return n
	}

	t.Run("same key and body give the same resource", func(t *testing.T) {
		e := newFakeEnv(t, nil, false)
		var resp *http.Response
		first, err := create(e, "idem", "key-1", nil)
		require.NoError(t, err)
		second, err := create(e, "idem", "key-1", &resp)
		require.NoError(t, err)
		assert.Equal(t, first.ID, second.ID)
		require.NotNil(t, resp)
		assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
		assert.Equal(t, 1, count(t, e, "idem"))
		for _, r := range requestsTo(e.srv, "POST", "agents") {
			assert.Equal(t, "key-1", r.Header.Get("Idempotency-Key"), "WithIdempotencyKey replaces the minted key")
		}
	})

	t.Run("same key with another body is a conflict", func(t *testing.T) {
		e := newFakeEnv(t, nil, false)
		_, err := create(e, "idem-a", "key-2", nil)
		require.NoError(t, err)
		_, err = create(e, "idem-b", "key-2", nil)
		require.ErrorIs(t, err, qoder.ErrConflict)
		var apiErr *qoder.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 409, apiErr.StatusCode)
		assert.Len(t, requestsTo(e.srv, "POST", "agents"), 2, "a 409 is not retried")
		assert.Equal(t, 0, count(t, e, "idem-b"))
	})

	t.Run("a retried keyed create replays for a later call", func(t *testing.T) {
		e := newFakeEnv(t, nil, false)
		e.srv.FailRequests(qodertest.Failure{Method: "POST", Path: "agents", Status: 503, RetryAfter: "0"})
		first, err := create(e, "idem-r", "key-3", nil)
		require.NoError(t, err)
		second, err := create(e, "idem-r", "key-3", nil)
		require.NoError(t, err)
		assert.Equal(t, first.ID, second.ID, "the 503 was not stored; the success was")
		assert.Len(t, requestsTo(e.srv, "POST", "agents"), 3)
		assert.Equal(t, 1, count(t, e, "idem-r"))
	})

	t.Run("different keys make different resources", func(t *testing.T) {
		e := newFakeEnv(t, nil, false)
		a, err := create(e, "idem-d", "key-4", nil)
		require.NoError(t, err)
		b, err := create(e, "idem-d", "key-5", nil)
		require.NoError(t, err)
		assert.NotEqual(t, a.ID, b.ID)
		assert.Equal(t, 2, count(t, e, "idem-d"))
	})
}

// ---------------------------------------------------------------------------
// Streams
