package qodertest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestConcurrentClients runs many clients at once, each with its own
// session, stream and turns, while others list and read.
func TestConcurrentClients(t *testing.T) {
	a := newAPI(t, WithAgent(func(turn *Turn) {
		turn.Think()
		turn.SayDeltas("a", "b", "c")
	}))
	env := a.createEnv("shared")
	ag := a.createAgent("shared", nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			id := a.ok(201, "POST", "sessions", map[string]any{"agent": ag, "environment_id": env, "title": fmt.Sprint("s", i)})["id"].(string)
			st := a.openStream(id, "event_deltas[]=agent.message")
			for range 3 {
				if !assert.Equal(t, 202, a.send(id, userMessage("go")).status) {
					return
				}
				frames := st.until("session.status_idle")
				assert.Contains(t, events(frames), "event_delta")
			}
		})
		wg.Go(func() {
			for range 10 {
				a.ok(200, "GET", "sessions?limit=5", nil)
				a.ok(201, "POST", "agents", map[string]any{"name": fmt.Sprint("a", i), "model": "auto"})
				a.ok(200, "GET", "agents", nil)
			}
		})
	}
	wg.Wait()
	assert.Len(t, ids(a.ok(200, "GET", "sessions?limit=100", nil)), 8)
}
