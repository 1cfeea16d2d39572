package qodertest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdempotency(t *testing.T) {
	a := newAPI(t)
	body := map[string]any{"name": "once", "model": "auto"}

	first := a.req("POST", "agents", body, "Idempotency-Key", "key-1")
	require.Equal(t, 201, first.status)
	again := a.req("POST", "agents", body, "Idempotency-Key", "key-1")
	assert.Equal(t, 201, again.status, "the original status is replayed")
	assert.Equal(t, string(first.body), string(again.body), "the original response is replayed")
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	assert.Len(t, ids(a.ok(200, "GET", "agents", nil)), 1, "no second agent")

	r := a.req("POST", "agents", map[string]any{"name": "other", "model": "auto"}, "Idempotency-Key", "key-1")
	require.Equal(t, 409, r.status)
	typ, msg, _ := r.errorOf(t)
	assert.Equal(t, "conflict_error", typ)
	assert.Equal(t, "Idempotency key reused with a different request body.", msg)

	legacy := a.req("POST", "agents", body, "X-Idempotency-Key", "key-2")
	assert.Equal(t, legacy.body, a.req("POST", "agents", body, "X-Idempotency-Key", "key-2").body, "the legacy header works too")

	a.req("POST", "agents", body)
	a.req("POST", "agents", body)
	assert.Len(t, ids(a.ok(200, "GET", "agents", nil)), 4, "without a key every request runs")

	// Errors below 500 are replayed as well.
	bad := a.req("POST", "agents", map[string]any{}, "Idempotency-Key", "key-3")
	assert.Equal(t, bad.body, a.req("POST", "agents", map[string]any{}, "Idempotency-Key", "key-3").body)
}

func TestIdempotentSend(t *testing.T) {
	a := newAPI(t)
	id := a.createSession()
	body := map[string]any{"events": []any{userMessage("hi")}}
	first := a.req("POST", "sessions/"+id+"/events", body, "Idempotency-Key", "send-1")
	require.Equal(t, 202, first.status)
	a.waitStatus(id, "idle", "end_turn")
	again := a.req("POST", "sessions/"+id+"/events", body, "Idempotency-Key", "send-1")
	assert.Equal(t, 202, again.status)
	assert.Equal(t, string(first.body), string(again.body), "same event ids")
	n := 0
	for _, typ := range a.srv.EventTypes(id) {
		if typ == "user.message" {
			n++
		}
	}
	assert.Equal(t, 1, n, "the message was not sent twice")
}
