package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSSECounter: the events of a stream are counted whatever the chunks
// its bytes arrive in, heartbeats and comments excepted.
func TestSSECounter(t *testing.T) {
	t.Parallel()
	const stream = ": comment\n\n" +
		"event: heartbeat\ndata: {}\n\n" +
		"id: evt_1\nevent: agent.message\ndata: {\"id\":\"evt_1\"}\n\n" +
		"id: evt_2\r\nevent: session.status_idle\r\ndata: {\"id\":\"evt_2\",\r\ndata: \"long\":\"" + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" + "\"}\r\n\r\n" +
		"event: ping\n\n" +
		"data: [DONE]\n\n" +
		"event: agent.message\ndata: {\"id\":\"evt_3\"}" // no blank line yet: not counted
	for _, size := range []int{1, 2, 7, 64, len(stream)} {
		var c sseCounter
		for i := 0; i < len(stream); i += size {
			c.write([]byte(stream[i:min(i+size, len(stream))]))
		}
		assert.Equal(t, 3, c.count, "chunks of %d bytes", size)
		assert.LessOrEqual(t, cap(c.line), 2*maxLineStart, "only the start of a line is kept")
	}
}
