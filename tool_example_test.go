package qoder_test

import (
	"context"
	"encoding/json"
	"log"
	"os"

	"github.com/qoder-go/qoder"
)

func ExampleNewTool() {
	type Unit string
	type weatherInput struct {
		City string `json:"city" jsonschema:"the city's name, such as Paris"`
		Unit Unit   `json:"unit,omitempty" jsonschema:"the temperature unit"`
	}
	weather, err := qoder.NewTool("get_weather", "Get the current weather in a city.",
		func(ctx context.Context, in weatherInput) (string, error) {
			return "Sunny in " + in.City, nil
		},
		qoder.WithToolEnum[Unit]("celsius", "fahrenheit"))
	if err != nil {
		log.Fatal(err)
	}

	// The definition goes on the agent (AgentCreateParams.Tools) ...
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(weather.Definition()); err != nil {
		log.Fatal(err)
	}
	// ... and the tool answers the agent's calls during a turn:
	//
	//	turn, err := client.Sessions.Run(ctx, sessionID, "Weather in Paris?",
	//		qoder.WithTools(weather), qoder.WithToolTimeout(30*time.Second))

	// Output:
	// {
	//   "type": "custom",
	//   "name": "get_weather",
	//   "description": "Get the current weather in a city.",
	//   "input_schema": {
	//     "type": "object",
	//     "properties": {
	//       "city": {
	//         "type": "string",
	//         "description": "the city's name, such as Paris"
	//       },
	//       "unit": {
	//         "type": "string",
	//         "description": "the temperature unit",
	//         "enum": [
	//           "celsius",
	//           "fahrenheit"
	//         ]
	//       }
	//     },
	//     "required": [
	//       "city"
	//     ],
	//     "additionalProperties": false
	//   }
	// }
}
