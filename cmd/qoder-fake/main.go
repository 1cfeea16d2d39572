// Command qoder-fake serves the qodertest fake of the Qoder Cloud Agents
// API on a local port, for trying the SDK, its examples or curl without a
// token:
//
//	go run ./cmd/qoder-fake -addr 127.0.0.1:8080
//	curl -H "Authorization: Bearer pt-qodertest" http://127.0.0.1:8080/api/v1/cloud/agents
//
// It prints the base URL and the token, serves until SIGINT or SIGTERM,
// then shuts down. State lives in memory and is lost on exit. Every
// user.message gets the default echo agent's turn.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/qoder-go/qoder/qodertest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "qoder-fake:", err)
		os.Exit(2)
	}
}

// run serves the fake until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("qoder-fake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on")
	token := fs.String("token", qodertest.DefaultToken, "bearer `token` the server accepts")
	heartbeat := fs.Duration("heartbeat", 15*time.Second, "`interval` between stream heartbeats (0 turns them off)")
	latency := fs.Duration("latency", 0, "`delay` added to every response")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *token == "" {
		return errors.New("-token must not be empty")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := qodertest.Start(
		qodertest.WithListener(ln),
		qodertest.WithToken(*token),
		qodertest.WithHeartbeatInterval(*heartbeat),
		qodertest.WithLatency(*latency),
	)
	defer srv.Close()
	fmt.Fprintf(stdout, "qoder-fake: serving the Qoder Cloud Agents API fake on %s (Ctrl-C stops it)\n", ln.Addr())
	fmt.Fprintf(stdout, "QODER_BASE_URL=%s\n", srv.URL)
	fmt.Fprintf(stdout, "QODER_PAT=%s\n", srv.Token)
	<-ctx.Done()
	fmt.Fprintln(stdout, "qoder-fake: shutting down")
	return nil
}
