package qoder

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveWebhook posts body with header to handler and returns the response.
func serveWebhook(handler http.Handler, header http.Header, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/qoder", strings.NewReader(body))
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	return rec
}

// recorder is a handling function that records the events it gets and
// returns err.
type recorder struct {
	mu     sync.Mutex
	events []*WebhookEvent
	err    error
}

func (r *recorder) handle(_ context.Context, ev *WebhookEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return r.err
}

func (r *recorder) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func TestWebhookHandler_Statuses(t *testing.T) {
	t.Parallel()
	valid := func() http.Header { return webhookHeader(testWebhookID, testWebhookTimestamp, testWebhookSignature) }
	big := `{"type":"event","data":{"type":"session.updated","id":"s","pad":"` + strings.Repeat("x", 2000) + `"}}`
	bigHeader := mustSign(t, testWebhookSecret, testWebhookID, 0, big)
	malformed := `{"type":"event","data":[]}`
	malformedHeader := mustSign(t, testWebhookSecret, testWebhookID, 0, malformed)
	secretError := errors.New("database password hunter2 rejected")

	tests := []struct {
		name     string
		method   string
		header   http.Header
		body     string
		chunked  bool // send the body without a Content-Length
		secret   string
		fnErr    error
		opts     []WebhookOption
		want     int
		wantBody string
		wantCall bool
	}{
		{name: "delivered", header: valid(), body: testWebhookBody, want: http.StatusNoContent, wantCall: true},
		{name: "function fails", header: valid(), body: testWebhookBody, fnErr: secretError, want: http.StatusInternalServerError, wantBody: "handling failed", wantCall: true},
		{name: "tampered body", header: valid(), body: strings.Replace(testWebhookBody, "sess_", "sess-", 1), want: http.StatusUnauthorized, wantBody: "signature does not match"},
		{name: "wrong secret", header: valid(), body: testWebhookBody, secret: otherWebhookSecret, want: http.StatusUnauthorized},
		{name: "too old", header: valid(), body: testWebhookBody, opts: []WebhookOption{atTestTime(time.Hour)}, want: http.StatusUnauthorized, wantBody: "too old"},
		{name: "too new", header: valid(), body: testWebhookBody, opts: []WebhookOption{atTestTime(-time.Hour)}, want: http.StatusUnauthorized, wantBody: "too new"},
		{name: "missing signature", header: http.Header{WebhookHeaderID: {testWebhookID}, WebhookHeaderTimestamp: {testWebhookTimestamp}}, body: testWebhookBody, want: http.StatusBadRequest, wantBody: "missing: Webhook-Signature"},
		{name: "malformed timestamp", header: webhookHeader(testWebhookID, "yesterday", testWebhookSignature), body: testWebhookBody, want: http.StatusBadRequest, wantBody: "Webhook-Timestamp"},
		{name: "signed but not an envelope", header: malformedHeader, body: malformed, want: http.StatusBadRequest, wantBody: "body malformed"},
		{name: "over the default limit", header: valid(), body: strings.Repeat(" ", DefaultWebhookMaxBodySize+1), want: http.StatusRequestEntityTooLarge},
		{name: "over a set limit", header: bigHeader, body: big, opts: []WebhookOption{WithWebhookMaxBodySize(1024)}, want: http.StatusRequestEntityTooLarge, wantBody: "too large"},
		{name: "over a set limit, chunked", header: bigHeader, body: big, chunked: true, opts: []WebhookOption{WithWebhookMaxBodySize(1024)}, want: http.StatusRequestEntityTooLarge},
		{name: "under a raised limit", header: bigHeader, body: big, opts: []WebhookOption{WithWebhookMaxBodySize(4096)}, want: http.StatusNoContent, wantCall: true},
		{name: "exactly at the limit", header: bigHeader, body: big, opts: []WebhookOption{WithWebhookMaxBodySize(int64(len(big)))}, want: http.StatusNoContent, wantCall: true},
		{name: "GET", method: http.MethodGet, header: valid(), want: http.StatusMethodNotAllowed},
		{name: "invalid secret", header: valid(), body: testWebhookBody, secret: "whsec_hunter2!", want: http.StatusInternalServerError, wantBody: "secret invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			secret := tt.secret
			if secret == "" {
				secret = testWebhookSecret
			}
			var logs bytes.Buffer
			rec := &recorder{err: tt.fnErr}
			opts := append([]WebhookOption{atTestTime(0), WithWebhookLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}, tt.opts...)
			handler := WebhookHandler(secret, rec.handle, opts...)

			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length from NewRequest
			}
			req := httptest.NewRequest(method, "/webhooks/qoder", body)
			for k, vs := range tt.header {
				req.Header[k] = vs
			}
			if tt.chunked {
				require.EqualValues(t, -1, req.ContentLength)
			}
			resp := httptest.NewRecorder()
			handler.ServeHTTP(resp, req)

			assert.Equal(t, tt.want, resp.Code, "body %q", resp.Body)
			if tt.wantBody != "" {
				assert.Contains(t, resp.Body.String(), tt.wantBody)
			}
			if tt.want == http.StatusMethodNotAllowed {
				assert.Equal(t, http.MethodPost, resp.Header().Get("Allow"))
			}
			if tt.wantCall {
				require.Equal(t, 1, rec.calls())
				assert.Equal(t, testWebhookID, rec.events[0].ID)
			} else {
				assert.Zero(t, rec.calls(), "the function ran for a rejected delivery")
			}
			for _, out := range []string{resp.Body.String(), logs.String()} {
				assertNoSecret(t, out, secret)
				assert.NotContains(t, out, strings.TrimPrefix(testWebhookSignature, "v1,"))
			}
			if tt.fnErr != nil {
				// The function's error is for the owner's log, not for the sender.
				assert.NotContains(t, resp.Body.String(), "hunter2")
				assert.Contains(t, logs.String(), "hunter2")
			} else {
				assert.NotContains(t, logs.String()+resp.Body.String(), "hunter2")
			}
		})
	}
}

func TestWebhookHandler_NilFunction(t *testing.T) {
	t.Parallel()
	assert.PanicsWithValue(t, "qoder: WebhookHandler with a nil function", func() { WebhookHandler(testWebhookSecret, nil) })
}

func TestWebhookHandler_Duplicates(t *testing.T) {
	t.Parallel()
	deliver := func(h http.Handler) int {
		return serveWebhook(h, webhookHeader(testWebhookID, testWebhookTimestamp, testWebhookSignature), testWebhookBody).Code
	}

	t.Run("a handled delivery is not handled again", func(t *testing.T) {
		t.Parallel()
		rec := &recorder{}
		h := WebhookHandler(testWebhookSecret, rec.handle, atTestTime(0), WithWebhookDeduplicator(NewWebhookMemoryDeduplicator(time.Hour)))
		assert.Equal(t, http.StatusNoContent, deliver(h))
		assert.Equal(t, http.StatusOK, deliver(h))
		assert.Equal(t, http.StatusOK, deliver(h))
		assert.Equal(t, 1, rec.calls())
	})
	t.Run("without a deduplicator every delivery is handled", func(t *testing.T) {
		t.Parallel()
		rec := &recorder{}
		h := WebhookHandler(testWebhookSecret, rec.handle, atTestTime(0))
		assert.Equal(t, http.StatusNoContent, deliver(h))
		assert.Equal(t, http.StatusNoContent, deliver(h))
		assert.Equal(t, 2, rec.calls())
	})
	t.Run("a failed delivery is handled again", func(t *testing.T) {
		t.Parallel()
		rec := &recorder{err: errors.New("queue full")}
		h := WebhookHandler(testWebhookSecret, rec.handle, atTestTime(0), WithWebhookDeduplicator(NewWebhookMemoryDeduplicator(time.Hour)))
		assert.Equal(t, http.StatusInternalServerError, deliver(h))
		rec.mu.Lock()
		rec.err = nil
		rec.mu.Unlock()
		assert.Equal(t, http.StatusNoContent, deliver(h))
		assert.Equal(t, http.StatusOK, deliver(h))
		assert.Equal(t, 2, rec.calls())
	})
	t.Run("a panicking function releases its claim", func(t *testing.T) {
		t.Parallel()
		panics := true
		h := WebhookHandler(testWebhookSecret, func(context.Context, *WebhookEvent) error {
			if panics {
				panic("boom")
			}
			return nil
		}, atTestTime(0), WithWebhookDeduplicator(NewWebhookMemoryDeduplicator(time.Hour)))
		assert.PanicsWithValue(t, "boom", func() { deliver(h) })
		panics = false
		assert.Equal(t, http.StatusNoContent, deliver(h))
	})
	t.Run("a delivery in progress is refused with 409", func(t *testing.T) {
		t.Parallel()
		entered, release := make(chan struct{}), make(chan struct{})
		var calls int
		h := WebhookHandler(testWebhookSecret, func(context.Context, *WebhookEvent) error {
			calls++
			close(entered)
			<-release
			return nil
		}, atTestTime(0), WithWebhookDeduplicator(NewWebhookMemoryDeduplicator(time.Hour)))
		first := make(chan int)
		go func() { first <- deliver(h) }()
		<-entered
		assert.Equal(t, http.StatusConflict, deliver(h))
		close(release)
		assert.Equal(t, http.StatusNoContent, <-first)
		assert.Equal(t, http.StatusOK, deliver(h))
		assert.Equal(t, 1, calls)
	})
	t.Run("a rejected delivery claims nothing", func(t *testing.T) {
		t.Parallel()
		dedup := NewWebhookMemoryDeduplicator(time.Hour)
		rec := &recorder{}
		h := WebhookHandler(testWebhookSecret, rec.handle, atTestTime(0), WithWebhookDeduplicator(dedup))
		bad := serveWebhook(h, webhookHeader(testWebhookID, testWebhookTimestamp, "v1,"+strings.Repeat("A", 44)), testWebhookBody)
		assert.Equal(t, http.StatusUnauthorized, bad.Code)
		assert.Equal(t, http.StatusNoContent, deliver(h))
	})
	t.Run("a failing deduplicator answers 500", func(t *testing.T) {
		t.Parallel()
		rec := &recorder{}
		h := WebhookHandler(testWebhookSecret, rec.handle, atTestTime(0), WithWebhookDeduplicator(failingDedup{}))
		assert.Equal(t, http.StatusInternalServerError, deliver(h))
		assert.Zero(t, rec.calls())
	})
}

type failingDedup struct{}

func (failingDedup) Claim(context.Context, string) (WebhookClaim, error) {
	return 0, errors.New("redis: connection refused")
}

func (failingDedup) Release(context.Context, string, bool) error { return nil }

func TestWebhookMemoryDeduplicator(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	now := testWebhookTime
	d := NewWebhookMemoryDeduplicator(time.Hour)
	d.now = func() time.Time { return now }
	claim := func(id string) WebhookClaim {
		c, err := d.Claim(ctx, id)
		require.NoError(t, err)
		return c
	}
	release := func(id string, handled bool) { require.NoError(t, d.Release(ctx, id, handled)) }

	assert.Equal(t, WebhookClaimNew, claim("a"))
	assert.Equal(t, WebhookClaimBusy, claim("a"))
	release("a", true)
	assert.Equal(t, WebhookClaimDuplicate, claim("a"))

	assert.Equal(t, WebhookClaimNew, claim("b"))
	release("b", false)
	assert.Equal(t, WebhookClaimNew, claim("b"), "a failed id is claimed again")
	now = now.Add(30 * time.Minute)
	release("b", true)

	now = testWebhookTime.Add(time.Hour - time.Second)
	assert.Equal(t, WebhookClaimDuplicate, claim("a"), "just before its TTL")
	now = testWebhookTime.Add(time.Hour)
	assert.Equal(t, WebhookClaimNew, claim("a"), "at its TTL")
	assert.Equal(t, WebhookClaimDuplicate, claim("b"), "b was handled later")
	assert.Len(t, d.expires, 1, "the expired mark is dropped")
	now = now.Add(30 * time.Minute)
	assert.Equal(t, WebhookClaimNew, claim("b"))
	assert.Empty(t, d.expires)
	assert.Len(t, d.ids, 2, "a and b are claimed, nothing else is kept")

	assert.Equal(t, DefaultWebhookDedupTTL, NewWebhookMemoryDeduplicator(0).ttl)
}

func TestWebhookMemoryDeduplicator_Concurrent(t *testing.T) {
	t.Parallel()
	d := NewWebhookMemoryDeduplicator(time.Hour)
	var mu sync.Mutex
	won := map[string]int{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := string(rune('a' + (g+i)%26))
				c, err := d.Claim(t.Context(), id)
				assert.NoError(t, err)
				if c == WebhookClaimNew {
					mu.Lock()
					won[id]++
					mu.Unlock()
					assert.NoError(t, d.Release(t.Context(), id, true))
				}
			}
		})
	}
	wg.Wait()
	assert.Len(t, won, 26)
	for id, n := range won {
		assert.Equal(t, 1, n, "id %s handled %d times", id, n)
	}
}

func BenchmarkWebhookHandler(b *testing.B) {
	h := WebhookHandler(testWebhookSecret, func(context.Context, *WebhookEvent) error { return nil }, atTestTime(0))
	header := webhookHeader(testWebhookID, testWebhookTimestamp, testWebhookSignature)
	b.ReportAllocs()
	for b.Loop() {
		if rec := serveWebhook(h, header, testWebhookBody); rec.Code != http.StatusNoContent {
			b.Fatal(rec.Code)
		}
	}
}
