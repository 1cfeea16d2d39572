package qoder

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"time"
)

// VaultsService manages vaults: named sets of credentials that sessions
// and deployments attach through their vault_ids, so that the agent's MCP
// servers and environment variables get their secrets at run time without
// the secrets ever appearing in an agent or a session.
//
// See https://docs.qoder.com/cloud-agents/vaults.
type VaultsService struct {
	service

	// Credentials manages the credentials of a vault.
	Credentials *VaultCredentialsService
}

// Create creates a vault with no credentials; add them with
// [VaultCredentialsService.Create].
//
// API: POST /vaults
func (s *VaultsService) Create(ctx context.Context, params *VaultCreateParams, opts ...RequestOption) (*Vault, error) {
	if params == nil {
		return nil, errInvalidParams("vault create params are required")
	}
	if params.DisplayName == "" {
		return nil, errInvalidParams("a vault's display name is required")
	}
	return invoke[Vault](ctx, s.client, http.MethodPost, literalPath("vaults"), nil, params, opts)
}

// Get retrieves a vault.
//
// API: GET /vaults/{vault_id}
func (s *VaultsService) Get(ctx context.Context, vaultID string, opts ...RequestOption) (*Vault, error) {
	path, err := s.client.path("vaults/{vault_id}", vaultID)
	if err != nil {
		return nil, err
	}
	return invoke[Vault](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// List returns one page of vaults. Archived vaults are left out unless
// params.IncludeArchived is set. nil params means defaults.
//
// API: GET /vaults
func (s *VaultsService) List(ctx context.Context, params *VaultListParams, opts ...RequestOption) (*Page[Vault], error) {
	return invoke[Page[Vault]](ctx, s.client, http.MethodGet, literalPath("vaults"), params, nil, opts)
}

// All iterates over every vault matching params, fetching pages as the
// loop needs them. params is not modified.
//
// API: GET /vaults
func (s *VaultsService) All(ctx context.Context, params *VaultListParams, opts ...RequestOption) iter.Seq2[Vault, error] {
	return listAll(ctx, params, func(ctx context.Context, p *VaultListParams) (*Page[Vault], error) {
		return s.List(ctx, p, opts...)
	})
}

// Delete deletes a vault and its credentials.
//
// API: DELETE /vaults/{vault_id}
func (s *VaultsService) Delete(ctx context.Context, vaultID string, opts ...RequestOption) (*DeletedVault, error) {
	return deleteAt[DeletedVault](ctx, s.client, opts, "vaults/{vault_id}", vaultID)
}

// Archive archives a vault and returns it with ArchivedAt set. Sessions
// and deployments can no longer attach it.
//
// API: POST /vaults/{vault_id}/archive
func (s *VaultsService) Archive(ctx context.Context, vaultID string, opts ...RequestOption) (*Vault, error) {
	path, err := s.client.path("vaults/{vault_id}/archive", vaultID)
	if err != nil {
		return nil, err
	}
	return invoke[Vault](ctx, s.client, http.MethodPost, path, nil, nil, opts)
}

// Vault is a named set of credentials. It never holds a secret.
type Vault struct {
	resourceJSON

	// ID is the vault's id, "vault_…".
	ID string `json:"id"`
	// Type is always "vault".
	Type string `json:"type"`
	// DisplayName is the vault's name (1–255 characters).
	DisplayName string `json:"display_name"`
	// Metadata holds string pairs of your own.
	Metadata map[string]string `json:"metadata"`
	// Credentials are the vault's credentials, without their secrets, when
	// the response lists them: an empty list on create, and the
	// credentials given inline (in the flat shape, see [Credential]) in
	// responses of older API versions, whose vaults were created with
	// them. Get and List leave them out: use [VaultCredentialsService.List].
	Credentials []Credential `json:"credentials,omitzero"`
	// ArchivedAt is when the vault was archived; zero if it is not.
	ArchivedAt time.Time `json:"archived_at,omitzero"`
	// CreatedAt is when the vault was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the vault last changed.
	UpdatedAt time.Time `json:"updated_at"`

	// Status is "active" or "archived" in responses of older API versions.
	Status string `json:"status,omitempty"`
}

// UnmarshalJSON decodes a vault, in the current shape or the legacy one
// whose credentials are listed inline in the flat shape; an inline
// credential that does not name its vault gets the vault's id.
func (v *Vault) UnmarshalJSON(data []byte) error {
	type plain Vault
	if err := json.Unmarshal(data, (*plain)(v)); err != nil {
		return err
	}
	for i := range v.Credentials {
		if v.Credentials[i].VaultID == "" {
			v.Credentials[i].VaultID = v.ID
		}
	}
	return nil
}

// scrubRaw replaces any secret a server echoed in the vault's JSON, such
// as the access_token of a legacy inline credential.
func (v *Vault) scrubRaw(data []byte) []byte { return redactEchoedSecrets(data) }

// DeletedVault is the answer to [VaultsService.Delete].
type DeletedVault struct {
	resourceJSON

	// ID is the deleted vault's id.
	ID string `json:"id"`
	// Type is "vault_deleted"; empty when the API answered with no body.
	Type string `json:"type"`
}

// VaultCreateParams are the fields of a new vault.
type VaultCreateParams struct {
	// DisplayName is required (1–255 characters).
	DisplayName string `json:"display_name"`
	// Metadata holds string pairs of your own.
	Metadata map[string]string `json:"metadata,omitzero"`
}

// VaultListParams filter and page [VaultsService.List].
type VaultListParams struct {
	// Limit is the page size (default 20, at most 100).
	Limit int `url:"limit,omitempty"`
	// AfterID returns the page after this vault id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the page before this vault id.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// IncludeArchived includes archived vaults.
	IncludeArchived bool `url:"include_archived,omitempty"`
	// Name keeps the vaults with this display name.
	Name string `url:"name,omitempty"`
}
