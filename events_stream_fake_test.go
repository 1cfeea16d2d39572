package qoder_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFakeResilience_StreamCutAfterEvents drops the first connections after
// N frames at every position of a scripted turn.
func TestFakeResilience_StreamCutAfterEvents(t *testing.T) {
	type tc struct {
		name       string
		cut        qodertest.Cut
		fast       bool
		goroutines bool
	}
	var cases []tc
	for n := 1; n <= 8; n++ {
		cases = append(cases, tc{name: fmt.Sprintf("after %d", n), cut: qodertest.Cut{AfterEvents: n}, fast: true})
	}
	cases = append(cases,
		tc{name: "after 3 with the default backoff", cut: qodertest.Cut{AfterEvents: 3}, goroutines: true},
		tc{name: "every 2 events three times", cut: qodertest.Cut{AfterEvents: 2, Times: 3}, fast: true, goroutines: true},
		tc{name: "every event seven times", cut: qodertest.Cut{AfterEvents: 1, Times: 7}, fast: true},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newFakeEnv(t, toolScript, c.fast)
			base := runtime.NumGoroutine()
			ctx := fakeCtx(t)
			env.srv.CutStreams(c.cut)
			s, err := env.client.Events.Stream(ctx, env.session, nil)
			require.NoError(t, err)
			_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
			require.NoError(t, err)
			got := readUntil(t, s, isEndTurn)
			require.NoError(t, s.Err())

			hist := recordedHistory(t, env.srv, env.session, 0)
			require.Len(t, hist, 9, "the scripted turn")
			ids := historyIDs(hist)
			require.Equal(t, ids, bufferedIDs(got), "every event exactly once, in order")
			assert.Equal(t, ids[len(ids)-1], s.LastEventID())

			times := max(c.cut.Times, 1)
			want := []string{""}
			for i := 1; i <= times; i++ {
				want = append(want, ids[i*c.cut.AfterEvents-1])
			}
			assert.Equal(t, want, lastEventIDs(streamRequests(env.srv, env.session)),
				"one reconnect per cut, each from the last complete event delivered")
			if c.goroutines {
				checkGoroutines(t, env, base)
			}
		})
	}
}

// TestFakeResilience_StreamCutAtEveryByte drops the first connection of a
// small turn after every byte offset, including inside the "id:" line,
// inside the JSON and between the two newlines that end a frame. The
// offsets are split among parallel subtests, each with its own fake.
func TestFakeResilience_StreamCutAtEveryByte(t *testing.T) {
	script := func(t *qodertest.Turn) { t.Say("hi there") }
	// newEnv starts a fake and runs a first turn without faults: it gives a
	// resume point, so that a drop before the first complete frame resumes
	// without losing events.
	newEnv := func(t *testing.T) *fakeEnv {
		env := newFakeEnv(t, script, true, qodertest.WithHeartbeatInterval(0))
		_, err := env.client.Sessions.Run(fakeCtx(t), env.session, "hi")
		require.NoError(t, err)
		return env
	}
	total := 0
	calib := newEnv(t)
	for _, ev := range recordedHistory(t, calib.srv, calib.session, 0) {
		total += frameLen(ev)
	}
	require.Greater(t, total, 500, "the turn's size in bytes")
	step := 1
	if testing.Short() {
		step = 7
	}
	const chunk = 180
	var reconnects atomic.Int64
	t.Run("offsets", func(t *testing.T) {
		for from := 1; from <= total+3; from += chunk {
			to := min(from+chunk-1, total+3)
			t.Run(fmt.Sprintf("%d-%d", from, to), func(t *testing.T) {
				t.Parallel()
				env := newEnv(t)
				for k := from; k <= to; k += step {
					// How fast each reconnect comes is not asserted here (a
					// loaded machine would make that flaky): TestStream_retryField
					// checks that the server's "retry: 1" is honoured.
					if cutAtByte(t, env, k) {
						reconnects.Add(1)
					}
				}
			})
		}
	})
	// Guard against a sweep that cut nothing: every offset short of the
	// last frame's end must have caused a reconnect.
	assert.Greater(t, reconnects.Load(), int64((total-300)/step), "offsets that led to a reconnect")
	t.Logf("swept byte offsets 1..%d (step %d) of a %d-byte turn; %d reconnects", total+3, step, total, reconnects.Load())
}

// cutAtByte runs one turn on a stream whose first connection drops after
// k bytes, checks it, and reports whether the stream reconnected.
func cutAtByte(t *testing.T, env *fakeEnv, k int) bool {
	t.Helper()
	ctx := fakeCtx(t)
	before := len(env.srv.Events(env.session))
	resume := recordedHistory(t, env.srv, env.session, before-1)[0].ID
	nreq := len(streamRequests(env.srv, env.session))

	env.srv.CutStreams(qodertest.Cut{AfterBytes: k})
	s, err := env.client.Events.Stream(ctx, env.session, &qoder.StreamParams{LastEventID: resume})
	require.NoError(t, err, "offset %d", k)
	_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
	require.NoError(t, err, "offset %d", k)
	got := readUntil(t, s, isEndTurn)
	require.NoError(t, s.Err(), "offset %d", k)
	env.srv.ClearFaults()

	turn := recordedHistory(t, env.srv, env.session, before)
	require.Equal(t, historyIDs(turn), bufferedIDs(got), "offset %d: every event exactly once, in order", k)

	// The last frame complete within the first k bytes.
	wantLEI, sum, complete := resume, 0, false
	for _, ev := range turn {
		sum += frameLen(ev)
		if sum <= k {
			wantLEI = ev.ID
			complete = ev.ID == turn[len(turn)-1].ID
		}
	}
	reqs := streamRequests(env.srv, env.session)[nreq:]
	require.NotEmpty(t, reqs)
	require.Equal(t, resume, reqs[0].Header.Get("Last-Event-ID"), "offset %d", k)
	if k >= sum || complete {
		return false // the idle was delivered whole; a reconnect may or may not have raced the Close
	}
	require.Len(t, reqs, 2, "offset %d of %d: one drop, one reconnect", k, sum)
	require.Equal(t, wantLEI, reqs[1].Header.Get("Last-Event-ID"),
		"offset %d: the reconnect must resume from the last complete frame", k)
	return true
}

// TestFakeResilience_StreamDeltasCut cuts a stream that asked for
// agent.message deltas after every frame of a turn; a MessageAccumulator
// fed from it must end with exactly the final text, never showing a text
// that is not a prefix of it.
func TestFakeResilience_StreamDeltasCut(t *testing.T) {
	parts := []string{"Hel", "lo, ", "wor", "ld"}
	script := func(t *qodertest.Turn) {
		t.Think()
		t.UseTool("Bash", map[string]string{"command": "true"}, "")
		t.SayDeltas(parts...)
	}
	const frames = 9 + 1 + 4 // buffered events, the event_start, the deltas
	env := newFakeEnv(t, script, true)
	for n := 1; n < frames; n++ {
		ctx := fakeCtx(t)
		before := len(env.srv.Events(env.session))
		var resume string
		if before > 0 {
			resume = recordedHistory(t, env.srv, env.session, before-1)[0].ID
		}
		nreq := len(streamRequests(env.srv, env.session))
		env.srv.CutStreams(qodertest.Cut{AfterEvents: n})
		s, err := env.client.Events.Stream(ctx, env.session, &qoder.StreamParams{
			LastEventID: resume,
			EventDeltas: []string{qoder.EventTypeAgentMessage},
		})
		require.NoError(t, err)
		_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
		require.NoError(t, err)
		got := readUntil(t, s, isEndTurn)
		require.NoError(t, s.Err())

		turn := recordedHistory(t, env.srv, env.session, before)
		require.Equal(t, historyIDs(turn), bufferedIDs(got), "cut after %d frames: buffered events exactly once, in order", n)

		var acc qoder.MessageAccumulator
		var msgID string
		for _, ev := range got {
			if id, text, changed := acc.Add(ev); changed {
				msgID = id
				assert.True(t, strings.HasPrefix(toolScriptText, text),
					"cut after %d frames: the accumulated text %q is not a prefix of the final text", n, text)
			}
		}
		require.NotEmpty(t, msgID)
		assert.True(t, acc.Final(msgID))
		assert.Equal(t, toolScriptText, acc.Text(msgID), "cut after %d frames", n)

		// Frames of the first connection: buffered events with the message's
		// start and deltas before it.
		var wire []recordedEvent
		for _, ev := range turn {
			if ev.Type == qoder.EventTypeAgentMessage {
				for range 1 + len(parts) {
					wire = append(wire, recordedEvent{})
				}
			}
			wire = append(wire, ev)
		}
		wantLEI := resume
		for _, f := range wire[:n] {
			if f.ID != "" {
				wantLEI = f.ID
			}
		}
		reqs := streamRequests(env.srv, env.session)[nreq:]
		assert.Equal(t, []string{resume, wantLEI}, lastEventIDs(reqs), "cut after %d frames", n)
	}
}

// TestFakeResilience_StreamDeltasReplayInProgress drops the stream while a
// message is still being generated: the reconnect replays its event_start
// and the deltas so far, and the accumulator rebuilds the text without
// duplicating it.
func TestFakeResilience_StreamDeltasReplayInProgress(t *testing.T) {
	for _, n := range []int{3, 4, 5, 6} { // running, user.message, span start, event_start, delta, delta
		t.Run(fmt.Sprintf("cut after %d frames", n), func(t *testing.T) {
			gate := make(chan struct{})
			script := func(t *qodertest.Turn) {
				m := t.StartMessage()
				m.Delta("Hel")
				m.Delta("lo, ")
				select {
				case <-gate:
				case <-t.Context().Done():
					return
				}
				m.Delta("wor")
				m.Delta("ld")
				m.End()
			}
			env := newFakeEnv(t, script, true)
			ctx := fakeCtx(t)
			env.srv.CutStreams(qodertest.Cut{AfterEvents: n})
			s, err := env.client.Events.Stream(ctx, env.session, &qoder.StreamParams{EventDeltas: []string{qoder.EventTypeAgentMessage}})
			require.NoError(t, err)
			_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
			require.NoError(t, err)

			// The first connection delivers the event_start when n >= 4; the
			// replay on the second connection delivers it again.
			wantStarts := 1
			if n >= 4 {
				wantStarts = 2
			}
			var acc qoder.MessageAccumulator
			var got []qoder.Event
			starts := 0
			timer := time.NewTimer(fakeWait)
			defer timer.Stop()
			ch := s.Events()
		loop:
			for {
				select {
				case ev, ok := <-ch:
					require.True(t, ok, "stream ended early: %v, %v", eventTypes(got), s.Err())
					got = append(got, ev)
					if _, text, changed := acc.Add(ev); changed {
						assert.True(t, strings.HasPrefix("Hello, world", text), "accumulated %q", text)
					}
					if _, ok := ev.(*qoder.EventStart); ok {
						if starts++; starts == wantStarts {
							close(gate) // the replay arrived: let the agent finish
						}
					}
					if isEndTurn(ev) {
						break loop
					}
				case <-timer.C:
					require.FailNowf(t, "timeout", "delivered %v; the replay of the event_start (%d expected) never came", eventTypes(got), wantStarts)
				}
			}
			require.NoError(t, s.Close())
			require.NoError(t, s.Err())
			assert.Equal(t, wantStarts, starts)
			msgs := 0
			for _, ev := range got {
				if m, ok := ev.(*qoder.AgentMessageEvent); ok {
					msgs++
					assert.Equal(t, "Hello, world", acc.Text(m.ID))
					assert.True(t, acc.Final(m.ID))
				}
			}
			assert.Equal(t, 1, msgs)
			assert.Equal(t, historyIDs(recordedHistory(t, env.srv, env.session, 0)), bufferedIDs(got))
			assert.Len(t, streamRequests(env.srv, env.session), 2)
		})
	}
}

// TestFakeResilience_StreamSilence stalls connections: the idle timeout
// must notice and resume; a stall shorter than it must not.
func TestFakeResilience_StreamSilence(t *testing.T) {
	cases := []struct {
		name    string
		silence qodertest.Silence
		idle    time.Duration
		resume  bool // open the stream from a resume point (needed when nothing is delivered before the stall)
		want    int  // stream requests
		wantLEI int  // index of the event the reconnect resumes from (-1: the resume point)
	}{
		{name: "silent after 3 events", silence: qodertest.Silence{AfterEvents: 3}, idle: 250 * time.Millisecond, want: 2, wantLEI: 2},
		{name: "silent after 7 events", silence: qodertest.Silence{AfterEvents: 7}, idle: 250 * time.Millisecond, want: 2, wantLEI: 6},
		{name: "silent from the start", silence: qodertest.Silence{}, idle: 250 * time.Millisecond, resume: true, want: 2, wantLEI: -1},
		{name: "two stalls in a row", silence: qodertest.Silence{AfterEvents: 2, Times: 2}, idle: 250 * time.Millisecond, want: 3, wantLEI: 1},
		{name: "a short stall is waited out", silence: qodertest.Silence{AfterEvents: 3, For: 50 * time.Millisecond}, idle: 2 * time.Second, want: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newFakeEnv(t, toolScript, true, qodertest.WithHeartbeatInterval(20*time.Millisecond))
			ctx := fakeCtx(t)
			var resume string
			if c.resume {
				_, err := env.client.Sessions.Run(ctx, env.session, "warm up")
				require.NoError(t, err)
				hist := recordedHistory(t, env.srv, env.session, 0)
				resume = hist[len(hist)-1].ID
			}
			before := len(env.srv.Events(env.session))
			nreq := len(streamRequests(env.srv, env.session))
			base := runtime.NumGoroutine()
			release := env.srv.SilenceStreams(c.silence)
			t.Cleanup(release)
			start := time.Now()
			s, err := env.client.Events.Stream(ctx, env.session, &qoder.StreamParams{IdleTimeout: c.idle, LastEventID: resume})
			require.NoError(t, err)
			_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
			require.NoError(t, err)
			got := readUntil(t, s, isEndTurn)
			require.NoError(t, s.Err())
			took := time.Since(start)

			turn := recordedHistory(t, env.srv, env.session, before)
			require.Len(t, turn, 9)
			require.Equal(t, historyIDs(turn), bufferedIDs(got), "every event exactly once, in order")
			reqs := streamRequests(env.srv, env.session)[nreq:]
			require.Len(t, reqs, c.want, "stream connections")
			if c.want > 1 {
				want := resume
				if c.wantLEI >= 0 {
					want = turn[c.wantLEI].ID
				}
				assert.Equal(t, want, reqs[1].Header.Get("Last-Event-ID"))
				assert.GreaterOrEqual(t, took, c.idle, "the stall lasts at least the idle timeout")
			}
			if c.want == 3 {
				assert.Equal(t, turn[2*c.silence.AfterEvents-1].ID, reqs[2].Header.Get("Last-Event-ID"))
			}
			release()
			checkGoroutines(t, env, base)
		})
	}
}

// TestFakeResilience_StreamOpenFailures injects failures into the first
// connection of a stream.
func TestFakeResilience_StreamOpenFailures(t *testing.T) {
	cases := []struct {
		name    string
		fail    qodertest.Failure
		params  *qoder.StreamParams
		want    int // stream requests
		wantErr []error
		status  int
	}{
		{name: "401", fail: qodertest.Failure{Status: 401}, want: 1, wantErr: []error{qoder.ErrAuthentication}, status: 401},
		{name: "403", fail: qodertest.Failure{Status: 403}, want: 1, wantErr: []error{qoder.ErrPermission}, status: 403},
		{name: "404", fail: qodertest.Failure{Status: 404}, want: 1, wantErr: []error{qoder.ErrNotFound}, status: 404},
		{name: "409", fail: qodertest.Failure{Status: 409}, want: 1, wantErr: []error{qoder.ErrConflict}, status: 409},
		{name: "401 HTML page", fail: qodertest.Failure{Status: 401, Body: "<html><body>401 Authorization Required</body></html>"}, want: 1, wantErr: []error{qoder.ErrAuthentication}, status: 401},
		{
			name: "503 with MaxReconnects 1 gives up", fail: qodertest.Failure{Status: 503, Times: 5},
			params: &qoder.StreamParams{MaxReconnects: 1},
			want:   1, wantErr: []error{qoder.ErrStreamGaveUp, qoder.ErrServer}, status: 503,
		},
		{name: "503 then success", fail: qodertest.Failure{Status: 503, RetryAfter: "0"}, want: 2},
		{name: "429 then success", fail: qodertest.Failure{Status: 429, RetryAfter: "0"}, want: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newFakeEnv(t, toolScript, false)
			base := runtime.NumGoroutine()
			ctx := fakeCtx(t)
			c.fail.Method, c.fail.Path = "GET", "sessions/*/events/stream"
			env.srv.FailRequests(c.fail)
			s, err := env.client.Events.Stream(ctx, env.session, c.params)
			reqs := streamRequests(env.srv, env.session)
			if c.wantErr != nil {
				require.Error(t, err)
				require.Nil(t, s)
				for _, want := range c.wantErr {
					assert.ErrorIs(t, err, want)
				}
				var apiErr *qoder.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, c.status, apiErr.StatusCode)
				assert.NotEmpty(t, apiErr.RequestID)
				assert.NotContains(t, apiErr.Message, "<")
				require.Len(t, reqs, c.want, "no retry of a final refusal")
				checkGoroutines(t, env, base)
				return
			}
			require.NoError(t, err)
			require.Len(t, reqs, c.want)
			// Retry-After: 0 asks for an immediate retry; the stream's own
			// backoff for a second attempt is 750–1000 ms.
			assert.Less(t, reqs[1].Time.Sub(reqs[0].Time), 500*time.Millisecond,
				"Retry-After: 0 on a refused stream connection means reconnect at once, not after the backoff (events_stream_reconnect.go reconnectPolicy.delay must not treat 0 as unset)")
			_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
			require.NoError(t, err)
			got := readUntil(t, s, isEndTurn)
			assert.Equal(t, historyIDs(recordedHistory(t, env.srv, env.session, 0)), bufferedIDs(got))
			checkGoroutines(t, env, base)
		})
	}
}

// TestFakeResilience_StreamReconnectFailures drops a stream, then injects
// failures into its reconnects.
func TestFakeResilience_StreamReconnectFailures(t *testing.T) {
	cases := []struct {
		name    string
		fail    qodertest.Failure
		params  qoder.StreamParams
		want    int // stream requests
		wantErr []error
	}{
		{name: "503 twice then success", fail: qodertest.Failure{Status: 503, RetryAfter: "0", Times: 2}, want: 4},
		{name: "502 HTML twice then success", fail: qodertest.Failure{Status: 502, Body: "<html>Bad Gateway</html>", Times: 2}, want: 4},
		{name: "429 then success", fail: qodertest.Failure{Status: 429, RetryAfter: "0"}, want: 3},
		{name: "404 ends the stream", fail: qodertest.Failure{Status: 404}, want: 2, wantErr: []error{qoder.ErrNotFound}},
		{name: "401 ends the stream", fail: qodertest.Failure{Status: 401}, want: 2, wantErr: []error{qoder.ErrAuthentication}},
		{
			name: "503 beyond MaxReconnects gives up", fail: qodertest.Failure{Status: 503, Times: 10},
			params: qoder.StreamParams{MaxReconnects: 3},
			want:   4, wantErr: []error{qoder.ErrStreamGaveUp, qoder.ErrServer},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newFakeEnv(t, toolScript, true)
			base := runtime.NumGoroutine()
			ctx := fakeCtx(t)
			env.srv.CutStreams(qodertest.Cut{AfterEvents: 2})
			s, err := env.client.Events.Stream(ctx, env.session, &c.params)
			require.NoError(t, err)
			// Registered after the first connection, so only reconnects fail.
			c.fail.Method, c.fail.Path = "GET", "sessions/*/events/stream"
			env.srv.FailRequests(c.fail)
			_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
			require.NoError(t, err)
			got := readUntil(t, s, isEndTurn)
			hist := recordedHistory(t, env.srv, env.session, 0)
			reqs := streamRequests(env.srv, env.session)
			require.Len(t, reqs, c.want, "stream connections")
			for i, r := range reqs[1:] {
				assert.Equal(t, hist[1].ID, r.Header.Get("Last-Event-ID"), "reconnect %d resumes from the second event", i+1)
			}
			if c.wantErr != nil {
				require.Len(t, got, 2, "the events before the drop")
				err := s.Err()
				for _, want := range c.wantErr {
					assert.ErrorIs(t, err, want)
				}
				var apiErr *qoder.APIError
				assert.ErrorAs(t, err, &apiErr)
			} else {
				require.NoError(t, s.Err())
				assert.Equal(t, historyIDs(hist), bufferedIDs(got), "every event exactly once, in order")
			}
			checkGoroutines(t, env, base)
		})
	}
}

// TestFakeResilience_StreamTerminal ends streams with terminal events: the
// channel closes by itself with a nil Err and no reconnect.
func TestFakeResilience_StreamTerminal(t *testing.T) {
	cases := []struct {
		name   string
		cut    *qodertest.Cut
		delete bool
		want   int // stream requests
		last   string
	}{
		{name: "terminated", want: 1, last: qoder.EventTypeSessionStatusTerminated},
		{name: "terminated, connection cut right after it", cut: &qodertest.Cut{AfterEvents: 6}, want: 1, last: qoder.EventTypeSessionStatusTerminated},
		{name: "terminated, connection cut right before it", cut: &qodertest.Cut{AfterEvents: 5}, want: 2, last: qoder.EventTypeSessionStatusTerminated},
		{name: "deleted", delete: true, want: 1, last: qoder.EventTypeSessionDeleted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			said := make(chan struct{})
			script := func(t *qodertest.Turn) {
				t.Say("bye")
				if c.delete {
					close(said)
					<-t.Context().Done()
					return
				}
				t.Terminate()
			}
			env := newFakeEnv(t, script, true)
			base := runtime.NumGoroutine()
			ctx := fakeCtx(t)
			if c.cut != nil {
				env.srv.CutStreams(*c.cut)
			}
			s, err := env.client.Events.Stream(ctx, env.session, nil)
			require.NoError(t, err)
			_, err = env.client.Events.SendMessage(ctx, env.session, "hi")
			require.NoError(t, err)
			if c.delete {
				select {
				case <-said:
				case <-time.After(fakeWait):
					require.FailNow(t, "the agent never spoke")
				}
				_, err := env.client.Sessions.Delete(ctx, env.session)
				require.NoError(t, err)
			}
			got := readUntil(t, s, nil) // until the channel closes by itself
			require.NoError(t, s.Err(), "a terminal event ends the stream cleanly")
			require.NotEmpty(t, got)
			assert.Equal(t, c.last, got[len(got)-1].EventType())
			assert.Len(t, streamRequests(env.srv, env.session), c.want, "no reconnect after a terminal event")
			// Next after the end stays false and the error stays nil.
			assert.False(t, s.Next())
			assert.NoError(t, s.Err())
			require.NoError(t, s.Close())
			checkGoroutines(t, env, base)
		})
	}
}

// ---------------------------------------------------------------------------
// Turns
