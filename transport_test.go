package qoder

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// defaultTransportOf returns the SDK's own transport of c.
func defaultTransportOf(t *testing.T, c *Client) *apiTransport {
	t.Helper()
	tr, ok := c.httpClient.Transport.(*apiTransport)
	require.True(t, ok, "the default client's transport is %T", c.httpClient.Transport)
	return tr
}

func TestNewClient_defaultTransport(t *testing.T) {
	c, err := NewClient(WithToken(testToken))
	require.NoError(t, err)
	tr := defaultTransportOf(t, c)
	assert.Equal(t, 256, tr.MaxIdleConnsPerHost, "an idle pool sized for an API client")
	assert.Equal(t, 256, tr.MaxIdleConns)
	assert.Zero(t, tr.MaxConnsPerHost, "no limit: an HTTP/1.1 stream holds its connection")
	assert.True(t, tr.ForceAttemptHTTP2)
	assert.NotNil(t, tr.Proxy, "proxies from the environment")
	assert.NotNil(t, tr.DialContext)
	assert.Equal(t, 10*time.Second, tr.TLSHandshakeTimeout)
	assert.Equal(t, 90*time.Second, tr.IdleConnTimeout)
	assert.Zero(t, tr.ResponseHeaderTimeout, "it would cut streams; apiTransport applies its own")
	assert.Equal(t, time.Minute, tr.headerTimeout)
	require.NotNil(t, tr.HTTP2)
	assert.Positive(t, tr.HTTP2.SendPingTimeout, "dead HTTP/2 connections are found")

	other, err := NewClient(WithToken(testToken))
	require.NoError(t, err)
	assert.NotSame(t, tr.Transport, defaultTransportOf(t, other).Transport, "each client has its own pool")
	assert.NotSame(t, http.DefaultTransport, tr.Transport)
}

func TestWithHTTPClient_transportUntouched(t *testing.T) {
	rt := &http.Transport{}
	hc := &http.Client{Transport: rt}
	c, err := NewClient(WithToken(testToken), WithHTTPClient(hc))
	require.NoError(t, err)
	assert.Same(t, rt, c.httpClient.Transport, "the caller's transport is used as is")
	assert.Same(t, rt, hc.Transport)

	c, err = NewClient(WithToken(testToken), WithHTTPClient(&http.Client{}))
	require.NoError(t, err)
	assert.Nil(t, c.httpClient.Transport, "a client without a transport keeps net/http's default")
}

func TestDefaultTransport_responseHeaderTimeout(t *testing.T) {
	c, mux := newTestClient(t, WithMaxRetries(0))
	tr := defaultTransportOf(t, c)
	tr.headerTimeout = 20 * time.Millisecond
	mux.HandleFunc("GET /api-test/silent", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	})
	slowCall := func() error {
		return c.do(t.Context(), http.MethodGet, literalPath("silent"), nil, nil, nil)
	}

	t.Run("a call fails without headers", func(t *testing.T) {
		start := time.Now()
		err := slowCall()
		require.Error(t, err)
		assert.True(t, errors.Is(err, errResponseHeaderTimeout), "got %v", err)
		assert.ErrorContains(t, err, "no response headers within 20ms")
		assert.Less(t, time.Since(start), streamWait)
	})

	t.Run("a slow body is read whole", func(t *testing.T) {
		release := make(chan struct{})
		mux.HandleFunc("GET /api-test/slow-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"id":`))
			_ = http.NewResponseController(w).Flush()
			<-release
			_, _ = w.Write([]byte(`"x"}`))
		})
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, c.BaseURL()+"slow-body", nil)
		require.NoError(t, err)
		resp, err := c.httpClient.Do(req) // returns with the headers
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Error(t, slowCall(), "the header timeout has passed since the headers arrived")
		close(release)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.JSONEq(t, `{"id":"x"}`, string(body))
	})

	t.Run("sending a slow body does not count", func(t *testing.T) {
		mux.HandleFunc("POST /api-test/upload", func(w http.ResponseWriter, r *http.Request) {
			data, err := io.ReadAll(r.Body)
			assert.NoError(t, err)
			serveJSON(t, w, http.StatusOK, fmt.Sprintf(`{"size":%d}`, len(data)))
		})
		body := &gatedBody{parts: []string{"part one, ", "part two"}, reached: make(chan struct{}), release: make(chan struct{})}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, c.BaseURL()+"upload", body)
		require.NoError(t, err)
		type result struct {
			body string
			err  error
		}
		done := make(chan result, 1)
		go func() {
			resp, err := c.httpClient.Do(req)
			if err != nil {
				done <- result{err: err}
				return
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			done <- result{string(data), err}
		}()
		<-body.reached
		require.Error(t, slowCall(), "the header timeout has passed while the body was being sent")
		close(body.release)
		res := <-done
		require.NoError(t, res.err)
		assert.JSONEq(t, `{"size":18}`, res.body)
	})

	t.Run("a stream waits for its headers", func(t *testing.T) {
		arrived, release := make(chan struct{}), make(chan struct{})
		mux.HandleFunc(streamPattern, func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			<-release // a long poll: nothing to send yet
			sseStart(w)
			sseWrite(w, terminatedFrame("evt_1"))
		})
		opened := make(chan error, 1)
		var s *Stream
		go func() {
			var err error
			s, err = c.Events.Stream(streamCtx(t), streamSessionID, nil)
			opened <- err
		}()
		<-arrived
		require.Error(t, slowCall(), "the header timeout has passed since the stream's request arrived")
		close(release)
		require.NoError(t, <-opened)
		defer s.Close()
		assert.Equal(t, []string{"evt_1"}, eventIDs(collectStream(t, s, streamWait)))
	})
}

// TestDefaultTransport_http2 checks that the default transport speaks
// HTTP/2 to a server that offers it, and that streams and calls share one
// connection.
func TestDefaultTransport_http2(t *testing.T) {
	var conns atomic.Int32
	var protos [3]atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos[min(r.ProtoMajor, 2)].Add(1)
		if r.Header.Get("Accept") == "text/event-stream" {
			sseStart(w)
			sseWrite(w, sseEvent("evt_1", EventTypeSessionUpdated))
			<-r.Context().Done()
			return
		}
		serveJSON(t, w, http.StatusOK, `{"id":"agent_1"}`)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL+"/api-test/"))
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	defaultTransportOf(t, c).TLSClientConfig = &tls.Config{RootCAs: roots}
	t.Cleanup(c.httpClient.CloseIdleConnections)

	_, err = c.Agents.Get(t.Context(), "agent_1")
	require.NoError(t, err)
	for _, id := range []string{"sess_a", "sess_b", "sess_c"} {
		s, err := c.Events.Stream(streamCtx(t), id, nil)
		require.NoError(t, err)
		defer s.Close()
		assert.Equal(t, "evt_1", receive(t, s.Events()).EventID())
	}
	assert.EqualValues(t, 4, protos[2].Load(), "every request went over HTTP/2")
	assert.Zero(t, protos[1].Load())
	assert.EqualValues(t, 1, conns.Load(), "the streams and the call share one connection")
}

// gatedBody is a request body that sends its first part, then waits for
// release before the rest, like a large upload still being sent.
type gatedBody struct {
	parts   []string
	reached chan struct{} // closed when the body waits for release
	release chan struct{}
}

func (b *gatedBody) Read(p []byte) (int, error) {
	if len(b.parts) == 0 {
		return 0, io.EOF
	}
	if len(b.parts) == 1 && b.release != nil {
		close(b.reached)
		<-b.release
		b.release = nil
	}
	n := copy(p, b.parts[0])
	b.parts[0] = b.parts[0][n:]
	if b.parts[0] == "" {
		b.parts = b.parts[1:]
	}
	return n, nil
}
