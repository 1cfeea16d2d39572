// Tool-confirmation gives an agent the Bash tool with the permission policy
// always_ask: before each command runs, the session pauses (stop reason
// requires_action) until the client allows or denies it. The
// qoder.WithToolConfirmation handler prints each request, allows harmless
// commands and denies destructive ones.
//
// Against the real API (the token comes from QODER_PAT, the region from
// QODER_BASE_URL):
//
//	QODER_PAT=pt-... go run ./examples/tool-confirmation
//
// Without a token it runs against qodertest, the SDK's in-process fake.
// Against cmd/qoder-fake, start the fake with this example's script, or
// its echo agent asks to run only one command:
//
//	go run ./cmd/qoder-fake -script examples/tool-confirmation/fake-agent.json
package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() { setup.Main(run) }

// confirm decides on a tool call that waits for confirmation. Returning
// false denies it; the message tells the agent why.
func confirm(_ context.Context, toolUse qoder.Event) (allow bool, denyMessage string, err error) {
	use, ok := toolUse.(*qoder.AgentToolUseEvent)
	if !ok {
		return false, "only built-in tools are confirmed here", nil
	}
	var in struct {
		Command string `json:"command"`
	}
	if err := use.DecodeInput(&in); err != nil {
		return false, "", err
	}
	if strings.Contains(in.Command, "rm -rf") {
		fmt.Printf("  ? %s %q: denied\n", use.Name, in.Command)
		return false, "Deleting files is not allowed.", nil
	}
	fmt.Printf("  ? %s %q: allowed\n", use.Name, in.Command)
	return true, "", nil
}

func run(ctx context.Context) error {
	client, closeFake, err := setup.Client(carefulAgent)
	if err != nil {
		return err
	}
	defer closeFake()

	bash := qoder.AgentToolset(qoder.ToolBash)
	bash.Configs = []qoder.ToolConfig{{
		Name:             qoder.ToolBash,
		PermissionPolicy: qoder.PermissionPolicy{Type: qoder.PermissionAlwaysAsk},
	}}
	sessionID, err := setup.Session(ctx, client, &qoder.AgentCreateParams{
		Name:  "tool-confirmation-example",
		Model: qoder.ModelConfig{ID: "ultimate"},
		Tools: []qoder.AgentTool{bash},
	})
	if err != nil {
		return err
	}

	turn, err := client.Sessions.Run(ctx, sessionID, "List the files in the working directory, then delete them all with rm -rf.",
		qoder.WithToolConfirmation(confirm),
		qoder.OnEvent(func(ev qoder.Event) {
			switch ev := ev.(type) {
			case *qoder.AgentToolUseEvent:
				fmt.Printf("%-24s %s %s (permission: %s)\n", ev.Type, ev.Name, ev.Input, ev.EvaluatedPermission)
			case *qoder.AgentToolResultEvent:
				fmt.Printf("%-24s %q\n", ev.Type, ev.Text())
			case *qoder.UserToolConfirmationEvent:
				fmt.Printf("%-24s %s\n", ev.Type, strings.TrimSpace(string(ev.Result)+" "+ev.DenyMessage))
			case *qoder.SessionStatusIdleEvent:
				fmt.Printf("%-24s %s\n", ev.Type, ev.StopReason.Type)
			case *qoder.AgentMessageEvent:
				fmt.Printf("%-24s %s\n", ev.Type, ev.Text())
			}
		}))
	if err != nil {
		return err
	}
	answers := map[qoder.ToolConfirmationResult]int{}
	for _, ev := range turn.Events {
		if c, ok := ev.(*qoder.UserToolConfirmationEvent); ok {
			answers[c.Result]++
		}
	}
	if answers[qoder.ToolConfirmationAllow] == 0 || answers[qoder.ToolConfirmationDeny] == 0 {
		return setup.AgentDidNot("ask to run both a command that this program allows and one that it denies",
			"examples/tool-confirmation/fake-agent.json")
	}
	fmt.Printf("\nturn ended: %s, %.2f credits\n", turn.StopReason.Type, turn.Credits)
	return nil
}

// carefulAgent stands in for the model when running against the fake: it
// asks to run two commands and reports what it was allowed to do.
func carefulAgent(turn *qodertest.Turn) {
	turn.Think()
	turn.AskConfirmation(qoder.ToolBash, map[string]string{"command": "ls"}, "notes.txt\nreport.md\n")
	allowed, why := turn.AskConfirmation(qoder.ToolBash, map[string]string{"command": "rm -rf ./*"}, "")
	if allowed {
		turn.Say("I listed the files and deleted them.")
		return
	}
	turn.Say("The directory holds notes.txt and report.md. I did not delete them: " + why)
}
