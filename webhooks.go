package qoder

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a webhook delivery. Only Webhook-ID and Webhook-Timestamp
// are covered by the signature: Webhook-Event-Type is informational, and
// [VerifyWebhook] takes the event type from the signed body instead.
const (
	WebhookHeaderID        = "Webhook-ID"
	WebhookHeaderEventType = "Webhook-Event-Type"
	WebhookHeaderTimestamp = "Webhook-Timestamp"
	WebhookHeaderSignature = "Webhook-Signature"
)

// DefaultWebhookTolerance is how far a delivery's Webhook-Timestamp may be
// from the local clock, in either direction, unless [WithWebhookTolerance]
// sets another.
const DefaultWebhookTolerance = 5 * time.Minute

// DefaultWebhookMaxBodySize is the largest body [WebhookHandler] reads,
// unless [WithWebhookMaxBodySize] sets another.
const DefaultWebhookMaxBodySize = 1 << 20

// Webhook errors. Each failure has its own value; the errors returned wrap
// one of them with details, so match them with errors.Is. No error ever
// contains a secret, and none quotes a header's value.
var (
	// ErrWebhookMissingHeader: Webhook-ID, Webhook-Timestamp or
	// Webhook-Signature is absent or empty.
	ErrWebhookMissingHeader = errors.New("qoder: webhook header missing")
	// ErrWebhookMalformedHeader: Webhook-Timestamp is not Unix seconds, or
	// Webhook-Signature holds no "version,signature" entry.
	ErrWebhookMalformedHeader = errors.New("qoder: webhook header malformed")
	// ErrWebhookBadSignature: no signature in Webhook-Signature matches the
	// delivery under any of the secrets. A forged or tampered delivery, or
	// a secret that is not the endpoint's.
	ErrWebhookBadSignature = errors.New("qoder: webhook signature does not match")
	// ErrWebhookTooOld: the signature matches but Webhook-Timestamp is
	// further in the past than the tolerance (a replay, or a slow clock).
	ErrWebhookTooOld = errors.New("qoder: webhook timestamp too old")
	// ErrWebhookTooNew: the signature matches but Webhook-Timestamp is
	// further in the future than the tolerance (a fast sender clock).
	ErrWebhookTooNew = errors.New("qoder: webhook timestamp too new")
	// ErrWebhookMalformedBody: the signature matches but the body is not
	// the JSON envelope {"type":"event","id","created_at","data":{...}}.
	ErrWebhookMalformedBody = errors.New("qoder: webhook body malformed")
	// ErrWebhookBodyTooLarge: [WebhookHandler] read more than its body
	// limit.
	ErrWebhookBodyTooLarge = errors.New("qoder: webhook body too large")
	// ErrWebhookInvalidSecret: a secret is empty or not base64 (after an
	// optional "whsec_" prefix). This is a configuration error, not a bad
	// delivery.
	ErrWebhookInvalidSecret = errors.New("qoder: webhook secret invalid")
)

// WebhookOption configures [VerifyWebhook] and [WebhookHandler].
type WebhookOption func(*webhookConfig)

type webhookConfig struct {
	secrets   []string
	tolerance time.Duration
	now       func() time.Time
	maxBody   int64
	dedup     WebhookDeduplicator
	logger    *slog.Logger
}

func newWebhookConfig(secret string, opts []WebhookOption) *webhookConfig {
	cfg := &webhookConfig{
		secrets:   []string{secret},
		tolerance: DefaultWebhookTolerance,
		now:       time.Now,
		maxBody:   DefaultWebhookMaxBodySize,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(cfg)
		}
	}
	return cfg
}

// WithWebhookSecrets accepts deliveries signed with any of secrets as well
// as with the main secret, for rotating an endpoint's secret: verify with
// the new and the old one until the old one is retired.
func WithWebhookSecrets(secrets ...string) WebhookOption {
	return func(c *webhookConfig) { c.secrets = append(c.secrets, secrets...) }
}

// WithWebhookTolerance sets how far Webhook-Timestamp may be from the
// clock, in the past or the future (default [DefaultWebhookTolerance]).
// Zero or less restores the default: the check cannot be turned off; to
// replay a recorded delivery in a test, set the clock with
// [WithWebhookClock] instead.
func WithWebhookTolerance(d time.Duration) WebhookOption {
	return func(c *webhookConfig) {
		if d <= 0 {
			d = DefaultWebhookTolerance
		}
		c.tolerance = d
	}
}

// WithWebhookClock sets the clock that timestamps are checked against
// (default time.Now). A nil clock restores the default.
func WithWebhookClock(now func() time.Time) WebhookOption {
	return func(c *webhookConfig) {
		if now == nil {
			now = time.Now
		}
		c.now = now
	}
}

// WithWebhookMaxBodySize sets the largest body [WebhookHandler] reads
// (default [DefaultWebhookMaxBodySize]); a larger one is answered 413.
// Zero or less restores the default. [VerifyWebhook] ignores it.
func WithWebhookMaxBodySize(n int64) WebhookOption {
	return func(c *webhookConfig) {
		if n <= 0 {
			n = DefaultWebhookMaxBodySize
		}
		c.maxBody = n
	}
}

// WithWebhookDeduplicator makes [WebhookHandler] skip deliveries whose
// Webhook-ID it has handled already (delivery is at least once). See
// [WebhookDeduplicator]; [NewWebhookMemoryDeduplicator] keeps ids in
// memory. [VerifyWebhook] ignores it.
func WithWebhookDeduplicator(d WebhookDeduplicator) WebhookOption {
	return func(c *webhookConfig) { c.dedup = d }
}

// WithWebhookLogger sets the logger of [WebhookHandler] (default: none).
// It logs rejected deliveries at warn level, failures of the handling
// function at error level and handled or duplicate deliveries at debug
// level, with the delivery's id; never a secret, a signature or a body.
// [VerifyWebhook] ignores it.
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(c *webhookConfig) { c.logger = l }
}

// VerifyWebhook checks that a delivery comes from Qoder and decodes it.
// header and body are the request's headers and its raw, unparsed body.
// secret is the endpoint's signing secret, with or without its "whsec_"
// prefix; [WithWebhookSecrets] adds more for rotation.
//
// The delivery is genuine when one of the space-separated "v1,<base64>"
// signatures in Webhook-Signature is the HMAC-SHA256, under one of the
// secrets, of "<Webhook-ID>.<Webhook-Timestamp>.<body>"; the comparison
// takes constant time. It must also be signed within the tolerance of the
// clock ([WithWebhookTolerance], [WithWebhookClock]), in either direction.
//
// The signing input and the secret's format follow the Standard Webhooks
// scheme, which the delivery headers match; Qoder's documentation does not
// spell them out, so they are inferred until live traffic confirms them.
//
// The error wraps one of the ErrWebhook* values. A delivery that fails the
// signature check is always [ErrWebhookBadSignature], whatever its
// timestamp, so [ErrWebhookTooOld] and [ErrWebhookTooNew] mean a genuine
// delivery outside the tolerance. VerifyWebhook never panics.
func VerifyWebhook(secret string, header http.Header, body []byte, opts ...WebhookOption) (*WebhookEvent, error) {
	return newWebhookVerifier(newWebhookConfig(secret, opts)).verify(header, body)
}

// SignWebhook returns the Webhook-Signature value ("v1,<base64>") of a
// delivery with the given Webhook-ID, Webhook-Timestamp (Unix seconds of
// timestamp) and body, signed with secret as Qoder signs deliveries. It is
// meant for tests of your own webhook handler: set the three headers and
// send the body.
func SignWebhook(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := webhookKey(secret)
	if err != nil {
		return "", err
	}
	mac := webhookMAC(key, id, strconv.FormatInt(timestamp.Unix(), 10), body)
	return webhookSignatureVersion + "," + base64.StdEncoding.EncodeToString(mac), nil
}

// The signing scheme, kept in this one place. It is the Standard Webhooks
// scheme: Qoder documents the header names and the "v1,<base64
// HMAC-SHA256>" format, which match it, but not the signing input or the
// secret's encoding. If live traffic shows otherwise, the change is here.
const (
	webhookSignatureVersion = "v1"
	webhookSecretPrefix     = "whsec_"
)

// webhookKey decodes a signing secret: an optional "whsec_" prefix, then
// standard base64.
func webhookKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, webhookSecretPrefix))
	if err != nil {
		// err is a base64.CorruptInputError: an offset, never the secret.
		return nil, fmt.Errorf("%w: not base64 (%v)", ErrWebhookInvalidSecret, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrWebhookInvalidSecret)
	}
	return key, nil
}

// webhookMAC is the HMAC-SHA256 under key of "<id>.<timestamp>.<body>".
func webhookMAC(key []byte, id, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// webhookVerifier holds decoded secrets, so that a handler decodes them
// once.
type webhookVerifier struct {
	keys      [][]byte
	keyErr    error
	tolerance time.Duration
	now       func() time.Time
}

func newWebhookVerifier(cfg *webhookConfig) *webhookVerifier {
	v := &webhookVerifier{tolerance: cfg.tolerance, now: cfg.now}
	for i, s := range cfg.secrets {
		key, err := webhookKey(s)
		if err != nil {
			if len(cfg.secrets) > 1 {
				err = fmt.Errorf("secret %d of %d: %w", i+1, len(cfg.secrets), err)
			}
			v.keyErr = err
			return v
		}
		v.keys = append(v.keys, key)
	}
	return v
}

// verify checks the headers, the signature, then the timestamp, and
// decodes the body.
func (v *webhookVerifier) verify(header http.Header, body []byte) (*WebhookEvent, error) {
	if v.keyErr != nil {
		return nil, v.keyErr
	}
	id := strings.TrimSpace(headerValue(header, WebhookHeaderID))
	ts := strings.TrimSpace(headerValue(header, WebhookHeaderTimestamp))
	sigs := strings.Join(headerValues(header, WebhookHeaderSignature), " ")
	for _, h := range []struct{ name, value string }{
		{WebhookHeaderID, id}, {WebhookHeaderTimestamp, ts}, {WebhookHeaderSignature, strings.TrimSpace(sigs)},
	} {
		if h.value == "" {
			return nil, fmt.Errorf("%w: %s", ErrWebhookMissingHeader, h.name)
		}
	}
	sec, ok := parseUnixSeconds(ts)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not Unix seconds", ErrWebhookMalformedHeader, WebhookHeaderTimestamp)
	}
	candidates, wellFormed := parseSignatures(sigs)
	if !wellFormed {
		return nil, fmt.Errorf("%w: %s holds no \"version,signature\" entry", ErrWebhookMalformedHeader, WebhookHeaderSignature)
	}
	if !v.matches(id, ts, body, candidates) {
		return nil, ErrWebhookBadSignature
	}
	if err := v.checkTime(time.Unix(sec, 0)); err != nil {
		return nil, err
	}
	ev, err := decodeWebhookEvent(body)
	if err != nil {
		return nil, err
	}
	ev.ID = id
	return ev, nil
}

// matches reports whether one of the candidate MACs is the delivery's MAC
// under one of the keys. Each comparison takes constant time.
func (v *webhookVerifier) matches(id, ts string, body []byte, candidates [][]byte) bool {
	if len(candidates) == 0 {
		return false
	}
	for _, key := range v.keys {
		want := webhookMAC(key, id, ts, body)
		for _, c := range candidates {
			if hmac.Equal(want, c) {
				return true
			}
		}
	}
	return false
}

func (v *webhookVerifier) checkTime(signed time.Time) error {
	now := v.now()
	switch {
	case now.Sub(signed) > v.tolerance:
		return fmt.Errorf("%w: signed %s before the clock, tolerance %s", ErrWebhookTooOld, now.Sub(signed).Round(time.Second), v.tolerance)
	case signed.Sub(now) > v.tolerance:
		return fmt.Errorf("%w: signed %s after the clock, tolerance %s", ErrWebhookTooNew, signed.Sub(now).Round(time.Second), v.tolerance)
	}
	return nil
}

// parseSignatures splits a Webhook-Signature value into its space-separated
// "version,base64" entries and returns the decoded signatures of the
// supported version. wellFormed is false when no entry has that form at
// all; entries of other versions are well formed but never match.
func parseSignatures(value string) (sigs [][]byte, wellFormed bool) {
	for entry := range strings.FieldsSeq(value) {
		version, enc, ok := strings.Cut(entry, ",")
		if !ok || version == "" || enc == "" {
			continue
		}
		if version != webhookSignatureVersion {
			wellFormed = true
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			continue
		}
		wellFormed = true
		sigs = append(sigs, sig)
	}
	return sigs, wellFormed
}

// parseUnixSeconds parses a non-negative decimal count of seconds, digits
// only.
func parseUnixSeconds(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// headerValues returns the values of the header name, also when header was
// built by hand with a key that is not in canonical form ("Webhook-ID"
// rather than "Webhook-Id").
func headerValues(header http.Header, name string) []string {
	if vs := header.Values(name); len(vs) > 0 {
		return vs
	}
	for k, vs := range header {
		if strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
}

func headerValue(header http.Header, name string) string {
	if vs := headerValues(header, name); len(vs) > 0 {
		return vs[0]
	}
	return ""
}
