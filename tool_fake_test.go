package qoder_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
)

// TestTypedToolWholeTurn runs a turn against qodertest in which the
// scripted agent calls a typed tool twice: once with good input, once with
// input of the wrong shape, and reports what it got back.
func TestTypedToolWholeTurn(t *testing.T) {
	t.Parallel()
	type lookupArgs struct {
		City string `json:"city" jsonschema:"the city's name"`
		Days int    `json:"days,omitempty"`
	}
	var mu sync.Mutex
	var calls []lookupArgs
	lookup, err := qoder.NewTool("lookup_weather", "Look up the weather in a city.", func(_ context.Context, in lookupArgs) (string, error) {
		mu.Lock()
		calls = append(calls, in)
		mu.Unlock()
		return fmt.Sprintf("%s: sunny for %d days", in.City, in.Days), nil
	})
	require.NoError(t, err)

	srv := qodertest.NewServer(t, qodertest.WithAgent(func(turn *qodertest.Turn) {
		first, ok := turn.CallCustomTool("lookup_weather", map[string]any{"city": "Paris", "days": 2})
		if !ok {
			return
		}
		second, ok := turn.CallCustomTool("lookup_weather", map[string]any{"city": []string{"Berlin"}})
		if !ok {
			return
		}
		turn.Say(fmt.Sprintf("first: %s (error %t)", first.Text, first.IsError))
		turn.Say(fmt.Sprintf("second error %t: %s", second.IsError, second.Text))
	}))
	client := srv.Client()
	ctx := t.Context()
	agent, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{
		Name:  "weather",
		Model: qoder.ModelConfig{ID: "ultimate"},
		Tools: []qoder.AgentTool{lookup.Definition()},
	})
	require.NoError(t, err)
	require.Len(t, agent.Tools, 1)
	assert.JSONEq(t, string(lookup.Definition().InputSchema), string(agent.Tools[0].InputSchema), "the fake accepts and keeps the inferred schema")
	sessionID := srv.SeedSession(agent.ID, srv.SeedEnvironment("env"))

	turn, err := client.Sessions.Run(ctx, sessionID, "Weather in Paris and Berlin?", qoder.WithTools(lookup))
	require.NoError(t, err)
	assert.Equal(t, qoder.StopReasonEndTurn, turn.StopReason.Type)
	mu.Lock()
	assert.Equal(t, []lookupArgs{{City: "Paris", Days: 2}}, calls, "the handler gets the decoded input, and is not called for the wrong shape")
	mu.Unlock()
	msgs := turn.Messages()
	require.Len(t, msgs, 2)
	assert.Equal(t, "first: Paris: sunny for 2 days (error false)", msgs[0].Text())
	assert.Contains(t, msgs[1].Text(), "second error true: invalid input for tool lookup_weather")
	assert.Contains(t, msgs[1].Text(), "/properties/city", "the error names the field")

	var results int
	for _, raw := range srv.Events(sessionID) {
		var e struct{ Type string }
		require.NoError(t, json.Unmarshal(raw, &e))
		if e.Type == "user.custom_tool_result" {
			results++
		}
	}
	assert.Equal(t, 2, results, "each call is answered exactly once")
}
