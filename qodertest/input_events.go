package qodertest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// input is one validated client event.
type input struct {
	typ    string
	fields map[string]any // echoed in the log, besides id and type
	text   string         // text of a user.message
	ref    string         // tool_use_id or custom_tool_use_id answered, or the thread interrupted
	allow  bool           // user.tool_confirmation result
	deny   string         // user.tool_confirmation deny_message
	result ToolResult     // user.custom_tool_result
}

// inputFields lists the fields each input event type accepts.
var inputFields = map[string][]string{
	"user.message":            {"type", "content"},
	"user.interrupt":          {"type", "session_thread_id"},
	"user.tool_confirmation":  {"type", "tool_use_id", "result", "deny_message", "session_thread_id"},
	"user.custom_tool_result": {"type", "custom_tool_use_id", "content", "is_error", "session_thread_id"},
	"user.tool_result":        {"type", "tool_use_id", "content", "is_error", "session_thread_id"},
	"user.define_outcome":     {"type", "description", "rubric", "max_iterations"},
	"system.message":          {"type", "content"},
}

// parseSendBody reads the body of POST /sessions/{id}/events:
// {"events":[...]} and nothing else.
func parseSendBody(body []byte) ([]input, *apiError) {
	obj, e := parseBody(body)
	if e != nil {
		return nil, e
	}
	if _, ok := obj["events"]; !ok {
		if _, bare := obj["type"]; bare {
			return nil, invalid("events", `Request body must be {"events": [...]}, not a bare event object.`)
		}
	}
	f := newFields(obj, "")
	f.only("events")
	f.require("events")
	items := f.array("events")
	if f.failed() {
		return nil, f.err
	}
	if len(items) == 0 {
		return nil, invalid("events", "Field 'events' must hold at least one event.")
	}
	return parseInputEvents(items, "events")
}

// parseInputEvents validates a batch of input events, strictly: unknown
// fields are errors. allowed, when given, limits the types.
func parseInputEvents(items []json.RawMessage, param string, allowed ...string) ([]input, *apiError) {
	out := make([]input, 0, len(items))
	for i, raw := range items {
		prefix := fmt.Sprintf("%s[%d]", param, i)
		obj, e := asObject(raw, prefix, prefix+": each event must be an object.")
		if e != nil {
			return nil, e
		}
		f := newFields(obj, prefix)
		typ := f.reqStr("type")
		if f.failed() {
			return nil, f.err
		}
		names, known := inputFields[typ]
		if !known || (len(allowed) > 0 && !slices.Contains(allowed, typ)) {
			if len(allowed) > 0 {
				return nil, invalid(prefix+".type", "%s: event type '%s' is not allowed here; use one of %s.", prefix, typ, quoteList(allowed))
			}
			return nil, invalid(prefix+".type", "%s: unknown input event type '%s'.", prefix, typ)
		}
		f.only(names...)
		in := input{typ: typ, fields: map[string]any{}}
		switch typ {
		case "user.message":
			in.text = readContent(f, true, false)
		case "system.message":
			readContent(f, true, true)
			if i != len(items)-1 {
				f.fail("type", "system.message must be the last event of the request, and only one is allowed.")
			}
		case "user.interrupt":
			in.ref = f.str("session_thread_id")
		case "user.tool_confirmation":
			in.ref = f.reqStr("tool_use_id")
			f.require("result")
			in.allow = f.strIn("result", "allow", "deny") == "allow"
			in.deny = f.str("deny_message")
			if f.has("deny_message") && in.allow {
				f.fail("deny_message", "field 'deny_message' is only allowed with result 'deny'.")
			}
			f.str("session_thread_id")
		case "user.custom_tool_result", "user.tool_result":
			ref := "custom_tool_use_id"
			if typ == "user.tool_result" {
				ref = "tool_use_id"
			}
			in.ref = f.reqStr(ref)
			in.result.Text = readContent(f, false, false)
			if f.has("content") {
				in.result.Content = compact(obj["content"])
			}
			in.result.IsError = f.boolean("is_error")
			f.str("session_thread_id")
		case "user.define_outcome":
			f.reqStr("description")
			f.require("rubric")
			rf := newFields(f.object("rubric"), prefix+".rubric")
			rf.require("type")
			switch rf.strIn("type", "text", "file") {
			case "text":
				rf.only("type", "content")
				rf.reqStr("content")
			case "file":
				rf.only("type", "file_id")
				rf.reqStr("file_id")
			}
			if rf.failed() && !f.failed() {
				f.err = rf.err
			}
			f.integer("max_iterations", 1, 100)
			in.fields["outcome_id"] = newID("outc_")
		}
		if f.failed() {
			return nil, f.err
		}
		for k, v := range obj {
			if k != "type" {
				in.fields[k] = compact(v)
			}
		}
		out = append(out, in)
	}
	return out, nil
}

// readContent checks a content field: an array of blocks, required and
// non-empty when required, text blocks only when textOnly. It returns the
// concatenated text.
func readContent(f *fields, required, textOnly bool) string {
	if required && !f.require("content") {
		return ""
	}
	if kind(f.obj["content"]) == "string" {
		f.fail("content", "field 'content' must be a non-empty array of content blocks, not a string.")
		return ""
	}
	blocks := f.array("content")
	if f.failed() {
		return ""
	}
	if required && len(blocks) == 0 {
		f.fail("content", "field 'content' must be a non-empty array of content blocks.")
		return ""
	}
	var text []string
	for i, raw := range blocks {
		prefix := fmt.Sprintf("%s[%d]", f.param("content"), i)
		obj, e := asObject(raw, prefix, prefix+": each content block must be an object.")
		if e != nil {
			f.err = e
			return ""
		}
		bf := newFields(obj, prefix)
		bf.require("type")
		allowed := []string{"text", "image", "document", "search_result"}
		if textOnly {
			allowed = allowed[:1]
		}
		switch bf.strIn("type", allowed...) {
		case "text":
			bf.only("type", "text")
			bf.require("text")
			text = append(text, bf.str("text"))
		case "image":
			bf.only("type", "source")
			readSource(bf, "base64", "url", "file")
		case "document":
			bf.only("type", "source", "title", "context")
			readSource(bf, "base64", "text", "url", "file")
			bf.str("title")
			bf.str("context")
		case "search_result":
			bf.only("type", "source", "title", "content", "citations")
			bf.reqStr("source")
			bf.reqStr("title")
			bf.require("content")
			bf.array("content")
			bf.object("citations")
		}
		if bf.failed() {
			f.err = bf.err
			return ""
		}
	}
	return strings.Join(text, "\n")
}

// readSource checks the source of an image or document block.
func readSource(bf *fields, kinds ...string) {
	if !bf.require("source") {
		return
	}
	sf := newFields(bf.object("source"), bf.param("source"))
	if bf.failed() {
		return
	}
	sf.require("type")
	switch sf.strIn("type", kinds...) {
	case "base64", "text":
		sf.only("type", "data", "media_type")
		sf.reqStr("data")
		sf.reqStr("media_type")
	case "url":
		sf.only("type", "url")
		sf.reqStr("url")
	case "file":
		sf.only("type", "file_id")
		sf.reqStr("file_id")
	}
	if sf.failed() {
		bf.err = sf.err
	}
}
