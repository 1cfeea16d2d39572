package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qoder-go/qoder"
)

// startFake runs the command with args on a free port and returns the
// lines it printed up to QODER_PAT, and its variables. It stops the
// command when the test ends and checks that it returned nil.
func startFake(t *testing.T, args ...string) (banner []string, vars map[string]string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		go func() { _, _ = io.Copy(io.Discard, pr) }()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Error("run did not return after the context ended")
		}
	})

	lines := bufio.NewScanner(pr)
	vars = map[string]string{}
	for vars["QODER_PAT"] == "" && lines.Scan() {
		banner = append(banner, lines.Text())
		if k, v, ok := strings.Cut(lines.Text(), "="); ok {
			vars[k] = v
		}
	}
	return banner, vars
}

func TestRun(t *testing.T) {
	banner, vars := startFake(t, "-token", "pt-test", "-heartbeat", "1s")
	require.Equal(t, "pt-test", vars["QODER_PAT"])
	base := vars["QODER_BASE_URL"]
	require.True(t, strings.HasSuffix(base, "/api/v1/cloud/"), base)
	assert.Contains(t, banner, "qoder-fake: agent: the echo agent (-script scripts another)")

	req, err := http.NewRequestWithContext(t.Context(), "GET", base+"agents", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer pt-test")
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	require.NoError(t, err)
	var page map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, []any{}, page["data"])
}

// TestRunScript serves the custom-tools example's script: the agent calls
// the example's tool and says what it answered.
func TestRunScript(t *testing.T) {
	banner, vars := startFake(t, "-script", "../../examples/custom-tools/fake-agent.json")
	assert.Contains(t, banner, `qoder-fake: agent: script ../../examples/custom-tools/fake-agent.json (messages with "weather": 3 step(s))`)

	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	client, err := qoder.NewClient(qoder.WithBaseURL(vars["QODER_BASE_URL"]), qoder.WithToken(vars["QODER_PAT"]), qoder.WithHTTPClient(hc))
	require.NoError(t, err)
	ctx := t.Context()
	env, err := client.Environments.Create(ctx, &qoder.EnvironmentCreateParams{Name: "env", Config: qoder.EnvironmentConfig{
		Type: qoder.EnvironmentConfigCloud, Networking: qoder.Networking{Type: qoder.NetworkingUnrestricted},
	}})
	require.NoError(t, err)
	agent, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{Name: "bot", Model: qoder.ModelConfig{ID: "ultimate"}})
	require.NoError(t, err)
	session, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{Agent: qoder.AgentRef{ID: agent.ID}, EnvironmentID: env.ID})
	require.NoError(t, err)
	turn, err := client.Sessions.Run(ctx, session.ID, "What is the weather in Paris?",
		qoder.WithCustomTool("get_weather", func(context.Context, *qoder.AgentCustomToolUseEvent) ([]qoder.ContentBlock, error) {
			return []qoder.ContentBlock{qoder.TextBlock("18 °C")}, nil
		}))
	require.NoError(t, err)
	assert.Equal(t, "It is 18 °C in Paris right now.", turn.Text())
}

func TestRunErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-addr", "256.0.0.1:bad"},
		{"-nope"},
		{"-token", ""},
		{"extra"},
		{"-script", "testdata/missing.json"},
		{"-script", "main.go"},
	} {
		err := run(t.Context(), args, io.Discard, io.Discard)
		assert.Error(t, err, "%q", args)
	}
}
