package qoder

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRecentSet(t *testing.T) {
	s := recentSet[int]{max: 20}
	assert.False(t, s.contains(1))
	assert.Nil(t, s.seen, "empty until the first insert")
	for k := 1; k <= 5; k++ {
		s.insert(k)
	}
	assert.Equal(t, 8, cap(s.ring), "grows with the keys")
	for k := 6; k <= 25; k++ {
		s.insert(k)
	}
	assert.Equal(t, 20, cap(s.ring), "never beyond max")
	assert.Len(t, s.seen, 20)
	for k := 1; k <= 5; k++ {
		assert.False(t, s.contains(k), "the oldest are pushed out: %d", k)
	}
	for k := 6; k <= 25; k++ {
		assert.True(t, s.contains(k), "%d is remembered", k)
	}
	s.insert(26)
	assert.False(t, s.contains(6))
	assert.True(t, s.contains(7))
}
