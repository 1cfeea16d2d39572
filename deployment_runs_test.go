package qoder

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testRunID = "drun_019ec55a68af73028afa5b87931cb2f3"

func TestDeploymentRunsService_Get(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/deployment_runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testRunID, r.PathValue("id"))
		serveFixture(t, w, http.StatusOK, "deployments/run.json")
	})
	run, err := client.DeploymentRuns.Get(t.Context(), testRunID)
	require.NoError(t, err)
	want := &DeploymentRun{
		ID: testRunID, Type: "deployment_run", DeploymentID: testDeploymentID,
		Agent:          AgentRef{ID: "agent_019eb4d4a06d747c865d5800b9c57ae2", Version: 3},
		Status:         DeploymentRunFailed,
		Error:          &DeploymentRunError{Type: RunErrorSessionRateLimited, Message: "too many sessions"},
		TriggerContext: DeploymentTriggerContext{Type: DeploymentTriggerSchedule, ScheduledAt: time.Date(2026, 6, 14, 8, 58, 4, 0, time.UTC)},
		SessionID:      "sess_019ec55a68b37e1e8d660691af161ab4",
		TriggeredAt:    time.Date(2026, 6, 14, 8, 58, 4, 123456789, time.UTC),
		CreatedAt:      time.Date(2026, 6, 14, 8, 58, 4, 200000000, time.UTC),
		CompletedAt:    time.Date(2026, 6, 14, 8, 59, 4, 0, time.UTC),
		DurationMS:     60000,
		CASRunExtras:   DeploymentRunExtras{Attempt: 2, TurnID: "turn_1", StartedAt: time.Date(2026, 6, 14, 8, 58, 5, 0, time.UTC)},
	}
	assert.Equal(t, *want, withoutRaw(*run))
	assert.True(t, run.Done())
}

// runListCase is a filter of the run lists and its wire form.
type runListCase struct {
	name   string
	params *DeploymentRunListParams
	query  url.Values
}

// runListCases are the filters both run lists share, plus one that names
// a deployment (which the runs of one deployment accept when it is theirs).
var runListCases = []runListCase{
	{"defaults", nil, url.Values{}},
	{"status, trigger, has_error false", &DeploymentRunListParams{Status: DeploymentRunSkipped, TriggerType: DeploymentTriggerRetry, HasError: Ptr(false)},
		url.Values{"status": {"skipped"}, "trigger_type": {"retry"}, "has_error": {"false"}}},
	{"has_error true and every bound", &DeploymentRunListParams{
		HasError: Ptr(true), Limit: 3, AfterID: "drun_a", Page: "tok",
		CreatedAtGt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), CreatedAtGte: time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC),
		CreatedAtLt: time.Date(2026, 6, 3, 0, 0, 0, 0, time.UTC), CreatedAtLte: time.Date(2026, 6, 4, 0, 0, 0, 0, time.UTC),
	}, url.Values{"has_error": {"true"}, "limit": {"3"}, "after_id": {"drun_a"}, "page": {"tok"},
		"created_at[gt]": {"2026-06-01T00:00:00Z"}, "created_at[gte]": {"2026-06-02T00:00:00Z"},
		"created_at[lt]": {"2026-06-03T00:00:00Z"}, "created_at[lte]": {"2026-06-04T00:00:00Z"}}},
	{"backwards", &DeploymentRunListParams{BeforeID: "drun_b", TriggerType: DeploymentTriggerSchedule},
		url.Values{"before_id": {"drun_b"}, "trigger_type": {"schedule"}}},
	{"one deployment", &DeploymentRunListParams{DeploymentID: testDeploymentID}, url.Values{"deployment_id": {testDeploymentID}}},
}

func TestDeploymentRunsService_List(t *testing.T) {
	t.Parallel()
	for _, tt := range runListCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("GET /api-test/deployment_runs", func(w http.ResponseWriter, r *http.Request) {
				resAssertQuery(t, r, tt.query)
				serveJSON(t, w, http.StatusOK, `{"data":[`+string(fixture(t, "deployments/run.json"))+`],"has_more":false}`)
			})
			page, err := client.DeploymentRuns.List(t.Context(), tt.params)
			require.NoError(t, err)
			require.Len(t, page.Data, 1)
			assert.Equal(t, testRunID, page.Data[0].ID)
		})
	}
}

func TestDeploymentRunsService_All(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("GET /api-test/deployment_runs", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			resAssertQuery(t, r, url.Values{"status": {"failed"}})
			serveJSON(t, w, http.StatusOK, `{"data":[{"id":"drun_a"}],"first_id":"drun_a","last_id":"drun_a","has_more":true,"next_page":"drun_a"}`)
			return
		}
		resAssertQuery(t, r, url.Values{"status": {"failed"}, "page": {"drun_a"}})
		serveJSON(t, w, http.StatusOK, `{"data":[{"id":"drun_b"}],"has_more":false}`)
	})
	runs, err := resCollect(client.DeploymentRuns.All(t.Context(), &DeploymentRunListParams{Status: DeploymentRunFailed}))
	require.NoError(t, err)
	assert.Equal(t, []string{"drun_a", "drun_b"}, resIDs(runs, func(r DeploymentRun) string { return r.ID }))
}

func TestDeploymentRun_Done(t *testing.T) {
	t.Parallel()
	tests := []struct {
		run  DeploymentRun
		done bool
	}{
		{DeploymentRun{Status: DeploymentRunPending}, false},
		{DeploymentRun{Status: DeploymentRunRunning, SessionID: "sess_1"}, false},
		{DeploymentRun{Status: DeploymentRunCompleted}, true},
		{DeploymentRun{Status: DeploymentRunFailed}, true},
		{DeploymentRun{Status: DeploymentRunSkipped}, true},
		{DeploymentRun{SessionID: "sess_1"}, false},
		{DeploymentRun{Error: &DeploymentRunError{Type: RunErrorUnknown}}, true},
		{DeploymentRun{CompletedAt: time.Unix(1, 0)}, true},
		{DeploymentRun{Status: "retrying", CompletedAt: time.Unix(1, 0)}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.done, tt.run.Done(), "%+v", tt.run)
	}
}

// fakeSleeper records the waits of the Wait helpers and returns at once,
// or ctx.Err() when ctx is done.
type fakeSleeper struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (f *fakeSleeper) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.delays = append(f.delays, d)
	f.mu.Unlock()
	return ctx.Err()
}

func TestDeploymentRunsService_Wait(t *testing.T) {
	t.Parallel()
	statuses := []string{
		`{"id":"drun_1","status":"pending"}`,
		`{"id":"drun_1","status":"running","session_id":"sess_1"}`,
		`{"id":"drun_1","status":"running","session_id":"sess_1"}`,
		`{"id":"drun_1","status":"running","session_id":"sess_1"}`,
		`{"id":"drun_1","status":"running","session_id":"sess_1"}`,
		`{"id":"drun_1","status":"completed","session_id":"sess_1","duration_ms":5}`,
	}
	client, mux := newTestClient(t)
	var polls int
	mux.HandleFunc("GET /api-test/deployment_runs/drun_1", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, statuses[polls])
		polls++
	})
	sleeper := &fakeSleeper{}
	client.waitSleep = sleeper.sleep
	var sessions []string
	run, err := client.DeploymentRuns.Wait(t.Context(), "drun_1", &WaitParams{
		Interval: 100 * time.Millisecond, MaxInterval: 300 * time.Millisecond,
		OnSession: func(ctx context.Context, sessionID string) error {
			sessions = append(sessions, sessionID)
			return nil
		},
	})
	require.NoError(t, err)
	assert.Equal(t, DeploymentRunCompleted, run.Status)
	assert.Equal(t, 6, polls)
	assert.Equal(t, []string{"sess_1"}, sessions, "OnSession is called once")
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{100 * ms, 150 * ms, 225 * ms, 300 * ms, 300 * ms}, sleeper.delays)
}

func TestDeploymentRunsService_Wait_endings(t *testing.T) {
	t.Parallel()
	errStop := errors.New("stop following")
	tests := []struct {
		name      string
		body      string
		params    *WaitParams
		cancel    bool
		wantErr   error
		wantRun   bool
		wantDelay []time.Duration
	}{
		{"failed run is a result", `{"id":"drun_1","status":"failed","error":{"type":"unknown","message":"boom"}}`, nil, false, nil, true, nil},
		{"ctx cancelled while waiting", `{"id":"drun_1","status":"running"}`, nil, true, context.Canceled, true, []time.Duration{time.Second}},
		{"OnSession error ends the wait", `{"id":"drun_1","status":"running","session_id":"sess_1"}`,
			&WaitParams{OnSession: func(context.Context, string) error { return errStop }}, false, errStop, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("GET /api-test/deployment_runs/drun_1", func(w http.ResponseWriter, r *http.Request) {
				serveJSON(t, w, http.StatusOK, tt.body)
			})
			sleeper := &fakeSleeper{}
			client.waitSleep = sleeper.sleep
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				client.waitSleep = func(ctx context.Context, d time.Duration) error {
					cancel()
					return sleeper.sleep(ctx, d)
				}
			}
			run, err := client.DeploymentRuns.Wait(ctx, "drun_1", tt.params)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, tt.wantRun, run != nil)
			assert.Equal(t, tt.wantDelay, sleeper.delays)
		})
	}
}

func TestDeploymentRunsService_Wait_errors(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/deployment_runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusNotFound, `{"type":"error","error":{"type":"not_found_error","message":"no run"}}`)
	})
	_, err := client.DeploymentRuns.Wait(t.Context(), "drun_x", nil)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = client.DeploymentRuns.Wait(t.Context(), "", nil)
	assert.EqualError(t, err, "qoder: run_id is required")
}

func TestDeploymentRunsService_emptyIDs(t *testing.T) {
	t.Parallel()
	resTestEmptyIDs(t, []resEmptyIDCase{
		{"Get", "run_id", func(ctx context.Context, c *Client) error { _, err := c.DeploymentRuns.Get(ctx, ""); return err }},
		{"Deployments.Runs.Get deployment", "deployment_id", func(ctx context.Context, c *Client) error {
			_, err := c.Deployments.Runs.Get(ctx, "", "drun_1")
			return err
		}},
		{"Deployments.Runs.Get run", "run_id", func(ctx context.Context, c *Client) error {
			_, err := c.Deployments.Runs.Get(ctx, "dep_1", "")
			return err
		}},
		{"Deployments.Runs.List", "deployment_id", func(ctx context.Context, c *Client) error {
			_, err := c.Deployments.Runs.List(ctx, "", nil)
			return err
		}},
	})
}

func TestDeploymentsRunsService_Get(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/deployments/{id}/runs/{run}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testDeploymentID, r.PathValue("id"))
		assert.Equal(t, testRunID, r.PathValue("run"))
		serveFixture(t, w, http.StatusOK, "deployments/run.json")
	})
	run, err := client.Deployments.Runs.Get(t.Context(), testDeploymentID, testRunID)
	require.NoError(t, err)
	assert.Equal(t, testRunID, run.ID)
	assert.Equal(t, RunErrorSessionRateLimited, run.Error.Type)
}

func TestDeploymentsRunsService_List(t *testing.T) {
	t.Parallel()
	for _, tt := range runListCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("GET /api-test/deployments/{id}/runs", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testDeploymentID, r.PathValue("id"))
				resAssertQuery(t, r, tt.query)
				serveJSON(t, w, http.StatusOK, `{"data":[`+string(fixture(t, "deployments/run.json"))+`],"has_more":false,"next_page":null}`)
			})
			page, err := client.Deployments.Runs.List(t.Context(), testDeploymentID, tt.params)
			require.NoError(t, err)
			require.Len(t, page.Data, 1)
		})
	}
}

func TestDeploymentsRunsService_List_otherDeploymentID(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	_, err := client.Deployments.Runs.List(t.Context(), "dep_a", &DeploymentRunListParams{DeploymentID: "dep_b"})
	assert.EqualError(t, err, `qoder: runs of deployment "dep_a": params.DeploymentID is "dep_b"`)
}

func TestDeploymentsRunsService_All(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("GET /api-test/deployments/dep_a/runs", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			resAssertQuery(t, r, url.Values{"has_error": {"true"}})
			serveJSON(t, w, http.StatusOK, `{"data":[{"id":"drun_a"}],"first_id":"drun_a","last_id":"drun_a","has_more":true,"next_page":"drun_a"}`)
			return
		}
		resAssertQuery(t, r, url.Values{"has_error": {"true"}, "page": {"drun_a"}})
		serveJSON(t, w, http.StatusOK, `{"data":[{"id":"drun_b"}],"has_more":false}`)
	})
	runs, err := resCollect(client.Deployments.Runs.All(t.Context(), "dep_a", &DeploymentRunListParams{HasError: Ptr(true)}))
	require.NoError(t, err)
	assert.Equal(t, []string{"drun_a", "drun_b"}, resIDs(runs, func(r DeploymentRun) string { return r.ID }))
}
