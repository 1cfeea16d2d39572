package qoder

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStream_openErrors(t *testing.T) {
	errBody := func(typ, msg string) string {
		return fmt.Sprintf(`{"type":"error","request_id":"req_open","error":{"type":%q,"message":%q}}`, typ, msg)
	}
	for _, tt := range []struct {
		status   int
		body     string
		sentinel error
	}{
		{http.StatusBadRequest, errBody(ErrorTypeInvalidRequest, "bad cursor"), ErrInvalidRequest},
		{http.StatusUnauthorized, errBody(ErrorTypeAuthentication, "invalid token"), ErrAuthentication},
		{http.StatusForbidden, errBody(ErrorTypePermission, "no access"), ErrPermission},
		{http.StatusNotFound, errBody(ErrorTypeNotFound, "no such session"), ErrNotFound},
		{http.StatusConflict, errBody(ErrorTypeConflict, "conflict"), ErrConflict},
		{http.StatusUnprocessableEntity, errBody(ErrorTypeInvalidRequest, "bad"), ErrInvalidRequest},
	} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
				serveJSON(t, w, tt.status, tt.body)
			})
			s, err := c.Events.Stream(streamCtx(t), streamSessionID, nil)
			require.Error(t, err)
			assert.Nil(t, s, "the stream is non-nil only when the error is nil")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, "req_open", apiErr.RequestID)
			assert.ErrorIs(t, err, tt.sentinel)
			assert.NotErrorIs(t, err, ErrStreamGaveUp)
			assert.Equal(t, 1, rr.count(), "a 4xx other than 408/429 is never retried")
			assert.NotContains(t, err.Error(), testToken)
		})
	}

	for _, status := range []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprintf("%d retried then succeeds", status), func(t *testing.T) {
			c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n < 2 {
					w.Header().Set("Retry-After-Ms", "20")
					serveJSON(t, w, status, errBody(ErrorTypeAPI, "try again"))
					return
				}
				sseStart(w)
				sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning), terminatedFrame("evt_2"))
			})
			start := time.Now()
			s := openTestStream(t, t.Context(), c, nil)
			assert.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond, "Retry-After-Ms is honoured")
			assert.Equal(t, idRange(1, 2), eventIDs(collectStream(t, s, streamWait)))
			assert.NoError(t, s.Err())
			assert.Equal(t, 3, rr.count())
		})
	}

	t.Run("Retry-After 0 retries at once", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				w.Header().Set("Retry-After", "0")
				serveJSON(t, w, http.StatusServiceUnavailable, errBody(ErrorTypeAPI, "try again"))
				return
			}
			sseStart(w)
			sseWrite(w, terminatedFrame("evt_1"))
		})
		c.backoff = defaultBackoff // would wait 750 ms or more
		s := openTestStream(t, t.Context(), c, nil)
		assert.Equal(t, idRange(1, 1), eventIDs(collectStream(t, s, streamWait)))
		reqs := rr.list()
		require.Len(t, reqs, 2)
		assert.Less(t, reqs[1].at.Sub(reqs[0].at), 500*time.Millisecond)
	})

	t.Run("500 gives up after MaxReconnects", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			serveJSON(t, w, http.StatusInternalServerError, errBody(ErrorTypeAPI, "boom"))
		})
		s, err := c.Events.Stream(streamCtx(t), streamSessionID, &StreamParams{MaxReconnects: 3})
		require.Error(t, err)
		assert.Nil(t, s)
		assert.ErrorIs(t, err, ErrStreamGaveUp)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr, "the last failure stays reachable")
		assert.Equal(t, http.StatusInternalServerError, apiErr.StatusCode)
		assert.Contains(t, err.Error(), "3 consecutive failed attempts")
		assert.Equal(t, 3, rr.count())
	})

	t.Run("default budget is 10 attempts", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			serveJSON(t, w, http.StatusServiceUnavailable, errBody(ErrorTypeAPI, "down"))
		})
		_, err := c.Events.Stream(streamCtx(t), streamSessionID, nil)
		assert.ErrorIs(t, err, ErrStreamGaveUp)
		assert.ErrorIs(t, err, ErrServer)
		assert.Equal(t, 10, rr.count())
	})

	t.Run("x-should-retry false", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("X-Should-Retry", "false")
			serveJSON(t, w, http.StatusServiceUnavailable, errBody(ErrorTypeAPI, "down"))
		})
		_, err := c.Events.Stream(streamCtx(t), streamSessionID, nil)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.NotErrorIs(t, err, ErrStreamGaveUp)
		assert.Equal(t, 1, rr.count())
	})

	t.Run("empty session id fails before any request", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {})
		s, err := c.Events.Stream(streamCtx(t), "", nil)
		require.Error(t, err)
		assert.Nil(t, s)
		assert.Zero(t, rr.count())
	})
}

func TestStream_eventSize(t *testing.T) {
	t.Run("1 MiB in 4 KiB writes", func(t *testing.T) {
		text := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
		frame := sseEvent("evt_1", EventTypeAgentMessage, `,"content":[{"type":"text","text":"`+text+`"}]`)
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			for rest := frame; rest != ""; {
				k := min(4<<10, len(rest))
				sseWrite(w, rest[:k])
				rest = rest[k:]
			}
			sseWrite(w, terminatedFrame("evt_2"))
		})
		s := openTestStream(t, t.Context(), c, nil)
		evs := collectStream(t, s, streamWait)
		require.NoError(t, s.Err())
		require.Len(t, evs, 2)
		assert.Equal(t, text, evs[0].(*AgentMessageEvent).Text())
	})

	t.Run("16 MiB, the default limit", func(t *testing.T) {
		if testing.Short() {
			t.Skip("a 16 MiB event")
		}
		const prefix, suffix = `{"id":"evt_1","type":"agent.message","content":[{"type":"text","text":"`, `"}]}`
		text := strings.Repeat("x", defaultMaxEventSize-len(prefix)-len(suffix))
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, "id: evt_1\nevent: agent.message\ndata: "+prefix+text+suffix+"\n\n")
			if n == 0 {
				// One byte more than the limit: the stream must end.
				sseWrite(w, "id: evt_2\nevent: agent.message\ndata: "+prefix+text+"x"+suffix+"\n\n")
			}
		})
		s := openTestStream(t, t.Context(), c, nil)
		// A hang guard, not a speed target: under -race on a loaded machine,
		// framing and decoding 32 MiB takes tens of seconds.
		evs := collectStream(t, s, 3*time.Minute)
		require.Len(t, evs, 1)
		assert.Len(t, evs[0].(*AgentMessageEvent).Text(), len(text))
		assert.ErrorIs(t, s.Err(), ErrEventTooLarge)
		assert.Equal(t, 1, rr.count())
	})

	t.Run("80 KB of 4 KB data lines", func(t *testing.T) {
		block := `{"type":"text","text":"` + strings.Repeat("x", 4000) + `"}`
		var b strings.Builder
		b.WriteString("id: evt_1\nevent: agent.message\ndata: {\"id\":\"evt_1\",\"type\":\"agent.message\",\"content\":[\n")
		for i := range 20 {
			sep := ","
			if i == 19 {
				sep = "]}"
			}
			b.WriteString("data: " + block + sep + "\n")
		}
		b.WriteString("\n")
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, b.String(), terminatedFrame("evt_2"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{MaxEventSize: 100 << 10})
		evs := collectStream(t, s, streamWait)
		require.NoError(t, s.Err())
		require.Len(t, evs, 2)
		assert.Len(t, evs[0].(*AgentMessageEvent).Text(), 80000)
	})

	t.Run("over the limit ends the stream after one request", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
			sseWrite(w, sseEvent("evt_2", EventTypeAgentMessage, `,"content":[{"type":"text","text":"`+strings.Repeat("y", 2000)+`"}]`))
			sseWrite(w, terminatedFrame("evt_3"))
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{MaxEventSize: 1024})
		assert.Equal(t, []string{"evt_1"}, eventIDs(collectStream(t, s, streamWait)))
		assert.ErrorIs(t, s.Err(), ErrEventTooLarge)
		assert.ErrorContains(t, s.Err(), "1024")
		assert.Equal(t, 1, rr.count(), "an oversized event is not retried")
	})

	t.Run("a line that never ends", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			chunk := strings.Repeat("z", 4096)
			sseWrite(w, "data: ")
			for r.Context().Err() == nil {
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
		})
		s := openTestStream(t, t.Context(), c, &StreamParams{MaxEventSize: 64 << 10})
		assert.Empty(t, collectStream(t, s, streamWait))
		assert.ErrorIs(t, s.Err(), ErrEventTooLarge)
		assert.Equal(t, 1, rr.count())
	})
}

func TestStream_wrongContentType(t *testing.T) {
	for _, tt := range []struct {
		name, contentType, body string
	}{
		{"json", "application/json", `{"data":[]}`},
		{"html", "text/html; charset=utf-8", "<html><body>Sign in</body></html>"},
		{"plain text", "text/plain", "hello"},
		{"none", "", "data: {}\n\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header()["Content-Type"] = []string{tt.contentType}
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, tt.body)
			})
			s, err := c.Events.Stream(streamCtx(t), streamSessionID, nil)
			require.Error(t, err)
			assert.Nil(t, s)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusOK, apiErr.StatusCode)
			assert.Contains(t, apiErr.Message, "expected an event stream")
			assert.Equal(t, tt.body, string(apiErr.Body))
			assert.Equal(t, 1, rr.count(), "a wrong content type is permanent")
		})
	}

	t.Run("on reconnect", func(t *testing.T) {
		c, rr := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				sseStart(w)
				sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
				abort()
			}
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>maintenance</html>")
		})
		s := openTestStream(t, t.Context(), c, nil)
		assert.Equal(t, []string{"evt_1"}, eventIDs(collectStream(t, s, streamWait)))
		var apiErr *APIError
		require.ErrorAs(t, s.Err(), &apiErr)
		assert.Equal(t, http.StatusOK, apiErr.StatusCode)
		assert.Equal(t, 2, rr.count())
	})

	t.Run("a huge body is not read", func(t *testing.T) {
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", "application/json")
			chunk := strings.Repeat(" ", 64<<10)
			for r.Context().Err() == nil {
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
		})
		_, err := c.Events.Stream(streamCtx(t), streamSessionID, nil)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.LessOrEqual(t, len(apiErr.Body), 4<<10)
	})
}

func TestStream_echoedTokenIsRedacted(t *testing.T) {
	echoEnvelope := func(r *http.Request) string {
		auth := r.Header.Get("Authorization")
		return `{"type":"error","request_id":"` + auth + `","error":{"type":"authentication_error","message":"bad ` + auth + `"}}`
	}
	t.Run("refused at open", func(t *testing.T) {
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("X-Request-Id", r.Header.Get("Authorization"))
			serveJSON(t, w, http.StatusUnauthorized, echoEnvelope(r))
		})
		_, err := c.Events.Stream(streamCtx(t), streamSessionID, nil)
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrAuthentication)
		assertAPIErrorHasNoToken(t, testToken, err)
	})
	t.Run("error frame", func(t *testing.T) {
		c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
			sseStart(w)
			sseWrite(w, "event: error\ndata: "+echoEnvelope(r)+"\n\n")
		})
		s := openTestStream(t, t.Context(), c, nil)
		collectStream(t, s, streamWait)
		require.Error(t, s.Err())
		assertAPIErrorHasNoToken(t, testToken, s.Err())
	})
}
