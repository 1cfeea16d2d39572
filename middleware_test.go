package qoder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// traceLog records what middlewares see, in order.
type traceLog struct {
	mu    sync.Mutex
	lines []string
	infos []RequestInfo
}

func (l *traceLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *traceLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// tracer returns a middleware named name that logs the way in and out.
func (l *traceLog) tracer(name string) Middleware {
	return func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		info, ok := RequestInfoFromContext(req.Context())
		l.add("%s> attempt %d", name, info.Attempt)
		if name == "A" {
			l.mu.Lock()
			l.infos = append(l.infos, info)
			l.mu.Unlock()
			if !ok {
				l.add("no RequestInfo")
			}
		}
		resp, err := next(req)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		l.add("<%s %d", name, status)
		return resp, err
	}
}

// TestMiddleware_orderAndAttempts: the client's middlewares, then the
// call's, in order, once per attempt; each sees the Authorization header
// and the call's RequestInfo, and what it adds reaches the server.
func TestMiddleware_orderAndAttempts(t *testing.T) {
	t.Parallel()
	log := &traceLog{}
	var auth []string
	addHeader := func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		auth = append(auth, req.Header.Get("Authorization"))
		req.Header.Set("X-Trace", "t1")
		return next(req)
	}
	c, mux := newTestClient(t, WithMiddleware(log.tracer("A")), WithMiddleware(log.tracer("B"), nil))
	var calls atomic.Int32
	mux.HandleFunc("GET /api-test/agents/agent_1", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "t1", r.Header.Get("X-Trace"))
		if calls.Add(1) < 3 {
			serveJSON(t, w, http.StatusServiceUnavailable, `{}`)
			return
		}
		serveJSON(t, w, http.StatusOK, `{"id":"agent_1","type":"agent"}`)
	})
	_, err := c.Agents.Get(t.Context(), "agent_1", WithRequestMiddleware(log.tracer("C"), addHeader))
	require.NoError(t, err)
	var want []string
	for attempt, status := range []int{503, 503, 200} {
		want = append(want, fmt.Sprintf("A> attempt %d", attempt), fmt.Sprintf("B> attempt %d", attempt), fmt.Sprintf("C> attempt %d", attempt),
			fmt.Sprintf("<C %d", status), fmt.Sprintf("<B %d", status), fmt.Sprintf("<A %d", status))
	}
	assert.Equal(t, want, log.get())
	assert.Equal(t, []RequestInfo{{Route: "agents/{agent_id}"}, {Route: "agents/{agent_id}", Attempt: 1}, {Route: "agents/{agent_id}", Attempt: 2}}, log.infos)
	assert.Equal(t, []string{"Bearer " + testToken, "Bearer " + testToken, "Bearer " + testToken}, auth, "the request carries the token")

	t.Run("the call's middlewares stay with the call", func(t *testing.T) {
		before := len(log.get())
		calls.Store(2)
		_, err := c.Agents.Get(t.Context(), "agent_1", WithRequestHeader("X-Trace", "t1"))
		require.NoError(t, err)
		assert.Equal(t, []string{"A> attempt 0", "B> attempt 0", "<B 200", "<A 200"}, log.get()[before:])
	})
	t.Run("outside a middleware there is no RequestInfo", func(t *testing.T) {
		_, ok := RequestInfoFromContext(t.Context())
		assert.False(t, ok)
	})
}

// TestMiddleware_answersAndErrors: a middleware may answer by itself, and
// an error it returns is treated as a connection error (retried).
func TestMiddleware_answersAndErrors(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	cached := func(req *http.Request, _ func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"id":"agent_cached","type":"agent"}`)), Request: req}, nil
	}
	agent, err := c.Agents.Get(t.Context(), "agent_1", WithRequestMiddleware(cached))
	require.NoError(t, err)
	assert.Equal(t, "agent_cached", agent.ID)

	noBody := func(req *http.Request, _ func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusNoContent, Request: req}, nil
	}
	_, err = c.Agents.Delete(t.Context(), "agent_1", WithRequestMiddleware(noBody))
	require.NoError(t, err, "a response without a Body reads as empty")

	var tries atomic.Int32
	offline := errors.New("offline for a moment")
	flaky := func(req *http.Request, _ func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		if tries.Add(1) == 1 {
			return nil, offline
		}
		return cached(req, nil)
	}
	_, err = c.Agents.Get(t.Context(), "agent_1", WithRequestMiddleware(flaky))
	require.NoError(t, err)
	assert.EqualValues(t, 2, tries.Load(), "retried like a connection error")

	tries.Store(0)
	down := func(*http.Request, func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		tries.Add(1)
		return nil, offline
	}
	_, err = c.Agents.Get(t.Context(), "agent_1", WithRequestMiddleware(down))
	assert.EqualValues(t, 3, tries.Load(), "every attempt")
	assert.ErrorIs(t, err, offline)
	assert.ErrorContains(t, err, "qoder: GET /agents/agent_1: offline for a moment")
	assert.NotErrorIs(t, err, ErrMiddleware)
}

// TestMiddleware_brokenContract: a middleware that returns neither a
// response nor an error, panics or passes no request fails the call with
// ErrMiddleware, once, without a panic escaping or a goroutine or a
// connection left behind. (Not parallel: it counts goroutines.)
func TestMiddleware_brokenContract(t *testing.T) {
	panicErr := errors.New("boom")
	tests := []struct {
		name string
		mw   Middleware
		want string
	}{
		{"neither, without calling next", func(*http.Request, func(*http.Request) (*http.Response, error)) (*http.Response, error) {
			return nil, nil
		}, "middleware returned neither a response nor an error"},
		{"neither, after calling next", func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
			_, _ = next(req)
			return nil, nil
		}, "middleware returned neither a response nor an error"},
		{"a panic before next", func(*http.Request, func(*http.Request) (*http.Response, error)) (*http.Response, error) {
			panic("kaput")
		}, "middleware panicked: kaput"},
		{"a panic after next, with an error", func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
			_, _ = next(req)
			panic(panicErr)
		}, "middleware panicked: boom"},
		{"a nil request to next", func(_ *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
			return next(nil)
		}, "middleware passed a nil request to next"},
		{"a panic that shows the headers", func(req *http.Request, _ func(*http.Request) (*http.Response, error)) (*http.Response, error) {
			panic("bad request: " + req.Header.Get("Authorization"))
		}, "middleware panicked: bad request: Bearer [redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := newTestClient(t, WithMiddleware(tt.mw))
			var hits atomic.Int32
			mux.HandleFunc("/api-test/", func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if strings.HasSuffix(r.URL.Path, "/stream") {
					sseStart(w)
					<-r.Context().Done() // held open until the client lets go
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"id":"agent_1","type":"agent","name":"`+strings.Repeat("x", 1<<20)+`"}`) // the client may hang up
			})
			waitGoroutines(t, c, runtime.NumGoroutine()) // settle
			base := runtime.NumGoroutine()

			calls := map[string]func() error{
				"get":    func() error { _, err := c.Agents.Get(t.Context(), "agent_1"); return err },
				"post":   func() error { _, err := c.Agents.Create(t.Context(), &AgentCreateParams{Name: "a"}); return err },
				"stream": func() error { _, err := c.Events.Stream(t.Context(), "sess_1", nil); return err },
			}
			for name, call := range calls {
				hits.Store(0)
				var err error
				require.NotPanics(t, func() { err = call() }, name)
				require.Error(t, err, name)
				assert.ErrorIs(t, err, ErrMiddleware, name)
				assert.ErrorContains(t, err, tt.want, name)
				assert.LessOrEqual(t, hits.Load(), int32(1), "%s: not retried", name)
				assert.NotContains(t, err.Error(), testToken, "%s: the token stays out of the error", name)
				if strings.Contains(tt.name, "with an error") {
					assert.ErrorIs(t, err, panicErr, "%s: the panic's error is wrapped", name)
				}
			}
			waitGoroutines(t, c, base)
		})
	}
}

// bodyWatcher is a response body that records how its connection ended:
// the bytes read, and at Close the cause of the request's context.
type bodyWatcher struct {
	io.ReadCloser
	ctx    context.Context
	n      int
	closed func(n int, cause error)
}

func (b *bodyWatcher) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += n
	return n, err
}

func (b *bodyWatcher) Close() error {
	err := b.ReadCloser.Close()
	b.closed(b.n, context.Cause(b.ctx))
	return err
}

// TestMiddleware_streamReconnects: a stream runs the middlewares for its
// first connection and for every reconnect, each with its RequestInfo and
// the Last-Event-ID it resumes from; when a connection ends, the cause of
// the request's context says why.
func TestMiddleware_streamReconnects(t *testing.T) {
	t.Parallel()
	log := &traceLog{}
	watch := func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		info, _ := RequestInfoFromContext(req.Context())
		log.add("connect %+v last-event-id=%q", info, req.Header.Get("Last-Event-ID"))
		resp, err := next(req)
		if err != nil {
			return nil, err
		}
		resp.Body = &bodyWatcher{ReadCloser: resp.Body, ctx: req.Context(), closed: func(n int, cause error) {
			log.add("attempt %d ended after %d bytes: %v", info.Attempt, n, cause)
		}}
		return resp, nil
	}
	c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		switch n {
		case 0:
			sseWrite(w, sseEvents(1, 1)...)
			abort()
		case 1:
			sseWrite(w, sseEvent("evt_2", EventTypeSessionDeleted))
		}
	})
	s, err := c.Events.Stream(withStreamDeadline(t, t.Context()), streamSessionID, nil, WithRequestMiddleware(watch))
	require.NoError(t, err)
	evs := collectStream(t, s, streamWait)
	require.NoError(t, s.Err())
	assert.Equal(t, idRange(1, 2), eventIDs(evs))
	require.NoError(t, s.Close())
	first := len(sseEvents(1, 1)[0])
	assert.Equal(t, []string{
		`connect {Route:sessions/{session_id}/events/stream Attempt:0 Stream:true} last-event-id=""`,
		fmt.Sprintf("attempt 0 ended after %d bytes: qoder: stream connection ended: unexpected EOF", first),
		`connect {Route:sessions/{session_id}/events/stream Attempt:1 Stream:true} last-event-id="evt_1"`,
		fmt.Sprintf("attempt 1 ended after %d bytes: %v", len(sseEvent("evt_2", EventTypeSessionDeleted)), errStreamEnded),
	}, log.get())

	t.Run("closed by the caller", func(t *testing.T) {
		log := &traceLog{}
		watch := func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
			resp, err := next(req)
			if err == nil {
				resp.Body = &bodyWatcher{ReadCloser: resp.Body, ctx: req.Context(), closed: func(_ int, cause error) { log.add("%v", cause) }}
			}
			return resp, err
		}
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, sseEvents(1, 1)...)
			<-r.Context().Done()
		}, WithMiddleware(watch))
		s := openTestStream(t, t.Context(), c, nil)
		require.True(t, s.Next())
		require.NoError(t, s.Close())
		assert.Equal(t, []string{errStreamClosed.Error()}, log.get())
	})
}

// TestMiddleware_presignedDownload: the fetch of a presigned URL goes
// through the middlewares too, without the token and with an empty route.
func TestMiddleware_presignedDownload(t *testing.T) {
	t.Parallel()
	log := &traceLog{}
	seen := func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		info, _ := RequestInfoFromContext(req.Context())
		log.add("%q auth=%t", info.Route, req.Header.Get("Authorization") != "")
		return next(req)
	}
	c, mux := newTestClient(t, WithMiddleware(seen))
	mux.HandleFunc("GET /api-test/files/file_1/content", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"url":"`+c.BaseURL()+`storage/blob?sig=s"}`)
	})
	mux.HandleFunc("GET /api-test/storage/blob", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "content")
	})
	body, err := c.Files.Download(t.Context(), "file_1")
	require.NoError(t, err)
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	assert.Equal(t, "content", string(data))
	assert.Equal(t, []string{`"files/{file_id}/content" auth=true`, `"" auth=false`}, log.get())
}

// TestMiddleware_routeIsTheMethodsTemplate: the route a middleware sees is
// the template the method expanded, whatever the ids, even an id that
// spells another route's literal segment.
func TestMiddleware_routeIsTheMethodsTemplate(t *testing.T) {
	t.Parallel()
	var routes []string
	record := func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		info, _ := RequestInfoFromContext(req.Context())
		routes = append(routes, info.Route)
		return next(req)
	}
	c, mux := newTestClient(t, WithMiddleware(record))
	mux.HandleFunc("/api-test/", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"id":"x","type":"work"}`)
	})
	ctx := t.Context()
	_, err := c.Environments.Work.Get(ctx, "env_1", "stats")
	require.NoError(t, err)
	_, err = c.Environments.Work.Stats(ctx, "env_1")
	require.NoError(t, err)
	_, err = c.Agents.Get(ctx, "agents")
	require.NoError(t, err)
	require.NoError(t, c.Do(ctx, http.MethodGet, "widgets/w_1", nil, nil))
	assert.Equal(t, []string{
		"environments/{environment_id}/work/{work_id}",
		"environments/{environment_id}/work/stats",
		"agents/{agent_id}",
		"widgets/w_1",
	}, routes)
}
