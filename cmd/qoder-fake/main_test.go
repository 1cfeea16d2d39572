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
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-token", "pt-test", "-heartbeat", "1s"}, pw, io.Discard)
		pw.Close()
	}()

	lines := bufio.NewScanner(pr)
	vars := map[string]string{}
	for len(vars) < 2 && lines.Scan() {
		if k, v, ok := strings.Cut(lines.Text(), "="); ok {
			vars[k] = v
		}
	}
	require.Equal(t, "pt-test", vars["QODER_PAT"])
	base := vars["QODER_BASE_URL"]
	require.True(t, strings.HasSuffix(base, "/api/v1/cloud/"), base)

	req, err := http.NewRequestWithContext(ctx, "GET", base+"agents", nil)
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

	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after the context ended")
	}
}

func TestRunErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-addr", "256.0.0.1:bad"},
		{"-nope"},
		{"-token", ""},
		{"extra"},
	} {
		err := run(t.Context(), args, io.Discard, io.Discard)
		assert.Error(t, err, "%q", args)
	}
}
