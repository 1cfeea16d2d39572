// Streaming-deltas prints the agent's reply as it is written. The stream is
// opened with StreamParams.EventDeltas, so each agent.message is previewed
// by event_start and event_delta frames before the final, authoritative
// event; qoder.MessageAccumulator.Delta turns each frame into the text it
// adds, and says when the message is complete.
//
// Against the real API (the token comes from QODER_PAT, the region from
// QODER_BASE_URL):
//
//	QODER_PAT=pt-... go run ./examples/streaming-deltas
//
// Without a token it runs against qodertest, the SDK's in-process fake.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() { setup.Main(run) }

func run(ctx context.Context) error {
	client, closeFake, err := setup.Client(poetAgent)
	if err != nil {
		return err
	}
	defer closeFake()
	sessionID, err := setup.Session(ctx, client, &qoder.AgentCreateParams{
		Name:  "streaming-deltas-example",
		Model: qoder.ModelConfig{ID: "ultimate"},
	})
	if err != nil {
		return err
	}

	stream, err := client.Events.Stream(ctx, sessionID, &qoder.StreamParams{EventDeltas: []string{"agent.message"}})
	if err != nil {
		return err
	}
	defer stream.Close()
	if _, err := client.Events.SendMessage(ctx, sessionID, "Write a haiku about streams."); err != nil {
		return err
	}

	var acc qoder.MessageAccumulator
	started := map[string]bool{} // messages whose "agent: " is printed
	deltas := map[string]int{}   // delta frames received per message
	for ev := range stream.Events() {
		if d, ok := ev.(*qoder.EventDelta); ok {
			deltas[d.TargetID]++
		}
		// Delta gives just the text that is new, and done once the final,
		// authoritative event of the message arrived.
		id, text, done := acc.Delta(ev)
		if (text != "" || done) && !started[id] {
			fmt.Print("agent: ")
			started[id] = true
		}
		fmt.Print(text)
		if done {
			fmt.Printf("\n(message %s complete after %d delta frames)\n", id, deltas[id])
		}
		if idle, ok := ev.(*qoder.SessionStatusIdleEvent); ok {
			fmt.Println("idle:", idle.StopReason.Type)
			if idle.StopReason.Type != qoder.StopReasonEndTurn {
				return fmt.Errorf("the turn stopped with %s", idle.StopReason.Type)
			}
			return nil
		}
	}
	if err := stream.Err(); err != nil {
		return err
	}
	return errors.New("the stream ended before the session went idle")
}

// poetAgent stands in for the model when running against the fake: it
// writes its reply a few words at a time, as a model generates tokens.
func poetAgent(turn *qodertest.Turn) {
	turn.Think()
	msg := turn.StartMessage()
	for _, part := range []string{"Bytes ", "drift ", "down ", "the wire —\n", "each ", "delta ", "a ", "ripple,\n", "the ", "whole ", "sea ", "arrives."} {
		select {
		case <-time.After(60 * time.Millisecond):
		case <-turn.Context().Done():
			return
		}
		msg.Delta(part)
	}
	msg.End()
}
