// Resume shows a stream surviving a dropped connection. When the connection
// drops before the turn ends, the stream reconnects by itself with
// Last-Event-ID set to the last event it delivered, and drops events the
// server sends twice: the program sees every event exactly once. The
// client's debug log shows the drop and the reconnect.
//
// Against the real API (the token comes from QODER_PAT, the region from
// QODER_BASE_URL) drops happen when the network says so:
//
//	QODER_PAT=pt-... go run ./examples/resume
//
// Without a token it runs against qodertest, the SDK's in-process fake,
// which cuts the stream's connection after three events.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() { setup.Main(run) }

func run(ctx context.Context) error {
	// Log at debug level once the session is set up, to see the stream's
	// reconnects. The time is left out to keep the output short.
	var level slog.LevelVar
	level.Set(slog.LevelInfo)
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: &level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))

	var client *qoder.Client
	var srv *qodertest.Server // nil against the real API
	if os.Getenv("QODER_PAT") != "" {
		c, err := qoder.NewClient(qoder.WithLogger(logger))
		if err != nil {
			return err
		}
		client = c
	} else {
		srv = qodertest.Start()
		defer srv.Close()
		client = srv.Client(qoder.WithLogger(logger))
		fmt.Println("QODER_PAT is not set: running against the in-process fake API.")
	}
	sessionID, err := setup.Session(ctx, client, &qoder.AgentCreateParams{
		Name:  "resume-example",
		Model: qoder.ModelConfig{ID: "ultimate"},
		Tools: []qoder.AgentTool{qoder.AgentToolset(qoder.ToolBash)},
	})
	if err != nil {
		return err
	}
	if srv != nil {
		// The next stream connection drops after three events.
		srv.CutStreams(qodertest.Cut{AfterEvents: 3, Times: 1})
	}
	level.Set(slog.LevelDebug)

	stream, err := client.Events.Stream(ctx, sessionID, nil)
	if err != nil {
		return err
	}
	defer stream.Close()
	if _, err := client.Events.SendMessage(ctx, sessionID, "Print Hello World with bash"); err != nil {
		return err
	}
	var received []string
	seen := map[string]bool{}
	for stream.Next() {
		ev := stream.Event()
		received = append(received, ev.EventID())
		seen[ev.EventID()] = true
		fmt.Printf("%2d %-26s %s\n", len(received), ev.EventType(), ev.EventID())
		if _, ok := ev.(*qoder.SessionStatusIdleEvent); ok {
			break
		}
	}
	if err := stream.Err(); err != nil {
		return err
	}
	if len(received) == 0 {
		return errors.New("the stream ended without events")
	}
	fmt.Println("last event id:", stream.LastEventID())
	level.Set(slog.LevelInfo)

	// Compare with the session's history: from the first event the stream
	// delivered on, each must have arrived exactly once.
	missing, started := 0, false
	for ev, err := range client.Events.All(ctx, sessionID, nil) {
		if err != nil {
			return err
		}
		started = started || ev.EventID() == received[0]
		if started && !seen[ev.EventID()] {
			fmt.Println("missing:", ev.EventType(), ev.EventID())
			missing++
		}
	}
	if missing > 0 || len(seen) != len(received) {
		return fmt.Errorf("%d events missing, %d received twice", missing, len(received)-len(seen))
	}
	fmt.Printf("all %d events arrived exactly once\n", len(received))
	return nil
}
