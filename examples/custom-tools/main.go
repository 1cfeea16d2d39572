// Custom-tools gives an agent a tool that this program implements:
// get_weather, described by a JSON schema. When the agent calls it, the
// session pauses (stop reason requires_action) until the client answers;
// client.Sessions.Run does that through the qoder.WithCustomTool handler
// and then follows the turn to its end.
//
// Against the real API (the token comes from QODER_PAT, the region from
// QODER_BASE_URL):
//
//	QODER_PAT=pt-... go run ./examples/custom-tools
//
// Without a token it runs against qodertest, the SDK's in-process fake.
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

// getWeather answers one get_weather call of the agent. An error is sent
// back to the agent as a tool result with is_error set.
func getWeather(_ context.Context, use *qoder.AgentCustomToolUseEvent) ([]qoder.ContentBlock, error) {
	var in struct {
		City string `json:"city"`
	}
	if err := use.DecodeInput(&in); err != nil {
		return nil, err
	}
	report, ok := weather[in.City]
	if !ok {
		fmt.Printf("  -> get_weather(%q): unknown city\n", in.City)
		return nil, fmt.Errorf("no weather data for %q", in.City)
	}
	fmt.Printf("  -> get_weather(%q) = %q\n", in.City, report)
	return []qoder.ContentBlock{qoder.TextBlock(report)}, nil
}

func run(ctx context.Context) error {
	client, closeFake, err := setup.Client(weatherAgent)
	if err != nil {
		return err
	}
	defer closeFake()
	sessionID, err := setup.Session(ctx, client, &qoder.AgentCreateParams{
		Name:   "custom-tools-example",
		Model:  qoder.ModelConfig{ID: "ultimate"},
		System: "Use the get_weather tool to answer questions about the weather.",
		Tools: []qoder.AgentTool{qoder.CustomTool("get_weather", "Get the current weather in a city.", map[string]any{
			"type": "object",
			"properties": map[string]any{
				"city": map[string]any{"type": "string", "description": "The city's name, such as Paris"},
			},
			"required": []string{"city"},
		})},
	})
	if err != nil {
		return err
	}

	turn, err := client.Sessions.Run(ctx, sessionID, "What is the weather in Paris?",
		qoder.WithCustomTool("get_weather", getWeather),
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
