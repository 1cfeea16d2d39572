package qoder

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
