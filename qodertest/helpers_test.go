package qodertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wait is the deadline for anything a test waits on.
const wait = 5 * time.Second

// api talks to a fake over raw HTTP.
type api struct {
	t   *testing.T
	srv *Server
	hc  *http.Client
}

func newAPI(t *testing.T, opts ...Option) *api {
	t.Helper()
	srv := NewServer(t, opts...)
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	return &api{t: t, srv: srv, hc: hc}
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// obj decodes the body as a JSON object.
func (r response) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// errorOf checks the error envelope and returns error.type, message and
// param.
func (r response) errorOf(t *testing.T) (typ, msg, param string) {
	t.Helper()
	m := r.obj(t)
	require.Equal(t, "error", m["type"], "body: %s", r.body)
	require.NotEmpty(t, m["request_id"])
	e, ok := m["error"].(map[string]any)
	require.True(t, ok, "body: %s", r.body)
	p, _ := e["param"].(string)
	return e["type"].(string), e["message"].(string), p
}

// req sends a request; body is a string (sent as is), []byte, nil, or a
// value encoded as JSON. hdr holds header name/value pairs.
func (a *api) req(method, path string, body any, hdr ...string) response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(a.t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.url(path), rd)
	require.NoError(a.t, err)
	req.Header.Set("Authorization", "Bearer "+a.srv.Token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := a.hc.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func (a *api) url(path string) string {
	if strings.HasPrefix(path, "/") {
		return strings.TrimSuffix(a.srv.URL, BasePath) + path
	}
	return a.srv.URL + path
}

// ok sends a request that must succeed with status want and returns the
// decoded object.
func (a *api) ok(want int, method, path string, body any, hdr ...string) map[string]any {
	a.t.Helper()
	r := a.req(method, path, body, hdr...)
	require.Equal(a.t, want, r.status, "%s %s: %s", method, path, r.body)
	return r.obj(a.t)
}

func (a *api) createEnv(name string) string {
	a.t.Helper()
	return a.ok(201, "POST", "environments", map[string]any{"name": name, "config": map[string]any{"type": "cloud", "networking": map[string]any{"type": "unrestricted"}}})["id"].(string)
}

func (a *api) createAgent(name string, extra map[string]any) string {
	a.t.Helper()
	body := map[string]any{"name": name, "model": "ultimate"}
	for k, v := range extra {
		body[k] = v
	}
	return a.ok(201, "POST", "agents", body)["id"].(string)
}

// createSession creates an environment, an agent with the built-in
// toolset, and a session of them.
func (a *api) createSession() string {
	a.t.Helper()
	env := a.createEnv("env")
	ag := a.createAgent("bot", map[string]any{"tools": []any{map[string]any{"type": "agent_toolset_20260401"}}})
	return a.ok(201, "POST", "sessions", map[string]any{"agent": ag, "environment_id": env})["id"].(string)
}

func userMessage(text string) map[string]any {
	return map[string]any{"type": "user.message", "content": []any{map[string]any{"type": "text", "text": text}}}
}

func (a *api) send(sessionID string, events ...map[string]any) response {
	a.t.Helper()
	return a.req("POST", "sessions/"+sessionID+"/events", map[string]any{"events": events})
}

// waitStatus waits until the session has status (and, if given, the stop
// reason).
func (a *api) waitStatus(sessionID, status string, stopReason ...string) SessionState {
	a.t.Helper()
	var st SessionState
	require.Eventually(a.t, func() bool {
		var ok bool
		st, ok = a.srv.Session(sessionID)
		return ok && st.Status == status && (len(stopReason) == 0 || st.StopReason == stopReason[0])
	}, wait, time.Millisecond, "session %s never reached %s %v (last %+v)", sessionID, status, stopReason, st)
	return st
}

// sseFrame is a parsed SSE frame or comment.
type sseFrame struct {
	id, event, data string
	comment         string
}

// sse reads one stream connection.
type sse struct {
	t      *testing.T
	resp   *http.Response
	frames chan sseFrame
	cancel context.CancelFunc
	mu     sync.Mutex
	err    error // why reading ended
}

// openStream opens the session's stream with optional query and header
// pairs and checks for a 200.
func (a *api) openStream(sessionID, query string, hdr ...string) *sse {
	a.t.Helper()
	return a.openStreamAt("sessions/"+sessionID+"/events/stream", query, hdr...)
}

// openStreamAt opens the stream at path, such as a thread's, and checks
// for a 200.
func (a *api) openStreamAt(path, query string, hdr ...string) *sse {
	a.t.Helper()
	s, status, body := a.tryStreamAt(path, query, hdr...)
	require.Equal(a.t, 200, status, "stream: %s", body)
	return s
}

// tryStream opens a session's stream; when the status is not 200 it
// returns the status and body instead.
func (a *api) tryStream(sessionID, query string, hdr ...string) (*sse, int, []byte) {
	a.t.Helper()
	return a.tryStreamAt("sessions/"+sessionID+"/events/stream", query, hdr...)
}

// tryStreamAt is tryStream for the stream at path.
func (a *api) tryStreamAt(path, query string, hdr ...string) (*sse, int, []byte) {
	a.t.Helper()
	ctx, cancel := context.WithCancel(a.t.Context())
	u := a.url(path)
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	require.NoError(a.t, err)
	req.Header.Set("Authorization", "Bearer "+a.srv.Token)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.hc.Do(req)
	require.NoError(a.t, err)
	if resp.StatusCode != 200 {
		defer cancel()
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return nil, resp.StatusCode, body
	}
	assert.Equal(a.t, "text/event-stream", resp.Header.Get("Content-Type"))
	s := &sse{t: a.t, resp: resp, frames: make(chan sseFrame, 1024), cancel: cancel}
	a.t.Cleanup(s.close)
	go s.read()
	return s, 200, nil
}

func (s *sse) read() {
	defer close(s.frames)
	br := bufio.NewReader(s.resp.Body)
	var f sseFrame
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			s.mu.Lock()
			s.err = err
			if line != "" {
				s.err = io.ErrUnexpectedEOF
			}
			s.mu.Unlock()
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if f != (sseFrame{}) {
				s.frames <- f
			}
			f = sseFrame{}
		case strings.HasPrefix(line, ":"):
			s.frames <- sseFrame{comment: strings.TrimSpace(line[1:])}
		default:
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimPrefix(v, " ")
			switch k {
			case "id":
				f.id = v
			case "event":
				f.event = v
			case "data":
				f.data += v
			}
		}
	}
}

func (s *sse) close() {
	s.cancel()
	s.resp.Body.Close()
}

// readErr returns why the stream ended (io.EOF for a clean end).
func (s *sse) readErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// next returns the next frame, skipping comments; ok is false when the
// stream ended.
func (s *sse) next() (sseFrame, bool) {
	s.t.Helper()
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				return sseFrame{}, false
			}
			if f.comment != "" {
				continue
			}
			return f, true
		case <-time.After(wait):
			s.t.Fatalf("no frame within %v", wait)
			return sseFrame{}, false
		}
	}
}

// until collects frames up to and including the first event named last.
func (s *sse) until(last string) []sseFrame {
	s.t.Helper()
	var out []sseFrame
	for {
		f, ok := s.next()
		require.True(s.t, ok, "stream ended before %s; got %v", last, events(out))
		out = append(out, f)
		if f.event == last {
			return out
		}
	}
}

// ended waits for the stream to end and returns the frames before.
func (s *sse) ended() []sseFrame {
	s.t.Helper()
	var out []sseFrame
	for {
		f, ok := s.next()
		if !ok {
			return out
		}
		out = append(out, f)
	}
}

// events lists the event names of frames.
func events(frames []sseFrame) []string {
	out := make([]string, len(frames))
	for i, f := range frames {
		out[i] = f.event
	}
	return out
}

// decode decodes a frame's data.
func decode(t *testing.T, data string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(data), &m), "data: %s", data)
	return m
}

// blockingAgent returns an agent that says "started" and then waits until
// release is closed or the turn is cancelled.
func blockingAgent(release <-chan struct{}) func(*Turn) {
	return func(t *Turn) {
		t.Say("started")
		select {
		case <-release:
		case <-t.Context().Done():
		}
		t.Say("done")
	}
}

// withoutRaw returns v as encoding/json decodes it, without the JSON the
// client kept for its Raw, for comparing a result with a value written by
// hand.
func withoutRaw[T any](t *testing.T, v T) T {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	var out T
	require.NoError(t, json.Unmarshal(data, &out))
	return out
}
