package qoder

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"path"
	"slices"
	"strings"
)

// skillFile is the file every skill must have, at the root of its bundle
// or one directory below.
const skillFile = "SKILL.md"

// maxSkillZip is the largest zip a plain io.Reader may hold: such a zip is
// read into memory to be checked before it is sent. It is the largest cap
// the reference documents (5 MB, 10 MB and 50 MiB are all stated).
const maxSkillZip = 50 << 20

// SkillBundle is the content of a skill, sent as a zip: a SKILL.md with
// YAML front matter (name, description) and any files it refers to. Make
// one with [SkillFromFS], [SkillFromZip] or [SkillFromMarkdown]. The SDK
// checks a bundle before it sends anything: SKILL.md must be at its root or
// one directory below, and no path may leave it.
type SkillBundle struct {
	fsys     fs.FS
	zip      io.Reader
	markdown []byte
	kind     string // "fs", "zip" or "markdown"; "" for the zero value
}

// SkillFromFS returns the bundle of a directory tree, such as
// os.DirFS("./my-skill") or an embed.FS. Paths keep their "/" separators.
// SKILL.md is at the root, or in a single top-level directory that holds
// every file. Only regular files and directories may appear (a symbolic
// link is refused). The zip is built while it is sent, so a retry builds it
// again.
func SkillFromFS(fsys fs.FS) SkillBundle {
	return SkillBundle{fsys: fsys, kind: "fs"}
}

// SkillFromZip returns the bundle of a zip archive. An archive that is an
// io.ReaderAt and an io.Seeker (such as an *os.File or a *bytes.Reader) is
// checked and sent where it is, from its start; any other reader is first
// read into memory, up to 50 MiB.
func SkillFromZip(r io.Reader) SkillBundle {
	return SkillBundle{zip: r, kind: "zip"}
}

// SkillFromMarkdown returns the bundle of a skill that is a single
// SKILL.md with this content.
func SkillFromMarkdown(skillMD string) SkillBundle {
	return SkillBundle{markdown: []byte(skillMD), kind: "markdown"}
}

// zipWriter writes a checked bundle as a zip; it can be called again for
// another attempt.
type zipWriter func(w io.Writer) error

// source checks the bundle and returns how to write it.
func (b SkillBundle) source() (zipWriter, error) {
	switch b.kind {
	case "fs":
		return fsSource(b.fsys)
	case "zip":
		return zipSource(b.zip)
	case "markdown":
		if len(bytes.TrimSpace(b.markdown)) == 0 {
			return nil, errors.New("qoder: skill bundle: SKILL.md is empty")
		}
		md := b.markdown
		return func(w io.Writer) error {
			return writeZip(w, []string{skillFile}, func(string) (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(md)), nil
			})
		}, nil
	}
	return nil, errors.New("qoder: a skill bundle is required: use SkillFromFS, SkillFromZip or SkillFromMarkdown")
}

// fsSource walks fsys, checks what it holds and returns a source that zips
// it.
func fsSource(fsys fs.FS) (zipWriter, error) {
	if fsys == nil {
		return nil, errors.New("qoder: skill bundle: the file system is nil")
	}
	var files []string
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s is not a regular file (%s)", name, d.Type())
		}
		files = append(files, name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("qoder: skill bundle: %w", err)
	}
	if err := checkSkillPaths(files); err != nil {
		return nil, err
	}
	return func(w io.Writer) error {
		return writeZip(w, files, func(name string) (io.ReadCloser, error) { return fsys.Open(name) })
	}, nil
}

// zipSource checks the entries of a zip and returns a source that sends it
// as it is.
func zipSource(r io.Reader) (zipWriter, error) {
	if r == nil {
		return nil, errors.New("qoder: skill bundle: the zip reader is nil")
	}
	ra, isReaderAt := r.(io.ReaderAt)
	seeker, isSeeker := r.(io.Seeker)
	if !isReaderAt || !isSeeker {
		data, err := io.ReadAll(io.LimitReader(r, maxSkillZip+1))
		if err != nil {
			return nil, fmt.Errorf("qoder: skill bundle: reading the zip: %w", err)
		}
		if len(data) > maxSkillZip {
			return nil, fmt.Errorf("qoder: skill bundle: the zip is larger than %d bytes", maxSkillZip)
		}
		br := bytes.NewReader(data)
		ra, seeker = br, br
	}
	size, err := seeker.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("qoder: skill bundle: measuring the zip: %w", err)
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, fmt.Errorf("qoder: skill bundle: not a zip archive: %w", err)
	}
	var files []string
	for _, f := range zr.File {
		name := strings.ReplaceAll(f.Name, `\`, "/") // the API normalises both separators
		if strings.HasSuffix(name, "/") && f.Mode().IsDir() {
			name = strings.TrimSuffix(name, "/")
			if err := checkZipPath(f.Name, name); err != nil {
				return nil, err
			}
			continue
		}
		if err := checkZipPath(f.Name, name); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	if err := checkSkillPaths(files); err != nil {
		return nil, err
	}
	return func(w io.Writer) error {
		_, err := io.Copy(w, sourceReader{name: "skill.zip", r: io.NewSectionReader(ra, 0, size)})
		return err
	}, nil
}

// checkZipPath refuses a zip entry whose path is absolute or leaves the
// archive's root.
func checkZipPath(raw, name string) error {
	if strings.HasPrefix(name, "/") || len(name) > 1 && name[1] == ':' {
		return fmt.Errorf("qoder: skill bundle: the zip entry %q has an absolute path", raw)
	}
	if !fs.ValidPath(name) {
		return fmt.Errorf("qoder: skill bundle: the zip entry %q is not a clean relative path (no \"..\", \".\" or empty element)", raw)
	}
	return nil
}

// checkSkillPaths checks the files of a bundle: there is a SKILL.md at the
// root or one directory below, and when it is below, every file shares its
// directory.
func checkSkillPaths(files []string) error {
	if len(files) == 0 {
		return errors.New("qoder: skill bundle: it holds no files")
	}
	if slices.Contains(files, skillFile) {
		return nil
	}
	var dirs []string
	for _, f := range files {
		if dir, base := path.Split(f); base == skillFile && strings.Count(dir, "/") == 1 {
			dirs = append(dirs, dir)
		}
	}
	switch len(dirs) {
	case 0:
		hint := ""
		for _, f := range files {
			if path.Base(f) == skillFile || strings.EqualFold(path.Base(f), skillFile) {
				hint = fmt.Sprintf(" (found %s)", f)
				break
			}
		}
		return fmt.Errorf("qoder: skill bundle: no SKILL.md at its root or one directory below%s", hint)
	case 1:
	default:
		return fmt.Errorf("qoder: skill bundle: SKILL.md is in %d directories (%s); a bundle holds one skill", len(dirs), strings.Join(dirs, ", "))
	}
	for _, f := range files {
		if !strings.HasPrefix(f, dirs[0]) {
			return fmt.Errorf("qoder: skill bundle: SKILL.md is in %s, so every file must be under it (found %s)", dirs[0], f)
		}
	}
	return nil
}

// writeZip writes a zip of files, each read from open, into w. Entries
// carry no time, so that the same files make the same bytes on every
// attempt. Errors reading a file come back as *sourceError.
func writeZip(w io.Writer, files []string, open func(name string) (io.ReadCloser, error)) error {
	zw := zip.NewWriter(w)
	for _, name := range files {
		if err := addToZip(zw, name, open); err != nil {
			return err
		}
	}
	return zw.Close()
}

// addToZip copies one file into the zip.
func addToZip(zw *zip.Writer, name string, open func(name string) (io.ReadCloser, error)) error {
	src, err := open(name)
	if err != nil {
		return &sourceError{name: name, err: err}
	}
	defer src.Close()
	dst, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, sourceReader{name: name, r: src})
	return err
}

// skillForm returns the multipart body of a skill upload: the bundle as the
// zip part "file", then the fields that fields writes.
func skillForm(bundle SkillBundle, fields func(w *multipart.Writer) error) (*formBody, error) {
	writeBundle, err := bundle.source()
	if err != nil {
		return nil, err
	}
	form := newFormBody(func(w *multipart.Writer) error {
		part, err := createFormFile(w, "file", "skill.zip", "application/zip")
		if err != nil {
			return err
		}
		if err := writeBundle(part); err != nil {
			return err
		}
		return fields(w)
	})
	form.rewind = func() error { return nil } // every bundle is written anew
	return form, nil
}
