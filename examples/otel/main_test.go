package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/qoder-go/qoder/qodertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// span is what the test reads of a span the stdout exporter printed.
type span struct {
	Name        string
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct{ SpanID string }
	Attributes  []struct {
		Key   string
		Value struct{ Value any }
	}
	Status struct{ Code string }
}

// attr returns the value of the attribute key, nil when absent.
func (s span) attr(key string) any {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.Value
		}
	}
	return nil
}

// TestRun runs the example against the in-process fake and checks the spans
// it prints: one per attempt, named by route, with the retry and the
// reconnect the fake caused, and no header or id of the raw path.
func TestRun(t *testing.T) {
	t.Setenv("QODER_PAT", "")
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out))
	text := out.String()
	assert.Contains(t, text, "running against the in-process fake")
	assert.Contains(t, text, "turn ended: end_turn")

	var spans []span
	lines := bufio.NewScanner(strings.NewReader(text))
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "{") {
			var s span
			require.NoError(t, json.Unmarshal(lines.Bytes(), &s), lines.Text())
			spans = append(spans, s)
		}
	}
	require.NoError(t, lines.Err())
	byName := map[string][]span{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
	}

	root := byName["otel example"]
	require.Len(t, root, 1, "the run's span")
	for _, s := range spans {
		assert.Equal(t, root[0].SpanContext.TraceID, s.SpanContext.TraceID, "%s: one trace", s.Name)
		if s.Name != "otel example" {
			assert.Equal(t, root[0].SpanContext.SpanID, s.Parent.SpanID, "%s: a child of the run's span", s.Name)
			assert.NotEmpty(t, s.attr("qoder.request_id"), "%s: the request id", s.Name)
			assert.Equal(t, "/"+strings.SplitN(s.Name, " /", 2)[1], s.attr("http.route"), "the span is named after its route")
		}
		assert.NotRegexp(t, `(agent|sess|env)_[0-9a-f]`, s.Name, "no id in a span name")
	}

	gets := byName["GET /sessions/{session_id}"]
	require.Len(t, gets, 2, "the read of the session, retried once")
	assert.EqualValues(t, []any{0.0, 503.0, "Error"}, []any{gets[0].attr("http.request.resend_count"), gets[0].attr("http.response.status_code"), gets[0].Status.Code})
	assert.EqualValues(t, []any{1.0, 200.0, "Unset"}, []any{gets[1].attr("http.request.resend_count"), gets[1].attr("http.response.status_code"), gets[1].Status.Code})
	assert.Len(t, byName["POST /sessions"], 1)
	assert.Len(t, byName["POST /sessions/{session_id}/events"], 1)

	streams := byName["GET /sessions/{session_id}/events/stream"]
	require.Len(t, streams, 2, "the stream's connection and its reconnect")
	assert.Equal(t, true, streams[0].attr("qoder.stream"))
	assert.EqualValues(t, []any{0.0, 2.0, "qoder: stream connection ended: unexpected EOF"},
		[]any{streams[0].attr("http.request.resend_count"), streams[0].attr("qoder.stream.events"), streams[0].attr("qoder.stream.end_reason")},
		"the fake cut the first connection after two events")
	assert.EqualValues(t, []any{1.0, "qoder: stream closed"},
		[]any{streams[1].attr("http.request.resend_count"), streams[1].attr("qoder.stream.end_reason")}, "the program closed the second")
	assert.Greater(t, streams[1].attr("qoder.stream.events"), 2.0)

	assert.NotContains(t, text, "Bearer")
	assert.NotContains(t, text, qodertest.DefaultToken)
	assert.NotContains(t, strings.ToLower(text), "authorization")
}
