package qoder_test

import (
	"errors"
	"testing"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSessionResourcesFake drives client.Sessions.Resources against the
// fake: the resources given at create are listed, a file is attached,
// read, its repository sibling's token rotated, and detached; the API's
// refusals arrive as the sentinels.
func TestSessionResourcesFake(t *testing.T) {
	t.Parallel()
	srv := qodertest.NewServer(t)
	client := srv.Client()
	ctx := fakeCtx(t)
	store, err := client.MemoryStores.Create(ctx, &qoder.MemoryStoreCreateParams{Name: "Notes", Description: "team notes"})
	require.NoError(t, err)
	spec := srv.SeedFile("spec.md", []byte("# Spec"))
	file := qoder.FileResource(spec)
	file.MountPath = "/data/spec.md"
	repo := qoder.GitHubRepositoryResource("https://github.com/o/repo", "ghp_old")
	repo.Checkout = qoder.RepositoryCheckout{Type: qoder.CheckoutBranch, Name: "main"}
	sess, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{
		Agent: qoder.AgentRef{ID: srv.SeedAgent("bot")}, EnvironmentID: srv.SeedEnvironment("env"),
		Resources: []qoder.SessionResourceParams{file, repo, qoder.MemoryStoreResource(store.ID, qoder.MemoryStoreReadOnly)},
	})
	require.NoError(t, err)

	page, err := client.Sessions.Resources.List(ctx, sess.ID, nil)
	require.NoError(t, err)
	require.Len(t, page.Data, 3)
	assert.False(t, page.HasMore)
	got := page.Data
	assert.Equal(t, qoder.SessionResourceFile, got[0].Type)
	assert.Equal(t, spec, got[0].FileID)
	assert.Equal(t, "/data/spec.md", got[0].MountPath)
	assert.Equal(t, qoder.SessionResourceGitHubRepository, got[1].Type)
	assert.Equal(t, qoder.RepositoryCheckout{Type: qoder.CheckoutBranch, Name: "main"}, got[1].Checkout)
	assert.NotContains(t, string(got[1].Raw()), "ghp_old")
	assert.Equal(t, qoder.SessionResourceMemoryStore, got[2].Type)
	assert.Equal(t, qoder.MemoryStoreReadOnly, got[2].Access)
	assert.Equal(t, "team notes", got[2].Description)
	for i, r := range got {
		assert.Equal(t, sess.Resources[i].ID, r.ID, "the session lists the same resources")
	}

	var paged []string
	for r, err := range client.Sessions.Resources.All(ctx, sess.ID, &qoder.SessionResourceListParams{Limit: 1}) {
		require.NoError(t, err)
		paged = append(paged, r.ID)
	}
	assert.Equal(t, []string{got[0].ID, got[1].ID, got[2].ID}, paged, "one resource a page")

	data := srv.SeedFile("data.csv", []byte("a,b\n"))
	added, err := client.Sessions.Resources.Add(ctx, sess.ID, &qoder.SessionResourceAddParams{FileID: data})
	require.NoError(t, err)
	assert.Equal(t, "/mnt/session/uploads/"+data, added.MountPath)
	assert.False(t, added.CreatedAt.IsZero())
	fetched, err := client.Sessions.Resources.Get(ctx, sess.ID, added.ID)
	require.NoError(t, err)
	assert.JSONEq(t, string(added.Raw()), string(fetched.Raw()))

	rotated, err := client.Sessions.Resources.Update(ctx, sess.ID, got[1].ID, &qoder.SessionResourceUpdateParams{AuthorizationToken: "ghp_new"})
	require.NoError(t, err)
	assert.Equal(t, got[1].URL, rotated.URL)
	assert.True(t, rotated.UpdatedAt.After(got[1].UpdatedAt))

	deleted, err := client.Sessions.Resources.Delete(ctx, sess.ID, added.ID)
	require.NoError(t, err)
	assert.Equal(t, added.ID, deleted.ID)
	assert.Equal(t, "session_resource_deleted", deleted.Type)

	refusals := []struct {
		name string
		call func() error
		want error
	}{
		{"a detached resource", func() error { _, err := client.Sessions.Resources.Get(ctx, sess.ID, added.ID); return err }, qoder.ErrNotFound},
		{"an unknown file", func() error {
			_, err := client.Sessions.Resources.Add(ctx, sess.ID, &qoder.SessionResourceAddParams{FileID: "file_nope"})
			return err
		}, qoder.ErrNotFound},
		{"a file attached twice", func() error {
			_, err := client.Sessions.Resources.Add(ctx, sess.ID, &qoder.SessionResourceAddParams{FileID: spec})
			return err
		}, qoder.ErrConflict},
		{"a relative mount path", func() error {
			_, err := client.Sessions.Resources.Add(ctx, sess.ID, &qoder.SessionResourceAddParams{FileID: data, MountPath: "data.csv"})
			return err
		}, qoder.ErrInvalidRequest},
		{"rotating a file's token", func() error {
			_, err := client.Sessions.Resources.Update(ctx, sess.ID, got[0].ID, &qoder.SessionResourceUpdateParams{AuthorizationToken: "t"})
			return err
		}, qoder.ErrInvalidRequest},
		{"an unknown session", func() error { _, err := client.Sessions.Resources.List(ctx, "sess_nope", nil); return err }, qoder.ErrNotFound},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Error(t, err)
			assert.True(t, errors.Is(err, tt.want), "%v", err)
		})
	}
}
