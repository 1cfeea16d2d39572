package qodertest

import (
	"io"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultTurn(t *testing.T) {
	a := newAPI(t)
	id := a.createSession()
	st := a.openStream(id, "")
	accepted := a.send(id, userMessage("hello")).obj(t)["data"].([]any)
	require.Len(t, accepted, 1)
	echo := accepted[0].(map[string]any)
	assert.Equal(t, "user.message", echo["type"])
	assert.Equal(t, []any{map[string]any{"type": "text", "text": "hello"}}, echo["content"])

	frames := st.until("session.status_idle")
	assert.Equal(t, []string{
		"session.status_running", "user.message", "span.model_request_start", "agent.thinking",
		"agent.tool_use", "agent.tool_result", "agent.message", "span.model_request_end", "session.status_idle",
	}, events(frames))
	for _, f := range frames {
		assert.Equal(t, f.event, decode(t, f.data)["type"], "SSE event name = data type")
		assert.Equal(t, f.id, decode(t, f.data)["id"], "SSE id = data id")
	}
	assert.Equal(t, echo["id"], frames[1].id, "the echo in the stream is the accepted event")
	use := decode(t, frames[4].data)
	assert.Equal(t, "Bash", use["name"])
	assert.Equal(t, map[string]any{"command": "echo 'hello'"}, use["input"])
	result := decode(t, frames[5].data)
	assert.Equal(t, frames[4].id, result["tool_use_id"])
	assert.Equal(t, false, result["is_error"])
	msg := decode(t, frames[6].data)
	assert.Equal(t, []any{map[string]any{"type": "text", "text": "You said: hello"}}, msg["content"])
	end := decode(t, frames[7].data)
	assert.Equal(t, frames[2].id, end["model_request_start_id"])
	assert.Equal(t, false, end["is_error"])
	assert.Equal(t, map[string]any{"credits": DefaultCredits}, end["model_usage"])
	assert.Equal(t, map[string]any{"type": "end_turn"}, decode(t, frames[8].data)["stop_reason"])

	s := a.ok(200, "GET", "sessions/"+id, nil)
	assert.Equal(t, "idle", s["status"])
	assert.Equal(t, map[string]any{"total_credits": DefaultCredits}, s["usage"], "usage grows per model request")

	// An agent without tools skips the tool use.
	env := a.createEnv("e2")
	plain := a.ok(201, "POST", "sessions", map[string]any{"agent": a.createAgent("plain", nil), "environment_id": env})["id"].(string)
	require.Equal(t, 202, a.send(plain, userMessage("x")).status)
	a.waitStatus(plain, "idle", "end_turn")
	assert.NotContains(t, a.srv.EventTypes(plain), "agent.tool_use")
}

func TestMessageWhileRunning(t *testing.T) {
	release := make(chan struct{})
	a := newAPI(t, WithAgent(blockingAgent(release)))
	id := a.createSession()
	require.Equal(t, 202, a.send(id, userMessage("one")).status)
	a.waitStatus(id, "running")

	r := a.send(id, userMessage("two"))
	require.Equal(t, 409, r.status)
	typ, _, _ := r.errorOf(t)
	assert.Equal(t, "conflict_error", typ)
	assert.Equal(t, 409, a.send(id, userMessage("a"), userMessage("b")).status)

	// Other input is fine while a turn runs.
	a.ok(202, "POST", "sessions/"+id+"/events", map[string]any{"events": []any{
		map[string]any{"type": "user.define_outcome", "description": "d", "rubric": map[string]any{"type": "text", "content": "c"}},
	}})
	close(release)
	a.waitStatus(id, "idle", "end_turn")
	require.Equal(t, 202, a.send(id, userMessage("three")).status)
}

func TestCustomToolRoundTrip(t *testing.T) {
	got := make(chan ToolResult, 1)
	a := newAPI(t, WithAgent(func(turn *Turn) {
		res, ok := turn.CallCustomTool("get_weather", map[string]any{"city": "Paris"})
		if ok {
			got <- res
			turn.Say("It is " + res.Text)
		}
	}))
	id := a.createSession()
	st := a.openStream(id, "")
	require.Equal(t, 202, a.send(id, userMessage("weather?")).status)

	frames := st.until("session.status_idle")
	assert.Equal(t, []string{"session.status_running", "user.message", "span.model_request_start", "agent.custom_tool_use", "span.model_request_end", "session.status_idle"}, events(frames))
	use := frames[3]
	assert.Equal(t, map[string]any{"city": "Paris"}, decode(t, use.data)["input"])
	stop := decode(t, frames[5].data)["stop_reason"].(map[string]any)
	assert.Equal(t, "requires_action", stop["type"])
	assert.Equal(t, []any{use.id}, stop["event_ids"])
	assert.Equal(t, []string{use.id}, a.waitStatus(id, "idle", "requires_action").Pending)

	assert.Equal(t, 409, a.send(id, userMessage("hurry")).status, "a paused turn takes no new message")
	assert.Equal(t, 409, a.send(id, map[string]any{"type": "user.custom_tool_result", "custom_tool_use_id": "evt_other"}).status)
	assert.Equal(t, 409, a.send(id, map[string]any{"type": "user.tool_confirmation", "tool_use_id": use.id, "result": "allow"}).status, "wrong kind of answer")

	require.Equal(t, 202, a.send(id, map[string]any{
		"type": "user.custom_tool_result", "custom_tool_use_id": use.id,
		"content": []any{map[string]any{"type": "text", "text": "sunny"}},
	}).status)
	res := <-got
	assert.Equal(t, "sunny", res.Text)
	assert.False(t, res.IsError)
	assert.JSONEq(t, `[{"type":"text","text":"sunny"}]`, string(res.Content))

	frames = st.until("session.status_idle")
	assert.Equal(t, []string{"session.status_running", "user.custom_tool_result", "span.model_request_start", "agent.message", "span.model_request_end", "session.status_idle"}, events(frames))
	assert.Equal(t, map[string]any{"type": "end_turn"}, decode(t, frames[5].data)["stop_reason"])
	assert.Equal(t, 2*DefaultCredits, a.waitStatus(id, "idle", "end_turn").TotalCredits, "two model requests")
	assert.Equal(t, 409, a.send(id, map[string]any{"type": "user.custom_tool_result", "custom_tool_use_id": use.id}).status, "answered once")

	// An interrupt before the answer in one batch wins: the turn ends
	// cancelled and the answer is only recorded.
	require.Equal(t, 202, a.send(id, userMessage("again")).status)
	st.until("session.status_idle")
	pending := a.waitStatus(id, "idle", "requires_action").Pending
	require.Len(t, pending, 1)
	require.Equal(t, 202, a.send(id,
		map[string]any{"type": "user.interrupt"},
		map[string]any{"type": "user.custom_tool_result", "custom_tool_use_id": pending[0]},
	).status)
	a.waitStatus(id, "idle", "cancelled")
	assert.Len(t, got, 0, "the script did not get the answer")
}

func TestToolConfirmation(t *testing.T) {
	type answer struct {
		allowed bool
		deny    string
	}
	answers := make(chan answer, 2)
	a := newAPI(t, WithAgent(func(turn *Turn) {
		ok, msg := turn.AskConfirmation("Bash", map[string]any{"command": "rm -rf /tmp/x"}, "removed")
		answers <- answer{ok, msg}
	}))
	for _, tt := range []struct {
		name   string
		event  map[string]any
		want   answer
		result bool
	}{
		{"allow", map[string]any{"type": "user.tool_confirmation", "result": "allow"}, answer{true, ""}, true},
		{"deny", map[string]any{"type": "user.tool_confirmation", "result": "deny", "deny_message": "not today"}, answer{false, "not today"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := a.createSession()
			st := a.openStream(id, "")
			require.Equal(t, 202, a.send(id, userMessage("clean")).status)
			frames := st.until("session.status_idle")
			use := frames[3]
			require.Equal(t, "agent.tool_use", use.event)
			assert.Equal(t, "ask", decode(t, use.data)["evaluated_permission"])

			tt.event["tool_use_id"] = use.id
			require.Equal(t, 202, a.send(id, tt.event).status)
			assert.Equal(t, tt.want, <-answers)
			frames = st.until("session.status_idle")
			assert.Equal(t, tt.result, contains(events(frames), "agent.tool_result"), "%v", events(frames))
			assert.Equal(t, "user.tool_confirmation", frames[1].event)
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestDefaultAgentAsksWhenPolicySaysSo(t *testing.T) {
	a := newAPI(t)
	env := a.createEnv("e")
	ag := a.createAgent("careful", map[string]any{"tools": []any{map[string]any{
		"type": "agent_toolset_20260401", "configs": []any{map[string]any{"name": "Bash", "permission_policy": map[string]any{"type": "always_ask"}}},
	}}})
	id := a.ok(201, "POST", "sessions", map[string]any{"agent": ag, "environment_id": env})["id"].(string)
	require.Equal(t, 202, a.send(id, userMessage("hi")).status)
	st := a.waitStatus(id, "idle", "requires_action")
	require.Len(t, st.Pending, 1)

	// Cancelling a paused turn applies (202) and ends it cancelled.
	a.ok(202, "POST", "sessions/"+id+"/cancel", nil)
	a.waitStatus(id, "idle", "cancelled")
	types := a.srv.EventTypes(id)
	assert.Equal(t, []string{"agent.tool_use", "span.model_request_end", "session.status_idle", "session.status_idle"}, types[len(types)-4:])
	assert.NotContains(t, a.srv.EventTypes(id), "agent.message")
}

func TestInterrupt(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	a := newAPI(t, WithAgent(blockingAgent(release)))
	id := a.createSession()
	require.Equal(t, 202, a.send(id, userMessage("go")).status)
	a.waitStatus(id, "running")
	require.Equal(t, 202, a.send(id, map[string]any{"type": "user.interrupt"}).status)
	a.waitStatus(id, "idle", "cancelled")
	types := a.srv.EventTypes(id)
	assert.Equal(t, []string{"user.interrupt", "span.model_request_end", "session.status_idle"}, types[len(types)-3:])

	// An interrupt with nothing running is just recorded.
	require.Equal(t, 202, a.send(id, map[string]any{"type": "user.interrupt"}).status)
	assert.Equal(t, "idle", a.waitStatus(id, "idle").Status)
}

func TestTerminateAndErrors(t *testing.T) {
	a := newAPI(t, WithAgent(func(turn *Turn) {
		turn.Error("model_overloaded_error", "Overloaded", "retrying")
		turn.Reschedule()
		turn.Say("partial")
		turn.Terminate()
		turn.Say("never")
	}))
	id := a.createSession()
	st := a.openStream(id, "")
	require.Equal(t, 202, a.send(id, userMessage("x")).status)
	frames := st.ended() // the stream ends after session.status_terminated
	assert.Equal(t, []string{
		"session.status_running", "user.message", "session.error", "session.status_rescheduled", "session.status_running",
		"span.model_request_start", "agent.message", "span.model_request_end", "session.status_terminated",
	}, events(frames))
	assert.Equal(t, map[string]any{"type": "model_overloaded_error", "message": "Overloaded", "retry_status": map[string]any{"type": "retrying"}}, decode(t, frames[2].data)["error"])
	assert.ErrorIs(t, st.readErr(), io.EOF, "a clean end")

	assert.Equal(t, "terminated", a.ok(200, "GET", "sessions/"+id, nil)["status"])
	r := a.send(id, userMessage("hello?"))
	require.Equal(t, 409, r.status)
	_, msg, _ := r.errorOf(t)
	assert.Contains(t, msg, "terminated")
	assert.Equal(t, 200, a.req("POST", "sessions/"+id+"/cancel", nil).status)

	// A stream opened on a terminated session ends at once.
	assert.Empty(t, a.openStream(id, "").ended())
}

func TestListEvents(t *testing.T) {
	a := newAPI(t)
	id := a.createSession()
	require.Equal(t, 202, a.send(id, userMessage("one")).status)
	a.waitStatus(id, "idle", "end_turn")
	all := a.ok(200, "GET", "sessions/"+id+"/events?limit=100", nil)
	require.Len(t, all["data"], 9)
	first := all["data"].([]any)[0].(map[string]any)
	assert.Equal(t, "session.status_running", first["type"], "oldest first")

	desc := a.ok(200, "GET", "sessions/"+id+"/events?order=desc&limit=2", nil)
	assert.Equal(t, "session.status_idle", desc["data"].([]any)[0].(map[string]any)["type"])
	next := a.ok(200, "GET", "sessions/"+id+"/events?order=desc&limit=2&page="+url.QueryEscape(desc["next_page"].(string)), nil)
	assert.Equal(t, "agent.message", next["data"].([]any)[0].(map[string]any)["type"])
	after := a.ok(200, "GET", "sessions/"+id+"/events?after_id="+first["id"].(string)+"&limit=1", nil)
	assert.Equal(t, "user.message", after["data"].([]any)[0].(map[string]any)["type"])

	typesOf := func(page map[string]any) []string {
		var out []string
		for _, d := range page["data"].([]any) {
			out = append(out, d.(map[string]any)["type"].(string))
		}
		return out
	}
	assert.Equal(t, []string{"user.message", "agent.message"}, typesOf(a.ok(200, "GET", "sessions/"+id+"/events?types[]=user.message&types[]=agent.message", nil)))
	assert.Equal(t, []string{"user.message", "agent.message"}, typesOf(a.ok(200, "GET", "sessions/"+id+"/events?type=user.message,agent.message", nil)))
	assert.Equal(t, []string{"agent.thinking"}, typesOf(a.ok(200, "GET", "sessions/"+id+"/events?type=agent.thinking", nil)))
	assert.Empty(t, typesOf(a.ok(200, "GET", "sessions/"+id+"/events?created_at[gt]=2999-01-01T00:00:00Z", nil)))
}
