package qoder

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Option configures a [Client]; pass options to [NewClient].
type Option func(*clientConfig)

// clientConfig collects options before NewClient validates them.
type clientConfig struct {
	token      string
	tokenSet   bool // WithToken was given, even with ""
	baseURL    string
	httpClient *http.Client
	maxRetries int
	userAgent  string
	headers    http.Header
	logger     *slog.Logger
	middleware []Middleware
}

// WithToken sets the bearer token (a personal access token "pt-…" or a
// service account token). Without it NewClient reads QODER_PAT,
// QODER_PERSONAL_ACCESS_TOKEN and QODER_ACCESS_TOKEN, in that order. An
// empty (or blank) token is an error from NewClient, not a fallback to the
// environment: a token variable that is unexpectedly empty is caught
// instead of silently replaced.
func WithToken(token string) Option {
	return func(c *clientConfig) { c.token, c.tokenSet = token, true }
}

// WithBaseURL sets the API base URL, such as [DefaultBaseURL] or
// [BaseURLCN]. A trailing slash is optional. Without it NewClient reads
// QODER_BASE_URL, else uses DefaultBaseURL.
func WithBaseURL(baseURL string) Option {
	return func(c *clientConfig) { c.baseURL = baseURL }
}

// WithHTTPClient sets the HTTP client used for every request: its
// transport, cookie jar and timeout are used as they are. hc itself is not
// changed; the client keeps a copy whose CheckRedirect applies the SDK's
// redirect rules first (the token goes only to the base URL's scheme, host
// and port; only GET follows redirects, at most 10, never from https to
// http) and then calls hc's own. Deadlines come from each call's context
// and [WithRequestTimeout], so leave Timeout at zero if you stream events.
//
// Without it the client uses a private HTTP client whose transport keeps up
// to 256 idle connections to the API (net/http's default keeps 2 per
// host), sets no limit on connections per host (an HTTP/1.1 event stream
// holds one), bounds dialing to 30 s and TLS handshakes to 10 s, fails a
// call whose response headers arrive more than a minute after its request,
// body included, was sent (an event stream waits for its headers as long
// as its own idle timeout allows), takes proxies from the environment, and
// speaks HTTP/2 whenever the server offers it, pinging a connection silent
// for 30 s to find dead ones.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *clientConfig) { c.httpClient = hc }
}

// WithMaxRetries sets how many times a failed request is retried (default
// 2). Zero turns retries off; a negative value counts as zero.
func WithMaxRetries(n int) Option {
	return func(c *clientConfig) { c.maxRetries = max(n, 0) }
}

// WithUserAgent appends s to the User-Agent header, after
// "qoder-go/<version> (go<version>; <os>/<arch>)".
func WithUserAgent(s string) Option {
	return func(c *clientConfig) { c.userAgent = s }
}

// WithHeader adds a header sent with every request. It cannot replace the
// Authorization header.
func WithHeader(key, value string) Option {
	return func(c *clientConfig) { c.headers.Add(key, value) }
}

// WithLogger sets a logger. At debug level the client logs each HTTP
// attempt (method, path, status, attempt, duration and request id) and
// each retry or stream reconnect; it never logs tokens or bodies.
func WithLogger(l *slog.Logger) Option {
	return func(c *clientConfig) { c.logger = l }
}

// RequestOption changes a single call; pass it as the last arguments of
// any method.
type RequestOption func(*requestConfig)

// requestConfig is the per-call configuration built from RequestOptions.
type requestConfig struct {
	headers        http.Header
	idempotencyKey string
	maxRetries     int
	responseInto   **http.Response
	emptyBodyOK    bool // a 2xx without a body is a result (see acceptEmptyBody)
	noRedirect     bool // a 3xx is a result, not followed (see answerRedirects)
	timeout        time.Duration
	middleware     []Middleware
	bodyFields     []bodyField // applied in order to the encoded JSON body
	query          url.Values  // added to the encoded query
	fieldsMakeBody bool        // without a body, body fields make one (see Client.Do)
}

// apply applies opts, skipping nil ones.
func (r *requestConfig) apply(opts []RequestOption) {
	for _, opt := range opts {
		if opt != nil {
			opt(r)
		}
	}
}

// acceptEmptyBody lets a call whose endpoint may answer with no body (a 204
// delete) succeed on one; every other call fails on an empty 2xx body.
func acceptEmptyBody(r *requestConfig) { r.emptyBodyOK = true }

// answerRedirects makes a GET hand back a 3xx response instead of following
// it, for the downloads that read a presigned URL from its Location.
func answerRedirects(r *requestConfig) { r.noRedirect = true }

// WithIdempotencyKey sets the Idempotency-Key header of a POST. By default
// every POST gets a random key, minted once per call and reused on each
// retry; set your own to make a write idempotent across processes. The API
// keeps keys for 24 hours per token.
func WithIdempotencyKey(key string) RequestOption {
	return func(r *requestConfig) { r.idempotencyKey = key }
}

// WithRequestHeader sets a header on this call only. It cannot replace the
// Authorization header.
func WithRequestHeader(key, value string) RequestOption {
	return func(r *requestConfig) {
		if r.headers == nil {
			r.headers = make(http.Header)
		}
		r.headers.Set(key, value)
	}
}

// WithRequestMaxRetries overrides the client's retry count for this call.
func WithRequestMaxRetries(n int) RequestOption {
	return func(r *requestConfig) { r.maxRetries = max(n, 0) }
}

// WithResponseInto stores the final HTTP response of the call in *dst, for
// callers that need its headers. Its body has already been read and is
// replaced by the bytes that were read.
func WithResponseInto(dst **http.Response) RequestOption {
	return func(r *requestConfig) { r.responseInto = dst }
}

// WithRequestTimeout bounds each attempt of this call to d: the time from
// sending the request to reading the whole response (for a download or an
// event stream, to receiving the response headers). An attempt that runs
// out of time fails with an error matching [ErrRequestTimeout] and
// context.DeadlineExceeded, and is retried like a connection error, so a
// call with retries may take up to (retries+1)×d plus the waits between
// them. To bound the whole call, give it a context with a deadline. Zero
// or a negative d means no bound (the default).
func WithRequestTimeout(d time.Duration) RequestOption {
	return func(r *requestConfig) { r.timeout = max(d, 0) }
}

// WithBodyField sets the top-level field name of this call's JSON body to
// value, encoded with encoding/json (a [json.RawMessage] is sent as it is),
// replacing the field if the call's params already encode it. It sends a
// field the API accepts before this SDK version has it typed:
//
//	client.Sessions.Create(ctx, params, qoder.WithBodyField("priority", "high"))
//
// Fields are set and removed ([WithoutBodyField]) in the order of the
// options, after the params are encoded and before the first attempt, so
// every retry sends the same bytes. A call that sends no JSON body (a Get,
// an Archive, an upload's multipart form) fails before any I/O.
func WithBodyField(name string, value any) RequestOption {
	return func(r *requestConfig) { r.bodyFields = append(r.bodyFields, bodyField{name: name, value: value}) }
}

// WithoutBodyField removes the top-level field name from this call's JSON
// body, if the params encode it, as [WithBodyField] sets one.
func WithoutBodyField(name string) RequestOption {
	return func(r *requestConfig) { r.bodyFields = append(r.bodyFields, bodyField{name: name, remove: true}) }
}

// WithQueryParam adds key=value to this call's query string, after the
// params' own parameters: it sends a query parameter this SDK version does
// not type yet. Several options with one key send it several times, and a
// key the params already set is sent with both values (leave that params
// field zero to replace it). On a stream, every reconnect sends it.
func WithQueryParam(key, value string) RequestOption {
	return func(r *requestConfig) {
		if r.query == nil {
			r.query = make(url.Values)
		}
		r.query.Add(key, value)
	}
}

// BetaBrowserUse is the beta identifier that agent create and update
// requests must send (see [WithBeta]) when their tools contain the browser
// toolset.
const BetaBrowserUse = "browser-use-2026-07-14"

// WithBeta adds an x-qoder-beta header to this call, opting into a beta
// feature such as [BetaBrowserUse].
func WithBeta(beta string) RequestOption {
	return func(r *requestConfig) {
		if r.headers == nil {
			r.headers = make(http.Header)
		}
		r.headers.Add("X-Qoder-Beta", beta)
	}
}
