package qoder

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewClientToken(t *testing.T) {
	// Not parallel: it sets environment variables.
	tests := []struct {
		name  string
		env   map[string]string
		opts  []Option
		want  string
		error bool
	}{
		{name: "option wins", env: map[string]string{"QODER_PAT": "pt-env"}, opts: []Option{WithToken("pt-opt")}, want: "pt-opt"},
		{name: "QODER_PAT first", env: map[string]string{"QODER_PAT": "pt-1", "QODER_PERSONAL_ACCESS_TOKEN": "pt-2", "QODER_ACCESS_TOKEN": "pt-3"}, want: "pt-1"},
		{name: "QODER_PERSONAL_ACCESS_TOKEN second", env: map[string]string{"QODER_PERSONAL_ACCESS_TOKEN": "pt-2", "QODER_ACCESS_TOKEN": "pt-3"}, want: "pt-2"},
		{name: "QODER_ACCESS_TOKEN third", env: map[string]string{"QODER_ACCESS_TOKEN": "jwt.sat"}, want: "jwt.sat"},
		{name: "blank variables are skipped", env: map[string]string{"QODER_PAT": "  ", "QODER_ACCESS_TOKEN": "pt-3"}, want: "pt-3"},
		{name: "none", error: true},
		{name: "explicitly empty token is an error, not a fallback", env: map[string]string{"QODER_PAT": "pt-env"}, opts: []Option{WithToken("")}, error: true},
		{name: "explicitly blank token is an error", env: map[string]string{"QODER_PAT": "pt-env"}, opts: []Option{WithToken(" \t")}, error: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range tokenEnvVars {
				t.Setenv(name, tt.env[name])
			}
			c, err := NewClient(tt.opts...)
			if tt.error {
				require.Error(t, err)
				assert.Nil(t, c)
				assert.Contains(t, err.Error(), "WithToken")
				if len(tt.opts) == 0 {
					assert.Contains(t, err.Error(), "QODER_PAT")
				} else {
					assert.Contains(t, err.Error(), "empty token")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.token)
		})
	}
}

func TestNewClientBaseURL(t *testing.T) {
	// Not parallel: it sets environment variables.
	tests := []struct {
		name    string
		env     string
		opt     string
		want    string
		wantErr string
	}{
		{name: "default", want: DefaultBaseURL},
		{name: "env", env: "https://api.qoder.com.cn/api/v1/cloud", want: BaseURLCN},
		{name: "option wins over env", env: "https://env.example/x/", opt: "https://opt.example/api/v1/cloud", want: "https://opt.example/api/v1/cloud/"},
		{name: "trailing slash kept", opt: "http://127.0.0.1:8080/api/v1/cloud/", want: "http://127.0.0.1:8080/api/v1/cloud/"},
		{name: "host only", opt: "https://example.com", want: "https://example.com/"},
		{name: "no scheme", opt: "api.qoder.com/api/v1/cloud", wantErr: "scheme must be http or https"},
		{name: "bad scheme", opt: "ftp://example.com/", wantErr: "scheme must be http or https"},
		{name: "no host", opt: "https:///path", wantErr: "no host"},
		{name: "unparsable", opt: "http://[::1", wantErr: "invalid base URL"},
		{name: "user info", opt: "https://user:secret@example.com/", wantErr: "user info"},
		{name: "query", opt: "https://example.com/?a=b", wantErr: "query"},
		{name: "shown as passed, unescaped", opt: "not a url", wantErr: `invalid base URL "not a url": scheme must be http or https`},
		{name: "unparsable shown as passed", opt: "http://[::1 x", wantErr: `invalid base URL "http://[::1 x": `},
		{name: "password hidden, rest as passed", opt: "ftp://me:secret@host name/p q", wantErr: `invalid base URL "ftp://me:xxxxx@host name/p q"`},
		{name: "password hidden in user info error", opt: "https://me:secret@example.com/a b", wantErr: `invalid base URL "https://me:xxxxx@example.com/a b": user info`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("QODER_BASE_URL", tt.env)
			opts := []Option{WithToken("pt-x")}
			if tt.opt != "" {
				opts = append(opts, WithBaseURL(tt.opt))
			}
			c, err := NewClient(opts...)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "secret")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.BaseURL())
		})
	}
}

func TestClientNeverPrintsItsToken(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithToken(testToken))
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("client", "client", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c), fmt.Sprintf("%v", *c), fmt.Sprintf("%+v", *c), logs.String()} {
		assert.NotContains(t, s, testToken)
	}
	assert.Contains(t, c.String(), "[redacted]")
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t, WithUserAgent("my-app/1.2"), WithHeader("X-Team", "docs"), WithHeader("Authorization", "Bearer nope"))
	var got []http.Header
	var mu sync.Mutex
	mux.HandleFunc("/api-test/h", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
		serveJSON(t, w, 200, `{}`)
	})
	ctx := t.Context()
	require.NoError(t, c.do(ctx, http.MethodGet, literalPath("h"), nil, nil, nil))
	require.NoError(t, c.do(ctx, http.MethodPost, literalPath("h"), nil, struct{}{}, nil))
	require.NoError(t, c.do(ctx, http.MethodPost, literalPath("h"), nil, nil, nil, WithIdempotencyKey("key-1"), WithRequestHeader("X-Call", "1"), WithBeta(BetaBrowserUse)))
	require.NoError(t, c.do(ctx, http.MethodDelete, literalPath("h"), nil, nil, nil))
	require.Len(t, got, 4)

	get, post, keyed, del := got[0], got[1], got[2], got[3]
	wantUA := fmt.Sprintf("qoder-go/%s (%s; %s/%s) my-app/1.2", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, h := range got {
		assert.Equal(t, "Bearer "+testToken, h.Get("Authorization"), "the token cannot be overridden")
		assert.Equal(t, wantUA, h.Get("User-Agent"))
		assert.Equal(t, "application/json", h.Get("Accept"))
		assert.Equal(t, "docs", h.Get("X-Team"))
	}
	assert.Empty(t, get.Get("Idempotency-Key"))
	assert.Empty(t, get.Get("Content-Type"))
	assert.Empty(t, del.Get("Idempotency-Key"))
	assert.Regexp(t, `^[0-9a-f-]{36}$`, post.Get("Idempotency-Key"))
	assert.Equal(t, "application/json", post.Get("Content-Type"))
	assert.Equal(t, "key-1", keyed.Get("Idempotency-Key"))
	assert.Equal(t, "1", keyed.Get("X-Call"))
	assert.Equal(t, BetaBrowserUse, keyed.Get("X-Qoder-Beta"))
	assert.Empty(t, post.Get("X-Call"), "per-call headers stay on their call")
}

func TestPath(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithToken("pt-x"))
	require.NoError(t, err)
	tests := []struct {
		template string
		ids      []string
		want     string
		wantErr  string
	}{
		{"agents", nil, "agents", ""},
		{"agents/{agent_id}", []string{"agent_1"}, "agents/agent_1", ""},
		{"agents/{agent_id}", []string{"a/b?c#d e"}, "agents/a%2Fb%3Fc%23d%20e", ""},
		{"agents/{agent_id}", []string{".."}, "agents/..", ""},
		{"sessions/{session_id}/threads/{thread_id}/events", []string{"s 1", "t1"}, "sessions/s%201/threads/t1/events", ""},
		{"sessions/{session_id}/threads/{thread_id}", []string{"s1", ""}, "", "qoder: thread_id is required"},
		{"agents/{agent_id}", []string{""}, "", "qoder: agent_id is required"},
		{"agents/{agent_id}", nil, "", "more placeholders"},
		{"agents", []string{"x"}, "", "fewer placeholders"},
	}
	for _, tt := range tests {
		got, err := c.path(tt.template, tt.ids...)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, apiPath{path: tt.want, template: tt.template}, got, "the path keeps its template")
	}
}

func TestEscapedPathReachesServer(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	var rawPath string
	mux.HandleFunc("/api-test/", func(w http.ResponseWriter, r *http.Request) {
		rawPath = r.URL.EscapedPath()
		serveJSON(t, w, 200, `{}`)
	})
	p, err := c.path("agents/{agent_id}", "a/b c")
	require.NoError(t, err)
	require.NoError(t, c.do(t.Context(), http.MethodGet, p, nil, nil, nil))
	assert.Equal(t, "/api-test/agents/a%2Fb%20c", rawPath)
}

func TestQueryEncoding(t *testing.T) {
	t.Parallel()
	type params struct {
		Limit           int       `url:"limit,omitempty"`
		IncludeArchived *bool     `url:"include_archived,omitempty"`
		Types           []string  `url:"types,brackets,omitempty"`
		CreatedAtGTE    time.Time `url:"created_at[gte],omitempty"`
		Empty           string    `url:"empty,omitempty"`
	}
	c, mux := newTestClient(t)
	var query string
	mux.HandleFunc("/api-test/q", func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		serveJSON(t, w, 200, `{}`)
	})
	p := &params{Limit: 5, IncludeArchived: Ptr(false), Types: []string{"agent.message", "user.message"}, CreatedAtGTE: time.Date(2026, 5, 18, 3, 4, 5, 0, time.UTC)}
	require.NoError(t, c.do(t.Context(), http.MethodGet, literalPath("q"), p, nil, nil))
	assert.Equal(t, "created_at%5Bgte%5D=2026-05-18T03%3A04%3A05Z&include_archived=false&limit=5&types%5B%5D=agent.message&types%5B%5D=user.message", query)

	require.NoError(t, c.do(t.Context(), http.MethodGet, literalPath("q"), (*params)(nil), nil, nil))
	assert.Empty(t, query, "nil params send no query")
}

func TestDecodeErrorsNameTheEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"not JSON", "<html>hello</html>"},
		{"truncated", `{"id":"agent_1","name":`},
		{"wrong shape", `{"id":42}`},
		{"array instead of object", `[1,2]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := newTestClient(t)
			mux.HandleFunc("/api-test/agents/agent_1", func(w http.ResponseWriter, r *http.Request) {
				serveJSON(t, w, 200, tt.body)
			})
			var out struct{ ID string }
			err := c.do(t.Context(), http.MethodGet, literalPath("agents/agent_1"), nil, nil, &out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "GET /agents/agent_1")
		})
	}
}

func TestEmptyBody(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("/api-test/e", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	out := struct{ ID string }{ID: "keep"}
	require.NoError(t, c.do(t.Context(), http.MethodDelete, literalPath("e"), nil, nil, &out, acceptEmptyBody), "accepted where the endpoint may send none")
	assert.Equal(t, "keep", out.ID)
	require.NoError(t, c.do(t.Context(), http.MethodDelete, literalPath("e"), nil, nil, nil), "nothing expected")
	err := c.do(t.Context(), http.MethodDelete, literalPath("e"), nil, nil, &out)
	require.Error(t, err)
	assert.Equal(t, "qoder: DELETE /e: the 204 response has an empty body where a result was expected", err.Error())
}

// TestEmptyResultIsAnError: a 2xx without a body must not turn into a zero
// resource and a nil error on any method that documents a result.
func TestEmptyResultIsAnError(t *testing.T) {
	t.Parallel()
	calls := []struct {
		endpoint string
		call     func(c *Client) error
	}{
		{"GET /agents/agent_1", func(c *Client) error { _, err := c.Agents.Get(t.Context(), "agent_1"); return err }},
		{"POST /agents", func(c *Client) error {
			_, err := c.Agents.Create(t.Context(), &AgentCreateParams{Name: "bot"})
			return err
		}},
		{"GET /agents", func(c *Client) error { _, err := c.Agents.List(t.Context(), nil); return err }},
		{"GET /agents/agent_1/versions", func(c *Client) error {
			_, err := c.Agents.Versions.List(t.Context(), "agent_1", nil)
			return err
		}},
		{"POST /environments/env_1/archive", func(c *Client) error {
			_, err := c.Environments.Archive(t.Context(), "env_1")
			return err
		}},
		{"POST /sessions/sess_1/cancel", func(c *Client) error { _, err := c.Sessions.Cancel(t.Context(), "sess_1"); return err }},
		{"GET /sessions/sess_1/resources/res_1", func(c *Client) error {
			_, err := c.Sessions.Resources.Get(t.Context(), "sess_1", "res_1")
			return err
		}},
		{"GET /sessions/sess_1/threads/th_1", func(c *Client) error {
			_, err := c.Sessions.Threads.Get(t.Context(), "sess_1", "th_1")
			return err
		}},
		{"POST /sessions/sess_1/events", func(c *Client) error {
			_, err := c.Events.Send(t.Context(), "sess_1", []InputEvent{NewUserMessage("hi")})
			return err
		}},
		{"GET /sessions/sess_1/events", func(c *Client) error { _, err := c.Events.List(t.Context(), "sess_1", nil); return err }},
		{"GET /models", func(c *Client) error { _, err := c.Models.List(t.Context(), nil); return err }},
	}
	bodies := []struct {
		name   string
		status int
		body   string
	}{
		{"200 empty", http.StatusOK, ""},
		{"200 blank", http.StatusOK, " \r\n\t "},
		{"200 null", http.StatusOK, "null"},
		{"201 null", http.StatusCreated, " null\n"},
		{"204", http.StatusNoContent, ""},
	}
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			c, mux := newTestClient(t)
			mux.HandleFunc("/api-test/", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(b.status)
				_, _ = io.WriteString(w, b.body)
			})
			for _, tt := range calls {
				err := tt.call(c)
				if assert.Error(t, err, tt.endpoint) {
					assert.Contains(t, err.Error(), "qoder: "+tt.endpoint+": ")
					assert.Contains(t, err.Error(), "empty body")
				}
			}
		})
	}
}

func TestWithResponseInto(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("/api-test/r", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_r")
		serveJSON(t, w, 201, `{"id":"r"}`)
	})
	var resp *http.Response
	var out struct{ ID string }
	require.NoError(t, c.do(t.Context(), http.MethodPost, literalPath("r"), nil, nil, &out, WithResponseInto(&resp)))
	require.NotNil(t, resp)
	assert.Equal(t, 201, resp.StatusCode)
	assert.Equal(t, "req_r", resp.Header.Get("X-Request-Id"))
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"r"}`, string(body))
}

func TestContextErrorsPassThrough(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	entered := make(chan struct{})
	mux.HandleFunc("/api-test/hang", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.do(ctx, http.MethodGet, literalPath("hang"), nil, nil, nil) }()
	<-entered
	cancel()
	err := <-done
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, context.Canceled, err, "ctx.Err() is returned as is")

	ctx, cancel = context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	assert.Equal(t, context.DeadlineExceeded, c.do(ctx, http.MethodGet, literalPath("hang"), nil, nil, nil))
}

func TestTransportErrorsDoNotLeakTheToken(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	c, err := NewClient(WithToken(testToken), WithBaseURL(url), WithMaxRetries(1))
	require.NoError(t, err)
	c.backoff = func(int) time.Duration { return 0 }
	err = c.do(t.Context(), http.MethodGet, literalPath("agents"), &struct {
		Q string `url:"q"`
	}{Q: "private"}, nil, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "qoder: GET /agents")
	assert.NotContains(t, err.Error(), testToken)
	assert.NotContains(t, err.Error(), "private")
}

func TestDebugLogging(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mux := newTestClient(t, WithLogger(logger))
	calls := 0
	mux.HandleFunc("/api-test/agents", func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("X-Request-Id", "req_log")
		if calls == 1 {
			serveJSON(t, w, 503, `{}`)
			return
		}
		serveJSON(t, w, 200, `{"secret_body":"body-content"}`)
	})
	require.NoError(t, c.do(t.Context(), http.MethodPost, literalPath("agents"), nil, map[string]string{"system": "prompt-content"}, nil))
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	for _, want := range []string{"method=POST", "path=/agents", "status=503", "status=200", "attempt=1", "attempt=2", "request_id=req_log", "duration=", "retrying request"} {
		assert.Contains(t, out, want)
	}
	for _, secret := range []string{testToken, "Bearer", "body-content", "prompt-content"} {
		assert.NotContains(t, out, secret)
	}
}

func TestDebugLogging_echoedTokenIsRedacted(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mux := newTestClient(t, WithLogger(logger), WithMaxRetries(3))
	var calls atomic.Int32
	mux.HandleFunc("/api-test/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		w.Header().Set("X-Request-Id", auth)
		switch calls.Add(1) {
		case 1:
			serveJSON(t, w, http.StatusServiceUnavailable, `{"type":"error","error":{"type":"api_error","message":"`+auth+`"}}`)
		case 2: // a transport error whose text quotes the Location
			w.Header().Set("Location", "http://[::1"+auth)
			w.WriteHeader(http.StatusFound)
		default:
			serveFixture(t, w, http.StatusOK, "agents/agent.json")
		}
	})
	_, err := c.Agents.Get(t.Context(), testAgentID)
	require.NoError(t, err)
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	assert.Contains(t, out, "request_id=\"Bearer "+redactedText+"\"")
	assert.Contains(t, out, "failed to parse Location header")
	assert.NotContains(t, out, testToken)
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestClientIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("/api-test/c/{n}", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, 200, `{"n":"`+r.PathValue("n")+`"}`)
	})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct{ N string }
			p, err := c.path("c/{n}", fmt.Sprint(i))
			if err == nil {
				err = c.do(t.Context(), http.MethodPost, p, nil, map[string]int{"i": i}, &out)
			}
			if err == nil && out.N != fmt.Sprint(i) {
				err = fmt.Errorf("got %q for %d", out.N, i)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

// TestOversizedResponseIsAnError reads responses over the 64 MiB cap, with
// and without a Content-Length, and measures what they cost: a declared
// size over the cap is refused before the body is read, and an undeclared
// one costs about the cap, not the twice or four times a doubling buffer
// takes. It does not run in parallel, so that the allocations it counts are
// its own.
func TestOversizedResponseIsAnError(t *testing.T) {
	tests := []struct {
		name      string
		declared  bool
		wantErr   string
		maxAlloc  uint64 // bytes allocated by the call
		maxServed int64  // bytes the server managed to send
	}{
		{"declared 1 GiB", true, "declares 1073741832 bytes, more than 67108864", 4 << 20, 32 << 20},
		{"undeclared 1 GiB", false, "larger than 67108864 bytes", 80 << 20, 100 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := newTestClient(t, WithMaxRetries(0))
			served := make(chan int64, 1)
			chunk := bytes.Repeat([]byte("a"), 1<<20)
			mux.HandleFunc("/api-test/huge", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if tt.declared {
					w.Header().Set("Content-Length", strconv.Itoa(1<<30+len(`{"x":""}`)))
				}
				n, _ := io.WriteString(w, `{"x":"`)
				total := int64(n)
				for range 1 << 10 {
					n, err := w.Write(chunk)
					total += int64(n)
					if err != nil {
						break
					}
				}
				served <- total
			})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := c.do(t.Context(), http.MethodGet, literalPath("huge"), nil, nil, &struct{ X string }{})
			runtime.ReadMemStats(&after)
			require.Error(t, err)
			assert.ErrorIs(t, err, errResponseTooLarge)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Contains(t, err.Error(), "GET /huge")
			alloc := after.TotalAlloc - before.TotalAlloc
			assert.Less(t, alloc, tt.maxAlloc, "the call allocated %d MiB", alloc>>20)
			assert.Less(t, <-served, tt.maxServed)
		})
	}
}

// TestResponseShorterOrLongerThanDeclared: a transport whose body does not
// match its Content-Length is an error, not a silently cut or padded body.
func TestResponseShorterOrLongerThanDeclared(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		declared int64
		body     string
		wantErr  string
	}{
		{"longer", 3, `{"id":"x"}`, "longer than its Content-Length of 3 bytes"},
		{"shorter", 100, `{"id":"x"}`, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{
					StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
					ContentLength: tt.declared, Body: io.NopCloser(strings.NewReader(tt.body)), Request: r,
				}, nil
			})}
			c, err := NewClient(WithToken(testToken), WithBaseURL("https://api.example.test/"), WithHTTPClient(hc), WithMaxRetries(0))
			require.NoError(t, err)
			var out struct{ ID string }
			err = c.do(t.Context(), http.MethodGet, literalPath("x"), nil, nil, &out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Empty(t, out.ID)
		})
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestEveryServiceIsWiredToTheClient walks the client's services and their
// sub-services: each must be set and reach the API through this client.
func TestEveryServiceIsWiredToTheClient(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithToken(testToken))
	require.NoError(t, err)
	var names []string
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Type.Kind() != reflect.Pointer || !strings.HasSuffix(f.Type.Elem().Name(), "Service") {
				continue
			}
			name := prefix + "." + f.Name
			names = append(names, name)
			svc := v.Field(i)
			if !assert.False(t, svc.IsNil(), "%s is nil", name) {
				continue
			}
			assert.Equal(t, reflect.ValueOf(c).Pointer(), svc.Elem().FieldByName("client").Pointer(), "%s has another client", name)
			walk(name, svc.Elem())
		}
	}
	walk("client", reflect.ValueOf(c).Elem())
	assert.Equal(t, []string{
		"client.Environments", "client.Environments.Work", "client.Agents", "client.Agents.Versions", "client.Sessions",
		"client.Sessions.Resources", "client.Sessions.Threads", "client.Events", "client.Models",
		"client.Files", "client.Skills", "client.Skills.Versions",
		"client.Deployments", "client.Deployments.Runs", "client.DeploymentRuns", "client.Dreams",
		"client.Vaults", "client.Vaults.Credentials",
		"client.MemoryStores", "client.MemoryStores.Memories", "client.MemoryStores.Versions",
	}, names)
}
