// Conversation holds a three-turn conversation in one session with
// client.Sessions.Run, which sends each message, follows the turn to its
// end and returns it, and prints each turn's reply and credits. The
// session keeps the context between turns.
//
// Against the real API (the token comes from QODER_PAT, the region from
// QODER_BASE_URL):
//
//	QODER_PAT=pt-... go run ./examples/conversation
//
// Without a token it runs against qodertest, the SDK's in-process fake.
package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() { setup.Main(run) }

func run(ctx context.Context) error {
	client, closeFake, err := setup.Client(cannedAgent)
	if err != nil {
		return err
	}
	defer closeFake()
	sessionID, err := setup.Session(ctx, client, &qoder.AgentCreateParams{
		Name:   "conversation-example",
		Model:  qoder.ModelConfig{ID: "ultimate"},
		System: "You are a concise assistant. Answer in one sentence.",
	})
	if err != nil {
		return err
	}

	var total float64
	for i, text := range []string{
		"My name is Ada and I like prime numbers.",
		"What is the smallest prime greater than 20?",
		"What is my name, and what do I like?",
	} {
		fmt.Printf("\n[turn %d] you:   %s\n", i+1, text)
		turn, err := client.Sessions.Run(ctx, sessionID, text)
		if err != nil {
			return err
		}
		total += turn.Credits
		fmt.Printf("[turn %d] agent: %s\n", i+1, turn.Text())
		fmt.Printf("[turn %d] %s, %d model request(s), %.2f credits\n", i+1, turn.StopReason.Type, turn.ModelRequests, turn.Credits)
	}
	// The session's usage adds up every turn too.
	session, err := client.Sessions.Get(ctx, sessionID)
	if err != nil {
		return err
	}
	fmt.Printf("\n3 turns, %.2f credits; the session reports %.2f\n", total, session.Usage.TotalCredits)
	return nil
}

// cannedAgent stands in for the model when running against the fake: it
// gives the answers a model would give to this conversation.
func cannedAgent(turn *qodertest.Turn) {
	turn.Think()
	switch {
	case strings.Contains(turn.Text(), "smallest prime"):
		turn.Say("The smallest prime greater than 20 is 23.")
	case strings.Contains(turn.Text(), "my name"):
		turn.Say("Your name is Ada, and you like prime numbers.")
	default:
		turn.Say("Nice to meet you, Ada!")
	}
}
