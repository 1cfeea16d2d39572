// Otel traces the SDK's HTTP traffic with OpenTelemetry, through a
// qoder.Middleware: a span for every attempt of every call (method, route
// template, status, request id, retry count) and for every connection of an
// event stream (events received, why it ended), printed by the stdout
// exporter as one JSON object per line. The SDK itself does not depend on
// OpenTelemetry: this example is its own module, and tracing.go is all the
// glue it takes.
//
// It creates an agent and a session, reads the agent back, then streams a
// turn. Against the in-process fake (no QODER_PAT) the fake fails the read
// once, so it shows a retry, and cuts the stream after two events, so it
// shows a reconnect. From this directory:
//
//	go run .                    # against the in-process fake
//	QODER_PAT=pt-... go run .   # against the real API
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout)
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

// run does the example's calls, writing its spans and what it sees to out.
func run(ctx context.Context, out io.Writer) error {
	// Spans go to out as they end (WithSyncer); a real service would batch
	// them (WithBatcher) to an OTLP exporter instead.
	exporter, err := stdouttrace.New(stdouttrace.WithWriter(out))
	if err != nil {
		return err
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exporter),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "qoder-otel-example"))),
	)
	defer func() { _ = provider.Shutdown(context.WithoutCancel(ctx)) }()
	tracer := provider.Tracer("github.com/qoder-go/qoder/examples/otel")
	tracing := qoder.WithMiddleware(traceRequests(tracer))

	var client *qoder.Client
	var srv *qodertest.Server // nil against the real API
	if os.Getenv("QODER_PAT") != "" {
		if client, err = qoder.NewClient(tracing); err != nil {
			return err
		}
	} else {
		srv = qodertest.Start(qodertest.WithAgent(helloAgent))
		defer srv.Close()
		client = srv.Client(tracing)
		fmt.Fprintln(out, "QODER_PAT is not set: running against the in-process fake API.")
	}

	// One trace for the whole run: every attempt's span is a child of this.
	ctx, root := tracer.Start(ctx, "otel example")
	defer root.End()

	envID, err := environment(ctx, client)
	if err != nil {
		return err
	}
	agent, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{
		Name:  "otel-example",
		Model: qoder.ModelConfig{ID: "ultimate"},
		Tools: []qoder.AgentTool{qoder.AgentToolset(qoder.ToolBash)},
	})
	if err != nil {
		return err
	}
	session, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{Agent: qoder.AgentRef{ID: agent.ID}, EnvironmentID: envID})
	if err != nil {
		return err
	}

	if srv != nil {
		// The next read of an agent fails once with a 503 (and is retried at
		// once), and the next stream connection drops after two events.
		srv.FailRequests(qodertest.Failure{Method: "GET", Path: "agents/*", Status: 503, RetryAfter: "0"})
		srv.CutStreams(qodertest.Cut{AfterEvents: 2})
	}
	if agent, err = client.Agents.Get(ctx, agent.ID); err != nil {
		return err
	}
	fmt.Fprintf(out, "agent %s, version %d\n", agent.ID, agent.Version)

	stream, err := client.Events.Stream(ctx, session.ID, nil)
	if err != nil {
		return err
	}
	defer stream.Close()
	if _, err := client.Events.SendMessage(ctx, session.ID, "Print Hello World with bash"); err != nil {
		return err
	}
	for stream.Next() {
		ev := stream.Event()
		fmt.Fprintln(out, "event", ev.EventType())
		if idle, ok := ev.(*qoder.SessionStatusIdleEvent); ok {
			fmt.Fprintln(out, "turn ended:", idle.StopReason.Type)
			return stream.Close() // ends the connection's span
		}
	}
	if err := stream.Err(); err != nil {
		return err
	}
	return errors.New("the stream ended before the session went idle")
}

// environment returns the id of an environment with unrestricted
// networking: the first of the account, or a new one.
func environment(ctx context.Context, client *qoder.Client) (string, error) {
	for env, err := range client.Environments.All(ctx, nil) {
		if err != nil {
			return "", err
		}
		if env.Config.Type == qoder.EnvironmentConfigCloud && env.Config.Networking.Type == qoder.NetworkingUnrestricted {
			return env.ID, nil
		}
	}
	env, err := client.Environments.Create(ctx, &qoder.EnvironmentCreateParams{
		Name: "otel-example",
		Config: qoder.EnvironmentConfig{
			Type:       qoder.EnvironmentConfigCloud,
			Networking: qoder.Networking{Type: qoder.NetworkingUnrestricted},
		},
	})
	if err != nil {
		return "", err
	}
	return env.ID, nil
}

// helloAgent is what the fake's agent does with the message.
func helloAgent(turn *qodertest.Turn) {
	turn.Think()
	turn.UseTool(qoder.ToolBash, map[string]string{"command": "echo 'Hello World'"}, "Hello World\n")
	turn.Say("I ran `echo 'Hello World'` in Bash; it printed: Hello World")
}
