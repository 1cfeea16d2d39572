package qoder

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fileJSON = `{"id":"file_1","type":"file","filename":"notes.txt","mime_type":"text/plain","size_bytes":11,
	"downloadable":false,"scope":null,"metadata":{"project":"demo"},"created_at":"2026-05-18T15:33:44Z"}`

// formPart is one part of a multipart/form-data request, as a test server
// received it.
type formPart struct {
	Name, Filename, ContentType, Body string
}

// readForm parses the multipart body of r part by part.
func readForm(t *testing.T, r *http.Request) []formPart {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/form-data", mediaType)
	mr := multipart.NewReader(r.Body, params["boundary"])
	var parts []formPart
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts
		}
		require.NoError(t, err)
		body, err := io.ReadAll(p)
		require.NoError(t, err)
		parts = append(parts, formPart{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), string(body)})
	}
}

func TestFilesService_Upload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params FileUploadParams
		want   []formPart
	}{
		{
			name: "every field",
			params: FileUploadParams{
				Name: "notes.txt", Content: strings.NewReader("hello world"), MediaType: "text/markdown",
				Metadata: map[string]string{"project": "demo"}, ExpiresInSeconds: 3600,
			},
			want: []formPart{
				{Name: "file", Filename: "notes.txt", ContentType: "text/markdown", Body: "hello world"},
				{Name: "name", Body: "notes.txt"},
				{Name: "metadata", Body: `{"project":"demo"}`},
				{Name: "expires_in_seconds", Body: "3600"},
			},
		},
		{
			name:   "media type from the extension",
			params: FileUploadParams{Name: "data.json", Content: strings.NewReader("{}")},
			want: []formPart{
				{Name: "file", Filename: "data.json", ContentType: "application/json", Body: "{}"},
				{Name: "name", Body: "data.json"},
			},
		},
		{
			name:   "unknown extension",
			params: FileUploadParams{Name: `dir\report.qq"x`, Content: strings.NewReader("x")},
			want: []formPart{
				{Name: "file", Filename: `dir\report.qq"x`, ContentType: "application/octet-stream", Body: "x"},
				{Name: "name", Body: `dir\report.qq"x`},
			},
		},
		{
			name: "opened per attempt",
			params: FileUploadParams{Name: "a.txt", Open: func() (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader("opened")), nil
			}},
			want: []formPart{
				{Name: "file", Filename: "a.txt", ContentType: "text/plain; charset=utf-8", Body: "opened"},
				{Name: "name", Body: "a.txt"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/files", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
				assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
				assert.Equal(t, []string{"chunked"}, r.TransferEncoding, "the body is streamed")
				assert.Equal(t, tt.want, readForm(t, r))
				serveJSON(t, w, http.StatusCreated, fileJSON)
			})
			f, err := client.Files.Upload(t.Context(), &tt.params)
			require.NoError(t, err)
			assert.Equal(t, "file_1", f.ID)
			assert.Equal(t, int64(11), f.SizeBytes)
			assert.Equal(t, map[string]string{"project": "demo"}, f.Metadata)
			assert.Zero(t, f.Scope)
		})
	}
}

// onlyReader hides every method of a reader but Read.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// pipeSeeker is a reader whose Seek fails, like os.Stdin on a pipe.
type pipeSeeker struct{ io.Reader }

func (pipeSeeker) Seek(int64, int) (int64, error) { return 0, errors.New("illegal seek") }

func TestFilesService_UploadRetries(t *testing.T) {
	t.Parallel()
	seeked := strings.NewReader("skip:payload")
	_, err := seeked.Seek(5, io.SeekStart)
	require.NoError(t, err)
	tests := []struct {
		name      string
		params    FileUploadParams
		attempts  int
		wantErr   string
		wantBody  string
		wantOpens int
	}{
		{name: "a seeker is replayed", params: FileUploadParams{Content: strings.NewReader("payload")}, attempts: 3, wantBody: "payload"},
		{name: "from where it was", params: FileUploadParams{Content: seeked}, attempts: 3, wantBody: "payload"},
		{name: "open is called per attempt", params: FileUploadParams{}, attempts: 3, wantBody: "payload", wantOpens: 3},
		{name: "a plain reader is not", params: FileUploadParams{Content: onlyReader{strings.NewReader("payload")}}, attempts: 1,
			wantErr: `not retried: the Content of "a.txt" is not an io.Seeker; set Open to let the upload be retried`},
		{name: "nor a seeker that cannot seek", params: FileUploadParams{Content: pipeSeeker{strings.NewReader("payload")}}, attempts: 1,
			wantErr: `not retried: the Content of "a.txt" cannot seek (illegal seek)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			var mu sync.Mutex
			var keys, bodies []string
			mux.HandleFunc("POST /api-test/files", func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(r.Body)
				assert.NoError(t, err)
				mu.Lock()
				keys = append(keys, r.Header.Get("Idempotency-Key"))
				bodies = append(bodies, string(body))
				n := len(bodies)
				mu.Unlock()
				if n < 3 {
					serveJSON(t, w, http.StatusServiceUnavailable, `{"type":"error","error":{"type":"api_error","message":"busy"}}`)
					return
				}
				serveJSON(t, w, http.StatusOK, fileJSON)
			})
			params := tt.params
			params.Name = "a.txt"
			opens := 0
			if params.Content == nil {
				params.Open = func() (io.ReadCloser, error) {
					opens++
					return io.NopCloser(strings.NewReader("payload")), nil
				}
			}
			f, err := client.Files.Upload(t.Context(), &params)
			assert.Len(t, bodies, tt.attempts)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.ErrorIs(t, err, ErrServer)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "file_1", f.ID)
			assert.Equal(t, tt.wantOpens, opens)
			for i := range bodies {
				assert.Equal(t, keys[0], keys[i], "the same Idempotency-Key on every attempt")
				assert.Equal(t, bodies[0], bodies[i], "the same bytes on every attempt")
			}
			assert.Contains(t, bodies[0], "\r\n\r\n"+tt.wantBody+"\r\n")
		})
	}
}

// failingReader returns good bytes, then an error.
type failingReader struct {
	good int
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.good == 0 {
		return 0, f.err
	}
	n := min(len(p), f.good)
	for i := range n {
		p[i] = 'x'
	}
	f.good -= n
	return n, nil
}

func TestFilesService_UploadUnreadableContent(t *testing.T) {
	// Not parallel: it counts goroutines.
	client, mux := newTestClient(t)
	var requests atomic.Int32
	mux.HandleFunc("POST /api-test/files", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadRequest)
	})
	base := runtime.NumGoroutine()
	diskErr := errors.New("disk on fire")
	src := io.MultiReader(&failingReader{good: 1 << 20, err: diskErr}, strings.NewReader("never"))
	_, err := client.Files.Upload(t.Context(), &FileUploadParams{Name: "big.log", Content: seekless(src)},
		WithRequestMaxRetries(5))
	require.Error(t, err)
	assert.ErrorIs(t, err, diskErr)
	assert.Contains(t, err.Error(), `qoder: POST /files: reading the content of "big.log": disk on fire`)
	waitGoroutines(t, client, base)
	assert.LessOrEqual(t, requests.Load(), int32(1), "an unreadable file is not retried")
}

// seekless hides a reader's methods other than Read.
func seekless(r io.Reader) io.Reader { return onlyReader{r} }

func TestFilesService_UploadSeekableUnreadable(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/files", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadRequest)
	})
	f, err := os.CreateTemp(t.TempDir(), "x")
	require.NoError(t, err)
	require.NoError(t, f.Close()) // reading a closed file fails
	_, err = client.Files.Upload(t.Context(), &FileUploadParams{Name: "closed.txt", Content: f})
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrClosed)
	assert.Contains(t, err.Error(), `reading the content of "closed.txt"`)
}

func TestFilesService_UploadBadInput(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	content := strings.NewReader("x")
	open := func() (io.ReadCloser, error) { return nil, nil }
	tests := []struct {
		name    string
		params  *FileUploadParams
		wantErr string
	}{
		{"nil params", nil, "qoder: file upload params are required"},
		{"no name", &FileUploadParams{Content: content}, "qoder: FileUploadParams.Name is required"},
		{"blank name", &FileUploadParams{Name: "  ", Content: content}, "qoder: FileUploadParams.Name is required"},
		{"a line break in the name", &FileUploadParams{Name: "a\r\nX-Evil: 1", Content: content}, `contains a control character`},
		{"no final component", &FileUploadParams{Name: "dir/", Content: content}, `file name "dir/" has no final path component`},
		{"dot dot", &FileUploadParams{Name: "a/..", Content: content}, `has no final path component`},
		{"no content", &FileUploadParams{Name: "a.txt"}, "qoder: FileUploadParams.Content is required (or Open)"},
		{"both", &FileUploadParams{Name: "a.txt", Content: content, Open: open}, "not both"},
		{"a line break in the media type", &FileUploadParams{Name: "a.txt", Content: content, MediaType: "text/plain\n"}, "MediaType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Files.Upload(t.Context(), tt.params)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestFilesService_UploadPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "report.md")
	require.NoError(t, os.WriteFile(file, []byte("# Report"), 0o600))

	client, mux := newTestClient(t)
	var mu sync.Mutex
	var got [][]formPart
	mux.HandleFunc("POST /api-test/files", func(w http.ResponseWriter, r *http.Request) {
		parts := readForm(t, r)
		mu.Lock()
		got = append(got, parts)
		n := len(got)
		mu.Unlock()
		if n == 1 {
			serveJSON(t, w, http.StatusBadGateway, `bad gateway`)
			return
		}
		serveJSON(t, w, http.StatusOK, fileJSON)
	})
	_, err := client.Files.UploadPath(t.Context(), file, &FileUploadParams{Metadata: map[string]string{"k": "v"}})
	require.NoError(t, err)
	require.Len(t, got, 2, "a file on disk is opened again for the retry")
	want := []formPart{
		{Name: "file", Filename: "report.md", ContentType: "text/markdown; charset=utf-8", Body: "# Report"},
		{Name: "name", Body: "report.md"},
		{Name: "metadata", Body: `{"k":"v"}`},
	}
	assert.Equal(t, want, got[0])
	assert.Equal(t, want, got[1])

	t.Run("bad input", func(t *testing.T) {
		for _, tt := range []struct {
			name, path string
			params     *FileUploadParams
			wantErr    string
		}{
			{"missing file", filepath.Join(dir, "nope.txt"), nil, "no such file"},
			{"a directory", dir, nil, "is not a regular file"},
			{"content set", file, &FileUploadParams{Content: strings.NewReader("x")}, "leave FileUploadParams.Content and Open unset"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := client.Files.UploadPath(t.Context(), tt.path, tt.params)
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
			})
		}
	})
}

func TestFilesService_Get(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/files/file_1", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"id":"file_1","type":"file","filename":"out.csv","mime_type":"text/csv","size_bytes":3,
			"downloadable":true,"scope":{"id":"sess_1","type":"session"},"metadata":{},"expires_at":"2026-06-01T00:00:00Z",
			"created_at":"2026-05-18T15:33:44.5Z"}`)
	})
	f, err := client.Files.Get(t.Context(), "file_1")
	require.NoError(t, err)
	assert.Equal(t, File{
		ID: "file_1", Type: "file", Filename: "out.csv", MimeType: "text/csv", SizeBytes: 3, Downloadable: true,
		Scope: FileScope{ID: "sess_1", Type: "session"}, Metadata: map[string]string{},
		ExpiresAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), CreatedAt: time.Date(2026, 5, 18, 15, 33, 44, 5e8, time.UTC),
	}, withoutRaw(*f))

	_, err = client.Files.Get(t.Context(), "")
	assert.EqualError(t, err, "qoder: file_id is required")
	testAPIErrors(t, mux, "GET /api-test/files/file_x", func() error {
		_, err := client.Files.Get(t.Context(), "file_x")
		return err
	})
}

func TestFileLegacyShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		want File
	}{
		{
			name: "legacy upload",
			json: `{"file_id":"file_old","filename":"a.txt","purpose":"user_upload","size_bytes":1,"mime_type":"text/plain",
				"status":"ready","metadata":{},"created_at":"2026-05-01T00:00:00Z","updated_at":"2026-05-02T00:00:00Z"}`,
			want: File{ID: "file_old", Filename: "a.txt", Purpose: "user_upload", SizeBytes: 1, MimeType: "text/plain",
				Status: "ready", Metadata: map[string]string{}, CreatedAt: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
				UpdatedAt: time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)},
		},
		{
			name: "legacy tool output is downloadable",
			json: `{"file_id":"file_out","purpose":"tool_output","status":"ready"}`,
			want: File{ID: "file_out", Purpose: "tool_output", Status: "ready", Downloadable: true},
		},
		{
			name: "an explicit flag wins",
			json: `{"id":"file_new","file_id":"file_ignored","purpose":"tool_output","downloadable":false}`,
			want: File{ID: "file_new", Purpose: "tool_output"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f File
			require.NoError(t, f.UnmarshalJSON([]byte(tt.json)))
			assert.Equal(t, tt.want, f)
		})
	}
}

func TestFilesService_List(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var queries []string
	mux.HandleFunc("GET /api-test/files", func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		if r.URL.Query().Get("page") == "" {
			serveJSON(t, w, http.StatusOK, `{"data":[{"id":"file_1"},{"id":"file_2"}],"first_id":"file_1","last_id":"file_2","has_more":true,"next_page":"page_2"}`)
			return
		}
		serveJSON(t, w, http.StatusOK, `{"data":[{"id":"file_3"}],"first_id":"file_3","last_id":"file_3","has_more":false,"next_page":null}`)
	})
	page, err := client.Files.List(t.Context(), &FileListParams{
		Limit: 2, ScopeID: "sess_1", IDs: []string{"file_1", "file_2"}, AfterID: "file_0", Purpose: "tool_output",
	})
	require.NoError(t, err)
	assert.Equal(t, "after_id=file_0&ids%5B%5D=file_1&ids%5B%5D=file_2&limit=2&purpose=tool_output&scope_id=sess_1", queries[0])
	assert.Equal(t, "page_2", page.NextPage)
	assert.Len(t, page.Data, 2)

	params := &FileListParams{ScopeID: "sess_1", BeforeID: "file_9"}
	var ids []string
	for f, err := range client.Files.All(t.Context(), params) {
		require.NoError(t, err)
		ids = append(ids, f.ID)
	}
	assert.Equal(t, []string{"file_1", "file_2", "file_3"}, ids)
	assert.Equal(t, []string{"before_id=file_9&scope_id=sess_1", "page=page_2&scope_id=sess_1"}, queries[1:])
	assert.Equal(t, &FileListParams{ScopeID: "sess_1", BeforeID: "file_9"}, params, "params are not modified")
}

func TestFilesService_Delete(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("DELETE /api-test/files/file_1", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"id":"file_1","type":"file_deleted"}`)
	})
	d, err := client.Files.Delete(t.Context(), "file_1")
	require.NoError(t, err)
	assert.Equal(t, DeletedFile{ID: "file_1", Type: "file_deleted"}, withoutRaw(*d))
	_, err = client.Files.Delete(t.Context(), "")
	assert.EqualError(t, err, "qoder: file_id is required")
}

// storage is a stand-in for the storage host of presigned URLs: it records
// the headers of each request and answers with content.
type storage struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
}

func newStorage(t *testing.T, content string) *storage {
	s := &storage{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		if r.URL.Query().Get("sig") != "ok" {
			http.Error(w, "<Error><Code>SignatureDoesNotMatch</Code></Error>", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/csv")
		_, _ = io.WriteString(w, content)
	}))
	t.Cleanup(s.Close)
	return s
}

// assertAnonymous checks that the storage host got no credential and no
// header of the client or the call.
func assertAnonymous(t *testing.T, h http.Header) {
	t.Helper()
	for _, name := range []string{"Authorization", "X-Tenant", "X-Call", "Idempotency-Key", "X-Qoder-Beta", "Cookie"} {
		assert.Empty(t, h.Values(name), "the storage request carries %s", name)
	}
	assert.NotContains(t, strings.Join(h.Values("User-Agent"), " "), testToken)
}

func TestFilesService_Download(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter, storageURL string)
	}{
		{"200 JSON", func(w http.ResponseWriter, u string) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"url":"`+u+`","expires_at":"2026-05-18T16:34:52Z"}`)
		}},
		{"legacy 302", func(w http.ResponseWriter, u string) {
			w.Header().Set("Location", u)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusFound)
			_, _ = io.WriteString(w, `{"url":"`+u+`","expires_at":"2026-05-18T16:34:52Z"}`)
		}},
		{"legacy 302 without Location", func(w http.ResponseWriter, u string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusFound)
			_, _ = io.WriteString(w, `{"url":"`+u+`"}`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := newStorage(t, "a,b\n1,2\n")
			client, mux := newTestClient(t, WithHeader("X-Tenant", "acme"))
			mux.HandleFunc("GET /api-test/files/file_1/content", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
				assert.Equal(t, "acme", r.Header.Get("X-Tenant"))
				tt.answer(w, st.URL+"/files/file_1?sig=ok&X-Amz-Credential=secret")
			})
			body, err := client.Files.Download(t.Context(), "file_1", WithRequestHeader("X-Call", "1"), WithBeta("b"))
			require.NoError(t, err)
			data, err := io.ReadAll(body)
			require.NoError(t, err)
			require.NoError(t, body.Close())
			assert.Equal(t, "a,b\n1,2\n", string(data))
			require.Len(t, st.headers, 1)
			assertAnonymous(t, st.headers[0])

			link, err := client.Files.DownloadURL(t.Context(), "file_1")
			require.NoError(t, err)
			assert.Equal(t, st.URL+"/files/file_1?sig=ok&X-Amz-Credential=secret", link.URL)
			assert.Len(t, st.headers, 1, "DownloadURL does not fetch")
		})
	}
}

func TestFilesService_DownloadOrigins(t *testing.T) {
	t.Parallel()
	// The presigned URL may be on the API's own origin (as with qodertest)
	// or redirect back to it: the token still never goes with it.
	var mu sync.Mutex
	var seen []http.Header
	client, mux := newTestClient(t, WithHeader("X-Tenant", "acme"))
	mux.HandleFunc("GET /api-test/files/file_1/content", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"url":"`+client.BaseURL()+`storage/hop?sig=ok"}`)
	})
	mux.HandleFunc("GET /api-test/storage/hop", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		http.Redirect(w, r, "/api-test/storage/blob?sig=ok", http.StatusFound)
	})
	mux.HandleFunc("GET /api-test/storage/blob", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		_, _ = io.WriteString(w, "same origin")
	})
	body, err := client.Files.Download(t.Context(), "file_1")
	require.NoError(t, err)
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	assert.Equal(t, "same origin", string(data))
	require.Len(t, seen, 2)
	for _, h := range seen {
		assertAnonymous(t, h)
	}
}

func TestFilesService_DownloadRefusesPlainHTTPFromHTTPS(t *testing.T) {
	t.Parallel()
	st := newStorage(t, "secret bytes")
	mux := http.NewServeMux()
	api := httptest.NewTLSServer(mux)
	t.Cleanup(api.Close)
	client, err := NewClient(WithToken(testToken), WithBaseURL(api.URL+"/api-test/"), WithHTTPClient(api.Client()))
	require.NoError(t, err)
	mux.HandleFunc("GET /api-test/files/file_1/content", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", st.URL+"/files/file_1?sig=ok")
		w.WriteHeader(http.StatusFound)
	})
	_, err = client.Files.Download(t.Context(), "file_1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "will not download over plain http from an https API")
	assert.NotContains(t, err.Error(), "sig=ok", "the signature stays out of errors")
	assert.Empty(t, st.headers)
}

func TestFilesService_DownloadErrors(t *testing.T) {
	t.Parallel()
	t.Run("not downloadable", func(t *testing.T) {
		t.Parallel()
		client, mux := newTestClient(t)
		mux.HandleFunc("GET /api-test/files/file_1/content", func(w http.ResponseWriter, r *http.Request) {
			serveJSON(t, w, http.StatusForbidden, `{"type":"error","error":{"type":"permission_error","message":"File is not downloadable."}}`)
		})
		_, err := client.Files.Download(t.Context(), "file_1")
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrPermission)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusForbidden, apiErr.StatusCode)
		assert.Contains(t, err.Error(), "only the files an agent delivered")
		_, err = client.Files.DownloadURL(t.Context(), "file_1")
		assert.ErrorIs(t, err, ErrPermission)
	})
	t.Run("expired URL", func(t *testing.T) {
		t.Parallel()
		st := newStorage(t, "x")
		client, mux := newTestClient(t)
		mux.HandleFunc("GET /api-test/files/file_1/content", func(w http.ResponseWriter, r *http.Request) {
			serveJSON(t, w, http.StatusOK, `{"url":"`+st.URL+`/files/file_1?sig=expired"}`)
		})
		_, err := client.Files.Download(t.Context(), "file_1")
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrPermission)
		assert.Contains(t, err.Error(), "the presigned download URL was refused; it may have expired")
		assert.NotContains(t, err.Error(), "sig=expired")
	})
	t.Run("no URL", func(t *testing.T) {
		t.Parallel()
		client, mux := newTestClient(t)
		mux.HandleFunc("GET /api-test/files/file_1/content", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusFound)
		})
		_, err := client.Files.Download(t.Context(), "file_1")
		assert.ErrorContains(t, err, "names no download URL")
	})
	t.Run("not a URL", func(t *testing.T) {
		t.Parallel()
		client, mux := newTestClient(t)
		mux.HandleFunc("GET /api-test/files/file_1/content", func(w http.ResponseWriter, r *http.Request) {
			serveJSON(t, w, http.StatusOK, `{"url":"file:///etc/passwd"}`)
		})
		_, err := client.Files.Download(t.Context(), "file_1")
		assert.ErrorContains(t, err, "it must be an absolute http(s) URL")
	})
	t.Run("content served directly", func(t *testing.T) {
		t.Parallel()
		client, mux := newTestClient(t)
		mux.HandleFunc("GET /api-test/files/file_1/content", func(w http.ResponseWriter, r *http.Request) {
			serveJSON(t, w, http.StatusOK, `{"rows":[1,2,3]}`)
		})
		body, err := client.Files.Download(t.Context(), "file_1")
		require.NoError(t, err)
		data, err := io.ReadAll(body)
		require.NoError(t, err)
		assert.JSONEq(t, `{"rows":[1,2,3]}`, string(data))
		_, err = client.Files.DownloadURL(t.Context(), "file_1")
		assert.ErrorContains(t, err, "the API answered with the content, not a URL")
	})
	t.Run("empty id", func(t *testing.T) {
		t.Parallel()
		client, mux := newTestClient(t)
		mux.Handle("/", failHandler(t))
		_, err := client.Files.Download(t.Context(), "")
		assert.EqualError(t, err, "qoder: file_id is required")
	})
}

func TestFilesService_DownloadRetriesStorage(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	st := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			http.Error(w, "slow down", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(st.Close)
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/files/file_1/content", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, `{"url":"`+st.URL+`/f?sig=1"}`)
	})
	body, err := client.Files.Download(t.Context(), "file_1")
	require.NoError(t, err)
	data, _ := io.ReadAll(body)
	assert.Equal(t, "ok", string(data))
	assert.Equal(t, 2, calls)
}

func TestFilesService_EmptyIDs(t *testing.T) {
	t.Parallel()
	resTestEmptyIDs(t, []resEmptyIDCase{
		{"Get", "file_id", func(ctx context.Context, c *Client) error { _, err := c.Files.Get(ctx, ""); return err }},
		{"Delete", "file_id", func(ctx context.Context, c *Client) error { _, err := c.Files.Delete(ctx, ""); return err }},
		{"Download", "file_id", func(ctx context.Context, c *Client) error { _, err := c.Files.Download(ctx, ""); return err }},
		{"DownloadURL", "file_id", func(ctx context.Context, c *Client) error { _, err := c.Files.DownloadURL(ctx, ""); return err }},
	})
}

func TestFilesService_APIErrors(t *testing.T) {
	t.Parallel()
	resTestAPIErrors(t, []resAPIErrorCase{
		{"Upload", "POST /api-test/files", func(ctx context.Context, c *Client) error {
			_, err := c.Files.Upload(ctx, &FileUploadParams{Name: "a.txt", Content: strings.NewReader("x")})
			return err
		}},
		{"List", "GET /api-test/files", func(ctx context.Context, c *Client) error { _, err := c.Files.List(ctx, nil); return err }},
		{"All", "GET /api-test/files", func(ctx context.Context, c *Client) error {
			_, err := resCollect(c.Files.All(ctx, nil))
			return err
		}},
		{"Delete", "DELETE /api-test/files/file_x", func(ctx context.Context, c *Client) error { _, err := c.Files.Delete(ctx, "file_x"); return err }},
		{"Download", "GET /api-test/files/file_x/content", func(ctx context.Context, c *Client) error {
			_, err := c.Files.Download(ctx, "file_x")
			return err
		}},
		{"DownloadURL", "GET /api-test/files/file_x/content", func(ctx context.Context, c *Client) error {
			_, err := c.Files.DownloadURL(ctx, "file_x")
			return err
		}},
	})
}
