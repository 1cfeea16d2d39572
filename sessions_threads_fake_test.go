package qoder_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"testing"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newCoordinatorSession creates, through the client, a researcher agent, a
// coordinator whose roster is the researcher (by bare id) and itself, and
// a session of the coordinator; it returns the session's and the
// researcher's ids.
func newCoordinatorSession(t *testing.T, srv *qodertest.Server, client *qoder.Client) (sessionID, researcherID string) {
	t.Helper()
	ctx := fakeCtx(t)
	researcher, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{Name: "researcher", Model: qoder.ModelConfig{ID: "ultimate"}})
	require.NoError(t, err)
	lead, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{Name: "lead", Model: qoder.ModelConfig{ID: "ultimate"},
		Multiagent: qoder.Multiagent{Type: qoder.MultiagentCoordinator, Agents: []qoder.MultiagentAgent{
			{ID: researcher.ID}, {Type: qoder.MultiagentAgentTypeSelf},
		}}})
	require.NoError(t, err)
	sess, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{Agent: qoder.AgentRef{ID: lead.ID}, EnvironmentID: srv.SeedEnvironment("env")})
	require.NoError(t, err)
	return sess.ID, researcher.ID
}

// TestSessionThreadsFake drives client.Sessions.Threads against a
// coordinator that delegates to a researcher thread: the threads, their
// typed events, paging, and the archive rules.
func TestSessionThreadsFake(t *testing.T) {
	t.Parallel()
	srv := qodertest.NewServer(t, qodertest.WithAgent(func(turn *qodertest.Turn) {
		_, reply := turn.Delegate("researcher", "Which test fails?", func(thread *qodertest.Turn) {
			thread.Think()
			thread.UseTool("Bash", map[string]string{"command": "go test ./..."}, "--- FAIL: TestParse")
			thread.Say("TestParse fails")
		})
		turn.Say("The researcher says: " + reply)
	}))
	client := srv.Client()
	ctx := fakeCtx(t)
	sessionID, researcherID := newCoordinatorSession(t, srv, client)

	turn, err := client.Sessions.Run(ctx, sessionID, "Why is CI red?")
	require.NoError(t, err)
	assert.Equal(t, "The researcher says: TestParse fails", turn.Text(), "Run keeps the coordinator's messages")

	page, err := client.Sessions.Threads.List(ctx, sessionID, nil)
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
	coord, child := page.Data[0], page.Data[1]
	assert.True(t, coord.IsCoordinator())
	assert.False(t, child.IsCoordinator())
	assert.Equal(t, coord.ID, child.ParentThreadID)
	assert.Equal(t, "session_thread", child.Type)
	assert.Equal(t, sessionID, child.SessionID)
	assert.Equal(t, researcherID, child.Agent.ID)
	assert.Equal(t, "researcher", child.Agent.Name)
	assert.Equal(t, qoder.SessionStatusIdle, child.Status)
	assert.Equal(t, 0.25, child.Usage.TotalCredits)
	assert.Zero(t, child.Agent.Multiagent, "a thread's agent shows no roster")
	got, err := client.Sessions.Threads.Get(ctx, sessionID, child.ID)
	require.NoError(t, err)
	assert.Equal(t, child.ID, got.ID)
	assert.Equal(t, child.CreatedAt, got.CreatedAt)

	var types []string
	var events []qoder.Event
	for ev, err := range client.Sessions.Threads.AllEvents(ctx, sessionID, child.ID, &qoder.EventListParams{Limit: 2}) {
		require.NoError(t, err)
		events = append(events, ev)
		types = append(types, ev.EventType())
		var meta qoder.EventMeta
		require.NoError(t, json.Unmarshal(ev.Raw(), &meta))
		assert.Equal(t, child.ID, meta.SessionThreadID, "%s", ev.EventType())
	}
	assert.Equal(t, []string{"session.thread_created", "session.thread_status_running", "agent.thread_message_received",
		"span.model_request_start", "agent.thinking", "agent.tool_use", "agent.tool_result", "agent.message",
		"span.model_request_end", "agent.thread_message_sent", "session.thread_status_idle"}, types)
	created, ok := events[0].(*qoder.SessionThreadCreatedEvent)
	require.True(t, ok, "%T", events[0])
	assert.Equal(t, "researcher", created.AgentName)
	task, ok := events[2].(*qoder.AgentThreadMessageReceivedEvent)
	require.True(t, ok, "%T", events[2])
	assert.Equal(t, "Which test fails?", task.Text())
	assert.Equal(t, coord.ID, task.FromSessionThreadID)
	assert.Equal(t, "lead", task.FromAgentName)
	sent, ok := events[9].(*qoder.AgentThreadMessageSentEvent)
	require.True(t, ok, "%T", events[9])
	assert.Equal(t, "TestParse fails", sent.Text())
	idle, ok := events[10].(*qoder.SessionThreadStatusIdleEvent)
	require.True(t, ok, "%T", events[10])
	assert.Equal(t, qoder.StopReasonEndTurn, idle.StopReason.Type)

	coordEvents, err := client.Sessions.Threads.ListEvents(ctx, sessionID, coord.ID, &qoder.EventListParams{Limit: 100})
	require.NoError(t, err)
	assert.Len(t, coordEvents.Data, 8, "the coordinator's own events")

	_, err = client.Sessions.Threads.Archive(ctx, sessionID, coord.ID)
	assert.True(t, errors.Is(err, qoder.ErrConflict), "the coordinator cannot be archived: %v", err)
	archived, err := client.Sessions.Threads.Archive(ctx, sessionID, child.ID)
	require.NoError(t, err)
	assert.False(t, archived.ArchivedAt.IsZero())
	assert.Equal(t, qoder.SessionStatusTerminated, archived.Status)
	_, err = client.Sessions.Threads.Get(ctx, sessionID, "sthr_nope")
	assert.True(t, errors.Is(err, qoder.ErrNotFound), "%v", err)
	_, err = client.Sessions.Threads.ListEvents(ctx, sessionID, "sthr_nope", nil)
	assert.True(t, errors.Is(err, qoder.ErrNotFound), "%v", err)
}

// TestSessionThreadsFake_streamResumes reads a thread's stream while the
// fake drops it: the stream resumes from the last event with
// Last-Event-ID, delivers each of the thread's events once, and ends by
// itself after session.thread_status_terminated, leaving no goroutine.
func TestSessionThreadsFake_streamResumes(t *testing.T) {
	started, release := make(chan string, 1), make(chan struct{})
	env := newFakeEnv(t, func(turn *qodertest.Turn) {
		turn.Delegate("researcher", "dig", func(thread *qodertest.Turn) {
			thread.Say("digging")
			started <- thread.ThreadID()
			select {
			case <-release:
			case <-thread.Context().Done():
				return
			}
			thread.Think()
			thread.UseTool("Bash", map[string]string{"command": "git log"}, "abc123")
			thread.SayDeltas("found ", "it")
			thread.Terminate()
		})
		turn.Say("done")
	}, true)
	base := runtime.NumGoroutine()
	ctx := fakeCtx(t)
	sessionID, _ := newCoordinatorSession(t, env.srv, env.client)
	_, err := env.client.Events.SendMessage(ctx, sessionID, "go")
	require.NoError(t, err)
	threadID := <-started

	env.srv.CutStreams(qodertest.Cut{AfterEvents: 2})
	s, err := env.client.Sessions.Threads.Stream(ctx, sessionID, threadID, nil)
	require.NoError(t, err)
	close(release)
	got := readUntil(t, s, nil) // the channel closes after the thread terminates
	require.NoError(t, s.Err())

	all, err := env.client.Sessions.Threads.ListEvents(ctx, sessionID, threadID, &qoder.EventListParams{Limit: 100})
	require.NoError(t, err)
	var want []string
	for _, ev := range all.Data[5:] { // after "digging" and its span's start
		want = append(want, ev.EventID())
	}
	assert.Equal(t, want, bufferedIDs(got), "every event of the thread once, in order")
	assert.Equal(t, []string{"agent.thinking", "agent.tool_use", "agent.tool_result", "agent.message",
		"span.model_request_end", "session.thread_status_terminated"}, eventTypes(got))
	assert.Equal(t, []string{"", want[1]}, lastEventIDs(requestsTo(env.srv, http.MethodGet, "sessions/"+sessionID+"/threads/"+threadID+"/stream")),
		"one reconnect, from the last event delivered")
	terminated, ok := got[len(got)-1].(*qoder.SessionThreadStatusTerminatedEvent)
	require.True(t, ok)
	assert.Equal(t, threadID, terminated.SessionThreadID)
	checkGoroutines(t, env, base)
}

// TestSessionThreadsFake_interrupt stops one thread with a user.interrupt
// that names it, through the SDK; the coordinator's turn goes on.
func TestSessionThreadsFake_interrupt(t *testing.T) {
	t.Parallel()
	started := make(chan string, 1)
	srv := qodertest.NewServer(t, qodertest.WithAgent(func(turn *qodertest.Turn) {
		_, reply := turn.Delegate("self", "wait", func(thread *qodertest.Turn) {
			started <- thread.ThreadID()
			<-thread.Context().Done()
		})
		turn.Say("reply: " + reply)
	}))
	client := srv.Client()
	ctx := fakeCtx(t)
	sessionID, _ := newCoordinatorSession(t, srv, client)
	_, err := client.Events.SendMessage(ctx, sessionID, "go")
	require.NoError(t, err)
	threadID := <-started
	s, err := client.Sessions.Threads.Stream(ctx, sessionID, threadID, nil)
	require.NoError(t, err)
	_, err = client.Events.Send(ctx, sessionID, []qoder.InputEvent{qoder.UserInterrupt{SessionThreadID: threadID}})
	require.NoError(t, err)
	got := readUntil(t, s, func(ev qoder.Event) bool { _, ok := ev.(*qoder.SessionThreadStatusIdleEvent); return ok })
	idle := got[len(got)-1].(*qoder.SessionThreadStatusIdleEvent)
	assert.Equal(t, qoder.StopReasonCancelled, idle.StopReason.Type)
	waitFor(t, "the coordinator's turn to end", func() bool {
		st, _ := srv.Session(sessionID)
		return st.Status == "idle"
	})
	st, _ := srv.Session(sessionID)
	assert.Equal(t, "end_turn", st.StopReason)
}
