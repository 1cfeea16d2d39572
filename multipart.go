package qoder

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
	"unicode"
)

// formBody is a multipart/form-data request body written while it is sent.
// For each attempt a goroutine writes the parts into an io.Pipe that the
// transport reads, so that a file of any size passes through a small buffer
// and is never held in memory. It goes through the client's one request
// path (see prepare and send) like a JSON body: the same headers, retries,
// errors and logs.
//
// An attempt after the first sends the same bytes: the boundary is fixed
// when the body is made, and rewind puts every source back at its start.
// A body whose sources cannot be rewound (rewind is nil) is sent once: a
// failed attempt is returned, not retried, with noReplay saying why.
type formBody struct {
	boundary string
	// parts writes every part; it is called once per attempt.
	parts func(w *multipart.Writer) error
	// rewind readies the sources for another attempt; nil when they cannot
	// be read again.
	rewind func() error
	// noReplay says why the body cannot be sent again when rewind is nil.
	noReplay string

	attempts int
	pr       *io.PipeReader // the attempt in flight, if any
	done     chan error     // receives the writer's result
}

// newFormBody returns a body written by parts with a random boundary.
func newFormBody(parts func(w *multipart.Writer) error) *formBody {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return &formBody{boundary: "qoder-go-" + hex.EncodeToString(b[:]), parts: parts}
}

// contentType is the Content-Type header of the body.
func (b *formBody) contentType() string {
	return "multipart/form-data; boundary=" + b.boundary
}

// errAttemptEnded stops the writer of an attempt whose request is over.
var errAttemptEnded = errors.New("qoder: the request attempt has ended")

// open starts writing the body for the next attempt and returns its reader.
// Every open must be followed by finish.
func (b *formBody) open() (io.ReadCloser, error) {
	b.attempts++
	if b.attempts > 1 {
		if b.rewind == nil {
			return nil, fmt.Errorf("qoder: the request body cannot be sent again: %s", b.noReplay)
		}
		if err := b.rewind(); err != nil {
			return nil, fmt.Errorf("qoder: rewinding the request body for another attempt: %w", err)
		}
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		mw := multipart.NewWriter(pw)
		err := mw.SetBoundary(b.boundary)
		if err == nil {
			err = b.parts(mw)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err) // nil: the reader sees io.EOF
		done <- err
	}()
	b.pr, b.done = pr, done
	return pr, nil
}

// finish ends the attempt in flight: it closes the pipe, so that a writer
// blocked on it stops, and waits for the writer to return, so that no
// goroutine outlives the call and no source is read after it. It returns
// the error of a source that could not be read, if that is what stopped the
// writer; such an error is final.
func (b *formBody) finish() error {
	if b == nil || b.pr == nil {
		return nil
	}
	b.pr.CloseWithError(errAttemptEnded)
	err := <-b.done
	b.pr, b.done = nil, nil
	var se *sourceError
	if errors.As(err, &se) {
		return se
	}
	return nil
}

// sourceError is the failure to read the content of a part, such as the
// file being uploaded.
type sourceError struct {
	name string
	err  error
}

// Error names the source and says why it could not be read.
func (e *sourceError) Error() string {
	return fmt.Sprintf("reading the content of %q: %v", e.name, e.err)
}

// Unwrap returns the read error.
func (e *sourceError) Unwrap() error { return e.err }

// sourceReader tags the read errors of a source with its name, so that
// they can be told apart from errors writing the pipe.
type sourceReader struct {
	name string
	r    io.Reader
}

// Read reads from the source, wrapping its errors other than io.EOF.
func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{name: s.name, err: err}
	}
	return n, err
}

// writeFormJSON writes a form field holding v as JSON, such as metadata.
func writeFormJSON(w *multipart.Writer, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", name, err)
	}
	return w.WriteField(name, string(data))
}

// writeFormFile writes a file part named field whose content is copied from
// src; errors reading src come back as *sourceError.
func writeFormFile(w *multipart.Writer, field, filename, mediaType string, src io.Reader) error {
	part, err := createFormFile(w, field, filename, mediaType)
	if err != nil {
		return err
	}
	_, err = io.Copy(part, sourceReader{name: filename, r: src})
	return err
}

// createFormFile starts a file part and returns the writer of its content.
func createFormFile(w *multipart.Writer, field, filename, mediaType string) (io.Writer, error) {
	h := make(textproto.MIMEHeader, 2)
	h.Set("Content-Disposition", multipart.FileContentDisposition(field, filename))
	h.Set("Content-Type", mediaType)
	return w.CreatePart(h)
}

// checkPartName checks a name that goes into a part's header, such as a
// file name, before any I/O: what names a field must not be empty or
// break the header.
func checkPartName(what, name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("qoder: %s is required", what)
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return fmt.Errorf("qoder: %s %q contains a control character", what, name)
	}
	return nil
}
