// Otel traces the SDK's HTTP traffic with OpenTelemetry, through a
// qoder.Middleware: a span for every attempt of every call (method, route
// template, status, request id, retry count) and for every connection of an
// event stream (events received, why it ended), printed by the stdout
// exporter as one JSON object per line. The SDK itself does not depend on
// OpenTelemetry: this example is its own module, and tracing.go is all the
// glue it takes.
//
// It creates an agent and a session, reads the session back, then streams
// a turn. Against the in-process fake (no QODER_PAT) the fake fails the
// read once, so it shows a retry, and cuts the stream after two events, so
// it shows a reconnect. From this directory:
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

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func main() { setup.Main(func(ctx context.Context) error { return run(ctx, os.Stdout) }) }

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
		srv = qodertest.Start() // its agent echoes the message
		defer srv.Close()
		client = srv.Client(tracing)
		fmt.Fprintln(out, "QODER_PAT is not set: running against the in-process fake API.")
	}

	// One trace for the whole run: every attempt's span is a child of this.
	ctx, root := tracer.Start(ctx, "otel example")
	defer root.End()

	sessionID, err := setup.Session(ctx, client, &qoder.AgentCreateParams{
		Name:  "otel-example",
		Model: qoder.ModelConfig{ID: "ultimate"},
		Tools: []qoder.AgentTool{qoder.AgentToolset(qoder.ToolBash)},
	})
	if err != nil {
		return err
	}

	if srv != nil {
		// The next read of a session fails once with a 503 (and is retried
		// at once), and the next stream connection drops after two events.
		srv.FailRequests(qodertest.Failure{Method: "GET", Path: "sessions/*", Status: 503, RetryAfter: "0"})
		srv.CutStreams(qodertest.Cut{AfterEvents: 2})
	}
	session, err := client.Sessions.Get(ctx, sessionID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "session %s of agent %s is %s\n", session.ID, session.Agent.ID, session.Status)

	stream, err := client.Events.Stream(ctx, session.ID, nil)
	if err != nil {
		return err
	}
	defer stream.Close()
	if _, err := client.Events.SendMessage(ctx, session.ID, "Hello, tracing"); err != nil {
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
