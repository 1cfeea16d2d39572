package qoder_test

// The worker driven against the in-process fake's work queue: real
// claims, acks, heartbeats, leases and stops. The fake's clock is pinned,
// so leases lapse only when a test moves it on (Server.Advance); waits
// watch the fake's state and never sleep for a fixed time. The tests are
// not parallel: each counts the goroutines left after Run returns.

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/internal/leakcheck"
	"github.com/qoder-go/qoder/qodertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// workerEnv is a fake with a self-hosted environment, a client with a
// transport of its own (so idle connections can be closed for goroutine
// counts) and a log the worker writes to.
type workerEnv struct {
	srv    *qodertest.Server
	client *qoder.Client
	hc     *http.Client
	env    string
	log    syncLog
	base   int // goroutines before the worker ran
}

func newWorkerEnv(t *testing.T) *workerEnv {
	t.Helper()
	start := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	srv := qodertest.NewServer(t, qodertest.WithClock(func() time.Time { return start }))
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(hc.CloseIdleConnections)
	e := &workerEnv{srv: srv, hc: hc}
	e.client = srv.Client(qoder.WithHTTPClient(hc), qoder.WithMaxRetries(0), qoder.WithLogger(slog.New(slog.NewTextHandler(&e.log, nil))))
	env, err := e.client.Environments.Create(t.Context(), &qoder.EnvironmentCreateParams{
		Name: "workers", Config: qoder.EnvironmentConfig{Type: qoder.EnvironmentConfigSelfHosted},
	})
	require.NoError(t, err)
	e.env = env.ID
	hc.CloseIdleConnections()
	e.base = runtime.NumGoroutine()
	return e
}

// worker returns a worker of the environment with quick heartbeats and
// short polls.
func (e *workerEnv) worker(h qoder.WorkHandler) *qoder.Worker {
	return &qoder.Worker{Client: e.client, EnvironmentID: e.env, Handler: h, ID: "worker-1",
		PollBlock: 20 * time.Millisecond, HeartbeatInterval: 5 * time.Millisecond}
}

// run runs w until the returned function is called; that function returns
// Run's error once Run has returned and checks that no goroutine is left.
func (e *workerEnv) run(t *testing.T, w *qoder.Worker) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() error {
		t.Helper()
		cancel()
		var err error
		select {
		case err = <-done:
		case <-time.After(fakeWait):
			t.Fatal("Run did not return")
		}
		leakcheck.Wait(t, e.base, e.hc.CloseIdleConnections)
		return err
	}
}

// waitState waits until work item id is in state.
func (e *workerEnv) waitState(t *testing.T, id, state string) qodertest.WorkItemState {
	t.Helper()
	var st qodertest.WorkItemState
	require.Eventually(t, func() bool {
		st, _ = e.srv.WorkItem(id)
		return st.State == state
	}, fakeWait, time.Millisecond, "work %s never became %s (last %+v)", id, state, st)
	return st
}

// syncLog is a log any goroutine may write to.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// causeOf is a handler that reports each item it gets on started, waits
// for its ctx to end, reports the cause on causes, and returns once
// release is closed.
func causeOf(started chan<- string, causes chan<- error, release <-chan struct{}) qoder.WorkHandler {
	return func(ctx context.Context, work *qoder.Work) error {
		started <- work.ID
		<-ctx.Done()
		causes <- context.Cause(ctx)
		<-release
		return ctx.Err()
	}
}

// closed is a channel that is closed.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func TestWorkerFake_handlesQueuedItems(t *testing.T) {
	e := newWorkerEnv(t)
	var ids []string
	for _, s := range []string{"sess_1", "sess_2", "sess_3"} {
		ids = append(ids, e.srv.EnqueueWork(e.env, qodertest.WorkItem{ID: s}))
	}
	handled := make(chan *qoder.Work, 3)
	w := e.worker(func(ctx context.Context, work *qoder.Work) error {
		handled <- work
		return nil
	})
	w.Concurrency = 2
	stop := e.run(t, w)
	got := map[string]string{}
	for range ids {
		select {
		case work := <-handled:
			got[work.ID] = work.Data.ID
		case <-time.After(fakeWait):
			t.Fatal("not every item was handled")
		}
	}
	assert.Equal(t, map[string]string{ids[0]: "sess_1", ids[1]: "sess_2", ids[2]: "sess_3"}, got)
	for _, id := range ids {
		st := e.waitState(t, id, "stopping") // the worker stops each item it finished
		assert.Equal(t, "worker-1", st.ClaimedBy, "claimed with the Worker-ID header")
	}
	require.NoError(t, stop())
	e.srv.Advance(2 * time.Minute) // the worker no longer heartbeats: the items stop
	for _, id := range ids {
		st, _ := e.srv.WorkItem(id)
		assert.Equal(t, "stopped", st.State)
	}
	assert.Contains(t, e.log.String(), "qoder: worker finished item")
}

func TestWorkerFake_leaseLostMidItem(t *testing.T) {
	e := newWorkerEnv(t)
	id := e.srv.EnqueueWork(e.env, qodertest.WorkItem{ID: "sess_1"})
	started, causes, release := make(chan string, 1), make(chan error, 1), make(chan struct{})
	stop := e.run(t, e.worker(causeOf(started, causes, release)))
	<-started
	e.waitState(t, id, "active") // heartbeats flow

	e.srv.Advance(2 * time.Minute) // the lease lapses: the item is queued again
	select {
	case cause := <-causes:
		assert.ErrorIs(t, cause, qoder.ErrWorkLeaseLost, "the next heartbeat finds the lease lost")
	case <-time.After(fakeWait):
		t.Fatal("the handler's ctx was not cancelled")
	}
	// Another worker takes the item over while the handler winds down
	// (with one slot, the worker does not poll meanwhile).
	work := e.client.Environments.Work
	taken, err := work.Poll(t.Context(), e.env, &qoder.WorkPollParams{WorkerID: "thief"})
	require.NoError(t, err)
	require.NotNil(t, taken)
	_, err = work.Ack(t.Context(), e.env, id)
	require.NoError(t, err)
	close(release)
	require.NoError(t, stop())
	st, _ := e.srv.WorkItem(id)
	assert.Equal(t, "starting", st.State, "the worker left the item alone")
	assert.Equal(t, "thief", st.ClaimedBy)
	assert.False(t, st.StopRequested, "an item whose lease is lost is not stopped")
	assert.Contains(t, e.log.String(), "qoder: worker lost the item's lease; not stopping it")
}

func TestWorkerFake_serverStopsTheItem(t *testing.T) {
	for _, tc := range []struct {
		name      string
		force     bool
		wantState qoder.WorkState
		wantLog   string
	}{
		{"graceful", false, qoder.WorkStopping, "qoder: worker finished item"},
		{"forced", true, qoder.WorkStopped, "qoder: worker finished item the server had stopped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newWorkerEnv(t)
			id := e.srv.EnqueueWork(e.env, qodertest.WorkItem{ID: "sess_1"})
			started, causes := make(chan string, 1), make(chan error, 1)
			stop := e.run(t, e.worker(causeOf(started, causes, closed)))
			<-started
			e.waitState(t, id, "active")

			w, err := e.client.Environments.Work.Stop(t.Context(), e.env, id, &qoder.WorkStopParams{Force: tc.force})
			require.NoError(t, err)
			assert.Equal(t, tc.wantState, w.State)
			select {
			case cause := <-causes:
				assert.ErrorIs(t, cause, qoder.ErrWorkStopRequested)
				assert.NotErrorIs(t, cause, qoder.ErrWorkLeaseLost, "a stop is not a lost lease")
			case <-time.After(fakeWait):
				t.Fatal("the handler's ctx was not cancelled")
			}
			e.waitState(t, id, "stopped") // the worker's own stop ends a graceful one
			require.NoError(t, stop())
			log := e.log.String()
			assert.Contains(t, log, tc.wantLog)
			assert.Contains(t, log, `error="context canceled"`, "the handler's error is logged")
			assert.NotContains(t, log, "lost the item's lease")
			assert.NotContains(t, log, "could not stop")
		})
	}
}

func TestWorkerFake_pollErrors(t *testing.T) {
	e := newWorkerEnv(t)
	id := e.srv.EnqueueWork(e.env, qodertest.WorkItem{ID: "sess_1"})
	e.srv.FailRequests(qodertest.Failure{Method: "GET", Path: "environments/*/work/poll", Status: http.StatusServiceUnavailable})
	handled := make(chan string, 1)
	w := e.worker(func(ctx context.Context, work *qoder.Work) error {
		handled <- work.ID
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- w.Run(t.Context()) }()
	select {
	case got := <-handled:
		assert.Equal(t, id, got, "the worker backs off after a 503 and polls again")
	case <-time.After(fakeWait):
		t.Fatal("the item was not handled")
	}
	e.srv.FailRequests(qodertest.Failure{Method: "GET", Path: "environments/*/work/poll", Status: http.StatusUnauthorized})
	var err error
	select {
	case err = <-done:
	case <-time.After(fakeWait):
		t.Fatal("a 401 did not end Run")
	}
	var apiErr *qoder.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	log := e.log.String()
	assert.Contains(t, log, "qoder: worker poll failed; retrying")
	assert.Contains(t, log, "qoder: worker poll failed; stopping")
	leakcheck.Wait(t, e.base, e.hc.CloseIdleConnections)
}

func TestWorkerFake_shutdownWithItemsInFlight(t *testing.T) {
	e := newWorkerEnv(t)
	ids := []string{e.srv.EnqueueWork(e.env, qodertest.WorkItem{ID: "sess_1"}), e.srv.EnqueueWork(e.env, qodertest.WorkItem{ID: "sess_2"})}
	started, causes := make(chan string, 2), make(chan error, 2)
	w := e.worker(causeOf(started, causes, closed))
	w.Concurrency = 2
	stop := e.run(t, w)
	for range ids {
		<-started
	}
	require.NoError(t, stop(), "a shutdown returns nil once every item is stopped")
	for range ids {
		assert.ErrorIs(t, <-causes, qoder.ErrWorkerShutdown)
	}
	for _, id := range ids {
		st, _ := e.srv.WorkItem(id)
		assert.True(t, st.StopRequested, "%s was stopped before Run returned", id)
	}
}
