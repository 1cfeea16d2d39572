// Streaming-deltas prints the agent's reply as it is written. The stream is
// opened with StreamParams.EventDeltas, so each agent.message is previewed
// by event_start and event_delta frames before the final, authoritative
// event; a qoder.MessageAccumulator turns those frames into growing text.
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
	"strings"
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
	shown := map[string]string{} // the text of each message printed so far
	deltas := map[string]int{}   // delta frames received per message
	for ev := range stream.Events() {
		switch ev := ev.(type) {
		case *qoder.EventStart, *qoder.EventDelta, *qoder.AgentMessageEvent:
			if d, ok := ev.(*qoder.EventDelta); ok {
				deltas[d.TargetID]++
			}
			id, text, changed := acc.Add(ev)
			if changed {
				if _, started := shown[id]; !started {
					fmt.Print("agent: ")
				}
				// Print what is new. The final event is authoritative: should
				// it differ from the previewed text, print it whole.
				if prev := shown[id]; strings.HasPrefix(text, prev) {
					fmt.Print(text[len(prev):])
				} else {
					fmt.Print("\nagent (final): ", text)
				}
				shown[id] = text
			}
			if _, final := ev.(*qoder.AgentMessageEvent); final {
				fmt.Printf("\n(message %s complete after %d delta frames)\n", id, deltas[id])
			}
		case *qoder.SessionStatusIdleEvent:
			fmt.Println("idle:", ev.StopReason.Type)
			if ev.StopReason.Type != qoder.StopReasonEndTurn {
				return fmt.Errorf("the turn stopped with %s", ev.StopReason.Type)
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
