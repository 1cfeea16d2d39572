package qoder

import (
	"context"
	"time"
)

// Default intervals of the Wait helpers.
const (
	defaultWaitInterval    = time.Second
	defaultWaitMaxInterval = 15 * time.Second
)

// WaitParams tune the Wait helpers ([DeploymentRunsService.Wait],
// [DreamsService.Wait]), which poll until a run or dream ends.
type WaitParams struct {
	// Interval is the first wait between two polls (default 1 s). Each
	// wait is 1.5 times the one before, up to MaxInterval.
	Interval time.Duration
	// MaxInterval caps the wait between two polls (default 15 s).
	MaxInterval time.Duration
	// OnSession, when set, is called once, as soon as a poll shows a
	// session id, with ctx and that id: to follow the session with
	// [EventsService.Stream] (open it in a goroutine to keep polling
	// meanwhile, or follow it here and let Wait resume when it returns).
	// An error it returns ends Wait with that error.
	OnSession func(ctx context.Context, sessionID string) error
}

// pollUntil calls get until state reports the value done, sleeping
// between calls with c.waitSleep on an interval that grows by half each
// time up to the maximum. It calls params.OnSession once when state first
// reports a session id. When ctx ends it returns ctx.Err() and the last
// value read.
func pollUntil[T any](ctx context.Context, c *Client, params *WaitParams, get func(context.Context) (*T, error), state func(*T) (sessionID string, done bool)) (*T, error) {
	var p WaitParams
	if params != nil {
		p = *params
	}
	if p.Interval <= 0 {
		p.Interval = defaultWaitInterval
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = max(defaultWaitMaxInterval, p.Interval)
	}
	delay := p.Interval
	sessionSeen := false
	for {
		v, err := get(ctx)
		if err != nil {
			return nil, err
		}
		sessionID, done := state(v)
		if sessionID != "" && !sessionSeen && p.OnSession != nil {
			sessionSeen = true
			if err := p.OnSession(ctx, sessionID); err != nil {
				return v, err
			}
		}
		if done {
			return v, nil
		}
		if err := c.waitSleep(ctx, delay); err != nil {
			return v, err
		}
		delay = min(delay+delay/2, p.MaxInterval)
	}
}
