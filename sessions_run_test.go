package qoder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// turnFake is a small scripted session for Run tests: each POST of input
// events is answered by react, whose events are pushed to the open streams.
type turnFake struct {
	t      *testing.T
	mu     sync.Mutex
	subs   []chan string
	seq    int
	sent   [][]map[string]any
	react  func(f *turnFake, input []map[string]any) []string
	opened chan struct{}
}

func newTurnFake(t *testing.T, react func(f *turnFake, input []map[string]any) []string) (*Client, *turnFake) {
	c, mux := newTestClient(t)
	f := &turnFake{t: t, react: react, opened: make(chan struct{}, 16)}
	mux.HandleFunc("GET /api-test/sessions/sess_1/events/stream", f.stream)
	mux.HandleFunc("POST /api-test/sessions/sess_1/events", f.send)
	return c, f
}

// ev builds an event JSON with a fresh id.
func (f *turnFake) ev(typ string, fields string) string {
	f.mu.Lock()
	f.seq++
	id := fmt.Sprintf("evt_%03d", f.seq)
	f.mu.Unlock()
	if fields != "" {
		fields = "," + fields
	}
	return fmt.Sprintf(`{"id":%q,"type":%q%s}`, id, typ, fields)
}

func (f *turnFake) stream(w http.ResponseWriter, r *http.Request) {
	ch := make(chan string, 64)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	f.opened <- struct{}{}
	for {
		select {
		case <-r.Context().Done():
			return
		case data := <-ch:
			var head struct{ ID, Type string }
			require.NoError(f.t, json.Unmarshal([]byte(data), &head))
			_, _ = fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", head.ID, head.Type, data)
			w.(http.Flusher).Flush()
		}
	}
}

func (f *turnFake) send(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	require.NoError(f.t, err)
	var req struct {
		Events []map[string]any `json:"events"`
	}
	require.NoError(f.t, json.Unmarshal(body, &req))
	f.mu.Lock()
	f.sent = append(f.sent, req.Events)
	f.mu.Unlock()
	var echoes []string
	for _, e := range req.Events {
		raw, _ := json.Marshal(e)
		echo := f.ev(e["type"].(string), string(raw[1:len(raw)-1]))
		echoes = append(echoes, echo)
	}
	serveJSON(f.t, w, http.StatusOK, `{"data":[`+joinJSON(echoes)+`]}`)
	out := f.react(f, req.Events)
	f.mu.Lock()
	subs := append([]chan string(nil), f.subs...)
	f.mu.Unlock()
	for _, data := range out {
		for _, ch := range subs {
			ch <- data
		}
	}
}

func joinJSON(items []string) string {
	out := ""
	for i, s := range items {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

func (f *turnFake) inputs() [][]map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]map[string]any(nil), f.sent...)
}

func TestRunEndTurn(t *testing.T) {
	t.Parallel()
	c, f := newTurnFake(t, func(f *turnFake, in []map[string]any) []string {
		return []string{
			f.ev("session.status_running", ""),
			f.ev("span.model_request_start", ""),
			f.ev("agent.thinking", ""),
			f.ev("agent.message", `"content":[{"type":"text","text":"Hello"},{"type":"text","text":" World"}]`),
			f.ev("agent.message", `"content":[{"type":"text","text":"Done."}]`),
			f.ev("span.model_request_end", `"model_request_start_id":"evt_x","is_error":false,"model_usage":{"credits":1.25}`),
			f.ev("span.model_request_end", `"model_request_start_id":"evt_y","is_error":false,"model_usage":{"credits":0.5}`),
			f.ev("session.status_idle", `"stop_reason":{"type":"end_turn"}`),
		}
	})
	var seen []string
	turn, err := c.Sessions.Run(t.Context(), "sess_1", "Print Hello World", OnEvent(func(ev Event) { seen = append(seen, ev.EventType()) }))
	require.NoError(t, err)
	assert.Equal(t, "Hello World\n\nDone.", turn.Text())
	assert.Equal(t, StopReasonEndTurn, turn.StopReason.Type)
	assert.InDelta(t, 1.75, turn.Credits, 1e-9)
	assert.Equal(t, 2, turn.ModelRequests)
	assert.Len(t, turn.Events, 8)
	assert.Len(t, seen, 8)
	require.Len(t, turn.Input, 1)
	assert.Equal(t, "user.message", turn.Input[0].EventType())
	sent := f.inputs()
	require.Len(t, sent, 1)
	assert.Equal(t, "user.message", sent[0][0]["type"])
	assert.Equal(t, []any{map[string]any{"type": "text", "text": "Print Hello World"}}, sent[0][0]["content"])
}

func TestRunCustomToolIsAnsweredOnce(t *testing.T) {
	t.Parallel()
	var useID string
	c, f := newTurnFake(t, func(f *turnFake, in []map[string]any) []string {
		switch in[0]["type"] {
		case "user.message":
			use := f.ev("agent.custom_tool_use", `"name":"get_weather","input":{"city":"Paris"}`)
			var head struct{ ID string }
			_ = json.Unmarshal([]byte(use), &head)
			useID = head.ID
			return []string{
				f.ev("session.status_running", ""),
				use,
				f.ev("session.status_idle", fmt.Sprintf(`"stop_reason":{"type":"requires_action","event_ids":[%q]}`, useID)),
			}
		case "user.custom_tool_result":
			return []string{
				f.ev("session.status_running", ""),
				f.ev("agent.message", `"content":[{"type":"text","text":"It is sunny."}]`),
				f.ev("session.status_idle", `"stop_reason":{"type":"end_turn"}`),
			}
		}
		return nil
	})
	calls := 0
	handler := func(ctx context.Context, use *AgentCustomToolUseEvent) ([]ContentBlock, error) {
		calls++
		var in struct{ City string }
		require.NoError(t, use.DecodeInput(&in))
		return []ContentBlock{TextBlock("sunny in " + in.City)}, nil
	}
	turn, err := c.Sessions.Run(t.Context(), "sess_1", "Weather?", WithCustomTool("get_weather", handler))
	require.NoError(t, err)
	assert.Equal(t, 1, calls)
	assert.Equal(t, "It is sunny.", turn.Text())
	sent := f.inputs()
	require.Len(t, sent, 2)
	assert.Equal(t, "user.custom_tool_result", sent[1][0]["type"])
	assert.Equal(t, useID, sent[1][0]["custom_tool_use_id"])
	assert.Equal(t, []any{map[string]any{"type": "text", "text": "sunny in Paris"}}, sent[1][0]["content"])
}

func TestRunCustomToolErrorIsSentAsIsError(t *testing.T) {
	t.Parallel()
	c, f := newTurnFake(t, func(f *turnFake, in []map[string]any) []string {
		if in[0]["type"] == "user.message" {
			return []string{
				f.ev("session.status_running", ""),
				`{"id":"evt_use","type":"agent.custom_tool_use","name":"lookup","input":{}}`,
				f.ev("session.status_idle", `"stop_reason":{"type":"requires_action","event_ids":["evt_use"]}`),
			}
		}
		return []string{f.ev("session.status_idle", `"stop_reason":{"type":"end_turn"}`)}
	})
	_, err := c.Sessions.Run(t.Context(), "sess_1", "go", WithCustomTool("lookup", func(context.Context, *AgentCustomToolUseEvent) ([]ContentBlock, error) {
		return nil, errors.New("database down")
	}))
	require.NoError(t, err)
	sent := f.inputs()
	require.Len(t, sent, 2)
	assert.Equal(t, true, sent[1][0]["is_error"])
	assert.Equal(t, []any{map[string]any{"type": "text", "text": "database down"}}, sent[1][0]["content"])
}

func TestRunToolConfirmation(t *testing.T) {
	t.Parallel()
	for _, allow := range []bool{true, false} {
		t.Run(fmt.Sprint("allow=", allow), func(t *testing.T) {
			t.Parallel()
			c, f := newTurnFake(t, func(f *turnFake, in []map[string]any) []string {
				if in[0]["type"] == "user.message" {
					return []string{
						f.ev("session.status_running", ""),
						`{"id":"evt_bash","type":"agent.tool_use","name":"Bash","input":{"command":"rm -rf /tmp/x"},"evaluated_permission":"ask"}`,
						f.ev("session.status_idle", `"stop_reason":{"type":"requires_action","event_ids":["evt_bash"]}`),
					}
				}
				return []string{f.ev("session.status_idle", `"stop_reason":{"type":"end_turn"}`)}
			})
			var asked Event
			_, err := c.Sessions.Run(t.Context(), "sess_1", "clean up", WithToolConfirmation(func(ctx context.Context, use Event) (bool, string, error) {
				asked = use
				return allow, "not today", nil
			}))
			require.NoError(t, err)
			use, ok := asked.(*AgentToolUseEvent)
			require.True(t, ok)
			assert.Equal(t, "Bash", use.Name)
			sent := f.inputs()
			require.Len(t, sent, 2)
			reply := sent[1][0]
			assert.Equal(t, "user.tool_confirmation", reply["type"])
			assert.Equal(t, "evt_bash", reply["tool_use_id"])
			if allow {
				assert.Equal(t, "allow", reply["result"])
				assert.NotContains(t, reply, "deny_message")
			} else {
				assert.Equal(t, "deny", reply["result"])
				assert.Equal(t, "not today", reply["deny_message"])
			}
		})
	}
}

func TestRunEndsClearly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		events  func(f *turnFake) []string
		wantIs  error
		wantMsg string
	}{
		{
			name: "requires_action without a handler",
			events: func(f *turnFake) []string {
				return []string{
					f.ev("session.status_running", ""),
					`{"id":"evt_c","type":"agent.custom_tool_use","name":"deploy","input":{}}`,
					f.ev("session.status_idle", `"stop_reason":{"type":"requires_action","event_ids":["evt_c"]}`),
				}
			},
			wantIs: ErrRequiresAction, wantMsg: `no handler for custom tool "deploy"`,
		},
		{
			name: "confirmation without a confirmer",
			events: func(f *turnFake) []string {
				return []string{
					f.ev("session.status_running", ""),
					`{"id":"evt_t","type":"agent.tool_use","name":"Bash","input":{},"evaluated_permission":"ask"}`,
					f.ev("session.status_idle", `"stop_reason":{"type":"requires_action","event_ids":["evt_t"]}`),
				}
			},
			wantIs: ErrRequiresAction, wantMsg: "waits for confirmation",
		},
		{
			name: "session.error then retries_exhausted",
			events: func(f *turnFake) []string {
				return []string{
					f.ev("session.status_running", ""),
					f.ev("session.error", `"error":{"type":"model_overloaded_error","message":"Overloaded","retry_status":{"type":"exhausted"}}`),
					f.ev("session.status_idle", `"stop_reason":{"type":"retries_exhausted"}`),
				}
			},
			wantIs: ErrTurnFailed, wantMsg: "Overloaded",
		},
		{
			name: "session.error that echoes the token",
			events: func(f *turnFake) []string {
				return []string{
					f.ev("session.status_running", ""),
					f.ev("session.error", `"error":{"type":"mcp_error","message":"header Bearer `+testToken+` refused","retry_status":{"type":"terminal"}}`),
					f.ev("session.status_idle", `"stop_reason":{"type":"retries_exhausted"}`),
				}
			},
			wantIs: ErrTurnFailed, wantMsg: "header Bearer " + redactedText + " refused",
		},
		{
			name: "terminated",
			events: func(f *turnFake) []string {
				return []string{f.ev("session.status_running", ""), f.ev("session.status_terminated", "")}
			},
			wantIs: ErrSessionTerminated,
		},
		{
			name: "deleted",
			events: func(f *turnFake) []string {
				return []string{f.ev("session.status_running", ""), f.ev("session.deleted", "")}
			},
			wantIs: ErrSessionTerminated, wantMsg: "deleted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newTurnFake(t, func(f *turnFake, in []map[string]any) []string { return tt.events(f) })
			turn, err := c.Sessions.Run(t.Context(), "sess_1", "go")
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.wantIs)
			assert.Contains(t, err.Error(), tt.wantMsg)
			assert.NotContains(t, err.Error(), testToken)
			require.NotNil(t, turn, "the turn so far is returned with the error")
			assert.NotEmpty(t, turn.Events)
		})
	}
}

func TestRunCancelledIsNotAnError(t *testing.T) {
	t.Parallel()
	c, _ := newTurnFake(t, func(f *turnFake, in []map[string]any) []string {
		return []string{f.ev("session.status_running", ""), f.ev("session.status_idle", `"stop_reason":{"type":"cancelled"}`)}
	})
	turn, err := c.Sessions.Run(t.Context(), "sess_1", "go")
	require.NoError(t, err)
	assert.Equal(t, StopReasonCancelled, turn.StopReason.Type)
}

// TestRunContextCancel ends Run's context mid-turn: Run interrupts the
// turn, with a request of its own (ctx is over), follows the stream until
// the session settles, and returns the turn so far with ctx.Err().
func TestRunContextCancel(t *testing.T) {
	t.Parallel()
	c, f := newTurnFake(t, func(f *turnFake, in []map[string]any) []string {
		if in[0]["type"] == "user.interrupt" {
			return []string{f.ev("session.status_idle", `"stop_reason":{"type":"cancelled"}`)}
		}
		return []string{f.ev("session.status_running", "")}
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	turn, err := c.Sessions.Run(ctx, "sess_1", "go", OnEvent(func(ev Event) {
		if ev.EventType() == EventTypeSessionStatusRunning {
			cancel()
		}
	}))
	assert.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, turn, "the turn so far comes with the error")
	assert.Equal(t, StopReasonCancelled, turn.StopReason.Type, "Run waited for the session to settle")
	sent := f.inputs()
	require.Len(t, sent, 2)
	assert.Equal(t, []map[string]any{{"type": "user.interrupt"}}, sent[1])

	// A context that ends before the input is sent leaves nothing in
	// flight, and nothing to interrupt.
	turn, err = c.Sessions.Run(ctx, "sess_1", "go")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, turn)
	assert.Len(t, f.inputs(), 2)
}

// TestRunInterruptWaitIsBounded: when the session does not settle after
// the interrupt, Run gives up once WithInterruptTimeout has passed.
func TestRunInterruptWaitIsBounded(t *testing.T) {
	t.Parallel()
	c, f := newTurnFake(t, func(f *turnFake, in []map[string]any) []string {
		if in[0]["type"] == "user.interrupt" {
			return nil // the session never settles
		}
		return []string{f.ev("session.status_running", "")}
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		// A budget that a loaded machine's interrupt request fits in, yet
		// far below the default 10 s.
		_, err := c.Sessions.Run(ctx, "sess_1", "go", WithInterruptTimeout(time.Second),
			OnEvent(func(Event) { cancel() }))
		done <- err
	}()
	start := time.Now()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its interrupt timeout")
	}
	assert.Less(t, time.Since(start), defaultInterruptTimeout, "the interrupt timeout, not the default, bounded the wait")
	sent := f.inputs()
	require.Len(t, sent, 2)
	assert.Equal(t, "user.interrupt", sent[1][0]["type"])
}

// TestRunWithoutInterrupt: the option leaves the turn alone; Run returns
// as soon as ctx ends.
func TestRunWithoutInterrupt(t *testing.T) {
	t.Parallel()
	c, f := newTurnFake(t, func(f *turnFake, in []map[string]any) []string {
		return []string{f.ev("session.status_running", "")}
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	turn, err := c.Sessions.Run(ctx, "sess_1", "go", WithoutInterrupt(), OnEvent(func(Event) { cancel() }))
	assert.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, turn)
	assert.Len(t, f.inputs(), 1, "no user.interrupt")
}

func TestRunValidatesInputBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("/", failHandler(t))
	_, err := c.Sessions.Run(t.Context(), "sess_1", "")
	assert.ErrorIs(t, err, ErrInvalidEvent)
	_, err = c.Sessions.RunEvents(t.Context(), "sess_1", nil)
	assert.ErrorIs(t, err, ErrInvalidEvent)
	_, err = c.Sessions.Run(t.Context(), "", "hi")
	assert.ErrorContains(t, err, "session_id is required")
}

func TestRunSendFailureIsReturned(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/sessions/sess_1/events/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("POST /api-test/sessions/sess_1/events", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusConflict, `{"type":"error","error":{"type":"conflict_error","message":"a turn is already running"}}`)
	})
	_, err := c.Sessions.Run(t.Context(), "sess_1", "hi")
	assert.ErrorIs(t, err, ErrConflict)
}
