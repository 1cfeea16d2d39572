package qodertest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedDeployment creates a deployment of a new agent and environment on the
// fake, whose initial event is the user message text.
func seedDeployment(t *testing.T, srv *Server, text string, schedule *qoder.DeploymentScheduleParams) *qoder.Deployment {
	t.Helper()
	d, err := srv.Client().Deployments.Create(t.Context(), &qoder.DeploymentCreateParams{
		Name:          "report",
		Agent:         qoder.AgentRef{ID: srv.SeedAgent("bot")},
		EnvironmentID: srv.SeedEnvironment("env"),
		InitialEvents: []qoder.InputEvent{qoder.NewUserMessage(text)},
		Schedule:      schedule,
	})
	require.NoError(t, err)
	return d
}

func TestDeploymentsCreateGetUpdate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 14, 8, 53, 32, 0, time.UTC)
	a := newAPI(t, WithClock(func() time.Time { return now }))
	client := a.srv.Client()
	ctx := t.Context()
	agentID, envID := a.srv.SeedAgent("bot"), a.srv.SeedEnvironment("env")
	d, err := client.Deployments.Create(ctx, &qoder.DeploymentCreateParams{
		Name:                 "daily-report",
		Description:          "Today's status",
		Agent:                qoder.AgentRef{ID: agentID},
		EnvironmentID:        envID,
		InitialEvents:        []qoder.InputEvent{qoder.NewUserMessage("Generate today's status report")},
		Schedule:             qoder.CronSchedule("0 9 * * *", "Asia/Shanghai"),
		EnvironmentVariables: qoder.EnvVarMap{"LOG_LEVEL": "info", "FEATURE_FLAG": "on"},
		Metadata:             map[string]string{"team": "platform", "tier": "gold"},
		Budget:               qoder.SessionBudget{Type: "credits", MaxListCost: 5},
	})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(d.ID, "dep_"))
	assert.Equal(t, qoder.DeploymentStatusActive, d.Status)
	assert.Nil(t, d.PausedReason)
	assert.Equal(t, qoder.AgentRef{ID: agentID, Version: 1}, d.Agent, "the agent is resolved to its version")
	assert.Equal(t, qoder.EnvVarString("FEATURE_FLAG=on\nLOG_LEVEL=info"), d.EnvironmentVariables, "echoed as the recording shows")
	assert.Equal(t, map[string]string{"team": "platform", "tier": "gold"}, d.Metadata.Values)
	require.NotNil(t, d.Metadata.CASConfig, "the server injects cas_config")
	assert.Equal(t, 1, d.Metadata.CASConfig.Config.MaxConcurrent)
	assert.Equal(t, "new_session", d.Metadata.CASConfig.SessionStrategy)
	assert.Equal(t, time.Date(2026, 6, 15, 1, 0, 0, 0, time.UTC), d.Metadata.CASConfig.Stats.NextTriggerAt)
	require.NotNil(t, d.Schedule)
	assert.Equal(t, "cron", d.Schedule.Type)
	assert.Equal(t, []time.Time{ // as recorded for the same expression, zone and time
		time.Date(2026, 6, 15, 1, 0, 0, 0, time.UTC), time.Date(2026, 6, 16, 1, 0, 0, 0, time.UTC),
		time.Date(2026, 6, 17, 1, 0, 0, 0, time.UTC), time.Date(2026, 6, 18, 1, 0, 0, 0, time.UTC),
		time.Date(2026, 6, 19, 1, 0, 0, 0, time.UTC),
	}, d.Schedule.UpcomingRunsAt)
	require.Len(t, d.InitialEvents, 1)
	assert.Equal(t, "Generate today's status report", d.InitialEvents[0].(*qoder.UserMessageEvent).Text())
	assert.Equal(t, now, d.CreatedAt, "stamped by the fake's clock")

	got, err := client.Deployments.Get(ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, d.Name, got.Name)

	a.srv.Advance(time.Minute)
	up, err := client.Deployments.Update(ctx, d.ID, &qoder.DeploymentUpdateParams{
		Name:     qoder.Ptr("daily-report-v2"),
		Schedule: qoder.CronSchedule("30 9 * * 1-5", "Asia/Shanghai"),
		Metadata: map[string]*string{"tier": nil, "owner": qoder.Ptr("ada")},
	})
	require.NoError(t, err)
	assert.Equal(t, "daily-report-v2", up.Name)
	assert.Equal(t, "Today's status", up.Description, "omitted fields are kept")
	assert.Equal(t, map[string]string{"team": "platform", "owner": "ada"}, up.Metadata.Values, "a merge patch: nil deletes")
	assert.Equal(t, "30 9 * * 1-5", up.Schedule.Expression)
	assert.Equal(t, time.Date(2026, 6, 15, 1, 30, 0, 0, time.UTC), up.Schedule.UpcomingRunsAt[0], "the recorded next firing")
	assert.Equal(t, now.Add(time.Minute), up.UpdatedAt)

	r := a.req("POST", "deployments/"+d.ID, map[string]any{"schedule": nil})
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Nil(t, r.obj(t)["schedule"], "schedule null makes it manual-only")
}

func TestDeploymentsValidation(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	agentID, envID := a.srv.SeedAgent("bot"), a.srv.SeedEnvironment("env")
	archivedAgent := a.srv.SeedAgent("old")
	a.ok(200, "POST", "agents/"+archivedAgent+"/archive", nil)
	msg := userMessage("hi")
	body := func(change map[string]any) map[string]any {
		b := map[string]any{"name": "d", "agent": agentID, "environment_id": envID, "initial_events": []any{msg}}
		for k, v := range change {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	many := make([]any, 51)
	for i := range many {
		many[i] = msg
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		param  string
		msg    string
	}{
		{"no name", body(map[string]any{"name": nil}), 400, "name", "Missing required field: name"},
		{"no initial events", body(map[string]any{"initial_events": nil}), 400, "initial_events", "Missing required field: initial_events"},
		{"empty initial events", body(map[string]any{"initial_events": []any{}}), 400, "initial_events", "1 to 50 events"},
		{"51 initial events", body(map[string]any{"initial_events": many}), 400, "initial_events", "at most 50"},
		{"an interrupt", body(map[string]any{"initial_events": []any{map[string]any{"type": "user.interrupt"}}}), 400, "initial_events[0].type", "not allowed here"},
		{"system message not last", body(map[string]any{"initial_events": []any{
			map[string]any{"type": "system.message", "content": []any{map[string]any{"type": "text", "text": "s"}}}, msg}}), 400, "initial_events[0].type", "must be the last"},
		{"bad cron", body(map[string]any{"schedule": map[string]any{"type": "cron", "expression": "61 * * * *", "timezone": "UTC"}}), 400, "schedule.expression", "invalid cron expression '61 * * * *'"},
		{"bad time zone", body(map[string]any{"schedule": map[string]any{"type": "cron", "expression": "0 9 * * *", "timezone": "Mars/Olympus"}}), 400, "schedule.timezone", "unknown time zone 'Mars/Olympus'"},
		{"schedule without timezone", body(map[string]any{"schedule": map[string]any{"type": "cron", "expression": "0 9 * * *"}}), 400, "schedule.timezone", "missing required field"},
		{"reserved metadata", body(map[string]any{"metadata": map[string]any{"cas_config": "x"}}), 400, "metadata", "reserved"},
		{"unknown field", body(map[string]any{"schedul": map[string]any{}}), 400, "schedul", "Unknown field 'schedul'."},
		{"unknown agent", body(map[string]any{"agent": "agent_missing"}), 404, "", "Agent 'agent_missing' was not found."},
		{"archived agent", body(map[string]any{"agent": archivedAgent}), 400, "agent", "archived"},
		{"unknown environment", body(map[string]any{"environment_id": "env_missing"}), 404, "", "Environment 'env_missing' was not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.req("POST", "deployments", tt.body)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			_, msg, param := r.errorOf(t)
			assert.Equal(t, tt.param, param)
			assert.Contains(t, msg, tt.msg)
		})
	}
	for query, msg := range map[string]string{
		"status=paused&include_archived=true": "cannot be combined",
		"status=gone":                         "'active' or 'paused'",
		"limit=0":                             "at least 1",
	} {
		r := a.req("GET", "deployments?"+query, nil)
		require.Equal(t, 400, r.status, query)
		_, m, _ := r.errorOf(t)
		assert.Contains(t, m, msg, query)
	}
	d := a.ok(201, "POST", "deployments", body(nil))["id"].(string)
	r := a.req("POST", "deployments/"+d, map[string]any{"initial_events": []any{}})
	require.Equal(t, 400, r.status, "initial events cannot be cleared")
	r = a.req("POST", "deployments/"+d+"/run", map[string]any{"now": true})
	require.Equal(t, 400, r.status, "run takes no body but {}")

	// Through the SDK, the server's 400 about a cron expression comes with
	// its message.
	_, err := a.srv.Client().Deployments.Create(t.Context(), &qoder.DeploymentCreateParams{Name: "d", Agent: qoder.AgentRef{ID: agentID},
		EnvironmentID: envID, InitialEvents: []qoder.InputEvent{qoder.NewUserMessage("hi")}, Schedule: qoder.CronSchedule("0 25 * * *", "UTC")})
	var apiErr *qoder.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	assert.Contains(t, apiErr.Message, `"25" is not a valid hour (0-23)`)
}

func TestDeploymentsPauseUnpauseArchiveRules(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	client := srv.Client()
	ctx := t.Context()
	d := seedDeployment(t, srv, "hi", qoder.CronSchedule("0 9 * * *", "UTC"))

	paused, err := client.Deployments.Pause(ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, qoder.DeploymentStatusPaused, paused.Status)
	require.NotNil(t, paused.PausedReason)
	assert.Equal(t, qoder.PausedReasonManual, paused.PausedReason.Type)
	assert.True(t, paused.PausedReason.Known())
	assert.True(t, paused.Metadata.CASConfig.Stats.NextTriggerAt.IsZero(), "a paused deployment has no next trigger")

	conflicts := []struct {
		name string
		call func() error
	}{
		{"pause a paused deployment", func() error { _, err := client.Deployments.Pause(ctx, d.ID); return err }},
		{"run a paused deployment", func() error { _, err := client.Deployments.Run(ctx, d.ID); return err }},
	}
	for _, c := range conflicts {
		assert.ErrorIs(t, c.call(), qoder.ErrConflict, c.name)
	}

	active, err := client.Deployments.Unpause(ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, qoder.DeploymentStatusActive, active.Status)
	assert.Nil(t, active.PausedReason)
	_, err = client.Deployments.Unpause(ctx, d.ID)
	assert.ErrorIs(t, err, qoder.ErrConflict, "unpause an active deployment")

	archived, err := client.Deployments.Archive(ctx, d.ID)
	require.NoError(t, err)
	assert.False(t, archived.ArchivedAt.IsZero())
	assert.Regexp(t, `^report_archived_\d+$`, archived.Name)
	assert.Empty(t, archived.Schedule.UpcomingRunsAt, "an archived deployment has no upcoming runs")
	assert.Equal(t, qoder.DeploymentStatusActive, archived.Status, "as recorded: archiving keeps the status")

	for name, call := range map[string]func() error{
		"archive again":  func() error { _, err := client.Deployments.Archive(ctx, d.ID); return err },
		"pause archived": func() error { _, err := client.Deployments.Pause(ctx, d.ID); return err },
		"unpause archived": func() error {
			_, err := client.Deployments.Unpause(ctx, d.ID)
			return err
		},
		"run archived": func() error { _, err := client.Deployments.Run(ctx, d.ID); return err },
		"update archived": func() error {
			_, err := client.Deployments.Update(ctx, d.ID, &qoder.DeploymentUpdateParams{Name: qoder.Ptr("x")})
			return err
		},
	} {
		assert.ErrorIs(t, call(), qoder.ErrConflict, name)
	}
	_, err = client.Deployments.Get(ctx, "dep_missing")
	assert.ErrorIs(t, err, qoder.ErrNotFound)
}

func TestDeploymentsListFilters(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	srv := NewServer(t, WithClock(func() time.Time { return start }))
	client := srv.Client()
	ctx := t.Context()
	agentA, agentB, env := srv.SeedAgent("a"), srv.SeedAgent("b"), srv.SeedEnvironment("env")
	create := func(name, agentID string) string {
		srv.Advance(time.Hour)
		d, err := client.Deployments.Create(ctx, &qoder.DeploymentCreateParams{Name: name, Agent: qoder.AgentRef{ID: agentID},
			EnvironmentID: env, InitialEvents: []qoder.InputEvent{qoder.NewUserMessage("hi")}})
		require.NoError(t, err)
		return d.ID
	}
	first, second, third, fourth := create("first", agentA), create("second", agentB), create("third", agentA), create("fourth", agentA)
	_, err := client.Deployments.Pause(ctx, second)
	require.NoError(t, err)
	_, err = client.Deployments.Archive(ctx, fourth)
	require.NoError(t, err)

	tests := []struct {
		name   string
		params *qoder.DeploymentListParams
		want   []string
	}{
		{"default: newest first, archived left out", nil, []string{third, second, first}},
		{"include_archived", &qoder.DeploymentListParams{IncludeArchived: true}, []string{fourth, third, second, first}},
		{"status paused", &qoder.DeploymentListParams{Status: qoder.DeploymentStatusPaused}, []string{second}},
		{"status active", &qoder.DeploymentListParams{Status: qoder.DeploymentStatusActive}, []string{third, first}},
		{"agent_id", &qoder.DeploymentListParams{AgentID: agentA}, []string{third, first}},
		{"created_at gte and lte", &qoder.DeploymentListParams{
			CreatedAtGte: time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC), CreatedAtLte: time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC),
		}, []string{third, second}},
		{"a page of one", &qoder.DeploymentListParams{Limit: 1}, []string{third}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := client.Deployments.List(ctx, tt.params)
			require.NoError(t, err)
			var got []string
			for _, d := range page.Data {
				got = append(got, d.ID)
			}
			assert.Equal(t, tt.want, got)
		})
	}
	var all []string
	for d, err := range client.Deployments.All(ctx, &qoder.DeploymentListParams{Limit: 1, IncludeArchived: true}) {
		require.NoError(t, err)
		all = append(all, d.ID)
	}
	assert.Equal(t, []string{fourth, third, second, first}, all, "All follows the pages")
}
