package qoder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"mime/multipart"
	"net/http"
	"time"
)

// SkillsService manages custom skills: packages of instructions and files
// (a SKILL.md with YAML front matter, and what it refers to) that agents
// bind through [AgentCreateParams].Skills with a [SkillBinding] of type
// custom. Every upload of a skill's content makes a new version; agents use
// the latest unless the binding pins one.
//
// See https://docs.qoder.com/cloud-agents/skills.
type SkillsService struct {
	service

	// Versions manages the versions of a skill.
	Versions *SkillVersionsService
}

// Create uploads a skill as multipart/form-data: its bundle as the zip part
// "file" (built while it is sent, never held whole in memory), with
// display_title and metadata when set. The bundle is checked before
// anything is sent. Its name and description come from the front matter of
// SKILL.md; uploading a skill whose name exists already may add a version
// to it.
//
// API: POST /skills
func (s *SkillsService) Create(ctx context.Context, params *SkillCreateParams, opts ...RequestOption) (*Skill, error) {
	if params == nil {
		return nil, errors.New("qoder: skill create params are required")
	}
	title, meta := params.DisplayTitle, params.Metadata
	form, err := skillForm(params.Bundle, func(w *multipart.Writer) error {
		if title != "" {
			if err := w.WriteField("display_title", title); err != nil {
				return err
			}
		}
		if meta != nil {
			return writeFormJSON(w, "metadata", meta)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return invoke[Skill](ctx, s.client, http.MethodPost, literalPath("skills"), nil, form, opts)
}

// Get retrieves a skill.
//
// API: GET /skills/{skill_id}
func (s *SkillsService) Get(ctx context.Context, skillID string, opts ...RequestOption) (*Skill, error) {
	path, err := s.client.path("skills/{skill_id}", skillID)
	if err != nil {
		return nil, err
	}
	return invoke[Skill](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// List returns one page of skills. nil params means defaults.
//
// API: GET /skills
func (s *SkillsService) List(ctx context.Context, params *SkillListParams, opts ...RequestOption) (*Page[Skill], error) {
	return invoke[Page[Skill]](ctx, s.client, http.MethodGet, literalPath("skills"), params, nil, opts)
}

// All iterates over every skill matching params, fetching pages as the
// loop needs them. params is not modified.
//
// API: GET /skills
func (s *SkillsService) All(ctx context.Context, params *SkillListParams, opts ...RequestOption) iter.Seq2[Skill, error] {
	return listAll(ctx, params, func(ctx context.Context, p *SkillListParams) (*Page[Skill], error) {
		return s.List(ctx, p, opts...)
	})
}

// Delete deletes a skill and all its versions at once; there is no
// archive. Agents that bind it are not updated: change their skills
// yourself.
//
// API: DELETE /skills/{skill_id}
func (s *SkillsService) Delete(ctx context.Context, skillID string, opts ...RequestOption) (*DeletedSkill, error) {
	return deleteAt[DeletedSkill](ctx, s.client, opts, "skills/{skill_id}", skillID)
}

// Skill is a custom or platform skill. It decodes every documented shape:
// the current one (display_title, source, latest_version as a string) and
// the older one (name, description, skill_type, status and an integer
// version).
type Skill struct {
	resourceJSON

	// ID is the skill's id, "skill_…".
	ID string `json:"id"`
	// Type is always "skill".
	Type string `json:"type"`
	// DisplayTitle is the title shown for the skill; by default the
	// front matter's name.
	DisplayTitle string `json:"display_title"`
	// Source is "custom" for uploaded skills and "qoder" for platform ones.
	Source string `json:"source"`
	// LatestVersion is the newest version, which agents use unless they
	// pin one. The API sends a string such as "1759178010641129"; an
	// integer version of the older shape ("version": 3) reads "3".
	LatestVersion string `json:"latest_version"`
	// Metadata holds string pairs of your own.
	Metadata map[string]string `json:"metadata"`
	// CreatedAt is when the skill was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the skill last changed.
	UpdatedAt time.Time `json:"updated_at"`

	// Name and Description come from SKILL.md's front matter; the current
	// API shows them on versions ([SkillVersion]).
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// SkillType ("custom" or "prebuilt"), Status ("active"), ContentSize
	// and ContentSHA256 (of the zip) are sent by the older API only.
	SkillType     string `json:"skill_type,omitempty"`
	Status        string `json:"status,omitempty"`
	ContentSize   int64  `json:"content_size,omitempty"`
	ContentSHA256 string `json:"content_sha256,omitempty"`
}

// UnmarshalJSON decodes a skill in any documented shape.
func (s *Skill) UnmarshalJSON(data []byte) error {
	type plain Skill
	var aux struct {
		plain
		LatestVersion flexString `json:"latest_version"`
		Version       flexString `json:"version"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*s = Skill(aux.plain)
	s.LatestVersion = string(aux.LatestVersion)
	if s.LatestVersion == "" {
		s.LatestVersion = string(aux.Version)
	}
	return nil
}

// DeletedSkill is the answer to [SkillsService.Delete].
type DeletedSkill struct {
	resourceJSON

	// ID is the deleted skill's id.
	ID string `json:"id"`
	// Type is "skill_deleted".
	Type string `json:"type"`
}

// SkillCreateParams describe the skill [SkillsService.Create] uploads.
type SkillCreateParams struct {
	// Bundle is the skill's content (required): see [SkillFromFS],
	// [SkillFromZip] and [SkillFromMarkdown].
	Bundle SkillBundle
	// DisplayTitle is the title shown for the skill (up to 255
	// characters); by default the front matter's name.
	DisplayTitle string
	// Metadata holds string pairs of your own, sent as a JSON object.
	Metadata map[string]string
}

// SkillListParams filter and page [SkillsService.List].
type SkillListParams struct {
	// Limit is the page size (1–1000, default 20).
	Limit int `url:"limit,omitempty"`
	// AfterID returns the page after this skill id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the page before this skill id.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// Source keeps the skills of one source: "custom" or "qoder".
	Source string `url:"source,omitempty"`
	// Name keeps the skills with this name.
	Name string `url:"name,omitempty"`
	// DisplayTitle keeps the skills with this display title.
	DisplayTitle string `url:"display_title,omitempty"`
}

// flexString decodes a JSON string or number as a string (null as ""):
// skill versions were integers, then strings.
type flexString string

// UnmarshalJSON decodes a string, a number or null.
func (f *flexString) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch jsonKind(data) {
	case 'n':
		*f = ""
		return nil
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(data, &n); err != nil {
		return fmt.Errorf("a version must be a string or a number: %w", err)
	}
	*f = flexString(n)
	return nil
}
