package qodertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/qoder-go/qoder"
)

// WebhookUserAgent is the User-Agent of every delivery, the one Qoder
// documents.
const WebhookUserAgent = "QoderCloudAgents-Webhook/1.0"

// Default delivery retries: three retries after the first attempt, 10 ms
// before the first retry and twice as long before each next one. The real
// schedule is not documented; this one is fast enough for tests.
const (
	defaultWebhookRetries = 3
	defaultWebhookBackoff = 10 * time.Millisecond
	webhookAttemptTimeout = 10 * time.Second
)

// WebhookEndpoint is an endpoint registered with
// [Server.AddWebhookEndpoint].
type WebhookEndpoint struct {
	// ID names the endpoint ("whep_…").
	ID string
	// URL receives the deliveries.
	URL string
	// Secret signs them: "whsec_" and base64.
	Secret string
	// EventTypes are the subscribed types; "*" subscribes to all.
	EventTypes []string
}

// WebhookDelivery is one attempt to deliver an event to an endpoint.
type WebhookDelivery struct {
	// EndpointID names the endpoint.
	EndpointID string
	// EventID is the Webhook-ID, the same on every attempt of one event.
	EventID string
	// EventType is the event's type, such as "session.created".
	EventType string
	// Attempt counts from 1.
	Attempt int
	// Header and Body are what was sent.
	Header http.Header
	Body   []byte
	// StatusCode is the endpoint's answer; zero when there was none.
	StatusCode int
	// Err is the transport error when there was no answer.
	Err error
}

// Delivered reports whether the endpoint accepted the attempt (any 2xx).
func (d WebhookDelivery) Delivered() bool { return d.StatusCode >= 200 && d.StatusCode < 300 }

// webhookConfig holds the delivery options; the zero value means the
// defaults.
type webhookConfig struct {
	set     bool
	retries int
	backoff time.Duration
}

// WithWebhookRetries sets how often a delivery that gets no 2xx answer is
// retried (default 3) and the wait before the first retry (default 10 ms),
// which doubles before each next one. Zero retries turns retrying off.
func WithWebhookRetries(retries int, backoff time.Duration) Option {
	return func(c *config) {
		c.webhooks = webhookConfig{set: true, retries: max(retries, 0), backoff: max(backoff, 0)}
	}
}

// NewWebhookSecret returns a new random signing secret in the form the
// Standard Webhooks scheme uses: "whsec_" and the base64 of 24 bytes.
func NewWebhookSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// AddWebhookEndpoint registers an endpoint: from now on, each session
// lifecycle event of a subscribed type (session.created, session.updated
// when the title or metadata changes, session.archived, session.deleted)
// is POSTed to url as a signed delivery with the documented headers, and
// retried with backoff until it gets a 2xx answer (see
// [WithWebhookRetries]). eventTypes are event types or "*" for all; none
// means "*". Each endpoint gets its events in order, one at a time.
//
// An empty secret gets a new one from [NewWebhookSecret]; the returned
// endpoint holds it. AddWebhookEndpoint panics if secret is not a valid
// signing secret.
func (s *Server) AddWebhookEndpoint(url, secret string, eventTypes ...string) WebhookEndpoint {
	if secret == "" {
		secret = NewWebhookSecret()
	}
	if _, err := qoder.SignWebhook(secret, "", time.Time{}, nil); err != nil {
		panic(fmt.Sprintf("qodertest: AddWebhookEndpoint: %v", err))
	}
	if len(eventTypes) == 0 {
		eventTypes = []string{"*"}
	}
	ep := &webhookEndpoint{WebhookEndpoint: WebhookEndpoint{ID: newID("whep_"), URL: url, Secret: secret, EventTypes: slices.Clone(eventTypes)}}
	h := &s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endpoints = append(h.endpoints, ep)
	return ep.public()
}

// RemoveWebhookEndpoint unregisters the endpoint id and reports whether it
// was registered. Deliveries already queued for it are still made.
func (s *Server) RemoveWebhookEndpoint(id string) bool {
	h := &s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.endpoints)
	h.endpoints = slices.DeleteFunc(h.endpoints, func(ep *webhookEndpoint) bool { return ep.ID == id })
	return len(h.endpoints) < n
}

// WebhookDeliveries returns every delivery attempt so far, in the order
// they were made.
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	h := &s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]WebhookDelivery, len(h.deliveries))
	for i, d := range h.deliveries {
		d.Header = d.Header.Clone()
		d.Body = slices.Clone(d.Body)
		out[i] = d
	}
	return out
}

// WaitWebhooks waits until every event so far has been delivered or given
// up on (after its last retry, or because the server closed), or until
// ctx is done.
func (s *Server) WaitWebhooks(ctx context.Context) error {
	h := &s.hooks
	h.mu.Lock()
	if h.pending == 0 {
		h.mu.Unlock()
		return nil
	}
	idle := h.idle
	h.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// webhookHub queues and makes deliveries. Its zero value is ready; it
// never takes s.mu, so events may be emitted with s.mu held.
type webhookHub struct {
	mu         sync.Mutex
	closed     bool
	endpoints  []*webhookEndpoint
	deliveries []WebhookDelivery
	pending    int           // events queued or being delivered
	idle       chan struct{} // closed when pending drops to zero
	workers    sync.WaitGroup
	transport  *http.Transport
}

type webhookEndpoint struct {
	WebhookEndpoint
	queue   []webhookEvent
	running bool // a worker drains the queue
}

func (ep *webhookEndpoint) public() WebhookEndpoint {
	out := ep.WebhookEndpoint
	out.EventTypes = slices.Clone(out.EventTypes)
	return out
}

func (ep *webhookEndpoint) wants(typ string) bool {
	return slices.Contains(ep.EventTypes, "*") || slices.Contains(ep.EventTypes, typ)
}

// webhookEvent is an event to deliver: its id, type and envelope.
type webhookEvent struct {
	id, typ string
	body    []byte
}

// webhookEnvelope is the documented delivery body.
type webhookEnvelope struct {
	Type      string      `json:"type"`
	ID        string      `json:"id"`
	CreatedAt string      `json:"created_at"`
	Data      webhookData `json:"data"`
}

type webhookData struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// emitWebhook queues an event about resource id for every endpoint that
// subscribes to typ. It may be called with s.mu held.
func (s *Server) emitWebhook(typ, id string) {
	h := &s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.endpoints) == 0 {
		return
	}
	ev := webhookEvent{id: newID("whe_"), typ: typ}
	ev.body, _ = encodeJSON(webhookEnvelope{Type: "event", ID: ev.id, CreatedAt: timestamp(time.Now()), Data: webhookData{Type: typ, ID: id}})
	ev.body = bytes.TrimSuffix(ev.body, []byte("\n"))
	for _, ep := range h.endpoints {
		if !ep.wants(typ) {
			continue
		}
		if h.pending == 0 {
			h.idle = make(chan struct{})
		}
		h.pending++
		ep.queue = append(ep.queue, ev)
		if !ep.running {
			ep.running = true
			h.workers.Add(1)
			go s.deliverQueue(ep)
		}
	}
}

// sessionUpdatedWebhook emits session.updated when an update changed what
// the catalog says the event is for: the title or the metadata.
func (s *Server) sessionUpdatedWebhook(id string, changed map[string]any) {
	_, title := changed["title"]
	_, metadata := changed["metadata"]
	if title || metadata {
		s.emitWebhook("session.updated", id)
	}
}

// deliverQueue delivers ep's events in order until its queue is empty.
func (s *Server) deliverQueue(ep *webhookEndpoint) {
	h := &s.hooks
	defer h.workers.Done()
	for {
		h.mu.Lock()
		if len(ep.queue) == 0 {
			ep.running = false
			h.mu.Unlock()
			return
		}
		ev := ep.queue[0]
		ep.queue = ep.queue[1:]
		target := ep.public()
		h.mu.Unlock()

		s.deliver(target, ev)

		h.mu.Lock()
		h.pending--
		if h.pending == 0 {
			close(h.idle)
		}
		h.mu.Unlock()
	}
}

// deliver makes the attempts of one event: the first, then a retry after
// each answer that is not 2xx, with doubling waits, until the retries are
// spent or the server closes.
func (s *Server) deliver(ep WebhookEndpoint, ev webhookEvent) {
	cfg := s.cfg.webhooks
	if !cfg.set {
		cfg = webhookConfig{retries: defaultWebhookRetries, backoff: defaultWebhookBackoff}
	}
	wait := cfg.backoff
	for attempt := 1; ; attempt++ {
		if s.ctx.Err() != nil {
			return
		}
		d := s.attempt(ep, ev, attempt)
		s.hooks.mu.Lock()
		s.hooks.deliveries = append(s.hooks.deliveries, d)
		s.hooks.mu.Unlock()
		if d.Delivered() || attempt > cfg.retries {
			return
		}
		if !sleep(s.ctx, s.ctx, wait) {
			return
		}
		wait *= 2
	}
}

// attempt POSTs ev to ep once, signed now.
func (s *Server) attempt(ep WebhookEndpoint, ev webhookEvent, n int) WebhookDelivery {
	now := time.Now()
	sig, err := qoder.SignWebhook(ep.Secret, ev.id, now, ev.body)
	d := WebhookDelivery{EndpointID: ep.ID, EventID: ev.id, EventType: ev.typ, Attempt: n, Body: ev.body, Err: err}
	if err != nil { // AddWebhookEndpoint checked the secret
		return d
	}
	d.Header = http.Header{}
	d.Header.Set("Content-Type", "application/json; charset=utf-8")
	d.Header.Set("User-Agent", WebhookUserAgent)
	d.Header.Set(qoder.WebhookHeaderID, ev.id)
	d.Header.Set(qoder.WebhookHeaderEventType, ev.typ)
	d.Header.Set(qoder.WebhookHeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	d.Header.Set(qoder.WebhookHeaderSignature, sig)
	ctx, cancel := context.WithTimeout(s.ctx, webhookAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(ev.body))
	if err != nil {
		d.Err = err
		return d
	}
	req.Header = d.Header.Clone()
	resp, err := (&http.Client{Transport: s.hooks.client()}).Do(req)
	if err != nil {
		d.Err = err
		return d
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	d.StatusCode = resp.StatusCode
	return d
}

// client returns the hub's transport, made on first use.
func (h *webhookHub) client() *http.Transport {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.transport == nil {
		h.transport = &http.Transport{DisableKeepAlives: true}
	}
	return h.transport
}

// close stops new deliveries and waits for the workers. Once the server's
// context is canceled they give up on what is queued at once.
func (h *webhookHub) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.workers.Wait()
}
