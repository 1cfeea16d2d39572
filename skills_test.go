package qoder

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const skillJSON = `{"id":"skill_1","type":"skill","display_title":"Greeting","source":"custom",
	"latest_version":"1759178010641129","metadata":{"team":"docs"},
	"created_at":"2026-05-18T15:35:24.248164Z","updated_at":"2026-05-18T15:35:24.248164Z"}`

func TestSkillsService_Create(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var mu sync.Mutex
	var bodies, keys []string
	var parts [][]formPart
	mux.HandleFunc("POST /api-test/skills", func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		r.Body = io.NopCloser(strings.NewReader(string(raw)))
		got := readForm(t, r)
		mu.Lock()
		bodies, keys, parts = append(bodies, string(raw)), append(keys, r.Header.Get("Idempotency-Key")), append(parts, got)
		n := len(bodies)
		mu.Unlock()
		if n == 1 {
			serveJSON(t, w, http.StatusInternalServerError, `{"type":"error","error":{"type":"api_error","message":"oops"}}`)
			return
		}
		serveJSON(t, w, http.StatusCreated, skillJSON)
	})
	skill, err := client.Skills.Create(t.Context(), &SkillCreateParams{
		Bundle:       SkillFromFS(fstest.MapFS{"greeting/SKILL.md": file(skillMD), "greeting/scripts/hi.sh": file("echo hi")}),
		DisplayTitle: "Greeting",
		Metadata:     map[string]string{"team": "docs"},
	})
	require.NoError(t, err)
	assert.Equal(t, Skill{
		ID: "skill_1", Type: "skill", DisplayTitle: "Greeting", Source: "custom", LatestVersion: "1759178010641129",
		Metadata:  map[string]string{"team": "docs"},
		CreatedAt: time.Date(2026, 5, 18, 15, 35, 24, 248164000, time.UTC), UpdatedAt: time.Date(2026, 5, 18, 15, 35, 24, 248164000, time.UTC),
	}, withoutRaw(*skill))

	require.Len(t, bodies, 2, "a skill bundle is written again for the retry")
	assert.Equal(t, bodies[0], bodies[1])
	assert.Equal(t, keys[0], keys[1])
	got := parts[0]
	require.Len(t, got, 3)
	assert.Equal(t, "file", got[0].Name)
	assert.Equal(t, "skill.zip", got[0].Filename)
	assert.Equal(t, "application/zip", got[0].ContentType)
	assert.Equal(t, map[string]string{"greeting/SKILL.md": skillMD, "greeting/scripts/hi.sh": "echo hi"}, unzip(t, []byte(got[0].Body)))
	assert.Equal(t, formPart{Name: "display_title", Body: "Greeting"}, got[1])
	assert.Equal(t, formPart{Name: "metadata", Body: `{"team":"docs"}`}, got[2])
}

func TestSkillsService_CreateBadInput(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	for _, tt := range []struct {
		name    string
		call    func() error
		wantErr string
	}{
		{"nil params", func() error { _, err := client.Skills.Create(t.Context(), nil); return err }, "skill create params are required"},
		{"no bundle", func() error { _, err := client.Skills.Create(t.Context(), &SkillCreateParams{}); return err }, "a skill bundle is required"},
		{"no SKILL.md", func() error {
			_, err := client.Skills.Create(t.Context(), &SkillCreateParams{Bundle: SkillFromFS(fstest.MapFS{"x": file("x")})})
			return err
		}, "no SKILL.md"},
		{"version: no skill id", func() error {
			_, err := client.Skills.Versions.Create(t.Context(), "", &SkillVersionCreateParams{Bundle: SkillFromMarkdown(skillMD)})
			return err
		}, "qoder: skill_id is required"},
		{"version: nil params", func() error { _, err := client.Skills.Versions.Create(t.Context(), "skill_1", nil); return err }, "skill version create params are required"},
		{"version: a path escaping the root", func() error {
			_, err := client.Skills.Versions.Create(t.Context(), "skill_1", &SkillVersionCreateParams{Bundle: SkillFromZip(strings.NewReader(string(zipOf(t, "SKILL.md", "a/../../x"))))})
			return err
		}, "is not a clean relative path"},
		{"get: no version", func() error { _, err := client.Skills.Versions.Get(t.Context(), "skill_1", ""); return err }, "qoder: version is required"},
		{"delete: no skill", func() error { _, err := client.Skills.Delete(t.Context(), ""); return err }, "qoder: skill_id is required"},
		{"download: no version", func() error { _, err := client.Skills.Versions.Download(t.Context(), "skill_1", ""); return err }, "qoder: version is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestSkillDecodesEveryShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		want Skill
	}{
		{"current", `{"id":"skill_1","latest_version":"1759178010641129","display_title":"T","source":"custom"}`,
			Skill{ID: "skill_1", LatestVersion: "1759178010641129", DisplayTitle: "T", Source: "custom"}},
		{"latest version as a number", `{"id":"skill_1","latest_version":1759178010641129}`,
			Skill{ID: "skill_1", LatestVersion: "1759178010641129"}},
		{"older shape", `{"id":"skl_1","type":"skill","name":"greeting","description":"d","skill_type":"custom","status":"active",
			"version":3,"content_size":120,"content_sha256":"ab"}`,
			Skill{ID: "skl_1", Type: "skill", Name: "greeting", Description: "d", SkillType: "custom", Status: "active",
				LatestVersion: "3", ContentSize: 120, ContentSHA256: "ab"}},
		{"legacy guide", `{"id":"skl_1","version":"1.0.0"}`, Skill{ID: "skl_1", LatestVersion: "1.0.0"}},
		{"null version", `{"id":"skill_1","latest_version":null}`, Skill{ID: "skill_1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Skill
			require.NoError(t, s.UnmarshalJSON([]byte(tt.json)))
			assert.Equal(t, tt.want, s)
		})
	}
	var s Skill
	assert.Error(t, s.UnmarshalJSON([]byte(`{"latest_version":{"x":1}}`)))

	var v SkillVersion
	require.NoError(t, v.UnmarshalJSON([]byte(`{"id":"skillver_1","version":2,"skill_id":"skill_1"}`)))
	assert.Equal(t, SkillVersion{ID: "skillver_1", Version: "2", SkillID: "skill_1"}, v)
}

func TestSkillsService_GetListDelete(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/skills/skill_1", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, skillJSON)
	})
	var queries []string
	mux.HandleFunc("GET /api-test/skills", func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		if r.URL.Query().Get("after_id") == "" {
			serveJSON(t, w, http.StatusOK, `{"data":[`+skillJSON+`],"first_id":"skill_1","last_id":"skill_1","has_more":true,"next_page":null}`)
			return
		}
		serveJSON(t, w, http.StatusOK, `{"data":[],"first_id":null,"last_id":null,"has_more":false,"next_page":null}`)
	})
	mux.HandleFunc("DELETE /api-test/skills/skill_1", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"id":"skill_1","type":"skill_deleted"}`)
	})

	got, err := client.Skills.Get(t.Context(), "skill_1")
	require.NoError(t, err)
	assert.Equal(t, "1759178010641129", got.LatestVersion)

	page, err := client.Skills.List(t.Context(), &SkillListParams{Limit: 5, Source: "custom", Name: "greeting", DisplayTitle: "Greeting", Page: "page_1"})
	require.NoError(t, err)
	assert.Len(t, page.Data, 1)
	assert.Equal(t, "display_title=Greeting&limit=5&name=greeting&page=page_1&source=custom", queries[0])

	var ids []string
	for s, err := range client.Skills.All(t.Context(), &SkillListParams{Source: "qoder"}) {
		require.NoError(t, err)
		ids = append(ids, s.ID)
	}
	assert.Equal(t, []string{"skill_1"}, ids)
	assert.Equal(t, []string{"source=qoder", "after_id=skill_1&source=qoder"}, queries[1:])

	d, err := client.Skills.Delete(t.Context(), "skill_1")
	require.NoError(t, err)
	assert.Equal(t, DeletedSkill{ID: "skill_1", Type: "skill_deleted"}, withoutRaw(*d))

	testAPIErrors(t, mux, "GET /api-test/skills/skill_x", func() error {
		_, err := client.Skills.Get(t.Context(), "skill_x")
		return err
	})
}

func TestSkillVersionsService(t *testing.T) {
	t.Parallel()
	const versionJSON = `{"id":"skillver_2","type":"skill_version","skill_id":"skill_1","version":"1759264410332875",
		"name":"greeting","description":"Greets people.","directory":"greeting","created_at":"2026-05-19T10:12:07.332875Z"}`
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/skills/skill_1/versions", func(w http.ResponseWriter, r *http.Request) {
		got := readForm(t, r)
		require.Len(t, got, 1)
		assert.Equal(t, "file", got[0].Name)
		assert.Equal(t, map[string]string{"SKILL.md": skillMD}, unzip(t, []byte(got[0].Body)))
		serveJSON(t, w, http.StatusCreated, versionJSON)
	})
	mux.HandleFunc("GET /api-test/skills/skill_1/versions/1759264410332875", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, versionJSON)
	})
	var queries []string
	mux.HandleFunc("GET /api-test/skills/skill_1/versions", func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		if r.URL.Query().Get("page") == "" {
			serveJSON(t, w, http.StatusOK, `{"data":[`+versionJSON+`],"has_more":true,"next_page":"page_2"}`)
			return
		}
		serveJSON(t, w, http.StatusOK, `{"data":[{"id":"skillver_1","version":1}],"has_more":false,"next_page":null}`)
	})
	mux.HandleFunc("DELETE /api-test/skills/skill_1/versions/1759264410332875", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"id":"1759264410332875","type":"skill_version_deleted"}`)
	})
	zipped := zipOf(t, "greeting/SKILL.md")
	mux.HandleFunc("GET /api-test/skills/skill_1/versions/1759264410332875/content", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
		assert.Contains(t, r.Header.Get("Accept"), "application/zip")
		w.Header().Set("Content-Type", "application/zip")
		_, _ = w.Write(zipped)
	})

	v, err := client.Skills.Versions.Create(t.Context(), "skill_1", &SkillVersionCreateParams{Bundle: SkillFromMarkdown(skillMD)})
	require.NoError(t, err)
	want := &SkillVersion{ID: "skillver_2", Type: "skill_version", SkillID: "skill_1", Version: "1759264410332875",
		Name: "greeting", Description: "Greets people.", Directory: "greeting", CreatedAt: time.Date(2026, 5, 19, 10, 12, 7, 332875000, time.UTC)}
	assert.Equal(t, *want, withoutRaw(*v))

	got, err := client.Skills.Versions.Get(t.Context(), "skill_1", "1759264410332875")
	require.NoError(t, err)
	assert.Equal(t, *want, withoutRaw(*got))

	page, err := client.Skills.Versions.List(t.Context(), "skill_1", &SkillVersionListParams{Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, "page_2", page.NextPage)
	var versions []string
	for v, err := range client.Skills.Versions.All(t.Context(), "skill_1", nil) {
		require.NoError(t, err)
		versions = append(versions, v.Version)
	}
	assert.Equal(t, []string{"1759264410332875", "1"}, versions)
	assert.Equal(t, []string{"limit=1", "", "page=page_2"}, queries)

	d, err := client.Skills.Versions.Delete(t.Context(), "skill_1", "1759264410332875")
	require.NoError(t, err)
	assert.Equal(t, DeletedSkillVersion{ID: "1759264410332875", Type: "skill_version_deleted"}, withoutRaw(*d))

	body, err := client.Skills.Versions.Download(t.Context(), "skill_1", "1759264410332875")
	require.NoError(t, err)
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	assert.Equal(t, zipped, data)
}

func TestSkillVersionsService_DownloadPresigned(t *testing.T) {
	t.Parallel()
	st := newStorage(t, "zip bytes")
	client, mux := newTestClient(t, WithHeader("X-Tenant", "acme"))
	mux.HandleFunc("GET /api-test/skills/skill_1/versions/2/content", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, st.URL+"/skills/skill_1/2.zip?sig=ok", http.StatusFound)
	})
	body, err := client.Skills.Versions.Download(t.Context(), "skill_1", "2")
	require.NoError(t, err)
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	assert.Equal(t, "zip bytes", string(data))
	require.Len(t, st.headers, 1)
	assertAnonymous(t, st.headers[0])
}

func TestSkillsService_EmptyIDs(t *testing.T) {
	t.Parallel()
	md := &SkillVersionCreateParams{Bundle: SkillFromMarkdown(skillMD)}
	resTestEmptyIDs(t, []resEmptyIDCase{
		{"Get", "skill_id", func(ctx context.Context, c *Client) error { _, err := c.Skills.Get(ctx, ""); return err }},
		{"Delete", "skill_id", func(ctx context.Context, c *Client) error { _, err := c.Skills.Delete(ctx, ""); return err }},
		{"Versions.Create", "skill_id", func(ctx context.Context, c *Client) error {
			_, err := c.Skills.Versions.Create(ctx, "", md)
			return err
		}},
		{"Versions.Get", "version", func(ctx context.Context, c *Client) error {
			_, err := c.Skills.Versions.Get(ctx, "skill_1", "")
			return err
		}},
		{"Versions.List", "skill_id", func(ctx context.Context, c *Client) error { _, err := c.Skills.Versions.List(ctx, "", nil); return err }},
		{"Versions.All", "skill_id", func(ctx context.Context, c *Client) error {
			_, err := resCollect(c.Skills.Versions.All(ctx, "", nil))
			return err
		}},
		{"Versions.Delete", "skill_id", func(ctx context.Context, c *Client) error {
			_, err := c.Skills.Versions.Delete(ctx, "", "1")
			return err
		}},
		{"Versions.Download", "version", func(ctx context.Context, c *Client) error {
			_, err := c.Skills.Versions.Download(ctx, "skill_1", "")
			return err
		}},
	})
}

func TestSkillsService_APIErrors(t *testing.T) {
	t.Parallel()
	md := SkillFromMarkdown(skillMD)
	resTestAPIErrors(t, []resAPIErrorCase{
		{"Create", "POST /api-test/skills", func(ctx context.Context, c *Client) error {
			_, err := c.Skills.Create(ctx, &SkillCreateParams{Bundle: md})
			return err
		}},
		{"Get", "GET /api-test/skills/skill_x", func(ctx context.Context, c *Client) error { _, err := c.Skills.Get(ctx, "skill_x"); return err }},
		{"List", "GET /api-test/skills", func(ctx context.Context, c *Client) error { _, err := c.Skills.List(ctx, nil); return err }},
		{"All", "GET /api-test/skills", func(ctx context.Context, c *Client) error {
			_, err := resCollect(c.Skills.All(ctx, nil))
			return err
		}},
		{"Delete", "DELETE /api-test/skills/skill_x", func(ctx context.Context, c *Client) error { _, err := c.Skills.Delete(ctx, "skill_x"); return err }},
		{"Versions.Create", "POST /api-test/skills/skill_x/versions", func(ctx context.Context, c *Client) error {
			_, err := c.Skills.Versions.Create(ctx, "skill_x", &SkillVersionCreateParams{Bundle: md})
			return err
		}},
		{"Versions.Get", "GET /api-test/skills/skill_x/versions/2", func(ctx context.Context, c *Client) error {
			_, err := c.Skills.Versions.Get(ctx, "skill_x", "2")
			return err
		}},
		{"Versions.List", "GET /api-test/skills/skill_x/versions", func(ctx context.Context, c *Client) error {
			_, err := c.Skills.Versions.List(ctx, "skill_x", nil)
			return err
		}},
		{"Versions.Delete", "DELETE /api-test/skills/skill_x/versions/2", func(ctx context.Context, c *Client) error {
			_, err := c.Skills.Versions.Delete(ctx, "skill_x", "2")
			return err
		}},
		{"Versions.Download", "GET /api-test/skills/skill_x/versions/2/content", func(ctx context.Context, c *Client) error {
			_, err := c.Skills.Versions.Download(ctx, "skill_x", "2")
			return err
		}},
	})
}
