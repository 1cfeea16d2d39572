package qodertest

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/qoder-go/qoder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// multipartBody builds a multipart body from fields (name, value pairs) and
// files (field, filename, content triples); it returns the body and its
// Content-Type.
func multipartBody(t *testing.T, fields []string, files ...string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+2 < len(files); i += 3 {
		w, err := mw.CreateFormFile(files[i], files[i+1])
		require.NoError(t, err)
		_, err = io.WriteString(w, files[i+2])
		require.NoError(t, err)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		require.NoError(t, mw.WriteField(fields[i], fields[i+1]))
	}
	require.NoError(t, mw.Close())
	return buf.Bytes(), mw.FormDataContentType()
}

func TestFilesThroughTheClient(t *testing.T) {
	srv := NewServer(t)
	client := srv.Client()
	ctx := t.Context()

	f, err := client.Files.Upload(ctx, &qoder.FileUploadParams{
		Name: "docs/notes.txt", Content: strings.NewReader("remember the milk"),
		Metadata: map[string]string{"project": "demo"}, ExpiresInSeconds: 3600,
	})
	require.NoError(t, err)
	assert.Equal(t, "notes.txt", f.Filename, "only the final path component is kept")
	assert.Equal(t, "text/plain", f.MimeType)
	assert.Equal(t, int64(17), f.SizeBytes)
	assert.False(t, f.Downloadable)
	assert.Equal(t, map[string]string{"project": "demo"}, f.Metadata)
	assert.False(t, f.ExpiresAt.IsZero())
	content, ok := srv.FileContent(f.ID)
	require.True(t, ok)
	assert.Equal(t, "remember the milk", string(content))

	got, err := client.Files.Get(ctx, f.ID)
	require.NoError(t, err)
	assert.Equal(t, f.ID, got.ID)

	_, err = client.Files.Download(ctx, f.ID)
	require.Error(t, err)
	assert.ErrorIs(t, err, qoder.ErrPermission)
	assert.Contains(t, err.Error(), "only files delivered by an agent can be downloaded")

	srv.MarkDownloadable(f.ID)
	body, err := client.Files.Download(ctx, f.ID)
	require.NoError(t, err)
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	assert.Equal(t, "remember the milk", string(data))

	other := srv.SeedFile("other.md", []byte("# other"))
	page, err := client.Files.List(ctx, &qoder.FileListParams{IDs: []string{other}})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	assert.Equal(t, "text/markdown", page.Data[0].MimeType)

	var ids []string
	for f, err := range client.Files.All(ctx, &qoder.FileListParams{Limit: 1}) {
		require.NoError(t, err)
		ids = append(ids, f.ID)
	}
	assert.Equal(t, []string{other, f.ID}, ids, "newest first")

	_, err = client.Files.Delete(ctx, f.ID)
	require.NoError(t, err)
	_, err = client.Files.Get(ctx, f.ID)
	assert.ErrorIs(t, err, qoder.ErrNotFound)
}

func TestFilePresignedURL(t *testing.T) {
	a := newAPI(t)
	id := a.srv.SeedFile("report.csv", []byte("a,b\n"))
	a.srv.MarkDownloadable(id)
	link := a.ok(200, "GET", "files/"+id+"/content", nil)
	raw := link["url"].(string)
	assert.NotEmpty(t, link["expires_at"])
	u, err := url.Parse(raw)
	require.NoError(t, err)
	assert.Contains(t, u.Query().Get("response-content-disposition"), `filename="`+id+`"`)

	fetch := func(u string, auth bool) (int, string, http.Header) {
		req, err := http.NewRequestWithContext(t.Context(), "GET", u, nil)
		require.NoError(t, err)
		if auth {
			req.Header.Set("Authorization", "Bearer "+a.srv.Token)
		}
		resp, err := a.hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(data), resp.Header
	}
	status, body, h := fetch(raw, false)
	assert.Equal(t, 200, status)
	assert.Equal(t, "a,b\n", body)
	assert.Equal(t, "text/csv", h.Get("Content-Type"))
	assert.Equal(t, `attachment; filename=report.csv`, h.Get("Content-Disposition"))

	status, body, _ = fetch(raw, true)
	assert.Equal(t, 400, status, "a leaked token fails loudly")
	assert.Contains(t, body, "without an Authorization header")

	q := u.Query()
	q.Set("expires", "9999999999")
	u.RawQuery = q.Encode()
	status, _, _ = fetch(u.String(), false)
	assert.Equal(t, 403, status, "the signature covers the expiry")

	q.Set("expires", "1")
	q.Set("signature", a.srv.signature("files/"+id, "1"))
	u.RawQuery = q.Encode()
	status, body, _ = fetch(u.String(), false)
	assert.Equal(t, 403, status)
	assert.Contains(t, body, "expired")
}

func TestFileUploadErrors(t *testing.T) {
	tests := []struct {
		name      string
		opts      []Option
		fields    []string
		files     []string
		raw       string
		status    int
		wantMsg   string
		wantParam string
	}{
		{name: "no file part", fields: []string{"name", "a.txt"}, status: 400, wantMsg: "Field 'file' is required.", wantParam: "file"},
		{name: "not multipart", raw: `{"file":"x"}`, status: 400, wantMsg: "Invalid multipart form or request too large."},
		{name: "metadata not an object", files: []string{"file", "a.txt", "x"}, fields: []string{"metadata", `["x"]`}, status: 400, wantParam: "metadata"},
		{name: "expiry too short", files: []string{"file", "a.txt", "x"}, fields: []string{"expires_in_seconds", "60"}, status: 400, wantParam: "expires_in_seconds"},
		{name: "purpose is gone", files: []string{"file", "a.txt", "x"}, fields: []string{"purpose", "user_upload"}, status: 400, wantParam: "purpose"},
		{name: "body too large", opts: []Option{WithMaxBodySize(1024)}, files: []string{"file", "a.txt", strings.Repeat("x", 2048)}, status: 400, wantMsg: "Invalid multipart form or request too large."},
		{name: "storage full", opts: []Option{WithFileStorageLimit(10)}, files: []string{"file", "a.txt", strings.Repeat("x", 11)}, status: 400, wantMsg: "File storage is full", wantParam: "file"},
		{name: "an empty name", files: []string{"file", "", "plain text"}, status: 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, tt.opts...)
			var r response
			if tt.raw != "" {
				r = a.req("POST", "files", tt.raw)
			} else {
				body, ct := multipartBody(t, tt.fields, tt.files...)
				r = a.req("POST", "files", body, "Content-Type", ct)
			}
			require.Equal(t, tt.status, r.status, "%s", r.body)
			if tt.status != 400 {
				assert.Equal(t, "unnamed.txt", r.obj(t)["filename"])
				return
			}
			typ, msg, param := r.errorOf(t)
			assert.Equal(t, "invalid_request_error", typ)
			assert.Contains(t, msg, tt.wantMsg)
			assert.Equal(t, tt.wantParam, param)
		})
	}
}

func TestFileStorageIsFreed(t *testing.T) {
	srv := NewServer(t, WithFileStorageLimit(10))
	client := srv.Client()
	upload := func() (*qoder.File, error) {
		return client.Files.Upload(t.Context(), &qoder.FileUploadParams{Name: "a.txt", Content: strings.NewReader("0123456789")})
	}
	f, err := upload()
	require.NoError(t, err)
	_, err = upload()
	require.ErrorIs(t, err, qoder.ErrInvalidRequest, "the cap is reached")
	_, err = client.Files.Delete(t.Context(), f.ID)
	require.NoError(t, err)
	_, err = upload()
	require.NoError(t, err, "deleting frees the cap")

	a := newAPI(t, WithFileStorageLimit(10))
	body, ct := multipartBody(t, nil, "file", "a.txt", "01234", "extra", "b.txt", "56789")
	a.ok(201, "POST", "files", body, "Content-Type", ct)
	body, ct = multipartBody(t, nil, "file", "c.txt", "01234")
	a.ok(201, "POST", "files", body, "Content-Type", ct) // the extra part above was not kept
}

func TestFileWithoutContent(t *testing.T) {
	srv := NewServer(t, WithoutFileContent())
	client := srv.Client()
	f, err := client.Files.Upload(t.Context(), &qoder.FileUploadParams{Name: "big.txt", Content: strings.NewReader(strings.Repeat("x", 4096))})
	require.NoError(t, err)
	assert.Equal(t, int64(4096), f.SizeBytes)
	_, ok := srv.FileContent(f.ID)
	assert.False(t, ok)
	srv.MarkDownloadable(f.ID)
	_, err = client.Files.Download(t.Context(), f.ID)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "410")
}

func TestFileUploadIdempotency(t *testing.T) {
	a := newAPI(t)
	body, ct := multipartBody(t, nil, "file", "a.txt", "same bytes")
	first := a.ok(201, "POST", "files", body, "Content-Type", ct, "Idempotency-Key", "k1")
	r := a.req("POST", "files", body, "Content-Type", ct, "Idempotency-Key", "k1")
	require.Equal(t, 201, r.status)
	assert.Equal(t, "true", r.header.Get("Idempotent-Replayed"))
	assert.Equal(t, first["id"], r.obj(t)["id"])

	other, ct2 := multipartBody(t, nil, "file", "a.txt", "other bytes")
	r = a.req("POST", "files", other, "Content-Type", ct2, "Idempotency-Key", "k1")
	require.Equal(t, 409, r.status)
	_, msg, _ := r.errorOf(t)
	assert.Equal(t, "Idempotency key reused with a different request body.", msg)
	page := a.ok(200, "GET", "files", nil)
	assert.Len(t, page["data"], 1, "a replay stores nothing")
}

func TestFileUploadRetriedThroughFaults(t *testing.T) {
	srv := NewServer(t)
	srv.FailRequests(Failure{Method: "POST", Path: "files"})
	f, err := srv.Client().Files.Upload(t.Context(), &qoder.FileUploadParams{Name: "a.txt", Content: strings.NewReader("retry me")})
	require.NoError(t, err)
	content, ok := srv.FileContent(f.ID)
	require.True(t, ok)
	assert.Equal(t, "retry me", string(content))
}

func TestSessionMountsFilesAndAgentDeliversArtifacts(t *testing.T) {
	srv := NewServer(t, WithAgent(func(turn *Turn) {
		notes, ok := turn.ReadFile("/mnt/session/uploads/notes.txt")
		if !ok {
			turn.Say("no notes")
			return
		}
		id := turn.DeliverArtifact("summary.md", []byte("# Summary\n"+strings.ToUpper(string(notes))))
		turn.Say("Delivered " + id)
	}))
	client := srv.Client()
	ctx := t.Context()
	f, err := client.Files.Upload(ctx, &qoder.FileUploadParams{Name: "notes.txt", Content: strings.NewReader("milk")})
	require.NoError(t, err)
	sess, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{
		Agent: qoder.AgentRef{ID: srv.SeedAgent("bot")}, EnvironmentID: srv.SeedEnvironment("env"),
		Resources: []qoder.SessionResourceParams{{Type: qoder.SessionResourceFile, FileID: f.ID, MountPath: "/mnt/session/uploads/notes.txt"}},
	})
	require.NoError(t, err)
	require.Len(t, sess.Resources, 1)
	assert.Equal(t, f.ID, sess.Resources[0].FileID)

	turn, err := client.Sessions.Run(ctx, sess.ID, "Summarize my notes")
	require.NoError(t, err)
	var delivered *qoder.AgentArtifactDeliveredEvent
	var read *qoder.AgentToolResultEvent
	for _, ev := range turn.Events {
		switch ev := ev.(type) {
		case *qoder.AgentArtifactDeliveredEvent:
			delivered = ev
		case *qoder.AgentToolResultEvent:
			if read == nil {
				read = ev
			}
		}
	}
	require.NotNil(t, read)
	assert.False(t, read.IsError)
	require.NotNil(t, delivered, "events: %v", srv.EventTypes(sess.ID))
	assert.Equal(t, "summary.md", delivered.OriginalFilename)
	assert.Equal(t, "text/markdown", delivered.ContentType)
	assert.Equal(t, "Delivered "+delivered.FileID, turn.Text())

	artifacts, err := client.Files.List(ctx, &qoder.FileListParams{ScopeID: sess.ID})
	require.NoError(t, err)
	require.Len(t, artifacts.Data, 1)
	assert.True(t, artifacts.Data[0].Downloadable)
	body, err := client.Files.Download(ctx, delivered.FileID)
	require.NoError(t, err)
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	assert.Equal(t, "# Summary\nMILK", string(data))

	_, err = client.Sessions.Create(ctx, &qoder.SessionCreateParams{
		Agent: qoder.AgentRef{ID: srv.SeedAgent("bot")}, EnvironmentID: srv.SeedEnvironment("env"),
		Resources: []qoder.SessionResourceParams{qoder.FileResource("file_missing")},
	})
	assert.ErrorIs(t, err, qoder.ErrNotFound)
}
