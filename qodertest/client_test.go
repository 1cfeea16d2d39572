package qodertest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientEndToEnd drives the fake through the SDK.
func TestClientEndToEnd(t *testing.T) {
	srv := NewServer(t)
	client := srv.Client()
	ctx := t.Context()

	env, err := client.Environments.Create(ctx, &qoder.EnvironmentCreateParams{Name: "e2e"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(env.ID, "env_"))
	agent, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{
		Name: "e2e-agent", Model: qoder.ModelConfig{ID: "ultimate"},
		Tools: []qoder.AgentTool{qoder.AgentToolset(qoder.ToolBash)},
	})
	require.NoError(t, err)
	assert.Equal(t, 1, agent.Version)
	session, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{Agent: qoder.AgentRef{ID: agent.ID}, EnvironmentID: env.ID})
	require.NoError(t, err)
	assert.Equal(t, qoder.SessionStatusIdle, session.Status)
	assert.Equal(t, agent.ID, session.Agent.ID)

	page, err := client.Sessions.List(ctx, nil)
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	assert.Equal(t, session.ID, page.Data[0].ID)
	var names []string
	for a, err := range client.Agents.All(ctx, nil) {
		require.NoError(t, err)
		names = append(names, a.Name)
	}
	assert.Equal(t, []string{"e2e-agent"}, names)

	turn, err := client.Sessions.Run(ctx, session.ID, "hello")
	require.NoError(t, err)
	assert.Equal(t, "You said: hello", turn.Text())
	assert.Equal(t, "end_turn", string(turn.StopReason.Type))

	got, err := client.Sessions.Get(ctx, session.ID)
	require.NoError(t, err)
	assert.Equal(t, DefaultCredits, got.Usage.TotalCredits)

	_, err = client.Agents.Get(ctx, "agent_missing")
	assert.True(t, errors.Is(err, qoder.ErrNotFound), "%v", err)
	var apiErr *qoder.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "Agent 'agent_missing' was not found.", apiErr.Message)
	assert.NotEmpty(t, apiErr.RequestID)

	_, err = srv.Client(qoder.WithToken("pt-wrong")).Models.List(ctx, nil)
	assert.True(t, errors.Is(err, qoder.ErrAuthentication), "%v", err)
}

// TestClientCustomToolAndResume runs a turn that needs a custom tool while
// the stream is cut twice: the SDK must resume with Last-Event-ID and
// still see every event once.
func TestClientCustomToolAndResume(t *testing.T) {
	srv := NewServer(t, WithAgent(func(turn *Turn) {
		turn.Think()
		res, ok := turn.CallCustomTool("get_weather", map[string]any{"city": "Paris"})
		if ok {
			turn.SayDeltas("It is ", res.Text)
		}
	}))
	client := srv.Client()
	sessionID := srv.SeedSession(srv.SeedAgent("a"), srv.SeedEnvironment("e"))
	srv.CutStreams(Cut{AfterEvents: 3, Times: 2})

	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	turn, err := client.Sessions.Run(ctx, sessionID, "weather?",
		qoder.WithCustomTool("get_weather", func(ctx context.Context, use *qoder.AgentCustomToolUseEvent) ([]qoder.ContentBlock, error) {
			return []qoder.ContentBlock{qoder.TextBlock("sunny")}, nil
		}),
	)
	require.NoError(t, err)
	assert.Equal(t, "It is sunny", turn.Text())

	seen := map[string]bool{}
	for _, ev := range turn.Events {
		assert.False(t, seen[ev.EventID()], "event %s delivered twice", ev.EventID())
		seen[ev.EventID()] = true
	}
	resumes := 0
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/events/stream") && r.Header.Get("Last-Event-ID") != "" {
			resumes++
		}
	}
	assert.GreaterOrEqual(t, resumes, 2, "the client resumed with Last-Event-ID after each cut")
}

// TestClientIdleTimeout checks that a silenced stream trips the SDK's idle
// watchdog and that it resumes.
func TestClientIdleTimeout(t *testing.T) {
	srv := NewServer(t, WithHeartbeatInterval(10*time.Millisecond))
	client := srv.Client()
	sessionID := srv.SeedSession(srv.SeedAgent("a"), srv.SeedEnvironment("e"))
	release := srv.SilenceStreams(Silence{AfterEvents: 1})
	defer release()

	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	turn, err := client.Sessions.Run(ctx, sessionID, "hi", qoder.WithStreamParams(&qoder.StreamParams{IdleTimeout: 100 * time.Millisecond}))
	require.NoError(t, err)
	assert.Equal(t, "You said: hi", turn.Text())
}
