package qoder

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"time"
)

// AgentsService manages agents: reusable, versioned configurations of a
// model, a system prompt, tools, MCP servers and skills. Every update
// creates a new version; a session keeps the version it was created with.
//
// See https://docs.qoder.com/cloud-agents/define-agent.
type AgentsService struct {
	service

	// Versions lists the versions of an agent.
	Versions *AgentVersionsService
}

// Create creates an agent at version 1. If its tools contain the browser
// toolset, pass WithBeta(BetaBrowserUse).
//
// API: POST /agents
func (s *AgentsService) Create(ctx context.Context, params *AgentCreateParams, opts ...RequestOption) (*Agent, error) {
	if params == nil {
		return nil, errInvalidParams("agent create params are required")
	}
	return invoke[Agent](ctx, s.client, http.MethodPost, literalPath("agents"), nil, params, opts)
}

// Get retrieves the latest version of an agent. Archived agents can still
// be retrieved.
//
// API: GET /agents/{agent_id}
func (s *AgentsService) Get(ctx context.Context, agentID string, opts ...RequestOption) (*Agent, error) {
	path, err := s.client.path("agents/{agent_id}", agentID)
	if err != nil {
		return nil, err
	}
	return invoke[Agent](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// GetVersion retrieves version n (1 or more) of an agent.
//
// API: GET /agents/{agent_id}?version={n}
func (s *AgentsService) GetVersion(ctx context.Context, agentID string, n int, opts ...RequestOption) (*Agent, error) {
	path, err := s.client.path("agents/{agent_id}", agentID)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, errInvalidParams("agent version must be 1 or more")
	}
	return invoke[Agent](ctx, s.client, http.MethodGet, path, &agentGetQuery{Version: n}, nil, opts)
}

// Update changes an agent and returns it at its next version.
// params.Version must be the agent's current version: a stale one fails
// with ErrConflict, after which re-read the agent and try again. If the new
// tools contain the browser toolset, pass WithBeta(BetaBrowserUse).
//
// API: POST /agents/{agent_id}
func (s *AgentsService) Update(ctx context.Context, agentID string, params *AgentUpdateParams, opts ...RequestOption) (*Agent, error) {
	path, err := s.client.path("agents/{agent_id}", agentID)
	if err != nil {
		return nil, err
	}
	if params == nil {
		return nil, errInvalidParams("agent update params are required")
	}
	return invoke[Agent](ctx, s.client, http.MethodPost, path, nil, params, opts)
}

// List returns one page of agents, newest first. Archived agents are left
// out unless params.IncludeArchived is set. nil params means defaults.
//
// API: GET /agents
func (s *AgentsService) List(ctx context.Context, params *AgentListParams, opts ...RequestOption) (*Page[Agent], error) {
	return invoke[Page[Agent]](ctx, s.client, http.MethodGet, literalPath("agents"), params, nil, opts)
}

// All iterates over every agent matching params, fetching pages as the
// loop needs them. params is not modified.
//
// API: GET /agents
func (s *AgentsService) All(ctx context.Context, params *AgentListParams, opts ...RequestOption) iter.Seq2[Agent, error] {
	return listAll(ctx, params, func(ctx context.Context, p *AgentListParams) (*Page[Agent], error) {
		return s.List(ctx, p, opts...)
	})
}

// Delete deletes an agent. It need not be archived first; sessions created
// from it are unaffected.
//
// API: DELETE /agents/{agent_id}
func (s *AgentsService) Delete(ctx context.Context, agentID string, opts ...RequestOption) (*DeletedAgent, error) {
	return deleteAt[DeletedAgent](ctx, s.client, opts, "agents/{agent_id}", agentID)
}

// Archive archives an agent and returns it with ArchivedAt set. Archived
// agents are hidden from List and cannot start new sessions; existing
// sessions are unaffected.
//
// API: POST /agents/{agent_id}/archive
func (s *AgentsService) Archive(ctx context.Context, agentID string, opts ...RequestOption) (*Agent, error) {
	path, err := s.client.path("agents/{agent_id}/archive", agentID)
	if err != nil {
		return nil, err
	}
	return invoke[Agent](ctx, s.client, http.MethodPost, path, nil, nil, opts)
}

// AgentVersionsService lists the versions of an agent.
type AgentVersionsService service

// List returns one page of an agent's versions, newest first. Each item is
// the agent as it was at that version. nil params means defaults.
//
// API: GET /agents/{agent_id}/versions
func (s *AgentVersionsService) List(ctx context.Context, agentID string, params *AgentVersionListParams, opts ...RequestOption) (*Page[Agent], error) {
	path, err := s.client.path("agents/{agent_id}/versions", agentID)
	if err != nil {
		return nil, err
	}
	return invoke[Page[Agent]](ctx, s.client, http.MethodGet, path, params, nil, opts)
}

// All iterates over every version of an agent, newest first. params is not
// modified.
//
// API: GET /agents/{agent_id}/versions
func (s *AgentVersionsService) All(ctx context.Context, agentID string, params *AgentVersionListParams, opts ...RequestOption) iter.Seq2[Agent, error] {
	return listAll(ctx, params, func(ctx context.Context, p *AgentVersionListParams) (*Page[Agent], error) {
		return s.List(ctx, agentID, p, opts...)
	})
}

// Agent is an agent, or one version of it.
type Agent struct {
	resourceJSON

	// ID is the agent's id, "agent_" and 32 hex digits.
	ID string `json:"id"`
	// Type is always "agent".
	Type string `json:"type"`
	// Name is the agent's name (1–256 characters).
	Name string `json:"name"`
	// Description is a free-text description (up to 2048 characters).
	Description string `json:"description"`
	// Model is the model the agent runs on.
	Model ModelConfig `json:"model"`
	// System is the system prompt (up to 100,000 characters).
	System string `json:"system"`
	// Tools are the tools the model may call; with none it has no tools.
	Tools []AgentTool `json:"tools"`
	// MCPServers are the MCP servers the agent's mcp_toolset entries use.
	MCPServers []MCPServer `json:"mcp_servers"`
	// Skills are the skills bound to the agent.
	Skills []SkillBinding `json:"skills"`
	// Metadata holds up to 16 string pairs of your own.
	Metadata map[string]string `json:"metadata"`
	// Multiagent makes the agent a coordinator of other agents; zero when
	// the agent works alone (the API sends null).
	Multiagent Multiagent `json:"multiagent,omitzero"`
	// Version starts at 1 and grows by one with each update.
	Version int `json:"version"`
	// Archived is true once the agent is archived (not sent by every
	// deployment; ArchivedAt is authoritative).
	Archived bool `json:"archived,omitempty"`
	// ArchivedAt is when the agent was archived; zero if it is not.
	ArchivedAt time.Time `json:"archived_at,omitzero"`
	// CreatedAt is when the agent was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the agent (or, for a version, that version) was
	// last changed.
	UpdatedAt time.Time `json:"updated_at"`

	// Instructions mirrors System in responses of older API versions.
	Instructions string `json:"instructions,omitempty"`
	// DefaultEnvironment is an environment id older API versions returned.
	DefaultEnvironment string `json:"default_environment,omitempty"`
}

// ModelConfig selects an agent's model. It encodes as the bare model id
// when only ID is set, which is the form every model accepts, and as an
// object otherwise; it decodes from either form. Valid efforts and context
// windows come from [ModelsService.List]; models without efforts (such as
// "auto") accept only the bare id.
type ModelConfig struct {
	// ID is the model id, such as "ultimate" or "auto".
	ID string `json:"id"`
	// Effort is the reasoning effort, one of the model's Efforts.
	Effort ModelEffort `json:"effort,omitempty"`
	// ContextWindow is the context window in tokens, one of the model's
	// AvailableContextWindows.
	ContextWindow int `json:"context_window,omitempty"`
	// InferenceGeo is where inference runs (official SDK field; not
	// documented by Qoder).
	InferenceGeo string `json:"inference_geo,omitempty"`
	// Speed is the inference speed tier (official SDK field; not documented
	// by Qoder).
	Speed string `json:"speed,omitempty"`
	// EffectiveContextWindow is the context window the server resolved.
	// It is read from responses and never sent, so a ModelConfig read from
	// an agent can be passed back unchanged.
	EffectiveContextWindow int `json:"effective_context_window,omitempty"`
}

// MarshalJSON encodes the bare id when only ID is set, else an object;
// EffectiveContextWindow is left out.
func (m ModelConfig) MarshalJSON() ([]byte, error) {
	m.EffectiveContextWindow = 0
	if m == (ModelConfig{ID: m.ID}) {
		return json.Marshal(m.ID)
	}
	type plain ModelConfig
	return json.Marshal(plain(m))
}

// UnmarshalJSON decodes a model id string or a model object.
func (m *ModelConfig) UnmarshalJSON(data []byte) error {
	switch jsonKind(data) {
	case 'n':
		return nil
	case '"':
		*m = ModelConfig{}
		return json.Unmarshal(data, &m.ID)
	}
	type plain ModelConfig
	return json.Unmarshal(data, (*plain)(m))
}

// Multiagent makes an agent the coordinator of a roster of agents: the
// session's primary thread runs the coordinator, which starts child
// threads running roster agents.
//
// See https://docs.qoder.com/cloud-agents/managed-agents.
type Multiagent struct {
	// Type is MultiagentCoordinator.
	Type string `json:"type"`
	// Agents is the roster.
	Agents []MultiagentAgent `json:"agents"`
}

// MultiagentCoordinator is the only [Multiagent] type.
const MultiagentCoordinator = "coordinator"

// MultiagentAgent is one roster entry of a [Multiagent] coordinator. An
// entry with an empty Type and only ID set encodes as the bare agent id
// (the latest version of that agent); any other entry encodes as an object,
// with Type "agent" when Type is empty. Both forms decode.
type MultiagentAgent struct {
	// Type is the kind of entry, such as MultiagentAgentTypeAgent; empty
	// for an entry given as a bare agent id.
	Type MultiagentAgentType `json:"type,omitempty"`
	// ID is the agent's id (type agent).
	ID string `json:"id,omitempty"`
	// Version pins the agent's version (type agent); 0 means the latest.
	Version int `json:"version,omitempty"`
	// Name is the name the coordinator knows the agent by (type agent).
	Name string `json:"name,omitempty"`
	// Model is the advisor's model (type advisor), or in a session's
	// snapshot the roster agent's model.
	Model ModelConfig `json:"model,omitzero"`

	// Description, System, Tools, MCPServers and Skills are filled in a
	// session's agent snapshot, which carries each roster agent in full.
	Description string         `json:"description,omitempty"`
	System      string         `json:"system,omitempty"`
	Tools       []AgentTool    `json:"tools,omitzero"`
	MCPServers  []MCPServer    `json:"mcp_servers,omitzero"`
	Skills      []SkillBinding `json:"skills,omitzero"`
}

// MultiagentAgentType is the kind of a [MultiagentAgent].
type MultiagentAgentType string

// Roster entry types.
const (
	// MultiagentAgentTypeAgent is another agent, by id.
	MultiagentAgentTypeAgent MultiagentAgentType = "agent"
	// MultiagentAgentTypeSelf is the coordinator agent itself.
	MultiagentAgentTypeSelf MultiagentAgentType = "self"
	// MultiagentAgentTypeAdvisor is a bare model the coordinator consults.
	MultiagentAgentTypeAdvisor MultiagentAgentType = "advisor"
)

// MarshalJSON encodes the bare id for an id-only entry, else an object.
func (a MultiagentAgent) MarshalJSON() ([]byte, error) {
	type plain MultiagentAgent
	p := plain(a)
	if p.Type == "" {
		if p.ID != "" && isZeroExceptID(a) {
			return json.Marshal(p.ID)
		}
		p.Type = MultiagentAgentTypeAgent
	}
	return json.Marshal(p)
}

// UnmarshalJSON decodes an agent id string or a roster entry object.
func (a *MultiagentAgent) UnmarshalJSON(data []byte) error {
	switch jsonKind(data) {
	case 'n':
		return nil
	case '"':
		*a = MultiagentAgent{}
		return json.Unmarshal(data, &a.ID)
	}
	type plain MultiagentAgent
	return json.Unmarshal(data, (*plain)(a))
}

// DeletedAgent is the reply to [AgentsService.Delete].
type DeletedAgent struct {
	resourceJSON

	// ID is the deleted agent's id.
	ID string `json:"id"`
	// Type names the reply's kind, such as "agent_deleted".
	Type string `json:"type"`
	// Deleted is true in replies of older API versions.
	Deleted bool `json:"deleted,omitempty"`
}

// AgentCreateParams are the fields of a new agent.
type AgentCreateParams struct {
	// Name is required (1–256 characters).
	Name string `json:"name"`
	// Model is required: ModelConfig{ID: "ultimate"}, or with Effort and
	// ContextWindow.
	Model ModelConfig `json:"model"`
	// System is the system prompt.
	System string `json:"system,omitempty"`
	// Description is a free-text description.
	Description string `json:"description,omitempty"`
	// Tools are the tools the model may call (at most 128). Without any
	// the model has no tools.
	Tools []AgentTool `json:"tools,omitzero"`
	// MCPServers are MCP servers (at most 20, unique names), each of which
	// an MCPToolset entry of Tools must reference.
	MCPServers []MCPServer `json:"mcp_servers,omitzero"`
	// Skills binds skills (at most 20).
	Skills []SkillBinding `json:"skills,omitzero"`
	// Metadata holds up to 16 string pairs of your own.
	Metadata map[string]string `json:"metadata,omitzero"`
	// Multiagent makes the agent a coordinator.
	Multiagent Multiagent `json:"multiagent,omitzero"`
}

// AgentUpdateParams change an agent. Fields left nil or zero are kept.
// Tools, MCPServers and Skills replace the whole list when non-nil: nil
// keeps the list, an empty non-nil slice (such as []qoder.AgentTool{})
// clears it.
type AgentUpdateParams struct {
	// Version is required: the agent's current version. It is always sent.
	Version int `json:"version"`
	// Name renames the agent.
	Name *string `json:"name,omitempty"`
	// Model changes the model; the zero value keeps it.
	Model ModelConfig `json:"model,omitzero"`
	// System replaces the system prompt; Ptr("") clears it.
	System *string `json:"system,omitempty"`
	// Description replaces the description; Ptr("") clears it.
	Description *string `json:"description,omitempty"`
	// Tools replaces the tools when non-nil.
	Tools []AgentTool `json:"tools,omitzero"`
	// MCPServers replaces the MCP servers when non-nil.
	MCPServers []MCPServer `json:"mcp_servers,omitzero"`
	// Skills replaces the skills when non-nil.
	Skills []SkillBinding `json:"skills,omitzero"`
	// Metadata patches the metadata: a key with a value sets it, a key with
	// a nil value deletes it, and absent keys are kept.
	Metadata map[string]*string `json:"metadata,omitzero"`
	// Multiagent replaces the coordinator configuration with Set(...) and
	// removes it with Null[Multiagent](), making the agent work alone; the
	// zero value keeps it.
	Multiagent Nullable[Multiagent] `json:"multiagent,omitzero"`
}

// AgentListParams filter and page [AgentsService.List].
type AgentListParams struct {
	// Limit is the page size (default 20, at most 100).
	Limit int `url:"limit,omitempty"`
	// AfterID returns the page after this agent id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the page before this agent id.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
	// IncludeArchived includes archived agents.
	IncludeArchived bool `url:"include_archived,omitempty"`
	// CreatedAtGte keeps agents created at or after this time.
	CreatedAtGte time.Time `url:"created_at[gte],omitempty"`
	// CreatedAtLte keeps agents created at or before this time.
	CreatedAtLte time.Time `url:"created_at[lte],omitempty"`
}

// AgentVersionListParams page [AgentVersionsService.List]. Its id cursors
// are version numbers written as strings, such as "2".
type AgentVersionListParams struct {
	// Limit is the page size (default 20, at most 100).
	Limit int `url:"limit,omitempty"`
	// AfterID returns the versions after (older than) this version number.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the versions before (newer than) this version
	// number.
	BeforeID string `url:"before_id,omitempty"`
	// Page is an opaque page token from Page.NextPage.
	Page string `url:"page,omitempty"`
}

// agentGetQuery is the query of [AgentsService.GetVersion].
type agentGetQuery struct {
	Version int `url:"version"`
}

// jsonKind returns the first byte of a JSON value: '"' for a string, 'n'
// for null, '{' for an object, and so on.
func jsonKind(data []byte) byte {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return 0
	}
	return data[0]
}

// isZeroExceptID reports whether every field of a but ID is zero.
func isZeroExceptID(a MultiagentAgent) bool {
	return a.Type == "" && a.Version == 0 && a.Name == "" && a.Model == (ModelConfig{}) &&
		a.Description == "" && a.System == "" && a.Tools == nil && a.MCPServers == nil && a.Skills == nil
}
