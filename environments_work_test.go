package qoder

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testWorkID = "work_019f3be4fd2475d9a784bf2c739e1194"

// workJSON is a recorded work item.
const workJSON = `{"id":"work_019f3be4fd2475d9a784bf2c739e1194","type":"work","environment_id":"env_1",
	"data":{"type":"session","id":"sess_1"},"state":"active","secret":"s3cret","future_field":{"x":1},
	"created_at":"2026-07-01T08:15:01Z","acknowledged_at":"2026-07-01T08:15:04Z","started_at":"2026-07-01T08:15:06Z",
	"latest_heartbeat_at":"2026-07-01T08:16:06.120394Z","stop_requested_at":null,"stopped_at":null,"metadata":{"job":"daily-report"}}`

func TestEnvironmentWorkService_Poll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		params   *WorkPollParams
		query    url.Values
		workerID string
		status   int
		body     string
		wantID   string
	}{
		{"an item", &WorkPollParams{BlockMS: 500, ReclaimOlderThanMS: 10000, WorkerID: "w-1"},
			url.Values{"block_ms": {"500"}, "reclaim_older_than_ms": {"10000"}}, "w-1", http.StatusOK, workJSON, testWorkID},
		{"empty queue: null", nil, url.Values{}, "", http.StatusOK, `null`, ""},
		{"empty queue: no content", nil, url.Values{}, "", http.StatusNoContent, ``, ""},
		{"empty queue: empty 200", &WorkPollParams{BlockMS: 999}, url.Values{"block_ms": {"999"}}, "", http.StatusOK, ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("GET /api-test/environments/env_1/work/poll", func(w http.ResponseWriter, r *http.Request) {
				resAssertQuery(t, r, tt.query)
				assert.Equal(t, tt.workerID, r.Header.Get("Worker-ID"))
				if tt.status == http.StatusNoContent {
					w.WriteHeader(http.StatusNoContent)
					return
				}
				serveJSON(t, w, tt.status, tt.body)
			})
			work, err := client.Environments.Work.Poll(t.Context(), "env_1", tt.params)
			require.NoError(t, err)
			if tt.wantID == "" {
				assert.Nil(t, work)
				return
			}
			require.NotNil(t, work)
			assert.Equal(t, tt.wantID, work.ID)
		})
	}
}

func TestEnvironmentWorkService_Get_decodesEveryField(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/environments/env_1/work/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testWorkID, r.PathValue("id"))
		serveJSON(t, w, http.StatusOK, workJSON)
	})
	work, err := client.Environments.Work.Get(t.Context(), "env_1", testWorkID)
	require.NoError(t, err)
	assert.Equal(t, WorkData{Type: "session", ID: "sess_1"}, work.Data)
	assert.Equal(t, WorkActive, work.State)
	assert.Equal(t, "s3cret", work.Secret.Reveal())
	for _, printed := range []string{fmt.Sprint(work), fmt.Sprintf("%+v", work), fmt.Sprintf("%#v", *work), fmt.Sprint(work.Secret)} {
		assert.NotContains(t, printed, "s3cret", "a printed work item hides its secret")
	}
	assert.Equal(t, map[string]string{"job": "daily-report"}, work.Metadata)
	assert.Equal(t, time.Date(2026, 7, 1, 8, 16, 6, 120394000, time.UTC), work.LatestHeartbeatAt)
	assert.True(t, work.StopRequestedAt.IsZero())
	assert.Contains(t, string(work.Raw()), `"future_field":{"x":1}`, "the raw JSON is kept")
}

func TestEnvironmentWorkService_writes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		route string
		body  string // "" means no body
		call  func(context.Context, *Client) (*Work, error)
	}{
		{"Ack", "POST /api-test/environments/env_1/work/work_1/ack", "", func(ctx context.Context, c *Client) (*Work, error) {
			return c.Environments.Work.Ack(ctx, "env_1", "work_1")
		}},
		{"Stop", "POST /api-test/environments/env_1/work/work_1/stop", `{"force":false}`, func(ctx context.Context, c *Client) (*Work, error) {
			return c.Environments.Work.Stop(ctx, "env_1", "work_1", nil)
		}},
		{"Stop forced", "POST /api-test/environments/env_1/work/work_1/stop", `{"force":true}`, func(ctx context.Context, c *Client) (*Work, error) {
			return c.Environments.Work.Stop(ctx, "env_1", "work_1", &WorkStopParams{Force: true})
		}},
		{"Update", "POST /api-test/environments/env_1/work/work_1", `{"metadata":{"worker":"byoc-worker-01","old":null}}`,
			func(ctx context.Context, c *Client) (*Work, error) {
				return c.Environments.Work.Update(ctx, "env_1", "work_1", &WorkUpdateParams{Metadata: map[string]*string{"worker": Ptr("byoc-worker-01"), "old": nil}})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc(tt.route, func(w http.ResponseWriter, r *http.Request) {
				if tt.body == "" {
					assert.Zero(t, r.ContentLength)
				} else {
					assertJSONBody(t, r, tt.body)
				}
				serveJSON(t, w, http.StatusOK, workJSON)
			})
			work, err := tt.call(t.Context(), client)
			require.NoError(t, err)
			assert.Equal(t, testWorkID, work.ID)
		})
	}
}

func TestEnvironmentWorkService_Heartbeat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		params   *WorkHeartbeatParams
		query    url.Values
		status   int
		body     string
		leaseErr bool
		conflict bool
	}{
		{"extended", &WorkHeartbeatParams{DesiredTTLSeconds: 60, ExpectedLastHeartbeat: time.Date(2026, 7, 1, 8, 15, 6, 120394000, time.UTC)},
			url.Values{"desired_ttl_seconds": {"60"}, "expected_last_heartbeat": {"2026-07-01T08:15:06.120394Z"}}, http.StatusOK,
			`{"type":"work_heartbeat","last_heartbeat":"2026-07-01T08:15:06.120394Z","lease_extended":true,"state":"active","ttl_seconds":60}`, false, false},
		{"not extended", nil, url.Values{}, http.StatusOK,
			`{"type":"work_heartbeat","last_heartbeat":"2026-07-01T08:15:06Z","lease_extended":false,"state":"active","ttl_seconds":0}`, true, false},
		{"stale expectation: 409", &WorkHeartbeatParams{ExpectedLastHeartbeat: time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)},
			url.Values{"expected_last_heartbeat": {"2026-07-01T08:00:00Z"}}, http.StatusConflict,
			`{"type":"error","error":{"type":"conflict_error","message":"heartbeat mismatch"}}`, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/environments/env_1/work/work_1/heartbeat", func(w http.ResponseWriter, r *http.Request) {
				resAssertQuery(t, r, tt.query)
				serveJSON(t, w, tt.status, tt.body)
			})
			hb, err := client.Environments.Work.Heartbeat(t.Context(), "env_1", "work_1", tt.params)
			if !tt.leaseErr {
				require.NoError(t, err)
				assert.Equal(t, WorkHeartbeat{Type: "work_heartbeat", LastHeartbeat: time.Date(2026, 7, 1, 8, 15, 6, 120394000, time.UTC),
					LeaseExtended: true, State: WorkActive, TTLSeconds: 60}, withoutRaw(*hb))
				return
			}
			assert.ErrorIs(t, err, ErrWorkLeaseLost)
			assert.Equal(t, tt.conflict, err != nil && isConflict(err))
			assert.Equal(t, tt.conflict, hb == nil)
		})
	}
}

// isConflict reports whether err matches ErrConflict.
func isConflict(err error) bool { return errors.Is(err, ErrConflict) }

func TestEnvironmentWorkService_List_All_Stats(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("GET /api-test/environments/env_1/work", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			resAssertQuery(t, r, url.Values{"limit": {"1"}})
			serveJSON(t, w, http.StatusOK, `{"data":[`+workJSON+`],"first_id":"work_a","last_id":"work_a","has_more":true,"next_page":"p2"}`)
			return
		}
		resAssertQuery(t, r, url.Values{"limit": {"1"}, "page": {"p2"}})
		serveJSON(t, w, http.StatusOK, `{"data":[{"id":"work_b","state":"queued"}],"has_more":false,"next_page":null}`)
	})
	mux.HandleFunc("GET /api-test/environments/env_1/work/stats", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"type":"work_queue_stats","depth":3,"pending":1,"oldest_queued_at":"2026-07-01T08:15:01Z","workers_polling":2}`)
	})
	items, err := resCollect(client.Environments.Work.All(t.Context(), "env_1", &WorkListParams{Limit: 1}))
	require.NoError(t, err)
	assert.Equal(t, []string{testWorkID, "work_b"}, resIDs(items, func(w Work) string { return w.ID }))
	stats, err := client.Environments.Work.Stats(t.Context(), "env_1")
	require.NoError(t, err)
	assert.Equal(t, WorkStats{Type: "work_queue_stats", Depth: 3, Pending: 1, OldestQueuedAt: time.Date(2026, 7, 1, 8, 15, 1, 0, time.UTC), WorkersPolling: 2}, withoutRaw(*stats))
}

func TestEnvironmentWorkService_emptyIDs(t *testing.T) {
	t.Parallel()
	resTestEmptyIDs(t, []resEmptyIDCase{
		{"Poll", "environment_id", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Work.Poll(ctx, "", nil)
			return err
		}},
		{"Ack", "work_id", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Work.Ack(ctx, "env_1", "")
			return err
		}},
		{"Heartbeat", "environment_id", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Work.Heartbeat(ctx, "", "work_1", nil)
			return err
		}},
		{"Stop", "work_id", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Work.Stop(ctx, "env_1", "", nil)
			return err
		}},
		{"Get", "work_id", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Work.Get(ctx, "env_1", "")
			return err
		}},
		{"List", "environment_id", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Work.List(ctx, "", nil)
			return err
		}},
		{"Stats", "environment_id", func(ctx context.Context, c *Client) error { _, err := c.Environments.Work.Stats(ctx, ""); return err }},
	})
}

func TestEnvironmentWorkService_apiErrors(t *testing.T) {
	t.Parallel()
	resTestAPIErrors(t, []resAPIErrorCase{
		{"Poll", "GET /api-test/environments/{env}/work/poll", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Work.Poll(ctx, "env_x", nil)
			return err
		}},
		{"Ack", "POST /api-test/environments/{env}/work/{id}/ack", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Work.Ack(ctx, "env_x", "work_x")
			return err
		}},
		{"Stats", "GET /api-test/environments/{env}/work/stats", func(ctx context.Context, c *Client) error {
			_, err := c.Environments.Work.Stats(ctx, "env_x")
			return err
		}},
	})
}
