package qoder

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testDeploymentID = "dep_019ec556114c78f8b60ee34fcb98bf59"

func TestDeploymentsService_Create(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *DeploymentCreateParams
		body   string
	}{
		{
			name: "documented example: scheduled, latest agent version",
			params: &DeploymentCreateParams{
				Name:                 "api-doc-verification-deployment",
				Description:          "Deployment created for API documentation verification",
				Agent:                AgentRef{ID: "agent_1"},
				EnvironmentID:        "env_1",
				InitialEvents:        []InputEvent{NewUserMessage("Generate today's status report")},
				Schedule:             CronSchedule("0 9 * * *", "Asia/Shanghai"),
				EnvironmentVariables: EnvVarString("FEATURE_FLAG=on\nLOG_LEVEL=info"),
				Metadata:             map[string]string{"team": "platform"},
			},
			body: `{"name":"api-doc-verification-deployment","description":"Deployment created for API documentation verification",
				"agent":"agent_1","environment_id":"env_1",
				"initial_events":[{"type":"user.message","content":[{"type":"text","text":"Generate today's status report"}]}],
				"schedule":{"type":"cron","expression":"0 9 * * *","timezone":"Asia/Shanghai"},
				"environment_variables":"FEATURE_FLAG=on\nLOG_LEVEL=info","metadata":{"team":"platform"}}`,
		},
		{
			name: "manual-only, pinned version, every other field",
			params: &DeploymentCreateParams{
				Name:          "on-demand",
				Agent:         AgentRef{ID: "agent_1", Version: 3},
				EnvironmentID: "env_1",
				InitialEvents: []InputEvent{
					NewUserMessage("Review the repository"),
					UserDefineOutcome{Description: "A review", Rubric: Rubric{Type: RubricTypeText, Content: "Lists risks"}},
					NewSystemMessage("Be brief"),
				},
				Resources:            []SessionResourceParams{FileResource("file_1")},
				VaultIDs:             []string{"vlt_1"},
				EnvironmentVariables: EnvVarMap{"A": "1"},
				Budget:               SessionBudget{Type: "list_cost", MaxListCost: 5},
			},
			body: `{"name":"on-demand","agent":{"type":"agent","id":"agent_1","version":3},"environment_id":"env_1",
				"initial_events":[{"type":"user.message","content":[{"type":"text","text":"Review the repository"}]},
					{"type":"user.define_outcome","description":"A review","rubric":{"type":"text","content":"Lists risks"}},
					{"type":"system.message","content":[{"type":"text","text":"Be brief"}]}],
				"resources":[{"type":"file","file_id":"file_1"}],"vault_ids":["vlt_1"],
				"environment_variables":{"A":"1"},"budget":{"type":"list_cost","max_list_cost":5}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/deployments", func(w http.ResponseWriter, r *http.Request) {
				assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "deployments/deployment.json")
			})
			d, err := client.Deployments.Create(t.Context(), tt.params)
			require.NoError(t, err)
			assert.Equal(t, testDeploymentID, d.ID)
		})
	}
}

func TestDeploymentsService_Create_rejectsBeforeSending(t *testing.T) {
	t.Parallel()
	msg := NewUserMessage("hi")
	tooMany := make([]InputEvent, 51)
	for i := range tooMany {
		tooMany[i] = msg
	}
	base := func(mod func(p *DeploymentCreateParams)) *DeploymentCreateParams {
		p := &DeploymentCreateParams{Name: "d", Agent: AgentRef{ID: "agent_1"}, EnvironmentID: "env_1", InitialEvents: []InputEvent{msg}}
		mod(p)
		return p
	}
	tests := []struct {
		name   string
		params *DeploymentCreateParams
		want   string
	}{
		{"nil params", nil, "deployment create params are required"},
		{"no initial events", base(func(p *DeploymentCreateParams) { p.InitialEvents = nil }), "initial_events must hold at least one event"},
		{"51 initial events", base(func(p *DeploymentCreateParams) { p.InitialEvents = tooMany }), "initial_events holds 51 events, more than 50"},
		{"an interrupt", base(func(p *DeploymentCreateParams) { p.InitialEvents = []InputEvent{UserInterrupt{}} }), "initial_events may hold only user.message, user.define_outcome and system.message"},
		{"an empty message", base(func(p *DeploymentCreateParams) { p.InitialEvents = []InputEvent{UserMessage{}} }), "events[0] (user.message)"},
		{"schedule without timezone", base(func(p *DeploymentCreateParams) { p.Schedule = CronSchedule("0 9 * * *", "") }), "missing [timezone]"},
		{"schedule without type", base(func(p *DeploymentCreateParams) {
			p.Schedule = &DeploymentScheduleParams{Expression: "0 9 * * *", Timezone: "UTC"}
		}), "missing [type]"},
		{"empty schedule", base(func(p *DeploymentCreateParams) { p.Schedule = &DeploymentScheduleParams{} }), "missing [type expression timezone]"},
	}
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Deployments.Create(t.Context(), tt.params)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDeploymentsService_Get_decodesEveryField(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/deployments/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testDeploymentID, r.PathValue("id"))
		serveFixture(t, w, http.StatusOK, "deployments/deployment.json")
	})
	d, err := client.Deployments.Get(t.Context(), testDeploymentID)
	require.NoError(t, err)
	assert.Equal(t, "daily-report", d.Name)
	assert.Equal(t, AgentRef{ID: "agent_019eb4d4a06d747c865d5800b9c57ae2", Version: 3}, d.Agent)
	assert.Equal(t, DeploymentStatusPaused, d.Status)
	require.NotNil(t, d.PausedReason)
	assert.Equal(t, PausedReasonError, d.PausedReason.Type)
	assert.Equal(t, PauseErrorVaultArchived, d.PausedReason.Error.Type)
	assert.True(t, d.PausedReason.Known())
	require.NotNil(t, d.Schedule)
	assert.Equal(t, "Asia/Shanghai", d.Schedule.Timezone)
	assert.Len(t, d.Schedule.UpcomingRunsAt, 2)
	assert.Equal(t, time.Date(2026, 6, 14, 8, 54, 6, 0, time.UTC), d.Schedule.LastRunAt)
	require.Len(t, d.InitialEvents, 2)
	assert.Equal(t, "Generate today's status report", d.InitialEvents[0].(*UserMessageEvent).Text())
	assert.Equal(t, "A report", d.InitialEvents[1].(*UserDefineOutcomeEvent).Description)
	assert.Equal(t, []SessionResource{{Type: SessionResourceFile, FileID: "file_1", MountPath: "/data/in.csv"}}, d.Resources)
	assert.Equal(t, []string{"vlt_1"}, d.VaultIDs)
	vars, err := d.EnvironmentVariables.Map()
	require.NoError(t, err)
	assert.Equal(t, EnvVarMap{"FEATURE_FLAG": "on", "LOG_LEVEL": "info"}, vars)
	assert.Equal(t, map[string]string{"team": "platform"}, d.Metadata.Values)
	require.NotNil(t, d.Metadata.CASConfig)
	assert.Equal(t, DeploymentRunLimits{MaxConcurrent: 1, MaxRetries: 2, TimeoutMS: 300000}, d.Metadata.CASConfig.Config)
	assert.Equal(t, "new_session", d.Metadata.CASConfig.SessionStrategy)
	assert.Equal(t, 7, d.Metadata.CASConfig.Stats.TotalRuns)
	assert.Equal(t, time.Date(2026, 6, 15, 1, 0, 0, 0, time.UTC), d.Metadata.CASConfig.Stats.NextTriggerAt)
	assert.Equal(t, SessionBudget{Type: "list_cost", MaxListCost: 5}, d.Budget)
	assert.True(t, d.ArchivedAt.IsZero())

	// Encoding it again keeps every field, cas_config included.
	data, err := json.Marshal(d)
	require.NoError(t, err)
	var again, want map[string]any
	require.NoError(t, json.Unmarshal(data, &again))
	require.NoError(t, json.Unmarshal(fixture(t, "deployments/deployment.json"), &want))
	delete(want, "archived_at")
	assert.Equal(t, want, again)
}

func TestDeploymentPausedReason_variants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		wire  string
		typ   DeploymentPausedReasonType
		cause DeploymentPauseErrorType
		known bool
	}{
		{`{"type":"manual"}`, PausedReasonManual, "", true},
		{`{"type":"error","error":{"type":"agent_archived"}}`, PausedReasonError, PauseErrorAgentArchived, true},
		{`{"type":"error","error":{"type":"self_hosted_resources_unsupported"}}`, PausedReasonError, PauseErrorSelfHostedResourcesUnsupported, true},
		{`{"type":"error","error":{"type":"unknown"}}`, PausedReasonError, PauseErrorUnknown, true},
		{`{"type":"error","error":{"type":"quota_exhausted","detail":1}}`, PausedReasonError, "quota_exhausted", false},
		{`{"type":"maintenance","until":"2026-07-01T00:00:00Z"}`, "maintenance", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.wire, func(t *testing.T) {
			t.Parallel()
			var d Deployment
			require.NoError(t, json.Unmarshal([]byte(`{"status":"paused","paused_reason":`+tt.wire+`}`), &d))
			require.NotNil(t, d.PausedReason)
			assert.Equal(t, tt.typ, d.PausedReason.Type)
			if tt.cause != "" {
				require.NotNil(t, d.PausedReason.Error)
				assert.Equal(t, tt.cause, d.PausedReason.Error.Type)
			}
			assert.Equal(t, tt.known, d.PausedReason.Known())
			assert.JSONEq(t, tt.wire, string(d.PausedReason.Raw()))
		})
	}
	var active Deployment
	require.NoError(t, json.Unmarshal([]byte(`{"status":"active","paused_reason":null,"schedule":null,"metadata":null}`), &active))
	assert.Nil(t, active.PausedReason)
	assert.Nil(t, active.Schedule)
	assert.Nil(t, active.Metadata.CASConfig)
}

func TestDeploymentsService_Update(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *DeploymentUpdateParams
		body   string
	}{
		{"documented example: rename and reschedule", &DeploymentUpdateParams{
			Name: Ptr("api-doc-verification-deployment-v2"), Schedule: CronSchedule("30 9 * * 1-5", "Asia/Shanghai"),
		}, `{"name":"api-doc-verification-deployment-v2","schedule":{"type":"cron","expression":"30 9 * * 1-5","timezone":"Asia/Shanghai"}}`},
		{"metadata merge patch: upsert and delete", &DeploymentUpdateParams{
			Metadata: map[string]*string{"team": Ptr("infra"), "old": nil},
		}, `{"metadata":{"team":"infra","old":null}}`},
		{"replace lists and clear resources", &DeploymentUpdateParams{
			InitialEvents: []InputEvent{NewUserMessage("new")}, Resources: []SessionResourceParams{}, VaultIDs: []string{"vlt_2"},
			Agent: &AgentRef{ID: "agent_2"}, EnvironmentID: Ptr("env_2"), Description: Ptr(""),
			Budget: &SessionBudget{Type: "list_cost", MaxListCost: 1}, EnvironmentVariables: EnvVarString("A=1"),
		}, `{"initial_events":[{"type":"user.message","content":[{"type":"text","text":"new"}]}],"resources":[],"vault_ids":["vlt_2"],
			"agent":"agent_2","environment_id":"env_2","description":"","budget":{"type":"list_cost","max_list_cost":1},"environment_variables":"A=1"}`},
		{"nothing: omitted fields are kept", &DeploymentUpdateParams{}, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/deployments/{id}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testDeploymentID, r.PathValue("id"))
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "deployments/deployment.json")
			})
			_, err := client.Deployments.Update(t.Context(), testDeploymentID, tt.params)
			require.NoError(t, err)
		})
	}
}

func TestDeploymentsService_Update_rejectsBeforeSending(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	tests := []struct {
		name   string
		params *DeploymentUpdateParams
		want   string
	}{
		{"nil params", nil, "update params are required"},
		{"initial events cleared", &DeploymentUpdateParams{InitialEvents: []InputEvent{}}, "initial_events must hold at least one event"},
		{"schedule without expression", &DeploymentUpdateParams{Schedule: CronSchedule("", "UTC")}, "missing [expression]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Deployments.Update(t.Context(), testDeploymentID, tt.params)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDeploymentsService_List(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *DeploymentListParams
		query  url.Values
	}{
		{"defaults", nil, url.Values{}},
		{"every filter", &DeploymentListParams{
			Limit: 5, AfterID: "dep_a", Status: DeploymentStatusPaused, AgentID: "agent_1",
			CreatedAtGte: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), CreatedAtLte: time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC),
		}, url.Values{"limit": {"5"}, "after_id": {"dep_a"}, "status": {"paused"}, "agent_id": {"agent_1"},
			"created_at[gte]": {"2026-06-01T00:00:00Z"}, "created_at[lte]": {"2026-06-30T00:00:00Z"}}},
		{"archived, backwards, page token", &DeploymentListParams{IncludeArchived: true, BeforeID: "dep_b", Page: "tok"},
			url.Values{"include_archived": {"true"}, "before_id": {"dep_b"}, "page": {"tok"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("GET /api-test/deployments", func(w http.ResponseWriter, r *http.Request) {
				resAssertQuery(t, r, tt.query)
				serveJSON(t, w, http.StatusOK, `{"data":[`+string(fixture(t, "deployments/deployment.json"))+`],"has_more":false}`)
			})
			page, err := client.Deployments.List(t.Context(), tt.params)
			require.NoError(t, err)
			require.Len(t, page.Data, 1)
			assert.Equal(t, testDeploymentID, page.Data[0].ID)
		})
	}
}

func TestDeploymentsService_List_statusWithArchived(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	_, err := client.Deployments.List(t.Context(), &DeploymentListParams{Status: DeploymentStatusActive, IncludeArchived: true})
	require.EqualError(t, err, "qoder: deployment list: Status cannot be combined with IncludeArchived")
	for _, err := range client.Deployments.All(t.Context(), &DeploymentListParams{Status: DeploymentStatusActive, IncludeArchived: true}) {
		require.Error(t, err)
	}
}

func TestDeploymentsService_All(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("GET /api-test/deployments", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			resAssertQuery(t, r, url.Values{"agent_id": {"agent_1"}})
			serveJSON(t, w, http.StatusOK, `{"data":[{"id":"dep_a"}],"first_id":"dep_a","last_id":"dep_a","has_more":true,"next_page":"dep_a"}`)
			return
		}
		resAssertQuery(t, r, url.Values{"agent_id": {"agent_1"}, "page": {"dep_a"}})
		serveJSON(t, w, http.StatusOK, `{"data":[{"id":"dep_b"}],"has_more":false,"next_page":null}`)
	})
	params := &DeploymentListParams{AgentID: "agent_1"}
	deps, err := resCollect(client.Deployments.All(t.Context(), params))
	require.NoError(t, err)
	assert.Equal(t, []string{"dep_a", "dep_b"}, resIDs(deps, func(d Deployment) string { return d.ID }))
	assert.Equal(t, &DeploymentListParams{AgentID: "agent_1"}, params, "params not modified")
}

func TestDeploymentsService_verbs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		verb string
		call func(context.Context, *Client, string) (*Deployment, error)
	}{
		{"archive", func(ctx context.Context, c *Client, id string) (*Deployment, error) {
			return c.Deployments.Archive(ctx, id)
		}},
		{"pause", func(ctx context.Context, c *Client, id string) (*Deployment, error) {
			return c.Deployments.Pause(ctx, id)
		}},
		{"unpause", func(ctx context.Context, c *Client, id string) (*Deployment, error) {
			return c.Deployments.Unpause(ctx, id)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.verb, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/deployments/{id}/"+tt.verb, func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testDeploymentID, r.PathValue("id"))
				assert.Zero(t, r.ContentLength, "no body")
				assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
				serveFixture(t, w, http.StatusOK, "deployments/deployment.json")
			})
			d, err := tt.call(t.Context(), client, testDeploymentID)
			require.NoError(t, err)
			assert.Equal(t, testDeploymentID, d.ID)
		})
		t.Run(tt.verb+" conflict", func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/deployments/{id}/"+tt.verb, func(w http.ResponseWriter, r *http.Request) {
				serveJSON(t, w, http.StatusConflict, `{"type":"error","error":{"type":"conflict_error","message":"Deployment is already `+tt.verb+`d."}}`)
			})
			_, err := tt.call(t.Context(), client, testDeploymentID)
			assert.ErrorIs(t, err, ErrConflict)
			assert.Contains(t, err.Error(), "already "+tt.verb)
		})
	}
}

func TestDeploymentsService_Run(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("POST /api-test/deployments/{id}/run", func(w http.ResponseWriter, r *http.Request) {
		calls++
		assert.Equal(t, testDeploymentID, r.PathValue("id"))
		serveJSON(t, w, http.StatusOK, `{"id":"drun_1","type":"deployment_run","deployment_id":"`+testDeploymentID+`","status":"pending",
			"trigger_context":{"type":"manual"},"error":null,"created_at":"2026-06-14T08:54:06Z"}`)
	})
	run, err := client.Deployments.Run(t.Context(), testDeploymentID)
	require.NoError(t, err)
	assert.Equal(t, 1, calls, "Run does not wait")
	assert.Equal(t, DeploymentRunPending, run.Status)
	assert.Equal(t, DeploymentTriggerManual, run.TriggerContext.Type)
	assert.False(t, run.Done())
}

func TestDeploymentsService_invalidCronPassesServerMessage(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/deployments", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusBadRequest, `{"type":"error","error":{"type":"invalid_request_error","message":"schedule.expression: invalid cron expression \"61 * * * *\""}}`)
	})
	_, err := client.Deployments.Create(t.Context(), &DeploymentCreateParams{Name: "d", Agent: AgentRef{ID: "a"}, EnvironmentID: "e",
		InitialEvents: []InputEvent{NewUserMessage("x")}, Schedule: CronSchedule("61 * * * *", "Mars/Olympus")})
	require.ErrorIs(t, err, ErrInvalidRequest)
	assert.True(t, strings.Contains(err.Error(), `invalid cron expression "61 * * * *"`), err.Error())
}

func TestDeploymentsService_emptyIDs(t *testing.T) {
	t.Parallel()
	resTestEmptyIDs(t, []resEmptyIDCase{
		{"Get", "deployment_id", func(ctx context.Context, c *Client) error { _, err := c.Deployments.Get(ctx, ""); return err }},
		{"Update", "deployment_id", func(ctx context.Context, c *Client) error {
			_, err := c.Deployments.Update(ctx, "", &DeploymentUpdateParams{})
			return err
		}},
		{"Archive", "deployment_id", func(ctx context.Context, c *Client) error { _, err := c.Deployments.Archive(ctx, ""); return err }},
		{"Pause", "deployment_id", func(ctx context.Context, c *Client) error { _, err := c.Deployments.Pause(ctx, ""); return err }},
		{"Unpause", "deployment_id", func(ctx context.Context, c *Client) error { _, err := c.Deployments.Unpause(ctx, ""); return err }},
		{"Run", "deployment_id", func(ctx context.Context, c *Client) error { _, err := c.Deployments.Run(ctx, ""); return err }},
	})
}

func TestDeploymentsService_apiErrors(t *testing.T) {
	t.Parallel()
	resTestAPIErrors(t, []resAPIErrorCase{
		{"Get", "GET /api-test/deployments/{id}", func(ctx context.Context, c *Client) error {
			_, err := c.Deployments.Get(ctx, "dep_x")
			return err
		}},
		{"List", "GET /api-test/deployments", func(ctx context.Context, c *Client) error {
			_, err := c.Deployments.List(ctx, nil)
			return err
		}},
		{"Run", "POST /api-test/deployments/{id}/run", func(ctx context.Context, c *Client) error {
			_, err := c.Deployments.Run(ctx, "dep_x")
			return err
		}},
	})
}
