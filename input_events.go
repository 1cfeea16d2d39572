package qoder

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidEvent is matched (errors.Is) by every error the SDK returns when
// an input event breaks a documented rule, before anything is sent. Such an
// error matches [ErrInvalidRequest] as well.
var ErrInvalidEvent error = &invalidParamsError{msg: "qoder: invalid input event"}

// InputEvent is an event a client sends with EventsService.Send. It is
// implemented, by value and by pointer, by [UserMessage], [UserInterrupt],
// [UserToolConfirmation], [UserCustomToolResult], [UserToolResult],
// [UserDefineOutcome] and [SystemMessage]; each encodes with its own "type".
type InputEvent interface {
	inputEventType() string
	validate() error
}

// UserMessage sends a message to the agent (user.message). Content must be a
// non-empty array of blocks; [NewUserMessage] builds the common text case.
// Send the next message only after the previous turn settled.
type UserMessage struct {
	Content []ContentBlock `json:"content"`
}

// NewUserMessage returns a user message holding one text block.
func NewUserMessage(text string) UserMessage {
	return UserMessage{Content: []ContentBlock{TextBlock(text)}}
}

// UserInterrupt interrupts the current turn (user.interrupt): of the whole
// session, or of one thread when SessionThreadID is set.
type UserInterrupt struct {
	SessionThreadID string `json:"session_thread_id,omitempty"`
}

// UserToolConfirmation allows or denies a tool call that waits for
// confirmation (user.tool_confirmation). ToolUseID is the id of the pending
// agent.tool_use or agent.mcp_tool_use event, as listed in
// StopReason.EventIDs. DenyMessage may be set only with ToolConfirmationDeny.
// See [AllowTool] and [DenyTool].
type UserToolConfirmation struct {
	ToolUseID   string                 `json:"tool_use_id"`
	Result      ToolConfirmationResult `json:"result"`
	DenyMessage string                 `json:"deny_message,omitempty"`
}

// AllowTool returns a confirmation that allows the pending tool call.
func AllowTool(toolUseID string) UserToolConfirmation {
	return UserToolConfirmation{ToolUseID: toolUseID, Result: ToolConfirmationAllow}
}

// DenyTool returns a confirmation that denies the pending tool call; message
// (optional) tells the agent why.
func DenyTool(toolUseID, message string) UserToolConfirmation {
	return UserToolConfirmation{ToolUseID: toolUseID, Result: ToolConfirmationDeny, DenyMessage: message}
}

// UserCustomToolResult answers an agent.custom_tool_use
// (user.custom_tool_result); CustomToolUseID is that event's id. See
// [NewCustomToolResult] and [NewCustomToolError].
type UserCustomToolResult struct {
	CustomToolUseID string         `json:"custom_tool_use_id"`
	Content         []ContentBlock `json:"content,omitzero"`
	IsError         bool           `json:"is_error,omitempty"`
}

// NewCustomToolResult returns a successful custom tool result holding text.
func NewCustomToolResult(customToolUseID, text string) UserCustomToolResult {
	return UserCustomToolResult{CustomToolUseID: customToolUseID, Content: []ContentBlock{TextBlock(text)}}
}

// NewCustomToolError returns a custom tool result that reports a failure,
// described by text.
func NewCustomToolError(customToolUseID, text string) UserCustomToolResult {
	r := NewCustomToolResult(customToolUseID, text)
	r.IsError = true
	return r
}

// UserToolResult returns the result of a built-in tool call run by a
// self-hosted worker (user.tool_result); ToolUseID is the agent.tool_use
// event's id.
type UserToolResult struct {
	ToolUseID string         `json:"tool_use_id"`
	Content   []ContentBlock `json:"content,omitzero"`
	IsError   bool           `json:"is_error,omitempty"`
}

// UserDefineOutcome defines an outcome the platform evaluates
// (user.define_outcome), reporting with span.outcome_evaluation_* events.
// MaxIterations is optional.
type UserDefineOutcome struct {
	Description   string `json:"description"`
	Rubric        Rubric `json:"rubric"`
	MaxIterations *int   `json:"max_iterations,omitempty"`
}

// SystemMessage sends system-prompt-level guidance (system.message). Content
// holds text blocks. A batch may carry at most one, as its last event.
type SystemMessage struct {
	Content []ContentBlock `json:"content"`
}

// NewSystemMessage returns a system message holding one text block.
func NewSystemMessage(text string) SystemMessage {
	return SystemMessage{Content: []ContentBlock{TextBlock(text)}}
}

func (UserMessage) inputEventType() string          { return EventTypeUserMessage }
func (UserInterrupt) inputEventType() string        { return EventTypeUserInterrupt }
func (UserToolConfirmation) inputEventType() string { return EventTypeUserToolConfirmation }
func (UserCustomToolResult) inputEventType() string { return EventTypeUserCustomToolResult }
func (UserToolResult) inputEventType() string       { return EventTypeUserToolResult }
func (UserDefineOutcome) inputEventType() string    { return EventTypeUserDefineOutcome }
func (SystemMessage) inputEventType() string        { return EventTypeSystemMessage }

// MarshalJSON encodes the event with "type":"user.message".
func (e UserMessage) MarshalJSON() ([]byte, error) {
	type plain UserMessage
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{EventTypeUserMessage, plain(e)})
}

// MarshalJSON encodes the event with "type":"user.interrupt".
func (e UserInterrupt) MarshalJSON() ([]byte, error) {
	type plain UserInterrupt
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{EventTypeUserInterrupt, plain(e)})
}

// MarshalJSON encodes the event with "type":"user.tool_confirmation".
func (e UserToolConfirmation) MarshalJSON() ([]byte, error) {
	type plain UserToolConfirmation
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{EventTypeUserToolConfirmation, plain(e)})
}

// MarshalJSON encodes the event with "type":"user.custom_tool_result".
func (e UserCustomToolResult) MarshalJSON() ([]byte, error) {
	type plain UserCustomToolResult
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{EventTypeUserCustomToolResult, plain(e)})
}

// MarshalJSON encodes the event with "type":"user.tool_result".
func (e UserToolResult) MarshalJSON() ([]byte, error) {
	type plain UserToolResult
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{EventTypeUserToolResult, plain(e)})
}

// MarshalJSON encodes the event with "type":"user.define_outcome".
func (e UserDefineOutcome) MarshalJSON() ([]byte, error) {
	type plain UserDefineOutcome
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{EventTypeUserDefineOutcome, plain(e)})
}

// MarshalJSON encodes the event with "type":"system.message".
func (e SystemMessage) MarshalJSON() ([]byte, error) {
	type plain SystemMessage
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{EventTypeSystemMessage, plain(e)})
}

// --- validation -------------------------------------------------------------

// inputEventError is a broken rule of one event of a batch.
type inputEventError struct {
	index int
	typ   string // "" when unknown (nil entry)
	msg   string
}

func (e *inputEventError) Error() string {
	if e.typ == "" {
		return fmt.Sprintf("qoder: events[%d]: %s", e.index, e.msg)
	}
	return fmt.Sprintf("qoder: events[%d] (%s): %s", e.index, e.typ, e.msg)
}

func (e *inputEventError) Unwrap() error { return ErrInvalidEvent }

// validateInputEvents checks the documented rules of a batch before it is
// sent: the batch is not empty and has no nil entry, every event has its
// required fields, and a system.message, if any, is the single last event.
// The error names the index and type of the first bad event and matches
// [ErrInvalidEvent].
func validateInputEvents(events []InputEvent) error {
	if len(events) == 0 {
		return fmt.Errorf("%w: events must contain at least one event", ErrInvalidEvent)
	}
	for i, ev := range events {
		if isNilInputEvent(ev) {
			return &inputEventError{index: i, msg: "event is nil"}
		}
		typ := ev.inputEventType()
		if err := ev.validate(); err != nil {
			return &inputEventError{index: i, typ: typ, msg: err.Error()}
		}
		if typ == EventTypeSystemMessage && i != len(events)-1 {
			return &inputEventError{index: i, typ: typ,
				msg: "a batch may hold at most one system.message and it must be the last event"}
		}
	}
	return nil
}

// isNilInputEvent reports whether ev is nil or a nil pointer, on which the
// value-receiver methods would panic.
func isNilInputEvent(ev InputEvent) bool {
	switch ev := ev.(type) {
	case nil:
		return true
	case *UserMessage:
		return ev == nil
	case *UserInterrupt:
		return ev == nil
	case *UserToolConfirmation:
		return ev == nil
	case *UserCustomToolResult:
		return ev == nil
	case *UserToolResult:
		return ev == nil
	case *UserDefineOutcome:
		return ev == nil
	case *SystemMessage:
		return ev == nil
	}
	return false
}

func (e UserMessage) validate() error {
	if len(e.Content) == 0 {
		return errors.New("content must be a non-empty array of content blocks")
	}
	return validateBlocks("content", e.Content)
}

func (e UserInterrupt) validate() error { return nil }

func (e UserToolConfirmation) validate() error {
	if e.ToolUseID == "" {
		return errors.New("tool_use_id is required")
	}
	switch e.Result {
	case ToolConfirmationAllow:
		if e.DenyMessage != "" {
			return errors.New(`deny_message is allowed only with result "deny"`)
		}
	case ToolConfirmationDeny:
	case "":
		return errors.New(`result is required ("allow" or "deny")`)
	default:
		return fmt.Errorf(`result must be "allow" or "deny", not %q`, e.Result)
	}
	return nil
}

func (e UserCustomToolResult) validate() error {
	if e.CustomToolUseID == "" {
		return errors.New("custom_tool_use_id is required")
	}
	return validateBlocks("content", e.Content)
}

func (e UserToolResult) validate() error {
	if e.ToolUseID == "" {
		return errors.New("tool_use_id is required")
	}
	return validateBlocks("content", e.Content)
}

func (e UserDefineOutcome) validate() error {
	if e.Description == "" {
		return errors.New("description is required")
	}
	switch e.Rubric.Type {
	case RubricTypeText:
		if e.Rubric.Content == "" {
			return errors.New(`rubric.content is required for a "text" rubric`)
		}
	case RubricTypeFile:
		if e.Rubric.FileID == "" {
			return errors.New(`rubric.file_id is required for a "file" rubric`)
		}
	case "":
		return errors.New("rubric is required (see TextRubric and FileRubric)")
	default:
		return fmt.Errorf(`rubric.type must be "text" or "file", not %q`, e.Rubric.Type)
	}
	return nil
}

func (e SystemMessage) validate() error {
	if len(e.Content) == 0 {
		return errors.New("content must be a non-empty array of text blocks")
	}
	for i, b := range e.Content {
		if b.Type != ContentBlockTypeText {
			return fmt.Errorf("content[%d]: system messages hold text blocks only, not %q", i, b.Type)
		}
	}
	return nil
}

// validateBlocks checks the documented shape of content blocks: each has a
// type, and image and document blocks have a source with a type and the
// data that type needs (see validateSource).
func validateBlocks(field string, blocks []ContentBlock) error {
	for i, b := range blocks {
		switch b.Type {
		case "":
			return fmt.Errorf("%s[%d]: block type is required", field, i)
		case ContentBlockTypeImage, ContentBlockTypeDocument:
			if b.Source == nil || b.Source.Type == "" {
				return fmt.Errorf("%s[%d]: %s block needs a source with a type", field, i, b.Type)
			}
			if err := validateSource(b.Type, *b.Source); err != nil {
				return fmt.Errorf("%s[%d].source: %w", field, i, err)
			}
		}
	}
	return nil
}

// validateSource checks that the source of an image or document block
// carries what its type needs: base64 its data and media type, text (for
// documents only) its data, url the URL, file the file id.
func validateSource(block ContentBlockType, src ContentSource) error {
	switch src.Type {
	case ContentSourceTypeBase64:
		if src.Data == "" {
			return errors.New(`a "base64" source needs data`)
		}
		if src.MediaType == "" {
			return errors.New(`a "base64" source needs a media_type`)
		}
	case ContentSourceTypeText:
		if block != ContentBlockTypeDocument {
			return fmt.Errorf(`a "text" source is for document blocks, not %s`, block)
		}
		if src.Data == "" {
			return errors.New(`a "text" source needs data`)
		}
	case ContentSourceTypeURL:
		if src.URL == "" {
			return errors.New(`a "url" source needs a url`)
		}
	case ContentSourceTypeFile:
		if src.FileID == "" {
			return errors.New(`a "file" source needs a file_id`)
		}
	}
	return nil
}

// maxInitialEvents is how many initial_events a session create, or a
// deployment, may carry.
const maxInitialEvents = 50

// validateInitialEvents checks the initial_events of a session create or
// of a deployment: 1 to maxInitialEvents events, each of an allowed type,
// and each valid as in a batch of EventsService.Send.
func validateInitialEvents(events []InputEvent, allowed ...string) error {
	if len(events) == 0 {
		return fmt.Errorf("%w: initial_events must hold at least one event", ErrInvalidEvent)
	}
	if len(events) > maxInitialEvents {
		return fmt.Errorf("%w: initial_events holds %d events, more than %d", ErrInvalidEvent, len(events), maxInitialEvents)
	}
	for i, ev := range events {
		if isNilInputEvent(ev) {
			continue // reported by validateInputEvents
		}
		if typ := ev.inputEventType(); !slices.Contains(allowed, typ) {
			return &inputEventError{index: i, typ: typ, msg: "initial_events may hold only " + joinAnd(allowed)}
		}
	}
	return validateInputEvents(events)
}

// joinAnd joins words as "a, b and c".
func joinAnd(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
