package qodertest

import (
	"context"
	"testing"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runScript is the agent of the run tests: "wait" waits for release,
// "fail" raises an exhausted session.error, "stop" terminates the session,
// anything else is answered at once.
func runScript(release <-chan struct{}) func(*Turn) {
	return func(turn *Turn) {
		switch turn.Text() {
		case "wait":
			select {
			case <-release:
			case <-turn.Context().Done():
			}
			turn.Say("done waiting")
		case "fail":
			turn.Error("model_overloaded_error", "the model is overloaded", "exhausted")
		case "stop":
			turn.Terminate()
		default:
			turn.Say("report: all green")
		}
	}
}

// fastWait polls every millisecond.
var fastWait = &qoder.WaitParams{Interval: time.Millisecond, MaxInterval: time.Millisecond}

// waitRun waits for a run to end.
func waitRun(t *testing.T, client *qoder.Client, runID string) *qoder.DeploymentRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	run, err := client.DeploymentRuns.Wait(ctx, runID, fastWait)
	require.NoError(t, err)
	return run
}

func TestDeploymentRunsMoveThroughStatuses(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := NewServer(t, WithAgent(runScript(release)))
	client := srv.Client()
	ctx := t.Context()
	d := seedDeployment(t, srv, "wait", nil)

	run, err := client.Deployments.Run(ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, qoder.DeploymentRunPending, run.Status, "recorded pending")
	assert.Equal(t, qoder.DeploymentTriggerManual, run.TriggerContext.Type)
	assert.Equal(t, d.ID, run.DeploymentID)
	assert.Equal(t, qoder.AgentRef{ID: d.Agent.ID, Version: 1}, run.Agent)
	require.NotEmpty(t, run.SessionID, "the run's session exists at once, as recorded")
	assert.Nil(t, run.Error)

	got, err := client.Deployments.Runs.Get(ctx, d.ID, run.ID)
	require.NoError(t, err)
	assert.Equal(t, qoder.DeploymentRunRunning, got.Status, "the turn started")
	assert.False(t, got.CASRunExtras.StartedAt.IsZero())

	skipped, err := client.Deployments.Run(ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, qoder.DeploymentRunSkipped, skipped.Status, "over max_concurrent 1")
	assert.Empty(t, skipped.SessionID)
	assert.True(t, skipped.Done())

	session, err := client.Sessions.Get(ctx, run.SessionID)
	require.NoError(t, err)
	assert.Equal(t, d.ID, session.DeploymentID)
	assert.Equal(t, d.EnvironmentID, session.EnvironmentID)
	sessions, err := client.Sessions.List(ctx, &qoder.SessionListParams{DeploymentID: d.ID})
	require.NoError(t, err)
	require.Len(t, sessions.Data, 1)
	assert.Equal(t, run.SessionID, sessions.Data[0].ID)

	close(release)
	seen := ""
	done, err := client.DeploymentRuns.Wait(ctx, run.ID, &qoder.WaitParams{Interval: time.Millisecond, OnSession: func(_ context.Context, id string) error {
		seen = id
		return nil
	}})
	require.NoError(t, err)
	assert.Equal(t, run.SessionID, seen)
	assert.Equal(t, qoder.DeploymentRunCompleted, done.Status)
	assert.Nil(t, done.Error)
	assert.False(t, done.CompletedAt.IsZero())
	assert.GreaterOrEqual(t, done.DurationMS, int64(0))
	assert.Contains(t, srv.EventTypes(run.SessionID), "agent.message")

	dep, err := client.Deployments.Get(ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, dep.Metadata.CASConfig.Stats.TotalRuns)
	assert.Equal(t, 0, dep.Metadata.CASConfig.Stats.TotalFailures)
	assert.False(t, dep.Metadata.CASConfig.Stats.LastTriggeredAt.IsZero())
}

func TestDeploymentRunsFail(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, WithAgent(runScript(nil)))
	client := srv.Client()
	ctx := t.Context()
	tests := []struct {
		text    string
		message string
	}{
		{"fail", "session error model_overloaded_error: the model is overloaded"},
		{"stop", "the session was terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			d := seedDeployment(t, srv, tt.text, nil)
			run, err := client.Deployments.Run(ctx, d.ID)
			require.NoError(t, err)
			run = waitRun(t, client, run.ID)
			assert.Equal(t, qoder.DeploymentRunFailed, run.Status)
			require.NotNil(t, run.Error)
			assert.Equal(t, qoder.RunErrorUnknown, run.Error.Type)
			assert.Equal(t, tt.message, run.Error.Message)
			dep, err := client.Deployments.Get(ctx, d.ID)
			require.NoError(t, err)
			assert.Equal(t, 1, dep.Metadata.CASConfig.Stats.ConsecutiveFailures)
			assert.Equal(t, qoder.DeploymentStatusActive, dep.Status, "a failed turn does not pause the deployment")
		})
	}
}

func TestDeploymentRunsFailAndPauseWhenReferencesBreak(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	client := a.srv.Client()
	ctx := t.Context()
	tests := []struct {
		name  string
		setup func(d *qoder.Deployment)
		cause qoder.DeploymentRunErrorType
	}{
		{"agent archived", func(d *qoder.Deployment) {
			a.ok(200, "POST", "agents/"+d.Agent.ID+"/archive", nil)
		}, qoder.RunErrorAgentArchived},
		{"environment archived", func(d *qoder.Deployment) {
			a.ok(200, "POST", "environments/"+d.EnvironmentID+"/archive", nil)
		}, qoder.RunErrorEnvironmentArchived},
		{"vault missing", func(d *qoder.Deployment) {
			_, err := client.Deployments.Update(ctx, d.ID, &qoder.DeploymentUpdateParams{VaultIDs: []string{"vault_missing"}})
			require.NoError(t, err)
		}, qoder.RunErrorVaultNotFound},
		{"file missing", func(d *qoder.Deployment) {
			_, err := client.Deployments.Update(ctx, d.ID, &qoder.DeploymentUpdateParams{Resources: []qoder.SessionResourceParams{{Type: "file", FileID: "file_missing"}}})
			require.NoError(t, err)
		}, qoder.RunErrorFileNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := seedDeployment(t, a.srv, "hi", nil)
			tt.setup(d)
			run, err := client.Deployments.Run(ctx, d.ID)
			require.NoError(t, err)
			assert.Equal(t, qoder.DeploymentRunFailed, run.Status)
			require.NotNil(t, run.Error)
			assert.Equal(t, tt.cause, run.Error.Type)
			assert.Empty(t, run.SessionID)
			dep, err := client.Deployments.Get(ctx, d.ID)
			require.NoError(t, err)
			assert.Equal(t, qoder.DeploymentStatusPaused, dep.Status, "the server pauses the deployment")
			require.NotNil(t, dep.PausedReason)
			assert.Equal(t, qoder.PausedReasonError, dep.PausedReason.Type)
			assert.Equal(t, qoder.DeploymentPauseErrorType(tt.cause), dep.PausedReason.Error.Type)
			assert.True(t, dep.PausedReason.Known())
		})
	}
}

func TestDeploymentRunsListFilters(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	a := newAPI(t, WithAgent(runScript(nil)), WithClock(func() time.Time { return start }))
	client := a.srv.Client()
	ctx := t.Context()
	first := seedDeployment(t, a.srv, "hi", qoder.CronSchedule("0 9 * * *", "UTC"))
	second := seedDeployment(t, a.srv, "fail", nil)

	run := func(d *qoder.Deployment) string {
		t.Helper()
		a.srv.Advance(time.Minute)
		r, err := client.Deployments.Run(ctx, d.ID)
		require.NoError(t, err)
		return waitRun(t, client, r.ID).ID
	}
	ok1 := run(first)
	failed := run(second)
	a.srv.Advance(time.Hour) // 09:02: the schedule of 09:00 fires
	page, err := client.DeploymentRuns.List(ctx, &qoder.DeploymentRunListParams{TriggerType: qoder.DeploymentTriggerSchedule})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	scheduled := waitRun(t, client, page.Data[0].ID)
	assert.Equal(t, time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC), scheduled.TriggerContext.ScheduledAt)
	assert.Equal(t, qoder.DeploymentRunCompleted, scheduled.Status)

	tests := []struct {
		name   string
		params *qoder.DeploymentRunListParams
		want   []string
	}{
		{"every run, newest first", nil, []string{scheduled.ID, failed, ok1}},
		{"status completed", &qoder.DeploymentRunListParams{Status: qoder.DeploymentRunCompleted}, []string{scheduled.ID, ok1}},
		{"status failed", &qoder.DeploymentRunListParams{Status: qoder.DeploymentRunFailed}, []string{failed}},
		{"trigger manual", &qoder.DeploymentRunListParams{TriggerType: qoder.DeploymentTriggerManual}, []string{failed, ok1}},
		{"has_error true", &qoder.DeploymentRunListParams{HasError: qoder.Ptr(true)}, []string{failed}},
		{"has_error false", &qoder.DeploymentRunListParams{HasError: qoder.Ptr(false)}, []string{scheduled.ID, ok1}},
		{"deployment_id", &qoder.DeploymentRunListParams{DeploymentID: first.ID}, []string{scheduled.ID, ok1}},
		{"unknown deployment_id", &qoder.DeploymentRunListParams{DeploymentID: "dep_missing"}, nil},
		{"created_at gt", &qoder.DeploymentRunListParams{CreatedAtGt: time.Date(2026, 6, 1, 8, 1, 0, 0, time.UTC)}, []string{scheduled.ID, failed}},
		{"created_at gte", &qoder.DeploymentRunListParams{CreatedAtGte: time.Date(2026, 6, 1, 8, 1, 0, 0, time.UTC)}, []string{scheduled.ID, failed, ok1}},
		{"created_at lt", &qoder.DeploymentRunListParams{CreatedAtLt: time.Date(2026, 6, 1, 8, 2, 0, 0, time.UTC)}, []string{ok1}},
		{"created_at lte", &qoder.DeploymentRunListParams{CreatedAtLte: time.Date(2026, 6, 1, 8, 2, 0, 0, time.UTC)}, []string{failed, ok1}},
	}
	ids := func(p *qoder.Page[qoder.DeploymentRun]) []string {
		var out []string
		for _, r := range p.Data {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := client.DeploymentRuns.List(ctx, tt.params)
			require.NoError(t, err)
			assert.Equal(t, tt.want, ids(page))
		})
	}

	scoped, err := client.Deployments.Runs.List(ctx, first.ID, &qoder.DeploymentRunListParams{HasError: qoder.Ptr(false), TriggerType: qoder.DeploymentTriggerManual})
	require.NoError(t, err)
	assert.Equal(t, []string{ok1}, ids(scoped), "the runs of one deployment, filtered")
	var all []string
	for r, err := range client.Deployments.Runs.All(ctx, first.ID, &qoder.DeploymentRunListParams{Limit: 1}) {
		require.NoError(t, err)
		all = append(all, r.ID)
	}
	assert.Equal(t, []string{scheduled.ID, ok1}, all)

	_, err = client.Deployments.Runs.Get(ctx, first.ID, failed)
	assert.ErrorIs(t, err, qoder.ErrNotFound, "a run of another deployment")
	_, err = client.Deployments.Runs.List(ctx, "dep_missing", nil)
	assert.ErrorIs(t, err, qoder.ErrNotFound)
	got, err := client.DeploymentRuns.Get(ctx, failed)
	require.NoError(t, err)
	assert.Equal(t, second.ID, got.DeploymentID)
	for _, query := range []string{"status=done", "trigger_type=cron", "has_error=maybe", "created_at[gt]=yesterday"} {
		assert.Equal(t, 400, a.req("GET", "deployment_runs?"+query, nil).status, query)
	}
}

func TestDeploymentSchedulesFireWhenTheClockAdvances(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	srv := NewServer(t, WithAgent(runScript(nil)), WithClock(func() time.Time { return start }))
	client := srv.Client()
	ctx := t.Context()
	d := seedDeployment(t, srv, "hi", qoder.CronSchedule("0 9 * * *", "UTC"))
	runs := func() []qoder.DeploymentRun {
		t.Helper()
		page, err := client.Deployments.Runs.List(ctx, d.ID, nil)
		require.NoError(t, err)
		return page.Data
	}

	srv.Advance(59 * time.Minute)
	assert.Empty(t, runs(), "08:59: not yet")
	srv.Advance(time.Minute)
	require.Len(t, runs(), 1, "09:00 fires")
	first := waitRun(t, client, runs()[0].ID)
	assert.Equal(t, qoder.DeploymentTriggerSchedule, first.TriggerContext.Type)
	assert.Equal(t, time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC), first.TriggerContext.ScheduledAt)

	srv.Advance(3 * 24 * time.Hour)
	got := runs()
	require.Len(t, got, 2, "three missed firings make one run")
	assert.Equal(t, time.Date(2026, 6, 4, 9, 0, 0, 0, time.UTC), got[0].TriggerContext.ScheduledAt, "the latest one")
	waitRun(t, client, got[0].ID)

	_, err := client.Deployments.Pause(ctx, d.ID)
	require.NoError(t, err)
	srv.Advance(24 * time.Hour)
	assert.Len(t, runs(), 2, "a paused deployment does not fire")
	dep, err := client.Deployments.Unpause(ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 6, 6, 9, 0, 0, 0, time.UTC), dep.Metadata.CASConfig.Stats.NextTriggerAt, "computed from now")
	assert.Equal(t, time.Date(2026, 6, 4, 9, 0, 0, 0, time.UTC), dep.Schedule.LastRunAt)
	assert.Equal(t, srv.Now(), time.Date(2026, 6, 5, 9, 0, 0, 0, time.UTC))
}
