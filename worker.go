package qoder

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"
)

// WorkHandler does the work of one item for a [Worker]. Its ctx is
// cancelled when the item's lease is lost (cause [ErrWorkLeaseLost]), the
// server asks for a stop (cause [ErrWorkStopRequested]) or the worker
// shuts down (cause [ErrWorkerShutdown]): read context.Cause(ctx). The
// item is stopped when the handler returns, whatever it returns; a panic
// is recovered, logged, and stops the item too.
type WorkHandler func(ctx context.Context, work *Work) error

// Causes of a [WorkHandler]'s cancelled ctx besides [ErrWorkLeaseLost].
var (
	// ErrWorkStopRequested: a heartbeat showed the item stopping, or
	// stopped at once by a forced stop.
	ErrWorkStopRequested = errors.New("qoder: work item stop requested")
	// ErrWorkerShutdown: the worker's ctx ended and its ShutdownTimeout
	// passed.
	ErrWorkerShutdown = errors.New("qoder: worker shutting down")
)

// errWorkStoppedByServer is the cause when a heartbeat finds the item
// already stopped (a forced stop ends the lease with the item): the
// handler's ctx matches ErrWorkStopRequested, and the worker does not stop
// the item again.
var errWorkStoppedByServer = fmt.Errorf("%w: the server stopped the item", ErrWorkStopRequested)

// Worker runs a self-hosted environment's worker loop: it long-polls the
// queue, acknowledges each item it claims, keeps the item's lease alive
// with heartbeats in the background, runs Handler, and stops the item
// when Handler returns. At most Concurrency items run at once. Poll
// errors are retried with backoff; an authentication, permission or
// not-found error ends Run. Everything is logged through Logger (the
// client's logger by default) with the worker, environment and work ids.
//
// Set the exported fields, then call Run once.
type Worker struct {
	// Client is the client to use (required).
	Client *Client
	// EnvironmentID is the self-hosted environment to serve (required).
	EnvironmentID string
	// Handler does the work (required).
	Handler WorkHandler
	// ID is sent as Worker-ID; by default the host name, the process id
	// and a random suffix.
	ID string
	// Concurrency is how many items may run at once (default 1).
	Concurrency int
	// PollBlock is how long one poll may wait for an item (default and
	// most 999 ms).
	PollBlock time.Duration
	// ReclaimOlderThan lets polls claim items another worker claimed but
	// did not acknowledge for this long; 0 keeps the server's default.
	ReclaimOlderThan time.Duration
	// LeaseTTL is the lease length asked for on each heartbeat (default
	// 60 s); heartbeats come every HeartbeatInterval (default LeaseTTL/3).
	LeaseTTL          time.Duration
	HeartbeatInterval time.Duration
	// ShutdownTimeout is how long items in flight may go on after Run's
	// ctx ends before their ctx is cancelled; 0 cancels them at once.
	// Either way Run returns only after every item was stopped.
	ShutdownTimeout time.Duration
	// Logger receives the worker's log; nil means the client's logger
	// (and nothing when the client has none).
	Logger *slog.Logger

	// Test hooks: a ticker and a sleep that tests control.
	newTicker func(d time.Duration) (<-chan time.Time, func())
	sleep     func(ctx context.Context, d time.Duration) error
}

// Poll error backoff bounds.
const (
	workerBackoffMin = 500 * time.Millisecond
	workerBackoffMax = 30 * time.Second
	// workerStopTimeout bounds the Stop call after an item ends.
	workerStopTimeout = 30 * time.Second
)

// Run serves the queue until ctx ends, then stops polling and lets the
// items in flight finish (see ShutdownTimeout); it returns once every
// goroutine it started has ended. It returns nil after such a shutdown,
// or the error that ended it.
func (w *Worker) Run(ctx context.Context) error {
	if w.Client == nil || w.Handler == nil || w.EnvironmentID == "" {
		return errors.New("qoder: worker: Client, EnvironmentID and Handler are required")
	}
	cfg := w.withDefaults()
	slots := make(chan struct{}, cfg.Concurrency)
	handlerBase, cancelHandlers := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelHandlers(nil)
	var wg sync.WaitGroup
	var runErr error
	params := &WorkPollParams{
		BlockMS:            int(cfg.PollBlock / time.Millisecond),
		ReclaimOlderThanMS: int(cfg.ReclaimOlderThan / time.Millisecond),
		WorkerID:           cfg.ID,
	}
	cfg.Logger.InfoContext(ctx, "qoder: worker started", slog.Int("concurrency", cfg.Concurrency))
	for failures := 0; ; {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		work, err := cfg.Client.Environments.Work.Poll(ctx, cfg.EnvironmentID, params)
		if err != nil || work == nil {
			<-slots
		}
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			if isFatalPollError(err) {
				cfg.Logger.ErrorContext(ctx, "qoder: worker poll failed; stopping", slog.String("error", err.Error()))
				runErr = err
				break
			}
			failures++
			delay := min(workerBackoffMin<<min(failures-1, 10), workerBackoffMax)
			cfg.Logger.WarnContext(ctx, "qoder: worker poll failed; retrying", slog.String("error", err.Error()),
				slog.Int("failures", failures), slog.Duration("delay", delay))
			if cfg.sleep(ctx, delay) != nil {
				break
			}
			continue
		}
		failures = 0
		if work == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			cfg.process(handlerBase, work)
		}()
	}
	if cfg.ShutdownTimeout > 0 {
		t := time.AfterFunc(cfg.ShutdownTimeout, func() { cancelHandlers(ErrWorkerShutdown) })
		defer t.Stop()
	} else {
		cancelHandlers(ErrWorkerShutdown)
	}
	wg.Wait()
	cfg.Logger.InfoContext(ctx, "qoder: worker stopped")
	return runErr
}

// withDefaults returns a copy of w with its defaults filled in.
func (w *Worker) withDefaults() *Worker {
	cfg := *w
	if cfg.ID == "" {
		host, _ := os.Hostname()
		cfg.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), rand.Text()[:8])
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.PollBlock <= 0 || cfg.PollBlock > 999*time.Millisecond {
		cfg.PollBlock = 999 * time.Millisecond
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = time.Minute
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = cfg.LeaseTTL / 3
	}
	if cfg.Logger == nil {
		cfg.Logger = cfg.Client.logger
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With(slog.String("worker_id", cfg.ID), slog.String("environment_id", cfg.EnvironmentID))
	if cfg.newTicker == nil {
		cfg.newTicker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	if cfg.sleep == nil {
		cfg.sleep = sleepCtx
	}
	return &cfg
}

// isFatalPollError reports whether a poll error will not go away by
// itself: a bad token, no permission, or no such environment.
func isFatalPollError(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return true
	}
	return false
}

// process runs one claimed item: ack, heartbeats, the handler, stop.
func (w *Worker) process(base context.Context, work *Work) {
	log := w.Logger.With(slog.String("work_id", work.ID))
	api := context.WithoutCancel(base) // calls about the item outlive its ctx
	work2, err := w.Client.Environments.Work.Ack(api, w.EnvironmentID, work.ID)
	if err != nil {
		log.WarnContext(base, "qoder: worker could not acknowledge the item; it will be reclaimed", slog.String("error", err.Error()))
		return
	}
	work2.Data, work2.raw = work.Data, work.raw
	ctx, cancel := context.WithCancelCause(base)
	defer cancel(nil)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		w.heartbeat(ctx, cancel, work2, log)
	}()
	log.InfoContext(base, "qoder: worker handling item", slog.String("data_type", work.Data.Type), slog.String("data_id", work.Data.ID))
	herr := w.handle(ctx, work, log)
	cause := context.Cause(ctx)
	cancel(nil)
	<-hbDone
	attrs := []any{}
	if herr != nil {
		attrs = append(attrs, slog.String("error", herr.Error()))
	}
	switch {
	case errors.Is(cause, ErrWorkLeaseLost):
		log.WarnContext(base, "qoder: worker lost the item's lease; not stopping it", attrs...)
		return
	case errors.Is(cause, errWorkStoppedByServer):
		log.InfoContext(base, "qoder: worker finished item the server had stopped", attrs...)
		return
	case cause != nil && !errors.Is(cause, context.Canceled):
		attrs = append(attrs, slog.String("cause", cause.Error()))
	}
	stopCtx, cancelStop := context.WithTimeout(api, workerStopTimeout)
	defer cancelStop()
	if _, err := w.Client.Environments.Work.Stop(stopCtx, w.EnvironmentID, work.ID, nil); err != nil {
		log.ErrorContext(base, "qoder: worker could not stop the item", append(attrs, slog.String("stop_error", err.Error()))...)
		return
	}
	log.InfoContext(base, "qoder: worker finished item", attrs...)
}

// handle calls the handler and turns a panic into an error.
func (w *Worker) handle(ctx context.Context, work *Work, log *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("qoder: worker handler panicked: %v", p)
			log.ErrorContext(ctx, "qoder: worker handler panicked", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
		}
	}()
	return w.Handler(ctx, work)
}

// heartbeat extends the item's lease every HeartbeatInterval until ctx
// ends, and cancels ctx when the lease is lost or a stop is requested.
func (w *Worker) heartbeat(ctx context.Context, cancel context.CancelCauseFunc, work *Work, log *slog.Logger) {
	tick, stop := w.newTicker(w.HeartbeatInterval)
	defer stop()
	last := work.LatestHeartbeatAt
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		hb, err := w.Client.Environments.Work.Heartbeat(ctx, w.EnvironmentID, work.ID, &WorkHeartbeatParams{
			DesiredTTLSeconds: int(w.LeaseTTL / time.Second), ExpectedLastHeartbeat: last,
		})
		switch {
		case errors.Is(err, ErrWorkLeaseLost) && hb != nil && hb.State == WorkStopped:
			log.InfoContext(ctx, "qoder: worker item stopped by the server")
			cancel(errWorkStoppedByServer)
			return
		case errors.Is(err, ErrWorkLeaseLost):
			cancel(ErrWorkLeaseLost)
			return
		case err != nil:
			if ctx.Err() == nil {
				log.WarnContext(ctx, "qoder: worker heartbeat failed", slog.String("error", err.Error()))
			}
			continue
		}
		last = hb.LastHeartbeat
		if hb.State == WorkStopping || hb.State == WorkStopped {
			log.InfoContext(ctx, "qoder: worker item stop requested")
			cancel(ErrWorkStopRequested)
			return
		}
	}
}
