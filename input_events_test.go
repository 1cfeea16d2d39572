package qoder

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInputEvents_JSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   InputEvent
		wire string
	}{
		{"user.message", NewUserMessage("hi"), `{"type":"user.message","content":[{"type":"text","text":"hi"}]}`},
		{"user.message (send-event docs)", &UserMessage{Content: []ContentBlock{TextBlock("Help me analyze the performance of this code.")}},
			`{"type":"user.message","content":[{"type":"text","text":"Help me analyze the performance of this code."}]}`},
		{"user.message with image and document", UserMessage{Content: []ContentBlock{
			TextBlock("What is in these?"),
			ImageBlock(Base64Source("image/png", []byte("png"))),
			DocumentBlock(URLSource("https://example.com/spec.pdf"), "Spec"),
		}}, `{"type":"user.message","content":[{"type":"text","text":"What is in these?"},` +
			`{"type":"image","source":{"type":"base64","data":"cG5n","media_type":"image/png"}},` +
			`{"type":"document","source":{"type":"url","url":"https://example.com/spec.pdf"},"title":"Spec"}]}`},
		{"user.message with an empty text block keeps its text key", UserMessage{Content: []ContentBlock{TextBlock("")}},
			`{"type":"user.message","content":[{"type":"text","text":""}]}`},
		{"user.interrupt", UserInterrupt{}, `{"type":"user.interrupt"}`},
		{"user.interrupt of a thread", UserInterrupt{SessionThreadID: "sthr_1"}, `{"type":"user.interrupt","session_thread_id":"sthr_1"}`},
		{"user.tool_confirmation allow", AllowTool("evt_1"), `{"type":"user.tool_confirmation","tool_use_id":"evt_1","result":"allow"}`},
		{"user.tool_confirmation deny", DenyTool("evt_1", "not in prod"),
			`{"type":"user.tool_confirmation","tool_use_id":"evt_1","result":"deny","deny_message":"not in prod"}`},
		{"user.tool_confirmation deny without message", DenyTool("evt_1", ""), `{"type":"user.tool_confirmation","tool_use_id":"evt_1","result":"deny"}`},
		{"user.custom_tool_result", NewCustomToolResult("evt_2", "18°C"),
			`{"type":"user.custom_tool_result","custom_tool_use_id":"evt_2","content":[{"type":"text","text":"18°C"}]}`},
		{"user.custom_tool_result error", NewCustomToolError("evt_2", "no such city"),
			`{"type":"user.custom_tool_result","custom_tool_use_id":"evt_2","content":[{"type":"text","text":"no such city"}],"is_error":true}`},
		{"user.custom_tool_result without content", UserCustomToolResult{CustomToolUseID: "evt_2"},
			`{"type":"user.custom_tool_result","custom_tool_use_id":"evt_2"}`},
		{"user.tool_result", UserToolResult{ToolUseID: "evt_3", Content: []ContentBlock{TextBlock("ok")}, IsError: true},
			`{"type":"user.tool_result","tool_use_id":"evt_3","content":[{"type":"text","text":"ok"}],"is_error":true}`},
		{"user.define_outcome text", UserDefineOutcome{Description: "fib works", Rubric: TextRubric("tests pass"), MaxIterations: Ptr(3)},
			`{"type":"user.define_outcome","description":"fib works","rubric":{"type":"text","content":"tests pass"},"max_iterations":3}`},
		{"user.define_outcome file", &UserDefineOutcome{Description: "report", Rubric: FileRubric("file_1")},
			`{"type":"user.define_outcome","description":"report","rubric":{"type":"file","file_id":"file_1"}}`},
		{"system.message", NewSystemMessage("Be brief."), `{"type":"system.message","content":[{"type":"text","text":"Be brief."}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.ev)
			require.NoError(t, err)
			assert.JSONEq(t, tt.wire, string(got))
			assert.Equal(t, `{"type":"`, string(got[:9]), "type comes first")
			require.NoError(t, validateInputEvents([]InputEvent{tt.ev}))

			// The server echoes input events with the same shape: they
			// decode into the matching output event.
			ev := decodeEvent("", got)
			_, unknown := ev.(*UnknownEvent)
			require.False(t, unknown, "%#v", ev)
			assert.Equal(t, tt.ev.inputEventType(), ev.EventType())
		})
	}
}

func TestInputEvents_batchJSON(t *testing.T) {
	t.Parallel()
	body := struct {
		Events []InputEvent `json:"events"`
	}{[]InputEvent{NewUserMessage("Help me analyze the performance of this code.")}}
	got, err := json.Marshal(body)
	require.NoError(t, err)
	assert.JSONEq(t, `{"events":[{"type":"user.message","content":[{"type":"text","text":"Help me analyze the performance of this code."}]}]}`, string(got))
}

func TestValidateInputEvents(t *testing.T) {
	t.Parallel()
	text := []ContentBlock{TextBlock("x")}
	tests := []struct {
		name    string
		events  []InputEvent
		wantErr string // "" for valid
	}{
		{"empty batch", nil, "qoder: invalid input event: events must contain at least one event"},
		{"empty non-nil batch", []InputEvent{}, "qoder: invalid input event: events must contain at least one event"},
		{"nil entry", []InputEvent{NewUserMessage("a"), nil}, "qoder: events[1]: event is nil"},
		{"nil pointer entry", []InputEvent{(*UserMessage)(nil)}, "qoder: events[0]: event is nil"},
		{"nil system pointer", []InputEvent{(*SystemMessage)(nil)}, "qoder: events[0]: event is nil"},

		{"user.message ok", []InputEvent{NewUserMessage("a")}, ""},
		{"user.message pointer ok", []InputEvent{&UserMessage{Content: text}}, ""},
		{"user.message without content", []InputEvent{NewUserMessage("a"), UserMessage{}},
			"qoder: events[1] (user.message): content must be a non-empty array of content blocks"},
		{"user.message empty content", []InputEvent{UserMessage{Content: []ContentBlock{}}},
			"qoder: events[0] (user.message): content must be a non-empty array of content blocks"},
		{"user.message block without type", []InputEvent{UserMessage{Content: []ContentBlock{TextBlock("a"), {Text: "b"}}}},
			"qoder: events[0] (user.message): content[1]: block type is required"},
		{"user.message image without source", []InputEvent{UserMessage{Content: []ContentBlock{{Type: ContentBlockTypeImage}}}},
			"qoder: events[0] (user.message): content[0]: image block needs a source with a type"},
		{"user.message document with untyped source", []InputEvent{UserMessage{Content: []ContentBlock{{Type: ContentBlockTypeDocument, Source: &ContentSource{URL: "u"}}}}},
			"qoder: events[0] (user.message): content[0]: document block needs a source with a type"},
		{"image with an empty base64 source", []InputEvent{UserMessage{Content: []ContentBlock{ImageBlock(Base64Source("image/png", nil))}}},
			`qoder: events[0] (user.message): content[0].source: a "base64" source needs data`},
		{"image with a base64 source without media type", []InputEvent{UserMessage{Content: []ContentBlock{ImageBlock(Base64Source("", []byte("png")))}}},
			`qoder: events[0] (user.message): content[0].source: a "base64" source needs a media_type`},
		{"image with an empty url source", []InputEvent{UserMessage{Content: []ContentBlock{ImageBlock(URLSource(""))}}},
			`qoder: events[0] (user.message): content[0].source: a "url" source needs a url`},
		{"image with an empty file source", []InputEvent{UserMessage{Content: []ContentBlock{ImageBlock(FileSource(""))}}},
			`qoder: events[0] (user.message): content[0].source: a "file" source needs a file_id`},
		{"image with a text source", []InputEvent{UserMessage{Content: []ContentBlock{ImageBlock(TextSource("text/plain", "x"))}}},
			`qoder: events[0] (user.message): content[0].source: a "text" source is for document blocks, not image`},
		{"document with an empty text source", []InputEvent{UserMessage{Content: []ContentBlock{DocumentBlock(TextSource("text/plain", ""), "")}}},
			`qoder: events[0] (user.message): content[0].source: a "text" source needs data`},
		{"tool result image without data", []InputEvent{UserCustomToolResult{CustomToolUseID: "evt_1", Content: []ContentBlock{ImageBlock(ContentSource{Type: ContentSourceTypeBase64, MediaType: "image/png"})}}},
			`qoder: events[0] (user.custom_tool_result): content[0].source: a "base64" source needs data`},
		{"user.message unknown block type passes", []InputEvent{UserMessage{Content: []ContentBlock{{Type: "future_block"}}}}, ""},

		{"user.interrupt ok", []InputEvent{UserInterrupt{}}, ""},

		{"confirmation allow ok", []InputEvent{AllowTool("evt_1")}, ""},
		{"confirmation deny with message ok", []InputEvent{DenyTool("evt_1", "no")}, ""},
		{"confirmation without tool_use_id", []InputEvent{AllowTool("")},
			"qoder: events[0] (user.tool_confirmation): tool_use_id is required"},
		{"confirmation without result", []InputEvent{UserToolConfirmation{ToolUseID: "evt_1"}},
			`qoder: events[0] (user.tool_confirmation): result is required ("allow" or "deny")`},
		{"confirmation bad result", []InputEvent{UserToolConfirmation{ToolUseID: "evt_1", Result: "maybe"}},
			`qoder: events[0] (user.tool_confirmation): result must be "allow" or "deny", not "maybe"`},
		{"deny_message with allow", []InputEvent{UserToolConfirmation{ToolUseID: "evt_1", Result: ToolConfirmationAllow, DenyMessage: "no"}},
			`qoder: events[0] (user.tool_confirmation): deny_message is allowed only with result "deny"`},

		{"custom tool result ok", []InputEvent{NewCustomToolResult("evt_2", "ok")}, ""},
		{"custom tool result without content ok", []InputEvent{UserCustomToolResult{CustomToolUseID: "evt_2", IsError: true}}, ""},
		{"custom tool result without id", []InputEvent{NewCustomToolError("", "boom")},
			"qoder: events[0] (user.custom_tool_result): custom_tool_use_id is required"},
		{"custom tool result untyped block", []InputEvent{UserCustomToolResult{CustomToolUseID: "evt_2", Content: []ContentBlock{{}}}},
			"qoder: events[0] (user.custom_tool_result): content[0]: block type is required"},

		{"tool result ok", []InputEvent{UserToolResult{ToolUseID: "evt_3"}}, ""},
		{"tool result without id", []InputEvent{UserToolResult{Content: text}},
			"qoder: events[0] (user.tool_result): tool_use_id is required"},
		{"tool result image without source", []InputEvent{UserToolResult{ToolUseID: "evt_3", Content: []ContentBlock{{Type: ContentBlockTypeImage}}}},
			"qoder: events[0] (user.tool_result): content[0]: image block needs a source with a type"},

		{"outcome ok", []InputEvent{UserDefineOutcome{Description: "d", Rubric: FileRubric("file_1")}}, ""},
		{"outcome without description", []InputEvent{UserDefineOutcome{Rubric: TextRubric("r")}},
			"qoder: events[0] (user.define_outcome): description is required"},
		{"outcome without rubric", []InputEvent{UserDefineOutcome{Description: "d"}},
			"qoder: events[0] (user.define_outcome): rubric is required (see TextRubric and FileRubric)"},
		{"outcome empty text rubric", []InputEvent{UserDefineOutcome{Description: "d", Rubric: TextRubric("")}},
			`qoder: events[0] (user.define_outcome): rubric.content is required for a "text" rubric`},
		{"outcome empty file rubric", []InputEvent{UserDefineOutcome{Description: "d", Rubric: FileRubric("")}},
			`qoder: events[0] (user.define_outcome): rubric.file_id is required for a "file" rubric`},
		{"outcome bad rubric type", []InputEvent{UserDefineOutcome{Description: "d", Rubric: Rubric{Type: "url"}}},
			`qoder: events[0] (user.define_outcome): rubric.type must be "text" or "file", not "url"`},

		{"system message last ok", []InputEvent{NewUserMessage("a"), NewSystemMessage("b")}, ""},
		{"system message alone ok", []InputEvent{&SystemMessage{Content: text}}, ""},
		{"system message not last", []InputEvent{NewSystemMessage("b"), NewUserMessage("a")},
			"qoder: events[0] (system.message): a batch may hold at most one system.message and it must be the last event"},
		{"two system messages", []InputEvent{NewUserMessage("a"), NewSystemMessage("b"), NewSystemMessage("c")},
			"qoder: events[1] (system.message): a batch may hold at most one system.message and it must be the last event"},
		{"system message without content", []InputEvent{SystemMessage{}},
			"qoder: events[0] (system.message): content must be a non-empty array of text blocks"},
		{"system message with image", []InputEvent{SystemMessage{Content: []ContentBlock{ImageBlock(FileSource("f"))}}},
			`qoder: events[0] (system.message): content[0]: system messages hold text blocks only, not "image"`},

		{"mixed batch ok", []InputEvent{AllowTool("evt_1"), NewCustomToolResult("evt_2", "ok"), NewUserMessage("go on"), NewSystemMessage("brief")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := validateInputEvents(tt.events)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.wantErr, err.Error())
			assert.True(t, errors.Is(err, ErrInvalidEvent), "errors.Is(err, ErrInvalidEvent)")
		})
	}
}

func TestInputEvent_interfaceSatisfaction(t *testing.T) {
	t.Parallel()
	// Both T and *T implement InputEvent.
	evs := []InputEvent{
		UserMessage{}, &UserMessage{}, UserInterrupt{}, &UserInterrupt{},
		UserToolConfirmation{}, &UserToolConfirmation{}, UserCustomToolResult{}, &UserCustomToolResult{},
		UserToolResult{}, &UserToolResult{}, UserDefineOutcome{}, &UserDefineOutcome{},
		SystemMessage{}, &SystemMessage{},
	}
	for i := 0; i < len(evs); i += 2 {
		assert.Equal(t, evs[i].inputEventType(), evs[i+1].inputEventType())
		a, err := json.Marshal(evs[i])
		require.NoError(t, err)
		b, err := json.Marshal(evs[i+1])
		require.NoError(t, err)
		assert.Equal(t, string(a), string(b))
	}
}
