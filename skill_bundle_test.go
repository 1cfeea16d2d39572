package qoder

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const skillMD = "---\nname: greeting\ndescription: Greets people.\n---\n\nSay hello.\n"

// zipOf returns a zip archive holding files, in the order given.
func zipOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range files {
		w, err := zw.Create(name)
		require.NoError(t, err)
		if !strings.HasSuffix(name, "/") {
			_, err = io.WriteString(w, "content of "+name)
			require.NoError(t, err)
		}
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// unzip returns the entries of a zip archive, name to content.
func unzip(t *testing.T, data []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		out[f.Name] = string(b)
	}
	return out
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestSkillBundleChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		bundle  SkillBundle
		wantErr string
		want    map[string]string
	}{
		{
			name:   "SKILL.md at the root",
			bundle: SkillFromFS(fstest.MapFS{"SKILL.md": file(skillMD), "scripts/run.sh": file("echo hi")}),
			want:   map[string]string{"SKILL.md": skillMD, "scripts/run.sh": "echo hi"},
		},
		{
			name:   "one directory below",
			bundle: SkillFromFS(fstest.MapFS{"greeting/SKILL.md": file(skillMD), "greeting/ref/a.md": file("a")}),
			want:   map[string]string{"greeting/SKILL.md": skillMD, "greeting/ref/a.md": "a"},
		},
		{
			name:    "two directories below",
			bundle:  SkillFromFS(fstest.MapFS{"a/b/SKILL.md": file(skillMD)}),
			wantErr: "qoder: skill bundle: no SKILL.md at its root or one directory below (found a/b/SKILL.md)",
		},
		{
			name:    "no SKILL.md",
			bundle:  SkillFromFS(fstest.MapFS{"README.md": file("x")}),
			wantErr: "qoder: skill bundle: no SKILL.md at its root or one directory below",
		},
		{
			name:    "wrong case",
			bundle:  SkillFromFS(fstest.MapFS{"skill.md": file("x")}),
			wantErr: "(found skill.md)",
		},
		{
			name:    "empty directory",
			bundle:  SkillFromFS(fstest.MapFS{"empty": &fstest.MapFile{Mode: fs.ModeDir}}),
			wantErr: "qoder: skill bundle: it holds no files",
		},
		{
			name:    "two skills",
			bundle:  SkillFromFS(fstest.MapFS{"a/SKILL.md": file(skillMD), "b/SKILL.md": file(skillMD)}),
			wantErr: "SKILL.md is in 2 directories (a/, b/)",
		},
		{
			name:    "a file outside the skill's directory",
			bundle:  SkillFromFS(fstest.MapFS{"a/SKILL.md": file(skillMD), "notes.txt": file("x")}),
			wantErr: "SKILL.md is in a/, so every file must be under it (found notes.txt)",
		},
		{
			name:    "a symbolic link",
			bundle:  SkillFromFS(fstest.MapFS{"SKILL.md": file(skillMD), "secret": &fstest.MapFile{Data: []byte("/etc/passwd"), Mode: fs.ModeSymlink}}),
			wantErr: "secret is not a regular file",
		},
		{name: "nil file system", bundle: SkillFromFS(nil), wantErr: "the file system is nil"},
		{
			name:   "a zip",
			bundle: SkillFromZip(bytes.NewReader(zipOf(t, "greeting/", "greeting/SKILL.md", "greeting/x.txt"))),
			want:   map[string]string{"greeting/": "", "greeting/SKILL.md": "content of greeting/SKILL.md", "greeting/x.txt": "content of greeting/x.txt"},
		},
		{
			name:   "a zip from a plain reader",
			bundle: SkillFromZip(onlyReader{bytes.NewReader(zipOf(t, "SKILL.md"))}),
			want:   map[string]string{"SKILL.md": "content of SKILL.md"},
		},
		{
			name:   "backslashes are separators",
			bundle: SkillFromZip(bytes.NewReader(zipOf(t, `greeting\SKILL.md`))),
			want:   map[string]string{`greeting\SKILL.md`: `content of greeting\SKILL.md`},
		},
		{
			name:    "a zip entry escaping the root",
			bundle:  SkillFromZip(bytes.NewReader(zipOf(t, "SKILL.md", "../evil.sh"))),
			wantErr: `the zip entry "../evil.sh" is not a clean relative path`,
		},
		{
			name:    "a zip entry with an absolute path",
			bundle:  SkillFromZip(bytes.NewReader(zipOf(t, "SKILL.md", "/etc/cron.d/x"))),
			wantErr: `the zip entry "/etc/cron.d/x" has an absolute path`,
		},
		{
			name:    "a zip entry with a drive",
			bundle:  SkillFromZip(bytes.NewReader(zipOf(t, "SKILL.md", `C:\x`))),
			wantErr: `has an absolute path`,
		},
		{
			name:    "a zip without SKILL.md",
			bundle:  SkillFromZip(bytes.NewReader(zipOf(t, "a/b/SKILL.md"))),
			wantErr: "no SKILL.md at its root or one directory below (found a/b/SKILL.md)",
		},
		{name: "not a zip", bundle: SkillFromZip(strings.NewReader("PK? no")), wantErr: "qoder: skill bundle: not a zip archive"},
		{name: "nil zip", bundle: SkillFromZip(nil), wantErr: "the zip reader is nil"},
		{name: "markdown", bundle: SkillFromMarkdown(skillMD), want: map[string]string{"SKILL.md": skillMD}},
		{name: "empty markdown", bundle: SkillFromMarkdown(" \n"), wantErr: "qoder: skill bundle: SKILL.md is empty"},
		{name: "no bundle", bundle: SkillBundle{}, wantErr: "qoder: a skill bundle is required: use SkillFromFS, SkillFromZip or SkillFromMarkdown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			write, err := tt.bundle.source()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			var first, second bytes.Buffer
			require.NoError(t, write(&first))
			require.NoError(t, write(&second))
			assert.Equal(t, first.Bytes(), second.Bytes(), "every attempt writes the same bytes")
			assert.Equal(t, tt.want, unzip(t, first.Bytes()))
		})
	}
}

func TestSkillBundleTooLarge(t *testing.T) {
	t.Parallel()
	_, err := SkillFromZip(onlyReader{io.LimitReader(zeroReader{}, maxSkillZip+1)}).source()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the zip is larger than 52428800 bytes")
}

// zeroReader reads zeros forever.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestSkillBundleUnreadableFile(t *testing.T) {
	t.Parallel()
	write, err := SkillFromFS(brokenFS{fstest.MapFS{"SKILL.md": file(skillMD), "data.bin": file("x")}}).source()
	require.NoError(t, err)
	err = write(io.Discard)
	require.Error(t, err)
	assert.EqualError(t, err, `reading the content of "data.bin": open data.bin: permission denied`)
}

// brokenFS cannot open data.bin.
type brokenFS struct{ fstest.MapFS }

func (b brokenFS) Open(name string) (fs.File, error) {
	if name == "data.bin" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return b.MapFS.Open(name)
}
