package qodertest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// storedSkill is an uploaded skill with its versions.
type storedSkill struct {
	id           string
	seq          int64
	name         string // the slug of the first upload's front matter
	displayTitle string
	metadata     map[string]string
	versions     []*skillVersion // oldest first
	createdAt    time.Time
	updatedAt    time.Time
}

// skillVersion is one upload of a skill's content.
type skillVersion struct {
	id          string
	seq         int64
	version     string
	name        string
	description string
	directory   string
	zip         []byte
	createdAt   time.Time
}

type skillJSON struct {
	ID            string            `json:"id"`
	Type          string            `json:"type"`
	DisplayTitle  string            `json:"display_title"`
	Source        string            `json:"source"`
	LatestVersion string            `json:"latest_version"`
	Metadata      map[string]string `json:"metadata"`
	CreatedAt     string            `json:"created_at"`
	UpdatedAt     string            `json:"updated_at"`
}

type skillVersionJSON struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	SkillID     string `json:"skill_id"`
	Version     string `json:"version"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Directory   string `json:"directory"`
	CreatedAt   string `json:"created_at"`
}

func (sk *storedSkill) latest() *skillVersion { return sk.versions[len(sk.versions)-1] }

func (sk *storedSkill) wire() skillJSON {
	return skillJSON{
		ID: sk.id, Type: "skill", DisplayTitle: sk.displayTitle, Source: "custom",
		LatestVersion: sk.latest().version, Metadata: sk.metadata,
		CreatedAt: timestamp(sk.createdAt), UpdatedAt: timestamp(sk.updatedAt),
	}
}

func (v *skillVersion) wire(skillID string) skillVersionJSON {
	return skillVersionJSON{
		ID: v.id, Type: "skill_version", SkillID: skillID, Version: v.version, Name: v.name,
		Description: v.description, Directory: v.directory, CreatedAt: timestamp(v.createdAt),
	}
}

var (
	skillName = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

	versionClock struct {
		sync.Mutex
		last int64
	}
)

// newSkillVersionString returns a version string like the API's: the
// upload time in microseconds, strictly increasing.
func newSkillVersionString(now time.Time) string {
	versionClock.Lock()
	defer versionClock.Unlock()
	us := max(now.UnixMicro(), versionClock.last+1)
	versionClock.last = us
	return strconv.FormatInt(us, 10)
}

// skillUpload is the checked content of a skill upload.
type skillUpload struct {
	name, description, directory string
	zip                          []byte
	part                         *formFile // the part zip came from; nil when the fake zipped "files" parts
}

// readSkillUpload finds the bundle of an upload: the zip part "file", or
// the "files" parts of the official SDK (each named by its path), which
// the fake zips itself. It checks the bundle as the API documents.
func readSkillUpload(form *uploadForm) (*skillUpload, *apiError) {
	var zipped []byte
	var zipPart *formFile
	var parts []*formFile
	for _, f := range form.files {
		switch f.field {
		case "file":
			if zipped != nil {
				return nil, invalid("file", "Only one 'file' part may be sent.")
			}
			zipped, zipPart = f.content, f
			if zipped == nil {
				zipped = []byte{}
			}
		case "files":
			parts = append(parts, f)
		}
	}
	switch {
	case zipped == nil && len(parts) == 0:
		return nil, invalid("file", "Field 'file' is required.")
	case zipped == nil:
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, p := range parts {
			w, err := zw.Create(p.filename)
			if err != nil {
				return nil, invalid("files", "File name '%s' is not valid.", p.filename)
			}
			_, _ = w.Write(p.content)
		}
		_ = zw.Close()
		zipped = buf.Bytes()
	}
	up, e := checkSkillZip(zipped)
	if e == nil {
		up.part = zipPart
	}
	return up, e
}

// checkSkillZip checks a skill's zip: every path relative and inside, a
// SKILL.md at the root or one directory below, and front matter with a
// valid name.
func checkSkillZip(data []byte) (*skillUpload, *apiError) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, invalid("file", "Field 'file' must be a zip archive.")
	}
	var skillMD *zip.File
	dir := ""
	for _, f := range zr.File {
		name := strings.TrimSuffix(strings.ReplaceAll(f.Name, `\`, "/"), "/")
		if strings.HasPrefix(name, "/") || !fs.ValidPath(name) {
			return nil, invalid("file", "Archive entry '%s' must be a relative path inside the archive.", f.Name)
		}
		if d, base := path.Split(name); base == "SKILL.md" && strings.Count(d, "/") <= 1 {
			if skillMD != nil {
				return nil, invalid("file", "The archive holds more than one SKILL.md.")
			}
			skillMD, dir = f, strings.TrimSuffix(d, "/")
		}
	}
	if skillMD == nil {
		return nil, invalid("file", "SKILL.md must be at the root of the archive or one directory below.")
	}
	rc, err := skillMD.Open()
	if err != nil {
		return nil, invalid("file", "SKILL.md could not be read.")
	}
	text, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	_ = rc.Close()
	if err != nil {
		return nil, invalid("file", "SKILL.md could not be read.")
	}
	fm := frontMatter(string(text))
	name := fm["name"]
	if name == "" {
		name = dir
	}
	if !skillName.MatchString(name) {
		return nil, invalid("file", "SKILL.md front matter must give a name of lowercase letters, digits, '-' and '_' (at most 64).")
	}
	return &skillUpload{name: name, description: fm["description"], directory: dir, zip: data}, nil
}

// frontMatter reads the "key: value" lines of a YAML front matter block.
func frontMatter(text string) map[string]string {
	out := map[string]string{}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	rest, ok := strings.CutPrefix(text, "---\n")
	if !ok {
		return out
	}
	block, _, ok := strings.Cut(rest, "\n---")
	if !ok {
		return out
	}
	for line := range strings.SplitSeq(block, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && !strings.HasPrefix(line, " ") {
			out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return out
}

// readSkillFields reads display_title and metadata.
func readSkillFields(form *uploadForm) (title string, meta map[string]string, e *apiError) {
	title = form.fields["display_title"]
	if len([]rune(title)) > 255 {
		return "", nil, invalid("display_title", "Field 'display_title' must be at most 255 characters.")
	}
	meta = map[string]string{}
	if raw, ok := form.fields["metadata"]; ok {
		if err := json.Unmarshal([]byte(raw), &meta); err != nil || meta == nil {
			return "", nil, invalid("metadata", "Field 'metadata' must be a JSON object of strings.")
		}
	}
	return title, meta, nil
}

// newVersion records an upload as a version; s.mu must be held. Its zip
// counts against the storage cap: the part it came from is adopted, or a
// zip the fake made of "files" parts is added.
func (s *Server) newVersion(up *skillUpload, now time.Time) *skillVersion {
	if up.part != nil {
		up.part.adopted = true
	} else {
		s.stored += int64(len(up.zip))
	}
	v := &skillVersion{
		id: newID("skillver_"), version: newSkillVersionString(now), name: up.name,
		description: up.description, directory: up.directory, zip: up.zip, createdAt: now,
	}
	v.seq = s.nextSeq()
	return v
}

// createSkill serves POST /skills. A skill whose name exists gets a new
// version, as the guide documents for re-uploads.
func (s *Server) createSkill(c *call, form *uploadForm) (int, any) {
	up, e := readSkillUpload(form)
	if e != nil {
		return 0, e
	}
	title, meta, e := readSkillFields(form)
	if e != nil {
		return 0, e
	}
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sk := range s.skills {
		if sk.name == up.name {
			sk.versions = append(sk.versions, s.newVersion(up, now))
			sk.updatedAt = now
			return http.StatusCreated, sk.wire()
		}
	}
	if title == "" {
		title = up.name
	}
	sk := &storedSkill{id: newID("skill_"), name: up.name, displayTitle: title, metadata: meta, createdAt: now, updatedAt: now}
	sk.seq = s.register("skill", sk.id)
	sk.versions = []*skillVersion{s.newVersion(up, now)}
	s.skills[sk.id] = sk
	return http.StatusCreated, sk.wire()
}

// skillByID returns a skill; s.mu must be held.
func (s *Server) skillByID(id string) (*storedSkill, *apiError) {
	sk, ok := s.skills[id]
	if !ok {
		return nil, notFound("Skill '%s' was not found.", id)
	}
	return sk, nil
}

// versionOf returns a version of a skill; s.mu must be held.
func versionOf(sk *storedSkill, version string) (int, *apiError) {
	for i, v := range sk.versions {
		if v.version == version {
			return i, nil
		}
	}
	return 0, notFound("Skill '%s' has no version '%s'.", sk.id, version)
}

// listSkills serves GET /skills: newest first, filtered by source, name
// and display_title.
func (s *Server) listSkills(c *call) (int, any) {
	q := cursorAliases(c.r.URL.Query())
	source, name, title := q.Get("source"), q.Get("name"), q.Get("display_title")
	if source != "" && source != "custom" && source != "qoder" {
		return 0, invalid("source", "source must be 'custom' or 'qoder'.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pq, e := parsePage(q, 1000, "skills", s.resourceResolver("skill"))
	if e != nil {
		return 0, e
	}
	var entries []entry
	for _, sk := range s.skills {
		if source == "qoder" || name != "" && sk.name != name || title != "" && sk.displayTitle != title {
			continue
		}
		entries = append(entries, entry{seq: sk.seq, id: sk.id, value: sk.wire()})
	}
	sortEntries(entries, true)
	return http.StatusOK, paginate(entries, true, pq, "skills")
}

// getSkill serves GET /skills/{id}.
func (s *Server) getSkill(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, e := s.skillByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	return http.StatusOK, sk.wire()
}

// deleteSkill serves DELETE /skills/{id}: the skill and every version go.
func (s *Server) deleteSkill(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, e := s.skillByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	delete(s.skills, sk.id)
	for _, v := range sk.versions {
		s.stored -= int64(len(v.zip))
	}
	return http.StatusOK, map[string]string{"id": sk.id, "type": "skill_deleted"}
}

// createSkillVersion serves POST /skills/{id}/versions; the upload must
// keep the skill's name.
func (s *Server) createSkillVersion(c *call, form *uploadForm) (int, any) {
	up, e := readSkillUpload(form)
	if e != nil {
		return 0, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, e := s.skillByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	if up.name != sk.name {
		return 0, invalid("file", "SKILL.md names '%s', but this skill is '%s'.", up.name, sk.name)
	}
	now := s.Now()
	v := s.newVersion(up, now)
	sk.versions = append(sk.versions, v)
	sk.updatedAt = now
	return http.StatusCreated, v.wire(sk.id)
}

// listSkillVersions serves GET /skills/{id}/versions, newest first.
func (s *Server) listSkillVersions(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, e := s.skillByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	pq, e := parsePage(cursorAliases(c.r.URL.Query()), 1000, "skill_versions", func(param, id string) (int64, *apiError) {
		i, e := versionOf(sk, id)
		if e != nil {
			return 0, invalid(param, "%s '%s' is not a version of this skill.", param, id)
		}
		return sk.versions[i].seq, nil
	})
	if e != nil {
		return 0, e
	}
	entries := make([]entry, 0, len(sk.versions))
	for _, v := range sk.versions {
		entries = append(entries, entry{seq: v.seq, id: v.version, value: v.wire(sk.id)})
	}
	sortEntries(entries, true)
	return http.StatusOK, paginate(entries, true, pq, "skill_versions")
}

// getSkillVersion serves GET /skills/{id}/versions/{version}.
func (s *Server) getSkillVersion(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, e := s.skillByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	i, e := versionOf(sk, c.r.PathValue("version"))
	if e != nil {
		return 0, e
	}
	return http.StatusOK, sk.versions[i].wire(sk.id)
}

// deleteSkillVersion serves DELETE /skills/{id}/versions/{version}; the
// last version cannot go (delete the skill).
func (s *Server) deleteSkillVersion(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, e := s.skillByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	i, e := versionOf(sk, c.r.PathValue("version"))
	if e != nil {
		return 0, e
	}
	if len(sk.versions) == 1 {
		return 0, conflict("Version '%s' is the only version of skill '%s'; delete the skill instead.", sk.versions[i].version, sk.id)
	}
	v := sk.versions[i]
	sk.versions = append(sk.versions[:i], sk.versions[i+1:]...)
	s.stored -= int64(len(v.zip))
	return http.StatusOK, map[string]string{"id": v.version, "type": "skill_version_deleted"}
}

// skillVersionContent serves GET /skills/{id}/versions/{version}/content:
// the version's zip.
func (s *Server) skillVersionContent(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	s.mu.Lock()
	sk, e := s.skillByID(r.PathValue("id"))
	var zipped []byte
	var name string
	if e == nil {
		var i int
		if i, e = versionOf(sk, r.PathValue("version")); e == nil {
			zipped, name = sk.versions[i].zip, sk.name
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, ri.id, e)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+".zip"))
	w.Header().Set("Content-Length", strconv.Itoa(len(zipped)))
	_, _ = w.Write(zipped)
}
