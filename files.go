package qoder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// FilesService manages files: inputs uploaded once and attached to
// sessions as file resources ([FileResource]), and the artifacts agents
// deliver (agent.artifact_delivered), which are the only files that can be
// downloaded.
//
// See https://docs.qoder.com/cloud-agents/api/files/upload.
type FilesService service

// Upload uploads a file as multipart/form-data. The content is written
// while it is sent, through a small buffer, so a file of any size is never
// held in memory; Upload returns only once it has stopped reading it.
//
// A failed attempt is retried (with the same Idempotency-Key and the same
// bytes) only when the content can be read again: params.Open is set, or
// params.Content is an io.Seeker that can seek. Otherwise the failure is
// returned, and its error says why it was not retried. An error reading the
// content names the file and is never retried.
//
// API: POST /files
func (s *FilesService) Upload(ctx context.Context, params *FileUploadParams, opts ...RequestOption) (*File, error) {
	form, err := params.form()
	if err != nil {
		return nil, err
	}
	return invoke[File](ctx, s.client, http.MethodPost, literalPath("files"), nil, form, opts)
}

// UploadPath uploads the regular file at filePath, opening it anew for
// each attempt, so that a failed attempt can be retried. params may be nil
// and its Content and Open must not be set; Name defaults to the file's
// base name and MediaType to the type of its extension.
//
// API: POST /files
func (s *FilesService) UploadPath(ctx context.Context, filePath string, params *FileUploadParams, opts ...RequestOption) (*File, error) {
	var p FileUploadParams
	if params != nil {
		p = *params
	}
	if p.Content != nil || p.Open != nil {
		return nil, errors.New("qoder: UploadPath reads the file at its path: leave FileUploadParams.Content and Open unset")
	}
	info, err := os.Stat(filePath)
	if err != nil {
		return nil, fmt.Errorf("qoder: upload: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("qoder: upload: %s is not a regular file", filePath)
	}
	if p.Name == "" {
		p.Name = filepath.Base(filePath)
	}
	p.Open = func() (io.ReadCloser, error) { return os.Open(filePath) }
	return s.Upload(ctx, &p, opts...)
}

// Get retrieves a file's metadata.
//
// API: GET /files/{file_id}
func (s *FilesService) Get(ctx context.Context, fileID string, opts ...RequestOption) (*File, error) {
	path, err := s.client.path("files/{file_id}", fileID)
	if err != nil {
		return nil, err
	}
	return invoke[File](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// List returns one page of files. nil params means defaults.
//
// API: GET /files
func (s *FilesService) List(ctx context.Context, params *FileListParams, opts ...RequestOption) (*Page[File], error) {
	return invoke[Page[File]](ctx, s.client, http.MethodGet, literalPath("files"), params, nil, opts)
}

// All iterates over every file matching params, fetching pages as the loop
// needs them. params is not modified.
//
// API: GET /files
func (s *FilesService) All(ctx context.Context, params *FileListParams, opts ...RequestOption) iter.Seq2[File, error] {
	return listAll(ctx, params, func(ctx context.Context, p *FileListParams) (*Page[File], error) {
		return s.List(ctx, p, opts...)
	})
}

// Delete deletes a file.
//
// API: DELETE /files/{file_id}
func (s *FilesService) Delete(ctx context.Context, fileID string, opts ...RequestOption) (*DeletedFile, error) {
	return deleteAt[DeletedFile](ctx, s.client, opts, "files/{file_id}", fileID)
}

// Download returns the bytes of a file; close it when done. Only the
// files an agent delivered (Downloadable is true) can be downloaded: for
// others the API answers 403, which is ErrPermission.
//
// The API answers with a presigned URL (a 200 JSON, or the legacy 302 with
// a Location), which Download then fetches itself, without the client's
// token and headers: see [FilesService.DownloadURL].
//
// API: GET /files/{file_id}/content
func (s *FilesService) Download(ctx context.Context, fileID string, opts ...RequestOption) (io.ReadCloser, error) {
	body, link, err := s.content(ctx, fileID, opts)
	if err != nil || body != nil {
		return body, err
	}
	return s.client.fetchPresigned(ctx, link, opts)
}

// DownloadURL returns the presigned URL of a file's bytes and when it
// expires (about an hour); fetch it without the token, for example from a
// browser. Like Download it works only for delivered artifacts.
//
// API: GET /files/{file_id}/content
func (s *FilesService) DownloadURL(ctx context.Context, fileID string, opts ...RequestOption) (*DownloadURL, error) {
	body, link, err := s.content(ctx, fileID, opts)
	if body != nil {
		_ = body.Close()
		return nil, fmt.Errorf("qoder: GET /files/%s/content: the API answered with the content, not a URL: use Download", fileID)
	}
	return link, err
}

// content asks the API for a file's content, explaining a 403.
func (s *FilesService) content(ctx context.Context, fileID string, opts []RequestOption) (io.ReadCloser, *DownloadURL, error) {
	path, err := s.client.path("files/{file_id}/content", fileID)
	if err != nil {
		return nil, nil, err
	}
	body, link, err := s.client.openContent(ctx, path, "application/json", opts)
	if errors.Is(err, ErrPermission) {
		err = fmt.Errorf("qoder: file %s cannot be downloaded: only the files an agent delivered (agent.artifact_delivered, Downloadable true) can be: %w", fileID, err)
	}
	return body, link, err
}

// File is an uploaded file or an artifact an agent delivered. It also
// decodes the legacy shape (file_id, purpose, status).
type File struct {
	resourceJSON

	// ID is the file's id, "file_…".
	ID string `json:"id"`
	// Type is always "file".
	Type string `json:"type"`
	// Filename is the final path component of the uploaded name; an empty
	// name becomes "unnamed" plus the extension of the detected type.
	Filename string `json:"filename"`
	// MimeType is the type the server detected.
	MimeType string `json:"mime_type"`
	// SizeBytes is the size of the content.
	SizeBytes int64 `json:"size_bytes"`
	// Downloadable is true for the artifacts agents deliver; uploads are
	// generally not downloadable.
	Downloadable bool `json:"downloadable"`
	// Scope is what the file belongs to, such as the session that
	// delivered it; zero for plain uploads (the API sends null).
	Scope FileScope `json:"scope,omitzero"`
	// Metadata holds the string pairs given at upload.
	Metadata map[string]string `json:"metadata"`
	// ExpiresAt is when the bytes become unavailable; zero if never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// CreatedAt is when the file was uploaded or delivered.
	CreatedAt time.Time `json:"created_at"`

	// Purpose, Status and UpdatedAt are sent only by the legacy API, whose
	// files had a purpose (such as "user_upload" or "tool_output") and a
	// status ("ready", "uploading", "error", "deleted").
	Purpose   string    `json:"purpose,omitempty"`
	Status    string    `json:"status,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// UnmarshalJSON decodes a file in its current or legacy shape: a legacy
// file_id becomes ID and, when downloadable is absent, the purposes the
// legacy API let download (tool_output, skill_output, agent_output) set
// Downloadable.
func (f *File) UnmarshalJSON(data []byte) error {
	type plain File
	var aux struct {
		plain
		FileID       string `json:"file_id"`
		Downloadable *bool  `json:"downloadable"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*f = File(aux.plain)
	if f.ID == "" {
		f.ID = aux.FileID
	}
	if aux.Downloadable != nil {
		f.Downloadable = *aux.Downloadable
	} else {
		switch f.Purpose {
		case "tool_output", "skill_output", "agent_output":
			f.Downloadable = true
		}
	}
	return nil
}

// FileScope is what a file belongs to.
type FileScope struct {
	// ID is the id of the scope, such as a session id.
	ID string `json:"id"`
	// Type is the kind of scope, such as "session".
	Type string `json:"type"`
}

// DeletedFile is the answer to [FilesService.Delete].
type DeletedFile struct {
	resourceJSON

	// ID is the deleted file's id.
	ID string `json:"id"`
	// Type is "file_deleted".
	Type string `json:"type"`
}

// FileUploadParams describe the file [FilesService.Upload] sends. Name and
// one of Content or Open are required.
type FileUploadParams struct {
	// Name is the file's name, such as "report.txt"; the API keeps only its
	// final path component.
	Name string
	// Content is the file's bytes. When it is an io.Seeker that can seek,
	// every attempt reads it from where it was when Upload was called, so a
	// failed attempt can be retried; any other reader is read once.
	Content io.Reader
	// Open, instead of Content, opens the bytes anew for every attempt, so
	// a failed attempt can be retried; Upload closes what it returns.
	Open func() (io.ReadCloser, error)
	// MediaType is the Content-Type of the file part; by default the type
	// of Name's extension, else application/octet-stream. The API detects
	// the stored type itself and accepts text-based files only.
	MediaType string
	// Metadata holds string pairs of your own, sent as a JSON object (at
	// most 8 KB).
	Metadata map[string]string
	// ExpiresInSeconds makes the bytes unavailable that many seconds after
	// the upload (3600 to 7776000); zero means never.
	ExpiresInSeconds int
}

// form checks the params before any I/O and returns the multipart body:
// the parts "file", "name", then "metadata" and "expires_in_seconds" when
// set.
func (p *FileUploadParams) form() (*formBody, error) {
	if p == nil {
		return nil, errors.New("qoder: file upload params are required")
	}
	if err := checkPartName("FileUploadParams.Name", p.Name); err != nil {
		return nil, err
	}
	if base := p.Name[strings.LastIndexAny(p.Name, `/\`)+1:]; base == "" || base == "." || base == ".." {
		return nil, fmt.Errorf("qoder: file name %q has no final path component", p.Name)
	}
	switch {
	case p.Content == nil && p.Open == nil:
		return nil, errors.New("qoder: FileUploadParams.Content is required (or Open)")
	case p.Content != nil && p.Open != nil:
		return nil, errors.New("qoder: set FileUploadParams.Content or Open, not both")
	}
	mediaType := p.MediaType
	if mediaType == "" {
		mediaType = mime.TypeByExtension(path.Ext(p.Name))
	}
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	if err := checkPartName("FileUploadParams.MediaType", mediaType); err != nil {
		return nil, err
	}
	name, meta, expires := p.Name, p.Metadata, p.ExpiresInSeconds
	open, content := p.Open, p.Content
	form := newFormBody(func(w *multipart.Writer) error {
		src, closeSrc := content, func() {}
		if open != nil {
			rc, err := open()
			if err != nil {
				return &sourceError{name: name, err: err}
			}
			src, closeSrc = rc, func() { _ = rc.Close() }
		}
		defer closeSrc()
		if err := writeFormFile(w, "file", name, mediaType, src); err != nil {
			return err
		}
		if err := w.WriteField("name", name); err != nil {
			return err
		}
		if meta != nil {
			if err := writeFormJSON(w, "metadata", meta); err != nil {
				return err
			}
		}
		if expires != 0 {
			return w.WriteField("expires_in_seconds", fmt.Sprint(expires))
		}
		return nil
	})
	switch {
	case open != nil:
		form.rewind = func() error { return nil }
	default:
		form.rewind, form.noReplay = rewinder(content, fmt.Sprintf("the Content of %q", name))
	}
	return form, nil
}

// rewinder returns how to put r back where it is now, for another attempt,
// or nil and why that is not possible.
func rewinder(r io.Reader, what string) (func() error, string) {
	seeker, ok := r.(io.Seeker)
	if !ok {
		return nil, what + " is not an io.Seeker; set Open to let the upload be retried"
	}
	start, err := seeker.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, what + " cannot seek (" + err.Error() + "); set Open to let the upload be retried"
	}
	return func() error {
		_, err := seeker.Seek(start, io.SeekStart)
		return err
	}, ""
}

// FileListParams filter and page [FilesService.List].
type FileListParams struct {
	// Limit is the page size (1–1000, default 20).
	Limit int `url:"limit,omitempty"`
	// AfterID returns the page after this file id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the page before this file id.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// ScopeID keeps the files of that scope, such as a session id (the
	// artifacts its agent delivered).
	ScopeID string `url:"scope_id,omitempty"`
	// IDs keeps the files with these ids (at most 100), on a single page;
	// ids that do not resolve are left out. It goes without Page and
	// Limit.
	IDs []string `url:"ids,brackets,omitempty"`
	// Purpose keeps the files of a legacy purpose, such as "tool_output";
	// only the legacy API knows it.
	Purpose string `url:"purpose,omitempty"`
}
