// Custom-tools gives an agent a tool that this program implements:
// get_weather, a typed Go function. qoder.NewTool infers the tool's JSON
// schema from the function's input struct; the agent gets the definition,
// and client.Sessions.Run gets the handler through qoder.WithTools. When
// the agent calls the tool, the session pauses (stop reason
// requires_action) until the client answers: Run checks the input against
// the schema, calls getWeather with the decoded struct, sends the result
// and follows the turn to its end.
//
// Against the real API (the token comes from QODER_PAT, the region from
// QODER_BASE_URL):
//
//	QODER_PAT=pt-... go run ./examples/custom-tools
//
// Without a token it runs against qodertest, the SDK's in-process fake.
// Against cmd/qoder-fake, start the fake with this example's script, or
// its echo agent never calls the tool:
//
//	go run ./cmd/qoder-fake -script examples/custom-tools/fake-agent.json
package main

import (
	"context"
	"fmt"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() { setup.Main(run) }

// weather is what the get_weather tool knows.
var weather = map[string]string{
	"Paris":  "18 °C, partly cloudy",
	"Berlin": "14 °C, light rain",
}

// weatherInput is the input of get_weather. Its JSON schema is inferred:
// json tags name the properties (city is required, having no omitempty),
// jsonschema tags describe them for the model.
type weatherInput struct {
	City string `json:"city" jsonschema:"The city's name, such as Paris"`
}

// getWeather answers one get_weather call of the agent with the input
// already checked and decoded. An error is sent back to the agent as a
// tool result with is_error set.
func getWeather(_ context.Context, in weatherInput) (string, error) {
	report, ok := weather[in.City]
	if !ok {
		fmt.Printf("  -> get_weather(%q): unknown city\n", in.City)
		return "", fmt.Errorf("no weather data for %q", in.City)
	}
	fmt.Printf("  -> get_weather(%q) = %q\n", in.City, report)
	return report, nil
}

func run(ctx context.Context) error {
	weatherTool, err := qoder.NewTool("get_weather", "Get the current weather in a city.", getWeather)
	if err != nil {
		return err
	}
	client, closeFake, err := setup.Client(weatherAgent)
	if err != nil {
		return err
	}
	defer closeFake()
	sessionID, err := setup.Session(ctx, client, &qoder.AgentCreateParams{
		Name:   "custom-tools-example",
		Model:  qoder.ModelConfig{ID: "ultimate"},
		System: "Use the get_weather tool to answer questions about the weather.",
		Tools:  []qoder.AgentTool{weatherTool.Definition()},
	})
	if err != nil {
		return err
	}

	turn, err := client.Sessions.Run(ctx, sessionID, "What is the weather in Paris?",
		qoder.WithTools(weatherTool),
		qoder.OnEvent(func(ev qoder.Event) {
			switch ev := ev.(type) {
			case *qoder.AgentCustomToolUseEvent:
				fmt.Printf("%-24s %s %s\n", ev.Type, ev.Name, ev.Input)
			case *qoder.SessionStatusIdleEvent:
				fmt.Printf("%-24s %s\n", ev.Type, ev.StopReason.Type)
			case *qoder.AgentMessageEvent:
				fmt.Printf("%-24s %s\n", ev.Type, ev.Text())
			default:
				fmt.Println(ev.EventType())
			}
		}))
	if err != nil {
		return err
	}
	called := false
	for _, ev := range turn.Events {
		if use, ok := ev.(*qoder.AgentCustomToolUseEvent); ok && use.Name == "get_weather" {
			called = true
		}
	}
	if !called {
		return setup.AgentDidNot("call get_weather", "examples/custom-tools/fake-agent.json")
	}
	fmt.Printf("\nanswer: %s\n(%s, %.2f credits)\n", turn.Text(), turn.StopReason.Type, turn.Credits)
	return nil
}

// weatherAgent stands in for the model when running against the fake: it
// calls get_weather, waits for the answer, and reports it.
func weatherAgent(turn *qodertest.Turn) {
	turn.Think()
	res, ok := turn.CallCustomTool("get_weather", map[string]string{"city": "Paris"})
	if !ok {
		return // cancelled
	}
	if res.IsError {
		turn.Say("Sorry, I could not get the weather: " + res.Text)
		return
	}
	turn.Say("It is " + res.Text + " in Paris right now.")
}
