// Package leakcheck lets tests wait for the goroutines they started to end.
package leakcheck

import (
	"runtime"
	"testing"
	"time"
)

// timeout is how long Wait gives goroutines to end.
var timeout = 5 * time.Second

// numGoroutine counts the goroutines; the package's tests replace it, since
// the real count also moves with goroutines of the test framework.
var numGoroutine = runtime.NumGoroutine

// Wait polls until no more than base goroutines run, calling tidy (if not
// nil) before each count, for example to close idle HTTP connections. It
// fails the test with a dump of every goroutine when the count is still
// above base after five seconds.
func Wait(t testing.TB, base int, tidy func()) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if tidy != nil {
			tidy()
		}
		n := numGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines still run, want at most %d:\n%s", n, base, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
