package qoder

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// authLog records the Authorization header of each request a server got.
type authLog struct {
	mu   sync.Mutex
	auth []string
}

func (l *authLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.auth = append(l.auth, r.Header.Get("Authorization"))
}

func (l *authLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.auth...)
}

// redirectTarget starts a server (TLS or not) that records every request's
// Authorization header and answers with the agent fixture, or with a
// terminated session stream on paths ending in /stream.
func redirectTarget(t *testing.T, tls bool) (*httptest.Server, *authLog) {
	t.Helper()
	log := &authLog{}
	agent := fixture(t, "agents/agent.json")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		if strings.HasSuffix(r.URL.Path, "/stream") {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte("event: session.status_terminated\ndata: {\"id\":\"sevt_1\",\"type\":\"session.status_terminated\"}\n\n"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(agent)
	})
	return startServer(t, tls, h), log
}

// redirectingOrigin starts the API's origin: every request is counted and
// answered with status and a Location of target+its path without
// "/api-test".
func redirectingOrigin(t *testing.T, tls bool, status int, target func() string) (*httptest.Server, *authLog) {
	t.Helper()
	log := &authLog{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		http.Redirect(w, r, target()+strings.TrimPrefix(r.URL.Path, "/api-test"), status)
	})
	return startServer(t, tls, h), log
}

// startServer starts an httptest server for h, with TLS or without.
func startServer(t *testing.T, tls bool, h http.Handler) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv
}

// hostMappingClient returns a client that trusts the httptest certificate
// and dials addr for every host name, as a caller's client with its own
// resolver would.
func hostMappingClient(t *testing.T, srv *httptest.Server) *http.Client {
	t.Helper()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	addr := srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig.ServerName = "example.com" // a name the test certificate holds
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestRedirect_tokenOnlyToTheOrigin(t *testing.T) {
	t.Parallel()
	bearer := "Bearer " + testToken
	getAgent := func(ctx context.Context, c *Client) error {
		_, err := c.Agents.Get(ctx, testAgentID)
		return err
	}
	readStream := func(ctx context.Context, c *Client) error {
		s, err := c.Events.Stream(ctx, "sess_1", nil)
		if err != nil {
			return err
		}
		for range s.Events() {
		}
		return s.Err()
	}
	tests := []struct {
		name          string
		tls           bool
		status        int
		callersClient bool
		call          func(context.Context, *Client) error
	}{
		{"another port, default client", false, http.StatusFound, false, getAgent},
		{"another port, caller's TLS client", true, http.StatusTemporaryRedirect, true, getAgent},
		{"another port, stream", false, http.StatusTemporaryRedirect, false, readStream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			other, otherLog := redirectTarget(t, tt.tls)
			origin, originLog := redirectingOrigin(t, tt.tls, tt.status, func() string { return other.URL })
			opts := []Option{WithToken(testToken), WithBaseURL(origin.URL + "/api-test/")}
			if tt.callersClient {
				opts = append(opts, WithHTTPClient(origin.Client()))
			}
			c, err := NewClient(opts...)
			require.NoError(t, err)
			require.NoError(t, tt.call(t.Context(), c))
			assert.Equal(t, []string{bearer}, originLog.get())
			assert.Equal(t, []string{""}, otherLog.get(), "another port of the same host is another origin")
		})
	}
	t.Run("sibling subdomain, caller's client and resolver", func(t *testing.T) {
		t.Parallel()
		var api, evil authLog
		agent := fixture(t, "agents/agent.json")
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.Host, "evil.") {
				evil.add(r)
				_, _ = w.Write(agent)
				return
			}
			api.add(r)
			http.Redirect(w, r, "https://evil.api.example.test"+strings.TrimPrefix(r.URL.Path, "/api-test"), http.StatusFound)
		}))
		t.Cleanup(srv.Close)
		c, err := NewClient(WithToken(testToken), WithBaseURL("https://api.example.test/api-test/"), WithHTTPClient(hostMappingClient(t, srv)))
		require.NoError(t, err)
		_, err = c.Agents.Get(t.Context(), testAgentID)
		require.NoError(t, err)
		assert.Equal(t, []string{bearer}, api.get())
		assert.Equal(t, []string{""}, evil.get(), "a subdomain of the API host is another origin")
	})
	t.Run("another origin gets none of the caller's headers", func(t *testing.T) {
		t.Parallel()
		hops := make(chan http.Header, 2)
		agent := fixture(t, "agents/agent.json")
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hops <- r.Header.Clone()
			_, _ = w.Write(agent)
		}))
		t.Cleanup(other.Close)
		origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hops <- r.Header.Clone()
			http.Redirect(w, r, other.URL+strings.TrimPrefix(r.URL.Path, "/api-test"), http.StatusFound)
		}))
		t.Cleanup(origin.Close)
		c, err := NewClient(WithToken(testToken), WithBaseURL(origin.URL+"/api-test/"),
			WithHeader("X-Api-Key", "client-secret"))
		require.NoError(t, err)
		_, err = c.Agents.Get(t.Context(), testAgentID, WithRequestHeader("X-Tenant-Token", "call-secret"), WithBeta("beta-1"))
		require.NoError(t, err)
		first, second := <-hops, <-hops
		for _, name := range []string{"Authorization", "X-Api-Key", "X-Tenant-Token", "X-Qoder-Beta"} {
			assert.NotEmpty(t, first.Get(name), "the origin gets %s", name)
			assert.Empty(t, second.Get(name), "another origin does not get %s", name)
		}
		for _, name := range []string{"Accept", "User-Agent"} {
			assert.Equal(t, first.Get(name), second.Get(name), "%s follows", name)
		}
	})
	t.Run("same origin keeps the token", func(t *testing.T) {
		t.Parallel()
		var seen authLog
		agent := fixture(t, "agents/agent.json")
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen.add(r)
			if !strings.HasPrefix(r.URL.Path, "/api-test/moved/") {
				http.Redirect(w, r, "https://"+r.Host+"/api-test/moved"+strings.TrimPrefix(r.URL.Path, "/api-test"), http.StatusMovedPermanently)
				return
			}
			_, _ = w.Write(agent)
		}))
		t.Cleanup(srv.Close)
		c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL+"/api-test/"), WithHTTPClient(srv.Client()))
		require.NoError(t, err)
		_, err = c.Agents.Get(t.Context(), testAgentID)
		require.NoError(t, err)
		assert.Equal(t, []string{bearer, bearer}, seen.get())
	})
}

func TestRedirect_httpsToHTTPIsRefused(t *testing.T) {
	t.Parallel()
	other, otherLog := redirectTarget(t, false)
	origin, originLog := redirectingOrigin(t, true, http.StatusFound, func() string { return other.URL })
	c, err := NewClient(WithToken(testToken), WithBaseURL(origin.URL+"/api-test/"), WithHTTPClient(origin.Client()))
	require.NoError(t, err)
	_, err = c.Agents.Get(t.Context(), testAgentID)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "from https to http://127.0.0.1")
	assert.Contains(t, err.Error(), "GET /agents/"+testAgentID)
	assert.NotContains(t, err.Error(), testToken)
	assert.Empty(t, otherLog.get(), "nothing is sent in cleartext")
	assert.Len(t, originLog.get(), 1, "a refused redirect is not retried")
}

func TestRedirect_writesDoNotFollow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		call   func(c *Client) error
		method string
	}{
		{"POST 302", http.StatusFound, func(c *Client) error {
			_, err := c.Agents.Create(t.Context(), &AgentCreateParams{Name: "bot"})
			return err
		}, "POST /agents"},
		{"POST 303", http.StatusSeeOther, func(c *Client) error {
			_, err := c.Agents.Archive(t.Context(), testAgentID)
			return err
		}, "POST /agents/" + testAgentID + "/archive"},
		{"POST 307", http.StatusTemporaryRedirect, func(c *Client) error {
			_, err := c.Sessions.Cancel(t.Context(), "sess_1")
			return err
		}, "POST /sessions/sess_1/cancel"},
		{"DELETE 308", http.StatusPermanentRedirect, func(c *Client) error {
			_, err := c.Agents.Delete(t.Context(), testAgentID)
			return err
		}, "DELETE /agents/" + testAgentID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			other, otherLog := redirectTarget(t, false)
			origin, originLog := redirectingOrigin(t, false, tt.status, func() string { return other.URL + "/elsewhere" })
			c, err := NewClient(WithToken(testToken), WithBaseURL(origin.URL+"/api-test/"))
			require.NoError(t, err)
			err = tt.call(c)
			require.Error(t, err)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Contains(t, err.Error(), tt.method)
			assert.Contains(t, err.Error(), other.URL+"/elsewhere/")
			assert.Contains(t, err.Error(), "only GET requests follow redirects")
			assert.NotEmpty(t, apiErr.Header.Get("Location"))
			assert.Empty(t, otherLog.get(), "the write is not sent anywhere else")
			assert.Len(t, originLog.get(), 1)
		})
	}
}

func TestRedirect_loopFailsOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(context.Context, *Client) error
	}{
		{"request", func(ctx context.Context, c *Client) error {
			_, err := c.Agents.Get(ctx, testAgentID)
			return err
		}},
		{"stream", func(ctx context.Context, c *Client) error {
			_, err := c.Events.Stream(ctx, "sess_1", nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hits authLog
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.add(r)
				http.Redirect(w, r, r.URL.Path, http.StatusFound)
			}))
			t.Cleanup(srv.Close)
			c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL), WithMaxRetries(2))
			require.NoError(t, err)
			c.backoff = func(int) time.Duration { return 0 }
			err = tt.call(t.Context(), c)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "stopped after 10 redirects")
			assert.Len(t, hits.get(), maxRedirects, "one attempt, not one per retry or reconnect")
		})
	}
}

func TestRedirect_callersClientIsNotChanged(t *testing.T) {
	t.Parallel()
	other, _ := redirectTarget(t, false)
	origin, _ := redirectingOrigin(t, false, http.StatusFound, func() string { return other.URL })
	t.Run("no CheckRedirect", func(t *testing.T) {
		t.Parallel()
		hc := &http.Client{Timeout: time.Minute}
		c, err := NewClient(WithToken(testToken), WithBaseURL(origin.URL+"/api-test/"), WithHTTPClient(hc))
		require.NoError(t, err)
		_, err = c.Agents.Get(t.Context(), testAgentID)
		require.NoError(t, err)
		assert.Nil(t, hc.CheckRedirect)
		assert.Equal(t, time.Minute, hc.Timeout)
	})
	t.Run("its CheckRedirect is consulted and its refusal is final", func(t *testing.T) {
		t.Parallel()
		var hops []string
		var mu sync.Mutex
		refuse := errors.New("no thanks")
		hc := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
			mu.Lock()
			defer mu.Unlock()
			hops = append(hops, req.URL.Host+" "+req.Header.Get("Authorization"))
			return refuse
		}}
		c, err := NewClient(WithToken(testToken), WithBaseURL(origin.URL+"/api-test/"), WithHTTPClient(hc))
		require.NoError(t, err)
		c.backoff = func(int) time.Duration { return 0 }
		_, err = c.Agents.Get(t.Context(), testAgentID)
		require.ErrorIs(t, err, refuse)
		u, _ := url.Parse(other.URL)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []string{u.Host + " "}, hops, "called once, after the token was removed")
	})
}

func TestOriginOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		same bool
	}{
		{"https://api.example.test/x", "https://API.example.test:443/y", true},
		{"http://127.0.0.1/x", "http://127.0.0.1:80", true},
		{"https://api.example.test", "https://api.example.test:8443", false},
		{"https://api.example.test", "http://api.example.test", false},
		{"https://api.example.test", "https://evil.api.example.test", false},
		{"http://[::1]:8080/a", "http://[::1]:8080/b", true},
	}
	for _, tt := range tests {
		a, err := url.Parse(tt.a)
		require.NoError(t, err)
		b, err := url.Parse(tt.b)
		require.NoError(t, err)
		assert.Equal(t, tt.same, originOf(a) == originOf(b), "%s vs %s", tt.a, tt.b)
	}
	assert.Equal(t, "https://api.example.test:443", originOf(&url.URL{Scheme: "https", Host: "api.example.test"}).String())
}
