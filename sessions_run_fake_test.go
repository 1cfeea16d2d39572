package qoder_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestFakeResilience_RunCustomToolExactlyOnce cuts the turn's stream
// around the custom tool use; the tool must be answered exactly once.
func TestFakeResilience_RunCustomToolExactlyOnce(t *testing.T) {
	script := func(t *qodertest.Turn) {
		res, ok := t.CallCustomTool("get_weather", map[string]string{"city": "Paris"})
		if !ok {
			return
		}
		t.Say("Weather: " + res.Text)
	}
	// running, user.message, span start, custom_tool_use, span end, idle
	// requires_action, running, user.custom_tool_result, span start,
	// agent.message, span end, idle end_turn.
	cases := []struct {
		name      string
		cut       *qodertest.Cut
		failReply bool // the POST of the result gets a 503 first
	}{
		{name: "no fault"},
		{name: "cut right after the custom_tool_use", cut: &qodertest.Cut{AfterEvents: 4}},
		{name: "cut right after the span end", cut: &qodertest.Cut{AfterEvents: 5}},
		{name: "cut right after the requires_action idle", cut: &qodertest.Cut{AfterEvents: 6}},
		{name: "cut right after the result echo", cut: &qodertest.Cut{AfterEvents: 8}},
		{name: "cut after every 3 events", cut: &qodertest.Cut{AfterEvents: 3, Times: 3}},
		{name: "cut after the idle and the result POST fails once", cut: &qodertest.Cut{AfterEvents: 6}, failReply: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newFakeEnv(t, script, true)
			ctx := fakeCtx(t)
			if c.cut != nil {
				env.srv.CutStreams(*c.cut)
			}
			var calls atomic.Int32
			turn, err := env.client.Sessions.Run(ctx, env.session, "Weather in Paris?",
				qoder.WithCustomTool("get_weather", func(ctx context.Context, use *qoder.AgentCustomToolUseEvent) ([]qoder.ContentBlock, error) {
					calls.Add(1)
					var in struct{ City string }
					if err := use.DecodeInput(&in); err != nil {
						return nil, err
					}
					if c.failReply {
						env.srv.FailRequests(qodertest.Failure{Method: "POST", Path: "sessions/*/events", Status: 503, RetryAfter: "0"})
					}
					return []qoder.ContentBlock{qoder.TextBlock("sunny in " + in.City)}, nil
				}))
			require.NoError(t, err)
			require.NotNil(t, turn)
			assert.Equal(t, qoder.StopReasonEndTurn, turn.StopReason.Type)
			assert.Equal(t, "Weather: sunny in Paris", turn.Text())
			assert.EqualValues(t, 1, calls.Load(), "the handler runs once")

			types := env.srv.EventTypes(env.session)
			assert.Equal(t, 1, countOf(types, qoder.EventTypeUserCustomToolResult), "the fake received one result: %v", types)
			posts := eventPostsWith(t, env.srv, env.session, qoder.EventTypeUserCustomToolResult)
			if c.failReply {
				require.Len(t, posts, 2, "the refused POST and its retry")
				assert.Equal(t, posts[0].Header.Get("Idempotency-Key"), posts[1].Header.Get("Idempotency-Key"))
			} else {
				assert.Len(t, posts, 1, "one POST of the result")
			}
			want := 1
			if c.cut != nil {
				want += max(c.cut.Times, 1)
			}
			assert.Len(t, streamRequests(env.srv, env.session), want, "stream connections")
			st, ok := env.srv.Session(env.session)
			require.True(t, ok)
			assert.Equal(t, "end_turn", st.StopReason)
			assert.Empty(t, st.Pending)
		})
	}
}

// TestFakeResilience_RunToolConfirmation allows and denies a tool that asks.
func TestFakeResilience_RunToolConfirmation(t *testing.T) {
	script := func(t *qodertest.Turn) {
		allowed, deny := t.AskConfirmation("Bash", map[string]string{"command": "rm -rf build"}, "removed")
		if allowed {
			t.Say("done")
		} else {
			t.Say("denied: " + deny)
		}
	}
	cases := []struct {
		name     string
		allow    bool
		cut      *qodertest.Cut
		wantText string
	}{
		{name: "allow", allow: true, wantText: "done"},
		{name: "deny", allow: false, wantText: "denied: not in CI"},
		{name: "allow, cut after the idle", allow: true, cut: &qodertest.Cut{AfterEvents: 6}, wantText: "done"},
		{name: "deny, cut after the tool use", allow: false, cut: &qodertest.Cut{AfterEvents: 4}, wantText: "denied: not in CI"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newFakeEnv(t, script, true)
			ctx := fakeCtx(t)
			if c.cut != nil {
				env.srv.CutStreams(*c.cut)
			}
			var asked []qoder.Event
			turn, err := env.client.Sessions.Run(ctx, env.session, "clean up",
				qoder.WithToolConfirmation(func(ctx context.Context, use qoder.Event) (bool, string, error) {
					asked = append(asked, use)
					if c.allow {
						return true, "", nil
					}
					return false, "not in CI", nil
				}))
			require.NoError(t, err)
			assert.Equal(t, qoder.StopReasonEndTurn, turn.StopReason.Type)
			assert.Equal(t, c.wantText, turn.Text())
			require.Len(t, asked, 1, "the confirmer is asked once")
			use, ok := asked[0].(*qoder.AgentToolUseEvent)
			require.True(t, ok, "got %T", asked[0])
			assert.Equal(t, "Bash", use.Name)
			assert.Equal(t, qoder.EvaluatedPermissionAsk, use.EvaluatedPermission)

			var confirmations []qoder.UserToolConfirmationEvent
			for _, raw := range env.srv.Events(env.session) {
				var ev qoder.UserToolConfirmationEvent
				require.NoError(t, json.Unmarshal(raw, &ev))
				if ev.Type == qoder.EventTypeUserToolConfirmation {
					confirmations = append(confirmations, ev)
				}
			}
			require.Len(t, confirmations, 1, "the fake received one confirmation")
			assert.Equal(t, use.ID, confirmations[0].ToolUseID)
			types := env.srv.EventTypes(env.session)
			if c.allow {
				assert.Equal(t, qoder.ToolConfirmationAllow, confirmations[0].Result)
				assert.Empty(t, confirmations[0].DenyMessage)
				assert.Equal(t, 1, countOf(types, qoder.EventTypeAgentToolResult), "the allowed tool ran")
			} else {
				assert.Equal(t, qoder.ToolConfirmationDeny, confirmations[0].Result)
				assert.Equal(t, "not in CI", confirmations[0].DenyMessage)
				assert.Equal(t, 0, countOf(types, qoder.EventTypeAgentToolResult), "the denied tool did not run")
			}
		})
	}
}

// TestFakeResilience_RunFailures covers turns that do not end well.
func TestFakeResilience_RunFailures(t *testing.T) {
	cases := []struct {
		name       string
		script     func(*qodertest.Turn)
		cut        *qodertest.Cut
		wantErr    error
		wantMsg    string
		wantStop   qoder.StopReasonType
		wantErrors int
		streams    int
		why        string // explains a failure of the error check
	}{
		{
			name: "session.error exhausted then idle retries_exhausted",
			script: func(t *qodertest.Turn) {
				t.Error("model_overloaded_error", "Overloaded", "retrying")
				t.Error("model_overloaded_error", "Overloaded", "exhausted")
				t.Emit("session.status_idle", map[string]any{"stop_reason": map[string]any{"type": "retries_exhausted"}})
			},
			wantErr: qoder.ErrTurnFailed, wantMsg: "Overloaded", wantStop: qoder.StopReasonRetriesExhausted, wantErrors: 2, streams: 1,
		},
		{
			name: "same, cut right after the exhausted error",
			script: func(t *qodertest.Turn) {
				t.Error("model_overloaded_error", "Overloaded", "retrying")
				t.Error("model_overloaded_error", "Overloaded", "exhausted")
				t.Emit("session.status_idle", map[string]any{"stop_reason": map[string]any{"type": "retries_exhausted"}})
			},
			cut:     &qodertest.Cut{AfterEvents: 4},
			wantErr: qoder.ErrTurnFailed, wantMsg: "Overloaded", wantStop: qoder.StopReasonRetriesExhausted, wantErrors: 2, streams: 2,
		},
		{
			// ErrTurnFailed's doc: "a session.error whose retries ran out, or an
			// idle with stop reason retries_exhausted or budget_reached".
			name: "session.error exhausted then the turn idles",
			script: func(t *qodertest.Turn) {
				t.Error("model_request_failed_error", "upstream failed", "exhausted")
			},
			wantErr: qoder.ErrTurnFailed, wantMsg: "upstream failed", wantStop: qoder.StopReasonEndTurn, wantErrors: 1, streams: 1,
			why: "BUG: ErrTurnFailed is documented for \"a session.error whose retries ran out\", but Run returned nil: " +
				"sessions_run.go turnRunner.handle only looks at the idle's stop reason, so an exhausted session.error followed by an end_turn idle passes as success",
		},
		{
			name: "idle budget_reached",
			script: func(t *qodertest.Turn) {
				t.Say("partial")
				t.Emit("session.status_idle", map[string]any{"stop_reason": map[string]any{"type": "budget_reached"}})
			},
			wantErr: qoder.ErrTurnFailed, wantMsg: "budget_reached", wantStop: qoder.StopReasonBudgetReached, streams: 1,
		},
		{
			name: "a retried session.error does not fail the turn",
			script: func(t *qodertest.Turn) {
				t.Error("model_overloaded_error", "Overloaded", "retrying")
				t.Say("recovered")
			},
			wantStop: qoder.StopReasonEndTurn, wantErrors: 1, streams: 1,
		},
		{
			name:    "terminated",
			script:  func(t *qodertest.Turn) { t.Say("bye"); t.Terminate() },
			wantErr: qoder.ErrSessionTerminated, streams: 1,
		},
		{
			// running, user.message, span start, agent.message, span end, terminated
			name:    "terminated, cut right before it",
			script:  func(t *qodertest.Turn) { t.Say("bye"); t.Terminate() },
			cut:     &qodertest.Cut{AfterEvents: 5},
			wantErr: qoder.ErrSessionTerminated, streams: 2,
		},
		{
			name:     "rescheduled mid-turn with a drop",
			script:   func(t *qodertest.Turn) { t.Say("one"); t.Reschedule(); t.Say("two") },
			cut:      &qodertest.Cut{AfterEvents: 5}, // right after session.status_rescheduled
			wantStop: qoder.StopReasonEndTurn, streams: 2,
		},
		{
			name:    "no handler for a custom tool",
			script:  func(t *qodertest.Turn) { t.CallCustomTool("unknown_tool", nil) },
			wantErr: qoder.ErrRequiresAction, wantMsg: "unknown_tool", wantStop: qoder.StopReasonRequiresAction, streams: 1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newFakeEnv(t, c.script, true)
			base := runtime.NumGoroutine()
			if c.cut != nil {
				env.srv.CutStreams(*c.cut)
			}
			turn, err := env.client.Sessions.Run(fakeCtx(t), env.session, "go")
			require.NotNil(t, turn, "the turn so far comes with the error")
			if c.wantErr != nil {
				require.ErrorIs(t, err, c.wantErr, "%s; turn events %v", c.why, eventTypes(turn.Events))
				if c.wantMsg != "" {
					assert.Contains(t, err.Error(), c.wantMsg)
				}
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, c.wantStop, turn.StopReason.Type)
			assert.Len(t, turn.Errors, c.wantErrors)
			assert.Len(t, streamRequests(env.srv, env.session), c.streams, "stream connections")
			if errors.Is(c.wantErr, qoder.ErrSessionTerminated) {
				assert.Equal(t, qoder.EventTypeSessionStatusTerminated, turn.Events[len(turn.Events)-1].EventType())
				assert.Equal(t, "bye", turn.Text())
				st, ok := env.srv.Session(env.session)
				require.True(t, ok)
				assert.Equal(t, "terminated", st.Status)
			}
			if c.wantStop == qoder.StopReasonEndTurn || errors.Is(c.wantErr, qoder.ErrSessionTerminated) {
				assert.Equal(t, historyIDs(recordedHistory(t, env.srv, env.session, 0)), bufferedIDs(turn.Events),
					"the turn holds every event of the session once, in order")
			}
			if c.name == "rescheduled mid-turn with a drop" {
				assert.Equal(t, "one\n\ntwo", turn.Text())
			}
			if c.wantErr == nil || errors.Is(c.wantErr, qoder.ErrSessionTerminated) {
				checkGoroutines(t, env, base)
			}
		})
	}
}

// TestFakeResilience_RunCancelFromOnEvent cancels the turn from OnEvent.
func TestFakeResilience_RunCancelFromOnEvent(t *testing.T) {
	cases := []struct {
		name string
		cut  *qodertest.Cut
	}{
		{name: "no fault"},
		// running, user.message, span start, agent.message: cancel while the
		// stream reconnects.
		{name: "cut right after the message", cut: &qodertest.Cut{AfterEvents: 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			script := func(t *qodertest.Turn) {
				t.Say("working on it")
				<-t.Context().Done() // until cancelled
			}
			env := newFakeEnv(t, script, true)
			base := runtime.NumGoroutine()
			ctx := fakeCtx(t)
			if c.cut != nil {
				env.srv.CutStreams(*c.cut)
			}
			cancelled := make(chan error, 1)
			var once sync.Once
			turn, err := env.client.Sessions.Run(ctx, env.session, "start",
				qoder.OnEvent(func(ev qoder.Event) {
					if _, ok := ev.(*qoder.AgentMessageEvent); ok {
						once.Do(func() {
							go func() {
								_, err := env.client.Sessions.Cancel(ctx, env.session)
								cancelled <- err
							}()
						})
					}
				}))
			require.NoError(t, err, "a cancelled turn is not an error")
			assert.Equal(t, qoder.StopReasonCancelled, turn.StopReason.Type)
			assert.Equal(t, "working on it", turn.Text())
			select {
			case err := <-cancelled:
				require.NoError(t, err)
			case <-time.After(fakeWait):
				require.FailNow(t, "Cancel never returned")
			}
			st, ok := env.srv.Session(env.session)
			require.True(t, ok)
			assert.Equal(t, "idle", st.Status)
			assert.Equal(t, "cancelled", st.StopReason)
			checkGoroutines(t, env, base)
		})
	}
}

// TestFakeResilience_RunWhileTurnRuns starts a turn that blocks, then runs
// another: its send is refused with 409 and not retried.
func TestFakeResilience_RunWhileTurnRuns(t *testing.T) {
	gate := make(chan struct{})
	script := func(t *qodertest.Turn) {
		select {
		case <-gate:
		case <-t.Context().Done():
			return
		}
		t.Say("first done")
	}
	env := newFakeEnv(t, script, false)
	base := runtime.NumGoroutine()
	ctx := fakeCtx(t)

	type result struct {
		turn *qoder.Turn
		err  error
	}
	first := make(chan result, 1)
	go func() {
		turn, err := env.client.Sessions.Run(ctx, env.session, "first")
		first <- result{turn, err}
	}()
	waitFor(t, "the first turn to run", func() bool {
		st, _ := env.srv.Session(env.session)
		return st.Status == "running"
	})

	turn, err := env.client.Sessions.Run(ctx, env.session, "second")
	require.ErrorIs(t, err, qoder.ErrConflict)
	assert.Nil(t, turn, "nothing of a turn that was never accepted")
	var apiErr *qoder.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 409, apiErr.StatusCode)
	assert.Len(t, eventPostsWith(t, env.srv, env.session, qoder.EventTypeUserMessage), 2, "the refused send is not retried")
	assert.Equal(t, 1, countOf(env.srv.EventTypes(env.session), qoder.EventTypeUserMessage))

	close(gate)
	select {
	case r := <-first:
		require.NoError(t, r.err)
		assert.Equal(t, "first done", r.turn.Text())
		assert.Equal(t, qoder.StopReasonEndTurn, r.turn.StopReason.Type)
	case <-time.After(fakeWait):
		require.FailNow(t, "the first turn never ended")
	}
	checkGoroutines(t, env, base)
}

// TestFakeResilience_RunSendRetried makes the turn's user.message POST fail
// twice: it is retried with the same key and accepted once.
func TestFakeResilience_RunSendRetried(t *testing.T) {
	env := newFakeEnv(t, nil, false)
	env.srv.FailRequests(qodertest.Failure{Method: "POST", Path: "sessions/*/events", Status: 503, RetryAfter: "0", Times: 2})
	turn, err := env.client.Sessions.Run(fakeCtx(t), env.session, "hello")
	require.NoError(t, err)
	assert.Equal(t, "You said: hello", turn.Text())
	posts := eventPosts(env.srv, env.session)
	require.Len(t, posts, 3)
	key := posts[0].Header.Get("Idempotency-Key")
	require.NotEmpty(t, key)
	for _, p := range posts {
		assert.Equal(t, key, p.Header.Get("Idempotency-Key"))
	}
	assert.Equal(t, 1, countOf(env.srv.EventTypes(env.session), qoder.EventTypeUserMessage))
	require.Len(t, turn.Input, 1)
	assert.Equal(t, qoder.EventTypeUserMessage, turn.Input[0].EventType())
}

// TestFakeResilience_RunDropBeforeFirstEvent drops the turn's stream before
// it delivers anything. Run opened it at the live tail, so the reconnect has
// no Last-Event-ID; Run must still see the whole turn ("It opens the stream
// before it sends, so no event is missed, and resumes across dropped
// connections").
func TestFakeResilience_RunDropBeforeFirstEvent(t *testing.T) {
	cases := []struct {
		name string
		cut  qodertest.Cut
	}{
		{name: "cut right after the headers", cut: qodertest.Cut{}},
		{name: "cut inside the first frame", cut: qodertest.Cut{AfterBytes: 10}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newFakeEnv(t, func(t *qodertest.Turn) { t.Say("answer") }, false)
			env.srv.CutStreams(c.cut)
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			turn, err := env.client.Sessions.Run(ctx, env.session, "question")
			reqs := streamRequests(env.srv, env.session)
			require.NoError(t, err,
				"BUG: Run lost the turn: its stream dropped before the first event and reconnected with Last-Event-ID %q, "+
					"i.e. at the live tail, after the events it had missed (sessions_run.go RunEvents should resume from the accepted user.message id)",
				lastEventIDs(reqs))
			assert.Equal(t, "answer", turn.Text())
		})
	}
}
