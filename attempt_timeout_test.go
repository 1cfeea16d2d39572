package qoder

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blockUntilGone answers nothing until the client gives the request up.
func blockUntilGone(r *http.Request) { <-r.Context().Done() }

// boundedCtx is the test's context, ended after streamWait: a call whose
// timeout does not work fails instead of hanging.
func boundedCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), streamWait)
	t.Cleanup(cancel)
	return ctx
}

// TestRequestTimeout_boundsEachAttempt: a slow attempt is cut at the
// timeout and retried; the call succeeds when a later attempt is fast,
// although the call as a whole took longer than one timeout.
func TestRequestTimeout_boundsEachAttempt(t *testing.T) {
	t.Parallel()
	const timeout = 100 * time.Millisecond
	c, mux := newTestClient(t)
	var calls atomic.Int32
	mux.HandleFunc("GET /api-test/agents/agent_1", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			blockUntilGone(r)
			return
		}
		serveJSON(t, w, http.StatusOK, `{"id":"agent_1","type":"agent"}`)
	})
	start := time.Now()
	agent, err := c.Agents.Get(boundedCtx(t), "agent_1", WithRequestTimeout(timeout))
	require.NoError(t, err)
	assert.Equal(t, "agent_1", agent.ID)
	assert.EqualValues(t, 3, calls.Load(), "two attempts timed out, the third answered")
	assert.GreaterOrEqual(t, time.Since(start), 2*timeout, "the bound is per attempt, not per call")
}

// TestRequestTimeout_exhausted: when every attempt times out, the error
// says so and matches ErrRequestTimeout and context.DeadlineExceeded,
// while the caller's context is still alive; no goroutine is left. (Not
// parallel: it counts goroutines.)
func TestRequestTimeout_exhausted(t *testing.T) {
	c, mux := newTestClient(t)
	waitGoroutines(t, c, runtime.NumGoroutine()) // settle
	base := runtime.NumGoroutine()
	var calls atomic.Int32
	mux.HandleFunc("POST /api-test/agents", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.ReadAll(r.Body)
		blockUntilGone(r)
	})
	_, err := c.Agents.Create(boundedCtx(t), &AgentCreateParams{Name: "a"}, WithRequestTimeout(20*time.Millisecond), WithRequestMaxRetries(1))
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrRequestTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, context.Canceled)
	assert.EqualError(t, err, "qoder: POST /agents: the attempt took longer than the request timeout of 20ms")
	var timeout interface{ Timeout() bool }
	require.ErrorAs(t, err, &timeout)
	assert.True(t, timeout.Timeout())
	assert.EqualValues(t, 2, calls.Load(), "a keyed POST is retried after a timeout")

	waitGoroutines(t, c, base)
}

// TestRequestTimeout_coversTheBody: the timeout runs until the whole
// response is read, not only its headers.
func TestRequestTimeout_coversTheBody(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t, WithMaxRetries(0))
	mux.HandleFunc("GET /api-test/agents/agent_1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":`)
		_ = http.NewResponseController(w).Flush()
		blockUntilGone(r)
	})
	_, err := c.Agents.Get(boundedCtx(t), "agent_1", WithRequestTimeout(50*time.Millisecond))
	assert.ErrorIs(t, err, ErrRequestTimeout)
}

// TestRequestTimeout_callerContextWins: the caller's deadline is reported
// as itself, not as the request timeout.
func TestRequestTimeout_callerContextWins(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/agents/agent_1", func(w http.ResponseWriter, r *http.Request) { blockUntilGone(r) })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	_, err := c.Agents.Get(ctx, "agent_1", WithRequestTimeout(time.Minute))
	assert.Equal(t, context.DeadlineExceeded, err)
	assert.NotErrorIs(t, err, ErrRequestTimeout)
}

// TestRequestTimeout_downloadBodyIsNotCut: for a download the timeout
// covers the wait for the response headers; the content is read at the
// caller's pace.
func TestRequestTimeout_downloadBodyIsNotCut(t *testing.T) {
	t.Parallel()
	const timeout = 30 * time.Millisecond
	c, mux := newTestClient(t)
	release := make(chan struct{})
	mux.HandleFunc("GET /api-test/skills/skill_1/versions/1/content", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		_, _ = io.WriteString(w, "PK")
		_ = http.NewResponseController(w).Flush()
		select {
		case <-release:
			_, _ = io.WriteString(w, "-rest")
		case <-r.Context().Done():
		}
	})
	body, err := c.Skills.Versions.Download(t.Context(), "skill_1", "1", WithRequestTimeout(timeout))
	require.NoError(t, err)
	time.Sleep(3 * timeout) // longer than the timeout, on purpose
	close(release)
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	assert.Equal(t, "PK-rest", string(data))
	require.NoError(t, body.Close())
}

// TestRequestTimeout_stream: a stream connection attempt whose headers
// do not come within the timeout is retried; a connection once open lives
// on past the timeout.
func TestRequestTimeout_stream(t *testing.T) {
	t.Parallel()
	const timeout = 30 * time.Millisecond
	release := make(chan struct{})
	c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			blockUntilGone(r)
			return
		}
		sseStart(w)
		sseWrite(w, sseEvents(1, 1)...)
		select {
		case <-release:
			sseWrite(w, sseEvent("evt_2", EventTypeSessionDeleted))
		case <-r.Context().Done():
		}
	})
	s, err := c.Events.Stream(withStreamDeadline(t, t.Context()), streamSessionID, nil, WithRequestTimeout(timeout))
	require.NoError(t, err)
	defer s.Close()
	require.True(t, s.Next())
	time.Sleep(3 * timeout) // longer than the timeout, on purpose
	close(release)
	require.True(t, s.Next())
	assert.Equal(t, "evt_2", s.Event().EventID())
	assert.False(t, s.Next())
	require.NoError(t, s.Err())
	assert.Len(t, rr.lastEventIDs(), 2, "the first attempt timed out")

	t.Run("every attempt timing out ends the stream with the timeout", func(t *testing.T) {
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) { blockUntilGone(r) })
		_, err := c.Events.Stream(withStreamDeadline(t, t.Context()), streamSessionID, &StreamParams{MaxReconnects: 1}, WithRequestTimeout(timeout))
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrRequestTimeout)
		assert.ErrorIs(t, err, ErrStreamGaveUp)
	})
}
