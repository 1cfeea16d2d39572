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

// A coordinator's turn delegates work to a thread of a roster agent; the
// client reads the session's threads and their events.
func ExampleTurn_Delegate() {
	srv := qodertest.Start(qodertest.WithAgent(func(turn *qodertest.Turn) {
		_, reply := turn.Delegate("researcher", "Which test fails?", func(thread *qodertest.Turn) {
			thread.UseTool("Bash", map[string]string{"command": "go test ./..."}, "--- FAIL: TestParse")
			thread.Say("TestParse fails")
		})
		turn.Say("The researcher says: " + reply)
	}))
	defer srv.Close()

	ctx := context.Background()
	client := srv.Client()
	lead := srv.SeedCoordinator("lead", srv.SeedAgent("researcher"))
	sessionID := srv.SeedSession(lead, srv.SeedEnvironment("env"))
	turn, err := client.Sessions.Run(ctx, sessionID, "Why is CI red?")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(turn.Text())
	for thread, err := range client.Sessions.Threads.All(ctx, sessionID, nil) {
		if err != nil {
			log.Fatal(err)
		}
		events, err := client.Sessions.Threads.ListEvents(ctx, sessionID, thread.ID, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(thread.Agent.Name, thread.IsCoordinator(), thread.Status, len(events.Data))
	}
	// Output:
	// The researcher says: TestParse fails
	// lead true idle 8
	// researcher false idle 10
}
