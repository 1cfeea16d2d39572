// Cancel starts a long turn and cancels it with client.Sessions.Cancel as
// soon as the agent shows signs of work. The session passes through
// "canceling" and settles idle with stop reason "cancelled"; it stays
// usable for the next message.
//
// Against the real API (the token comes from QODER_PAT, the region from
// QODER_BASE_URL):
//
//	QODER_PAT=pt-... go run ./examples/cancel
//
// Without a token it runs against qodertest, the SDK's in-process fake.
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() { setup.Main(run) }

func run(ctx context.Context) error {
	client, closeFake, err := setup.Client(slowAgent)
	if err != nil {
		return err
	}
	defer closeFake()
	sessionID, err := setup.Session(ctx, client, &qoder.AgentCreateParams{
		Name:  "cancel-example",
		Model: qoder.ModelConfig{ID: "ultimate"},
		Tools: []qoder.AgentTool{qoder.AgentToolset(qoder.ToolBash)},
	})
	if err != nil {
		return err
	}

	stream, err := client.Events.Stream(ctx, sessionID, nil)
	if err != nil {
		return err
	}
	defer stream.Close()
	if _, err := client.Events.SendMessage(ctx, sessionID, "Count from 1 to 100 with bash, sleeping a second between numbers."); err != nil {
		return err
	}
	cancelled := false
	for ev := range stream.Events() {
		fmt.Println(ev.EventType())
		if strings.HasPrefix(ev.EventType(), "agent.") && !cancelled {
			// The agent is at work: stop it.
			res, err := client.Sessions.Cancel(ctx, sessionID)
			if err != nil {
				return err
			}
			cancelled = true
			fmt.Println("  -> cancel requested; the session is", res.Status)
		}
		if idle, ok := ev.(*qoder.SessionStatusIdleEvent); ok {
			fmt.Println("stop reason:", idle.StopReason.Type)
			if idle.StopReason.Type != qoder.StopReasonCancelled {
				return fmt.Errorf("expected the turn to be cancelled, it ended with %s", idle.StopReason.Type)
			}
			return nil
		}
	}
	if err := stream.Err(); err != nil {
		return err
	}
	return errors.New("the stream ended before the session went idle")
}

// slowAgent stands in for the model when running against the fake: it
// counts slowly with Bash until the turn is cancelled.
func slowAgent(turn *qodertest.Turn) {
	turn.Think()
	for i := 1; i <= 100; i++ {
		select {
		case <-time.After(time.Second):
		case <-turn.Context().Done():
			return // cancelled: the fake ends the turn with stop reason cancelled
		}
		turn.UseTool(qoder.ToolBash, map[string]string{"command": fmt.Sprintf("echo %d", i)}, fmt.Sprintf("%d\n", i))
	}
}
