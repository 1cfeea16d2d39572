package qoder

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"time"
)

// SessionsService manages sessions: one agent version running in one
// environment, holding a stateful conversation. Talk to a session through
// [EventsService].
//
// See https://docs.qoder.com/cloud-agents/sessions.
type SessionsService struct {
	service

	// Resources manages the files and repositories attached to a session.
	Resources *SessionResourcesService
	// Threads reads the threads of a multi-agent session.
	Threads *SessionThreadsService
}

// Create creates a session, which starts idle. If the agent has MCP
// servers, their tools are discovered during this call, which fails when a
// server is unreachable or refuses the credentials of params.VaultIDs.
// params.InitialEvents are checked before anything is sent: at most 50,
// only user messages and outcome definitions, each valid as in a batch of
// EventsService.Send; a broken one fails with ErrInvalidEvent.
//
// API: POST /sessions
func (s *SessionsService) Create(ctx context.Context, params *SessionCreateParams, opts ...RequestOption) (*Session, error) {
	if params == nil {
		return nil, errInvalidParams("session create params are required")
	}
	if len(params.InitialEvents) > 0 {
		if err := validateInitialEvents(params.InitialEvents, EventTypeUserMessage, EventTypeUserDefineOutcome); err != nil {
			return nil, err
		}
	}
	return invoke[Session](ctx, s.client, http.MethodPost, literalPath("sessions"), nil, params, opts)
}

// Get retrieves a session; poll it for Status and Usage.
//
// API: GET /sessions/{session_id}
func (s *SessionsService) Get(ctx context.Context, sessionID string, opts ...RequestOption) (*Session, error) {
	path, err := s.client.path("sessions/{session_id}", sessionID)
	if err != nil {
		return nil, err
	}
	return invoke[Session](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// Update changes the fields of a session that params sets and keeps the
// others. The session emits a session.updated event.
//
// API: POST /sessions/{session_id}
func (s *SessionsService) Update(ctx context.Context, sessionID string, params *SessionUpdateParams, opts ...RequestOption) (*Session, error) {
	path, err := s.client.path("sessions/{session_id}", sessionID)
	if err != nil {
		return nil, err
	}
	if params == nil {
		return nil, errInvalidParams("session update params are required")
	}
	return invoke[Session](ctx, s.client, http.MethodPost, path, nil, params, opts)
}

// List returns one page of sessions, newest first unless params.Order says
// otherwise. Archived sessions are left out unless params.IncludeArchived
// is set. nil params means defaults.
//
// API: GET /sessions
func (s *SessionsService) List(ctx context.Context, params *SessionListParams, opts ...RequestOption) (*Page[Session], error) {
	return invoke[Page[Session]](ctx, s.client, http.MethodGet, literalPath("sessions"), params, nil, opts)
}

// All iterates over every session matching params, fetching pages as the
// loop needs them. params is not modified.
//
// API: GET /sessions
func (s *SessionsService) All(ctx context.Context, params *SessionListParams, opts ...RequestOption) iter.Seq2[Session, error] {
	return listAll(ctx, params, func(ctx context.Context, p *SessionListParams) (*Page[Session], error) {
		return s.List(ctx, p, opts...)
	})
}

// Delete deletes a session and its events permanently. Cancel running work
// first.
//
// API: DELETE /sessions/{session_id}
func (s *SessionsService) Delete(ctx context.Context, sessionID string, opts ...RequestOption) (*DeletedSession, error) {
	return deleteAt[DeletedSession](ctx, s.client, opts, "sessions/{session_id}", sessionID)
}

// Archive archives a session and returns it with ArchivedAt set. An
// archived session accepts no new messages; its history stays readable.
//
// API: POST /sessions/{session_id}/archive
func (s *SessionsService) Archive(ctx context.Context, sessionID string, opts ...RequestOption) (*Session, error) {
	path, err := s.client.path("sessions/{session_id}/archive", sessionID)
	if err != nil {
		return nil, err
	}
	return invoke[Session](ctx, s.client, http.MethodPost, path, nil, nil, opts)
}

// Cancel cancels the session's running turn, if any. The session passes
// through SessionStatusCanceling and settles to idle (stop reason
// "cancelled") asynchronously; it stays usable.
//
// API: POST /sessions/{session_id}/cancel
func (s *SessionsService) Cancel(ctx context.Context, sessionID string, opts ...RequestOption) (*SessionCancelResult, error) {
	path, err := s.client.path("sessions/{session_id}/cancel", sessionID)
	if err != nil {
		return nil, err
	}
	return invoke[SessionCancelResult](ctx, s.client, http.MethodPost, path, nil, nil, opts)
}

// Session is a session.
type Session struct {
	resourceJSON

	// ID is the session's id, "sess_" and 32 hex digits.
	ID string `json:"id"`
	// Type is always "session".
	Type string `json:"type"`
	// Agent is the snapshot of the agent version the session runs.
	Agent Agent `json:"agent"`
	// EnvironmentID is the environment the session runs in.
	EnvironmentID string `json:"environment_id"`
	// Title is the session's title.
	Title string `json:"title"`
	// Metadata holds string pairs of your own.
	Metadata map[string]string `json:"metadata"`
	// Status is the session's state, such as SessionStatusIdle.
	Status SessionStatus `json:"status"`
	// Resources are the files, repositories and memory stores attached.
	Resources []SessionResource `json:"resources"`
	// VaultIDs are the vaults whose credentials the session uses.
	VaultIDs []string `json:"vault_ids"`
	// EnvironmentVariables are the session's environment variables.
	EnvironmentVariables EnvVarMap `json:"environment_variables,omitzero"`
	// Stats are the session's timings.
	Stats SessionStats `json:"stats,omitzero"`
	// Usage is a snapshot of what the session has used so far.
	Usage SessionUsage `json:"usage,omitzero"`
	// DeploymentID is the deployment whose run created the session; empty
	// otherwise.
	DeploymentID string `json:"deployment_id,omitempty"`
	// OutcomeEvaluations are the results of outcome evaluations.
	OutcomeEvaluations []OutcomeEvaluation `json:"outcome_evaluations,omitzero"`
	// Budget is the session's spending limit; zero when it has none.
	Budget SessionBudget `json:"budget,omitzero"`
	// ArchivedAt is when the session was archived; zero if it is not.
	ArchivedAt time.Time `json:"archived_at,omitzero"`
	// CreatedAt is when the session was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the session was last changed.
	UpdatedAt time.Time `json:"updated_at"`

	// AgentID, TurnStatus and MemoryStoreIDs are sent by older API
	// versions only: the agent's id, the state of the current turn, and
	// the attached memory stores.
	AgentID        string        `json:"agent_id,omitempty"`
	TurnStatus     SessionStatus `json:"turn_status,omitempty"`
	MemoryStoreIDs []string      `json:"memory_store_ids,omitzero"`
}

// SessionStatus is the state of a session (or of a thread).
type SessionStatus string

// Session states. A turn moves a session from idle to running and back to
// idle; rescheduling is a transient move of its runtime; terminated is
// final.
const (
	SessionStatusRescheduling SessionStatus = "rescheduling"
	SessionStatusRunning      SessionStatus = "running"
	SessionStatusIdle         SessionStatus = "idle"
	SessionStatusCanceling    SessionStatus = "canceling"
	SessionStatusTerminated   SessionStatus = "terminated"

	// SessionStatusProcessing is the legacy name of running.
	SessionStatusProcessing SessionStatus = "processing"
	// SessionStatusCancelled is a legacy final state after a cancel.
	SessionStatusCancelled SessionStatus = "cancelled"
	// SessionStatusArchived is a legacy final state after an archive.
	SessionStatusArchived SessionStatus = "archived"
)

// SessionStats are a session's timings, in seconds.
type SessionStats struct {
	// ActiveSeconds is the time the session spent running turns.
	ActiveSeconds float64 `json:"active_seconds"`
	// DurationSeconds is the time since the session was created.
	DurationSeconds float64 `json:"duration_seconds"`
}

// SessionUsage is a cumulative snapshot of what a session (or thread) has
// used. TotalCredits is what Qoder documents; the token counters are
// fields of the official SDK's type and are zero unless the API sends
// them. Read it as a snapshot and never add snapshots up.
type SessionUsage struct {
	// TotalCredits is the credits used so far, floored to 2 decimals.
	TotalCredits float64 `json:"total_credits"`

	InputTokens          int                `json:"input_tokens,omitempty"`
	OutputTokens         int                `json:"output_tokens,omitempty"`
	CacheReadInputTokens int                `json:"cache_read_input_tokens,omitempty"`
	CacheCreation        UsageCacheCreation `json:"cache_creation,omitzero"`
	ListCost             float64            `json:"list_cost,omitempty"`
	ActiveSeconds        float64            `json:"active_seconds,omitempty"`
	ServerToolUse        UsageServerToolUse `json:"server_tool_use,omitzero"`
}

// UsageCacheCreation counts the input tokens written to the prompt cache,
// per cache lifetime.
type UsageCacheCreation struct {
	Ephemeral5mInputTokens int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1hInputTokens int `json:"ephemeral_1h_input_tokens"`
}

// UsageServerToolUse counts the server-side tool requests.
type UsageServerToolUse struct {
	WebFetchRequests  int `json:"web_fetch_requests"`
	WebSearchRequests int `json:"web_search_requests"`
}

// OutcomeEvaluation is the result of one evaluation of a session's defined
// outcome.
type OutcomeEvaluation struct {
	// Type names the item's kind.
	Type string `json:"type"`
	// OutcomeID is the outcome evaluated.
	OutcomeID string `json:"outcome_id"`
	// Iteration counts the evaluations of the outcome.
	Iteration int `json:"iteration"`
	// Result is the verdict.
	Result string `json:"result"`
	// Explanation says why.
	Explanation string `json:"explanation"`
	// Description is the outcome's description.
	Description string `json:"description"`
	// CompletedAt is when the evaluation ended.
	CompletedAt time.Time `json:"completed_at,omitzero"`
}

// SessionBudget is a spending ceiling for a session.
type SessionBudget struct {
	// Type is the kind of budget.
	Type string `json:"type"`
	// MaxListCost is the ceiling.
	MaxListCost float64 `json:"max_list_cost"`
}

// AgentRef names the agent a session runs: its latest version when
// Version is 0, else that version. It encodes as the bare id string or as
// {"type":"agent","id":...,"version":N}, and decodes from both.
type AgentRef struct {
	// ID is the agent's id.
	ID string
	// Version pins a version; 0 means the latest.
	Version int
}

// MarshalJSON encodes the bare id when Version is 0, else an object.
func (r AgentRef) MarshalJSON() ([]byte, error) {
	if r.Version == 0 {
		return json.Marshal(r.ID)
	}
	return json.Marshal(agentRefObject{Type: "agent", ID: r.ID, Version: r.Version})
}

// UnmarshalJSON decodes an agent id string or an agent reference object.
func (r *AgentRef) UnmarshalJSON(data []byte) error {
	switch jsonKind(data) {
	case 'n':
		return nil
	case '"':
		*r = AgentRef{}
		return json.Unmarshal(data, &r.ID)
	}
	var obj agentRefObject
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	*r = AgentRef{ID: obj.ID, Version: obj.Version}
	return nil
}

// EnvVars is the value of the environment_variables request field: an
// [EnvVarMap], sent as a JSON object as the official SDK and the documented
// request body do, or an [EnvVarString], sent as the "KEY=VALUE;..."
// string the newest reference describes. Names must match
// [A-Za-z_][A-Za-z0-9_]*; SERVER_ENDPOINT, USER_ID, WORK_DIR and the
// prefixes CAW_ and QODER_ are reserved. The variables are exported to
// login shells only, so the Bash tool sees them through bash -lc.
type EnvVars interface {
	envVars()
}

// EnvVarMap holds environment variables by name. As an [EnvVars] it is
// sent as a JSON object. It decodes from an object or from a
// "KEY=VALUE;..." string.
type EnvVarMap map[string]string

func (EnvVarMap) envVars() {}

// UnmarshalJSON decodes an object of strings, or a string of KEY=VALUE
// pairs separated by ";" or newlines.
func (m *EnvVarMap) UnmarshalJSON(data []byte) error {
	switch jsonKind(data) {
	case 'n':
		return nil
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		parsed, err := EnvVarString(s).Map()
		if err != nil {
			return err
		}
		*m = parsed
		return nil
	}
	var obj map[string]string
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	*m = obj
	return nil
}

// EnvVarString holds environment variables as "KEY=VALUE" pairs separated
// by ";" or newlines, such as "LOG_LEVEL=debug;FEATURE_FLAG=on". As an
// [EnvVars] it is sent as that string.
type EnvVarString string

func (EnvVarString) envVars() {}

// Map parses the pairs. Empty pairs are skipped; a pair without "=" is an
// error. A value cannot contain ";" or a newline.
func (s EnvVarString) Map() (EnvVarMap, error) {
	m := make(EnvVarMap)
	for pair := range strings.FieldsFuncSeq(string(s), func(r rune) bool { return r == ';' || r == '\n' || r == '\r' }) {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		name, value, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("qoder: environment variable %q is not KEY=VALUE", pair)
		}
		m[strings.TrimSpace(name)] = value
	}
	return m, nil
}

// DeletedSession is the reply to [SessionsService.Delete].
type DeletedSession struct {
	resourceJSON

	// ID is the deleted session's id.
	ID string `json:"id"`
	// Type names the reply's kind, such as "session_deleted".
	Type string `json:"type"`
	// Deleted is true in replies of older API versions.
	Deleted bool `json:"deleted,omitempty"`
}

// SessionCancelResult is the reply to [SessionsService.Cancel].
type SessionCancelResult struct {
	resourceJSON

	// ID is the session's id.
	ID string `json:"id"`
	// Type is "session".
	Type string `json:"type"`
	// Status is the session's state after the request, normally
	// SessionStatusCanceling.
	Status SessionStatus `json:"status"`
}

// SessionCreateParams are the fields of a new session.
type SessionCreateParams struct {
	// Agent is required: the agent, by id and optional version.
	Agent AgentRef `json:"agent"`
	// EnvironmentID is required: an environment that is not archived.
	EnvironmentID string `json:"environment_id"`
	// Title is the session's title.
	Title string `json:"title,omitempty"`
	// Metadata holds string pairs of your own.
	Metadata map[string]string `json:"metadata,omitzero"`
	// Resources are attached when the session starts.
	Resources []SessionResourceParams `json:"resources,omitzero"`
	// VaultIDs are vaults whose credentials the session may use (MCP
	// authentication, secrets).
	VaultIDs []string `json:"vault_ids,omitzero"`
	// EnvironmentVariables is an EnvVarMap or an EnvVarString.
	EnvironmentVariables EnvVars `json:"environment_variables,omitempty"`
	// InitialEvents (at most 50: UserMessage and UserDefineOutcome only,
	// checked before sending) are processed in order once the session
	// exists, as if sent with EventsService.Send.
	InitialEvents []InputEvent `json:"initial_events,omitzero"`
	// Budget sets a spending ceiling.
	Budget SessionBudget `json:"budget,omitzero"`
}

// SessionUpdateParams change a session. Fields left nil or zero are kept.
type SessionUpdateParams struct {
	// Title replaces the title; Ptr("") clears it.
	Title *string `json:"title,omitempty"`
	// Metadata patches the metadata: a key with a value sets it, a key with
	// a nil value deletes it, and absent keys are kept.
	Metadata map[string]*string `json:"metadata,omitzero"`
	// EnvironmentVariables replaces the environment variables.
	EnvironmentVariables EnvVars `json:"environment_variables,omitempty"`
	// Agent changes the tools and MCP servers of the session's agent.
	Agent SessionAgentUpdate `json:"agent,omitzero"`
	// Budget replaces the spending ceiling.
	Budget SessionBudget `json:"budget,omitzero"`
}

// SessionAgentUpdate changes a running session's agent: only its tools and
// MCP servers can change. Each replaces the whole list when non-nil; an
// empty non-nil slice clears it.
type SessionAgentUpdate struct {
	Tools      []AgentTool `json:"tools,omitzero"`
	MCPServers []MCPServer `json:"mcp_servers,omitzero"`
}

// SessionListParams filter and page [SessionsService.List].
type SessionListParams struct {
	// Limit is the page size (default 20, at most 100).
	Limit int `url:"limit,omitempty"`
	// AfterID returns the page after this session id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the page before this session id.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// Order is "asc" or "desc" (the default) by creation time.
	Order string `url:"order,omitempty"`
	// AgentID keeps the sessions of this agent.
	AgentID string `url:"agent_id,omitempty"`
	// AgentVersion keeps the sessions of this version of AgentID.
	AgentVersion int `url:"agent_version,omitempty"`
	// DeploymentID keeps the sessions created by this deployment.
	DeploymentID string `url:"deployment_id,omitempty"`
	// MemoryStoreID keeps the sessions with this memory store attached.
	MemoryStoreID string `url:"memory_store_id,omitempty"`
	// Statuses keeps the sessions in any of these states; sent as
	// statuses[]=... once per state.
	Statuses []SessionStatus `url:"statuses,brackets,omitempty"`
	// IncludeArchived includes archived sessions.
	IncludeArchived bool `url:"include_archived,omitempty"`
	// CreatedAtGt, CreatedAtGte, CreatedAtLt and CreatedAtLte bound the
	// creation time (exclusive and inclusive).
	CreatedAtGt  time.Time `url:"created_at[gt],omitempty"`
	CreatedAtGte time.Time `url:"created_at[gte],omitempty"`
	CreatedAtLt  time.Time `url:"created_at[lt],omitempty"`
	CreatedAtLte time.Time `url:"created_at[lte],omitempty"`
}

// agentRefObject is the object form of an [AgentRef].
type agentRefObject struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Version int    `json:"version,omitempty"`
}
