package qoder

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
