package qodertest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
)

// A program (or an example) can run against the fake with no token.
func ExampleStart() {
	srv := qodertest.Start(qodertest.WithAgent(func(turn *qodertest.Turn) {
		turn.Think()
		turn.Say("Hello from the fake")
	}))
	defer srv.Close()

	client := srv.Client()
	sessionID := srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))
	turn, err := client.Sessions.Run(context.Background(), sessionID, "Hi")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(turn.Text())
	fmt.Println(turn.StopReason.Type)
	// Output:
	// Hello from the fake
	// end_turn
}

// A scripted agent can call a custom tool and wait for the client's
// answer.
func ExampleTurn_CallCustomTool() {
	srv := qodertest.Start(qodertest.WithAgent(func(turn *qodertest.Turn) {
		res, ok := turn.CallCustomTool("get_weather", map[string]any{"city": "Paris"})
		if ok {
			turn.Say("Paris: " + res.Text)
		}
	}))
	defer srv.Close()

	client := srv.Client()
	sessionID := srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))
	turn, err := client.Sessions.Run(context.Background(), sessionID, "Weather?",
		qoder.WithCustomTool("get_weather", func(ctx context.Context, use *qoder.AgentCustomToolUseEvent) ([]qoder.ContentBlock, error) {
			return []qoder.ContentBlock{qoder.TextBlock("sunny")}, nil
		}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(turn.Text())
	// Output: Paris: sunny
}
