package qodertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
)

// builtinTools are the agent toolset's tools, case-sensitive.
var builtinTools = []string{"Bash", "Read", "Write", "Edit", "Glob", "Grep", "WebFetch", "WebSearch", "ImageGen", "ImageSearch", "DeliverArtifacts"}

// legacyTools are tool types the docs list as no longer supported.
var legacyTools = []string{"bash_20250124", "computer_20250124", "text_editor_20250124", "file_read", "file_write", "web_search"}

var permissionPolicies = []string{"always_allow", "always_ask", "always_deny"}

var customToolName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// compact returns raw without insignificant whitespace.
func compact(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}

// validateModel checks model: a catalog id as a string, or an object
// {id, effort?, context_window?, inference_geo?, speed?} for models that
// have efforts.
func validateModel(f *fields) json.RawMessage {
	raw := f.obj["model"]
	switch kind(raw) {
	case "string":
		id := f.str("model")
		if _, ok := findModel(id); !ok && !f.failed() {
			f.fail("model", "model '%s' is not available; GET /models lists the models you can use.", id)
		}
		return compact(raw)
	case "object":
		obj := f.object("model")
		mf := newFields(obj, f.param("model"))
		mf.only("id", "effort", "context_window", "inference_geo", "speed")
		id := mf.reqStr("id")
		out := map[string]any{"id": id}
		m, ok := findModel(id)
		switch {
		case mf.failed():
		case !ok:
			mf.fail("id", "model '%s' is not available; GET /models lists the models you can use.", id)
		case len(m.Efforts) == 0:
			mf.fail("id", "model '%s' accepts only the string form.", id)
		}
		if mf.has("effort") {
			effort := mf.strIn("effort", m.Efforts...)
			out["effort"] = effort
		}
		if mf.has("context_window") {
			cw := mf.integer("context_window", 1, 1<<31-1)
			if !mf.failed() && !slices.Contains(m.AvailableContextWindows, cw) {
				mf.fail("context_window", "context_window %d is not available for model '%s'.", cw, id)
			}
			out["context_window"] = cw
		}
		for _, k := range []string{"inference_geo", "speed"} {
			if mf.has(k) {
				out[k] = mf.str(k)
			}
		}
		if mf.failed() {
			f.err = mf.err
			return nil
		}
		data, _ := json.Marshal(out)
		return data
	default:
		f.fail("model", "field 'model' must be a model id string or an object.")
		return nil
	}
}

// sessionModel is the model as a session's agent snapshot shows it:
// {"id", "effective_context_window"}.
func sessionModel(raw json.RawMessage) json.RawMessage {
	var m struct {
		ID            string `json:"id"`
		Effort        string `json:"effort"`
		ContextWindow int    `json:"context_window"`
	}
	if kind(raw) == "string" {
		_ = json.Unmarshal(raw, &m.ID)
	} else {
		_ = json.Unmarshal(raw, &m)
	}
	out := map[string]any{"id": m.ID}
	if m.Effort != "" {
		out["effort"] = m.Effort
	}
	if cat, ok := findModel(m.ID); ok && cat.DefaultContextWindow > 0 {
		out["effective_context_window"] = cat.DefaultContextWindow
	}
	if m.ContextWindow > 0 {
		out["effective_context_window"] = m.ContextWindow
	}
	data, _ := json.Marshal(out)
	return data
}

// validateTools checks the tools union; null or [] means no tools.
func validateTools(f *fields, beta bool) []json.RawMessage {
	items := f.array("tools")
	if f.failed() || items == nil {
		return []json.RawMessage{}
	}
	if len(items) > 128 {
		f.fail("tools", "field 'tools' may hold at most 128 entries.")
		return nil
	}
	customNames := map[string]bool{}
	out := make([]json.RawMessage, 0, len(items))
	for i, raw := range items {
		prefix := fmt.Sprintf("%s[%d]", f.param("tools"), i)
		obj, e := asObject(raw, prefix, prefix+": each tool must be an object.")
		if e != nil {
			f.err = e
			return nil
		}
		tf := newFields(obj, prefix)
		typ := tf.reqStr("type")
		switch {
		case tf.failed():
		case typ == "agent_toolset_20260401":
			tf.only("type", "enabled_tools", "disallowed_tools", "configs", "default_config")
			enabled := toolNames(tf, "enabled_tools")
			disallowed := toolNames(tf, "disallowed_tools")
			for _, n := range enabled {
				if slices.Contains(disallowed, n) {
					tf.fail("disallowed_tools", "tool '%s' cannot be both enabled and disallowed.", n)
				}
			}
			toolConfigs(tf, true)
		case typ == "browser_toolset_20260714":
			tf.only("type")
			if !beta {
				tf.fail("type", "tools containing browser_toolset_20260714 require the 'x-qoder-beta: %s' header.", betaBrowserUse)
			}
		case typ == "mcp_toolset":
			tf.only("type", "mcp_server_name", "configs", "default_config")
			tf.reqStr("mcp_server_name")
			toolConfigs(tf, false)
		case typ == "custom":
			tf.only("type", "name", "description", "input_schema")
			name := tf.reqStr("name")
			if !tf.failed() && !customToolName.MatchString(name) {
				tf.fail("name", "field 'name' must be 1 to 128 letters, digits, '_' or '-'.")
			}
			if customNames[name] {
				tf.fail("name", "custom tool '%s' is defined twice.", name)
			}
			customNames[name] = true
			tf.reqStr("description")
			tf.require("input_schema")
			tf.object("input_schema")
		case slices.Contains(legacyTools, typ):
			tf.fail("type", "tool type '%s' is no longer supported; use agent_toolset_20260401.", typ)
		default:
			tf.fail("type", "unknown tool type '%s'.", typ)
		}
		if tf.failed() {
			f.err = tf.err
			return nil
		}
		out = append(out, compact(raw))
	}
	return out
}

// toolNames reads an array of built-in tool names.
func toolNames(tf *fields, name string) []string {
	names := tf.strings(name)
	for _, n := range names {
		if !slices.Contains(builtinTools, n) {
			tf.fail(name, "unknown tool name '%s'", n)
			return nil
		}
	}
	return names
}

// toolConfigs checks configs and default_config of a toolset; builtin
// says the names must be built-in tools.
func toolConfigs(tf *fields, builtin bool) {
	for i, raw := range tf.array("configs") {
		prefix := fmt.Sprintf("%s[%d]", tf.param("configs"), i)
		obj, e := asObject(raw, prefix, prefix+": each config must be an object.")
		if e != nil {
			tf.err = e
			return
		}
		cf := newFields(obj, prefix)
		name := cf.reqStr("name")
		if builtin && !cf.failed() && !slices.Contains(builtinTools, name) {
			cf.fail("name", "unknown tool name '%s'", name)
		}
		cf.boolean("enabled")
		permissionPolicy(cf)
		if cf.failed() {
			tf.err = cf.err
			return
		}
	}
	if tf.has("default_config") {
		dc := newFields(tf.object("default_config"), tf.param("default_config"))
		dc.only("enabled", "permission_policy")
		dc.boolean("enabled")
		permissionPolicy(dc)
		if dc.failed() && !tf.failed() {
			tf.err = dc.err
		}
	}
}

func permissionPolicy(f *fields) {
	if !f.has("permission_policy") {
		return
	}
	pf := newFields(f.object("permission_policy"), f.param("permission_policy"))
	if f.failed() {
		return
	}
	pf.require("type")
	pf.strIn("type", permissionPolicies...)
	if pf.failed() {
		f.err = pf.err
	}
}

// validateMCPServers checks mcp_servers: at most 20, unique names, type
// "url" and an http(s) URL.
func validateMCPServers(f *fields) []json.RawMessage {
	items := f.array("mcp_servers")
	if f.failed() || items == nil {
		return []json.RawMessage{}
	}
	if len(items) > 20 {
		f.fail("mcp_servers", "field 'mcp_servers' may hold at most 20 entries.")
		return nil
	}
	seen := map[string]bool{}
	out := make([]json.RawMessage, 0, len(items))
	for i, raw := range items {
		prefix := fmt.Sprintf("mcp_servers[%d]", i)
		obj, e := asObject(raw, prefix, prefix+": each MCP server must be an object.")
		if e != nil {
			f.err = e
			return nil
		}
		mf := newFields(obj, prefix)
		mf.only("name", "type", "url")
		name := mf.reqStr("name")
		mf.require("type")
		mf.strIn("type", "url")
		if seen[name] {
			mf.fail("name", "MCP server name '%s' is used twice.", name)
		}
		seen[name] = true
		u := mf.reqStr("url")
		if pu, err := url.Parse(u); !mf.failed() && (err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "") {
			mf.fail("url", "field 'url' must be an http or https URL.")
		}
		if mf.failed() {
			f.err = mf.err
			return nil
		}
		out = append(out, compact(raw))
	}
	return out
}

// checkMCPReferences enforces that every mcp_toolset names one of the
// agent's servers and every server is named by a toolset.
func checkMCPReferences(f *fields, cfg *agentConfig) {
	servers := map[string]bool{}
	for _, raw := range cfg.mcpServers {
		var s struct{ Name string }
		_ = json.Unmarshal(raw, &s)
		servers[s.Name] = false
	}
	for i, raw := range cfg.tools {
		var t struct {
			Type          string `json:"type"`
			MCPServerName string `json:"mcp_server_name"`
		}
		_ = json.Unmarshal(raw, &t)
		if t.Type != "mcp_toolset" {
			continue
		}
		if _, ok := servers[t.MCPServerName]; !ok {
			f.err = invalid(fmt.Sprintf("tools[%d].mcp_server_name", i), "tools[%d]: mcp_server_name '%s' does not match any of the agent's mcp_servers.", i, t.MCPServerName)
			return
		}
		servers[t.MCPServerName] = true
	}
	for name, used := range servers {
		if !used {
			f.err = invalid("mcp_servers", "MCP server '%s' is not referenced by any mcp_toolset tool.", name)
			return
		}
	}
}

// validateSkills checks skill bindings: at most 20 {type, skill_id, version?}.
func validateSkills(f *fields) []json.RawMessage {
	items := f.array("skills")
	if f.failed() || items == nil {
		return []json.RawMessage{}
	}
	if len(items) > 20 {
		f.fail("skills", "field 'skills' may hold at most 20 entries.")
		return nil
	}
	out := make([]json.RawMessage, 0, len(items))
	for i, raw := range items {
		prefix := fmt.Sprintf("skills[%d]", i)
		obj, e := asObject(raw, prefix, prefix+": each skill must be an object.")
		if e != nil {
			f.err = e
			return nil
		}
		sf := newFields(obj, prefix)
		sf.only("type", "skill_id", "version")
		sf.require("type")
		sf.strIn("type", "custom", "qoder")
		sf.reqStr("skill_id")
		sf.str("version")
		if sf.failed() {
			f.err = sf.err
			return nil
		}
		out = append(out, compact(raw))
	}
	return out
}

// validateMultiagent checks multiagent: null, or a coordinator with a
// roster of agent ids or {type: agent|self|advisor} entries.
func validateMultiagent(f *fields) json.RawMessage {
	if f.isNull("multiagent") {
		return json.RawMessage("null")
	}
	obj := f.object("multiagent")
	if f.failed() {
		return nil
	}
	mf := newFields(obj, "multiagent")
	mf.only("type", "agents")
	mf.require("type")
	mf.strIn("type", "coordinator")
	mf.require("agents")
	for i, raw := range mf.array("agents") {
		if kind(raw) == "string" {
			continue
		}
		prefix := fmt.Sprintf("multiagent.agents[%d]", i)
		eo, e := asObject(raw, prefix, prefix+": each roster entry must be an agent id or an object.")
		if e != nil {
			mf.err = e
			break
		}
		ef := newFields(eo, prefix)
		ef.require("type")
		switch ef.strIn("type", "agent", "self", "advisor") {
		case "agent":
			ef.reqStr("id")
		case "advisor":
			ef.require("model")
		}
		if ef.failed() {
			mf.err = ef.err
			break
		}
	}
	if mf.failed() {
		f.err = mf.err
		return nil
	}
	return compact(f.obj["multiagent"])
}

// toolPermission says how the agent of cfg may use built-in tool name:
// "" when it is not enabled, else its permission policy type.
func toolPermission(tools []json.RawMessage, name string) string {
	type policy struct {
		Type string `json:"type"`
	}
	type toolConfig struct {
		Name             string  `json:"name"`
		Enabled          *bool   `json:"enabled"`
		PermissionPolicy *policy `json:"permission_policy"`
	}
	for _, raw := range tools {
		var t struct {
			Type            string       `json:"type"`
			EnabledTools    []string     `json:"enabled_tools"`
			DisallowedTools []string     `json:"disallowed_tools"`
			Configs         []toolConfig `json:"configs"`
			DefaultConfig   *toolConfig  `json:"default_config"`
		}
		if json.Unmarshal(raw, &t) != nil || t.Type != "agent_toolset_20260401" {
			continue
		}
		if (len(t.EnabledTools) > 0 && !slices.Contains(t.EnabledTools, name)) || slices.Contains(t.DisallowedTools, name) {
			return ""
		}
		enabled, perm := true, "always_allow"
		if dc := t.DefaultConfig; dc != nil {
			if dc.Enabled != nil {
				enabled = *dc.Enabled
			}
			if dc.PermissionPolicy != nil {
				perm = dc.PermissionPolicy.Type
			}
		}
		for _, c := range t.Configs {
			if c.Name != name {
				continue
			}
			if c.Enabled != nil {
				enabled = *c.Enabled
			}
			if c.PermissionPolicy != nil {
				perm = c.PermissionPolicy.Type
			}
		}
		if !enabled {
			return ""
		}
		return perm
	}
	return ""
}
