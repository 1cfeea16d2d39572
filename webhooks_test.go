package qoder

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A delivery whose signature was computed outside Go, with
//
//	printf '%s' "$id.$ts.$body" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(printf '%s' "$key" | xxd -p -c 100) -binary | base64
const (
	testWebhookKey       = "qoder-go webhook test key 32byt!"
	testWebhookSecret    = "whsec_cW9kZXItZ28gd2ViaG9vayB0ZXN0IGtleSAzMmJ5dCE="
	testWebhookID        = "whe_01jbz8r6k9x2c5v7n4m3q0w1e8"
	testWebhookTimestamp = "1767225600" // 2026-01-01T00:00:00Z
	testWebhookBody      = `{"type":"event","id":"whe_01jbz8r6k9x2c5v7n4m3q0w1e8","created_at":"2026-01-01T00:00:00Z","data":{"type":"session.created","id":"sess_019e390add9f7bac9b6cc806db46fcbd"}}`
	testWebhookSignature = "v1,AyBZpuOsAClWW1UxN8XmoBaDvlZy03pOib9wvCmllxI="
	// otherWebhookSecret is a valid secret that is not the endpoint's.
	otherWebhookSecret = "whsec_b3RoZXIgc2VjcmV0IG9mIGFub3RoZXIgZW5kcG9pbnQ="
)

var testWebhookTime = time.Unix(1767225600, 0)

// atTestTime is the clock of every verification in these tests.
func atTestTime(d time.Duration) WebhookOption {
	return WithWebhookClock(func() time.Time { return testWebhookTime.Add(d) })
}

// webhookHeader returns the three signed headers of a delivery.
func webhookHeader(id, timestamp, signature string) http.Header {
	h := http.Header{}
	h.Set(WebhookHeaderID, id)
	h.Set(WebhookHeaderTimestamp, timestamp)
	h.Set(WebhookHeaderSignature, signature)
	h.Set(WebhookHeaderEventType, "session.created")
	return h
}

// mustSign signs a delivery at testWebhookTime+offset and returns its
// headers.
func mustSign(t testing.TB, secret, id string, offset time.Duration, body string) http.Header {
	t.Helper()
	at := testWebhookTime.Add(offset)
	sig, err := SignWebhook(secret, id, at, []byte(body))
	require.NoError(t, err)
	return webhookHeader(id, strconv.FormatInt(at.Unix(), 10), sig)
}

// independentSignature computes a v1 signature with crypto/hmac directly,
// not through the package's code.
func independentSignature(key []byte, signed string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSignWebhook_KnownAnswer(t *testing.T) {
	t.Parallel()
	signed := testWebhookID + "." + testWebhookTimestamp + "." + testWebhookBody
	require.Equal(t, testWebhookSignature, independentSignature([]byte(testWebhookKey), signed), "the test's own HMAC disagrees with openssl")

	for _, secret := range []string{testWebhookSecret, strings.TrimPrefix(testWebhookSecret, "whsec_")} {
		got, err := SignWebhook(secret, testWebhookID, testWebhookTime, []byte(testWebhookBody))
		require.NoError(t, err)
		assert.Equal(t, testWebhookSignature, got, "secret %q", secret)
	}
	// The timestamp is whole seconds: a fraction does not change it.
	got, err := SignWebhook(testWebhookSecret, testWebhookID, testWebhookTime.Add(999*time.Millisecond), []byte(testWebhookBody))
	require.NoError(t, err)
	assert.Equal(t, testWebhookSignature, got)
}

func TestVerifyWebhook_KnownAnswer(t *testing.T) {
	t.Parallel()
	ev, err := VerifyWebhook(testWebhookSecret, webhookHeader(testWebhookID, testWebhookTimestamp, testWebhookSignature), []byte(testWebhookBody), atTestTime(0))
	require.NoError(t, err)
	assert.Equal(t, testWebhookID, ev.ID)
	assert.Equal(t, WebhookTypeSessionCreated, ev.Type)
	assert.True(t, testWebhookTime.Equal(ev.CreatedAt), "created_at %v", ev.CreatedAt)
	assert.Equal(t, &SessionCreatedWebhook{ID: "sess_019e390add9f7bac9b6cc806db46fcbd"}, ev.Data)
	assert.JSONEq(t, `{"type":"session.created","id":"sess_019e390add9f7bac9b6cc806db46fcbd"}`, string(ev.RawData))
}

func TestVerifyWebhook_Rejects(t *testing.T) {
	t.Parallel()
	valid := func() http.Header { return webhookHeader(testWebhookID, testWebhookTimestamp, testWebhookSignature) }
	with := func(name, value string) http.Header {
		h := valid()
		h.Set(name, value)
		return h
	}
	without := func(name string) http.Header {
		h := valid()
		h.Del(name)
		return h
	}
	signedBody := func(body string) (http.Header, string) {
		return mustSign(t, testWebhookSecret, testWebhookID, 0, body), body
	}
	notJSON, notJSONBody := signedBody(`not json`)
	noData, noDataBody := signedBody(`{"type":"event","id":"whe_1","created_at":"2026-01-01T00:00:00Z"}`)
	nullData, nullDataBody := signedBody(`{"type":"event","id":"whe_1","data":null}`)
	stringData, stringDataBody := signedBody(`{"type":"event","id":"whe_1","data":"session.created"}`)
	badTime, badTimeBody := signedBody(`{"type":"event","id":"whe_1","created_at":"yesterday","data":{"type":"session.created","id":"s"}}`)
	array, arrayBody := signedBody(`[{"type":"event"}]`)

	tests := []struct {
		name   string
		header http.Header
		body   string
		secret string
		opts   []WebhookOption
		want   error
	}{
		{name: "tampered body", header: valid(), body: strings.Replace(testWebhookBody, "created", "deleted", 1), want: ErrWebhookBadSignature},
		{name: "body with a trailing newline", header: valid(), body: testWebhookBody + "\n", want: ErrWebhookBadSignature},
		{name: "tampered id", header: with(WebhookHeaderID, "whe_other"), body: testWebhookBody, want: ErrWebhookBadSignature},
		{name: "tampered timestamp", header: with(WebhookHeaderTimestamp, "1767225601"), body: testWebhookBody, want: ErrWebhookBadSignature},
		{name: "wrong secret", header: valid(), body: testWebhookBody, secret: otherWebhookSecret, want: ErrWebhookBadSignature},
		{name: "signature of the raw key, not the decoded one", header: with(WebhookHeaderSignature, independentSignature([]byte(strings.TrimPrefix(testWebhookSecret, "whsec_")), testWebhookID+"."+testWebhookTimestamp+"."+testWebhookBody)), body: testWebhookBody, want: ErrWebhookBadSignature},
		{name: "unsupported version only", header: with(WebhookHeaderSignature, "v2,"+strings.TrimPrefix(testWebhookSignature, "v1,")), body: testWebhookBody, want: ErrWebhookBadSignature},
		{name: "truncated signature", header: with(WebhookHeaderSignature, "v1,AyBZpuOsAClWW1UxN8XmoBaDvlZy03pOib9wvCml"), body: testWebhookBody, want: ErrWebhookBadSignature},
		{name: "empty body", header: valid(), body: "", want: ErrWebhookBadSignature},
		{name: "missing Webhook-ID", header: without(WebhookHeaderID), body: testWebhookBody, want: ErrWebhookMissingHeader},
		{name: "missing Webhook-Timestamp", header: without(WebhookHeaderTimestamp), body: testWebhookBody, want: ErrWebhookMissingHeader},
		{name: "missing Webhook-Signature", header: without(WebhookHeaderSignature), body: testWebhookBody, want: ErrWebhookMissingHeader},
		{name: "blank Webhook-ID", header: with(WebhookHeaderID, "  "), body: testWebhookBody, want: ErrWebhookMissingHeader},
		{name: "no headers", header: http.Header{}, body: testWebhookBody, want: ErrWebhookMissingHeader},
		{name: "nil header", header: nil, body: testWebhookBody, want: ErrWebhookMissingHeader},
		{name: "timestamp in milliseconds form", header: with(WebhookHeaderTimestamp, "1767225600.000"), body: testWebhookBody, want: ErrWebhookMalformedHeader},
		{name: "timestamp as a date", header: with(WebhookHeaderTimestamp, "2026-01-01T00:00:00Z"), body: testWebhookBody, want: ErrWebhookMalformedHeader},
		{name: "negative timestamp", header: with(WebhookHeaderTimestamp, "-1767225600"), body: testWebhookBody, want: ErrWebhookMalformedHeader},
		{name: "signed timestamp", header: with(WebhookHeaderTimestamp, "+1767225600"), body: testWebhookBody, want: ErrWebhookMalformedHeader},
		{name: "overlong timestamp", header: with(WebhookHeaderTimestamp, "9999999999999999999999"), body: testWebhookBody, want: ErrWebhookMalformedHeader},
		{name: "signature without version", header: with(WebhookHeaderSignature, strings.TrimPrefix(testWebhookSignature, "v1,")), body: testWebhookBody, want: ErrWebhookMalformedHeader},
		{name: "signature not base64", header: with(WebhookHeaderSignature, "v1,!!!not-base64!!!"), body: testWebhookBody, want: ErrWebhookMalformedHeader},
		{name: "signature with empty parts", header: with(WebhookHeaderSignature, ", v1, ,sig"), body: testWebhookBody, want: ErrWebhookMalformedHeader},
		{name: "too old", header: valid(), body: testWebhookBody, opts: []WebhookOption{atTestTime(DefaultWebhookTolerance + time.Second)}, want: ErrWebhookTooOld},
		{name: "too new", header: valid(), body: testWebhookBody, opts: []WebhookOption{atTestTime(-DefaultWebhookTolerance - time.Second)}, want: ErrWebhookTooNew},
		{name: "too old for a tighter tolerance", header: valid(), body: testWebhookBody, opts: []WebhookOption{atTestTime(31 * time.Second), WithWebhookTolerance(30 * time.Second)}, want: ErrWebhookTooOld},
		{name: "forged and stale is a bad signature", header: with(WebhookHeaderSignature, "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))), body: testWebhookBody, opts: []WebhookOption{atTestTime(time.Hour)}, want: ErrWebhookBadSignature},
		{name: "body not JSON", header: notJSON, body: notJSONBody, want: ErrWebhookMalformedBody},
		{name: "body an array", header: array, body: arrayBody, want: ErrWebhookMalformedBody},
		{name: "no data", header: noData, body: noDataBody, want: ErrWebhookMalformedBody},
		{name: "null data", header: nullData, body: nullDataBody, want: ErrWebhookMalformedBody},
		{name: "string data", header: stringData, body: stringDataBody, want: ErrWebhookMalformedBody},
		{name: "created_at not RFC 3339", header: badTime, body: badTimeBody, want: ErrWebhookMalformedBody},
		{name: "empty secret", header: valid(), body: testWebhookBody, secret: "", want: ErrWebhookInvalidSecret},
		{name: "prefix only", header: valid(), body: testWebhookBody, secret: "whsec_", want: ErrWebhookInvalidSecret},
		{name: "secret not base64", header: valid(), body: testWebhookBody, secret: "whsec_sEcReT!not*base64", want: ErrWebhookInvalidSecret},
		{name: "rotated secret not base64", header: valid(), body: testWebhookBody, secret: testWebhookSecret, opts: []WebhookOption{WithWebhookSecrets("sEcReT!not*base64")}, want: ErrWebhookInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			secret := tt.secret
			if secret == "" && tt.want != ErrWebhookInvalidSecret {
				secret = testWebhookSecret
			}
			ev, err := VerifyWebhook(secret, tt.header, []byte(tt.body), append([]WebhookOption{atTestTime(0)}, tt.opts...)...)
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, ev)
			assertNoSecret(t, err.Error(), secret)
			for _, other := range []error{ErrWebhookMissingHeader, ErrWebhookMalformedHeader, ErrWebhookBadSignature, ErrWebhookTooOld, ErrWebhookTooNew, ErrWebhookMalformedBody, ErrWebhookInvalidSecret} {
				if other != tt.want {
					assert.NotErrorIs(t, err, other)
				}
			}
		})
	}
}

// assertNoSecret checks that s shows neither the secret nor its key.
func assertNoSecret(t *testing.T, s, secret string) {
	t.Helper()
	if secret == "" || secret == "whsec_" {
		return
	}
	assert.NotContains(t, s, secret)
	assert.NotContains(t, s, strings.TrimPrefix(secret, "whsec_"))
	if key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_")); err == nil {
		assert.NotContains(t, s, string(key))
	}
}

func TestVerifyWebhook_Tolerance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		clock time.Duration // the clock minus the signing time
		opts  []WebhookOption
		want  error
	}{
		{name: "same second", clock: 0},
		{name: "exactly the default tolerance late", clock: DefaultWebhookTolerance},
		{name: "exactly the default tolerance early", clock: -DefaultWebhookTolerance},
		{name: "one second past it", clock: DefaultWebhookTolerance + time.Second, want: ErrWebhookTooOld},
		{name: "one second before it", clock: -DefaultWebhookTolerance - time.Second, want: ErrWebhookTooNew},
		{name: "a wider tolerance", clock: 10 * time.Minute, opts: []WebhookOption{WithWebhookTolerance(time.Hour)}},
		{name: "a narrower tolerance", clock: -2 * time.Second, opts: []WebhookOption{WithWebhookTolerance(time.Second)}, want: ErrWebhookTooNew},
		{name: "zero tolerance restores the default", clock: 4 * time.Minute, opts: []WebhookOption{WithWebhookTolerance(0)}},
		{name: "negative tolerance restores the default", clock: 6 * time.Minute, opts: []WebhookOption{WithWebhookTolerance(-time.Hour)}, want: ErrWebhookTooOld},
		{name: "years late", clock: 10 * 365 * 24 * time.Hour, want: ErrWebhookTooOld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := append([]WebhookOption{atTestTime(tt.clock)}, tt.opts...)
			ev, err := VerifyWebhook(testWebhookSecret, webhookHeader(testWebhookID, testWebhookTimestamp, testWebhookSignature), []byte(testWebhookBody), opts...)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, testWebhookID, ev.ID)
		})
	}

	t.Run("timestamp zero", func(t *testing.T) {
		t.Parallel()
		h := mustSign(t, testWebhookSecret, testWebhookID, -testWebhookTime.Sub(time.Unix(0, 0)), testWebhookBody)
		require.Equal(t, "0", h.Get(WebhookHeaderTimestamp))
		_, err := VerifyWebhook(testWebhookSecret, h, []byte(testWebhookBody), atTestTime(0))
		require.ErrorIs(t, err, ErrWebhookTooOld)
	})
	t.Run("far future timestamp", func(t *testing.T) {
		t.Parallel()
		h := webhookHeader(testWebhookID, "999999999999999999", "")
		h.Set(WebhookHeaderSignature, independentSignature([]byte(testWebhookKey), testWebhookID+".999999999999999999."+testWebhookBody))
		_, err := VerifyWebhook(testWebhookSecret, h, []byte(testWebhookBody), atTestTime(0))
		require.ErrorIs(t, err, ErrWebhookTooNew)
	})
	t.Run("nil clock restores time.Now", func(t *testing.T) {
		t.Parallel()
		_, err := VerifyWebhook(testWebhookSecret, webhookHeader(testWebhookID, testWebhookTimestamp, testWebhookSignature), []byte(testWebhookBody), atTestTime(0), WithWebhookClock(nil))
		require.Error(t, err, "a delivery signed on 2026-01-01 verified against the real clock")
		if time.Now().Before(testWebhookTime) {
			assert.ErrorIs(t, err, ErrWebhookTooNew)
		} else {
			assert.ErrorIs(t, err, ErrWebhookTooOld)
		}
	})
}

func TestVerifyWebhook_SeveralSignatures(t *testing.T) {
	t.Parallel()
	good := testWebhookSignature
	forged := "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
	other, err := SignWebhook(otherWebhookSecret, testWebhookID, testWebhookTime, []byte(testWebhookBody))
	require.NoError(t, err)

	tests := []struct {
		name   string
		values []string // Webhook-Signature header lines
		want   error
	}{
		{name: "valid one last", values: []string{forged + " " + other + " " + good}},
		{name: "valid one first", values: []string{good + " " + forged}},
		{name: "among other versions", values: []string{"v1a,c2lnbmF0dXJl " + good + " v2,xyz"}},
		{name: "with junk entries", values: []string{"junk ,, v1,!!! " + good}},
		{name: "extra spaces", values: []string{"  " + forged + "   " + good + "  "}},
		{name: "in a second header line", values: []string{forged, good}},
		{name: "none valid", values: []string{forged + " " + other}, want: ErrWebhookBadSignature},
		{name: "none valid over two lines", values: []string{forged, other}, want: ErrWebhookBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := webhookHeader(testWebhookID, testWebhookTimestamp, "")
			h[WebhookHeaderSignature] = nil
			h.Del(WebhookHeaderSignature)
			for _, v := range tt.values {
				h.Add(WebhookHeaderSignature, v)
			}
			_, err := VerifyWebhook(testWebhookSecret, h, []byte(testWebhookBody), atTestTime(0))
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestVerifyWebhook_RotatedSecrets(t *testing.T) {
	t.Parallel()
	const newSecret = "whsec_bmV3IHNlY3JldCBhZnRlciByb3RhdGlvbg=="
	const retired = "whsec_cmV0aXJlZCBzZWNyZXQ="
	tests := []struct {
		name     string
		signedBy string
		main     string
		more     []string
		want     error
	}{
		{name: "signed with the new secret", signedBy: newSecret, main: newSecret, more: []string{testWebhookSecret}},
		{name: "signed with the old secret", signedBy: testWebhookSecret, main: newSecret, more: []string{testWebhookSecret}},
		{name: "old secret without prefix", signedBy: testWebhookSecret, main: newSecret, more: []string{strings.TrimPrefix(testWebhookSecret, "whsec_")}},
		{name: "third of three", signedBy: retired, main: newSecret, more: []string{testWebhookSecret, retired}},
		{name: "old secret dropped", signedBy: testWebhookSecret, main: newSecret, want: ErrWebhookBadSignature},
		{name: "neither secret", signedBy: otherWebhookSecret, main: newSecret, more: []string{testWebhookSecret}, want: ErrWebhookBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := mustSign(t, tt.signedBy, testWebhookID, 0, testWebhookBody)
			_, err := VerifyWebhook(tt.main, h, []byte(testWebhookBody), atTestTime(0), WithWebhookSecrets(tt.more...))
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
		})
	}

	t.Run("both signatures during rotation", func(t *testing.T) {
		t.Parallel()
		h := mustSign(t, newSecret, testWebhookID, 0, testWebhookBody)
		h.Set(WebhookHeaderSignature, h.Get(WebhookHeaderSignature)+" "+testWebhookSignature)
		for _, secret := range []string{newSecret, testWebhookSecret} {
			_, err := VerifyWebhook(secret, h, []byte(testWebhookBody), atTestTime(0))
			require.NoError(t, err, "verifying with one of the two secrets")
		}
	})
	t.Run("error names the invalid secret by position only", func(t *testing.T) {
		t.Parallel()
		_, err := VerifyWebhook(testWebhookSecret, http.Header{}, nil, WithWebhookSecrets(newSecret, "whsec_%%%"))
		require.ErrorIs(t, err, ErrWebhookInvalidSecret)
		assert.Contains(t, err.Error(), "secret 3 of 3")
		assert.NotContains(t, err.Error(), "%%%")
	})
}

func TestVerifyWebhook_HeaderKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header http.Header
	}{
		{name: "canonical", header: webhookHeader(testWebhookID, testWebhookTimestamp, testWebhookSignature)},
		{name: "as documented, not canonical", header: http.Header{
			"Webhook-ID": {testWebhookID}, "Webhook-Timestamp": {testWebhookTimestamp}, "Webhook-Signature": {testWebhookSignature},
		}},
		{name: "lower case", header: http.Header{
			"webhook-id": {testWebhookID}, "webhook-timestamp": {testWebhookTimestamp}, "webhook-signature": {testWebhookSignature},
		}},
		{name: "surrounding spaces", header: webhookHeader(" "+testWebhookID+" ", " "+testWebhookTimestamp+" ", " "+testWebhookSignature+" ")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := VerifyWebhook(testWebhookSecret, tt.header, []byte(testWebhookBody), atTestTime(0))
			require.NoError(t, err)
			assert.Equal(t, testWebhookID, ev.ID)
		})
	}
}

func TestSignWebhook_InvalidSecret(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{"", "whsec_", "whsec_not base64!", "plain-text-secret"} {
		sig, err := SignWebhook(secret, testWebhookID, testWebhookTime, []byte(testWebhookBody))
		require.ErrorIs(t, err, ErrWebhookInvalidSecret, "secret %q", secret)
		assert.Empty(t, sig)
		assertNoSecret(t, err.Error(), secret)
		if key := strings.TrimPrefix(secret, "whsec_"); key != "" {
			assert.NotContains(t, err.Error(), key)
		}
	}
}

// TestWebhookSignatures_StandardWebhooksReference cross-checks signing and
// verification with the Standard Webhooks reference implementation for Go.
//
// The SDK does not build on that library: its ~50 lines of scheme are
// written here with the features the library lacks (several secrets, an
// injectable clock and tolerance, one error value per failure, typed
// events). The library is a test-only dependency: it requires no module
// of its own, and users' builds never fetch its source (at most its
// go.mod enters their module graph).
func TestWebhookSignatures_StandardWebhooksReference(t *testing.T) {
	t.Parallel()
	bodies := []string{testWebhookBody, "", "{}", "naïve \x00 bytes\n", strings.Repeat(`{"k":"v"}`, 5000)}
	secrets := []string{testWebhookSecret, strings.TrimPrefix(testWebhookSecret, "whsec_"), otherWebhookSecret, "whsec_AAAA", "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 100)))}
	ids := []string{testWebhookID, "msg_p5jXN8AQM9LWM0D4loKWxJek", "id.with.dots"}
	now := time.Now()
	for i, secret := range secrets {
		ref, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		for j, body := range bodies {
			id := ids[(i+j)%len(ids)]
			at := now.Add(time.Duration(j-2) * time.Minute)
			theirs, err := ref.Sign(id, at, []byte(body))
			require.NoError(t, err)
			ours, err := SignWebhook(secret, id, at, []byte(body))
			require.NoError(t, err)
			require.Equal(t, theirs, ours, "secret %d, body %d", i, j)

			h := webhookHeader(id, strconv.FormatInt(at.Unix(), 10), theirs)
			_, err = VerifyWebhook(secret, h, []byte(body), WithWebhookClock(func() time.Time { return now }))
			if body == testWebhookBody {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrWebhookMalformedBody, "the signature passed; the body is no envelope")
			}
			require.NoError(t, ref.Verify([]byte(body), h), "the reference rejects our delivery")
			h.Set(WebhookHeaderSignature, "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
			require.Error(t, ref.Verify([]byte(body), h))
			_, err = VerifyWebhook(secret, h, []byte(body), WithWebhookClock(func() time.Time { return now }))
			require.ErrorIs(t, err, ErrWebhookBadSignature)
		}
	}
}

// FuzzVerifyWebhook feeds VerifyWebhook and WebhookHandler any headers and
// body: neither may panic; the verifier accepts only a delivery whose
// signature is the HMAC of its content; the handler answers 4xx to
// everything else; and no error or response shows the secret.
func FuzzVerifyWebhook(f *testing.F) {
	f.Add(testWebhookID, testWebhookTimestamp, testWebhookSignature, testWebhookBody)
	f.Add(testWebhookID, testWebhookTimestamp, testWebhookSignature+" v1,", testWebhookBody+" ")
	f.Add("", "", "", "")
	f.Add("whe_1", "-1", "v1", "{")
	f.Add("whe_1", "99999999999999999999", "v1,AAAA v2,BBBB", `{"data":{"type":1}}`)
	f.Add("whe_1", "1767225600", ",,, v1,==== v1,"+strings.Repeat("A", 44), `{"type":"event","data":{"type":"session.deleted","id":5}}`)
	f.Add("\x00", "0x10", "v1,\xff\xfe", "\xff")
	handler := WebhookHandler(testWebhookSecret, func(_ context.Context, ev *WebhookEvent) error {
		if ev == nil || ev.Data == nil {
			panic("handler called without an event")
		}
		return nil
	}, atTestTime(0), WithWebhookMaxBodySize(1<<16))
	f.Fuzz(func(t *testing.T, id, ts, sig, body string) {
		h := http.Header{}
		h[WebhookHeaderID] = []string{id}
		h[WebhookHeaderTimestamp] = []string{ts}
		h[WebhookHeaderSignature] = []string{sig}
		ev, err := VerifyWebhook(testWebhookSecret, h, []byte(body), atTestTime(0))
		if err == nil {
			require.NotNil(t, ev)
			require.NotNil(t, ev.Data)
			want := independentSignature([]byte(testWebhookKey), strings.TrimSpace(id)+"."+strings.TrimSpace(ts)+"."+body)
			require.Contains(t, strings.Fields(sig), want, "accepted without the right signature")
		} else {
			require.Nil(t, ev)
			assertNoSecret(t, err.Error(), testWebhookSecret)
		}

		rec := serveWebhook(handler, h, body)
		if err == nil {
			assert.Equal(t, http.StatusNoContent, rec.Code)
		} else {
			assert.Contains(t, []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge}, rec.Code, "error %v", err)
		}
		assertNoSecret(t, rec.Body.String(), testWebhookSecret)
	})
}

func BenchmarkVerifyWebhook(b *testing.B) {
	body := fmt.Sprintf(`{"type":"event","id":"%s","created_at":"2026-01-01T00:00:00Z","data":{"type":"session.updated","id":"sess_019e390add9f7bac9b6cc806db46fcbd","pad":"%s"}}`, testWebhookID, strings.Repeat("x", 900))
	h := mustSign(b, testWebhookSecret, testWebhookID, 0, body)
	clock := atTestTime(0)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyWebhook(testWebhookSecret, h, []byte(body), clock); err != nil {
			b.Fatal(err)
		}
	}
}
