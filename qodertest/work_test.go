package qodertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newQueue starts a fake whose clock stands at start (real time when zero)
// and returns it, its work queue service (a client without retries) and a
// self-hosted environment.
func newQueue(t *testing.T, start time.Time) (*Server, *qoder.EnvironmentWorkService, string) {
	t.Helper()
	var opts []Option
	if !start.IsZero() {
		opts = append(opts, WithClock(func() time.Time { return start }))
	}
	srv := NewServer(t, opts...)
	client := srv.Client(qoder.WithMaxRetries(0))
	return srv, client.Environments.Work, selfHostedEnv(t, client)
}

// selfHostedEnv creates a self-hosted environment through the API.
func selfHostedEnv(t *testing.T, client *qoder.Client) string {
	t.Helper()
	env, err := client.Environments.Create(t.Context(), &qoder.EnvironmentCreateParams{
		Name: "workers", Config: qoder.EnvironmentConfig{Type: qoder.EnvironmentConfigSelfHosted},
	})
	require.NoError(t, err)
	return env.ID
}

func TestWorkQueueClaimAckHeartbeatStop(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 7, 1, 8, 15, 1, 0, time.UTC)
	srv, work, env := newQueue(t, start)
	ctx := t.Context()
	first := srv.EnqueueWork(env, WorkItem{ID: "sess_1", Metadata: map[string]string{"job": "daily-report"}})
	second := srv.EnqueueWork(env, WorkItem{Type: "healthcheck", ID: "hc_1"})

	claimed, err := work.Poll(ctx, env, &qoder.WorkPollParams{WorkerID: "worker-1"})
	require.NoError(t, err)
	require.NotNil(t, claimed)
	assert.Equal(t, first, claimed.ID, "oldest first")
	assert.Equal(t, qoder.WorkData{Type: "session", ID: "sess_1"}, claimed.Data)
	assert.Equal(t, qoder.WorkQueued, claimed.State)
	st, _ := srv.WorkItem(first)
	assert.Equal(t, "worker-1", st.ClaimedBy, "the Worker-ID header names the claimant")

	stats, err := work.Stats(ctx, env)
	require.NoError(t, err)
	assert.Equal(t, qoder.WorkStats{Type: "work_queue_stats", Depth: 2, Pending: 1, OldestQueuedAt: start, WorkersPolling: 1}, withoutRaw(t, *stats))

	srv.Advance(3 * time.Second)
	acked, err := work.Ack(ctx, env, first)
	require.NoError(t, err)
	assert.Equal(t, qoder.WorkStarting, acked.State)
	assert.Equal(t, start.Add(3*time.Second), acked.AcknowledgedAt)
	_, err = work.Ack(ctx, env, first)
	assert.ErrorIs(t, err, qoder.ErrConflict, "acknowledged twice")
	_, err = work.Ack(ctx, env, second)
	assert.ErrorIs(t, err, qoder.ErrConflict, "not claimed")

	srv.Advance(2 * time.Second)
	hb, err := work.Heartbeat(ctx, env, first, &qoder.WorkHeartbeatParams{DesiredTTLSeconds: 90})
	require.NoError(t, err)
	assert.Equal(t, qoder.WorkHeartbeat{Type: "work_heartbeat", LastHeartbeat: start.Add(5 * time.Second), LeaseExtended: true,
		State: qoder.WorkActive, TTLSeconds: 90}, withoutRaw(t, *hb))
	st, _ = srv.WorkItem(first)
	assert.Equal(t, start.Add(95*time.Second), st.LeaseExpiresAt)

	srv.Advance(time.Second)
	_, err = work.Heartbeat(ctx, env, first, &qoder.WorkHeartbeatParams{ExpectedLastHeartbeat: start})
	assert.ErrorIs(t, err, qoder.ErrWorkLeaseLost, "a stale expected_last_heartbeat")
	assert.ErrorIs(t, err, qoder.ErrConflict)
	hb, err = work.Heartbeat(ctx, env, first, &qoder.WorkHeartbeatParams{ExpectedLastHeartbeat: hb.LastHeartbeat})
	require.NoError(t, err)
	assert.Equal(t, start.Add(6*time.Second), hb.LastHeartbeat)

	up, err := work.Update(ctx, env, first, &qoder.WorkUpdateParams{Metadata: map[string]*string{"job": nil, "worker": qoder.Ptr("w1")}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"worker": "w1"}, up.Metadata)
	got, err := work.Get(ctx, env, first)
	require.NoError(t, err)
	assert.Equal(t, qoder.WorkActive, got.State)
	assert.Equal(t, start.Add(5*time.Second), got.StartedAt)
	var listed []string
	for w, err := range work.All(ctx, env, &qoder.WorkListParams{Limit: 1}) {
		require.NoError(t, err)
		listed = append(listed, w.ID)
	}
	assert.Equal(t, []string{first, second}, listed, "queue order")

	stopping, err := work.Stop(ctx, env, first, nil)
	require.NoError(t, err)
	assert.Equal(t, qoder.WorkStopping, stopping.State, "a graceful stop")
	assert.False(t, stopping.StopRequestedAt.IsZero())
	hb, err = work.Heartbeat(ctx, env, first, nil)
	require.NoError(t, err)
	assert.Equal(t, qoder.WorkStopping, hb.State, "the holder learns of the stop")
	stopped, err := work.Stop(ctx, env, first, nil)
	require.NoError(t, err)
	assert.Equal(t, qoder.WorkStopped, stopped.State, "stopping a stopping item stops it")
	hb, err = work.Heartbeat(ctx, env, first, nil)
	assert.ErrorIs(t, err, qoder.ErrWorkLeaseLost)
	assert.False(t, hb.LeaseExtended)
	again, err := work.Stop(ctx, env, first, &qoder.WorkStopParams{Force: true})
	require.NoError(t, err)
	assert.Equal(t, stopped.StoppedAt, again.StoppedAt, "stopping a stopped item changes nothing")

	queued, err := work.Stop(ctx, env, second, nil)
	require.NoError(t, err)
	assert.Equal(t, qoder.WorkStopped, queued.State, "a queued item stops at once")
	empty, err := work.Poll(ctx, env, nil)
	require.NoError(t, err)
	assert.Nil(t, empty, "an empty queue is nil, nil")
	stats, err = work.Stats(ctx, env)
	require.NoError(t, err)
	assert.Equal(t, 0, stats.Depth)
	assert.True(t, stats.OldestQueuedAt.IsZero())
}

func TestWorkQueueForceStop(t *testing.T) {
	t.Parallel()
	srv, work, env := newQueue(t, time.Time{})
	ctx := t.Context()
	id := srv.EnqueueWork(env, WorkItem{ID: "sess_1"})
	_, err := work.Poll(ctx, env, nil)
	require.NoError(t, err)
	_, err = work.Ack(ctx, env, id)
	require.NoError(t, err)
	w, err := work.Stop(ctx, env, id, &qoder.WorkStopParams{Force: true})
	require.NoError(t, err)
	assert.Equal(t, qoder.WorkStopped, w.State, "force stops at once")
	assert.False(t, w.StoppedAt.IsZero())
}

func TestWorkQueueLongPollWakesOnEnqueue(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	client := srv.Client(qoder.WithMaxRetries(0))
	env := selfHostedEnv(t, client)
	type result struct {
		w   *qoder.Work
		err error
	}
	polled := make(chan result, 1)
	go func() {
		w, err := client.Environments.Work.Poll(t.Context(), env, &qoder.WorkPollParams{BlockMS: 999, WorkerID: "w"})
		polled <- result{w, err}
	}()
	// Enqueue once the poll waits, so that only a wake can deliver the item
	// (otherwise the poll answers null after 999 ms).
	require.Eventually(t, func() bool {
		stats, err := client.Environments.Work.Stats(t.Context(), env)
		return err == nil && stats.WorkersPolling == 1
	}, wait, time.Millisecond)
	id := srv.EnqueueWork(env, WorkItem{ID: "sess_1"})
	select {
	case r := <-polled:
		require.NoError(t, r.err)
		require.NotNil(t, r.w, "the waiting poll is woken by the enqueue")
		assert.Equal(t, id, r.w.ID)
	case <-time.After(wait):
		t.Fatal("the poll did not return")
	}

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		w, err := client.Environments.Work.Poll(ctx, env, &qoder.WorkPollParams{BlockMS: 999})
		polled <- result{w, err}
	}()
	cancel()
	r := <-polled
	assert.True(t, errors.Is(r.err, context.Canceled), "got %v", r.err)
}

func TestWorkQueueReclaimsUnacknowledgedClaims(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	srv, work, env := newQueue(t, start)
	ctx := t.Context()
	id := srv.EnqueueWork(env, WorkItem{ID: "sess_1"})

	w, err := work.Poll(ctx, env, &qoder.WorkPollParams{WorkerID: "a"})
	require.NoError(t, err)
	require.NotNil(t, w)
	w, err = work.Poll(ctx, env, &qoder.WorkPollParams{WorkerID: "b"})
	require.NoError(t, err)
	assert.Nil(t, w, "a fresh claim is not reclaimed")
	srv.Advance(2 * time.Second)
	w, err = work.Poll(ctx, env, &qoder.WorkPollParams{WorkerID: "b"})
	require.NoError(t, err)
	assert.Nil(t, w, "2 s < the default 5 s")
	w, err = work.Poll(ctx, env, &qoder.WorkPollParams{WorkerID: "b", ReclaimOlderThanMS: 1500})
	require.NoError(t, err)
	require.NotNil(t, w, "older than reclaim_older_than_ms")
	st, _ := srv.WorkItem(id)
	assert.Equal(t, "b", st.ClaimedBy)
	srv.Advance(5 * time.Second)
	w, err = work.Poll(ctx, env, &qoder.WorkPollParams{WorkerID: "c"})
	require.NoError(t, err)
	require.NotNil(t, w, "the default reclaim after 5 s")
	_, err = work.Ack(ctx, env, id)
	require.NoError(t, err)
	srv.Advance(time.Hour)
	w, err = work.Poll(ctx, env, &qoder.WorkPollParams{WorkerID: "d", ReclaimOlderThanMS: 1})
	require.NoError(t, err)
	require.NotNil(t, w, "once its lease lapsed, an acknowledged item is queued again")
	assert.Equal(t, qoder.WorkQueued, w.State)
	assert.True(t, w.AcknowledgedAt.IsZero())
}

func TestWorkQueueLeasesExpire(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	srv, work, env := newQueue(t, start)
	ctx := t.Context()
	holder := func() (string, *qoder.WorkHeartbeat) {
		id := srv.EnqueueWork(env, WorkItem{ID: "sess_1"})
		_, err := work.Poll(ctx, env, &qoder.WorkPollParams{WorkerID: "a"})
		require.NoError(t, err)
		_, err = work.Ack(ctx, env, id)
		require.NoError(t, err)
		hb, err := work.Heartbeat(ctx, env, id, &qoder.WorkHeartbeatParams{DesiredTTLSeconds: 30})
		require.NoError(t, err)
		return id, hb
	}

	id, hb := holder()
	srv.Advance(29 * time.Second)
	st, _ := srv.WorkItem(id)
	assert.Equal(t, "active", st.State, "within the lease")
	srv.Advance(2 * time.Second)
	st, _ = srv.WorkItem(id)
	assert.Equal(t, WorkItemState{ID: id, EnvironmentID: env, State: "queued", Metadata: map[string]string{}}, st, "requeued, unclaimed")
	_, err := work.Heartbeat(ctx, env, id, &qoder.WorkHeartbeatParams{ExpectedLastHeartbeat: hb.LastHeartbeat})
	assert.ErrorIs(t, err, qoder.ErrWorkLeaseLost, "the old holder's next heartbeat: 409")
	lost, err := work.Heartbeat(ctx, env, id, nil)
	assert.ErrorIs(t, err, qoder.ErrWorkLeaseLost, "without expected_last_heartbeat: not extended")
	assert.Equal(t, qoder.WorkQueued, lost.State)
	w, err := work.Poll(ctx, env, &qoder.WorkPollParams{WorkerID: "b"})
	require.NoError(t, err)
	require.NotNil(t, w)
	assert.Equal(t, id, w.ID, "another worker takes it")

	id2, _ := holder()
	_, err = work.Stop(ctx, env, id2, nil)
	require.NoError(t, err)
	srv.Advance(31 * time.Second)
	got, err := work.Get(ctx, env, id2)
	require.NoError(t, err)
	assert.Equal(t, qoder.WorkStopped, got.State, "a stopping item whose holder went quiet is stopped")
}

func TestWorkQueueValidation(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	env := selfHostedEnv(t, a.srv.Client())
	cloud := a.srv.SeedEnvironment("cloud")
	id := a.srv.EnqueueWork(env, WorkItem{ID: "sess_1"})
	tests := []struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		{"GET", "environments/" + cloud + "/work/poll", nil, 400, "not self-hosted"},
		{"GET", "environments/env_missing/work/poll", nil, 404, "Environment 'env_missing' was not found."},
		{"GET", "environments/" + env + "/work/poll?block_ms=1000", nil, 400, "block_ms must be an integer between 0 and 999"},
		{"GET", "environments/" + env + "/work/poll?reclaim_older_than_ms=-1", nil, 400, "reclaim_older_than_ms"},
		{"POST", "environments/" + env + "/work/" + id + "/heartbeat?desired_ttl_seconds=0", nil, 400, "desired_ttl_seconds"},
		{"POST", "environments/" + env + "/work/" + id + "/heartbeat?expected_last_heartbeat=soon", nil, 400, "RFC 3339"},
		{"POST", "environments/" + env + "/work/" + id + "/stop", map[string]any{"force": "yes"}, 400, "must be a boolean"},
		{"POST", "environments/" + env + "/work/" + id, map[string]any{"state": "active"}, 400, "Unknown field 'state'."},
		{"GET", "environments/" + env + "/work/work_missing", nil, 404, "Work 'work_missing' was not found"},
		{"GET", "environments/" + cloud + "/work/" + id, nil, 400, "not self-hosted"},
	}
	for _, tt := range tests {
		r := a.req(tt.method, tt.path, tt.body)
		require.Equal(t, tt.status, r.status, "%s %s: %s", tt.method, tt.path, r.body)
		_, msg, _ := r.errorOf(t)
		assert.Contains(t, msg, tt.msg, tt.path)
	}
	assert.PanicsWithValue(t, `qodertest: EnqueueWork: "`+cloud+`" is not a self-hosted environment`, func() {
		a.srv.EnqueueWork(cloud, WorkItem{})
	})
}
