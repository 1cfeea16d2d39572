package qoder

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// WebhookHandler returns an http.Handler for a webhook endpoint. For each
// POST it reads the body (at most [DefaultWebhookMaxBodySize] bytes unless
// [WithWebhookMaxBodySize] says otherwise), verifies it as [VerifyWebhook]
// does with secret and opts, and calls fn with the request's context and
// the event. It answers:
//
//   - 204 when fn returns nil (Qoder counts any 2xx as delivered);
//   - 500 when fn returns an error, so that Qoder delivers the event again;
//   - 400 for missing or malformed headers or a body that is not an
//     envelope, 401 for a bad signature or a timestamp outside the
//     tolerance, 413 for a body over the limit and 405 for a method other
//     than POST, all without calling fn;
//   - 500 without calling fn when a secret is invalid (a configuration
//     error, which the platform's retries outlast once it is fixed).
//
// With [WithWebhookDeduplicator], a delivery whose Webhook-ID was handled
// already is answered 200 without calling fn, and one that is being handled
// by another request is answered 409, so the platform tries it again later.
//
// Response bodies are short plain text naming the failure; they never
// contain the secret, the error fn returned, or a header's value. Deliveries
// arrive at least once and in no guaranteed order; answer fast and do long
// work elsewhere. WebhookHandler panics if fn is nil.
func WebhookHandler(secret string, fn func(ctx context.Context, ev *WebhookEvent) error, opts ...WebhookOption) http.Handler {
	if fn == nil {
		panic("qoder: WebhookHandler with a nil function")
	}
	cfg := newWebhookConfig(secret, opts)
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &webhookHandler{
		verifier: newWebhookVerifier(cfg),
		fn:       fn,
		maxBody:  cfg.maxBody,
		dedup:    cfg.dedup,
		logger:   logger,
	}
}

type webhookHandler struct {
	verifier *webhookVerifier
	fn       func(context.Context, *WebhookEvent) error
	maxBody  int64
	dedup    WebhookDeduplicator
	logger   *slog.Logger
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, r, http.StatusMethodNotAllowed, errors.New("qoder: webhook deliveries are POST requests"))
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrWebhookBodyTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		h.reject(w, r, status, err)
		return
	}
	ev, err := h.verifier.verify(r.Header, body)
	if err != nil {
		h.reject(w, r, webhookStatus(err), err)
		return
	}
	ctx := r.Context()
	if h.dedup != nil {
		claim, err := h.dedup.Claim(ctx, ev.ID)
		switch {
		case err != nil:
			h.logger.ErrorContext(ctx, "qoder: webhook deduplicator failed", "webhook_id", ev.ID, "error", err)
			http.Error(w, "qoder: webhook deduplication failed", http.StatusInternalServerError)
			return
		case claim == WebhookClaimDuplicate:
			h.logger.DebugContext(ctx, "qoder: webhook duplicate skipped", "webhook_id", ev.ID, "type", ev.Type)
			http.Error(w, "qoder: webhook already handled", http.StatusOK)
			return
		case claim == WebhookClaimBusy:
			h.logger.DebugContext(ctx, "qoder: webhook is being handled", "webhook_id", ev.ID, "type", ev.Type)
			http.Error(w, "qoder: webhook is being handled", http.StatusConflict)
			return
		}
	}
	if err := h.handle(ctx, ev); err != nil {
		h.logger.ErrorContext(ctx, "qoder: webhook handling failed", "webhook_id", ev.ID, "type", ev.Type, "error", err)
		http.Error(w, "qoder: webhook handling failed", http.StatusInternalServerError)
		return
	}
	h.logger.DebugContext(ctx, "qoder: webhook handled", "webhook_id", ev.ID, "type", ev.Type)
	w.WriteHeader(http.StatusNoContent)
}

// handle calls fn, releasing the deduplicator's claim however fn ends,
// even by panicking.
func (h *webhookHandler) handle(ctx context.Context, ev *WebhookEvent) error {
	if h.dedup == nil {
		return h.fn(ctx, ev)
	}
	handled := false
	defer func() {
		if err := h.dedup.Release(context.WithoutCancel(ctx), ev.ID, handled); err != nil {
			h.logger.ErrorContext(ctx, "qoder: webhook deduplicator failed", "webhook_id", ev.ID, "error", err)
		}
	}()
	err := h.fn(ctx, ev)
	handled = err == nil
	return err
}

// readBody reads at most h.maxBody bytes of the request's body.
func (h *webhookHandler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxBody {
		return nil, ErrWebhookBodyTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, ErrWebhookBodyTooLarge
		}
		return nil, errors.New("qoder: webhook body could not be read")
	}
	return body, nil
}

// reject answers a delivery that is not handed to fn.
func (h *webhookHandler) reject(w http.ResponseWriter, r *http.Request, status int, err error) {
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	h.logger.Log(r.Context(), level, "qoder: webhook rejected", "status", status, "error", err)
	http.Error(w, err.Error(), status)
}

// webhookStatus maps a verification error to the handler's status.
func webhookStatus(err error) int {
	switch {
	case errors.Is(err, ErrWebhookBadSignature), errors.Is(err, ErrWebhookTooOld), errors.Is(err, ErrWebhookTooNew):
		return http.StatusUnauthorized
	case errors.Is(err, ErrWebhookInvalidSecret):
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// WebhookDeduplicator remembers which deliveries [WebhookHandler] has
// handled, by Webhook-ID, so that a retried or duplicated delivery is
// handled once. Implementations must be safe for concurrent use; to share
// them between servers, keep the ids in a shared store (Redis SET NX with
// a TTL, a unique key in a database).
type WebhookDeduplicator interface {
	// Claim is called with the id of each verified delivery before the
	// handling function. It returns WebhookClaimNew and records the id as
	// in progress when the id is new, WebhookClaimDuplicate when it was
	// handled, and WebhookClaimBusy when another request is handling it.
	// An error makes the handler answer 500.
	Claim(ctx context.Context, id string) (WebhookClaim, error)
	// Release is called once after the handling function of a claimed id
	// returns (or panics). handled is true when it returned nil: keep the
	// id as handled. Otherwise forget the claim, so that the platform's
	// retry is handled.
	Release(ctx context.Context, id string, handled bool) error
}

// WebhookClaim is what [WebhookDeduplicator.Claim] found.
type WebhookClaim int

// The results of [WebhookDeduplicator.Claim].
const (
	// WebhookClaimNew: the id is new and now claimed; the handler calls
	// its function.
	WebhookClaimNew WebhookClaim = iota
	// WebhookClaimDuplicate: the id was handled; the handler answers 200.
	WebhookClaimDuplicate
	// WebhookClaimBusy: the id is being handled; the handler answers 409
	// so that the platform tries again.
	WebhookClaimBusy
)

// DefaultWebhookDedupTTL is how long [NewWebhookMemoryDeduplicator]
// remembers a handled id by default.
const DefaultWebhookDedupTTL = 24 * time.Hour

// WebhookMemoryDeduplicator is a [WebhookDeduplicator] that keeps ids in
// memory, each handled id for a TTL. It suits a single server process;
// ids are lost when the process exits. Create it with
// [NewWebhookMemoryDeduplicator].
type WebhookMemoryDeduplicator struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	ids     map[string]time.Time // id -> when its handled mark expires; zero while in progress
	expires []dedupExpiry        // handled ids in the order they expire
}

type dedupExpiry struct {
	id string
	at time.Time
}

// NewWebhookMemoryDeduplicator returns an in-memory deduplicator that
// remembers a handled id for ttl ([DefaultWebhookDedupTTL] when ttl is
// zero or less). Choose a ttl longer than the platform's retry schedule.
func NewWebhookMemoryDeduplicator(ttl time.Duration) *WebhookMemoryDeduplicator {
	if ttl <= 0 {
		ttl = DefaultWebhookDedupTTL
	}
	return &WebhookMemoryDeduplicator{ttl: ttl, now: time.Now, ids: make(map[string]time.Time)}
}

// Claim claims id unless it is handled or in progress. It never fails.
func (d *WebhookMemoryDeduplicator) Claim(_ context.Context, id string) (WebhookClaim, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.forgetExpired()
	if at, ok := d.ids[id]; ok {
		if at.IsZero() {
			return WebhookClaimBusy, nil
		}
		return WebhookClaimDuplicate, nil
	}
	d.ids[id] = time.Time{}
	return WebhookClaimNew, nil
}

// Release marks id handled for the TTL, or forgets it when handled is
// false. It never fails.
func (d *WebhookMemoryDeduplicator) Release(_ context.Context, id string, handled bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !handled {
		delete(d.ids, id)
		return nil
	}
	at := d.now().Add(d.ttl)
	d.ids[id] = at
	d.expires = append(d.expires, dedupExpiry{id, at})
	return nil
}

// forgetExpired drops the handled ids whose TTL has passed; d.mu must be
// held. Ids expire in the order they were released, so it stops at the
// first one still valid.
func (d *WebhookMemoryDeduplicator) forgetExpired() {
	now := d.now()
	n := 0
	for ; n < len(d.expires) && !d.expires[n].at.After(now); n++ {
		e := d.expires[n]
		if d.ids[e.id].Equal(e.at) {
			delete(d.ids, e.id)
		}
	}
	clear(d.expires[:n]) // let the ids be collected; append reallocates past the rest
	d.expires = d.expires[n:]
}
