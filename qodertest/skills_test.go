package qodertest

import (
	"archive/zip"
	"bytes"
	"io"
	"testing"
	"testing/fstest"

	"github.com/qoder-go/qoder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const greetingMD = "---\nname: greeting\ndescription: Greets people.\n---\n\nSay hello.\n"

func TestSkillsThroughTheClient(t *testing.T) {
	srv := NewServer(t)
	client := srv.Client()
	ctx := t.Context()

	skill, err := client.Skills.Create(ctx, &qoder.SkillCreateParams{
		Bundle: qoder.SkillFromFS(fstest.MapFS{
			"greeting/SKILL.md":      {Data: []byte(greetingMD)},
			"greeting/scripts/hi.sh": {Data: []byte("echo hi")},
		}),
		Metadata: map[string]string{"team": "docs"},
	})
	require.NoError(t, err)
	assert.Equal(t, "greeting", skill.DisplayTitle, "the display title defaults to the name")
	assert.Equal(t, "custom", skill.Source)
	assert.NotEmpty(t, skill.LatestVersion)
	assert.Equal(t, map[string]string{"team": "docs"}, skill.Metadata)

	v1, err := client.Skills.Versions.Get(ctx, skill.ID, skill.LatestVersion)
	require.NoError(t, err)
	assert.Equal(t, "greeting", v1.Name)
	assert.Equal(t, "Greets people.", v1.Description)
	assert.Equal(t, "greeting", v1.Directory)

	v2, err := client.Skills.Versions.Create(ctx, skill.ID, &qoder.SkillVersionCreateParams{
		Bundle: qoder.SkillFromMarkdown("---\nname: greeting\ndescription: Greets people warmly.\n---\n"),
	})
	require.NoError(t, err)
	assert.Greater(t, v2.Version, v1.Version)
	assert.Equal(t, "", v2.Directory)

	_, err = client.Skills.Versions.Create(ctx, skill.ID, &qoder.SkillVersionCreateParams{
		Bundle: qoder.SkillFromMarkdown("---\nname: farewell\n---\n"),
	})
	require.ErrorIs(t, err, qoder.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "SKILL.md names 'farewell', but this skill is 'greeting'")

	got, err := client.Skills.Get(ctx, skill.ID)
	require.NoError(t, err)
	assert.Equal(t, v2.Version, got.LatestVersion)

	var versions []string
	for v, err := range client.Skills.Versions.All(ctx, skill.ID, &qoder.SkillVersionListParams{Limit: 1}) {
		require.NoError(t, err)
		versions = append(versions, v.Version)
	}
	assert.Equal(t, []string{v2.Version, v1.Version}, versions)

	body, err := client.Skills.Versions.Download(ctx, skill.ID, v1.Version)
	require.NoError(t, err)
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	assert.Equal(t, []string{"greeting/SKILL.md", "greeting/scripts/hi.sh"}, names)

	page, err := client.Skills.List(ctx, &qoder.SkillListParams{Name: "greeting"})
	require.NoError(t, err)
	assert.Len(t, page.Data, 1)
	page, err = client.Skills.List(ctx, &qoder.SkillListParams{Source: "qoder"})
	require.NoError(t, err)
	assert.Empty(t, page.Data)

	d, err := client.Skills.Versions.Delete(ctx, skill.ID, v1.Version)
	require.NoError(t, err)
	assert.Equal(t, v1.Version, d.ID)
	_, err = client.Skills.Versions.Delete(ctx, skill.ID, v2.Version)
	assert.ErrorIs(t, err, qoder.ErrConflict, "the only version cannot go")

	_, err = client.Skills.Delete(ctx, skill.ID)
	require.NoError(t, err)
	_, err = client.Skills.Get(ctx, skill.ID)
	assert.ErrorIs(t, err, qoder.ErrNotFound)
}

// zipBytes zips name/content pairs.
func zipBytes(t *testing.T, pairs ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(pairs); i += 2 {
		w, err := zw.Create(pairs[i])
		require.NoError(t, err)
		_, err = io.WriteString(w, pairs[i+1])
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestSkillUploadChecks(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		status  int
		wantMsg string
	}{
		{name: "a zip", files: []string{"file", "s.zip", string(zipBytes(t, "SKILL.md", greetingMD))}, status: 201},
		{name: "files parts", files: []string{"files", "greeting/SKILL.md", greetingMD, "files", "greeting/a.txt", "a"}, status: 201},
		{name: "no file", status: 400, wantMsg: "Field 'file' is required."},
		{name: "not a zip", files: []string{"file", "s.zip", "plain"}, status: 400, wantMsg: "must be a zip archive"},
		{name: "a path escaping the root", files: []string{"file", "s.zip", string(zipBytes(t, "SKILL.md", greetingMD, "../x", "x"))}, status: 400, wantMsg: "must be a relative path inside the archive"},
		{name: "SKILL.md too deep", files: []string{"file", "s.zip", string(zipBytes(t, "a/b/SKILL.md", greetingMD))}, status: 400, wantMsg: "SKILL.md must be at the root of the archive or one directory below."},
		{name: "a bad name", files: []string{"file", "s.zip", string(zipBytes(t, "SKILL.md", "---\nname: Bad Name\n---\n"))}, status: 400, wantMsg: "front matter must give a name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t)
			body, ct := multipartBody(t, nil, tt.files...)
			r := a.req("POST", "skills", body, "Content-Type", ct)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			if tt.status == 201 {
				assert.Equal(t, "greeting", r.obj(t)["display_title"])
				return
			}
			_, msg, _ := r.errorOf(t)
			assert.Contains(t, msg, tt.wantMsg)
		})
	}
}

func TestSkillReuploadAddsAVersion(t *testing.T) {
	srv := NewServer(t)
	client := srv.Client()
	create := func() *qoder.Skill {
		s, err := client.Skills.Create(t.Context(), &qoder.SkillCreateParams{Bundle: qoder.SkillFromMarkdown(greetingMD)})
		require.NoError(t, err)
		return s
	}
	first, second := create(), create()
	assert.Equal(t, first.ID, second.ID)
	assert.NotEqual(t, first.LatestVersion, second.LatestVersion)
}
