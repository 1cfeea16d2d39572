package qoder

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"regexp"
	"slices"
	"time"
)

// VaultCredentialsService manages the credentials of a vault. A
// credential's secret (a token, an access token, a secret value, a client
// secret) is write-only: the API never returns it, and the SDK keeps it in
// a [Secret], which prints and logs as "[redacted]" and leaves the process
// only in the body of the request that sets it. An error a server answers
// to such a request reads "[redacted]" wherever it echoes one.
//
// See https://docs.qoder.com/cloud-agents/vaults.
type VaultCredentialsService service

// Create adds a credential to a vault. params.Auth is built with
// [NewStaticBearerAuth], [NewEnvironmentVariableAuth] or [NewMCPOAuthAuth];
// its required fields are checked before anything is sent. A static_bearer
// or mcp_oauth credential's MCP server URL must equal the url of the
// agent's MCP server it authenticates.
//
// API: POST /vaults/{vault_id}/credentials
func (s *VaultCredentialsService) Create(ctx context.Context, vaultID string, params *CredentialCreateParams, opts ...RequestOption) (*Credential, error) {
	path, err := s.client.path("vaults/{vault_id}/credentials", vaultID)
	if err != nil {
		return nil, err
	}
	if params == nil || params.Auth == nil {
		return nil, errNilAuth
	}
	auth, err := params.Auth.authWire()
	if err != nil {
		return nil, err
	}
	body := struct {
		Auth        any               `json:"auth"`
		DisplayName string            `json:"display_name,omitempty"`
		Metadata    map[string]string `json:"metadata,omitzero"`
	}{auth.body, params.DisplayName, params.Metadata}
	out, err := invoke[Credential](ctx, s.client, http.MethodPost, path, nil, body, opts)
	return out, auth.redact(err)
}

// Get retrieves a credential, without its secret.
//
// API: GET /vaults/{vault_id}/credentials/{credential_id}
func (s *VaultCredentialsService) Get(ctx context.Context, vaultID, credentialID string, opts ...RequestOption) (*Credential, error) {
	path, err := s.client.path("vaults/{vault_id}/credentials/{credential_id}", vaultID, credentialID)
	if err != nil {
		return nil, err
	}
	return invoke[Credential](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// Update rotates a credential's secret or changes the fields its kind
// allows: params.Auth, when set, is a [StaticBearerAuthUpdate],
// [EnvironmentVariableAuthUpdate] or [MCPOAuthAuthUpdate] of the
// credential's kind, and sends only what that kind accepts. The display
// name and the MCP server URL cannot change.
//
// API: POST /vaults/{vault_id}/credentials/{credential_id}
func (s *VaultCredentialsService) Update(ctx context.Context, vaultID, credentialID string, params *CredentialUpdateParams, opts ...RequestOption) (*Credential, error) {
	path, err := s.client.path("vaults/{vault_id}/credentials/{credential_id}", vaultID, credentialID)
	if err != nil {
		return nil, err
	}
	if params == nil {
		return nil, errInvalidParams("credential update params are required")
	}
	var auth authWire
	if params.Auth != nil {
		if auth, err = params.Auth.authUpdateWire(); err != nil {
			return nil, err
		}
	}
	body := struct {
		Auth     any                `json:"auth,omitempty"`
		Metadata map[string]*string `json:"metadata,omitzero"`
	}{auth.body, params.Metadata}
	out, err := invoke[Credential](ctx, s.client, http.MethodPost, path, nil, body, opts)
	return out, auth.redact(err)
}

// List returns one page of a vault's credentials, without their secrets.
// nil params means defaults.
//
// API: GET /vaults/{vault_id}/credentials
func (s *VaultCredentialsService) List(ctx context.Context, vaultID string, params *CredentialListParams, opts ...RequestOption) (*Page[Credential], error) {
	path, err := s.client.path("vaults/{vault_id}/credentials", vaultID)
	if err != nil {
		return nil, err
	}
	return invoke[Page[Credential]](ctx, s.client, http.MethodGet, path, params, nil, opts)
}

// All iterates over every credential of a vault matching params, fetching
// pages as the loop needs them. params is not modified.
//
// API: GET /vaults/{vault_id}/credentials
func (s *VaultCredentialsService) All(ctx context.Context, vaultID string, params *CredentialListParams, opts ...RequestOption) iter.Seq2[Credential, error] {
	return listAll(ctx, params, func(ctx context.Context, p *CredentialListParams) (*Page[Credential], error) {
		return s.List(ctx, vaultID, p, opts...)
	})
}

// Delete deletes a credential and its secret.
//
// API: DELETE /vaults/{vault_id}/credentials/{credential_id}
func (s *VaultCredentialsService) Delete(ctx context.Context, vaultID, credentialID string, opts ...RequestOption) (*DeletedCredential, error) {
	return deleteAt[DeletedCredential](ctx, s.client, opts, "vaults/{vault_id}/credentials/{credential_id}", vaultID, credentialID)
}

// Archive archives a credential and returns it with ArchivedAt set;
// sessions no longer use it.
//
// API: POST /vaults/{vault_id}/credentials/{credential_id}/archive
func (s *VaultCredentialsService) Archive(ctx context.Context, vaultID, credentialID string, opts ...RequestOption) (*Credential, error) {
	path, err := s.client.path("vaults/{vault_id}/credentials/{credential_id}/archive", vaultID, credentialID)
	if err != nil {
		return nil, err
	}
	return invoke[Credential](ctx, s.client, http.MethodPost, path, nil, nil, opts)
}

// ValidateMCPOAuth checks an mcp_oauth credential now: the API probes the
// MCP server with the access token and, when the credential has a refresh
// token, tries a refresh. A credential that fails the check is a
// successful call whose Status says so.
//
// API: POST /vaults/{vault_id}/credentials/{credential_id}/mcp_oauth_validate
func (s *VaultCredentialsService) ValidateMCPOAuth(ctx context.Context, vaultID, credentialID string, opts ...RequestOption) (*CredentialValidation, error) {
	path, err := s.client.path("vaults/{vault_id}/credentials/{credential_id}/mcp_oauth_validate", vaultID, credentialID)
	if err != nil {
		return nil, err
	}
	return invoke[CredentialValidation](ctx, s.client, http.MethodPost, path, nil, nil, opts)
}

// Credential is a credential of a vault as the API shows it: its kind and
// the non-secret fields of its auth, never a secret. Should a server echo
// a secret (token, secret_value, access_token, refresh_token or
// client_secret), no field takes it, and [Credential.Raw] and Auth.Raw
// read "[redacted]" in its place.
type Credential struct {
	resourceJSON

	// ID is the credential's id, "vcred_…".
	ID string `json:"id"`
	// Type is "vault_credential". The legacy flat shape sent the auth kind
	// here ("static_bearer"); it is kept as sent, and Auth is filled.
	Type string `json:"type"`
	// VaultID is the vault the credential belongs to.
	VaultID string `json:"vault_id"`
	// DisplayName is the credential's name (up to 255 characters); it
	// cannot be updated.
	DisplayName string `json:"display_name,omitempty"`
	// Auth is the credential's kind and the non-secret fields of its auth.
	Auth CredentialAuthInfo `json:"auth"`
	// Metadata holds string pairs of your own.
	Metadata map[string]string `json:"metadata"`
	// ArchivedAt is when the credential was archived; zero if it is not.
	ArchivedAt time.Time `json:"archived_at,omitzero"`
	// CreatedAt is when the credential was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the credential last changed.
	UpdatedAt time.Time `json:"updated_at"`

	// Protocol ("sse" or "streamable_http") and Status ("active") are sent
	// in the legacy flat shape only.
	Protocol string `json:"protocol,omitempty"`
	Status   string `json:"status,omitempty"`
}

// UnmarshalJSON decodes a credential in the current shape or the legacy
// flat one, whose type and mcp_server_url sit beside the id instead of in
// an auth object.
func (c *Credential) UnmarshalJSON(data []byte) error {
	type plain Credential
	var aux struct {
		plain
		Auth         json.RawMessage `json:"auth"`
		MCPServerURL string          `json:"mcp_server_url"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*c = Credential(aux.plain)
	if jsonKind(aux.Auth) == '{' {
		return json.Unmarshal(aux.Auth, &c.Auth)
	}
	if aux.MCPServerURL != "" || CredentialAuthType(aux.Type).known() {
		c.Auth = CredentialAuthInfo{Type: CredentialAuthType(aux.Type), MCPServerURL: aux.MCPServerURL}
	}
	return nil
}

// scrubRaw replaces any secret a server echoed in the credential's JSON.
func (c *Credential) scrubRaw(data []byte) []byte { return redactEchoedSecrets(data) }

// CredentialAuthType is the kind of a credential.
type CredentialAuthType string

// Credential kinds.
const (
	// CredentialAuthStaticBearer is a fixed bearer token for an MCP server.
	CredentialAuthStaticBearer CredentialAuthType = "static_bearer"
	// CredentialAuthEnvironmentVariable is a secret environment variable
	// of the session's container.
	CredentialAuthEnvironmentVariable CredentialAuthType = "environment_variable"
	// CredentialAuthMCPOAuth is an OAuth access token for an MCP server,
	// optionally refreshed by the API.
	CredentialAuthMCPOAuth CredentialAuthType = "mcp_oauth"
)

// known reports whether t is a kind this SDK knows.
func (t CredentialAuthType) known() bool {
	switch t {
	case CredentialAuthStaticBearer, CredentialAuthEnvironmentVariable, CredentialAuthMCPOAuth:
		return true
	}
	return false
}

// CredentialAuthInfo is a credential's auth as the API shows it, a union
// discriminated by Type whose fields are those of its kind. It never holds
// a secret. An auth of a kind this SDK does not know keeps the object as
// received in Raw (and marshals back to it) instead of failing.
type CredentialAuthInfo struct {
	// Type is the credential's kind.
	Type CredentialAuthType `json:"type"`
	// MCPServerURL is the MCP server the credential authenticates
	// (static_bearer, mcp_oauth).
	MCPServerURL string `json:"mcp_server_url,omitempty"`
	// ExpiresAt is when the access token expires (mcp_oauth).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Refresh is how the API refreshes the access token, without the
	// refresh token (mcp_oauth); nil without refresh.
	Refresh *MCPOAuthRefreshInfo `json:"refresh,omitempty"`
	// SecretName is the environment variable's name (environment_variable).
	SecretName string `json:"secret_name,omitempty"`
	// InjectionLocation says where the secret may be substituted in
	// outbound requests (environment_variable).
	InjectionLocation *InjectionLocation `json:"injection_location,omitempty"`
	// Networking is where the secret may be sent (environment_variable).
	Networking CredentialNetworking `json:"networking,omitzero"`
	// Raw is the auth object as received (a secret a server echoed reads
	// "[redacted]"). Read it when Type is a kind this SDK does not know.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes any auth object, keeping it whole in Raw but for
// an echoed secret.
func (a *CredentialAuthInfo) UnmarshalJSON(data []byte) error {
	type plain CredentialAuthInfo
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		if kind := jsonKind(data); kind != '{' {
			return fmt.Errorf("a credential's auth must be an object: %w", err)
		}
		// An unknown kind whose fields clash with the known ones' types.
		var head struct {
			Type CredentialAuthType `json:"type"`
		}
		if json.Unmarshal(data, &head) != nil || head.Type.known() {
			return err
		}
		p = plain{Type: head.Type}
	}
	*a = CredentialAuthInfo(p)
	a.Raw = append(json.RawMessage(nil), redactEchoedSecrets(data)...)
	return nil
}

// MarshalJSON encodes the auth; one of an unknown kind is Raw.
func (a CredentialAuthInfo) MarshalJSON() ([]byte, error) {
	if !a.Type.known() && len(a.Raw) > 0 {
		return a.Raw, nil
	}
	type plain CredentialAuthInfo
	return json.Marshal(plain(a))
}

// MCPOAuthRefreshInfo is how the API refreshes an mcp_oauth access token,
// as it shows it: without the refresh token or a client secret.
type MCPOAuthRefreshInfo struct {
	// ClientID is the OAuth client id.
	ClientID string `json:"client_id"`
	// TokenEndpoint is the authorization server's token endpoint.
	TokenEndpoint string `json:"token_endpoint"`
	// TokenEndpointAuth is how the client authenticates to the token
	// endpoint; its secret is never shown.
	TokenEndpointAuth TokenEndpointAuth `json:"token_endpoint_auth,omitzero"`
	// Resource is the OAuth resource indicator, if any.
	Resource string `json:"resource,omitempty"`
	// Scope is the requested scope, if any.
	Scope string `json:"scope,omitempty"`
}

// DeletedCredential is the answer to [VaultCredentialsService.Delete].
type DeletedCredential struct {
	resourceJSON

	// ID is the deleted credential's id.
	ID string `json:"id"`
	// Type is "vault_credential_deleted"; empty when the API answered with
	// no body.
	Type string `json:"type"`
}

// CredentialValidation is the result of
// [VaultCredentialsService.ValidateMCPOAuth].
type CredentialValidation struct {
	resourceJSON

	// Type is "vault_credential_validation".
	Type string `json:"type"`
	// VaultID and CredentialID name the credential checked.
	VaultID      string `json:"vault_id"`
	CredentialID string `json:"credential_id"`
	// Status is the verdict, such as "valid" or "invalid".
	Status string `json:"status"`
	// ValidatedAt is when the check ran.
	ValidatedAt time.Time `json:"validated_at"`
	// HasRefreshToken reports whether the credential has a refresh token.
	HasRefreshToken bool `json:"has_refresh_token"`
	// MCPProbe is the request made to the MCP server and its answer.
	MCPProbe MCPProbe `json:"mcp_probe"`
	// Refresh is the outcome of the refresh attempt.
	Refresh CredentialRefreshResult `json:"refresh"`
}

// MCPProbe is the request a validation made to the MCP server.
type MCPProbe struct {
	// Method is the MCP method called, such as "initialize".
	Method string `json:"method"`
	// HTTPResponse is the server's answer; nil when none came.
	HTTPResponse *ValidationHTTPResponse `json:"http_response"`
}

// CredentialRefreshResult is the outcome of a validation's refresh
// attempt.
type CredentialRefreshResult struct {
	// Status is the outcome, such as "no_refresh_token" when there was
	// nothing to refresh with.
	Status string `json:"status"`
	// HTTPResponse is the token endpoint's answer; nil when no request
	// was made.
	HTTPResponse *ValidationHTTPResponse `json:"http_response"`
}

// scrubRaw replaces any secret in the validation's JSON, such as the new
// access token in the body of the token endpoint's answer.
func (v *CredentialValidation) scrubRaw(data []byte) []byte { return redactEchoedSecrets(data) }

// ValidationHTTPResponse is an HTTP answer seen during a validation, its
// body truncated by the API. A secret in the body (the access_token,
// refresh_token, token, secret_value or client_secret of a JSON or form
// body) reads "[redacted]": a token endpoint that refreshed the
// credential answers with a new token.
type ValidationHTTPResponse struct {
	// StatusCode is the HTTP status.
	StatusCode int `json:"status_code"`
	// ContentType is the Content-Type header.
	ContentType string `json:"content_type"`
	// Body is the start of the body.
	Body string `json:"body"`
	// BodyTruncated reports whether Body was cut short.
	BodyTruncated bool `json:"body_truncated"`
}

// UnmarshalJSON decodes the response and redacts any secret in its body.
func (r *ValidationHTTPResponse) UnmarshalJSON(data []byte) error {
	type plain ValidationHTTPResponse
	if err := json.Unmarshal(data, (*plain)(r)); err != nil {
		return err
	}
	r.Body = redactSecretText(r.Body)
	return nil
}

// CredentialCreateParams are the fields of a new credential.
type CredentialCreateParams struct {
	// Auth is required: a [StaticBearerAuth], [EnvironmentVariableAuth]
	// or [MCPOAuthAuth], made by its constructor.
	Auth CredentialAuth `json:"auth"`
	// DisplayName names the credential (up to 255 characters); it cannot
	// be changed later.
	DisplayName string `json:"display_name,omitempty"`
	// Metadata holds string pairs of your own.
	Metadata map[string]string `json:"metadata,omitzero"`
}

// CredentialUpdateParams change a credential. Fields left nil are kept.
type CredentialUpdateParams struct {
	// Auth, when set, is the update of the credential's kind:
	// [StaticBearerAuthUpdate], [EnvironmentVariableAuthUpdate] or
	// [MCPOAuthAuthUpdate].
	Auth CredentialAuthUpdate `json:"auth,omitempty"`
	// Metadata patches the metadata: a key with a value sets it, a key with
	// a nil value deletes it, and absent keys are kept.
	Metadata map[string]*string `json:"metadata,omitzero"`
}

// CredentialListParams filter and page [VaultCredentialsService.List].
type CredentialListParams struct {
	// Limit is the page size (default 20, at most 100).
	Limit int `url:"limit,omitempty"`
	// AfterID returns the page after this credential id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the page before this credential id.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// IncludeArchived includes archived credentials.
	IncludeArchived bool `url:"include_archived,omitempty"`
	// Name keeps the credentials with this display name.
	Name string `url:"name,omitempty"`
}

// CredentialAuth is the auth of a new credential: a *[StaticBearerAuth], an
// *[EnvironmentVariableAuth] or an *[MCPOAuthAuth].
type CredentialAuth interface {
	// authWire returns the auth object to send, after checking it.
	authWire() (authWire, error)
}

// CredentialAuthUpdate is the auth part of a credential update: a
// *[StaticBearerAuthUpdate], an *[EnvironmentVariableAuthUpdate] or an
// *[MCPOAuthAuthUpdate].
type CredentialAuthUpdate interface {
	// authUpdateWire returns the auth object to send, after checking it.
	authUpdateWire() (authWire, error)
}

// Errors of a credential's auth that is nil, or a nil pointer.
var (
	errNilAuth       = errInvalidParams("a credential's auth is required")
	errNilAuthUpdate = errInvalidParams("a credential update's auth is a nil pointer: leave Auth nil to keep the auth")
)

// authWire is an auth object ready to send, with the secrets it holds so
// that an error answered to it can be cleaned of them.
type authWire struct {
	body    any
	secrets []string
}

// redact returns err without the secrets of w.
func (w authWire) redact(err error) error {
	if err == nil {
		return nil
	}
	var r redactor
	for _, s := range w.secrets {
		r.forms = append(r.forms, newRedactor(s).forms...)
	}
	// The longest first, so that a secret holding another is not left
	// half shown.
	slices.SortStableFunc(r.forms, func(a, b string) int { return len(b) - len(a) })
	return r.error(err)
}

// StaticBearerAuth is a fixed bearer token for an MCP server. Make it with
// [NewStaticBearerAuth].
type StaticBearerAuth struct {
	// MCPServerURL is required; it must equal the url of the agent's MCP
	// server.
	MCPServerURL string `json:"mcp_server_url"`
	// Token is required: the bearer token sent to the server.
	Token Secret `json:"token"`
}

// NewStaticBearerAuth returns the auth of a credential that sends token as
// a bearer token to the MCP server at mcpServerURL.
func NewStaticBearerAuth(mcpServerURL, token string) *StaticBearerAuth {
	return &StaticBearerAuth{MCPServerURL: mcpServerURL, Token: NewSecret(token)}
}

// authWire checks the required fields.
func (a *StaticBearerAuth) authWire() (authWire, error) {
	if a == nil {
		return authWire{}, errNilAuth
	}
	if a.MCPServerURL == "" {
		return authWire{}, errInvalidParams("a static_bearer credential needs its MCP server URL")
	}
	if a.Token.IsZero() {
		return authWire{}, errInvalidParams("a static_bearer credential needs its token")
	}
	return authWire{body: struct {
		Type         CredentialAuthType `json:"type"`
		MCPServerURL string             `json:"mcp_server_url"`
		Token        string             `json:"token"`
	}{CredentialAuthStaticBearer, a.MCPServerURL, a.Token.reveal()}, secrets: []string{a.Token.reveal()}}, nil
}

// EnvironmentVariableAuth is a secret environment variable of the session's
// container. Make it with [NewEnvironmentVariableAuth].
type EnvironmentVariableAuth struct {
	// SecretName is required: the variable's name, which must match
	// [A-Za-z_][A-Za-z0-9_]*.
	SecretName string `json:"secret_name"`
	// SecretValue is required: the variable's value.
	SecretValue Secret `json:"secret_value"`
	// InjectionLocation says where the secret may be substituted in
	// outbound requests; nil lets the server decide.
	InjectionLocation *InjectionLocation `json:"injection_location,omitempty"`
	// Networking is where the secret may be sent: [UnrestrictedNetworking]
	// or [LimitedNetworking]; the zero value lets the server decide.
	Networking CredentialNetworking `json:"networking,omitzero"`
}

// NewEnvironmentVariableAuth returns the auth of a credential that sets the
// environment variable secretName to secretValue.
func NewEnvironmentVariableAuth(secretName, secretValue string) *EnvironmentVariableAuth {
	return &EnvironmentVariableAuth{SecretName: secretName, SecretValue: NewSecret(secretValue)}
}

// secretNamePattern is the documented pattern of a secret name.
var secretNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// authWire checks the required fields and the secret name.
func (a *EnvironmentVariableAuth) authWire() (authWire, error) {
	if a == nil {
		return authWire{}, errNilAuth
	}
	if a.SecretName == "" {
		return authWire{}, errInvalidParams("an environment_variable credential needs its secret name")
	}
	if !secretNamePattern.MatchString(a.SecretName) {
		return authWire{}, errInvalidParams("secret name %q must match [A-Za-z_][A-Za-z0-9_]*", a.SecretName)
	}
	if a.SecretValue.IsZero() {
		return authWire{}, errInvalidParams("an environment_variable credential needs its secret value")
	}
	network, err := a.Networking.wire()
	if err != nil {
		return authWire{}, err
	}
	return authWire{body: struct {
		Type              CredentialAuthType `json:"type"`
		SecretName        string             `json:"secret_name"`
		SecretValue       string             `json:"secret_value"`
		InjectionLocation *InjectionLocation `json:"injection_location,omitempty"`
		Networking        any                `json:"networking,omitempty"`
	}{CredentialAuthEnvironmentVariable, a.SecretName, a.SecretValue.reveal(), a.InjectionLocation, network},
		secrets: []string{a.SecretValue.reveal()}}, nil
}

// InjectionLocation says where an environment_variable secret may be
// substituted in the container's outbound requests.
type InjectionLocation struct {
	// Body allows request bodies.
	Body bool `json:"body"`
	// Header allows request headers.
	Header bool `json:"header"`
}

// CredentialNetworking is where an environment_variable secret may be sent:
// [UnrestrictedNetworking] or [LimitedNetworking]. The zero value is no
// policy.
type CredentialNetworking struct {
	typ   NetworkingType
	hosts []string
}

// UnrestrictedNetworking lets a secret be sent to any host.
func UnrestrictedNetworking() CredentialNetworking {
	return CredentialNetworking{typ: NetworkingUnrestricted}
}

// LimitedNetworking lets a secret be sent to allowedHosts only.
func LimitedNetworking(allowedHosts ...string) CredentialNetworking {
	return CredentialNetworking{typ: NetworkingLimited, hosts: allowedHosts}
}

// Type returns NetworkingUnrestricted, NetworkingLimited, or "" for no
// policy.
func (n CredentialNetworking) Type() NetworkingType { return n.typ }

// AllowedHosts returns the hosts of a limited policy.
func (n CredentialNetworking) AllowedHosts() []string { return n.hosts }

// IsZero reports whether n is no policy.
func (n CredentialNetworking) IsZero() bool { return n.typ == "" && n.hosts == nil }

// credentialNetworkingJSON is the wire form of a CredentialNetworking.
type credentialNetworkingJSON struct {
	Type         NetworkingType `json:"type"`
	AllowedHosts []string       `json:"allowed_hosts,omitzero"`
}

// wire checks the policy and returns what to send; nil for no policy.
func (n CredentialNetworking) wire() (any, error) {
	if n.IsZero() {
		return nil, nil
	}
	if n.typ == NetworkingLimited && len(n.hosts) == 0 {
		return nil, errInvalidParams("a limited credential networking policy needs at least one allowed host")
	}
	return credentialNetworkingJSON{n.typ, n.hosts}, nil
}

// MarshalJSON encodes the policy.
func (n CredentialNetworking) MarshalJSON() ([]byte, error) {
	return json.Marshal(credentialNetworkingJSON{n.typ, n.hosts})
}

// UnmarshalJSON decodes a policy.
func (n *CredentialNetworking) UnmarshalJSON(data []byte) error {
	if jsonKind(data) == 'n' {
		*n = CredentialNetworking{}
		return nil
	}
	var w credentialNetworkingJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*n = CredentialNetworking{typ: w.Type, hosts: w.AllowedHosts}
	return nil
}

// MCPOAuthAuth is an OAuth access token for an MCP server, which the API
// can refresh. Make it with [NewMCPOAuthAuth].
type MCPOAuthAuth struct {
	// MCPServerURL is required; it must equal the url of the agent's MCP
	// server.
	MCPServerURL string `json:"mcp_server_url"`
	// AccessToken is required.
	AccessToken Secret `json:"access_token"`
	// ExpiresAt is when the access token expires.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Refresh lets the API refresh the access token: see
	// [NewMCPOAuthRefresh].
	Refresh *MCPOAuthRefresh `json:"refresh,omitempty"`
}

// NewMCPOAuthAuth returns the auth of a credential that sends accessToken
// to the MCP server at mcpServerURL.
func NewMCPOAuthAuth(mcpServerURL, accessToken string) *MCPOAuthAuth {
	return &MCPOAuthAuth{MCPServerURL: mcpServerURL, AccessToken: NewSecret(accessToken)}
}

// authWire checks the required fields.
func (a *MCPOAuthAuth) authWire() (authWire, error) {
	if a == nil {
		return authWire{}, errNilAuth
	}
	if a.MCPServerURL == "" {
		return authWire{}, errInvalidParams("an mcp_oauth credential needs its MCP server URL")
	}
	if a.AccessToken.IsZero() {
		return authWire{}, errInvalidParams("an mcp_oauth credential needs its access token")
	}
	w := authWire{secrets: []string{a.AccessToken.reveal()}}
	var refresh any
	if a.Refresh != nil {
		r, err := a.Refresh.wire()
		if err != nil {
			return authWire{}, err
		}
		refresh = r
		w.secrets = append(w.secrets, a.Refresh.RefreshToken.reveal(), a.Refresh.TokenEndpointAuth.secret.reveal())
	}
	w.body = struct {
		Type         CredentialAuthType `json:"type"`
		MCPServerURL string             `json:"mcp_server_url"`
		AccessToken  string             `json:"access_token"`
		ExpiresAt    time.Time          `json:"expires_at,omitzero"`
		Refresh      any                `json:"refresh,omitempty"`
	}{CredentialAuthMCPOAuth, a.MCPServerURL, a.AccessToken.reveal(), a.ExpiresAt, refresh}
	return w, nil
}

// MCPOAuthRefresh is how the API refreshes an mcp_oauth access token. Make
// it with [NewMCPOAuthRefresh].
type MCPOAuthRefresh struct {
	// ClientID is required: the OAuth client id.
	ClientID string `json:"client_id"`
	// RefreshToken is required.
	RefreshToken Secret `json:"refresh_token"`
	// TokenEndpoint is required: the authorization server's token
	// endpoint.
	TokenEndpoint string `json:"token_endpoint"`
	// TokenEndpointAuth is required: [TokenEndpointAuthNone],
	// [ClientSecretBasic] or [ClientSecretPost].
	TokenEndpointAuth TokenEndpointAuth `json:"token_endpoint_auth"`
	// Resource is the OAuth resource indicator, if any.
	Resource string `json:"resource,omitempty"`
	// Scope is the scope to request, if any.
	Scope string `json:"scope,omitempty"`
}

// NewMCPOAuthRefresh returns the refresh settings of an mcp_oauth
// credential.
func NewMCPOAuthRefresh(clientID, refreshToken, tokenEndpoint string, auth TokenEndpointAuth) *MCPOAuthRefresh {
	return &MCPOAuthRefresh{ClientID: clientID, RefreshToken: NewSecret(refreshToken), TokenEndpoint: tokenEndpoint, TokenEndpointAuth: auth}
}

// wire checks the refresh settings and returns what to send.
func (r *MCPOAuthRefresh) wire() (any, error) {
	switch {
	case r.ClientID == "":
		return nil, errInvalidParams("an mcp_oauth refresh needs its client id")
	case r.RefreshToken.IsZero():
		return nil, errInvalidParams("an mcp_oauth refresh needs its refresh token")
	case r.TokenEndpoint == "":
		return nil, errInvalidParams("an mcp_oauth refresh needs its token endpoint")
	case r.TokenEndpointAuth.typ == "":
		return nil, errInvalidParams("an mcp_oauth refresh needs its token endpoint auth (TokenEndpointAuthNone, ClientSecretBasic or ClientSecretPost)")
	case r.TokenEndpointAuth.typ != TokenEndpointAuthTypeNone && r.TokenEndpointAuth.secret.IsZero():
		return nil, errInvalidParams("an mcp_oauth refresh with %s needs the client secret", r.TokenEndpointAuth.typ)
	}
	return struct {
		ClientID          string `json:"client_id"`
		RefreshToken      string `json:"refresh_token"`
		TokenEndpoint     string `json:"token_endpoint"`
		TokenEndpointAuth any    `json:"token_endpoint_auth"`
		Resource          string `json:"resource,omitempty"`
		Scope             string `json:"scope,omitempty"`
	}{r.ClientID, r.RefreshToken.reveal(), r.TokenEndpoint, r.TokenEndpointAuth.wire(), r.Resource, r.Scope}, nil
}

// TokenEndpointAuthType is how an OAuth client authenticates to a token
// endpoint.
type TokenEndpointAuthType string

// Token endpoint authentication methods.
const (
	// TokenEndpointAuthTypeNone is a public client: no secret.
	TokenEndpointAuthTypeNone TokenEndpointAuthType = "none"
	// TokenEndpointAuthTypeClientSecretBasic sends the client secret with
	// HTTP Basic authentication.
	TokenEndpointAuthTypeClientSecretBasic TokenEndpointAuthType = "client_secret_basic"
	// TokenEndpointAuthTypeClientSecretPost sends the client secret in the
	// form body.
	TokenEndpointAuthTypeClientSecretPost TokenEndpointAuthType = "client_secret_post"
)

// TokenEndpointAuth is how an OAuth client authenticates to a token
// endpoint: [TokenEndpointAuthNone], [ClientSecretBasic] or
// [ClientSecretPost]. In a response only its type is shown.
type TokenEndpointAuth struct {
	typ    TokenEndpointAuthType
	secret Secret
}

// TokenEndpointAuthNone is a public client, which sends no secret.
func TokenEndpointAuthNone() TokenEndpointAuth {
	return TokenEndpointAuth{typ: TokenEndpointAuthTypeNone}
}

// ClientSecretBasic sends clientSecret with HTTP Basic authentication.
func ClientSecretBasic(clientSecret string) TokenEndpointAuth {
	return TokenEndpointAuth{typ: TokenEndpointAuthTypeClientSecretBasic, secret: NewSecret(clientSecret)}
}

// ClientSecretPost sends clientSecret in the token request's form body.
func ClientSecretPost(clientSecret string) TokenEndpointAuth {
	return TokenEndpointAuth{typ: TokenEndpointAuthTypeClientSecretPost, secret: NewSecret(clientSecret)}
}

// Type returns the authentication method; "" for the zero value.
func (a TokenEndpointAuth) Type() TokenEndpointAuthType { return a.typ }

// IsZero reports whether a is the zero value.
func (a TokenEndpointAuth) IsZero() bool { return a.typ == "" && a.secret.IsZero() }

// tokenEndpointAuthJSON is the wire form of a TokenEndpointAuth.
type tokenEndpointAuthJSON struct {
	Type         TokenEndpointAuthType `json:"type"`
	ClientSecret string                `json:"client_secret,omitempty"`
}

// wire returns what to send, secret included.
func (a TokenEndpointAuth) wire() tokenEndpointAuthJSON {
	return tokenEndpointAuthJSON{a.typ, a.secret.reveal()}
}

// MarshalJSON encodes the method with its secret redacted.
func (a TokenEndpointAuth) MarshalJSON() ([]byte, error) {
	w := tokenEndpointAuthJSON{Type: a.typ}
	if !a.secret.IsZero() {
		w.ClientSecret = redactedText
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the method as a response shows it: its type.
func (a *TokenEndpointAuth) UnmarshalJSON(data []byte) error {
	var w tokenEndpointAuthJSON
	if jsonKind(data) == 'n' {
		*a = TokenEndpointAuth{}
		return nil
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*a = TokenEndpointAuth{typ: w.Type}
	return nil
}

// StaticBearerAuthUpdate rotates the token of a static_bearer credential.
type StaticBearerAuthUpdate struct {
	// Token is the new token (required).
	Token Secret `json:"token"`
}

// authUpdateWire checks the update.
func (a *StaticBearerAuthUpdate) authUpdateWire() (authWire, error) {
	if a == nil {
		return authWire{}, errNilAuthUpdate
	}
	if a.Token.IsZero() {
		return authWire{}, errInvalidParams("a static_bearer update needs the new token")
	}
	return authWire{body: struct {
		Type  CredentialAuthType `json:"type"`
		Token string             `json:"token"`
	}{CredentialAuthStaticBearer, a.Token.reveal()}, secrets: []string{a.Token.reveal()}}, nil
}

// EnvironmentVariableAuthUpdate changes an environment_variable credential.
// The secret name cannot change. Fields left zero are kept.
type EnvironmentVariableAuthUpdate struct {
	// SecretValue is the new value.
	SecretValue Secret `json:"secret_value,omitzero"`
	// InjectionLocation replaces where the secret may be substituted.
	InjectionLocation *InjectionLocation `json:"injection_location,omitempty"`
	// Networking replaces where the secret may be sent.
	Networking CredentialNetworking `json:"networking,omitzero"`
}

// authUpdateWire checks the update.
func (a *EnvironmentVariableAuthUpdate) authUpdateWire() (authWire, error) {
	if a == nil {
		return authWire{}, errNilAuthUpdate
	}
	network, err := a.Networking.wire()
	if err != nil {
		return authWire{}, err
	}
	return authWire{body: struct {
		Type              CredentialAuthType `json:"type"`
		SecretValue       string             `json:"secret_value,omitempty"`
		InjectionLocation *InjectionLocation `json:"injection_location,omitempty"`
		Networking        any                `json:"networking,omitempty"`
	}{CredentialAuthEnvironmentVariable, a.SecretValue.reveal(), a.InjectionLocation, network},
		secrets: []string{a.SecretValue.reveal()}}, nil
}

// MCPOAuthAuthUpdate changes an mcp_oauth credential. The MCP server URL
// cannot change. Fields left zero are kept.
type MCPOAuthAuthUpdate struct {
	// AccessToken is the new access token.
	AccessToken Secret `json:"access_token,omitzero"`
	// ExpiresAt is when the new access token expires.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Refresh changes the refresh settings.
	Refresh *MCPOAuthRefreshUpdate `json:"refresh,omitempty"`
}

// MCPOAuthRefreshUpdate changes how an mcp_oauth access token is refreshed.
// The client id and token endpoint cannot change. Fields left zero are
// kept.
type MCPOAuthRefreshUpdate struct {
	// RefreshToken is the new refresh token.
	RefreshToken Secret `json:"refresh_token,omitzero"`
	// Scope replaces the scope.
	Scope string `json:"scope,omitempty"`
	// TokenEndpointAuth replaces the client secret: [ClientSecretBasic]
	// or [ClientSecretPost] (an update cannot switch to none).
	TokenEndpointAuth TokenEndpointAuth `json:"token_endpoint_auth,omitzero"`
}

// authUpdateWire checks the update.
func (a *MCPOAuthAuthUpdate) authUpdateWire() (authWire, error) {
	if a == nil {
		return authWire{}, errNilAuthUpdate
	}
	w := authWire{secrets: []string{a.AccessToken.reveal()}}
	var refresh any
	if r := a.Refresh; r != nil {
		var auth any
		switch r.TokenEndpointAuth.typ {
		case "":
		case TokenEndpointAuthTypeClientSecretBasic, TokenEndpointAuthTypeClientSecretPost:
			if r.TokenEndpointAuth.secret.IsZero() {
				return authWire{}, errInvalidParams("an mcp_oauth refresh update with %s needs the client secret", r.TokenEndpointAuth.typ)
			}
			auth = r.TokenEndpointAuth.wire()
		default:
			return authWire{}, errInvalidParams("an mcp_oauth refresh update cannot set the token endpoint auth to %q: use ClientSecretBasic or ClientSecretPost", r.TokenEndpointAuth.typ)
		}
		refresh = struct {
			RefreshToken      string `json:"refresh_token,omitempty"`
			Scope             string `json:"scope,omitempty"`
			TokenEndpointAuth any    `json:"token_endpoint_auth,omitempty"`
		}{r.RefreshToken.reveal(), r.Scope, auth}
		w.secrets = append(w.secrets, r.RefreshToken.reveal(), r.TokenEndpointAuth.secret.reveal())
	}
	w.body = struct {
		Type        CredentialAuthType `json:"type"`
		AccessToken string             `json:"access_token,omitempty"`
		ExpiresAt   time.Time          `json:"expires_at,omitzero"`
		Refresh     any                `json:"refresh,omitempty"`
	}{CredentialAuthMCPOAuth, a.AccessToken.reveal(), a.ExpiresAt, refresh}
	return w, nil
}
