package qoder_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
)

// exampleServer stands in for the API so that the examples run offline.
func exampleServer() *httptest.Server {
	mux := http.NewServeMux()
	agent := `{"type":"agent","id":"agent_019e390add9f7bac9b6cc806db46fcbd","name":"%s","description":"","model":"ultimate","system":"You are a helpful assistant.","tools":[{"type":"agent_toolset_20260401","enabled_tools":["Bash"]}],"mcp_servers":[],"skills":[],"metadata":{},"multiagent":null,"version":1,"archived_at":null,"created_at":"2026-05-18T15:26:39.61669Z","updated_at":"2026-05-18T15:26:39.61669Z"}`
	mux.HandleFunc("POST /api/v1/cloud/agents", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, agent, "hello-agent")
	})
	mux.HandleFunc("GET /api/v1/cloud/agents", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("after_id") == "" {
			fmt.Fprintf(w, `{"data":[`+agent+`,`+strings.Replace(agent, "fcbd", "0001", 1)+`],"first_id":"agent_019e390add9f7bac9b6cc806db46fcbd","last_id":"agent_019e390add9f7bac9b6cc806db460001","has_more":true,"next_page":null}`, "reviewer", "writer")
			return
		}
		fmt.Fprintf(w, `{"data":[`+strings.Replace(agent, "fcbd", "0002", 1)+`],"first_id":"agent_019e390add9f7bac9b6cc806db460002","last_id":"agent_019e390add9f7bac9b6cc806db460002","has_more":false,"next_page":null}`, "tester")
	})
	mux.HandleFunc("GET /api/v1/cloud/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"type":"error","request_id":"req_42","error":{"type":"not_found_error","message":"Agent '%s' was not found."}}`, r.PathValue("id"))
	})
	mux.HandleFunc("GET /api/v1/cloud/sessions/sess_1/events/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, frame := range []string{
			": heartbeat",
			"id: evt_1\nevent: session.status_running\ndata: {\"id\":\"evt_1\",\"type\":\"session.status_running\"}",
			"id: evt_2\nevent: agent.message\ndata: {\"id\":\"evt_2\",\"type\":\"agent.message\",\"content\":[{\"type\":\"text\",\"text\":\"Hello World\"}]}",
			"id: evt_3\nevent: session.status_idle\ndata: {\"id\":\"evt_3\",\"type\":\"session.status_idle\",\"stop_reason\":{\"type\":\"end_turn\"}}",
		} {
			fmt.Fprint(w, frame+"\n\n")
			w.(http.Flusher).Flush()
		}
		<-r.Context().Done()
	})
	mux.HandleFunc("POST /api/v1/cloud/sessions/sess_1/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":[{"id":"evt_0","type":"user.message","content":[{"type":"text","text":"Print Hello World"}]}]}`)
	})
	return httptest.NewServer(mux)
}

func ExampleNewClient() {
	// NewClient reads QODER_PAT when no token is given; QODER_BASE_URL or
	// WithBaseURL pick the region.
	client, err := qoder.NewClient(
		qoder.WithToken("pt-your-token-here"),
		qoder.WithBaseURL(qoder.BaseURLCN),
		qoder.WithMaxRetries(3),
		qoder.WithUserAgent("my-app/1.0"),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(client.BaseURL())
	fmt.Println(client) // the token is never printed
	// Output:
	// https://api.qoder.com.cn/api/v1/cloud/
	// qoder.Client{BaseURL: "https://api.qoder.com.cn/api/v1/cloud/", Token: [redacted]}
}

func ExampleAgentsService_Create() {
	srv := exampleServer()
	defer srv.Close()
	client, err := qoder.NewClient(qoder.WithToken("pt-example"), qoder.WithBaseURL(srv.URL+"/api/v1/cloud"))
	if err != nil {
		log.Fatal(err)
	}

	agent, err := client.Agents.Create(context.Background(), &qoder.AgentCreateParams{
		Name:   "hello-agent",
		Model:  qoder.ModelConfig{ID: "ultimate"},
		System: "You are a helpful assistant.",
		Tools:  []qoder.AgentTool{qoder.AgentToolset(qoder.ToolBash)},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(agent.Name, agent.Model.ID, agent.Version)
	// Output:
	// hello-agent ultimate 1
}

func ExampleAgentsService_All() {
	srv := exampleServer()
	defer srv.Close()
	client, err := qoder.NewClient(qoder.WithToken("pt-example"), qoder.WithBaseURL(srv.URL+"/api/v1/cloud"))
	if err != nil {
		log.Fatal(err)
	}

	// All fetches page after page as the loop advances.
	for agent, err := range client.Agents.All(context.Background(), &qoder.AgentListParams{Limit: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(agent.Name)
	}
	// Output:
	// reviewer
	// writer
	// tester
}

func Example_errors() {
	srv := exampleServer()
	defer srv.Close()
	client, err := qoder.NewClient(qoder.WithToken("pt-example"), qoder.WithBaseURL(srv.URL+"/api/v1/cloud"))
	if err != nil {
		log.Fatal(err)
	}

	_, err = client.Agents.Get(context.Background(), "agent_missing")
	if errors.Is(err, qoder.ErrNotFound) {
		fmt.Println("not found")
	}
	var apiErr *qoder.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Type, apiErr.RequestID)
		fmt.Println(apiErr.Message)
	}
	fmt.Println(err)
	// Output:
	// not found
	// 404 not_found_error req_42
	// Agent 'agent_missing' was not found.
	// qoder: GET /agents/agent_missing: 404 not_found_error: Agent 'agent_missing' was not found. (request_id=req_42)
}

func ExampleEventsService_Stream() {
	srv := exampleServer()
	defer srv.Close()
	client, err := qoder.NewClient(qoder.WithToken("pt-example"), qoder.WithBaseURL(srv.URL+"/api/v1/cloud"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// Open the stream first: it starts at the live tail.
	stream, err := client.Events.Stream(ctx, "sess_1", &qoder.StreamParams{})
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Close()
	if _, err := client.Events.SendMessage(ctx, "sess_1", "Print Hello World"); err != nil {
		log.Fatal(err)
	}
	for ev := range stream.Events() {
		switch ev := ev.(type) {
		case *qoder.AgentMessageEvent:
			fmt.Println(ev.Text())
		case *qoder.SessionStatusIdleEvent:
			fmt.Println("idle:", ev.StopReason.Type)
			stream.Close()
		}
	}
	if err := stream.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// Hello World
	// idle: end_turn
}

func ExampleSessionsService_Run() {
	srv := exampleServer()
	defer srv.Close()
	client, err := qoder.NewClient(qoder.WithToken("pt-example"), qoder.WithBaseURL(srv.URL+"/api/v1/cloud"))
	if err != nil {
		log.Fatal(err)
	}

	turn, err := client.Sessions.Run(context.Background(), "sess_1", "Print Hello World")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(turn.Text())
	fmt.Println(turn.StopReason.Type, len(turn.Events), "events")
	// Output:
	// Hello World
	// end_turn 3 events
}

func ExampleWithCustomTool() {
	// The in-process fake plays an agent that calls a custom tool.
	srv := qodertest.Start(qodertest.WithAgent(func(turn *qodertest.Turn) {
		result, ok := turn.CallCustomTool("get_weather", map[string]any{"city": "Paris"})
		if ok {
			turn.Say("The weather: " + result.Text)
		}
	}))
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()
	sessionID := srv.SeedSession(srv.SeedAgent("weather-bot"), srv.SeedEnvironment("default"))

	turn, err := client.Sessions.Run(ctx, sessionID, "What is the weather in Paris?",
		qoder.WithCustomTool("get_weather", func(ctx context.Context, use *qoder.AgentCustomToolUseEvent) ([]qoder.ContentBlock, error) {
			var in struct{ City string }
			if err := use.DecodeInput(&in); err != nil {
				return nil, err
			}
			return []qoder.ContentBlock{qoder.TextBlock("sunny in " + in.City)}, nil
		}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(turn.Text())
	// Output:
	// The weather: sunny in Paris
}

func ExampleMessageAccumulator() {
	srv := qodertest.Start(qodertest.WithAgent(func(turn *qodertest.Turn) {
		turn.SayDeltas("Hel", "lo, ", "world")
	}))
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()
	sessionID := srv.SeedSession(srv.SeedAgent("greeter"), srv.SeedEnvironment("default"))

	stream, err := client.Events.Stream(ctx, sessionID, &qoder.StreamParams{EventDeltas: []string{"agent.message"}})
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Close()
	if _, err := client.Events.SendMessage(ctx, sessionID, "Say hello"); err != nil {
		log.Fatal(err)
	}
	var acc qoder.MessageAccumulator
	for ev := range stream.Events() {
		if _, text, changed := acc.Add(ev); changed {
			fmt.Printf("%q\n", text)
		}
		if _, idle := ev.(*qoder.SessionStatusIdleEvent); idle {
			stream.Close()
		}
	}
	// Output:
	// "Hel"
	// "Hello, "
	// "Hello, world"
}
