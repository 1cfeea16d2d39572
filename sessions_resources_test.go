package qoder

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testResourceID = "sesr_0e4323e8f47ba34853f5409e"

func TestSessionResourcesService_Add(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/sessions/{id}/resources", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testSessionID, r.PathValue("id"))
		assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
		// Documented body (sessions.resources.add case 1).
		assertJSONBody(t, r, `{"type":"file","file_id":"file_abc123def456","mount_path":"/data/inputs/spec.md"}`)
		serveFixture(t, w, http.StatusOK, "sessions/resource_file.json")
	})
	res, err := client.Sessions.Resources.Add(t.Context(), testSessionID, &SessionResourceAddParams{
		FileID: "file_abc123def456", MountPath: "/data/inputs/spec.md",
	})
	require.NoError(t, err)
	assert.Equal(t, testResourceID, res.ID)
	assert.Equal(t, SessionResourceFile, res.Type)
	assert.Equal(t, "file_019ef2a07a06704fb899908c29eed779", res.FileID)
	assert.Equal(t, "/mnt/session/uploads/file_019ef2a07a06704fb899908c29eed779", res.MountPath)
	assert.Equal(t, time.Date(2026, 6, 23, 5, 53, 38, 185714000, time.UTC), res.UpdatedAt)
}

func TestSessionResourceAddParams_JSON(t *testing.T) {
	t.Parallel()
	data, err := json.Marshal(SessionResourceAddParams{FileID: "file_1"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"file","file_id":"file_1"}`, string(data))
}

func TestSessionResourcesService_Get(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/sessions/{sid}/resources/{rid}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/api-test/sessions/sess%2F1/resources/sesr%2F2", r.URL.EscapedPath())
		assert.Equal(t, "sess/1", r.PathValue("sid"))
		assert.Equal(t, "sesr/2", r.PathValue("rid"))
		serveFixture(t, w, http.StatusOK, "sessions/resource_file.json")
	})
	res, err := client.Sessions.Resources.Get(t.Context(), "sess/1", "sesr/2")
	require.NoError(t, err)
	assert.Equal(t, SessionResourceFile, res.Type)
	assert.Equal(t, "file_019ef2a07a06704fb899908c29eed779", res.FileID)
	assert.Empty(t, res.URL)
}

func TestSessionResourcesService_Update(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/sessions/{sid}/resources/{rid}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testSessionID, r.PathValue("sid"))
		assert.Equal(t, testResourceID, r.PathValue("rid"))
		// Documented body (sessions.resources.update case 1).
		assertJSONBody(t, r, `{"authorization_token":"ghp_newtoken"}`)
		serveFixture(t, w, http.StatusOK, "sessions/resource_github.json")
	})
	res, err := client.Sessions.Resources.Update(t.Context(), testSessionID, testResourceID,
		&SessionResourceUpdateParams{AuthorizationToken: "ghp_newtoken"})
	require.NoError(t, err)
	assert.Equal(t, SessionResource{
		ID: testResourceID, Type: SessionResourceGitHubRepository,
		URL: "https://github.com/your-org/your-repo", MountPath: "/data/workspace/your-repo",
		Checkout:  RepositoryCheckout{Type: CheckoutBranch, Name: "main"},
		CreatedAt: time.Date(2026, 6, 23, 5, 53, 19, 774840000, time.UTC),
		UpdatedAt: time.Date(2026, 6, 23, 6, 1, 42, 124501000, time.UTC),
	}, withoutRaw(*res))
	data, err := json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "ghp_", "a resource never holds its token")
}

func TestSessionResourcesService_List(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/sessions/{id}/resources", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testSessionID, r.PathValue("id"))
		resAssertQuery(t, r, url.Values{"limit": {"1000"}, "after_id": {"sesr_a"}})
		serveFixture(t, w, http.StatusOK, "sessions/resources_page1.json")
	})
	page, err := client.Sessions.Resources.List(t.Context(), testSessionID, &SessionResourceListParams{Limit: 1000, AfterID: "sesr_a"})
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
	assert.Equal(t, SessionResourceFile, page.Data[0].Type)
	assert.Equal(t, SessionResourceMemoryStore, page.Data[1].Type)
	assert.Equal(t, MemoryStoreReadOnly, page.Data[1].Access)
	assert.Equal(t, "page_res_2", page.NextPage)
}

func TestSessionResourcesService_All(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("GET /api-test/sessions/{id}/resources", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			assert.Empty(t, r.URL.RawQuery)
			serveFixture(t, w, http.StatusOK, "sessions/resources_page1.json")
			return
		}
		resAssertQuery(t, r, url.Values{"page": {"page_res_2"}})
		serveFixture(t, w, http.StatusOK, "sessions/resources_page2.json")
	})
	resources, err := resCollect(client.Sessions.Resources.All(t.Context(), testSessionID, nil))
	require.NoError(t, err)
	assert.Equal(t, []SessionResourceType{SessionResourceFile, SessionResourceMemoryStore, SessionResourceGitHubRepository},
		resIDs(resources, func(r SessionResource) SessionResourceType { return r.Type }))
	assert.Equal(t, "develop", resources[2].Checkout.Name)
	assert.Equal(t, 2, calls)
}

func TestSessionResourcesService_Delete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   DeletedSessionResource
	}{
		{"object", http.StatusOK, `{"id":"` + testResourceID + `","type":"session_resource_deleted"}`,
			DeletedSessionResource{ID: testResourceID, Type: "session_resource_deleted"}},
		{"empty 204", http.StatusNoContent, "", DeletedSessionResource{ID: testResourceID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("DELETE /api-test/sessions/{sid}/resources/{rid}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testSessionID, r.PathValue("sid"))
				assert.Equal(t, testResourceID, r.PathValue("rid"))
				if tt.body == "" {
					w.WriteHeader(tt.status)
					return
				}
				serveJSON(t, w, tt.status, tt.body)
			})
			got, err := client.Sessions.Resources.Delete(t.Context(), testSessionID, testResourceID)
			require.NoError(t, err)
			assert.Equal(t, tt.want, withoutRaw(*got))
		})
	}
}

func TestSessionResourcesService_nilParams(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	_, err := client.Sessions.Resources.Add(t.Context(), testSessionID, nil)
	assert.EqualError(t, err, "qoder: session resource add params are required")
	_, err = client.Sessions.Resources.Update(t.Context(), testSessionID, testResourceID, nil)
	assert.EqualError(t, err, "qoder: session resource update params are required")
}

func TestSessionResourcesService_emptyIDs(t *testing.T) {
	t.Parallel()
	add := &SessionResourceAddParams{FileID: "file_1"}
	upd := &SessionResourceUpdateParams{AuthorizationToken: "t"}
	resTestEmptyIDs(t, []resEmptyIDCase{
		{"Add", "session_id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.Add(ctx, "", add)
			return err
		}},
		{"Get/session", "session_id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.Get(ctx, "", "r")
			return err
		}},
		{"Get/resource", "resource_id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.Get(ctx, "s", "")
			return err
		}},
		{"Update/session", "session_id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.Update(ctx, "", "r", upd)
			return err
		}},
		{"Update/resource", "resource_id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.Update(ctx, "s", "", upd)
			return err
		}},
		{"List", "session_id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.List(ctx, "", nil)
			return err
		}},
		{"All", "session_id", func(ctx context.Context, c *Client) error {
			_, err := resCollect(c.Sessions.Resources.All(ctx, "", nil))
			return err
		}},
		{"Delete/session", "session_id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.Delete(ctx, "", "r")
			return err
		}},
		{"Delete/resource", "resource_id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.Delete(ctx, "s", "")
			return err
		}},
	})
}

func TestSessionResourcesService_apiErrors(t *testing.T) {
	t.Parallel()
	resTestAPIErrors(t, []resAPIErrorCase{
		{"Add", "POST /api-test/sessions/{id}/resources", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.Add(ctx, "sess_x", &SessionResourceAddParams{FileID: "file_fake_test_id"})
			return err
		}},
		{"Get", "GET /api-test/sessions/{sid}/resources/{rid}", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.Get(ctx, "sess_x", "sesr_x")
			return err
		}},
		{"Update", "POST /api-test/sessions/{sid}/resources/{rid}", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.Update(ctx, "sess_x", "sesr_x", &SessionResourceUpdateParams{AuthorizationToken: "t"})
			return err
		}},
		{"List", "GET /api-test/sessions/{id}/resources", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.List(ctx, "sess_x", nil)
			return err
		}},
		{"All", "GET /api-test/sessions/{id}/resources", func(ctx context.Context, c *Client) error {
			_, err := resCollect(c.Sessions.Resources.All(ctx, "sess_x", nil))
			return err
		}},
		{"Delete", "DELETE /api-test/sessions/{sid}/resources/{rid}", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Resources.Delete(ctx, "sess_x", "sesr_x")
			return err
		}},
	})
}
