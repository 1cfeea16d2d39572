package qoder

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readSizeTransport records the size of the buffer of every Read of a
// response body. The stream's parser reads the body straight into its own
// buffer, so the sizes show how large that buffer is.
type readSizeTransport struct {
	base  http.RoundTripper
	mu    sync.Mutex
	sizes []int
}

func (t *readSizeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		resp.Body = &readSizeBody{ReadCloser: resp.Body, t: t}
	}
	return resp, err
}

// reads returns how many reads were made so far and the largest buffer of
// those made after the first from.
func (t *readSizeTransport) reads(from int) (n, largest int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, size := range t.sizes[min(from, len(t.sizes)):] {
		largest = max(largest, size)
	}
	return len(t.sizes), largest
}

type readSizeBody struct {
	io.ReadCloser
	t *readSizeTransport
}

func (b *readSizeBody) Read(p []byte) (int, error) {
	b.t.mu.Lock()
	b.t.sizes = append(b.t.sizes, len(p))
	b.t.mu.Unlock()
	return b.ReadCloser.Read(p)
}

// TestStream_largeEventThenSmallOnes: an event far larger than the parser's
// initial buffer arrives whole, and once a small event has followed it, the
// events are read into a buffer of the initial size again.
func TestStream_largeEventThenSmallOnes(t *testing.T) {
	text := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	// The test got the large event, then the first small one after it.
	received := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	c, _ := newStreamTest(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseStart(w)
		sseWrite(w, sseEvent("evt_1", EventTypeSessionStatusRunning))
		frame := sseEvent("evt_2", EventTypeAgentMessage, `,"content":[{"type":"text","text":"`+text+`"}]`)
		for rest := frame; rest != ""; {
			k := min(64<<10, len(rest))
			sseWrite(w, rest[:k])
			rest = rest[k:]
		}
		for i, ch := range received {
			select {
			case <-ch:
			case <-r.Context().Done():
				return
			}
			if i == 0 {
				sseWrite(w, sseEvent("evt_3", EventTypeSessionUpdated))
			}
		}
		for i := 4; i < 100; i++ {
			sseWrite(w, sseEvent(fmt.Sprintf("evt_%d", i), EventTypeSessionUpdated))
		}
		sseWrite(w, terminatedFrame("evt_100"))
	})
	sizes := &readSizeTransport{base: c.httpClient.Transport}
	if sizes.base == nil {
		sizes.base = http.DefaultTransport
	}
	hc := *c.httpClient
	hc.Transport = sizes
	c.httpClient = &hc

	s := openTestStream(t, t.Context(), c, nil)
	require.True(t, s.Next())
	assert.Equal(t, "evt_1", s.Event().EventID())
	_, largest := sizes.reads(0)
	assert.LessOrEqual(t, largest, 4096, "small events fit the initial buffer")

	require.True(t, s.Next())
	msg, ok := s.Event().(*AgentMessageEvent)
	require.True(t, ok, "got %T", s.Event())
	assert.True(t, text == msg.Text(), "the 1 MiB event arrives whole (got %d bytes)", len(msg.Text()))
	_, largest = sizes.reads(0)
	assert.Greater(t, largest, 64<<10, "the buffer grew to hold it")
	close(received[0])

	require.True(t, s.Next(), "the first small event after it lets the grown buffer go")
	assert.Equal(t, "evt_3", s.Event().EventID())
	after, _ := sizes.reads(0)
	close(received[1])

	var ids []string
	for s.Next() {
		ids = append(ids, s.Event().EventID())
	}
	require.NoError(t, s.Err())
	assert.Equal(t, idRange(4, 100), ids)
	n, largest := sizes.reads(after)
	require.Greater(t, n, after, "the later events were read from the body")
	assert.LessOrEqual(t, largest, 4096, "the buffer is back at its initial size")
}
