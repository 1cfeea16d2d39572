package qoder

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"mime/multipart"
	"net/http"
	"time"
)

// SkillVersionsService manages the versions of a skill. A version is named
// by its version string, such as "1759178010641129" (older API versions
// used small integers, which work as "3").
type SkillVersionsService service

// Create uploads a new version of a skill, which becomes its latest. The
// bundle is sent and checked as for [SkillsService.Create]; its front
// matter must keep the skill's name.
//
// API: POST /skills/{skill_id}/versions
func (s *SkillVersionsService) Create(ctx context.Context, skillID string, params *SkillVersionCreateParams, opts ...RequestOption) (*SkillVersion, error) {
	path, err := s.client.path("skills/{skill_id}/versions", skillID)
	if err != nil {
		return nil, err
	}
	if params == nil {
		return nil, errors.New("qoder: skill version create params are required")
	}
	form, err := skillForm(params.Bundle, func(*multipart.Writer) error { return nil })
	if err != nil {
		return nil, err
	}
	return invoke[SkillVersion](ctx, s.client, http.MethodPost, path, nil, form, opts)
}

// Get retrieves one version of a skill.
//
// API: GET /skills/{skill_id}/versions/{version}
func (s *SkillVersionsService) Get(ctx context.Context, skillID, version string, opts ...RequestOption) (*SkillVersion, error) {
	path, err := s.client.path("skills/{skill_id}/versions/{version}", skillID, version)
	if err != nil {
		return nil, err
	}
	return invoke[SkillVersion](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// List returns one page of a skill's versions, newest first. nil params
// means defaults.
//
// API: GET /skills/{skill_id}/versions
func (s *SkillVersionsService) List(ctx context.Context, skillID string, params *SkillVersionListParams, opts ...RequestOption) (*Page[SkillVersion], error) {
	path, err := s.client.path("skills/{skill_id}/versions", skillID)
	if err != nil {
		return nil, err
	}
	return invoke[Page[SkillVersion]](ctx, s.client, http.MethodGet, path, params, nil, opts)
}

// All iterates over every version of a skill, fetching pages as the loop
// needs them. params is not modified.
//
// API: GET /skills/{skill_id}/versions
func (s *SkillVersionsService) All(ctx context.Context, skillID string, params *SkillVersionListParams, opts ...RequestOption) iter.Seq2[SkillVersion, error] {
	return listAll(ctx, params, func(ctx context.Context, p *SkillVersionListParams) (*Page[SkillVersion], error) {
		return s.List(ctx, skillID, p, opts...)
	})
}

// Delete deletes one version of a skill. The answer's ID is the version.
//
// API: DELETE /skills/{skill_id}/versions/{version}
func (s *SkillVersionsService) Delete(ctx context.Context, skillID, version string, opts ...RequestOption) (*DeletedSkillVersion, error) {
	return deleteAt[DeletedSkillVersion](ctx, s.client, opts, "skills/{skill_id}/versions/{version}", skillID, version)
}

// Download returns the zip of a skill version; close it when done. Should
// the API answer with a presigned URL instead (as file downloads do), it is
// fetched without the client's token and headers.
//
// API: GET /skills/{skill_id}/versions/{version}/content
func (s *SkillVersionsService) Download(ctx context.Context, skillID, version string, opts ...RequestOption) (io.ReadCloser, error) {
	path, err := s.client.path("skills/{skill_id}/versions/{version}/content", skillID, version)
	if err != nil {
		return nil, err
	}
	body, link, err := s.client.openContent(ctx, path, "application/zip, application/octet-stream;q=0.9, */*;q=0.8", opts)
	if err != nil || body != nil {
		return body, err
	}
	return s.client.fetchPresigned(ctx, link, opts)
}

// SkillVersion is one version of a skill.
type SkillVersion struct {
	resourceJSON

	// ID is the version's id, "skillver_…".
	ID string `json:"id"`
	// Type is always "skill_version".
	Type string `json:"type"`
	// SkillID is the skill the version belongs to.
	SkillID string `json:"skill_id"`
	// Version names the version in paths and bindings, such as
	// "1759178010641129"; an integer version of older API versions reads
	// as its digits.
	Version string `json:"version"`
	// Name is the skill's slug from SKILL.md's front matter; it is also
	// the top-level directory of the skill's files.
	Name string `json:"name"`
	// Description comes from SKILL.md's front matter.
	Description string `json:"description"`
	// Directory is the top-level directory of the uploaded files.
	Directory string `json:"directory"`
	// CreatedAt is when the version was uploaded.
	CreatedAt time.Time `json:"created_at"`
}

// UnmarshalJSON decodes a version whose version is a string or an integer.
func (v *SkillVersion) UnmarshalJSON(data []byte) error {
	type plain SkillVersion
	var aux struct {
		plain
		Version flexString `json:"version"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*v = SkillVersion(aux.plain)
	v.Version = string(aux.Version)
	return nil
}

// DeletedSkillVersion is the answer to [SkillVersionsService.Delete].
type DeletedSkillVersion struct {
	resourceJSON

	// ID is the deleted version (its version string, not its "skillver_"
	// id).
	ID string `json:"id"`
	// Type is "skill_version_deleted".
	Type string `json:"type"`
}

// SkillVersionCreateParams describe the version
// [SkillVersionsService.Create] uploads.
type SkillVersionCreateParams struct {
	// Bundle is the version's content (required): see [SkillFromFS],
	// [SkillFromZip] and [SkillFromMarkdown].
	Bundle SkillBundle
}

// SkillVersionListParams page [SkillVersionsService.List].
type SkillVersionListParams struct {
	// Limit is the page size (1–1000, default 20).
	Limit int `url:"limit,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
}
