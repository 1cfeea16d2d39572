package qoder

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// DeploymentRunsService reads the runs of every deployment. The runs of one
// deployment are also under [DeploymentsService].Runs.
type DeploymentRunsService service

// Get retrieves a run of any deployment.
//
// API: GET /deployment_runs/{run_id}
func (s *DeploymentRunsService) Get(ctx context.Context, runID string, opts ...RequestOption) (*DeploymentRun, error) {
	path, err := s.client.path("deployment_runs/{run_id}", runID)
	if err != nil {
		return nil, err
	}
	return invoke[DeploymentRun](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// List returns one page of runs across deployments, newest first;
// params.DeploymentID keeps one deployment's (an unknown id gives an empty
// page). nil params means defaults.
//
// API: GET /deployment_runs
func (s *DeploymentRunsService) List(ctx context.Context, params *DeploymentRunListParams, opts ...RequestOption) (*Page[DeploymentRun], error) {
	return invoke[Page[DeploymentRun]](ctx, s.client, http.MethodGet, literalPath("deployment_runs"), params, nil, opts)
}

// All iterates over every run matching params, fetching pages as the loop
// needs them. params is not modified.
//
// API: GET /deployment_runs
func (s *DeploymentRunsService) All(ctx context.Context, params *DeploymentRunListParams, opts ...RequestOption) iter.Seq2[DeploymentRun, error] {
	return listAll(ctx, params, func(ctx context.Context, p *DeploymentRunListParams) (*Page[DeploymentRun], error) {
		return s.List(ctx, p, opts...)
	})
}

// Wait polls a run with a growing interval until it ends (completed,
// failed or skipped) and returns it; a failed run is returned with a nil
// error and its Error set. It honours ctx: when ctx ends it returns
// ctx.Err() with the last run it read. Once the run has a session,
// params.OnSession (if set) is called once with it, so the caller can
// follow the session's events with [EventsService.Stream] while Wait goes
// on. nil params means the default intervals.
//
// API: GET /deployment_runs/{run_id} (repeatedly)
func (s *DeploymentRunsService) Wait(ctx context.Context, runID string, params *WaitParams, opts ...RequestOption) (*DeploymentRun, error) {
	if _, err := s.client.path("deployment_runs/{run_id}", runID); err != nil {
		return nil, err
	}
	return pollUntil(ctx, s.client, params,
		func(ctx context.Context) (*DeploymentRun, error) { return s.Get(ctx, runID, opts...) },
		func(r *DeploymentRun) (string, bool) { return r.SessionID, r.Done() })
}

// DeploymentsRunsService reads the runs of one deployment. It is reached
// as client.Deployments.Runs; [DeploymentRunsService] reads runs across
// deployments.
type DeploymentsRunsService service

// Get retrieves a run of a deployment.
//
// API: GET /deployments/{deployment_id}/runs/{run_id}
func (s *DeploymentsRunsService) Get(ctx context.Context, deploymentID, runID string, opts ...RequestOption) (*DeploymentRun, error) {
	path, err := s.client.path("deployments/{deployment_id}/runs/{run_id}", deploymentID, runID)
	if err != nil {
		return nil, err
	}
	return invoke[DeploymentRun](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// List returns one page of a deployment's runs, newest first. nil params
// means defaults; params.DeploymentID must be empty or deploymentID.
//
// API: GET /deployments/{deployment_id}/runs
func (s *DeploymentsRunsService) List(ctx context.Context, deploymentID string, params *DeploymentRunListParams, opts ...RequestOption) (*Page[DeploymentRun], error) {
	path, err := s.client.path("deployments/{deployment_id}/runs", deploymentID)
	if err != nil {
		return nil, err
	}
	if params != nil && params.DeploymentID != "" && params.DeploymentID != deploymentID {
		return nil, errInvalidParams("runs of deployment %q: params.DeploymentID is %q", deploymentID, params.DeploymentID)
	}
	return invoke[Page[DeploymentRun]](ctx, s.client, http.MethodGet, path, params, nil, opts)
}

// All iterates over every run of a deployment matching params, fetching
// pages as the loop needs them. params is not modified.
//
// API: GET /deployments/{deployment_id}/runs
func (s *DeploymentsRunsService) All(ctx context.Context, deploymentID string, params *DeploymentRunListParams, opts ...RequestOption) iter.Seq2[DeploymentRun, error] {
	return listAll(ctx, params, func(ctx context.Context, p *DeploymentRunListParams) (*Page[DeploymentRun], error) {
		return s.List(ctx, deploymentID, p, opts...)
	})
}

// DeploymentRunStatus is where a run is in its life.
type DeploymentRunStatus string

// Run statuses: pending → running → completed | failed, or skipped when
// the deployment's concurrency limit was hit.
const (
	DeploymentRunPending   DeploymentRunStatus = "pending"
	DeploymentRunRunning   DeploymentRunStatus = "running"
	DeploymentRunCompleted DeploymentRunStatus = "completed"
	DeploymentRunFailed    DeploymentRunStatus = "failed"
	DeploymentRunSkipped   DeploymentRunStatus = "skipped"
)

// DeploymentTriggerType is what started a run.
type DeploymentTriggerType string

// Trigger types.
const (
	DeploymentTriggerManual   DeploymentTriggerType = "manual"
	DeploymentTriggerSchedule DeploymentTriggerType = "schedule"
	DeploymentTriggerRetry    DeploymentTriggerType = "retry"
)

// DeploymentRun is one run of a deployment.
type DeploymentRun struct {
	resourceJSON

	// ID is the run's id, "drun_…".
	ID string `json:"id"`
	// Type is always "deployment_run".
	Type string `json:"type"`
	// DeploymentID is the deployment the run belongs to.
	DeploymentID string `json:"deployment_id"`
	// Agent is the agent version the run uses.
	Agent AgentRef `json:"agent"`
	// Status is where the run is; recorded responses of some API
	// versions leave it out (see [DeploymentRun.Done]).
	Status DeploymentRunStatus `json:"status,omitempty"`
	// Error says why a failed run failed; nil otherwise.
	Error *DeploymentRunError `json:"error"`
	// TriggerContext says what started the run.
	TriggerContext DeploymentTriggerContext `json:"trigger_context"`
	// SessionID is the run's session, once it exists.
	SessionID string `json:"session_id,omitempty"`
	// TriggeredAt is when the run was triggered.
	TriggeredAt time.Time `json:"triggered_at,omitzero"`
	// CreatedAt is when the run was recorded.
	CreatedAt time.Time `json:"created_at"`
	// CompletedAt is when the run ended; zero until then.
	CompletedAt time.Time `json:"completed_at,omitzero"`
	// DurationMS is how long a completed run took, in milliseconds.
	DurationMS int64 `json:"duration_ms,omitempty"`
	// CASRunExtras are the scheduler's details of the attempt.
	CASRunExtras DeploymentRunExtras `json:"cas_run_extras,omitzero"`
}

// Done reports whether the run has ended: its status is completed, failed
// or skipped, or (for a response without a status) it has an error or a
// completion time.
func (r *DeploymentRun) Done() bool {
	switch r.Status {
	case DeploymentRunCompleted, DeploymentRunFailed, DeploymentRunSkipped:
		return true
	case "":
		return r.Error != nil || !r.CompletedAt.IsZero()
	}
	return false
}

// DeploymentRunErrorType says why a run failed. The wire strings are
// inferred from the official SDK's type names (ManagedAgentsAgentArchivedRunError
// is "agent_archived"); any other value is a newer cause.
type DeploymentRunErrorType string

// Reasons a run fails.
const (
	RunErrorAgentArchived                  DeploymentRunErrorType = "agent_archived"
	RunErrorEnvironmentArchived            DeploymentRunErrorType = "environment_archived"
	RunErrorEnvironmentNotFound            DeploymentRunErrorType = "environment_not_found"
	RunErrorFileNotFound                   DeploymentRunErrorType = "file_not_found"
	RunErrorMCPEgressBlocked               DeploymentRunErrorType = "mcp_egress_blocked"
	RunErrorMemoryStoreArchived            DeploymentRunErrorType = "memory_store_archived"
	RunErrorOrganizationDisabled           DeploymentRunErrorType = "organization_disabled"
	RunErrorSelfHostedResourcesUnsupported DeploymentRunErrorType = "self_hosted_resources_unsupported"
	RunErrorSessionCreationRejected        DeploymentRunErrorType = "session_creation_rejected"
	RunErrorSessionRateLimited             DeploymentRunErrorType = "session_rate_limited"
	RunErrorSessionResourceNotFound        DeploymentRunErrorType = "session_resource_not_found"
	RunErrorSkillNotFound                  DeploymentRunErrorType = "skill_not_found"
	RunErrorVaultArchived                  DeploymentRunErrorType = "vault_archived"
	RunErrorVaultNotFound                  DeploymentRunErrorType = "vault_not_found"
	RunErrorWorkspaceArchived              DeploymentRunErrorType = "workspace_archived"
	RunErrorUnknown                        DeploymentRunErrorType = "unknown"
)

// DeploymentRunError says why a run failed.
type DeploymentRunError struct {
	// Type names the cause; see the RunError constants.
	Type DeploymentRunErrorType `json:"type"`
	// Message describes it.
	Message string `json:"message"`
}

// DeploymentTriggerContext says what started a run.
type DeploymentTriggerContext struct {
	// Type is manual, schedule or retry.
	Type DeploymentTriggerType `json:"type"`
	// ScheduledAt is the schedule's firing time (schedule).
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
}

// DeploymentRunExtras are the scheduler's details of a run's attempt.
type DeploymentRunExtras struct {
	// Attempt counts the attempts, from 1.
	Attempt int `json:"attempt,omitempty"`
	// TurnID is the turn the run started.
	TurnID string `json:"turn_id,omitempty"`
	// StartedAt is when the attempt started.
	StartedAt time.Time `json:"started_at,omitzero"`
}

// DeploymentRunListParams filter and page the lists of runs
// ([DeploymentRunsService.List] and [DeploymentsRunsService.List]).
type DeploymentRunListParams struct {
	// Limit is the page size (default 20, at most 1000).
	Limit int `url:"limit,omitempty"`
	// AfterID returns the page after this run id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the page before this run id.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// DeploymentID keeps one deployment's runs. The runs of one
	// deployment (DeploymentsRunsService) take it from the path; there it
	// must be empty or the same id.
	DeploymentID string `url:"deployment_id,omitempty"`
	// Status keeps the runs in this state.
	Status DeploymentRunStatus `url:"status,omitempty"`
	// TriggerType keeps the runs started this way.
	TriggerType DeploymentTriggerType `url:"trigger_type,omitempty"`
	// HasError keeps the runs with (true) or without (false) an error;
	// nil keeps both.
	HasError *bool `url:"has_error,omitempty"`
	// CreatedAtGt, CreatedAtGte, CreatedAtLt and CreatedAtLte bound the
	// creation time (exclusive and inclusive).
	CreatedAtGt  time.Time `url:"created_at[gt],omitempty"`
	CreatedAtGte time.Time `url:"created_at[gte],omitempty"`
	CreatedAtLt  time.Time `url:"created_at[lt],omitempty"`
	CreatedAtLte time.Time `url:"created_at[lte],omitempty"`
}
