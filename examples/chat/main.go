// Chat is a conversation at the terminal: each line you type is a message,
// and the agent's reply is printed as it is written. The turn's stream
// asks for agent.message deltas, and qoder.MessageAccumulator.Delta turns
// every event into just the new text, and says when the message is
// complete.
//
// Ctrl-C while the agent answers stops that answer, and the conversation
// goes on: client.Sessions.Run interrupts the turn when its context ends
// and waits for the session to settle, so the next message starts a
// turn as usual. Ctrl-C at the prompt, or the end of the input (Ctrl-D),
// quits.
//
// Against the real API (the token comes from QODER_PAT, the region from
// QODER_BASE_URL):
//
//	QODER_PAT=pt-... go run ./examples/chat
//
// Without a token it runs against qodertest, the SDK's in-process fake,
// whose agent repeats what you say, and tells a long story when you ask
// for one: ask, then press Ctrl-C. Against cmd/qoder-fake, start the fake
// with this example's script:
//
//	go run ./cmd/qoder-fake -script examples/chat/fake-agent.json
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() {
	// Ctrl-C cancels the turn under way, not the program: between turns
	// no handler is registered, and Ctrl-C ends the program as usual.
	setup.Exit(run(context.Background(), os.Stdin, os.Stdout, func(ctx context.Context) (context.Context, context.CancelFunc) {
		return signal.NotifyContext(ctx, os.Interrupt)
	}))
}

// run holds the conversation: one message per line of in, the replies
// written to out. Each turn runs with the context turnContext(ctx)
// returns; ending it stops that turn only.
func run(ctx context.Context, in io.Reader, out io.Writer, turnContext func(context.Context) (context.Context, context.CancelFunc)) error {
	client, closeFake, err := setup.Client(chatAgent)
	if err != nil {
		return err
	}
	defer closeFake()
	sessionID, err := setup.Session(ctx, client, &qoder.AgentCreateParams{
		Name:   "chat-example",
		Model:  qoder.ModelConfig{ID: "ultimate"},
		System: "You are a friendly assistant. Keep answers short unless asked for a story.",
	})
	if err != nil {
		return err
	}

	var acc qoder.MessageAccumulator
	show := qoder.OnEvent(func(ev qoder.Event) {
		_, text, done := acc.Delta(ev)
		fmt.Fprint(out, text)
		if done {
			fmt.Fprintln(out)
		}
	})
	deltas := qoder.WithStreamParams(&qoder.StreamParams{EventDeltas: []string{"agent.message"}})

	fmt.Fprintln(out, "Type a message and press Enter. Ctrl-C stops an answer; Ctrl-D quits.")
	lines := bufio.NewScanner(in)
	for fmt.Fprint(out, "> "); lines.Scan(); fmt.Fprint(out, "> ") {
		text := strings.TrimSpace(lines.Text())
		if text == "" {
			continue
		}
		turnCtx, stop := turnContext(ctx)
		_, err := client.Sessions.Run(turnCtx, sessionID, text, deltas, show)
		interrupted := turnCtx.Err() != nil && ctx.Err() == nil
		stop()
		switch {
		case interrupted:
			fmt.Fprintln(out, "\n[interrupted]")
		case err != nil:
			return err
		}
	}
	fmt.Fprintln(out)
	return lines.Err()
}

// story is what chatAgent tells when asked for a story.
const story = "Once upon a time a gopher wrote a client for a cloud of agents. " +
	"Each night it streamed one more word, and the story never quite ended..."

// chatAgent stands in for the model when running against the fake: it
// writes its reply a few words at a time, as a model generates tokens,
// and slowly when it tells a story.
func chatAgent(turn *qodertest.Turn) {
	parts, pause := []string{"You ", "said: ", turn.Text()}, 50*time.Millisecond
	if strings.Contains(strings.ToLower(turn.Text()), "story") {
		turn.Think()
		parts, pause = strings.SplitAfter(story, " "), 300*time.Millisecond
	}
	msg := turn.StartMessage()
	for i, part := range parts {
		if i > 0 {
			select {
			case <-time.After(pause):
			case <-turn.Context().Done():
				return // interrupted: the message is never completed
			}
		}
		msg.Delta(part)
	}
	msg.End()
}
