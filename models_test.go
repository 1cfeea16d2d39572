package qoder

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestModelsService_List(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/models", func(w http.ResponseWriter, r *http.Request) {
		assert.Empty(t, r.URL.RawQuery)
		assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
		serveFixture(t, w, http.StatusOK, "models/list.json")
	})
	page, err := client.Models.List(t.Context(), nil)
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
	assert.Equal(t, Model{
		ID: "ultimate", Type: "model", DisplayName: "Ultimate", Source: "system", IsEnabled: true,
		PriceFactor:             1.6,
		Efforts:                 []ModelEffort{EffortLow, EffortMedium, EffortHigh, EffortXHigh, EffortMax},
		DefaultEffort:           EffortHigh,
		MaxInputTokens:          1000000,
		DefaultContextWindow:    200000,
		AvailableContextWindows: []int{200000, 400000, 1000000},
	}, withoutRaw(page.Data[0]))
	auto := page.Data[1]
	assert.Equal(t, "auto", auto.ID)
	assert.True(t, auto.IsNew)
	assert.Empty(t, auto.Efforts)
	assert.Zero(t, auto.PriceFactor)
	assert.False(t, page.HasMore)
	assert.Empty(t, page.FirstID)
}

func TestModelsService_List_params(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/models", func(w http.ResponseWriter, r *http.Request) {
		resAssertQuery(t, r, url.Values{"limit": {"100"}, "after_id": {"auto"}})
		serveJSON(t, w, http.StatusOK, `{"data":[],"has_more":false}`)
	})
	page, err := client.Models.List(t.Context(), &ModelListParams{Limit: 100, AfterID: "auto"})
	require.NoError(t, err)
	assert.Empty(t, page.Data)
}

func TestModelsService_All(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("GET /api-test/models", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			resAssertQuery(t, r, url.Values{"limit": {"1"}})
			serveJSON(t, w, http.StatusOK, `{"data":[{"id":"max"}],"first_id":"max","last_id":"max","has_more":true}`)
			return
		}
		resAssertQuery(t, r, url.Values{"limit": {"1"}, "after_id": {"max"}})
		serveFixture(t, w, http.StatusOK, "models/list.json")
	})
	models, err := resCollect(client.Models.All(t.Context(), &ModelListParams{Limit: 1}))
	require.NoError(t, err)
	assert.Equal(t, []string{"max", "ultimate", "auto"}, resIDs(models, func(m Model) string { return m.ID }))
}

func TestModelEffort_JSON(t *testing.T) {
	t.Parallel()
	for wire, want := range map[string]ModelEffort{
		`"high"`:          EffortHigh,
		`{"type":"none"}`: EffortNone,
		`null`:            "",
	} {
		var e ModelEffort
		require.NoError(t, json.Unmarshal([]byte(wire), &e), wire)
		assert.Equal(t, want, e, wire)
	}
	var e ModelEffort
	assert.Error(t, json.Unmarshal([]byte(`3`), &e))
	assert.Error(t, json.Unmarshal([]byte(`{"type":3}`), &e))
	data, err := json.Marshal(EffortXHigh)
	require.NoError(t, err)
	assert.Equal(t, `"xhigh"`, string(data))
}

func TestModelsService_apiErrors(t *testing.T) {
	t.Parallel()
	resTestAPIErrors(t, []resAPIErrorCase{
		{"List", "GET /api-test/models", func(ctx context.Context, c *Client) error { _, err := c.Models.List(ctx, nil); return err }},
		{"All", "GET /api-test/models", func(ctx context.Context, c *Client) error { _, err := resCollect(c.Models.All(ctx, nil)); return err }},
	})
}
