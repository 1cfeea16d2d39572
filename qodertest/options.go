package qodertest

import (
	"net"
	"testing"
	"time"
)

// Option configures a [Server]; pass options to [NewServer] or [Start].
type Option func(*config)

type config struct {
	token     string
	agent     func(*Turn)
	heartbeat time.Duration
	maxBody   int64
	listener  net.Listener
	latency   time.Duration
	tb        testing.TB
	webhooks  webhookConfig // see WithWebhookRetries
}

// WithToken sets the bearer token the server accepts (default
// [DefaultToken]).
func WithToken(token string) Option {
	return func(c *config) { c.token = token }
}

// WithAgent scripts the agent: fn runs in its own goroutine for every turn
// (each accepted user.message batch) and drives it through the [Turn]
// methods. When fn returns the turn ends idle with stop reason end_turn
// (or cancelled), unless it called [Turn.Terminate]. The default is
// [EchoAgent].
func WithAgent(fn func(turn *Turn)) Option {
	return func(c *config) { c.agent = fn }
}

// WithHeartbeatInterval sets how often streams send a ": heartbeat"
// comment (default 15 s, like the real API). Zero or less turns heartbeats
// off.
func WithHeartbeatInterval(d time.Duration) Option {
	return func(c *config) { c.heartbeat = d }
}

// WithMaxBodySize sets the largest request body accepted (default 32 MB,
// the documented global limit); larger bodies get 400
// invalid_request_error.
func WithMaxBodySize(n int64) Option {
	return func(c *config) { c.maxBody = n }
}

// WithListener makes the server accept connections on l instead of a new
// loopback port; the server closes l when it closes.
func WithListener(l net.Listener) Option {
	return func(c *config) { c.listener = l }
}

// WithLatency delays every response by d (see also [Server.SetLatency]).
func WithLatency(d time.Duration) Option {
	return func(c *config) { c.latency = d }
}
