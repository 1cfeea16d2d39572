package qodertest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// receiver is a webhook endpoint served by the SDK's own handler. It
// records the events it accepts; fail decides, per call, whether the
// handling function fails.
type receiver struct {
	URL    string
	Secret string

	mu     sync.Mutex
	events []*qoder.WebhookEvent
	calls  int
	fail   func(call int) bool
	seen   chan *qoder.WebhookEvent // gets each accepted event, if not nil
}

func newReceiver(t *testing.T, fail func(call int) bool) *receiver {
	t.Helper()
	r := &receiver{Secret: NewWebhookSecret(), fail: fail}
	hs := httptest.NewServer(qoder.WebhookHandler(r.Secret, r.handle))
	t.Cleanup(hs.Close)
	r.URL = hs.URL + "/hooks"
	return r
}

func (r *receiver) handle(_ context.Context, ev *qoder.WebhookEvent) error {
	r.mu.Lock()
	r.calls++
	failed := r.fail != nil && r.fail(r.calls)
	if !failed {
		r.events = append(r.events, ev)
	}
	seen := r.seen
	r.mu.Unlock()
	if failed {
		return errors.New("not now")
	}
	if seen != nil {
		seen <- ev
	}
	return nil
}

// received returns the type and resource id of each accepted event.
func (r *receiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		out = append(out, ev.Type+" "+webhookResourceID(ev.Data))
	}
	return out
}

func webhookResourceID(d qoder.WebhookData) string {
	switch d := d.(type) {
	case *qoder.SessionCreatedWebhook:
		return d.ID
	case *qoder.SessionUpdatedWebhook:
		return d.ID
	case *qoder.SessionArchivedWebhook:
		return d.ID
	case *qoder.SessionDeletedWebhook:
		return d.ID
	}
	return "?"
}

func waitWebhooks(t *testing.T, srv *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	require.NoError(t, srv.WaitWebhooks(ctx))
}

func TestWebhooks_SessionLifecycle(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	rcv := newReceiver(t, nil)
	ep := srv.AddWebhookEndpoint(rcv.URL, rcv.Secret, "*")
	assert.Regexp(t, `^whep_[0-9a-f]{32}$`, ep.ID)
	assert.Equal(t, []string{"*"}, ep.EventTypes)

	client := srv.Client()
	ctx := t.Context()
	sess, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{
		Agent:         qoder.AgentRef{ID: srv.SeedAgent("bot")},
		EnvironmentID: srv.SeedEnvironment("env"),
	})
	require.NoError(t, err)
	_, err = client.Sessions.Update(ctx, sess.ID, &qoder.SessionUpdateParams{Title: qoder.Ptr("renamed")})
	require.NoError(t, err)
	_, err = client.Sessions.Update(ctx, sess.ID, &qoder.SessionUpdateParams{Metadata: map[string]*string{"k": qoder.Ptr("v")}})
	require.NoError(t, err)
	_, err = client.Sessions.Update(ctx, sess.ID, &qoder.SessionUpdateParams{EnvironmentVariables: qoder.EnvVarMap{"A": "1"}})
	require.NoError(t, err, "changes neither title nor metadata: no session.updated")
	_, err = client.Sessions.Archive(ctx, sess.ID)
	require.NoError(t, err)
	_, err = client.Sessions.Archive(ctx, sess.ID)
	require.NoError(t, err, "already archived: no second session.archived")
	_, err = client.Sessions.Delete(ctx, sess.ID)
	require.NoError(t, err)
	waitWebhooks(t, srv)

	assert.Equal(t, []string{
		"session.created " + sess.ID,
		"session.updated " + sess.ID,
		"session.updated " + sess.ID,
		"session.archived " + sess.ID,
		"session.deleted " + sess.ID,
	}, rcv.received())

	deliveries := srv.WebhookDeliveries()
	require.Len(t, deliveries, 5)
	ids := map[string]bool{}
	for i, d := range deliveries {
		assert.Equal(t, ep.ID, d.EndpointID)
		assert.Equal(t, 1, d.Attempt)
		assert.Equal(t, http.StatusNoContent, d.StatusCode)
		assert.True(t, d.Delivered())
		assert.NoError(t, d.Err)
		assert.Regexp(t, `^whe_[0-9a-f]{32}$`, d.EventID)
		assert.False(t, ids[d.EventID], "event ids are unique")
		ids[d.EventID] = true

		assert.Equal(t, "application/json; charset=utf-8", d.Header.Get("Content-Type"))
		assert.Equal(t, WebhookUserAgent, d.Header.Get("User-Agent"))
		assert.Equal(t, d.EventID, d.Header.Get(qoder.WebhookHeaderID))
		assert.Equal(t, d.EventType, d.Header.Get(qoder.WebhookHeaderEventType))
		ts, err := strconv.ParseInt(d.Header.Get(qoder.WebhookHeaderTimestamp), 10, 64)
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), time.Unix(ts, 0), time.Minute)

		var env map[string]any
		require.NoError(t, json.Unmarshal(d.Body, &env))
		assert.Equal(t, "event", env["type"])
		assert.Equal(t, d.EventID, env["id"])
		assert.Regexp(t, timePattern, env["created_at"])
		assert.Equal(t, map[string]any{"type": d.EventType, "id": sess.ID}, env["data"])

		ev, err := qoder.VerifyWebhook(rcv.Secret, d.Header, d.Body)
		require.NoError(t, err, "delivery %d", i)
		assert.Equal(t, d.EventID, ev.ID)
		_, err = qoder.VerifyWebhook(NewWebhookSecret(), d.Header, d.Body)
		assert.ErrorIs(t, err, qoder.ErrWebhookBadSignature)
	}
}

func TestWebhooks_SeededSession(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	rcv := newReceiver(t, nil)
	srv.AddWebhookEndpoint(rcv.URL, rcv.Secret)
	id := srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))
	waitWebhooks(t, srv)
	assert.Equal(t, []string{"session.created " + id}, rcv.received())
}

func TestWebhooks_EventTypes(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	all := newReceiver(t, nil)
	archived := newReceiver(t, nil)
	lifecycle := newReceiver(t, nil)
	srv.AddWebhookEndpoint(all.URL, all.Secret) // no types: every type
	srv.AddWebhookEndpoint(archived.URL, archived.Secret, qoder.WebhookTypeSessionArchived)
	srv.AddWebhookEndpoint(lifecycle.URL, lifecycle.Secret, qoder.WebhookTypeSessionCreated, qoder.WebhookTypeSessionDeleted, "agent.created")

	client := srv.Client()
	id := srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))
	_, err := client.Sessions.Archive(t.Context(), id)
	require.NoError(t, err)
	_, err = client.Sessions.Delete(t.Context(), id)
	require.NoError(t, err)
	waitWebhooks(t, srv)

	assert.Equal(t, []string{"session.created " + id, "session.archived " + id, "session.deleted " + id}, all.received())
	assert.Equal(t, []string{"session.archived " + id}, archived.received())
	assert.Equal(t, []string{"session.created " + id, "session.deleted " + id}, lifecycle.received())
}

func TestWebhooks_Retries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		retries  int
		failures int // calls that fail before one succeeds
		want     []int
	}{
		{name: "delivered at once", retries: 3, failures: 0, want: []int{204}},
		{name: "delivered on the third attempt", retries: 3, failures: 2, want: []int{500, 500, 204}},
		{name: "delivered on the last attempt", retries: 2, failures: 2, want: []int{500, 500, 204}},
		{name: "given up", retries: 2, failures: 10, want: []int{500, 500, 500}},
		{name: "no retries", retries: 0, failures: 1, want: []int{500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(t, WithWebhookRetries(tt.retries, time.Millisecond))
			rcv := newReceiver(t, func(call int) bool { return call <= tt.failures })
			srv.AddWebhookEndpoint(rcv.URL, rcv.Secret, qoder.WebhookTypeSessionCreated)
			id := srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))
			waitWebhooks(t, srv)

			deliveries := srv.WebhookDeliveries()
			var got []int
			for i, d := range deliveries {
				got = append(got, d.StatusCode)
				assert.Equal(t, i+1, d.Attempt)
				assert.Equal(t, deliveries[0].EventID, d.EventID, "a retry keeps the event id")
				assert.Equal(t, deliveries[0].Body, d.Body, "a retry keeps the body")
				_, err := qoder.VerifyWebhook(rcv.Secret, d.Header, d.Body)
				assert.NoError(t, err, "each attempt is signed")
			}
			assert.Equal(t, tt.want, got)
			if tt.want[len(tt.want)-1] == 204 {
				assert.Equal(t, []string{"session.created " + id}, rcv.received())
			} else {
				assert.Empty(t, rcv.received())
			}
		})
	}
}

func TestWebhooks_UnreachableEndpoint(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close() // nothing listens there any more
	srv := NewServer(t, WithWebhookRetries(1, 0))
	srv.AddWebhookEndpoint(url, "")
	srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))
	waitWebhooks(t, srv)
	deliveries := srv.WebhookDeliveries()
	require.Len(t, deliveries, 2)
	for _, d := range deliveries {
		assert.Error(t, d.Err)
		assert.Zero(t, d.StatusCode)
		assert.False(t, d.Delivered())
	}
}

func TestWebhooks_OrderPerEndpoint(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	rcv := newReceiver(t, nil)
	srv.AddWebhookEndpoint(rcv.URL, rcv.Secret, qoder.WebhookTypeSessionCreated)
	agent, env := srv.SeedAgent("bot"), srv.SeedEnvironment("env")
	var want []string
	for range 20 {
		want = append(want, "session.created "+srv.SeedSession(agent, env))
	}
	waitWebhooks(t, srv)
	assert.Equal(t, want, rcv.received())
}

func TestWebhooks_RemoveEndpoint(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	rcv := newReceiver(t, nil)
	ep := srv.AddWebhookEndpoint(rcv.URL, rcv.Secret)
	agent, env := srv.SeedAgent("bot"), srv.SeedEnvironment("env")
	first := srv.SeedSession(agent, env)
	assert.True(t, srv.RemoveWebhookEndpoint(ep.ID))
	assert.False(t, srv.RemoveWebhookEndpoint(ep.ID))
	srv.SeedSession(agent, env)
	waitWebhooks(t, srv)
	assert.Equal(t, []string{"session.created " + first}, rcv.received(), "the queued event is still delivered; none after removal")
}

func TestAddWebhookEndpoint_Secret(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	ep := srv.AddWebhookEndpoint("http://127.0.0.1:1/hooks", "")
	assert.Regexp(t, `^whsec_[A-Za-z0-9+/]{32}$`, ep.Secret)
	assert.NotEqual(t, ep.Secret, NewWebhookSecret())
	_, err := qoder.SignWebhook(ep.Secret, "whe_1", time.Now(), nil)
	assert.NoError(t, err)
	assert.PanicsWithValue(t, "qodertest: AddWebhookEndpoint: qoder: webhook secret invalid: empty", func() {
		srv.AddWebhookEndpoint("http://127.0.0.1:1/hooks", "whsec_")
	})
	assert.Panics(t, func() { srv.AddWebhookEndpoint("http://127.0.0.1:1/hooks", "not base64!") })
}

func TestWaitWebhooks(t *testing.T) {
	t.Parallel()
	t.Run("nothing pending", func(t *testing.T) {
		t.Parallel()
		srv := NewServer(t)
		require.NoError(t, srv.WaitWebhooks(t.Context()))
	})
	t.Run("context done first", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		t.Cleanup(hs.Close)
		t.Cleanup(func() { close(release) })
		srv := NewServer(t)
		srv.AddWebhookEndpoint(hs.URL, "")
		srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		assert.ErrorIs(t, srv.WaitWebhooks(ctx), context.Canceled)
	})
}

// TestWebhooks_CloseStopsDeliveries checks that Close gives up on pending
// retries at once and leaves no goroutine behind.
func TestWebhooks_CloseStopsDeliveries(t *testing.T) {
	base := runtime.NumGoroutine()
	attempted := make(chan struct{}, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		select {
		case attempted <- struct{}{}:
		default:
		}
	}))
	srv := Start(WithWebhookRetries(5, time.Hour))
	srv.AddWebhookEndpoint(hs.URL, "")
	agent, env := srv.SeedAgent("bot"), srv.SeedEnvironment("env")
	srv.SeedSession(agent, env)
	srv.SeedSession(agent, env) // queued behind the first one's retries
	<-attempted

	done := make(chan struct{})
	go func() {
		srv.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Close waited for the retry backoff")
	}
	require.NoError(t, srv.WaitWebhooks(t.Context()), "nothing is pending after Close")
	assert.Len(t, srv.WebhookDeliveries(), 1)
	srv.SeedSession(agent, env) // after Close: nothing is queued
	require.NoError(t, srv.WaitWebhooks(t.Context()))
	hs.Close()
	assertNoLeak(t, base)
}
