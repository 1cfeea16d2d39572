package main

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// screen is the terminal: it keeps what run writes, and calls onText once
// when the text it waits for appears.
type screen struct {
	mu     sync.Mutex
	b      strings.Builder
	wait   string
	onText func()
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.b.Write(p)
	var fire func()
	if s.onText != nil && strings.Contains(s.b.String(), s.wait) {
		fire, s.onText = s.onText, nil
	}
	s.mu.Unlock()
	if fire != nil {
		fire()
	}
	return len(p), nil
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestChatGoesOnAfterCtrlC asks for a story, cancels that turn's context
// once the story has begun (what Ctrl-C does), and sends another message:
// the story stops, and the next message is answered as usual.
func TestChatGoesOnAfterCtrlC(t *testing.T) {
	t.Setenv("QODER_PAT", "") // the in-process fake
	out := &screen{wait: "Once upon"}
	turns := 0
	turnContext := func(ctx context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(ctx)
		turns++
		if turns == 1 {
			out.mu.Lock()
			out.onText = cancel // Ctrl-C once the story has begun
			out.mu.Unlock()
		}
		return ctx, cancel
	}
	in := strings.NewReader("Tell me a story\n\nhello\n")

	require.NoError(t, run(t.Context(), in, out, turnContext))
	got := out.String()
	assert.Contains(t, got, "> Once upon")
	assert.NotContains(t, got, "never quite ended", "the story stopped")
	assert.Contains(t, got, "\n[interrupted]\n> ")
	assert.Contains(t, got, "> You said: hello\n> \n", "the conversation went on")
	assert.Equal(t, 2, turns, "the empty line is skipped")
}
