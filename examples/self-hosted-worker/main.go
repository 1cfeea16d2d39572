// Self-hosted-worker runs a worker for a self-hosted environment with
// qoder.Worker: it long-polls the environment's work queue, acknowledges
// each item, keeps its lease alive with heartbeats while the handler
// works, and stops the item when the handler returns.
//
// Against the real API it serves the self-hosted environment named by
// QODER_ENVIRONMENT_ID until Ctrl-C:
//
//	QODER_PAT=pt-... QODER_ENVIRONMENT_ID=env_... go run ./examples/self-hosted-worker
//
// Without QODER_PAT it starts the in-process fake, creates a self-hosted
// environment with three sessions, queues an item for each
// (qodertest.Server.EnqueueWork stands in for the API, which queues work
// when a session needs a worker), and stops once the worker has handled
// them.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() { setup.Main(run) }

// logger writes the worker's structured log to stdout, without times.
var logger = slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
	ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.Attr{}
		}
		return a
	},
}))

func run(ctx context.Context) error {
	if os.Getenv("QODER_PAT") != "" {
		client, err := qoder.NewClient(qoder.WithLogger(logger))
		if err != nil {
			return err
		}
		envID := os.Getenv("QODER_ENVIRONMENT_ID")
		if envID == "" {
			return errors.New("set QODER_ENVIRONMENT_ID to the id of a self-hosted environment")
		}
		fmt.Println("serving", envID, "until Ctrl-C")
		return serve(ctx, client, envID, -1)
	}

	srv := qodertest.Start()
	defer srv.Close()
	fmt.Println("QODER_PAT is not set: running against the in-process fake API.")
	client := srv.Client(qoder.WithLogger(logger))
	env, err := client.Environments.Create(ctx, &qoder.EnvironmentCreateParams{
		Name:   "my-workers",
		Config: qoder.EnvironmentConfig{Type: qoder.EnvironmentConfigSelfHosted},
	})
	if err != nil {
		return err
	}
	agent, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{Name: "builder", Model: qoder.ModelConfig{ID: "ultimate"}})
	if err != nil {
		return err
	}
	for _, title := range []string{"build the docs", "run the tests", "tag the release"} {
		session, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{
			Agent: qoder.AgentRef{ID: agent.ID}, EnvironmentID: env.ID, Title: title,
		})
		if err != nil {
			return err
		}
		srv.EnqueueWork(env.ID, qodertest.WorkItem{ID: session.ID})
	}
	if err := printStats(ctx, client, env.ID); err != nil {
		return err
	}
	if err := serve(ctx, client, env.ID, 3); err != nil {
		return err
	}
	return printStats(ctx, client, env.ID)
}

// serve runs a worker on the environment until ctx ends or, when limit is
// not negative, until it has handled limit items.
func serve(ctx context.Context, client *qoder.Client, envID string, limit int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var handled atomic.Int64
	w := &qoder.Worker{
		Client:        client,
		EnvironmentID: envID,
		ID:            "example-worker",
		Concurrency:   2,
		Handler: func(ctx context.Context, work *qoder.Work) error {
			// ctx ends if the lease is lost, the server asks for a stop,
			// or the worker shuts down: context.Cause(ctx) says which.
			if work.Data.Type != "session" {
				return nil // a healthcheck: nothing to do
			}
			session, err := client.Sessions.Get(ctx, work.Data.ID)
			if err != nil {
				return err
			}
			fmt.Printf("handling %s: session %q\n", work.ID, session.Title)
			// A real worker runs the session's tools here and sends their
			// results back with client.Events.Send.
			if handled.Add(1) == limit {
				cancel() // the worker finishes the items in flight, then Run returns
			}
			return nil
		},
	}
	return w.Run(ctx)
}

// printStats prints how many items wait for a worker.
func printStats(ctx context.Context, client *qoder.Client, envID string) error {
	stats, err := client.Environments.Work.Stats(ctx, envID)
	if err != nil {
		return err
	}
	fmt.Printf("queue: %d item(s) waiting for a worker\n", stats.Pending)
	return nil
}
