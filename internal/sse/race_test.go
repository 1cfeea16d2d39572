//go:build race

package sse

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = true
