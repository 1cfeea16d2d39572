// Deployments runs an agent on a schedule: it creates a deployment that
// fires on weekday mornings, runs it once now without waiting for the
// schedule, waits for the run with DeploymentRuns.Wait, prints the answer
// of the session the run created, and pauses the deployment so that it
// does not fire unattended. Without QODER_PAT it runs against the
// in-process fake, whose agent writes the report.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() { setup.Main(run) }

// agent is what the fake's agent does with the run's message.
func agent(turn *qodertest.Turn) {
	turn.Think()
	turn.Say("Status report: the build is green, 3 pull requests wait for review, no incident today.")
}

func run(ctx context.Context) error {
	client, release, err := setup.Client(agent)
	if err != nil {
		return err
	}
	defer release()
	envID, err := setup.Environment(ctx, client)
	if err != nil {
		return err
	}
	agentObj, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{
		Name:   "status-reporter",
		Model:  qoder.ModelConfig{ID: "ultimate"},
		System: "You write short status reports.",
	})
	if err != nil {
		return err
	}

	// 1. A deployment: the agent, its environment, the message each run
	// sends, and a cron schedule in a time zone.
	dep, err := client.Deployments.Create(ctx, &qoder.DeploymentCreateParams{
		Name:          "daily-status-report",
		Agent:         qoder.AgentRef{ID: agentObj.ID},
		EnvironmentID: envID,
		InitialEvents: []qoder.InputEvent{qoder.NewUserMessage("Write today's status report in one paragraph.")},
		Schedule:      qoder.CronSchedule("0 9 * * 1-5", "Europe/Berlin"),
	})
	if err != nil {
		return err
	}
	fmt.Printf("deployment %s: %s, %s %s\n", dep.ID, dep.Status, dep.Schedule.Expression, dep.Schedule.Timezone)
	if len(dep.Schedule.UpcomingRunsAt) > 0 {
		fmt.Println("next scheduled run:", dep.Schedule.UpcomingRunsAt[0].Format(time.RFC1123))
	}

	// 2. Run it now; Run returns at once with the run it started.
	run, err := client.Deployments.Run(ctx, dep.ID)
	if err != nil {
		return err
	}
	fmt.Printf("run %s: %s (trigger %s)\n", run.ID, run.Status, run.TriggerContext.Type)

	// 3. Wait for the run to end; OnSession sees its session as soon as it
	// exists (a place to open client.Events.Stream and follow it live).
	run, err = client.DeploymentRuns.Wait(ctx, run.ID, &qoder.WaitParams{
		Interval: 200 * time.Millisecond,
		OnSession: func(ctx context.Context, sessionID string) error {
			fmt.Println("the run's session:", sessionID)
			return nil
		},
	})
	if err != nil {
		return err
	}
	if run.Status != qoder.DeploymentRunCompleted {
		if run.Error != nil {
			return fmt.Errorf("the run %s: %s: %s", run.Status, run.Error.Type, run.Error.Message)
		}
		return fmt.Errorf("the run ended %s", run.Status)
	}
	fmt.Printf("run %s: %s\n", run.ID, run.Status)

	// 4. The session's answer: its agent.message events.
	for ev, err := range client.Events.All(ctx, run.SessionID, &qoder.EventListParams{Types: []string{qoder.EventTypeAgentMessage}}) {
		if err != nil {
			return err
		}
		if msg, ok := ev.(*qoder.AgentMessageEvent); ok {
			fmt.Println("agent:", msg.Text())
		}
	}

	// 5. Pause it: the schedule stops until Unpause.
	dep, err = client.Deployments.Pause(ctx, dep.ID)
	if err != nil {
		return err
	}
	fmt.Printf("deployment %s: %s (%s)\n", dep.ID, dep.Status, dep.PausedReason.Type)
	return nil
}
