package qoder

import (
	"encoding/json"
	"fmt"
)

// AgentTool is one entry of an agent's tools: a union discriminated by
// Type. Build entries with [AgentToolset], [BrowserToolset], [MCPToolset]
// and [CustomTool], or fill the fields of the variant directly; fields that
// do not belong to the entry's Type stay empty.
//
// See https://docs.qoder.com/cloud-agents/tools.
type AgentTool struct {
	// Type selects the variant, such as AgentToolTypeAgentToolset. A type
	// this SDK does not know decodes with only the fields it shares with
	// the known variants.
	Type AgentToolType `json:"type"`

	// EnabledTools is the allowlist of built-in tools (agent_toolset only),
	// such as ToolBash. Empty enables every built-in tool; a non-empty list
	// hides the others from the model. Unknown names are rejected.
	EnabledTools []string `json:"enabled_tools,omitzero"`
	// DisallowedTools is the denylist of built-in tools (agent_toolset
	// only). A tool may not appear in both lists.
	DisallowedTools []string `json:"disallowed_tools,omitzero"`

	// MCPServerName names the agent's MCP server whose tools this entry
	// exposes (mcp_toolset only); it must equal an MCPServer.Name.
	MCPServerName string `json:"mcp_server_name,omitempty"`

	// Configs overrides individual tools (agent_toolset and mcp_toolset).
	Configs []ToolConfig `json:"configs,omitzero"`
	// DefaultConfig applies to every tool of the toolset that Configs does
	// not override (agent_toolset and mcp_toolset).
	DefaultConfig ToolDefaultConfig `json:"default_config,omitzero"`

	// Name is the tool's name (custom only): 1–128 letters, digits, "_" or
	// "-".
	Name string `json:"name,omitempty"`
	// Description tells the model what the tool does (custom only).
	Description string `json:"description,omitempty"`
	// InputSchema is the JSON Schema of the tool's input (custom only),
	// an object schema with "type", "properties" and "required".
	InputSchema json.RawMessage `json:"input_schema,omitzero"`

	// err is a failure of CustomTool to encode its schema, reported when
	// the tool is marshalled.
	err error
}

// AgentToolType is the discriminator of an [AgentTool].
type AgentToolType string

// Agent tool types.
const (
	// AgentToolTypeAgentToolset is the built-in toolset (Bash, Read, ...).
	AgentToolTypeAgentToolset AgentToolType = "agent_toolset_20260401"
	// AgentToolTypeBrowserToolset is the Browser Use toolset (beta). Agent
	// create and update requests that contain it must send the beta
	// header: pass WithBeta(BetaBrowserUse).
	AgentToolTypeBrowserToolset AgentToolType = "browser_toolset_20260714"
	// AgentToolTypeMCPToolset exposes the tools of one MCP server.
	AgentToolTypeMCPToolset AgentToolType = "mcp_toolset"
	// AgentToolTypeCustom is a tool the client executes: the session pauses
	// with stop reason requires_action until a user.custom_tool_result
	// event answers it.
	AgentToolTypeCustom AgentToolType = "custom"
)

// Names of the built-in tools of the agent toolset, as used in
// AgentTool.EnabledTools, AgentTool.DisallowedTools, ToolConfig.Name and
// in tool-use events. They are case-sensitive.
const (
	ToolBash             = "Bash"
	ToolRead             = "Read"
	ToolWrite            = "Write"
	ToolEdit             = "Edit"
	ToolGlob             = "Glob"
	ToolGrep             = "Grep"
	ToolWebFetch         = "WebFetch"
	ToolWebSearch        = "WebSearch"
	ToolImageGen         = "ImageGen"
	ToolImageSearch      = "ImageSearch"
	ToolDeliverArtifacts = "DeliverArtifacts"
)

// AgentToolset returns the built-in toolset entry. With no names every
// built-in tool is enabled; with names, only those (see ToolBash and the
// other Tool constants).
func AgentToolset(enabled ...string) AgentTool {
	return AgentTool{Type: AgentToolTypeAgentToolset, EnabledTools: enabled}
}

// BrowserToolset returns the Browser Use toolset entry (beta). Agent create
// and update calls whose tools contain it must pass WithBeta(BetaBrowserUse),
// which sends the header "x-qoder-beta: browser-use-2026-07-14".
func BrowserToolset() AgentTool {
	return AgentTool{Type: AgentToolTypeBrowserToolset}
}

// MCPToolset returns the entry exposing the tools of the agent's MCP server
// named server.
func MCPToolset(server string) AgentTool {
	return AgentTool{Type: AgentToolTypeMCPToolset, MCPServerName: server}
}

// CustomTool returns a client-executed tool. schema is the JSON Schema of
// its input: a json.RawMessage, []byte or string is used as is, any other
// value (a map or struct) is encoded with encoding/json. If that encoding
// fails, the request that carries the tool fails with the error.
func CustomTool(name, description string, schema any) AgentTool {
	t := AgentTool{Type: AgentToolTypeCustom, Name: name, Description: description}
	switch s := schema.(type) {
	case nil:
	case json.RawMessage:
		t.InputSchema = s
	case []byte:
		t.InputSchema = s
	case string:
		t.InputSchema = json.RawMessage(s)
	default:
		data, err := json.Marshal(s)
		if err != nil {
			t.err = fmt.Errorf("qoder: custom tool %q: encoding input schema: %w", name, err)
		}
		t.InputSchema = data
	}
	return t
}

// MarshalJSON encodes the tool, or reports the schema error of CustomTool.
func (t AgentTool) MarshalJSON() ([]byte, error) {
	if t.err != nil {
		return nil, t.err
	}
	type plain AgentTool
	return json.Marshal(plain(t))
}

// ToolConfig overrides one tool of a toolset: a built-in tool (Name such
// as ToolWebFetch) or a tool of an MCP server.
type ToolConfig struct {
	// Name identifies the tool.
	Name string `json:"name"`
	// Type repeats Name in responses; requests may leave it empty (the
	// server infers it).
	Type string `json:"type,omitempty"`
	// Enabled turns the tool on or off, overriding the default config.
	Enabled *bool `json:"enabled,omitempty"`
	// PermissionPolicy says whether the tool runs without confirmation.
	PermissionPolicy PermissionPolicy `json:"permission_policy,omitzero"`

	// AllowedDomains limits WebFetch and WebSearch to these hosts and
	// their subdomains. Cannot be combined with BlockedDomains.
	AllowedDomains []string `json:"allowed_domains,omitzero"`
	// BlockedDomains keeps WebFetch and WebSearch away from these hosts
	// and their subdomains.
	BlockedDomains []string `json:"blocked_domains,omitzero"`
	// MaxContentTokens caps the content WebFetch returns.
	MaxContentTokens int `json:"max_content_tokens,omitempty"`
	// UserLocation localises WebSearch results.
	UserLocation UserLocation `json:"user_location,omitzero"`
}

// ToolDefaultConfig is the configuration every tool of a toolset inherits
// unless a [ToolConfig] overrides it.
type ToolDefaultConfig struct {
	// Enabled turns the toolset's tools on or off (the server's default
	// is on).
	Enabled *bool `json:"enabled,omitempty"`
	// PermissionPolicy says whether the tools run without confirmation.
	PermissionPolicy PermissionPolicy `json:"permission_policy,omitzero"`
}

// UserLocation is the approximate location WebSearch localises results
// for.
type UserLocation struct {
	// Type is the kind of location, "approximate".
	Type     string `json:"type,omitempty"`
	City     string `json:"city,omitempty"`
	Country  string `json:"country,omitempty"`
	Region   string `json:"region,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

// PermissionPolicy says whether a server-executed tool (built-in or MCP)
// runs without confirmation. It does not apply to custom tools.
//
// See https://docs.qoder.com/cloud-agents/permission-policies.
type PermissionPolicy struct {
	// Type is the policy, such as PermissionAlwaysAsk.
	Type PermissionPolicyType `json:"type"`
}

// PermissionPolicyType is the type of a [PermissionPolicy].
type PermissionPolicyType string

// Permission policies.
const (
	// PermissionAlwaysAllow runs the tool without confirmation (the
	// default).
	PermissionAlwaysAllow PermissionPolicyType = "always_allow"
	// PermissionAlwaysAsk pauses the session (stop reason requires_action)
	// until a user.tool_confirmation event allows or denies the call.
	PermissionAlwaysAsk PermissionPolicyType = "always_ask"
	// PermissionAlwaysDeny never runs the tool.
	PermissionAlwaysDeny PermissionPolicyType = "always_deny"
)

// MCPServer is an MCP server an agent can reach. Its tools become
// available through an [MCPToolset] entry naming it; credentials come from
// a vault credential whose URL matches, attached with the session's
// vault_ids, never from the agent.
type MCPServer struct {
	// Name is unique among the agent's servers.
	Name string `json:"name"`
	// Type is the transport, MCPServerTypeURL.
	Type MCPServerType `json:"type"`
	// URL is the server's endpoint, reachable from the cloud environment.
	URL string `json:"url"`
}

// MCPServerType is the transport of an [MCPServer].
type MCPServerType string

// MCPServerTypeURL is a streamable HTTP MCP server, the only supported
// type. (Older pages show "http".)
const MCPServerTypeURL MCPServerType = "url"

// SkillBinding attaches a skill to an agent.
type SkillBinding struct {
	// Type says where the skill comes from, such as SkillBindingCustom.
	Type SkillBindingType `json:"type"`
	// SkillID is the skill's id ("skill_..." for custom skills).
	SkillID string `json:"skill_id"`
	// Version pins a skill version; empty means the latest.
	Version string `json:"version,omitempty"`
}

// SkillBindingType is the source of a [SkillBinding]'s skill.
type SkillBindingType string

// Skill binding types.
const (
	// SkillBindingCustom is a skill uploaded to your account.
	SkillBindingCustom SkillBindingType = "custom"
	// SkillBindingQoder is a skill the platform provides, such as "xlsx".
	SkillBindingQoder SkillBindingType = "qoder"
)
