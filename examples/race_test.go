//go:build race

package examples

func init() { raceEnabled = true }
