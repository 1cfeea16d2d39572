package qodertest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClockStampsEveryResource: with a pinned clock, every resource and
// event the fake writes carries the fake's time, and Advance moves it.
func TestClockStampsEveryResource(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	srv := NewServer(t, WithClock(func() time.Time { return start }))
	client := srv.Client()
	ctx := t.Context()

	env, err := client.Environments.Create(ctx, &qoder.EnvironmentCreateParams{Name: "env"})
	require.NoError(t, err)
	agent, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{Name: "bot", Model: qoder.ModelConfig{ID: "ultimate"}})
	require.NoError(t, err)
	file, err := client.Files.Upload(ctx, &qoder.FileUploadParams{Name: "a.txt", Content: strings.NewReader("a")})
	require.NoError(t, err)
	vault, err := client.Vaults.Create(ctx, &qoder.VaultCreateParams{DisplayName: "v"})
	require.NoError(t, err)
	store, err := client.MemoryStores.Create(ctx, &qoder.MemoryStoreCreateParams{Name: "m"})
	require.NoError(t, err)
	for name, got := range map[string]time.Time{
		"environment": env.CreatedAt, "agent": agent.CreatedAt, "file": file.CreatedAt,
		"vault": vault.CreatedAt, "memory store": store.CreatedAt,
	} {
		assert.True(t, got.Equal(start), "%s created at %s, want the fake's time %s", name, got, start)
	}

	srv.Advance(time.Hour)
	later := start.Add(time.Hour)
	session, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{Agent: qoder.AgentRef{ID: agent.ID}, EnvironmentID: env.ID})
	require.NoError(t, err)
	assert.True(t, session.CreatedAt.Equal(later), "session created at %s", session.CreatedAt)
	turn, err := client.Sessions.Run(ctx, session.ID, "hi")
	require.NoError(t, err)
	require.NotEmpty(t, turn.Events)
	for _, ev := range turn.Events {
		var stamp struct {
			ProcessedAt time.Time `json:"processed_at"`
		}
		require.NoError(t, json.Unmarshal(ev.Raw(), &stamp))
		assert.True(t, stamp.ProcessedAt.Equal(later), "%s processed at %s", ev.EventType(), stamp.ProcessedAt)
	}
	archived, err := client.Agents.Archive(ctx, agent.ID)
	require.NoError(t, err)
	assert.True(t, archived.ArchivedAt.Equal(later), "agent archived at %s", archived.ArchivedAt)
}
