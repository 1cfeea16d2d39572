package qodertest

import (
	"context"
	"strings"
	"testing"

	"github.com/qoder-go/qoder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dreamScript answers dreams whose instructions say "wait" only once
// release is closed, fails those that say "fail", and consolidates the
// others at once.
func dreamScript(release <-chan struct{}) func(*Turn) {
	return func(turn *Turn) {
		switch {
		case !strings.HasPrefix(turn.Text(), "Dream drm_"):
			turn.Say("not a dream")
		case strings.HasSuffix(turn.Text(), "Instructions: wait"):
			select {
			case <-release:
			case <-turn.Context().Done():
			}
		case strings.HasSuffix(turn.Text(), "Instructions: fail"):
			turn.Error("overloaded_error", "no capacity", "terminal")
		default:
			turn.Say("Consolidated the notes.")
		}
	}
}

func TestDreamsRunAndComplete(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, WithAgent(dreamScript(nil)))
	client := srv.Client()
	ctx := t.Context()
	store, err := client.MemoryStores.Create(ctx, &qoder.MemoryStoreCreateParams{Name: "notes", Description: "team notes"})
	require.NoError(t, err)
	_, err = client.MemoryStores.Memories.Create(ctx, store.ID, &qoder.MemoryCreateParams{Path: "db.md", Content: "We use Postgres."})
	require.NoError(t, err)
	sessionID := srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))

	d, err := client.Dreams.Create(ctx, &qoder.DreamCreateParams{
		Inputs:       []qoder.DreamInput{qoder.DreamFromMemoryStore(store.ID), qoder.DreamFromSessions(sessionID)},
		Model:        qoder.DreamModel{ID: "auto"},
		Instructions: "Focus on decisions",
	})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(d.ID, "drm_"))
	assert.Equal(t, qoder.DreamPending, d.Status, "recorded pending")
	assert.Empty(t, d.SessionID, "as recorded: no session yet")
	assert.Equal(t, qoder.DreamModel{ID: "auto"}, d.Model)
	assert.Len(t, d.Inputs, 2)

	ctxWait, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	done, err := client.Dreams.Wait(ctxWait, d.ID, fastWait)
	require.NoError(t, err)
	assert.Equal(t, qoder.DreamCompleted, done.Status)
	assert.Nil(t, done.Error)
	assert.False(t, done.EndedAt.IsZero())
	require.NotEmpty(t, done.SessionID)
	assert.Positive(t, done.Usage.InputTokens)
	assert.Positive(t, done.Usage.OutputTokens)
	require.Len(t, done.Outputs, 1)
	out := done.Outputs[0]
	assert.Equal(t, "memory_store", out.Type)
	assert.NotEqual(t, store.ID, out.MemoryStoreID, "a new store: the input is never changed")
	cloned, err := client.MemoryStores.Get(ctx, out.MemoryStoreID)
	require.NoError(t, err)
	assert.Equal(t, "notes (dream)", cloned.Name)
	var paths []string
	for m, err := range client.MemoryStores.Memories.All(ctx, out.MemoryStoreID, nil) {
		require.NoError(t, err)
		paths = append(paths, m.Path)
	}
	assert.Equal(t, []string{"db.md"}, paths, "cloned from the input store")
	events := srv.Events(done.SessionID)
	require.NotEmpty(t, events)
	assert.Contains(t, string(events[1]), "Dream "+d.ID+": consolidate memory store "+store.ID+" sessions "+sessionID)

	_, err = client.Dreams.Cancel(ctx, d.ID)
	assert.ErrorIs(t, err, qoder.ErrConflict, "a completed dream cannot be canceled")
	archived, err := client.Dreams.Archive(ctx, d.ID)
	require.NoError(t, err)
	assert.False(t, archived.ArchivedAt.IsZero())
	_, err = client.Dreams.Archive(ctx, d.ID)
	assert.ErrorIs(t, err, qoder.ErrConflict, "archived twice")
}

func TestDreamsCancelAndFail(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	srv := NewServer(t, WithAgent(dreamScript(release)))
	client := srv.Client()
	ctx := t.Context()
	store, err := client.MemoryStores.Create(ctx, &qoder.MemoryStoreCreateParams{Name: "notes"})
	require.NoError(t, err)
	create := func(instructions string) *qoder.Dream {
		d, err := client.Dreams.Create(ctx, &qoder.DreamCreateParams{Inputs: []qoder.DreamInput{qoder.DreamFromMemoryStore(store.ID)},
			Model: qoder.DreamModel{ID: "auto", Speed: "fast"}, Instructions: instructions})
		require.NoError(t, err)
		return d
	}

	running := create("wait")
	assert.Equal(t, qoder.DreamModel{ID: "auto", Speed: "fast"}, running.Model)
	got, err := client.Dreams.Get(ctx, running.ID)
	require.NoError(t, err)
	assert.Equal(t, qoder.DreamRunning, got.Status)
	canceled, err := client.Dreams.Cancel(ctx, running.ID)
	require.NoError(t, err)
	assert.Equal(t, qoder.DreamCanceled, canceled.Status)
	assert.False(t, canceled.EndedAt.IsZero())
	assert.Empty(t, canceled.Outputs)
	_, err = client.Dreams.Cancel(ctx, running.ID)
	assert.ErrorIs(t, err, qoder.ErrConflict, "canceled twice")
	require.Eventually(t, func() bool {
		st, _ := srv.Session(canceled.SessionID)
		return st.StopReason == "cancelled"
	}, wait, wait/1000, "the dream's turn is cancelled")

	failed := create("fail")
	ctxWait, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	failed, err = client.Dreams.Wait(ctxWait, failed.ID, fastWait)
	require.NoError(t, err)
	assert.Equal(t, qoder.DreamFailed, failed.Status)
	require.NotNil(t, failed.Error)
	assert.Equal(t, qoder.DreamError{Type: "overloaded_error", Message: "no capacity"}, *failed.Error)

	ids := func(params *qoder.DreamListParams) []string {
		page, err := client.Dreams.List(ctx, params)
		require.NoError(t, err)
		var out []string
		for _, d := range page.Data {
			out = append(out, d.ID)
		}
		return out
	}
	assert.Equal(t, []string{failed.ID, running.ID}, ids(nil), "newest first")
	assert.Equal(t, []string{running.ID}, ids(&qoder.DreamListParams{Statuses: []qoder.DreamStatus{qoder.DreamCanceled}}))
	assert.Equal(t, []string{failed.ID, running.ID}, ids(&qoder.DreamListParams{Statuses: []qoder.DreamStatus{qoder.DreamCanceled, qoder.DreamFailed}}))
	_, err = client.Dreams.Archive(ctx, failed.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{running.ID}, ids(nil), "archived ones are left out")
	assert.Equal(t, []string{failed.ID, running.ID}, ids(&qoder.DreamListParams{IncludeArchived: true}))
	assert.Equal(t, []string{failed.ID}, ids(&qoder.DreamListParams{IncludeArchived: true, CreatedAtGt: running.CreatedAt}))
	assert.Equal(t, []string{running.ID}, ids(&qoder.DreamListParams{IncludeArchived: true, CreatedAtLt: failed.CreatedAt}))
}

func TestDreamsValidation(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	store := a.ok(200, "POST", "memory_stores", map[string]any{"name": "s"})["id"].(string)
	archived := a.ok(200, "POST", "memory_stores", map[string]any{"name": "old"})["id"].(string)
	a.ok(200, "POST", "memory_stores/"+archived+"/archive", nil)
	in := []any{map[string]any{"type": "memory_store", "memory_store_id": store}}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		msg    string
	}{
		{"no inputs", map[string]any{"model": "auto"}, 400, "Missing required field: inputs"},
		{"empty inputs", map[string]any{"model": "auto", "inputs": []any{}}, 400, "at least one input"},
		{"no model", map[string]any{"inputs": in}, 400, "Missing required field: model"},
		{"unknown model", map[string]any{"inputs": in, "model": "gpt-0"}, 400, "Model 'gpt-0' is not available"},
		{"bad input type", map[string]any{"model": "auto", "inputs": []any{map[string]any{"type": "files"}}}, 400, "must be one of 'memory_store', 'sessions'"},
		{"no session ids", map[string]any{"model": "auto", "inputs": []any{map[string]any{"type": "sessions", "session_ids": []any{}}}}, 400, "at least one session"},
		{"unknown store", map[string]any{"model": "auto", "inputs": []any{map[string]any{"type": "memory_store", "memory_store_id": "memstore_x"}}}, 404, "Memory store 'memstore_x' was not found."},
		{"archived store", map[string]any{"model": "auto", "inputs": []any{map[string]any{"type": "memory_store", "memory_store_id": archived}}}, 400, "is archived"},
		{"unknown session", map[string]any{"model": "auto", "inputs": []any{map[string]any{"type": "sessions", "session_ids": []any{"sess_x"}}}}, 404, "Session 'sess_x' was not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.req("POST", "dreams", tt.body)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			_, msg, _ := r.errorOf(t)
			assert.Contains(t, msg, tt.msg)
		})
	}
	assert.Equal(t, 400, a.req("GET", "dreams?statuses=sleeping", nil).status)
	assert.Equal(t, 404, a.req("POST", "dreams/drm_missing/cancel", nil).status)
}
