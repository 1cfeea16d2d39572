package qoder

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"time"
)

// DeploymentsService manages deployments: an agent, an environment and the
// initial events to send, run on a cron schedule or on demand. Each run
// creates a new session (whose DeploymentID is set) and sends the initial
// events to it. Avoid agents with custom tools in unattended runs: their
// sessions would wait in requires_action.
//
// See https://docs.qoder.com/cloud-agents/api/deployments.
type DeploymentsService struct {
	service

	// Runs lists and gets the runs of one deployment.
	Runs *DeploymentsRunsService
}

// Create creates a deployment. It is active at once and fires on its
// schedule; without one it runs only through [DeploymentsService.Run].
// The SDK checks before sending that there are 1 to 50 initial events of
// the allowed types and that a schedule has all three of its fields; an
// invalid cron expression or time zone is the server's to judge (a 400
// passed through with its message).
//
// API: POST /deployments
func (s *DeploymentsService) Create(ctx context.Context, params *DeploymentCreateParams, opts ...RequestOption) (*Deployment, error) {
	if params == nil {
		return nil, errInvalidParams("deployment create params are required")
	}
	if err := validateDeploymentEvents(params.InitialEvents); err != nil {
		return nil, err
	}
	if params.Schedule != nil {
		if err := params.Schedule.validate(); err != nil {
			return nil, err
		}
	}
	return invoke[Deployment](ctx, s.client, http.MethodPost, literalPath("deployments"), nil, params, opts)
}

// Get retrieves a deployment.
//
// API: GET /deployments/{deployment_id}
func (s *DeploymentsService) Get(ctx context.Context, deploymentID string, opts ...RequestOption) (*Deployment, error) {
	return s.call(ctx, http.MethodGet, "deployments/{deployment_id}", deploymentID, opts)
}

// Update changes the fields params sets and keeps the others. Metadata is
// a merge patch: a key set to a value upserts it and a key set to nil
// deletes it. InitialEvents, Resources and VaultIDs replace the whole list
// when non-nil; initial events cannot be cleared.
//
// API: POST /deployments/{deployment_id}
func (s *DeploymentsService) Update(ctx context.Context, deploymentID string, params *DeploymentUpdateParams, opts ...RequestOption) (*Deployment, error) {
	path, err := s.client.path("deployments/{deployment_id}", deploymentID)
	if err != nil {
		return nil, err
	}
	if params == nil {
		return nil, errInvalidParams("deployment update params are required")
	}
	if params.InitialEvents != nil {
		if err := validateDeploymentEvents(params.InitialEvents); err != nil {
			return nil, err
		}
	}
	if params.Schedule != nil {
		if err := params.Schedule.validate(); err != nil {
			return nil, err
		}
	}
	return invoke[Deployment](ctx, s.client, http.MethodPost, path, nil, params, opts)
}

// List returns one page of deployments, newest first. Archived ones are
// left out unless params.IncludeArchived is set; Status cannot be combined
// with IncludeArchived. nil params means defaults.
//
// API: GET /deployments
func (s *DeploymentsService) List(ctx context.Context, params *DeploymentListParams, opts ...RequestOption) (*Page[Deployment], error) {
	if params != nil && params.Status != "" && params.IncludeArchived {
		return nil, errInvalidParams("deployment list: Status cannot be combined with IncludeArchived")
	}
	return invoke[Page[Deployment]](ctx, s.client, http.MethodGet, literalPath("deployments"), params, nil, opts)
}

// All iterates over every deployment matching params, fetching pages as
// the loop needs them. params is not modified.
//
// API: GET /deployments
func (s *DeploymentsService) All(ctx context.Context, params *DeploymentListParams, opts ...RequestOption) iter.Seq2[Deployment, error] {
	return listAll(ctx, params, func(ctx context.Context, p *DeploymentListParams) (*Page[Deployment], error) {
		return s.List(ctx, p, opts...)
	})
}

// Archive archives a deployment for good: its schedule stops, it leaves
// the default list, and the server appends "_archived_<unix time>" to its
// name. Archiving it again is ErrConflict.
//
// API: POST /deployments/{deployment_id}/archive
func (s *DeploymentsService) Archive(ctx context.Context, deploymentID string, opts ...RequestOption) (*Deployment, error) {
	return s.call(ctx, http.MethodPost, "deployments/{deployment_id}/archive", deploymentID, opts)
}

// Pause pauses a deployment's schedule: Status becomes paused and
// PausedReason manual. Pausing a paused deployment is ErrConflict.
//
// API: POST /deployments/{deployment_id}/pause
func (s *DeploymentsService) Pause(ctx context.Context, deploymentID string, opts ...RequestOption) (*Deployment, error) {
	return s.call(ctx, http.MethodPost, "deployments/{deployment_id}/pause", deploymentID, opts)
}

// Unpause resumes a paused deployment: Status becomes active, PausedReason
// nil, and the next trigger is computed from now.
//
// API: POST /deployments/{deployment_id}/unpause
func (s *DeploymentsService) Unpause(ctx context.Context, deploymentID string, opts ...RequestOption) (*Deployment, error) {
	return s.call(ctx, http.MethodPost, "deployments/{deployment_id}/unpause", deploymentID, opts)
}

// Run starts a run of an active deployment now and returns it without
// waiting for it: follow it with [DeploymentRunsService.Wait]. A paused or
// archived deployment is ErrConflict; a run over the concurrency limit is
// recorded with status skipped.
//
// API: POST /deployments/{deployment_id}/run
func (s *DeploymentsService) Run(ctx context.Context, deploymentID string, opts ...RequestOption) (*DeploymentRun, error) {
	path, err := s.client.path("deployments/{deployment_id}/run", deploymentID)
	if err != nil {
		return nil, err
	}
	return invoke[DeploymentRun](ctx, s.client, http.MethodPost, path, nil, nil, opts)
}

// call sends a request without parameters to a path of one deployment.
func (s *DeploymentsService) call(ctx context.Context, method, template, deploymentID string, opts []RequestOption) (*Deployment, error) {
	path, err := s.client.path(template, deploymentID)
	if err != nil {
		return nil, err
	}
	return invoke[Deployment](ctx, s.client, method, path, nil, nil, opts)
}

// DeploymentStatus is whether a deployment fires on its schedule.
type DeploymentStatus string

// Deployment statuses.
const (
	DeploymentStatusActive DeploymentStatus = "active"
	DeploymentStatusPaused DeploymentStatus = "paused"
)

// Deployment is a scheduled or on-demand agent run.
type Deployment struct {
	resourceJSON

	// ID is the deployment's id, "dep_…".
	ID string `json:"id"`
	// Type is always "deployment".
	Type string `json:"type"`
	// Name is the deployment's name (up to 256 characters); archiving
	// appends "_archived_<unix time>".
	Name string `json:"name"`
	// Description is a free-text description.
	Description string `json:"description"`
	// Agent is the agent each run uses, resolved to a version.
	Agent AgentRef `json:"agent"`
	// EnvironmentID is the environment each run's session uses.
	EnvironmentID string `json:"environment_id"`
	// InitialEvents are the events sent to each run's session, decoded
	// like session events (a *UserMessageEvent, ...).
	InitialEvents EventList `json:"initial_events"`
	// Schedule is the cron schedule; nil for a manual-only deployment.
	Schedule *DeploymentSchedule `json:"schedule"`
	// Status is active or paused. An archived deployment keeps its status;
	// ArchivedAt tells it apart.
	Status DeploymentStatus `json:"status"`
	// PausedReason says why a paused deployment is paused; nil otherwise.
	PausedReason *DeploymentPausedReason `json:"paused_reason"`
	// Resources are attached to each run's session.
	Resources []SessionResource `json:"resources"`
	// VaultIDs are the vaults each run's session may use.
	VaultIDs []string `json:"vault_ids"`
	// EnvironmentVariables are each run's session's variables, as the
	// server echoes them ("KEY=VALUE" lines).
	EnvironmentVariables EnvVarString `json:"environment_variables,omitempty"`
	// Metadata holds your string pairs and the server's cas_config.
	Metadata DeploymentMetadata `json:"metadata"`
	// Budget is each run's spending ceiling.
	Budget SessionBudget `json:"budget,omitzero"`
	// ArchivedAt is when the deployment was archived; zero if it is not.
	ArchivedAt time.Time `json:"archived_at,omitzero"`
	// CreatedAt is when the deployment was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the deployment last changed.
	UpdatedAt time.Time `json:"updated_at"`
}

// EventList is a list of events decoded into their types, such as the
// initial events a deployment echoes. Each keeps its raw JSON.
type EventList []Event

// UnmarshalJSON decodes each element as an [Event]; an unknown type is an
// *UnknownEvent.
func (l *EventList) UnmarshalJSON(data []byte) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return err
	}
	out := make(EventList, len(raws))
	for i, raw := range raws {
		out[i] = decodeEvent("", raw)
	}
	*l = out
	return nil
}

// MarshalJSON encodes each event as its raw JSON.
func (l EventList) MarshalJSON() ([]byte, error) {
	raws := make([]json.RawMessage, len(l))
	for i, ev := range l {
		if ev == nil || len(ev.Raw()) == 0 {
			raws[i] = json.RawMessage("null")
			continue
		}
		raws[i] = ev.Raw()
	}
	return json.Marshal(raws)
}

// DeploymentSchedule is a deployment's cron schedule as the server shows
// it.
type DeploymentSchedule struct {
	// Type is "cron".
	Type string `json:"type"`
	// Expression is a 5-field POSIX cron expression matched literally
	// against the wall clock of Timezone.
	Expression string `json:"expression"`
	// Timezone is an IANA time zone name, such as "Asia/Shanghai".
	Timezone string `json:"timezone"`
	// LastRunAt is when the schedule last fired; zero if never.
	LastRunAt time.Time `json:"last_run_at,omitzero"`
	// UpcomingRunsAt are the next firing times; empty once archived.
	UpcomingRunsAt []time.Time `json:"upcoming_runs_at,omitzero"`
}

// DeploymentPausedReasonType is the kind of a [DeploymentPausedReason].
type DeploymentPausedReasonType string

// Paused reason types.
const (
	// PausedReasonManual: paused through [DeploymentsService.Pause].
	PausedReasonManual DeploymentPausedReasonType = "manual"
	// PausedReasonError: paused by the server after a run could not
	// start; Error says why.
	PausedReasonError DeploymentPausedReasonType = "error"
)

// DeploymentPauseErrorType says why the server paused a deployment. The
// wire strings are not documented: they are inferred from the official
// SDK's type names (ManagedAgentsAgentArchivedDeploymentPausedReasonError
// is "agent_archived"). Compare with the constants and treat any other
// value as unknown.
type DeploymentPauseErrorType string

// Reasons the server pauses a deployment.
const (
	PauseErrorAgentArchived                  DeploymentPauseErrorType = "agent_archived"
	PauseErrorEnvironmentArchived            DeploymentPauseErrorType = "environment_archived"
	PauseErrorMemoryStoreArchived            DeploymentPauseErrorType = "memory_store_archived"
	PauseErrorVaultArchived                  DeploymentPauseErrorType = "vault_archived"
	PauseErrorEnvironmentNotFound            DeploymentPauseErrorType = "environment_not_found"
	PauseErrorFileNotFound                   DeploymentPauseErrorType = "file_not_found"
	PauseErrorSkillNotFound                  DeploymentPauseErrorType = "skill_not_found"
	PauseErrorVaultNotFound                  DeploymentPauseErrorType = "vault_not_found"
	PauseErrorSessionResourceNotFound        DeploymentPauseErrorType = "session_resource_not_found"
	PauseErrorMCPEgressBlocked               DeploymentPauseErrorType = "mcp_egress_blocked"
	PauseErrorOrganizationDisabled           DeploymentPauseErrorType = "organization_disabled"
	PauseErrorWorkspaceArchived              DeploymentPauseErrorType = "workspace_archived"
	PauseErrorSelfHostedResourcesUnsupported DeploymentPauseErrorType = "self_hosted_resources_unsupported"
	PauseErrorUnknown                        DeploymentPauseErrorType = "unknown"
)

// knownPauseErrors are the documented pause error types.
var knownPauseErrors = map[DeploymentPauseErrorType]bool{
	PauseErrorAgentArchived: true, PauseErrorEnvironmentArchived: true, PauseErrorMemoryStoreArchived: true,
	PauseErrorVaultArchived: true, PauseErrorEnvironmentNotFound: true, PauseErrorFileNotFound: true,
	PauseErrorSkillNotFound: true, PauseErrorVaultNotFound: true, PauseErrorSessionResourceNotFound: true,
	PauseErrorMCPEgressBlocked: true, PauseErrorOrganizationDisabled: true, PauseErrorWorkspaceArchived: true,
	PauseErrorSelfHostedResourcesUnsupported: true, PauseErrorUnknown: true,
}

// DeploymentPausedReason says why a deployment is paused: Type manual, or
// Type error with Error.Type naming the cause. A reason of a type the SDK
// does not know keeps its Type and its raw JSON ([DeploymentPausedReason.Raw]).
type DeploymentPausedReason struct {
	// Type is PausedReasonManual, PausedReasonError or a newer kind.
	Type DeploymentPausedReasonType `json:"type"`
	// Error is set when Type is PausedReasonError.
	Error *DeploymentPauseError `json:"error,omitempty"`

	raw json.RawMessage
}

// DeploymentPauseError is the cause of a server-side pause.
type DeploymentPauseError struct {
	// Type names the cause; see the PauseError constants.
	Type DeploymentPauseErrorType `json:"type"`
}

// UnmarshalJSON decodes a reason of any type and keeps its raw JSON.
func (r *DeploymentPausedReason) UnmarshalJSON(data []byte) error {
	type plain DeploymentPausedReason
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*r = DeploymentPausedReason(p)
	r.raw = bytes.Clone(data)
	return nil
}

// Raw returns the reason's JSON as received.
func (r *DeploymentPausedReason) Raw() json.RawMessage { return r.raw }

// Known reports whether the SDK knows the reason's type (and, for an
// error, its cause).
func (r *DeploymentPausedReason) Known() bool {
	switch r.Type {
	case PausedReasonManual:
		return true
	case PausedReasonError:
		return r.Error != nil && knownPauseErrors[r.Error.Type]
	}
	return false
}

// DeploymentMetadata is a deployment's metadata: your string pairs, and
// the cas_config the server injects, decoded. Values of other shapes are
// kept and sent back unchanged when the deployment is encoded.
type DeploymentMetadata struct {
	// Values holds the string pairs of your own.
	Values map[string]string
	// CASConfig is the server's run configuration and statistics
	// (metadata.cas_config); nil when the server sent none.
	CASConfig *DeploymentCASConfig

	other map[string]json.RawMessage
}

// casConfigKey is the metadata key the server injects.
const casConfigKey = "cas_config"

// UnmarshalJSON splits the metadata object into its parts.
func (m *DeploymentMetadata) UnmarshalJSON(data []byte) error {
	*m = DeploymentMetadata{}
	if jsonKind(data) == 'n' {
		return nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	for k, v := range all {
		var s string
		switch {
		case k == casConfigKey && jsonKind(v) == '{':
			m.CASConfig = new(DeploymentCASConfig)
			if err := json.Unmarshal(v, m.CASConfig); err != nil {
				return fmt.Errorf("metadata.cas_config: %w", err)
			}
			m.setOther(k, v) // kept whole: it may hold more than the SDK models
		case jsonKind(v) == '"' && json.Unmarshal(v, &s) == nil:
			if m.Values == nil {
				m.Values = make(map[string]string)
			}
			m.Values[k] = s
		default:
			m.setOther(k, v)
		}
	}
	return nil
}

// setOther keeps a value that is not a string pair.
func (m *DeploymentMetadata) setOther(k string, v json.RawMessage) {
	if m.other == nil {
		m.other = make(map[string]json.RawMessage)
	}
	m.other[k] = bytes.Clone(v)
}

// MarshalJSON joins the parts into one object.
func (m DeploymentMetadata) MarshalJSON() ([]byte, error) {
	all := make(map[string]any, len(m.Values)+len(m.other)+1)
	for k, v := range m.other {
		all[k] = v
	}
	if m.CASConfig != nil && m.other[casConfigKey] == nil {
		all[casConfigKey] = m.CASConfig
	}
	for k, v := range m.Values {
		all[k] = v
	}
	return json.Marshal(all)
}

// DeploymentCASConfig is the run configuration and statistics the server
// keeps in a deployment's metadata.cas_config.
type DeploymentCASConfig struct {
	// Config bounds each run.
	Config DeploymentRunLimits `json:"config"`
	// SessionStrategy is how runs get sessions, such as "new_session".
	SessionStrategy string `json:"session_strategy"`
	// Stats counts the deployment's runs.
	Stats DeploymentRunStats `json:"stats"`
}

// DeploymentRunLimits are the server's limits on a deployment's runs.
type DeploymentRunLimits struct {
	// MaxConcurrent is how many runs may be in flight at once; a run over
	// it is recorded as skipped.
	MaxConcurrent int `json:"max_concurrent"`
	// MaxRetries is how often a failed run is retried.
	MaxRetries int `json:"max_retries"`
	// TimeoutMS is a run's time limit in milliseconds.
	TimeoutMS int64 `json:"timeout_ms"`
}

// DeploymentRunStats count a deployment's runs.
type DeploymentRunStats struct {
	ConsecutiveFailures int       `json:"consecutive_failures"`
	TotalFailures       int       `json:"total_failures"`
	TotalRuns           int       `json:"total_runs"`
	LastTriggeredAt     time.Time `json:"last_triggered_at,omitzero"`
	NextTriggerAt       time.Time `json:"next_trigger_at,omitzero"`
}

// DeploymentCreateParams are the fields of a new deployment.
type DeploymentCreateParams struct {
	// Name is required (up to 256 characters).
	Name string `json:"name"`
	// Agent is required: the agent's id (its latest version at each run)
	// or a pinned version. It must exist and not be archived.
	Agent AgentRef `json:"agent"`
	// EnvironmentID is required.
	EnvironmentID string `json:"environment_id"`
	// InitialEvents are sent to each run's session (1 to 50 user messages,
	// outcome definitions and system messages: the InputEvent values of
	// EventsService.Send, such as NewUserMessage("...")).
	InitialEvents []InputEvent `json:"initial_events"`
	// Schedule fires the deployment on a cron schedule; nil makes it
	// manual-only. See [CronSchedule].
	Schedule *DeploymentScheduleParams `json:"schedule,omitempty"`
	// Description is a free-text description.
	Description string `json:"description,omitempty"`
	// Resources are attached to each run's session (at most 500).
	Resources []SessionResourceParams `json:"resources,omitzero"`
	// VaultIDs are vaults each run's session may use (at most 50).
	VaultIDs []string `json:"vault_ids,omitzero"`
	// EnvironmentVariables is an EnvVarMap or an EnvVarString, with the
	// rules of sessions.
	EnvironmentVariables EnvVars `json:"environment_variables,omitempty"`
	// Metadata holds string pairs of your own.
	Metadata map[string]string `json:"metadata,omitzero"`
	// Budget sets each run's spending ceiling.
	Budget SessionBudget `json:"budget,omitzero"`
}

// DeploymentScheduleParams set a deployment's cron schedule. All three
// fields are required; [CronSchedule] fills them.
type DeploymentScheduleParams struct {
	// Type is "cron".
	Type string `json:"type"`
	// Expression is a 5-field POSIX cron expression, such as "0 9 * * 1-5".
	Expression string `json:"expression"`
	// Timezone is an IANA time zone name, such as "Europe/Berlin".
	Timezone string `json:"timezone"`
}

// CronSchedule returns a schedule that fires on expression (5-field POSIX
// cron, matched against the wall clock) in the IANA time zone timezone.
func CronSchedule(expression, timezone string) *DeploymentScheduleParams {
	return &DeploymentScheduleParams{Type: "cron", Expression: expression, Timezone: timezone}
}

// validate checks that the schedule has its three fields. Whether the
// expression and zone are valid is the server's to say.
func (p *DeploymentScheduleParams) validate() error {
	var missing []string
	for _, f := range []struct{ name, value string }{{"type", p.Type}, {"expression", p.Expression}, {"timezone", p.Timezone}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return errInvalidParams("a deployment schedule needs type, expression and timezone; missing %v (use qoder.CronSchedule)", missing)
	}
	return nil
}

// validateDeploymentEvents checks a deployment's initial events: 1 to 50
// user messages, outcome definitions and system messages, each valid.
func validateDeploymentEvents(events []InputEvent) error {
	return validateInitialEvents(events, EventTypeUserMessage, EventTypeUserDefineOutcome, EventTypeSystemMessage)
}

// DeploymentUpdateParams change a deployment. Fields left nil are kept.
type DeploymentUpdateParams struct {
	// Name renames the deployment.
	Name *string `json:"name,omitempty"`
	// Description replaces the description; Ptr("") clears it.
	Description *string `json:"description,omitempty"`
	// Agent changes the agent.
	Agent *AgentRef `json:"agent,omitempty"`
	// EnvironmentID changes the environment.
	EnvironmentID *string `json:"environment_id,omitempty"`
	// Schedule replaces the schedule; all three fields are required.
	Schedule *DeploymentScheduleParams `json:"schedule,omitempty"`
	// InitialEvents replace the list (1 to 50 events; it cannot be
	// cleared).
	InitialEvents []InputEvent `json:"initial_events,omitzero"`
	// Resources replace the list; an empty non-nil slice clears it.
	Resources []SessionResourceParams `json:"resources,omitzero"`
	// VaultIDs replace the list; an empty non-nil slice clears it.
	VaultIDs []string `json:"vault_ids,omitzero"`
	// Metadata is a merge patch: a key with a value upserts it, a key with
	// a nil value deletes it, absent keys are kept.
	Metadata map[string]*string `json:"metadata,omitzero"`
	// EnvironmentVariables replaces the environment variables.
	EnvironmentVariables EnvVars `json:"environment_variables,omitempty"`
	// Budget replaces the spending ceiling.
	Budget *SessionBudget `json:"budget,omitempty"`
}

// DeploymentListParams filter and page [DeploymentsService.List].
type DeploymentListParams struct {
	// Limit is the page size (default 20, at most 1000).
	Limit int `url:"limit,omitempty"`
	// AfterID returns the page after this deployment id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the page before this deployment id.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// Status keeps active or paused deployments; it cannot be combined
	// with IncludeArchived.
	Status DeploymentStatus `url:"status,omitempty"`
	// IncludeArchived includes archived deployments.
	IncludeArchived bool `url:"include_archived,omitempty"`
	// AgentID keeps the deployments of this agent.
	AgentID string `url:"agent_id,omitempty"`
	// CreatedAtGte and CreatedAtLte bound the creation time (inclusive).
	CreatedAtGte time.Time `url:"created_at[gte],omitempty"`
	CreatedAtLte time.Time `url:"created_at[lte],omitempty"`
}
