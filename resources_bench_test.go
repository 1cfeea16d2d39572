package qoder

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// benchAgentServer serves the agent fixture at /agents/{id} on loopback.
func benchAgentServer(b *testing.B) *httptest.Server {
	b.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "agents", "agent.json"))
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkAgentsGet measures client.Agents.Get end to end against a
// loopback server; compare it with BenchmarkAgentsGetBaseline.
func BenchmarkAgentsGet(b *testing.B) {
	srv := benchAgentServer(b)
	client, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		agent, err := client.Agents.Get(ctx, testAgentID)
		if err != nil {
			b.Fatal(err)
		}
		if agent.Version != 3 {
			b.Fatalf("version = %d", agent.Version)
		}
	}
}

// BenchmarkAgentsGetMiddleware is BenchmarkAgentsGet through one
// middleware that reads the request's RequestInfo: what the hook costs.
func BenchmarkAgentsGetMiddleware(b *testing.B) {
	srv := benchAgentServer(b)
	var routes atomic.Int64
	mw := func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		if info, ok := RequestInfoFromContext(req.Context()); ok && info.Route != "" {
			routes.Add(1)
		}
		return next(req)
	}
	client, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL), WithMiddleware(mw))
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Agents.Get(ctx, testAgentID); err != nil {
			b.Fatal(err)
		}
	}
	if routes.Load() == 0 {
		b.Fatal("the middleware saw no route")
	}
}

// BenchmarkAgentsGetBaseline does the same GET with plain net/http and
// json.NewDecoder into the same Agent struct: the floor the client's
// request path adds to.
func BenchmarkAgentsGetBaseline(b *testing.B) {
	srv := benchAgentServer(b)
	hc := &http.Client{}
	url := srv.URL + "/agents/" + testAgentID
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var agent Agent
		err = json.NewDecoder(resp.Body).Decode(&agent)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || agent.Version != 3 {
			b.Fatalf("status %d, version %d", resp.StatusCode, agent.Version)
		}
	}
}

// BenchmarkAgentsGetParallel calls client.Agents.Get from 64 goroutines at
// once and reports how many new TCP connections the server saw per call:
// with the SDK's default transport, which keeps up to 256 idle
// connections, against a client on net/http's defaults, which keeps 2 per
// host and dials again for most of the rest.
func BenchmarkAgentsGetParallel(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"sdk-transport", nil},
		{"nethttp-defaults", []Option{WithHTTPClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()})}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			body, err := os.ReadFile(filepath.Join("testdata", "agents", "agent.json"))
			if err != nil {
				b.Fatal(err)
			}
			var dials atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(body)
			}))
			srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
				if state == http.StateNew {
					dials.Add(1)
				}
			}
			srv.Start()
			b.Cleanup(srv.Close)
			client, err := NewClient(append([]Option{WithToken(testToken), WithBaseURL(srv.URL)}, tc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := b.Context()
			var calls atomic.Int64
			b.SetParallelism(32) // 64 goroutines on 2 CPUs
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := client.Agents.Get(ctx, testAgentID); err != nil {
						b.Error(err)
						return
					}
					calls.Add(1)
				}
			})
			b.StopTimer()
			if n := calls.Load(); n > 0 {
				b.ReportMetric(float64(dials.Load())/float64(n), "dials/call")
			}
		})
	}
}
