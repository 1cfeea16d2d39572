package qoder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// The HTTP transport of a client built without WithHTTPClient.
const (
	// transportIdleConns is how many idle connections are kept for reuse,
	// all of them for the API's one host: enough that many goroutines
	// calling the API at once reuse connections instead of dialing new ones
	// (net/http's default keeps 2 per host).
	transportIdleConns     = 256
	transportIdleTimeout   = 90 * time.Second
	transportDialTimeout   = 30 * time.Second
	transportKeepAlive     = 30 * time.Second
	transportTLSTimeout    = 10 * time.Second
	transportContinue      = time.Second
	transportHeaderTimeout = time.Minute
	// transportPingAfter is how long an HTTP/2 connection may stay silent
	// before it is pinged, and transportPingTimeout how long the answer may
	// take before the connection is closed: every stream sharing a dead
	// connection then reconnects on a new one.
	transportPingAfter   = 30 * time.Second
	transportPingTimeout = 15 * time.Second
)

// errResponseHeaderTimeout fails a call whose response headers did not
// arrive within the transport's header timeout.
var errResponseHeaderTimeout = errors.New("no response headers")

// newHTTPClient returns the HTTP client of a client built without
// WithHTTPClient.
func newHTTPClient() *http.Client {
	return &http.Client{Transport: newTransport()}
}

// newTransport returns the SDK's default transport: net/http's defaults
// (proxy from the environment, 30 s dial timeout and keep-alive, 10 s TLS
// handshake, 90 s idle timeout) with a pool of idle connections sized for
// an API client, no limit on connections per host (an HTTP/1.1 event stream
// holds one for its lifetime), HTTP/2 whenever the server offers it, with
// health-check pings, and a response header timeout for every call but
// event streams, counted from when the request has been sent.
func newTransport() *apiTransport {
	dialer := &net.Dialer{Timeout: transportDialTimeout, KeepAlive: transportKeepAlive}
	return &apiTransport{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          transportIdleConns,
			MaxIdleConnsPerHost:   transportIdleConns,
			IdleConnTimeout:       transportIdleTimeout,
			TLSHandshakeTimeout:   transportTLSTimeout,
			ExpectContinueTimeout: transportContinue,
			HTTP2: &http.HTTP2Config{
				SendPingTimeout: transportPingAfter,
				PingTimeout:     transportPingTimeout,
			},
		},
		headerTimeout: transportHeaderTimeout,
	}
}

// apiTransport is an http.Transport whose response header timeout spares
// event streams. Transport.ResponseHeaderTimeout would apply to every
// request; a stream's server may hold its headers until it has something
// to send, and the stream's own idle watchdog (StreamParams.IdleTimeout,
// which can be longer or off) already covers that wait.
type apiTransport struct {
	*http.Transport
	headerTimeout time.Duration
}

// RoundTrip sends req. Unless req asks for an event stream, it fails when
// the response headers take longer than the header timeout after the
// request, body included, was written: sending a large upload does not
// count.
func (t *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.headerTimeout <= 0 || req.Header.Get("Accept") == "text/event-stream" {
		return t.Transport.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	wait := &headerWait{timeout: t.headerTimeout, cancel: cancel}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: wait.start})
	resp, err := t.Transport.RoundTrip(req.WithContext(ctx))
	if !wait.stop() && err == nil {
		// The timeout struck as the headers arrived: the body is cut off.
		_ = resp.Body.Close()
		resp, err = nil, errResponseHeaderTimeout
	}
	if err != nil {
		cancel(nil)
		if errors.Is(context.Cause(ctx), errResponseHeaderTimeout) {
			err = fmt.Errorf("%w within %s", errResponseHeaderTimeout, t.headerTimeout)
		}
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// headerWait is the response header timeout of one request. Its clock
// starts when the request has been written and stops when the headers
// arrive (or the request fails).
type headerWait struct {
	timeout time.Duration
	cancel  context.CancelCauseFunc

	mu    sync.Mutex
	timer *time.Timer
	done  bool // RoundTrip returned
}

// start starts, or on a request written again restarts, the clock.
func (w *headerWait) start(httptrace.WroteRequestInfo) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.done:
	case w.timer != nil:
		w.timer.Reset(w.timeout)
	default:
		w.timer = time.AfterFunc(w.timeout, func() { w.cancel(errResponseHeaderTimeout) })
	}
}

// stop stops the clock for good. It reports false if the timeout struck.
func (w *headerWait) stop() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	return w.timer == nil || w.timer.Stop()
}

// cancelOnClose releases the context of a request when its response body
// is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

// Close closes the body and releases the request's context.
func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}
