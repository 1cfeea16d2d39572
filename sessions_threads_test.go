package qoder

import (
	"context"
	"net/http"
	"testing"
	"time"

	"net/url"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSessionThreadsService_Get(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/sessions/{sid}/threads/{tid}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/api-test/sessions/sess_019f00000000000000000000000000aa/threads/sthr%2Fx", r.URL.EscapedPath())
		assert.Equal(t, "sthr/x", r.PathValue("tid"))
		serveFixture(t, w, http.StatusOK, "sessions/thread.json")
	})
	th, err := client.Sessions.Threads.Get(t.Context(), "sess_019f00000000000000000000000000aa", "sthr/x")
	require.NoError(t, err)
	assert.Equal(t, "sthr_019f00000000000000000000000002bb", th.ID)
	assert.Equal(t, "session_thread", th.Type)
	assert.Equal(t, "sess_019f00000000000000000000000000aa", th.SessionID)
	assert.Equal(t, "sthr_019f00000000000000000000000001aa", th.ParentThreadID)
	assert.False(t, th.IsCoordinator())
	assert.Equal(t, Agent{ID: "agent_019f000000000000000000000000002b", Type: "agent", Version: 2}, th.Agent)
	assert.Equal(t, SessionStatusRunning, th.Status)
	assert.Equal(t, ThreadStats{ActiveSeconds: 4.5, DurationSeconds: 60, StartupSeconds: 1.25}, th.Stats)
	assert.Equal(t, 0.4, th.Usage.TotalCredits)
	assert.Equal(t, time.Date(2026, 6, 15, 8, 1, 0, 0, time.UTC), th.CreatedAt)
}

func TestSessionThreadsService_List(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/sessions/{id}/threads", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "sess_019f00000000000000000000000000aa", r.PathValue("id"))
		resAssertQuery(t, r, url.Values{"limit": {"10"}, "page": {"page_thr_1"}})
		serveFixture(t, w, http.StatusOK, "sessions/threads_page1.json")
	})
	page, err := client.Sessions.Threads.List(t.Context(), "sess_019f00000000000000000000000000aa",
		&SessionThreadListParams{Limit: 10, Page: "page_thr_1"})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	assert.True(t, page.Data[0].IsCoordinator())
	assert.Empty(t, page.Data[0].ParentThreadID)
	assert.Zero(t, page.Data[0].Stats)
	assert.Equal(t, SessionStatusIdle, page.Data[0].Status)
	assert.Equal(t, "page_thr_2", page.NextPage)
}

func TestSessionThreadsService_All(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("GET /api-test/sessions/{id}/threads", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			assert.Empty(t, r.URL.RawQuery)
			serveFixture(t, w, http.StatusOK, "sessions/threads_page1.json")
			return
		}
		resAssertQuery(t, r, url.Values{"page": {"page_thr_2"}})
		serveFixture(t, w, http.StatusOK, "sessions/threads_page2.json")
	})
	threads, err := resCollect(client.Sessions.Threads.All(t.Context(), "sess_019f00000000000000000000000000aa", nil))
	require.NoError(t, err)
	assert.Equal(t, []string{"sthr_019f00000000000000000000000001aa", "sthr_019f00000000000000000000000002bb"},
		resIDs(threads, func(th Thread) string { return th.ID }))
	assert.Equal(t, 2, calls)
}

func TestSessionThreadsService_Archive(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/sessions/{sid}/threads/{tid}/archive", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "sess_019ef2a07a0670b3b68a84f0f3c5c98e", r.PathValue("sid"))
		assert.Equal(t, "sthr_019ef2a07a06704fb899908c29eed779", r.PathValue("tid"))
		assert.Empty(t, r.Header.Get("Content-Type"))
		serveFixture(t, w, http.StatusOK, "sessions/thread_archived.json")
	})
	th, err := client.Sessions.Threads.Archive(t.Context(), "sess_019ef2a07a0670b3b68a84f0f3c5c98e", "sthr_019ef2a07a06704fb899908c29eed779")
	require.NoError(t, err)
	assert.Equal(t, SessionStatusTerminated, th.Status)
	assert.Equal(t, time.Date(2026, 6, 23, 6, 0, 0, 0, time.UTC), th.ArchivedAt)
	assert.Equal(t, "doc-test-agent", th.Agent.Name)
	assert.Equal(t, ModelConfig{ID: "ultimate", EffectiveContextWindow: 200000}, th.Agent.Model)
	require.Len(t, th.Agent.Tools, 1)
	assert.Len(t, th.Agent.Tools[0].EnabledTools, 6)
}

func TestSessionThreadsService_emptyIDs(t *testing.T) {
	t.Parallel()
	resTestEmptyIDs(t, []resEmptyIDCase{
		{"Get/session", "session_id", func(ctx context.Context, c *Client) error { _, err := c.Sessions.Threads.Get(ctx, "", "t"); return err }},
		{"Get/thread", "thread_id", func(ctx context.Context, c *Client) error { _, err := c.Sessions.Threads.Get(ctx, "s", ""); return err }},
		{"List", "session_id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Threads.List(ctx, "", nil)
			return err
		}},
		{"All", "session_id", func(ctx context.Context, c *Client) error {
			_, err := resCollect(c.Sessions.Threads.All(ctx, "", nil))
			return err
		}},
		{"Archive/session", "session_id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Threads.Archive(ctx, "", "t")
			return err
		}},
		{"Archive/thread", "thread_id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Threads.Archive(ctx, "s", "")
			return err
		}},
	})
}

func TestSessionThreadsService_apiErrors(t *testing.T) {
	t.Parallel()
	resTestAPIErrors(t, []resAPIErrorCase{
		{"Get", "GET /api-test/sessions/{sid}/threads/{tid}", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Threads.Get(ctx, "sess_x", "sthr_x")
			return err
		}},
		{"List", "GET /api-test/sessions/{id}/threads", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Threads.List(ctx, "sess_x", nil)
			return err
		}},
		{"All", "GET /api-test/sessions/{id}/threads", func(ctx context.Context, c *Client) error {
			_, err := resCollect(c.Sessions.Threads.All(ctx, "sess_x", nil))
			return err
		}},
		{"Archive", "POST /api-test/sessions/{sid}/threads/{tid}/archive", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Threads.Archive(ctx, "sess_x", "sthr_x")
			return err
		}},
	})
}

func TestSessionThreadsService_Stream(t *testing.T) {
	c, mux := newTestClient(t)
	rr := &streamReqs{}
	mux.HandleFunc("GET /api-test/sessions/sess_1/threads/sthr_1/stream", func(w http.ResponseWriter, r *http.Request) {
		n := rr.add(r)
		sseStart(w)
		if n == 0 {
			sseWrite(w, sseEvent("evt_1", EventTypeSessionThreadStatusRunning, `,"session_thread_id":"sthr_1","agent_name":"worker"`))
			abort()
		}
		sseWrite(w, sseEvent("evt_2", EventTypeAgentMessage, `,"session_thread_id":"sthr_1","content":[{"type":"text","text":"done"}]`), terminatedFrame("evt_3"))
	})
	mux.HandleFunc("/", failHandler(t))
	s, err := c.Sessions.Threads.Stream(streamCtx(t), "sess_1", "sthr_1", &StreamParams{EventDeltas: []string{EventTypeAgentMessage}})
	require.NoError(t, err)
	defer s.Close()
	evs := collectStream(t, s, streamWait)
	require.NoError(t, s.Err())
	assert.Equal(t, idRange(1, 3), eventIDs(evs))
	assert.IsType(t, &SessionThreadStatusRunningEvent{}, evs[0])
	assert.Equal(t, "sthr_1", evs[1].(*AgentMessageEvent).SessionThreadID)
	reqs := rr.list()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/api-test/sessions/sess_1/threads/sthr_1/stream", reqs[0].path)
	assert.Equal(t, "event_deltas%5B%5D=agent.message", reqs[0].rawQuery)
	assert.Equal(t, "evt_1", reqs[1].header.Get("Last-Event-ID"))

	_, err = c.Sessions.Threads.Stream(streamCtx(t), "sess_1", "", nil)
	assert.ErrorContains(t, err, "thread_id")
}

func TestSessionThreadsService_StreamEndsWhenTheThreadTerminates(t *testing.T) {
	c, mux := newTestClient(t)
	rr := &streamReqs{}
	mux.HandleFunc("GET /api-test/sessions/sess_1/threads/sthr_1/stream", func(w http.ResponseWriter, r *http.Request) {
		rr.add(r)
		sseStart(w)
		sseWrite(w,
			sseEvent("evt_1", EventTypeSessionThreadStatusTerminated, `,"session_thread_id":"sthr_other","agent_name":"other"`),
			sseEvent("evt_2", EventTypeSessionThreadStatusTerminated, `,"session_thread_id":"sthr_1","agent_name":"worker"`))
		abort() // a stream that went on would reconnect here
	})
	s, err := c.Sessions.Threads.Stream(streamCtx(t), "sess_1", "sthr_1", nil)
	require.NoError(t, err)
	defer s.Close()
	evs := collectStream(t, s, streamWait)
	require.NoError(t, s.Err())
	assert.Equal(t, idRange(1, 2), eventIDs(evs), "another thread's end does not end the stream")
	assert.Len(t, rr.list(), 1, "no reconnect after the thread terminated")
}
