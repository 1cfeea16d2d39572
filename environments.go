package qoder

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"time"
)

// EnvironmentsService manages environments: the container templates
// sessions run in (network policy, packages, setup script). New accounts
// have none, so create one before the first session.
//
// See https://docs.qoder.com/cloud-agents/environments.
type EnvironmentsService struct {
	service

	// Work is the work queue of self-hosted environments.
	Work *EnvironmentWorkService
}

// Create creates an environment. Packages and the setup script are
// installed when a session first provisions it, so that first turn is
// slower.
//
// API: POST /environments
func (s *EnvironmentsService) Create(ctx context.Context, params *EnvironmentCreateParams, opts ...RequestOption) (*Environment, error) {
	if params == nil {
		return nil, errInvalidParams("environment create params are required")
	}
	return invoke[Environment](ctx, s.client, http.MethodPost, literalPath("environments"), nil, params, opts)
}

// Get retrieves an environment.
//
// API: GET /environments/{environment_id}
func (s *EnvironmentsService) Get(ctx context.Context, environmentID string, opts ...RequestOption) (*Environment, error) {
	path, err := s.client.path("environments/{environment_id}", environmentID)
	if err != nil {
		return nil, err
	}
	return invoke[Environment](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// Update changes the fields of an environment that params sets and keeps
// the others.
//
// API: POST /environments/{environment_id}
func (s *EnvironmentsService) Update(ctx context.Context, environmentID string, params *EnvironmentUpdateParams, opts ...RequestOption) (*Environment, error) {
	path, err := s.client.path("environments/{environment_id}", environmentID)
	if err != nil {
		return nil, err
	}
	if params == nil {
		return nil, errInvalidParams("environment update params are required")
	}
	return invoke[Environment](ctx, s.client, http.MethodPost, path, nil, params, opts)
}

// List returns one page of environments. Archived environments are left
// out unless params.IncludeArchived is set. nil params means defaults.
//
// API: GET /environments
func (s *EnvironmentsService) List(ctx context.Context, params *EnvironmentListParams, opts ...RequestOption) (*Page[Environment], error) {
	return invoke[Page[Environment]](ctx, s.client, http.MethodGet, literalPath("environments"), params, nil, opts)
}

// All iterates over every environment matching params, fetching pages as
// the loop needs them. params is not modified.
//
// API: GET /environments
func (s *EnvironmentsService) All(ctx context.Context, params *EnvironmentListParams, opts ...RequestOption) iter.Seq2[Environment, error] {
	return listAll(ctx, params, func(ctx context.Context, p *EnvironmentListParams) (*Page[Environment], error) {
		return s.List(ctx, p, opts...)
	})
}

// Delete deletes an environment. It fails with ErrConflict while any
// session, even a deleted one, still refers to it; archive such
// environments instead.
//
// API: DELETE /environments/{environment_id}
func (s *EnvironmentsService) Delete(ctx context.Context, environmentID string, opts ...RequestOption) (*DeletedEnvironment, error) {
	return deleteAt[DeletedEnvironment](ctx, s.client, opts, "environments/{environment_id}", environmentID)
}

// Archive archives an environment and returns it with ArchivedAt set.
// Archived environments cannot host new sessions; running sessions are
// unaffected.
//
// API: POST /environments/{environment_id}/archive
func (s *EnvironmentsService) Archive(ctx context.Context, environmentID string, opts ...RequestOption) (*Environment, error) {
	path, err := s.client.path("environments/{environment_id}/archive", environmentID)
	if err != nil {
		return nil, err
	}
	return invoke[Environment](ctx, s.client, http.MethodPost, path, nil, nil, opts)
}

// Environment is a container template for sessions.
type Environment struct {
	resourceJSON

	// ID is the environment's id, "env_" and 32 hex digits.
	ID string `json:"id"`
	// Type is always "environment".
	Type string `json:"type"`
	// Name is the environment's name.
	Name string `json:"name"`
	// Description is a free-text description.
	Description string `json:"description"`
	// Config is the container configuration.
	Config EnvironmentConfig `json:"config"`
	// Metadata holds string pairs of your own.
	Metadata map[string]string `json:"metadata"`
	// Scope says who can see the environment; empty when not sent.
	Scope EnvironmentScope `json:"scope,omitempty"`
	// Archived is true once the environment is archived (not sent by every
	// deployment; ArchivedAt is authoritative).
	Archived bool `json:"archived,omitempty"`
	// ArchivedAt is when the environment was archived; zero if it is not.
	ArchivedAt time.Time `json:"archived_at,omitzero"`
	// CreatedAt is when the environment was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the environment was last changed.
	UpdatedAt time.Time `json:"updated_at"`

	// Status is "ready" or "archived" in responses of older API versions;
	// current environments have no status and are usable at once.
	Status string `json:"status,omitempty"`
}

// EnvironmentScope says who can see an environment.
type EnvironmentScope string

// Environment scopes.
const (
	// EnvironmentScopeOrganization shares the environment with every
	// account of the organization.
	EnvironmentScopeOrganization EnvironmentScope = "organization"
	// EnvironmentScopeAccount keeps the environment to its owner.
	EnvironmentScopeAccount EnvironmentScope = "account"
)

// EnvironmentConfig is an environment's container configuration, a union
// discriminated by Type: a cloud container, whose other fields apply, or a
// self-hosted worker, which takes no other field.
type EnvironmentConfig struct {
	// Type is EnvironmentConfigCloud or EnvironmentConfigSelfHosted.
	Type EnvironmentConfigType `json:"type"`
	// Networking is the outbound network policy. Set it explicitly: when
	// absent the server applies a limited policy without package managers
	// or MCP servers.
	Networking Networking `json:"networking,omitzero"`
	// Packages are installed when a session provisions the container.
	Packages Packages `json:"packages,omitzero"`
	// SetupScript runs with /bin/bash -lc after the packages install, on
	// every provision (make it idempotent); a non-zero exit aborts the
	// session start.
	SetupScript string `json:"setup_script,omitempty"`
}

// EnvironmentConfigType is the discriminator of an [EnvironmentConfig].
type EnvironmentConfigType string

// Environment config types.
const (
	// EnvironmentConfigCloud is a container Qoder hosts.
	EnvironmentConfigCloud EnvironmentConfigType = "cloud"
	// EnvironmentConfigSelfHosted is a worker you run. Such environments
	// support neither session resources nor session environment variables.
	EnvironmentConfigSelfHosted EnvironmentConfigType = "self_hosted"
)

// Networking is the outbound network policy of a cloud environment.
// Besides the object form it decodes the legacy string "unrestricted".
type Networking struct {
	// Type is NetworkingUnrestricted or NetworkingLimited. Responses of
	// older API versions may carry NetworkingAllowlist or
	// NetworkingAllowedHosts, which behave like NetworkingLimited.
	Type NetworkingType `json:"type"`
	// AllowedHosts are the hosts a limited environment may reach.
	AllowedHosts []string `json:"allowed_hosts,omitzero"`
	// AllowPackageManagers opens the package registries (limited only;
	// always sent with a limited policy, false included).
	AllowPackageManagers bool `json:"allow_package_managers,omitempty"`
	// AllowMCPServers opens the agent's MCP servers (limited only; always
	// sent with a limited policy, false included).
	AllowMCPServers bool `json:"allow_mcp_servers,omitempty"`
}

// NetworkingType is the discriminator of a [Networking] policy.
type NetworkingType string

// Networking policy types.
const (
	// NetworkingUnrestricted allows any outbound address.
	NetworkingUnrestricted NetworkingType = "unrestricted"
	// NetworkingLimited allows known-safe services plus what the policy
	// opens.
	NetworkingLimited NetworkingType = "limited"
	// NetworkingAllowlist is a legacy type with AllowedHosts, decoded only.
	NetworkingAllowlist NetworkingType = "allowlist"
	// NetworkingAllowedHosts is a legacy type with AllowedHosts, decoded
	// only.
	NetworkingAllowedHosts NetworkingType = "allowed_hosts"
)

// MarshalJSON encodes the policy. A limited policy always carries
// allow_package_managers and allow_mcp_servers, so that false is sent and
// not left to the server's default.
func (n Networking) MarshalJSON() ([]byte, error) {
	type plain Networking
	if n.Type != NetworkingLimited {
		return json.Marshal(plain(n))
	}
	return json.Marshal(struct {
		plain
		AllowPackageManagers bool `json:"allow_package_managers"`
		AllowMCPServers      bool `json:"allow_mcp_servers"`
	}{plain(n), n.AllowPackageManagers, n.AllowMCPServers})
}

// UnmarshalJSON decodes a networking object or the legacy string form.
func (n *Networking) UnmarshalJSON(data []byte) error {
	switch jsonKind(data) {
	case 'n':
		return nil
	case '"':
		*n = Networking{}
		return json.Unmarshal(data, &n.Type)
	}
	type plain Networking
	return json.Unmarshal(data, (*plain)(n))
}

// Packages lists the packages a cloud environment installs, per package
// manager; each entry is a package spec such as "typescript@5.0.0".
type Packages struct {
	// Type is "packages" in responses; requests leave it empty.
	Type  string   `json:"type,omitempty"`
	Apt   []string `json:"apt,omitzero"`
	Cargo []string `json:"cargo,omitzero"`
	Gem   []string `json:"gem,omitzero"`
	Go    []string `json:"go,omitzero"`
	Npm   []string `json:"npm,omitzero"`
	Pip   []string `json:"pip,omitzero"`
}

// DeletedEnvironment is the reply to [EnvironmentsService.Delete].
type DeletedEnvironment struct {
	resourceJSON

	// ID is the deleted environment's id.
	ID string `json:"id"`
	// Type names the reply's kind, such as "environment_deleted"; empty
	// when the API answered with no body.
	Type string `json:"type"`
}

// EnvironmentCreateParams are the fields of a new environment.
type EnvironmentCreateParams struct {
	// Name is required.
	Name string `json:"name"`
	// Description is a free-text description.
	Description string `json:"description,omitempty"`
	// Config is the container configuration; the zero value lets the
	// server apply its default cloud configuration.
	Config EnvironmentConfig `json:"config,omitzero"`
	// Metadata holds string pairs of your own.
	Metadata map[string]string `json:"metadata,omitzero"`
	// Scope says who can see the environment.
	Scope EnvironmentScope `json:"scope,omitempty"`
}

// EnvironmentUpdateParams change an environment. Fields left nil or zero
// are kept.
type EnvironmentUpdateParams struct {
	// Name renames the environment.
	Name *string `json:"name,omitempty"`
	// Description replaces the description: Set("") empties it and
	// Null[string]() sets it to null (the API tells the two apart).
	Description Nullable[string] `json:"description,omitzero"`
	// Config replaces the configuration (Type is then required); the zero
	// value keeps it.
	Config EnvironmentConfig `json:"config,omitzero"`
	// Metadata patches the metadata: a key with a value sets it, a key with
	// a nil value (or an empty string) deletes it, and absent keys are kept.
	Metadata map[string]*string `json:"metadata,omitzero"`
	// Scope changes who can see the environment.
	Scope EnvironmentScope `json:"scope,omitempty"`
}

// EnvironmentListParams filter and page [EnvironmentsService.List].
type EnvironmentListParams struct {
	// Limit is the page size (default 20, at most 100).
	Limit int `url:"limit,omitempty"`
	// AfterID returns the page after this environment id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the page before this environment id.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// IncludeArchived includes archived environments.
	IncludeArchived bool `url:"include_archived,omitempty"`
	// CreatedAtGte keeps environments created at or after this time.
	CreatedAtGte time.Time `url:"created_at[gte],omitempty"`
	// CreatedAtLte keeps environments created at or before this time.
	CreatedAtLte time.Time `url:"created_at[lte],omitempty"`
}
