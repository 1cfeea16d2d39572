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
	webhooks  webhookConfig    // see WithWebhookRetries
	now       func() time.Time // see WithClock

	fileStorage int64 // bytes of file and skill content kept; see WithFileStorageLimit
	keepFiles   bool  // false: uploads keep no bytes; see WithoutFileContent
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

// WithFileStorageLimit sets how many bytes of file and skill content the
// fake keeps in memory in all (default 256 MiB). An upload that would go
// beyond it gets 400 invalid_request_error; deleting files and skills
// frees their share.
func WithFileStorageLimit(n int64) Option {
	return func(c *config) { c.fileStorage = n }
}

// WithoutFileContent makes the fake keep no bytes of uploaded files, only
// their size and SHA-256: uploads of any size up to the body limit are
// parsed and counted without filling memory, as a benchmark of large
// uploads needs. Downloading such a file answers 410 Gone. Skills keep
// their content regardless, since the fake reads their SKILL.md.
func WithoutFileContent() Option {
	return func(c *config) { c.keepFiles = false }
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
