package qoder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects is how many redirects one GET follows before it fails.
const maxRedirects = 10

// errRedirect is the cause of every redirect the client refuses to follow.
// Such an error is final: retrying would meet the same redirect.
var errRedirect = errors.New("redirect refused")

// origin is the scheme, host and port of a URL: the token is sent only to
// the base URL's origin.
type origin struct{ scheme, host, port string }

// originOf returns the origin of u, with the scheme's default port filled
// in so that "https://h" and "https://h:443" compare equal.
func originOf(u *url.URL) origin {
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
	if o.port == "" {
		switch o.scheme {
		case "https":
			o.port = "443"
		case "http":
			o.port = "80"
		}
	}
	return o
}

// String returns the origin as scheme://host:port.
func (o origin) String() string { return o.scheme + "://" + net.JoinHostPort(o.host, o.port) }

// withRedirectPolicy returns a shallow copy of hc (the caller's client is
// not changed) whose CheckRedirect applies the client's rules before hc's
// own: only a GET follows redirects (any other method gets the 3xx back,
// which becomes an *APIError), at most maxRedirects of them, never from
// https to http, and a hop that leaves the base URL's origin loses the
// Authorization header and every other header but portableHeaders. The check runs on every hop because net/http
// copies the first request's headers to each one and, by its own rule,
// keeps Authorization for another port or a subdomain of the same host.
func withRedirectPolicy(hc *http.Client, base *url.URL) *http.Client {
	cp := *hc
	home := originOf(base)
	next := hc.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := checkRedirect(home, req, via); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		err := next(req, via)
		if err != nil && err != http.ErrUseLastResponse {
			err = fmt.Errorf("%w: %w", errRedirect, err)
		}
		return err
	}
	return &cp
}

// noRedirectKey marks the context of a request that gets a 3xx back
// instead of following it (see withoutRedirects).
type noRedirectKey struct{}

// withoutRedirects returns a context whose requests are not redirected:
// the client hands their 3xx back, as for a write. A download uses it to
// read the Location of a presigned URL itself, so that the second request
// is made without the client's credentials and headers.
func withoutRedirects(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRedirectKey{}, true)
}

// checkRedirect is the client's redirect rule for the hop to req; via holds
// the requests already made, oldest first.
func checkRedirect(home origin, req *http.Request, via []*http.Request) error {
	if req.Context().Value(noRedirectKey{}) != nil {
		return http.ErrUseLastResponse
	}
	if via[0].Method != http.MethodGet {
		return http.ErrUseLastResponse
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("%w: stopped after %d redirects", errRedirect, len(via))
	}
	if strings.EqualFold(via[len(via)-1].URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
		return fmt.Errorf("%w: will not follow a redirect from https to %s", errRedirect, originOf(req.URL))
	}
	if originOf(req.URL) != home {
		keepOnlyPortableHeaders(req.Header)
	}
	return nil
}

// portableHeaders are the request headers that may follow a redirect to
// another origin: they describe what the client accepts and resumes, and
// carry nothing of the caller's. Every other header (Authorization, those
// of WithHeader and WithRequestHeader, which may hold another credential,
// the idempotency key, the beta flags) stays with the API's origin.
var portableHeaders = map[string]bool{
	"Accept":          true,
	"Accept-Encoding": true,
	"Cache-Control":   true,
	"Last-Event-Id":   true,
	"Range":           true,
	"User-Agent":      true,
}

// keepOnlyPortableHeaders deletes from h every header not in
// portableHeaders.
func keepOnlyPortableHeaders(h http.Header) {
	for name := range h {
		if !portableHeaders[http.CanonicalHeaderKey(name)] {
			delete(h, name)
		}
	}
}

// redirectMessage describes a 3xx response that was not followed, naming
// where it pointed (without its query, which may hold a signature).
func redirectMessage(method string, resp *http.Response) string {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return ""
	}
	base := &url.URL{}
	if resp.Request != nil && resp.Request.URL != nil {
		base = resp.Request.URL
	}
	if u, err := base.Parse(loc); err == nil {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		loc = u.String()
	}
	if method != http.MethodGet {
		return fmt.Sprintf("redirect to %q not followed: only GET requests follow redirects", loc)
	}
	return fmt.Sprintf("redirect to %q not followed", loc)
}
