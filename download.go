package qoder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DownloadURL is a presigned URL of some content and when it stops
// working. Fetch it without the client's token: the signature is in the URL.
type DownloadURL struct {
	resourceJSON

	// URL is the presigned URL; it carries the signature in its query, so
	// treat it as a secret until it expires.
	URL string `json:"url"`
	// ExpiresAt is when the URL stops working, about an hour after it was
	// made; zero when the API did not say.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// maxLinkSize bounds how much of a JSON answer is read while looking for a
// presigned URL in it.
const maxLinkSize = 64 << 10

// openContent sends a GET to path, a ".../content" route, without following
// redirects. It returns either the content itself, as an open body, or the
// presigned URL the API answered with: a 200 JSON {url, expires_at}, or the
// legacy 3xx whose Location (else its JSON) names it.
func (c *Client) openContent(ctx context.Context, path apiPath, accept string, opts []RequestOption) (io.ReadCloser, *DownloadURL, error) {
	p, err := c.prepare(http.MethodGet, path, nil, nil, append(slices.Clip(opts), answerRedirects))
	if err != nil {
		return nil, nil, err
	}
	p.accept, p.keepBody = accept, true
	resp, data, err := c.send(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	if p.cfg.responseInto != nil {
		shown := *resp
		shown.Body = http.NoBody
		if data != nil {
			shown.Body = io.NopCloser(bytes.NewReader(data))
		}
		*p.cfg.responseInto = &shown
	}
	if isRedirect(resp.StatusCode) {
		link, err := redirectLink(resp, data)
		if err != nil {
			return nil, nil, fmt.Errorf("qoder: GET /%s: %w", path, err)
		}
		return nil, link, nil
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType != "application/json" {
		return resp.Body, nil, nil
	}
	// A JSON answer is the presigned URL, unless it has none: then it is
	// the content itself, whose start was read to find out.
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxLinkSize))
	if err != nil {
		_ = resp.Body.Close()
		return nil, nil, c.redact.error(fmt.Errorf("qoder: GET /%s: reading the response: %w", path, err))
	}
	var link DownloadURL
	if len(head) < maxLinkSize && json.Unmarshal(head, &link) == nil && link.URL != "" {
		_ = resp.Body.Close()
		keepRawJSON(&link, head)
		return nil, &link, nil
	}
	return readCloser{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}, nil, nil
}

// redirectLink reads the presigned URL of a legacy 3xx answer: its Location,
// resolved against the request URL, else the url of its JSON body.
func redirectLink(resp *http.Response, data []byte) (*DownloadURL, error) {
	var link DownloadURL
	if json.Unmarshal(data, &link) == nil { // the body is optional; Location decides
		keepRawJSON(&link, data)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		base := &url.URL{}
		if resp.Request != nil && resp.Request.URL != nil {
			base = resp.Request.URL
		}
		u, err := base.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("the %d response has an invalid Location: %w", resp.StatusCode, redactURLError(err))
		}
		link.URL = u.String()
	}
	if link.URL == "" {
		return nil, fmt.Errorf("the %d response names no download URL (no Location, no url)", resp.StatusCode)
	}
	return &link, nil
}

// fetchPresigned GETs a presigned URL and returns its open body. The
// request carries neither the token nor any header of the client or of the
// call: only User-Agent and Accept. It is sent through the client's HTTP
// client, so the redirect rules hold for any hop the storage host asks for
// (at most 10, never from https to http), and it is retried like any GET.
// Of the call's options, opts, it takes the retry count, the request
// timeout and the middlewares. An https API never downloads over plain
// http.
func (c *Client) fetchPresigned(ctx context.Context, link *DownloadURL, opts []RequestOption) (io.ReadCloser, error) {
	u, err := url.Parse(link.URL)
	if err != nil {
		return nil, fmt.Errorf("qoder: invalid download URL: %w", redactURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("qoder: invalid download URL %q: it must be an absolute http(s) URL", strip(u))
	}
	if strings.EqualFold(c.baseURL.Scheme, "https") && !strings.EqualFold(u.Scheme, "https") {
		return nil, fmt.Errorf("qoder: will not download over plain http from an https API: %q", strip(u))
	}
	call := requestConfig{maxRetries: c.maxRetries}
	call.apply(opts)
	p := &preparedRequest{
		method:     http.MethodGet,
		path:       apiPath{path: strip(u)}, // no template: not a route of the API
		url:        u.String(),
		cfg:        requestConfig{maxRetries: call.maxRetries, timeout: call.timeout},
		middleware: append(slices.Clip(c.middleware), call.middleware...),
		accept:     "*/*",
		keepBody:   true,
		anonymous:  true,
	}
	resp, _, err := c.send(ctx, p)
	if err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusForbidden || apiErr.StatusCode == http.StatusUnauthorized) {
			return nil, fmt.Errorf("%w (the presigned download URL was refused; it may have expired: ask for a new one)", err)
		}
		return nil, err
	}
	return resp.Body, nil
}

// strip returns u without its query, fragment and user info, for errors
// and logs: a presigned URL's query is its signature.
func strip(u *url.URL) string {
	cp := *u
	cp.RawQuery, cp.ForceQuery, cp.Fragment, cp.RawFragment, cp.User = "", false, "", "", nil
	return cp.String()
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}
