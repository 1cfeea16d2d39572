package qodertest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// team is a fake whose session runs a coordinator agent ("lead", with a
// roster of "researcher" and itself).
type team struct {
	*api
	session    string // the session's id
	researcher string // the researcher agent's id
}

func newTeam(t *testing.T, script func(*Turn), opts ...Option) *team {
	t.Helper()
	a := newAPI(t, append([]Option{WithAgent(script)}, opts...)...)
	return a.team()
}

// team creates the agents and the session on a.
func (a *api) team() *team {
	a.t.Helper()
	researcher := a.createAgent("researcher", map[string]any{"system": "You research."})
	lead := a.createAgent("lead", map[string]any{"multiagent": map[string]any{"type": "coordinator",
		"agents": []any{researcher, map[string]any{"type": "self"}}}})
	id := a.ok(201, "POST", "sessions", map[string]any{"agent": lead, "environment_id": a.createEnv("e")})["id"].(string)
	return &team{api: a, session: id, researcher: researcher}
}

// run sends text and waits for the turn's end.
func (tm *team) run(text string) {
	tm.t.Helper()
	require.Equal(tm.t, 202, tm.send(tm.session, userMessage(text)).status)
	tm.waitStatus(tm.session, "idle")
}

// threads lists the session's threads.
func (tm *team) threads() []map[string]any {
	tm.t.Helper()
	var out []map[string]any
	for _, th := range tm.ok(200, "GET", "sessions/"+tm.session+"/threads", nil)["data"].([]any) {
		out = append(out, th.(map[string]any))
	}
	return out
}

// threadEvents lists one thread's events (or, with thread "", the
// session's).
func (tm *team) threadEvents(thread string) []map[string]any {
	tm.t.Helper()
	path := "sessions/" + tm.session + "/events?limit=100"
	if thread != "" {
		path = "sessions/" + tm.session + "/threads/" + thread + "/events?limit=100"
	}
	var out []map[string]any
	for _, e := range tm.ok(200, "GET", path, nil)["data"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// count is how many of types are typ.
func count(types []string, typ string) int {
	n := 0
	for _, x := range types {
		if x == typ {
			n++
		}
	}
	return n
}

func typesOf(evs []map[string]any) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e["type"].(string)
	}
	return out
}

// textOf is the text of an event's first content block.
func textOf(e map[string]any) string {
	return e["content"].([]any)[0].(map[string]any)["text"].(string)
}

func TestThreads_delegate(t *testing.T) {
	t.Parallel()
	var task, inThread string
	tm := newTeam(t, func(t *Turn) {
		id, reply := t.Delegate("researcher", "find X", func(c *Turn) {
			task, inThread = c.Text(), c.ThreadID()
			c.Think()
			c.UseTool("Bash", map[string]string{"command": "grep -r X"}, "X=42\n")
			c.Say("X is 42")
		})
		t.Say(id + " says " + reply)
	})
	tm.run("find X")

	threads := tm.threads()
	require.Len(t, threads, 2)
	coord, child := threads[0], threads[1]
	coordID, childID := coord["id"].(string), child["id"].(string)
	assert.Equal(t, "find X", task, "the thread's Text is its task")
	assert.Equal(t, childID, inThread)
	assert.Regexp(t, `^sthr_[0-9a-f]{32}$`, childID)
	assert.Nil(t, coord["parent_thread_id"], "the coordinator has no parent")
	assert.Equal(t, coordID, child["parent_thread_id"])
	for _, th := range threads {
		assert.Equal(t, "session_thread", th["type"])
		assert.Equal(t, tm.session, th["session_id"])
		assert.Equal(t, "idle", th["status"])
		assert.Nil(t, th["archived_at"])
		assert.NotContains(t, th["agent"], "multiagent", "a thread's agent shows no roster")
		assert.Subset(t, keys(th["stats"].(map[string]any)), []string{"active_seconds", "duration_seconds", "startup_seconds"})
	}
	assert.Equal(t, "lead", coord["agent"].(map[string]any)["name"])
	assert.Equal(t, tm.researcher, child["agent"].(map[string]any)["id"])
	assert.Equal(t, "You research.", child["agent"].(map[string]any)["system"])
	assert.Equal(t, map[string]any{"total_credits": 0.25}, child["usage"], "the thread's own model request")
	assert.Equal(t, map[string]any{"total_credits": 0.25}, coord["usage"], "the coordinator's, without its children's")
	assert.Equal(t, map[string]any{"total_credits": 0.5}, tm.ok(200, "GET", "sessions/"+tm.session, nil)["usage"])
	got := tm.ok(200, "GET", "sessions/"+tm.session+"/threads/"+childID, nil)
	assert.Equal(t, child["agent"], got["agent"])
	assert.Equal(t, child["created_at"], got["created_at"])

	childEvents := tm.threadEvents(childID)
	assert.Equal(t, []string{"session.thread_created", "session.thread_status_running", "agent.thread_message_received",
		"span.model_request_start", "agent.thinking", "agent.tool_use", "agent.tool_result", "agent.message",
		"span.model_request_end", "agent.thread_message_sent", "session.thread_status_idle"}, typesOf(childEvents))
	for _, e := range childEvents {
		assert.Equal(t, childID, e["session_thread_id"], "%s", e["type"])
	}
	assert.Equal(t, "researcher", childEvents[0]["agent_name"])
	assert.Equal(t, coordID, childEvents[2]["from_session_thread_id"])
	assert.Equal(t, "lead", childEvents[2]["from_agent_name"])
	assert.Equal(t, "find X", textOf(childEvents[2]))
	assert.Equal(t, coordID, childEvents[9]["to_session_thread_id"])
	assert.Equal(t, "X is 42", textOf(childEvents[9]))
	assert.Equal(t, map[string]any{"type": "end_turn"}, childEvents[10]["stop_reason"])

	coordEvents := tm.threadEvents(coordID)
	assert.Equal(t, []string{"session.status_running", "user.message", "span.model_request_start", "agent.thread_message_sent",
		"agent.thread_message_received", "agent.message", "span.model_request_end", "session.status_idle"}, typesOf(coordEvents))
	for _, e := range coordEvents {
		assert.NotContains(t, e, "session_thread_id")
	}
	assert.Equal(t, childID, coordEvents[3]["to_session_thread_id"])
	assert.Equal(t, "researcher", coordEvents[3]["to_agent_name"])
	assert.Equal(t, childID, coordEvents[4]["from_session_thread_id"])
	assert.Equal(t, childID+" says X is 42", textOf(coordEvents[5]))
	assert.Len(t, tm.threadEvents(""), len(childEvents)+len(coordEvents), "the session's events are its threads' events")
}

func TestThreads_singleAgentSessionHasNone(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	id := a.createSession()
	assert.Equal(t, map[string]any{"data": []any{}, "first_id": nil, "last_id": nil, "has_more": false, "next_page": nil},
		a.ok(200, "GET", "sessions/"+id+"/threads", nil))
	for _, r := range []struct{ method, path string }{
		{"GET", "sessions/" + id + "/threads/sthr_x"},
		{"POST", "sessions/" + id + "/threads/sthr_x/archive"},
		{"GET", "sessions/" + id + "/threads/sthr_x/events"},
		{"GET", "sessions/" + id + "/threads/sthr_x/stream"},
		{"GET", "sessions/sess_nope/threads"},
	} {
		resp := a.req(r.method, r.path, nil)
		require.Equal(t, 404, resp.status, "%s %s: %s", r.method, r.path, resp.body)
		typ, _, _ := resp.errorOf(t)
		assert.Equal(t, "not_found_error", typ)
	}
}

func TestThreads_archive(t *testing.T) {
	t.Parallel()
	tm := newTeam(t, func(t *Turn) {
		t.Delegate("self", "help", func(c *Turn) { c.Say("done") })
	})
	tm.run("go")
	threads := tm.threads()
	coordID, childID := threads[0]["id"].(string), threads[1]["id"].(string)
	assert.Equal(t, "lead", threads[1]["agent"].(map[string]any)["name"], "a self thread runs the coordinator's agent")

	r := tm.req("POST", "sessions/"+tm.session+"/threads/"+coordID+"/archive", nil)
	require.Equal(t, 409, r.status, "%s", r.body)
	typ, msg, _ := r.errorOf(t)
	assert.Equal(t, "conflict_error", typ)
	assert.Contains(t, msg, "coordinator")

	archived := tm.ok(200, "POST", "sessions/"+tm.session+"/threads/"+childID+"/archive", nil)
	assert.NotNil(t, archived["archived_at"])
	assert.Equal(t, "terminated", archived["status"])
	again := tm.ok(200, "POST", "sessions/"+tm.session+"/threads/"+childID+"/archive", nil)
	assert.Equal(t, archived["archived_at"], again["archived_at"], "archiving again changes nothing")
	childEvents := tm.threadEvents(childID)
	last := childEvents[len(childEvents)-1]
	assert.Equal(t, "session.thread_status_terminated", last["type"])
	assert.Equal(t, "lead", last["agent_name"])
	assert.Equal(t, 1, count(typesOf(childEvents), "session.thread_status_terminated"))
	assert.Len(t, tm.threads(), 2, "archived threads are still listed")

	other := tm.team()
	for _, path := range []string{
		"sessions/" + tm.session + "/threads/sthr_nope/archive",
		"sessions/" + other.session + "/threads/" + childID + "/archive",
		"sessions/sess_nope/threads/" + childID + "/archive",
	} {
		assert.Equal(t, 404, tm.req("POST", path, nil).status, path)
	}
}

// TestThreads_archiveStopsARunningThread archives a thread while its
// script waits: the script's context ends, the thread terminates, and the
// coordinator goes on without a reply.
func TestThreads_archiveStopsARunningThread(t *testing.T) {
	t.Parallel()
	started := make(chan string, 1)
	tm := newTeam(t, func(t *Turn) {
		_, reply := t.Delegate("researcher", "work", func(c *Turn) {
			c.Say("working")
			started <- c.ThreadID()
			<-c.Context().Done()
			c.Say("never said")
		})
		t.Say("reply: " + reply)
	})
	require.Equal(t, 202, tm.send(tm.session, userMessage("go")).status)
	childID := <-started
	assert.Equal(t, "running", tm.ok(200, "GET", "sessions/"+tm.session+"/threads/"+childID, nil)["status"])
	tm.ok(200, "POST", "sessions/"+tm.session+"/threads/"+childID+"/archive", nil)
	tm.waitStatus(tm.session, "idle", "end_turn")

	childEvents := tm.threadEvents(childID)
	assert.Equal(t, []string{"span.model_request_end", "session.thread_status_terminated"}, typesOf(childEvents[len(childEvents)-2:]))
	assert.Equal(t, 1, count(typesOf(childEvents), "agent.message"))
	coordEvents := tm.threadEvents(tm.threads()[0]["id"].(string))
	assert.Equal(t, "reply: ", textOf(coordEvents[len(coordEvents)-3]))
}

// TestThreads_interrupt stops one thread with a user.interrupt that names
// it; the coordinator's turn goes on. An interrupt naming the coordinator
// stops the session's turn.
func TestThreads_interrupt(t *testing.T) {
	t.Parallel()
	started := make(chan string, 1)
	tm := newTeam(t, func(t *Turn) {
		if t.Text() == "block" {
			t.Say("blocking")
			<-t.Context().Done()
			return
		}
		_, reply := t.Delegate("researcher", "work", func(c *Turn) {
			c.Say("partial")
			started <- c.ThreadID()
			<-c.Context().Done()
		})
		t.Say("reply: " + reply)
	})
	require.Equal(t, 202, tm.send(tm.session, userMessage("go")).status)
	childID := <-started
	r := tm.send(tm.session, map[string]any{"type": "user.interrupt", "session_thread_id": "sthr_nope"})
	assert.Equal(t, 404, r.status, "%s", r.body)
	require.Equal(t, 202, tm.send(tm.session, map[string]any{"type": "user.interrupt", "session_thread_id": childID}).status)
	tm.waitStatus(tm.session, "idle", "end_turn")
	childEvents := tm.threadEvents(childID)
	assert.Equal(t, "user.interrupt", childEvents[len(childEvents)-3]["type"], "the interrupt is the thread's event")
	assert.Equal(t, map[string]any{"type": "cancelled"}, childEvents[len(childEvents)-1]["stop_reason"])
	assert.Equal(t, "idle", tm.ok(200, "GET", "sessions/"+tm.session+"/threads/"+childID, nil)["status"])

	coordID := tm.threads()[0]["id"].(string)
	require.Equal(t, 202, tm.send(tm.session, userMessage("block")).status)
	require.Eventually(t, func() bool { return count(tm.srv.EventTypes(tm.session), "agent.message") == 3 }, wait, time.Millisecond)
	require.Equal(t, 202, tm.send(tm.session, map[string]any{"type": "user.interrupt", "session_thread_id": coordID}).status)
	tm.waitStatus(tm.session, "idle", "cancelled")
}

func TestThreads_rescheduleAndTerminate(t *testing.T) {
	t.Parallel()
	var reply string
	tm := newTeam(t, func(t *Turn) {
		_, reply = t.Delegate("researcher", "work", func(c *Turn) {
			c.Reschedule()
			c.Say("back")
			c.Terminate()
			c.Say("after the end")
		})
		t.Say("done")
	})
	tm.run("go")
	childID := tm.threads()[1]["id"].(string)
	assert.Equal(t, []string{"session.thread_created", "session.thread_status_running", "agent.thread_message_received",
		"session.thread_status_rescheduled", "session.thread_status_running", "span.model_request_start", "agent.message",
		"span.model_request_end", "session.thread_status_terminated"}, typesOf(tm.threadEvents(childID)))
	assert.Equal(t, "terminated", tm.threads()[1]["status"])
	assert.Empty(t, reply, "a terminated thread sends no reply")
	st, _ := tm.srv.Session(tm.session)
	assert.Equal(t, "end_turn", st.StopReason, "the session goes on")
}

// TestThreads_stream reads a thread's stream live and resumed: it has the
// thread's events only, its deltas when asked for, and ends after the
// thread's session.thread_status_terminated.
func TestThreads_stream(t *testing.T) {
	t.Parallel()
	started, release := make(chan string, 1), make(chan struct{})
	tm := newTeam(t, func(t *Turn) {
		t.Say("delegating")
		t.Delegate("researcher", "work", func(c *Turn) {
			c.Say("one")
			started <- c.ThreadID()
			select {
			case <-release:
			case <-c.Context().Done():
			}
			c.SayDeltas("tw", "o")
			c.Terminate()
		})
		t.Say("finished")
	})
	require.Equal(t, 202, tm.send(tm.session, userMessage("go")).status)
	childID := <-started
	stream := "sessions/" + tm.session + "/threads/" + childID + "/stream"
	live := tm.openStreamAt(stream, "event_deltas[]=agent.message")
	close(release)
	frames := live.ended()
	assert.Equal(t, []string{"event_start", "event_delta", "event_delta", "agent.message", "span.model_request_end", "session.thread_status_terminated"}, events(frames))
	assert.Equal(t, io.EOF, live.readErr(), "the stream ends after the thread terminates")
	for _, f := range frames[3:] {
		assert.Equal(t, childID, decode(t, f.data)["session_thread_id"])
	}
	tm.waitStatus(tm.session, "idle", "end_turn")

	created := tm.threadEvents(childID)[0]
	require.Equal(t, "session.thread_created", created["type"])
	resumed := tm.openStreamAt(stream, "", "Last-Event-ID", created["id"].(string)).ended()
	assert.Equal(t, []string{"session.thread_status_running", "agent.thread_message_received", "span.model_request_start",
		"agent.message", "agent.message", "span.model_request_end", "session.thread_status_terminated"}, events(resumed))

	coordID := tm.threads()[0]["id"].(string)
	msg := tm.threadEvents(coordID)[1]
	require.Equal(t, "user.message", msg["type"])
	coord := tm.openStreamAt("sessions/"+tm.session+"/threads/"+coordID+"/stream", "", "Last-Event-ID", msg["id"].(string))
	assert.Equal(t, []string{"span.model_request_start", "agent.message", "agent.thread_message_sent", "agent.message",
		"span.model_request_end", "session.status_idle"}, events(coord.until("session.status_idle")), "the coordinator's own events")

	_, status, body := tm.tryStreamAt(stream, "", "Last-Event-ID", "evt_nope")
	assert.Equal(t, 400, status, "%s", body)
	ended := tm.openStreamAt(stream, "")
	assert.Empty(t, ended.ended(), "a terminated thread's stream ends at once")
}

// TestThreads_streamEndsWithTheSession checks that a child thread's stream
// ends when its session terminates.
func TestThreads_streamEndsWithTheSession(t *testing.T) {
	t.Parallel()
	started, release := make(chan string, 1), make(chan struct{})
	tm := newTeam(t, func(t *Turn) {
		t.Delegate("researcher", "work", func(c *Turn) {
			started <- c.ThreadID()
			<-release
		})
		t.Terminate()
	})
	require.Equal(t, 202, tm.send(tm.session, userMessage("go")).status)
	childID := <-started
	s := tm.openStreamAt("sessions/"+tm.session+"/threads/"+childID+"/stream", "")
	close(release)
	assert.Equal(t, []string{"session.thread_status_idle", "session.status_terminated"}, events(s.ended()))
	assert.Equal(t, "terminated", tm.ok(200, "GET", "sessions/"+tm.session+"/threads/"+childID, nil)["status"])
}

func TestThreads_paging(t *testing.T) {
	t.Parallel()
	tm := newTeam(t, func(t *Turn) {
		for i := range 3 {
			t.Delegate("self", fmt.Sprint("task ", i), func(c *Turn) { c.Say(fmt.Sprint("reply ", i)) })
		}
	})
	tm.run("go")
	all := tm.threads()
	require.Len(t, all, 4)
	base := "sessions/" + tm.session + "/threads"
	p1 := tm.ok(200, "GET", base+"?limit=2", nil)
	assert.Equal(t, []any{all[0]["id"], all[1]["id"]}, []any{p1["first_id"], p1["last_id"]})
	assert.Equal(t, true, p1["has_more"])
	p2 := tm.ok(200, "GET", base+"?limit=2&page="+url.QueryEscape(p1["next_page"].(string)), nil)
	assert.Equal(t, []any{all[2]["id"], all[3]["id"]}, []any{p2["first_id"], p2["last_id"]})
	assert.Equal(t, false, p2["has_more"])
	for _, q := range []string{"before_id=" + all[3]["id"].(string), "limit=0", "page=page_bad"} {
		r := tm.req("GET", base+"?"+q, nil)
		assert.Equal(t, 400, r.status, "%s: %s", q, r.body)
	}

	child := all[2]["id"].(string)
	evs := tm.threadEvents(child)
	events := base + "/" + child + "/events"
	e1 := tm.ok(200, "GET", events+"?limit=3", nil)
	assert.Len(t, e1["data"], 3)
	e2 := tm.ok(200, "GET", events+"?limit=100&page="+url.QueryEscape(e1["next_page"].(string)), nil)
	assert.Equal(t, evs[3]["id"], e2["first_id"])
	assert.Equal(t, evs[len(evs)-1]["id"], e2["last_id"])
	desc := tm.ok(200, "GET", events+"?order=desc&limit=1&type=agent.message", nil)
	assert.Equal(t, "reply 1", textOf(desc["data"].([]any)[0].(map[string]any)))
	coordEvent := tm.threadEvents(all[0]["id"].(string))[0]["id"].(string)
	r := tm.req("GET", events+"?after_id="+coordEvent, nil)
	require.Equal(t, 400, r.status, "%s", r.body)
	_, msg, _ := r.errorOf(t)
	assert.Contains(t, msg, "is not an event of thread '"+child+"'")
}

// TestThreads_sideBySide runs two threads at once from goroutines of the
// coordinator's script.
func TestThreads_sideBySide(t *testing.T) {
	t.Parallel()
	tm := newTeam(t, func(t *Turn) {
		var wg sync.WaitGroup
		replies := make([]string, 2)
		for i, who := range []string{"researcher", "self"} {
			wg.Go(func() {
				_, replies[i] = t.Delegate(who, "name yourself", func(c *Turn) {
					c.Think()
					c.Say("I am " + who)
				})
			})
		}
		wg.Wait()
		t.Say(replies[0] + ", " + replies[1])
	})
	tm.run("go")
	threads := tm.threads()
	require.Len(t, threads, 3)
	var said []string
	for _, th := range threads[1:] {
		evs := tm.threadEvents(th["id"].(string))
		assert.Equal(t, "session.thread_status_idle", evs[len(evs)-1]["type"])
		for _, e := range evs {
			if e["type"] == "agent.message" {
				said = append(said, textOf(e))
			}
		}
	}
	slices.Sort(said)
	assert.Equal(t, []string{"I am researcher", "I am self"}, said)
	coordEvents := tm.threadEvents(threads[0]["id"].(string))
	assert.Equal(t, "I am researcher, I am self", textOf(coordEvents[len(coordEvents)-3]))
}

// recordingTB keeps what the fake reports to its test instead of failing
// it.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// TestDelegate_misuse checks that a script that delegates where it cannot
// fails its test with a reason, and the turn still ends.
func TestDelegate_misuse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		single bool // a session of a single agent
		script func(*Turn)
		want   string
	}{
		{"no roster", true, func(t *Turn) { t.Delegate("researcher", "x", func(*Turn) {}) }, "is not a multi-agent session"},
		{"not on the roster", false, func(t *Turn) { t.Delegate("writer", "x", func(*Turn) {}) }, `no roster entry of agent "lead" is "writer"`},
		{"a thread delegates", false, func(t *Turn) {
			t.Delegate("self", "x", func(c *Turn) { c.Delegate("self", "y", func(*Turn) {}) })
		}, "a thread's turn cannot start threads"},
		{"a thread waits for the client", false, func(t *Turn) {
			t.Delegate("self", "x", func(c *Turn) { c.CallCustomTool("lookup", nil) })
		}, "a thread's turn cannot wait for the client"},
		{"a thread panics", false, func(t *Turn) {
			t.Delegate("self", "x", func(c *Turn) { panic("boom") })
		}, "thread script panicked: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			hc := &http.Client{Transport: &http.Transport{}}
			t.Cleanup(hc.CloseIdleConnections)
			a := &api{t: t, srv: NewServer(rec, WithAgent(tt.script)), hc: hc}
			id := ""
			if tt.single {
				id = a.createSession()
			} else {
				id = a.team().session
			}
			require.Equal(t, 202, a.send(id, userMessage("go")).status)
			a.waitStatus(id, "idle", "end_turn")
			require.Len(t, rec.reported(), 1)
			assert.Contains(t, rec.reported()[0], tt.want)
		})
	}
}
