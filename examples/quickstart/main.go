// Quickstart runs the five steps of the Qoder Cloud Agents quickstart: find
// or create an environment, create an agent with the Bash tool, start a
// session, open its event stream, send a message, and print the agent's
// events until the session goes idle.
//
// Against the real API (the token comes from QODER_PAT, the region from
// QODER_BASE_URL):
//
//	QODER_PAT=pt-... go run ./examples/quickstart
//
// Without a token it runs against qodertest, the SDK's in-process fake.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		var apiErr *qoder.APIError
		if errors.As(err, &apiErr) {
			fmt.Fprintf(os.Stderr, "API error %d %s: %s (request %s)\n", apiErr.StatusCode, apiErr.Type, apiErr.Message, apiErr.RequestID)
		} else {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var client *qoder.Client
	if os.Getenv("QODER_PAT") != "" {
		c, err := qoder.NewClient()
		if err != nil {
			return err
		}
		client = c
	} else {
		srv := qodertest.Start(qodertest.WithAgent(helloAgent))
		defer srv.Close()
		client = srv.Client()
		fmt.Println("QODER_PAT is not set: running against the in-process fake API.")
	}

	// 1. An environment with unrestricted networking: reuse one, or create it.
	envs, err := client.Environments.List(ctx, &qoder.EnvironmentListParams{Limit: 100})
	if err != nil {
		return err
	}
	var envID string
	for _, env := range envs.Data {
		if env.Config.Type == qoder.EnvironmentConfigCloud && env.Config.Networking.Type == qoder.NetworkingUnrestricted {
			envID = env.ID
			break
		}
	}
	if envID == "" {
		env, err := client.Environments.Create(ctx, &qoder.EnvironmentCreateParams{
			Name: "quickstart",
			Config: qoder.EnvironmentConfig{
				Type:       qoder.EnvironmentConfigCloud,
				Networking: qoder.Networking{Type: qoder.NetworkingUnrestricted},
			},
		})
		if err != nil {
			return err
		}
		envID = env.ID
	}
	fmt.Println("environment:", envID)

	// 2. An agent that may use Bash.
	agent, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{
		Name:   "hello-agent",
		Model:  qoder.ModelConfig{ID: "ultimate"},
		System: "You are a helpful assistant.",
		Tools:  []qoder.AgentTool{qoder.AgentToolset(qoder.ToolBash)},
	})
	if err != nil {
		return err
	}
	fmt.Printf("agent:       %s (%s, version %d)\n", agent.ID, agent.Name, agent.Version)

	// 3. A session: the agent running in the environment.
	session, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{
		Agent:         qoder.AgentRef{ID: agent.ID},
		EnvironmentID: envID,
	})
	if err != nil {
		return err
	}
	fmt.Println("session:    ", session.ID)

	// 4. Open the stream before sending: a new stream starts at the live tail.
	stream, err := client.Events.Stream(ctx, session.ID, nil)
	if err != nil {
		return err
	}
	defer stream.Close()

	// 5. Send the message and print the turn as it happens.
	if _, err := client.Events.SendMessage(ctx, session.ID, "Print Hello World with bash"); err != nil {
		return err
	}
	for ev := range stream.Events() {
		switch ev := ev.(type) {
		case *qoder.UserMessageEvent:
			fmt.Printf("%-24s %s\n", ev.Type, ev.Text())
		case *qoder.AgentToolUseEvent:
			fmt.Printf("%-24s %s %s\n", ev.Type, ev.Name, ev.Input)
		case *qoder.AgentToolResultEvent:
			fmt.Printf("%-24s %q\n", ev.Type, ev.Text())
		case *qoder.AgentMessageEvent:
			fmt.Printf("%-24s %s\n", ev.Type, ev.Text())
		case *qoder.SpanModelRequestEndEvent:
			if ev.ModelUsage != nil {
				fmt.Printf("%-24s credits %.2f\n", ev.Type, ev.ModelUsage.Credits)
			}
		case *qoder.SessionErrorEvent:
			fmt.Printf("%-24s %v\n", ev.Type, &ev.Error)
		case *qoder.SessionStatusIdleEvent:
			fmt.Printf("%-24s %s\n", ev.Type, ev.StopReason.Type)
			if ev.StopReason.Type != qoder.StopReasonEndTurn {
				return fmt.Errorf("the turn stopped with %s", ev.StopReason.Type)
			}
			return nil
		default:
			fmt.Println(ev.EventType())
		}
	}
	if err := stream.Err(); err != nil {
		return err
	}
	return errors.New("the stream ended before the session went idle")
}

// helloAgent is what the fake's agent does with the message: it thinks,
// runs echo in Bash and reports the output, as a real agent would.
func helloAgent(turn *qodertest.Turn) {
	turn.Think()
	turn.UseTool(qoder.ToolBash, map[string]string{"command": "echo 'Hello World'"}, "Hello World\n")
	turn.Say("I ran `echo 'Hello World'` in Bash; it printed: Hello World")
}
