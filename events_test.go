package qoder

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sendResponse = `{"data":[{"id":"evt_019e3bb2c153764da54e4d3acbef52b6","type":"user.message","content":[{"type":"text","text":"Help me analyze the performance of this code."}],"processed_at":"2026-05-18T15:27:11.187413896Z"}]}`

func TestEventsSend(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/sessions/sess%2F1/events", func(w http.ResponseWriter, r *http.Request) {
		assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
		assertJSONBody(t, r, `{"events":[
			{"type":"user.message","content":[{"type":"text","text":"Help me analyze the performance of this code."}]},
			{"type":"system.message","content":[{"type":"text","text":"Be brief."}]}]}`)
		serveJSON(t, w, http.StatusAccepted, sendResponse)
	})
	accepted, err := c.Events.Send(t.Context(), "sess/1", []InputEvent{
		NewUserMessage("Help me analyze the performance of this code."),
		NewSystemMessage("Be brief."),
	})
	require.NoError(t, err)
	require.Len(t, accepted, 1)
	msg, ok := accepted[0].(*UserMessageEvent)
	require.True(t, ok, "got %T", accepted[0])
	assert.Equal(t, "evt_019e3bb2c153764da54e4d3acbef52b6", msg.ID)
	assert.Equal(t, "Help me analyze the performance of this code.", msg.Text())
	assert.Equal(t, time.Date(2026, 5, 18, 15, 27, 11, 187413896, time.UTC), msg.ProcessedAt)
}

func TestEventsSendMessage(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/sessions/sess_1/events", func(w http.ResponseWriter, r *http.Request) {
		assertJSONBody(t, r, `{"events":[{"type":"user.message","content":[{"type":"text","text":"Help me analyze the performance of this code."}]}]}`)
		serveJSON(t, w, http.StatusOK, sendResponse)
	})
	msg, err := c.Events.SendMessage(t.Context(), "sess_1", "Help me analyze the performance of this code.")
	require.NoError(t, err)
	assert.Equal(t, "evt_019e3bb2c153764da54e4d3acbef52b6", msg.EventID())
	testAPIErrors(t, mux, "POST /api-test/sessions/missing/events", func() error {
		_, err := c.Events.SendMessage(t.Context(), "missing", "hi")
		return err
	})
}

func TestEventsSendRejectsBadInputBeforeIO(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("/", failHandler(t))
	tests := []struct {
		name   string
		id     string
		events []InputEvent
		want   string
	}{
		{"empty id", "", []InputEvent{NewUserMessage("x")}, "session_id is required"},
		{"empty batch", "s", nil, "invalid input event"},
		{"empty content", "s", []InputEvent{UserMessage{}}, "events[0]"},
		{"system message not last", "s", []InputEvent{NewSystemMessage("a"), NewUserMessage("b")}, "last"},
		{"nil event", "s", []InputEvent{nil}, "events[0]"},
	}
	for _, tt := range tests {
		_, err := c.Events.Send(t.Context(), tt.id, tt.events)
		assert.ErrorContains(t, err, tt.want, tt.name)
	}
	_, err := c.Events.SendMessage(t.Context(), "s", "")
	assert.ErrorIs(t, err, ErrInvalidEvent)
}

func TestEventsList(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/sessions/sess_1/events", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "created_at%5Bgt%5D=2026-05-18T00%3A00%3A00Z&created_at%5Blte%5D=2026-05-19T00%3A00%3A00Z&limit=2&order=desc&type=agent.message%2Cuser.message&types%5B%5D=agent.message&types%5B%5D=user.message", r.URL.RawQuery)
		serveJSON(t, w, http.StatusOK, `{"data":[{"id":"evt_1","type":"user.message","content":[{"type":"text","text":"Hello"}],"processed_at":"2026-05-18T03:40:48.888851795Z"},{"id":"evt_2","type":"agent.message","content":[{"type":"text","text":"Hi!"}]},{"id":"evt_3","type":"brand.new","x":1}],"first_id":"evt_1","has_more":false,"last_id":"evt_3","next_page":null}`)
	})
	page, err := c.Events.List(t.Context(), "sess_1", &EventListParams{
		Limit:        2,
		Order:        OrderDesc,
		Types:        []string{"agent.message", "user.message"},
		Type:         "agent.message,user.message",
		CreatedAtGT:  time.Date(2026, 5, 18, 0, 0, 0, 0, time.UTC),
		CreatedAtLTE: time.Date(2026, 5, 19, 0, 0, 0, 0, time.UTC),
	})
	require.NoError(t, err)
	require.Len(t, page.Data, 3)
	assert.IsType(t, &UserMessageEvent{}, page.Data[0])
	assert.Equal(t, "Hi!", page.Data[1].(*AgentMessageEvent).Text())
	unknown, ok := page.Data[2].(*UnknownEvent)
	require.True(t, ok)
	assert.Equal(t, "brand.new", unknown.EventType())
	assert.JSONEq(t, `{"id":"evt_3","type":"brand.new","x":1}`, string(unknown.Raw()))
	assert.Equal(t, "evt_1", page.FirstID)
	assert.Equal(t, "evt_3", page.LastID)
	assert.False(t, page.HasMore)
}

func TestEventsAll(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	var queries []string
	mux.HandleFunc("GET /api-test/sessions/sess_1/events", func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		if r.URL.Query().Get("page") == "" {
			serveJSON(t, w, 200, `{"data":[{"id":"evt_1","type":"session.status_running"}],"first_id":"evt_1","last_id":"evt_1","has_more":true,"next_page":"page_2"}`)
			return
		}
		serveJSON(t, w, 200, `{"data":[{"id":"evt_2","type":"session.status_idle","stop_reason":{"type":"end_turn"}}],"first_id":"evt_2","last_id":"evt_2","has_more":false,"next_page":null}`)
	})
	var got []Event
	for ev, err := range c.Events.All(t.Context(), "sess_1", &EventListParams{Limit: 1}) {
		require.NoError(t, err)
		got = append(got, ev)
	}
	require.Len(t, got, 2)
	assert.IsType(t, &SessionStatusRunningEvent{}, got[0])
	idle, ok := got[1].(*SessionStatusIdleEvent)
	require.True(t, ok)
	assert.Equal(t, StopReasonEndTurn, idle.StopReason.Type)
	assert.Equal(t, []string{"limit=1", "limit=1&page=page_2"}, queries)
}

func TestThreadEvents(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/sessions/sess_1/threads/sthr_2/events", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "limit=5", r.URL.RawQuery)
		serveJSON(t, w, 200, `{"data":[{"id":"evt_019f00000000000000000000000003cc","type":"agent.message","content":[{"type":"text","text":"Thread response"}],"processed_at":"2026-06-15T08:02:00.000Z"}],"first_id":"evt_019f00000000000000000000000003cc","has_more":false,"last_id":"evt_019f00000000000000000000000003cc","next_page":null}`)
	})
	page, err := c.Sessions.Threads.ListEvents(t.Context(), "sess_1", "sthr_2", &EventListParams{Limit: 5})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	assert.Equal(t, "Thread response", page.Data[0].(*AgentMessageEvent).Text())

	n := 0
	for ev, err := range c.Sessions.Threads.AllEvents(t.Context(), "sess_1", "sthr_2", &EventListParams{Limit: 5}) {
		require.NoError(t, err)
		assert.Equal(t, "agent.message", ev.EventType())
		n++
	}
	assert.Equal(t, 1, n)

	_, err = c.Sessions.Threads.ListEvents(t.Context(), "sess_1", "", nil)
	assert.ErrorContains(t, err, "thread_id is required")
	_, err = c.Sessions.Threads.Stream(t.Context(), "", "sthr_2", nil)
	assert.ErrorContains(t, err, "session_id is required")
	testAPIErrors(t, mux, "GET /api-test/sessions/sess_1/threads/gone/events", func() error {
		_, err := c.Sessions.Threads.ListEvents(t.Context(), "sess_1", "gone", nil)
		return err
	})
}
