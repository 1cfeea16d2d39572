package qoder_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
)

// storyteller tells a story that never ends, until the turn is
// interrupted, when asked for a story; otherwise it answers "ok".
func storyteller(turn *qodertest.Turn) {
	if !strings.Contains(turn.Text(), "story") {
		turn.Say("ok")
		return
	}
	turn.Say("Once upon a time")
	<-turn.Context().Done()
}

// expiring is a context whose deadline passes when expire is called, at
// the moment a test chooses.
type expiring struct {
	context.Context
	once sync.Once
	done chan struct{}
}

func (c *expiring) expire() { c.once.Do(func() { close(c.done) }) }

func (c *expiring) Done() <-chan struct{} { return c.done }

func (c *expiring) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// TestRunInterruptsWhenContextEnds is the chat pattern: a turn stopped
// mid-way by its context (Ctrl-C, a deadline) is interrupted, the session
// settles, and the next message starts a turn as usual.
func TestRunInterruptsWhenContextEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ctx  func(parent context.Context) (context.Context, func(qoder.Event), context.CancelFunc)
		want error
	}{
		{
			name: "cancelled",
			ctx: func(parent context.Context) (context.Context, func(qoder.Event), context.CancelFunc) {
				ctx, cancel := context.WithCancel(parent)
				return ctx, func(ev qoder.Event) {
					if _, ok := ev.(*qoder.AgentMessageEvent); ok {
						cancel() // the story has begun: Ctrl-C
					}
				}, cancel
			},
			want: context.Canceled,
		},
		{
			name: "deadline",
			ctx: func(parent context.Context) (context.Context, func(qoder.Event), context.CancelFunc) {
				ctx := &expiring{Context: parent, done: make(chan struct{})}
				return ctx, func(ev qoder.Event) {
					if _, ok := ev.(*qoder.AgentMessageEvent); ok {
						ctx.expire() // the story has begun: the deadline passes
					}
				}, ctx.expire
			},
			want: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := qodertest.NewServer(t, qodertest.WithAgent(storyteller))
			client := srv.Client()
			sessionID := srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))

			ctx, onEvent, cancel := tt.ctx(t.Context())
			defer cancel()
			turn, err := client.Sessions.Run(ctx, sessionID, "Tell me a story", qoder.OnEvent(onEvent))
			require.ErrorIs(t, err, tt.want)
			require.NotNil(t, turn, "the turn so far comes with the error")
			assert.Equal(t, qoder.StopReasonCancelled, turn.StopReason.Type)
			assert.Equal(t, "Once upon a time", turn.Text())
			state, ok := srv.Session(sessionID)
			require.True(t, ok)
			assert.Equal(t, "idle", state.Status)
			assert.Equal(t, "cancelled", state.StopReason)
			assert.Contains(t, srv.EventTypes(sessionID), "user.interrupt")

			next, err := client.Sessions.Run(t.Context(), sessionID, "Are you there?")
			require.NoError(t, err, "the conversation goes on")
			assert.Equal(t, "ok", next.Text())
		})
	}
}

// TestRunInterruptsWhileAToolRuns: Run's context ends while a custom tool
// handler runs; the handler's answer cannot be sent, and the interrupt
// settles the paused turn.
func TestRunInterruptsWhileAToolRuns(t *testing.T) {
	t.Parallel()
	srv := qodertest.NewServer(t, qodertest.WithAgent(func(turn *qodertest.Turn) {
		if _, ok := turn.CallCustomTool("slow", map[string]any{}); ok {
			turn.Say("the tool answered")
		}
	}))
	client := srv.Client()
	sessionID := srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	turn, err := client.Sessions.Run(ctx, sessionID, "go", qoder.WithCustomTool("slow",
		func(ctx context.Context, _ *qoder.AgentCustomToolUseEvent) ([]qoder.ContentBlock, error) {
			cancel()
			<-ctx.Done()
			return nil, ctx.Err()
		}))
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, qoder.StopReasonCancelled, turn.StopReason.Type)
	state, _ := srv.Session(sessionID)
	assert.Equal(t, "idle", state.Status)
	assert.Empty(t, state.Pending)
	assert.NotContains(t, srv.EventTypes(sessionID), "user.custom_tool_result")
}

// TestRunWithoutInterruptLeavesTheTurnRunning: with the option, Run returns
// when its context ends and the session stays busy.
func TestRunWithoutInterruptLeavesTheTurnRunning(t *testing.T) {
	t.Parallel()
	srv := qodertest.NewServer(t, qodertest.WithAgent(storyteller))
	client := srv.Client()
	sessionID := srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := client.Sessions.Run(ctx, sessionID, "Tell me a story", qoder.WithoutInterrupt(),
		qoder.OnEvent(func(ev qoder.Event) {
			if _, ok := ev.(*qoder.AgentMessageEvent); ok {
				cancel()
			}
		}))
	require.ErrorIs(t, err, context.Canceled)
	state, _ := srv.Session(sessionID)
	assert.Equal(t, "running", state.Status)
	assert.NotContains(t, srv.EventTypes(sessionID), "user.interrupt")
	_, err = client.Sessions.Run(t.Context(), sessionID, "Are you there?")
	assert.ErrorIs(t, err, qoder.ErrConflict)
}

// TestRunRequestOptionsForOneRequest: an idempotency key and
// WithResponseInto given to Run apply to the input send alone, so the
// tool answer is not rejected as a reuse of the key; other options apply
// to every request of the turn.
func TestRunRequestOptionsForOneRequest(t *testing.T) {
	t.Parallel()
	srv := qodertest.NewServer(t, qodertest.WithAgent(func(turn *qodertest.Turn) {
		if res, ok := turn.CallCustomTool("lookup", map[string]any{"q": "x"}); ok {
			turn.Say("found " + res.Text)
		}
	}))
	client := srv.Client()
	sessionID := srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))
	var resp *http.Response
	turn, err := client.Sessions.Run(t.Context(), sessionID, "look it up",
		qoder.WithCustomTool("lookup", func(context.Context, *qoder.AgentCustomToolUseEvent) ([]qoder.ContentBlock, error) {
			return []qoder.ContentBlock{qoder.TextBlock("it")}, nil
		}),
		qoder.WithRunRequestOptions(
			qoder.WithIdempotencyKey("turn-key-1"),
			qoder.WithResponseInto(&resp),
			qoder.WithRequestHeader("X-Trace", "trace-1"),
		))
	require.NoError(t, err)
	assert.Equal(t, "found it", turn.Text())

	require.NotNil(t, resp, "the input send's response")
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), `"user.message"`)

	var keys []string
	for _, r := range srv.Requests() {
		if !strings.HasPrefix(r.Path, qodertest.BasePath+"sessions/"+sessionID+"/events") {
			continue
		}
		assert.Equal(t, "trace-1", r.Header.Get("X-Trace"), "%s %s", r.Method, r.Path)
		if r.Method == http.MethodPost {
			keys = append(keys, r.Header.Get("Idempotency-Key"))
		}
	}
	require.Len(t, keys, 2, "the message and the tool result")
	assert.Equal(t, "turn-key-1", keys[0])
	assert.NotEqual(t, "turn-key-1", keys[1])
	assert.NotEmpty(t, keys[1])
	assert.False(t, slices.Contains(srv.EventTypes(sessionID), "session.error"))
}
