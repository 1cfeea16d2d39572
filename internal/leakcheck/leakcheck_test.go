package leakcheck

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWaitReturnsOnceGoroutinesEnd(t *testing.T) {
	base := runtime.NumGoroutine()
	release := make(chan struct{})
	go func() { <-release }()
	tidied := 0
	Wait(t, base, func() {
		tidied++
		if tidied == 3 {
			close(release)
		}
	})
	assert.GreaterOrEqual(t, tidied, 3, "Wait keeps polling until the goroutine ended")
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
	base := runtime.NumGoroutine()
	go func() { <-block }()
	ft := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Wait(ft, base, nil)
	}()
	<-done
	assert.True(t, ft.failed)
}
