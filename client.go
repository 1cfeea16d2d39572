package qoder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"
)

// DefaultBaseURL is the base URL of the global region's Managed API.
const DefaultBaseURL = "https://api.qoder.com/api/v1/cloud/"

// BaseURLCN is the base URL of the China region's Managed API. Tokens of
// one region are not valid in the other.
const BaseURLCN = "https://api.qoder.com.cn/api/v1/cloud/"

// tokenEnvVars are read in order when no WithToken option is given.
var tokenEnvVars = []string{"QODER_PAT", "QODER_PERSONAL_ACCESS_TOKEN", "QODER_ACCESS_TOKEN"}

// Client is a client of the Qoder Cloud Agents API. Create one with
// [NewClient] and share it: it is safe for concurrent use, and every
// service shares its transport, authentication, retries and errors.
type Client struct {
	// Environments manages the container templates sessions run in.
	Environments *EnvironmentsService
	// Agents manages agents and their versions.
	Agents *AgentsService
	// Sessions manages sessions, their resources and threads, and runs turns.
	Sessions *SessionsService
	// Events sends events to sessions, lists their history and streams them.
	Events *EventsService
	// Models lists the models an agent can use.
	Models *ModelsService
	// Files uploads, lists and downloads files.
	Files *FilesService
	// Skills uploads skills and their versions.
	Skills *SkillsService
	// Deployments manages scheduled and on-demand agent runs.
	Deployments *DeploymentsService
	// DeploymentRuns reads the runs of every deployment.
	DeploymentRuns *DeploymentRunsService
	// Dreams runs memory consolidation jobs.
	Dreams *DreamsService
	// Vaults manages vaults and their credentials.
	Vaults *VaultsService
	// MemoryStores manages memory stores, their memories and versions.
	MemoryStores *MemoryStoresService

	baseURL    *url.URL
	baseString string // baseURL.String(), always ending in "/"
	token      string
	redact     redactor // removes token from what servers echo
	httpClient *http.Client
	maxRetries int
	userAgent  string
	headers    http.Header
	logger     *slog.Logger
	middleware []Middleware

	// backoff returns the wait before retry number attempt (0-based) when
	// the response names none (nil: the defaults); tests replace it to avoid sleeping.
	backoff func(attempt int) time.Duration
	// waitSleep waits between the polls of the Wait helpers; tests
	// replace it to run without sleeping.
	waitSleep func(ctx context.Context, d time.Duration) error

	common service
}

// service is what every service and sub-service is made of: the client
// whose one request path it calls. Each is wired once, in NewClient, from
// the client's one service value, c.common. A service without sub-services
// is declared over it and converted:
//
//	type WidgetsService service                      // widgets.go
//	c.Widgets = (*WidgetsService)(&c.common)         // NewClient
//
// A service with sub-services embeds it and lists them as exported fields,
// each a converted pointer to c.common as well:
//
//	type WidgetsService struct {
//		service
//		// Parts manages the parts of a widget.
//		Parts *WidgetPartsService
//	}
//	c.Widgets = &WidgetsService{service: c.common, Parts: (*WidgetPartsService)(&c.common)}
//
// Methods then reach the API through s.client, and most are one call:
// invoke for a read or a write, listAll for All (list params need only
// AfterID, BeforeID and Page fields tagged after_id, before_id and page),
// and deleteAt for Delete.
type service struct{ client *Client }

// NewClient returns a client configured by opts.
//
// The token comes from [WithToken]; without it, from the first non-empty
// of the environment variables QODER_PAT, QODER_PERSONAL_ACCESS_TOKEN and
// QODER_ACCESS_TOKEN. The base URL comes from [WithBaseURL]; without it,
// from QODER_BASE_URL, else [DefaultBaseURL]. NewClient fails when no token
// is found, when WithToken is given an empty one, or when the base URL is
// malformed (the error quotes the URL as given, without its password).
func NewClient(opts ...Option) (*Client, error) {
	cfg := clientConfig{maxRetries: 2, headers: make(http.Header)}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if cfg.tokenSet && strings.TrimSpace(cfg.token) == "" {
		return nil, errors.New("qoder: WithToken was given an empty token")
	}
	if cfg.token == "" {
		for _, name := range tokenEnvVars {
			if v := strings.TrimSpace(os.Getenv(name)); v != "" {
				cfg.token = v
				break
			}
		}
	}
	if cfg.token == "" {
		return nil, errors.New("qoder: no API token: pass qoder.WithToken or set QODER_PAT")
	}
	if strings.ContainsAny(cfg.token, "\r\n") {
		return nil, errors.New("qoder: the API token contains a line break")
	}
	if cfg.baseURL == "" {
		cfg.baseURL = os.Getenv("QODER_BASE_URL")
	}
	if cfg.baseURL == "" {
		cfg.baseURL = DefaultBaseURL
	}
	base, err := parseBaseURL(cfg.baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		baseURL:    base,
		baseString: base.String(),
		token:      cfg.token,
		redact:     newRedactor(cfg.token),
		httpClient: cfg.httpClient,
		maxRetries: cfg.maxRetries,
		userAgent:  defaultUserAgent,
		headers:    cfg.headers,
		logger:     cfg.logger,
		middleware: cfg.middleware,
		waitSleep:  sleepCtx,
	}
	if c.httpClient == nil {
		c.httpClient = newHTTPClient()
	}
	c.httpClient = withRedirectPolicy(c.httpClient, base)
	if cfg.userAgent != "" {
		c.userAgent += " " + cfg.userAgent
	}
	c.common.client = c
	c.Environments = &EnvironmentsService{
		service: c.common,
		Work:    (*EnvironmentWorkService)(&c.common),
	}
	c.Agents = &AgentsService{
		service:  c.common,
		Versions: (*AgentVersionsService)(&c.common),
	}
	c.Sessions = &SessionsService{
		service:   c.common,
		Resources: (*SessionResourcesService)(&c.common),
		Threads:   (*SessionThreadsService)(&c.common),
	}
	c.Events = (*EventsService)(&c.common)
	c.Models = (*ModelsService)(&c.common)
	c.Files = (*FilesService)(&c.common)
	c.Skills = &SkillsService{
		service:  c.common,
		Versions: (*SkillVersionsService)(&c.common),
	}
	c.Deployments = &DeploymentsService{
		service: c.common,
		Runs:    (*DeploymentsRunsService)(&c.common),
	}
	c.DeploymentRuns = (*DeploymentRunsService)(&c.common)
	c.Dreams = (*DreamsService)(&c.common)
	c.Vaults = &VaultsService{
		service:     c.common,
		Credentials: (*VaultCredentialsService)(&c.common),
	}
	c.MemoryStores = &MemoryStoresService{
		service:  c.common,
		Memories: (*MemoryStoreMemoriesService)(&c.common),
		Versions: (*MemoryStoreVersionsService)(&c.common),
	}
	return c, nil
}

// parseBaseURL checks that raw is an absolute http(s) URL and gives it a
// trailing slash, so that relative paths resolve beneath it. Its errors
// quote raw as the caller wrote it (see shownURL).
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("qoder: invalid base URL %q: %w", shownURL(raw), err)
	}
	var problem string
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		problem = "scheme must be http or https"
	case u.Host == "":
		problem = "no host"
	case u.User != nil:
		problem = "user info is not allowed (use WithToken)"
	case u.RawQuery != "" || u.Fragment != "":
		problem = "query and fragment are not allowed"
	}
	if problem != "" {
		return nil, fmt.Errorf("qoder: invalid base URL %q: %s", shownURL(raw), problem)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// shownURL is raw as the caller passed it, unescaped, except that the
// password of a user info part reads "xxxxx". The user info is found
// textually (the last "@" before the path), so that even a URL that does
// not parse never shows its password.
func shownURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		scheme, rest = "", raw
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return raw
	}
	user, _, hasPassword := strings.Cut(authority[:at], ":")
	if !hasPassword {
		return raw
	}
	shown := user + ":xxxxx" + rest[at:]
	if ok {
		shown = scheme + "://" + shown
	}
	return shown
}

// BaseURL returns the base URL requests are sent to, with a trailing slash.
func (c *Client) BaseURL() string { return c.baseString }

// String describes the client without its token. It has a value receiver
// so that a Client printed by value hides its token too.
func (c Client) String() string {
	return fmt.Sprintf("qoder.Client{BaseURL: %q, Token: [redacted]}", c.baseString)
}

// GoString describes the client for %#v without its token.
func (c Client) GoString() string { return c.String() }

// LogValue describes the client to slog without its token.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.baseString))
}

// apiPath is an endpoint's path relative to the base URL, with the
// template it was expanded from: the path goes on the wire, the template
// names the route to a middleware (RequestInfo.Route). It prints as the
// path.
type apiPath struct {
	path     string // "agents/agent_1/versions"
	template string // "agents/{agent_id}/versions"
}

// literalPath is a path without ids, its own template.
func literalPath(path string) apiPath { return apiPath{path: path, template: path} }

// String returns the path.
func (p apiPath) String() string { return p.path }

// path expands a template such as "agents/{agent_id}/versions" with ids,
// path-escaping each one. An empty id is an error naming its placeholder,
// returned before any I/O.
func (c *Client) path(template string, ids ...string) (apiPath, error) {
	var b strings.Builder
	b.Grow(len(template) + 40)
	rest := template
	for _, id := range ids {
		open := strings.IndexByte(rest, '{')
		closing := strings.IndexByte(rest, '}')
		if open < 0 || closing < open {
			return apiPath{}, fmt.Errorf("qoder: internal error: path %q has fewer placeholders than ids", template)
		}
		if id == "" {
			return apiPath{}, errInvalidParams("%s is required", rest[open+1:closing])
		}
		b.WriteString(rest[:open])
		b.WriteString(url.PathEscape(id))
		rest = rest[closing+1:]
	}
	if strings.IndexByte(rest, '{') >= 0 {
		return apiPath{}, fmt.Errorf("qoder: internal error: path %q has more placeholders than ids", template)
	}
	b.WriteString(rest)
	return apiPath{path: b.String(), template: template}, nil
}

// do is the one request path of every JSON call: it encodes query and body,
// sends the request with retries, turns an error status into *APIError, and
// decodes a successful response into out (when out is non-nil). A call that
// expects a result (out is non-nil) fails when the 2xx body is empty,
// blank or null, unless it was made with acceptEmptyBody. A result that
// embeds resourceJSON keeps the body as its Raw.
func (c *Client) do(ctx context.Context, method string, path apiPath, query, body, out any, opts ...RequestOption) error {
	req, err := c.prepare(method, path, query, body, opts)
	if err != nil {
		return err
	}
	resp, data, err := c.send(ctx, req)
	if err != nil {
		return err
	}
	if req.cfg.responseInto != nil {
		resp.Body = io.NopCloser(bytes.NewReader(data))
		*req.cfg.responseInto = resp
	}
	if out == nil {
		return nil
	}
	if trimmed := bytes.TrimSpace(data); len(trimmed) == 0 || string(trimmed) == "null" {
		if req.cfg.emptyBodyOK {
			return nil
		}
		return fmt.Errorf("qoder: %s /%s: the %d response has an empty body where a result was expected", method, path, resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("qoder: %s /%s: decoding the %d response: %w", method, path, resp.StatusCode, err)
	}
	keepRawJSON(out, data)
	return nil
}

// invoke sends one call through the client's request path and decodes the
// response into a new T. Every method of the resource services uses it.
func invoke[T any](ctx context.Context, c *Client, method string, path apiPath, query, body any, opts []RequestOption) (*T, error) {
	out := new(T)
	if err := c.do(ctx, method, path, query, body, out, opts...); err != nil {
		return nil, err
	}
	return out, nil
}

// deleteAt sends a DELETE to template filled with ids and decodes the reply
// into a new T, whose ID field names the deleted resource. Delete is the one
// call that may be answered with no body (a 204 of older API versions):
// then, or whenever the reply names no id, ID is the last of ids.
func deleteAt[T any](ctx context.Context, c *Client, opts []RequestOption, template string, ids ...string) (*T, error) {
	path, err := c.path(template, ids...)
	if err != nil {
		return nil, err
	}
	out, err := invoke[T](ctx, c, http.MethodDelete, path, nil, nil, append(slices.Clip(opts), acceptEmptyBody))
	if err != nil {
		return nil, err
	}
	if id := reflect.ValueOf(out).Elem().FieldByName("ID"); id.String() == "" {
		id.SetString(ids[len(ids)-1])
	}
	return out, nil
}

// preparedRequest is everything about a call that stays the same across
// retries.
type preparedRequest struct {
	method string
	path   apiPath
	url    string
	body   []byte    // nil: no body; replayed byte for byte on every attempt
	form   *formBody // a multipart body, written anew for each attempt
	cfg    requestConfig
	accept string

	middleware []Middleware // the client's, then the call's

	// Set by the calls that fetch content rather than JSON (download.go).
	keepBody  bool // a 2xx response body is left open for the caller
	anonymous bool // a presigned URL: no token, no client or per-call headers
}

// target names the request in errors and logs: "/" and the API path, or
// for an anonymous request its URL without the query (which may hold a
// signature).
func (p *preparedRequest) target() string {
	if p.anonymous {
		return p.path.path
	}
	return "/" + p.path.path
}

// prepare encodes the query and body and resolves per-call options.
func (c *Client) prepare(method string, path apiPath, q, body any, opts []RequestOption) (*preparedRequest, error) {
	req := &preparedRequest{
		method: method,
		path:   path,
		cfg:    requestConfig{maxRetries: c.maxRetries},
		accept: "application/json",
	}
	req.cfg.apply(opts)
	u := c.baseString + path.path
	var values url.Values
	if q != nil {
		var err error
		if values, err = encodeQuery(q); err != nil {
			return nil, fmt.Errorf("qoder: %s /%s: encoding query: %w", method, path, err)
		}
	}
	for k, vs := range req.cfg.query {
		if values == nil {
			values = make(url.Values, len(req.cfg.query))
		}
		values[k] = append(values[k], vs...)
	}
	if len(values) > 0 {
		u += "?" + values.Encode()
	}
	req.url = u
	if form, ok := body.(*formBody); ok {
		req.form = form
	} else if body != nil {
		data, err := encodeJSON(body)
		if err != nil {
			return nil, fmt.Errorf("qoder: %s /%s: encoding body: %w", method, path, err)
		}
		req.body = data
	}
	if len(req.cfg.bodyFields) > 0 {
		if err := req.applyBodyFields(); err != nil {
			return nil, err
		}
	}
	if method == http.MethodPost && req.cfg.idempotencyKey == "" {
		req.cfg.idempotencyKey = newIdempotencyKey()
	}
	req.middleware = c.middleware
	if len(req.cfg.middleware) > 0 {
		req.middleware = append(slices.Clip(c.middleware), req.cfg.middleware...)
	}
	return req, nil
}

// applyBodyFields applies the call's WithBodyField and WithoutBodyField
// options to its encoded body, refusing them, before any I/O, for a call
// that sends no JSON body.
func (p *preparedRequest) applyBodyFields() error {
	var err error
	switch {
	case p.form != nil:
		err = errors.New("this call sends a multipart form, not a JSON body")
	case p.body == nil && !p.cfg.fieldsMakeBody:
		err = errors.New("this call sends no body")
	default:
		base := p.body
		if base == nil {
			base = []byte("{}")
		}
		p.body, err = applyBodyFields(base, p.cfg.bodyFields)
	}
	if err != nil {
		return errInvalidParams("%s /%s: body field options: %v", p.method, p.path, err)
	}
	return nil
}

// newHTTPRequest builds one attempt's request; all headers are set here.
func (c *Client) newHTTPRequest(ctx context.Context, p *preparedRequest) (*http.Request, error) {
	var body io.Reader
	if p.body != nil {
		body = bytes.NewReader(p.body)
	}
	if p.cfg.noRedirect {
		ctx = withoutRedirects(ctx)
	}
	req, err := http.NewRequestWithContext(ctx, p.method, p.url, body)
	if err != nil {
		return nil, fmt.Errorf("qoder: %s %s: %w", p.method, p.target(), err)
	}
	h := req.Header
	if !p.anonymous {
		for k, vs := range c.headers {
			h[k] = append([]string(nil), vs...)
		}
		for k, vs := range p.cfg.headers {
			h[k] = append([]string(nil), vs...)
		}
		h.Set("Authorization", "Bearer "+c.token)
	}
	h.Set("User-Agent", c.userAgent)
	h.Set("Accept", p.accept)
	if p.body != nil {
		h.Set("Content-Type", "application/json")
	}
	if p.cfg.idempotencyKey != "" {
		h.Set("Idempotency-Key", p.cfg.idempotencyKey)
	}
	if p.form != nil {
		h.Set("Content-Type", p.form.contentType())
		if req.Body, err = p.form.open(); err != nil {
			return nil, fmt.Errorf("qoder: %s %s: %w", p.method, p.target(), err)
		}
		req.ContentLength = -1 // sent chunked, as it is written
	}
	return req, nil
}

// send runs the attempts of one call. It returns the final response with
// its body read (at most maxResponseSize bytes) and closed, or an error:
// ctx.Err() itself when the context ended, *APIError for an error status,
// or a wrapped transport error. With p.keepBody a 2xx body is left open
// for the caller; with p.cfg.noRedirect a 3xx is a result too. A multipart
// body that cannot be replayed is never retried, and the error says why.
func (c *Client) send(ctx context.Context, p *preparedRequest) (*http.Response, []byte, error) {
	keyed := p.cfg.idempotencyKey != ""
	for attempt := 0; ; attempt++ {
		start := time.Now()
		resp, data, final, err := c.attempt(ctx, p, attempt)
		if final {
			return nil, nil, err
		}
		c.logAttempt(ctx, p, resp, attempt, time.Since(start), err)
		retry, reason := shouldRetry(p.method, keyed, resp, err)
		noReplay := ""
		if retry && attempt < p.cfg.maxRetries && p.form != nil && p.form.rewind == nil {
			retry, noReplay = false, p.form.noReplay
		}
		if retry && attempt < p.cfg.maxRetries {
			if resp != nil && data == nil {
				drainAndClose(resp.Body) // a body kept open for the caller
			}
			delay := retryDelay(resp, attempt, c.backoff)
			c.logRetry(ctx, p, attempt, delay, reason)
			if err := sleepCtx(ctx, delay); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err != nil {
			err = fmt.Errorf("qoder: %s %s: %w", p.method, p.target(), redactURLError(err))
		} else if !isSuccess(resp.StatusCode) && !(p.cfg.noRedirect && isRedirect(resp.StatusCode)) {
			err = newAPIError(p.method, p.target(), resp, data)
		}
		if err != nil {
			if noReplay != "" {
				err = fmt.Errorf("%w (not retried: %s)", err, noReplay)
			}
			return nil, nil, c.redact.error(err)
		}
		return resp, data, nil
	}
}

// attempt makes one attempt of a call: it sends the request through the
// middlewares and reads the response body (all of it, unless p.keepBody
// and the status is 2xx: then the body is left open), all within the
// call's request timeout. With final set, err (ctx.Err() itself when ctx
// ended) ends the call as it is; otherwise an error is the attempt's, for
// shouldRetry, and resp, when not nil, has its body closed.
func (c *Client) attempt(ctx context.Context, p *preparedRequest, attempt int) (resp *http.Response, data []byte, final bool, err error) {
	actx, timer := startAttempt(ctx, p.cfg.timeout)
	kept := false // the body is left open, and ends the attempt's context when closed
	defer func() {
		if !kept {
			timer.release()
		}
	}()
	req, err := c.newHTTPRequest(actx, p)
	if err != nil {
		return nil, nil, true, err
	}
	resp, err = c.roundTrip(req, p, attempt, false)
	if ferr := p.form.finish(); ferr != nil {
		err, final = fmt.Errorf("qoder: %s %s: %w", p.method, p.target(), ferr), true
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		err, final = ctxErr, true
	}
	if err != nil {
		if resp != nil {
			drainAndClose(resp.Body)
		}
		if !final && timer.stop() {
			err = timer.err()
		}
		return nil, nil, final, err
	}
	if !p.keepBody || !isSuccess(resp.StatusCode) {
		data, err = readBody(resp)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, nil, true, ctx.Err()
		case errors.Is(err, errResponseTooLarge):
			return nil, nil, true, fmt.Errorf("qoder: %s %s: %w", p.method, p.target(), err)
		case err != nil && timer.stop():
			err = timer.err()
		}
		return resp, data, false, err
	}
	if timer.stop() { // the body is cut off
		drainAndClose(resp.Body)
		return resp, nil, false, timer.err()
	}
	resp.Body, kept = timer.closeWith(resp.Body), true
	return resp, nil, false, nil
}

// isSuccess reports whether code is a 2xx status.
func isSuccess(code int) bool { return code >= 200 && code <= 299 }

// isRedirect reports whether code is a 3xx status.
func isRedirect(code int) bool { return code >= 300 && code <= 399 }

// maxResponseSize bounds how much of a response body is read into memory.
const maxResponseSize = 64 << 20

// errResponseTooLarge is the cause of the error for a response body over
// maxResponseSize; it is never retried.
var errResponseTooLarge = errors.New("response too large")

// readBody reads and closes a response body. A 2xx body is read whole, up
// to maxResponseSize: a larger one is an error, refused before a byte is
// read when its Content-Length says so. An error body is only a
// description, so the first maxErrorBodySize bytes are kept and the rest is
// dropped.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	limit := int64(maxResponseSize)
	success := resp.StatusCode >= 200 && resp.StatusCode <= 299
	if !success {
		limit = maxErrorBodySize
	}
	if success && resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: the %d response declares %d bytes, more than %d", errResponseTooLarge, resp.StatusCode, resp.ContentLength, limit)
	}
	data, over, err := readAtMost(resp.Body, resp.ContentLength, limit, !success)
	if err != nil {
		return nil, fmt.Errorf("reading the %d response: %w", resp.StatusCode, err)
	}
	if over && success {
		return nil, fmt.Errorf("%w: the %d response is larger than %d bytes", errResponseTooLarge, resp.StatusCode, limit)
	}
	return data, nil
}

// Chunk sizes of a body of unknown length.
const (
	firstChunk = 4 << 10
	maxChunk   = 1 << 20
)

// readAtMost reads r to its end, or to limit+1 bytes, whichever comes
// first, and reports whether the body was longer than limit; then it
// returns the first limit bytes only when keepHead is set. A body whose
// length is known (size, at most limit) goes into one buffer of that size.
// Otherwise it goes into chunks that double from 4 KiB to 1 MiB, joined
// once at the end, so that a body over the limit costs about limit bytes
// and an accepted one its size twice for a moment, where a doubling buffer
// holds up to twice the limit.
func readAtMost(r io.Reader, size, limit int64, keepHead bool) (data []byte, over bool, err error) {
	if size >= 0 && size <= limit {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, false, err
		}
		var extra [1]byte
		if n, _ := r.Read(extra[:]); n > 0 {
			return nil, false, fmt.Errorf("the body is longer than its Content-Length of %d bytes", size)
		}
		return buf, false, nil
	}
	var chunks [][]byte
	total, next := int64(0), int64(firstChunk)
	for total <= limit {
		chunk := make([]byte, min(next, limit+1-total))
		n, err := io.ReadFull(r, chunk)
		chunks = append(chunks, chunk[:n])
		total += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
		next = min(2*next, maxChunk)
	}
	if over = total > limit; over {
		if !keepHead {
			return nil, true, nil
		}
		total = limit
	}
	if len(chunks) == 1 {
		return chunks[0][:total], over, nil
	}
	out := make([]byte, 0, total)
	for i, c := range chunks {
		out = append(out, c[:min(int64(len(c)), total-int64(len(out)))]...)
		chunks[i] = nil // a collection during the copy may free it
	}
	return out, over, nil
}

// drainAndClose discards a little of body so the connection can be reused,
// then closes it.
func drainAndClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 4<<10)
	_ = body.Close()
}

// redactURLError keeps the operation and cause of a *url.Error but drops
// its URL's query, so nothing a caller passed as a parameter is repeated.
func redactURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// logAttempt logs one HTTP attempt at debug level.
func (c *Client) logAttempt(ctx context.Context, p *preparedRequest, resp *http.Response, attempt int, d time.Duration, err error) {
	if c.logger == nil || !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", p.method),
		slog.String("path", p.target()),
		slog.Int("attempt", attempt+1),
		slog.Duration("duration", d),
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("request_id", resp.Header.Get("X-Request-Id")))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", redactURLError(err).Error()))
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "qoder: http request", c.redact.attrs(attrs)...)
}

// logRetry logs a retry decision at debug level.
func (c *Client) logRetry(ctx context.Context, p *preparedRequest, attempt int, delay time.Duration, reason string) {
	if c.logger == nil || !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "qoder: retrying request",
		slog.String("method", p.method),
		slog.String("path", p.target()),
		slog.Int("attempt", attempt+1),
		slog.Duration("delay", delay),
		slog.String("reason", c.redact.string(reason)))
}

// sleepCtx waits for d or until ctx ends, whichever comes first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
