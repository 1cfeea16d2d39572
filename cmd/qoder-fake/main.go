// Command qoder-fake serves the qodertest fake of the Qoder Cloud Agents
// API on a local port, for trying the SDK, its examples or curl without a
// token:
//
//	go run ./cmd/qoder-fake -addr 127.0.0.1:8080
//	curl -H "Authorization: Bearer pt-qodertest" http://127.0.0.1:8080/api/v1/cloud/agents
//
// It prints the base URL and the token, serves until SIGINT or SIGTERM,
// then shuts down. State lives in memory and is lost on exit.
//
// By default every user.message gets the echo agent's turn (it replies
// "You said: <text>"). With -script FILE the agent follows a JSON script
// instead, one list of steps per kind of message:
//
//	go run ./cmd/qoder-fake -script examples/custom-tools/fake-agent.json
//
//	{
//	  "turns": [
//	    {"match": "weather", "steps": [
//	      {"think": true},
//	      {"custom_tool": {"name": "get_weather", "input": {"city": "Paris"}}},
//	      {"say": "It is {{result}} in Paris."}
//	    ]},
//	    {"steps": [{"deltas": ["Hello", ", world"], "interval": "200ms"}]}
//	  ]
//	}
//
// A message runs the steps of the first turn whose "match" occurs in its
// text, ignoring case; a turn without "match" takes any message, and a
// message no turn takes gets the echo agent. Each step does one thing:
//
//	{"think": true}                                     agent.thinking
//	{"say": "text"}                                     agent.message
//	{"deltas": ["a", "b"], "interval": "100ms"}         agent.message in parts (event_delta frames)
//	{"tool": {"name": "Bash", "input": {...}, "output": "..."}}
//	                                                    a built-in tool use and its result
//	{"custom_tool": {"name": "...", "input": {...}}}    a custom tool use; waits for the client's result
//	{"confirm": {"name": "Bash", "input": {...}, "output": "..."}}
//	                                                    a tool use that waits for the client's confirmation
//	{"error": {"type": "...", "message": "...", "retry_status": "terminal"}}
//	                                                    session.error (retry_status optional)
//	{"wait": "2s"}                                      a pause (an interrupt ends it)
//	{"terminate": true}                                 ends the session for good
//	{"read_file": "/mnt/session/uploads/notes.txt"}     a Read of a file mounted in the session
//	{"deliver_artifact": {"name": "summary.md", "content": "..."}}
//	                                                    agent.artifact_delivered, a file the client can download
//	{"delegate": {"agent": "self", "task": "...", "steps": [...]}}
//	                                                    a thread of a multi-agent session runs the steps
//
// In texts, {{text}} stands for the user's message (in a thread's steps,
// its task) and {{result}} for the last custom tool result, after a
// confirmation its deny message, after read_file the file's text, or after
// delegate the thread's reply. A delegate step needs a session whose agent
// has a multiagent roster ("self", or a roster agent's name or id), and
// its steps cannot wait for the client (custom_tool, confirm) or delegate
// again.
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
	scriptFile := fs.String("script", "", "JSON `file` scripting what the agent does on each message (default: the echo agent)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *token == "" {
		return errors.New("-token must not be empty")
	}
	agent, about := qodertest.EchoAgent, "the echo agent (-script scripts another)"
	if *scriptFile != "" {
		s, err := loadScript(*scriptFile)
		if err != nil {
			return err
		}
		agent, about = s.agent, fmt.Sprintf("script %s (%s)", *scriptFile, s.describe())
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
		qodertest.WithAgent(agent),
	)
	defer srv.Close()
	fmt.Fprintf(stdout, "qoder-fake: serving the Qoder Cloud Agents API fake on %s (Ctrl-C stops it)\n", ln.Addr())
	fmt.Fprintf(stdout, "qoder-fake: agent: %s\n", about)
	fmt.Fprintf(stdout, "QODER_BASE_URL=%s\n", srv.URL)
	fmt.Fprintf(stdout, "QODER_PAT=%s\n", srv.Token)
	<-ctx.Done()
	fmt.Fprintln(stdout, "qoder-fake: shutting down")
	return nil
}
