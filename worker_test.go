package qoder

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/qoder-go/qoder/internal/leakcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeQueue is a work queue served on a test client's mux: items a test
// enqueues are claimed by polls; heartbeats answer with heartbeat (a
// function the test sets); stops are reported on stopped.
type fakeQueue struct {
	t         *testing.T
	items     chan string
	stopped   chan string
	acked     chan string
	mu        sync.Mutex
	heartbeat func(r *http.Request) (int, string)
	pollErr   []int // statuses the next polls answer with, in order
	workerIDs []string
}

// newFakeQueue serves a queue for environment env_w on mux.
func newFakeQueue(t *testing.T, mux *http.ServeMux) *fakeQueue {
	q := &fakeQueue{t: t, items: make(chan string, 16), stopped: make(chan string, 16), acked: make(chan string, 16),
		heartbeat: func(*http.Request) (int, string) {
			return http.StatusOK, `{"type":"work_heartbeat","last_heartbeat":"2026-07-01T08:15:06.120394Z","lease_extended":true,"state":"active","ttl_seconds":60}`
		}}
	mux.HandleFunc("GET /api-test/environments/env_w/work/poll", func(w http.ResponseWriter, r *http.Request) {
		q.mu.Lock()
		q.workerIDs = append(q.workerIDs, r.Header.Get("Worker-ID"))
		var status int
		if len(q.pollErr) > 0 {
			status, q.pollErr = q.pollErr[0], q.pollErr[1:]
		}
		q.mu.Unlock()
		if status != 0 {
			serveJSON(t, w, status, `{"type":"error","error":{"type":"api_error","message":"poll failed"}}`)
			return
		}
		assert.Equal(t, "999", r.URL.Query().Get("block_ms"))
		timer := time.NewTimer(999 * time.Millisecond) // the server's long poll
		defer timer.Stop()
		select {
		case id := <-q.items:
			serveJSON(t, w, http.StatusOK, `{"id":"`+id+`","type":"work","environment_id":"env_w","state":"queued","data":{"type":"session","id":"sess_`+id+`"}}`)
		case <-timer.C:
			serveJSON(t, w, http.StatusOK, `null`)
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("POST /api-test/environments/env_w/work/{id}/ack", func(w http.ResponseWriter, r *http.Request) {
		q.acked <- r.PathValue("id")
		serveJSON(t, w, http.StatusOK, `{"id":"`+r.PathValue("id")+`","type":"work","state":"starting","latest_heartbeat_at":"2026-07-01T08:15:04Z"}`)
	})
	mux.HandleFunc("POST /api-test/environments/env_w/work/{id}/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		q.mu.Lock()
		hb := q.heartbeat
		q.mu.Unlock()
		status, body := hb(r)
		serveJSON(t, w, status, body)
	})
	mux.HandleFunc("POST /api-test/environments/env_w/work/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		assertJSONBody(t, r, `{"force":false}`)
		q.stopped <- r.PathValue("id")
		serveJSON(t, w, http.StatusOK, `{"id":"`+r.PathValue("id")+`","type":"work","state":"stopping"}`)
	})
	return q
}

// receiveWithin returns the next value of ch, failing the test if none
// comes within five seconds.
func receiveWithin[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		require.FailNow(t, "nothing received")
		panic("unreachable")
	}
}

// testWorker returns a worker on env_w whose heartbeat ticker is ticks.
func testWorker(c *Client, ticks chan time.Time, h WorkHandler) *Worker {
	return &Worker{Client: c, EnvironmentID: "env_w", Handler: h, ID: "worker-1",
		newTicker: func(time.Duration) (<-chan time.Time, func()) { return ticks, func() {} }}
}

// runWorker runs w in a goroutine; the returned function cancels it and
// returns Run's error.
func runWorker(t *testing.T, w *Worker) func() error {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() error {
		cancel()
		return receiveWithin(t, done)
	}
}

func TestWorker_handlesAndStopsItems(t *testing.T) {
	client, mux := newTestClient(t, WithMaxRetries(0))
	q := newFakeQueue(t, mux)
	base := runtime.NumGoroutine() // the test server's included
	handled := make(chan *Work, 2)
	w := testWorker(client, make(chan time.Time), func(ctx context.Context, work *Work) error {
		handled <- work
		if work.ID == "work_2" {
			return errors.New("handler failed")
		}
		return nil
	})
	w.Concurrency = 2
	stop := runWorker(t, w)
	q.items <- "work_1"
	q.items <- "work_2"
	got := map[string]bool{}
	for range 2 {
		work := receiveWithin(t, handled)
		got[work.ID] = true
		assert.Equal(t, WorkData{Type: "session", ID: "sess_" + work.ID}, work.Data)
		assert.Contains(t, string(work.Raw()), `"state":"queued"`)
	}
	assert.Equal(t, map[string]bool{"work_1": true, "work_2": true}, got)
	stoppedIDs := map[string]bool{receiveWithin(t, q.stopped): true, receiveWithin(t, q.stopped): true}
	assert.Equal(t, got, stoppedIDs, "every item is stopped, a failed one too")
	require.NoError(t, stop())
	q.mu.Lock()
	assert.Contains(t, q.workerIDs, "worker-1")
	q.mu.Unlock()
	leakcheck.Wait(t, base, client.httpClient.CloseIdleConnections)
}

func TestWorker_cancelsTheHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		heartbeat func(*http.Request) (int, string)
		cause     error
		stopped   bool
	}{
		{"lease not extended", func(*http.Request) (int, string) {
			return http.StatusOK, `{"type":"work_heartbeat","lease_extended":false,"state":"active"}`
		}, ErrWorkLeaseLost, false},
		{"stale heartbeat: 409", func(*http.Request) (int, string) {
			return http.StatusConflict, `{"type":"error","error":{"type":"conflict_error","message":"heartbeat mismatch"}}`
		}, ErrWorkLeaseLost, false},
		{"server stops the item", func(*http.Request) (int, string) {
			return http.StatusOK, `{"type":"work_heartbeat","last_heartbeat":"2026-07-01T08:16:00Z","lease_extended":true,"state":"stopping"}`
		}, ErrWorkStopRequested, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t, WithMaxRetries(0))
			q := newFakeQueue(t, mux)
			q.heartbeat = tt.heartbeat
			ticks := make(chan time.Time)
			causes := make(chan error, 1)
			w := testWorker(client, ticks, func(ctx context.Context, work *Work) error {
				<-ctx.Done()
				causes <- context.Cause(ctx)
				return ctx.Err()
			})
			stop := runWorker(t, w)
			q.items <- "work_1"
			receiveWithin(t, q.acked)
			ticks <- time.Now()
			assert.ErrorIs(t, receiveWithin(t, causes), tt.cause)
			if tt.stopped {
				assert.Equal(t, "work_1", receiveWithin(t, q.stopped))
			}
			require.NoError(t, stop())
			if !tt.stopped {
				assert.Empty(t, q.stopped, "an item whose lease is lost is not stopped")
			}
		})
	}
}

func TestWorker_heartbeatsWhileHandling(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t, WithMaxRetries(0))
	q := newFakeQueue(t, mux)
	expected := make(chan string, 4)
	q.heartbeat = func(r *http.Request) (int, string) {
		assert.Equal(t, "90", r.URL.Query().Get("desired_ttl_seconds"))
		expected <- r.URL.Query().Get("expected_last_heartbeat")
		return http.StatusOK, `{"type":"work_heartbeat","last_heartbeat":"2026-07-01T08:15:06.120394Z","lease_extended":true,"state":"active","ttl_seconds":90}`
	}
	ticks := make(chan time.Time)
	release := make(chan struct{})
	w := testWorker(client, ticks, func(ctx context.Context, work *Work) error {
		<-release
		return nil
	})
	w.LeaseTTL = 90 * time.Second
	stop := runWorker(t, w)
	q.items <- "work_1"
	receiveWithin(t, q.acked)
	ticks <- time.Now()
	assert.Equal(t, "2026-07-01T08:15:04Z", receiveWithin(t, expected), "the first heartbeat expects the ack's")
	ticks <- time.Now()
	assert.Equal(t, "2026-07-01T08:15:06.120394Z", receiveWithin(t, expected), "then the previous heartbeat's, to the microsecond")
	close(release)
	assert.Equal(t, "work_1", receiveWithin(t, q.stopped))
	require.NoError(t, stop())
}

func TestWorker_recoversFromPanics(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t, WithMaxRetries(0))
	q := newFakeQueue(t, mux)
	w := testWorker(client, make(chan time.Time), func(ctx context.Context, work *Work) error {
		if work.ID == "work_1" {
			panic("boom")
		}
		return nil
	})
	stop := runWorker(t, w)
	q.items <- "work_1"
	assert.Equal(t, "work_1", receiveWithin(t, q.stopped), "a panicking handler's item is stopped")
	q.items <- "work_2"
	assert.Equal(t, "work_2", receiveWithin(t, q.stopped), "the worker goes on")
	require.NoError(t, stop())
}

func TestWorker_pollErrors(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t, WithMaxRetries(0))
	q := newFakeQueue(t, mux)
	q.pollErr = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusUnauthorized}
	var delays []time.Duration
	w := testWorker(client, make(chan time.Time), func(context.Context, *Work) error { return nil })
	w.sleep = func(ctx context.Context, d time.Duration) error {
		delays = append(delays, d)
		return nil
	}
	err := w.Run(t.Context())
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr, "a 401 ends Run")
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.Equal(t, []time.Duration{500 * time.Millisecond, time.Second}, delays, "5xx polls back off")
}

func TestWorker_shutdownWithItemsInFlight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		timeout time.Duration
		finish  bool // the handler finishes by itself once shutdown starts
		cause   error
	}{
		{"cancelled at once", 0, false, ErrWorkerShutdown},
		{"finishes within the timeout", time.Hour, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t, WithMaxRetries(0))
			q := newFakeQueue(t, mux)
			started := make(chan struct{})
			shutdown := make(chan struct{})
			causes := make(chan error, 1)
			w := testWorker(client, make(chan time.Time), func(ctx context.Context, work *Work) error {
				close(started)
				if tt.finish {
					<-shutdown
				} else {
					<-ctx.Done()
				}
				causes <- context.Cause(ctx)
				return nil
			})
			w.ShutdownTimeout = tt.timeout
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			q.items <- "work_1"
			receiveWithin(t, started)
			cancel()
			close(shutdown)
			require.NoError(t, receiveWithin(t, done))
			assert.Equal(t, tt.cause, receiveWithin(t, causes))
			assert.Equal(t, "work_1", receiveWithin(t, q.stopped), "the item is stopped before Run returns")
		})
	}
}

func TestWorker_requiresFields(t *testing.T) {
	t.Parallel()
	client, _ := newTestClient(t)
	for i, w := range []*Worker{{}, {Client: client, EnvironmentID: "env_w"}, {Client: client, Handler: func(context.Context, *Work) error { return nil }}} {
		assert.EqualError(t, w.Run(t.Context()), "qoder: worker: Client, EnvironmentID and Handler are required", fmt.Sprint(i))
	}
}
