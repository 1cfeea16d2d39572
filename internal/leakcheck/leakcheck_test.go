package leakcheck

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWaitReturnsOnceGoroutinesEnd(t *testing.T) {
	defer func(f func() int) { numGoroutine = f }(numGoroutine)
	const base = 10
	running := base + 1 // one goroutine too many, until the third tidy ends it
	numGoroutine = func() int { return running }
	tidied := 0
	Wait(t, base, func() {
		tidied++
		if tidied == 3 {
			running = base
		}
	})
	assert.Equal(t, 3, tidied, "Wait polls until the count is back to base, and no longer")
}

// fakeT records a failure instead of ending the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(string, ...any) {
	f.failed = true
	runtime.Goexit()
}

func TestWaitFailsOnALeak(t *testing.T) {
	defer func(d time.Duration) { timeout = d }(timeout)
	timeout = 50 * time.Millisecond
	block := make(chan struct{})
	defer close(block)
	// Three goroutines that outlive Wait: the count stays above base even
	// if a goroutine of the test framework ends meanwhile.
	base := runtime.NumGoroutine()
	for range 3 {
		go func() { <-block }()
	}
	ft := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Wait(ft, base, nil)
	}()
	<-done
	assert.True(t, ft.failed)
}
