// Package setup holds what the example programs share: running main under
// a Ctrl-C context with readable errors, choosing the real API or the
// in-process fake, and creating a session to talk to. The quickstart
// example spells all of this out in one file.
package setup

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

// Main runs run with a context that Ctrl-C or SIGTERM cancels, then
// passes its error to Exit.
func Main(run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	Exit(err)
}

// Exit returns when err is nil. Otherwise it prints the error, with the
// API's status, type and request id for an *qoder.APIError, and exits
// with status 1.
func Exit(err error) {
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

// Client returns a client of the real API when QODER_PAT is set (the
// region comes from QODER_BASE_URL), and otherwise one of an in-process
// fake whose agent runs script. Call release when done: it stops the fake.
func Client(script func(*qodertest.Turn)) (client *qoder.Client, release func(), err error) {
	if os.Getenv("QODER_PAT") != "" {
		client, err := qoder.NewClient()
		return client, func() {}, err
	}
	srv := qodertest.Start(qodertest.WithAgent(script))
	fmt.Println("QODER_PAT is not set: running against the in-process fake API.")
	return srv.Client(), srv.Close, nil
}

// AgentDidNot is the error of an example whose agent did not do what the
// example shows (what, such as "call get_weather"). A real model may
// choose so; cmd/qoder-fake does so unless it runs the example's script,
// since its default agent only echoes. The error says how to start the
// fake with script, a path from the repository's root.
func AgentDidNot(what, script string) error {
	return fmt.Errorf("the agent did not %s, so this example has nothing to show.\n"+
		"Against cmd/qoder-fake this means the fake runs its default echo agent; restart it with this example's script:\n"+
		"\tgo run ./cmd/qoder-fake -script %s", what, script)
}

// Session creates the agent described by params and starts a session of
// it, with resources attached, in the environment [Environment] finds. It
// returns the session id.
func Session(ctx context.Context, client *qoder.Client, params *qoder.AgentCreateParams, resources ...qoder.SessionResourceParams) (string, error) {
	envID, err := Environment(ctx, client)
	if err != nil {
		return "", err
	}
	agent, err := client.Agents.Create(ctx, params)
	if err != nil {
		return "", err
	}
	session, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{
		Agent:         qoder.AgentRef{ID: agent.ID},
		EnvironmentID: envID,
		Resources:     resources,
	})
	if err != nil {
		return "", err
	}
	return session.ID, nil
}

// Environment returns the id of an environment with unrestricted
// networking: the first such environment of the account, or a new one.
func Environment(ctx context.Context, client *qoder.Client) (string, error) {
	for env, err := range client.Environments.All(ctx, nil) {
		if err != nil {
			return "", err
		}
		if env.Config.Type == qoder.EnvironmentConfigCloud && env.Config.Networking.Type == qoder.NetworkingUnrestricted {
			return env.ID, nil
		}
	}
	env, err := client.Environments.Create(ctx, &qoder.EnvironmentCreateParams{
		Name: "qoder-go-examples",
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
