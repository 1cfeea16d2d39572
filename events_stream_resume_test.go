package qoder

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResumeState_windowGrowsOnDemand: the window of delivered ids costs
// nothing until an event is delivered, grows with the events, and once it
// holds dedupWindow ids forgets the oldest first.
func TestResumeState_windowGrowsOnDemand(t *testing.T) {
	r := newResumeState()
	assert.Nil(t, r.window.seen, "nothing delivered, no window")
	assert.Zero(t, cap(r.window.ring))

	id := func(i int) string { return fmt.Sprintf("evt_%d", i) }
	for i := 1; i <= 3; i++ {
		r.remember(id(i))
	}
	assert.Len(t, r.window.ring, 3)
	assert.Less(t, cap(r.window.ring), 16, "three ids, a small window")

	const extra = 5
	for i := 4; i <= dedupWindow+extra; i++ {
		require.False(t, r.delivered(id(i)))
		r.remember(id(i))
	}
	assert.Equal(t, dedupWindow, cap(r.window.ring), "never more than dedupWindow")
	assert.Len(t, r.window.seen, dedupWindow)
	for i := 1; i <= extra; i++ {
		assert.False(t, r.delivered(id(i)), "the oldest ids are forgotten: %s", id(i))
	}
	for i := extra + 1; i <= dedupWindow+extra; i++ {
		require.True(t, r.delivered(id(i)), "%s is still in the window", id(i))
	}
	r.remember(id(dedupWindow + extra + 1))
	assert.False(t, r.delivered(id(extra+1)), "one more id pushes out the next oldest")
	assert.True(t, r.delivered(id(extra+2)))
}
