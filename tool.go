package qoder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/google/jsonschema-go/jsonschema"
)

// ErrInvalidTool is matched (errors.Is) by the errors of [NewTool] and by
// the error Run returns, before any request, when its tools are
// misconfigured (two handlers for one name, a nil tool).
var ErrInvalidTool = errors.New("qoder: invalid tool")

// Tool is a custom tool whose input is a Go type: it holds both the
// definition to put on the agent ([Tool.Definition]) and the handler that
// answers the agent's calls during [SessionsService.Run] ([WithTools]), so
// the two cannot disagree on the name or the input. Build one with
// [NewTool]; a Tool is immutable and safe to share between goroutines.
type Tool struct {
	definition AgentTool
	handler    CustomToolHandler
}

// ToolOutput is what the function of a typed tool returns on success:
// text (sent as one text block, or as no content when empty), one content
// block, or several.
type ToolOutput interface {
	string | ContentBlock | []ContentBlock
}

// ToolOption configures [NewTool].
type ToolOption func(*toolConfig)

// toolConfig is the configuration built from ToolOptions.
type toolConfig struct {
	typeSchemas map[reflect.Type]*jsonschema.Schema
	err         error
}

// NewTool returns a custom tool named name whose input is described by
// Args and answered by fn.
//
// The input schema is inferred from Args, which must be a struct (or a
// pointer to one) or a map with string keys: json tags give the property
// names, a field is required unless its json tag says omitempty or
// omitzero, a jsonschema tag is the property's description, unknown
// properties are not allowed, and [WithToolEnum] limits a type to a set of
// values. An Args that no schema describes (a channel, a func, a map with
// other keys, a recursive type) is an error here, not at the first call.
//
// When the agent calls the tool during Run, the input is first validated
// against the schema: input of the wrong shape is answered with an
// is_error result that names the offending field, and fn is not called.
// Otherwise fn gets the decoded Args; what it returns is the result, and
// an error is sent as an is_error result with the error's text, as is a
// panic in fn. Either way the turn goes on.
//
// The errors NewTool returns match [ErrInvalidTool].
func NewTool[Args any, Result ToolOutput](name, description string, fn func(ctx context.Context, in Args) (Result, error), opts ...ToolOption) (*Tool, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: the tool name is empty", ErrInvalidTool)
	}
	if fn == nil {
		return nil, fmt.Errorf("%w: tool %q has no function", ErrInvalidTool, name)
	}
	var cfg toolConfig
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if cfg.err != nil {
		return nil, fmt.Errorf("%w: tool %q: %w", ErrInvalidTool, name, cfg.err)
	}
	schema, err := inputSchema(reflect.TypeFor[Args](), &cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: tool %q: %w", ErrInvalidTool, name, err)
	}
	data, err := json.Marshal(schema)
	if err != nil {
		return nil, fmt.Errorf("%w: tool %q: encoding the input schema: %w", ErrInvalidTool, name, err)
	}
	resolved, err := schema.Resolve(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: tool %q: the input schema: %w", ErrInvalidTool, name, err)
	}
	handler := func(ctx context.Context, use *AgentCustomToolUseEvent) ([]ContentBlock, error) {
		var in Args
		if err := decodeValidInput(resolved, use.Input, &in); err != nil {
			return nil, fmt.Errorf("invalid input for tool %s: %w", name, err)
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		return toolContent(out), nil
	}
	return &Tool{
		definition: AgentTool{Type: AgentToolTypeCustom, Name: name, Description: description, InputSchema: data},
		handler:    handler,
	}, nil
}

// inputSchema infers the object schema of an input type t.
func inputSchema(t reflect.Type, cfg *toolConfig) (*jsonschema.Schema, error) {
	schema, err := jsonschema.ForType(t, &jsonschema.ForOptions{TypeSchemas: cfg.typeSchemas})
	if err != nil {
		return nil, fmt.Errorf("input type %s cannot be described by a JSON schema: %w", t, err)
	}
	// ForType never returns nil without an error today; Resolve would
	// panic on nil (google/jsonschema-go#74), so do not rely on it.
	if schema == nil {
		return nil, fmt.Errorf("input type %s has no JSON schema", t)
	}
	if schema.Type != "object" && !slices.Equal(schema.Types, []string{"null", "object"}) {
		return nil, fmt.Errorf("input type %s is not a struct or a map with string keys: a tool's input is a JSON object", t)
	}
	// A pointer Args still takes an object: null is not a valid input.
	schema.Type, schema.Types = "object", nil
	return schema, nil
}

// decodeValidInput validates the raw tool input against schema and, when
// it conforms, decodes it into v. A missing input is an empty object.
func decodeValidInput(schema *jsonschema.Resolved, input json.RawMessage, v any) error {
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	var instance any
	if err := json.Unmarshal(input, &instance); err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	if err := schema.Validate(instance); err != nil {
		return err
	}
	return json.Unmarshal(input, v)
}

// toolContent turns what a typed tool returned into result content.
func toolContent(out any) []ContentBlock {
	switch out := out.(type) {
	case string:
		if out == "" {
			return nil
		}
		return []ContentBlock{TextBlock(out)}
	case ContentBlock:
		return []ContentBlock{out}
	case []ContentBlock:
		return out
	}
	return nil
}

// Name returns the tool's name.
func (t *Tool) Name() string { return t.definition.Name }

// Definition returns the tool's entry for AgentCreateParams.Tools (and
// agent updates): type custom, the name, the description and the inferred
// input schema.
func (t *Tool) Definition() AgentTool {
	def := t.definition
	def.InputSchema = bytes.Clone(def.InputSchema)
	return def
}

// WithToolEnum limits every value of type T in a tool's input to values:
// the schema lists them as the enum of T, and input with another value is
// answered with an is_error result. T must be a defined type, such as
// `type Unit string`, so that other fields are not limited by accident.
func WithToolEnum[T any](values ...T) ToolOption {
	return func(c *toolConfig) {
		t := reflect.TypeFor[T]()
		if t.PkgPath() == "" || t.Name() == "" {
			c.err = errors.Join(c.err, fmt.Errorf("WithToolEnum needs a defined type such as `type Unit string`, not %s", t))
			return
		}
		if len(values) == 0 {
			c.err = errors.Join(c.err, fmt.Errorf("WithToolEnum[%s] has no values", t))
			return
		}
		schema, err := jsonschema.ForType(t, nil)
		if err != nil {
			c.err = errors.Join(c.err, fmt.Errorf("WithToolEnum[%s]: %w", t, err))
			return
		}
		for _, v := range values {
			// The enum holds each value as JSON decodes it, so that input
			// decoded into an any compares equal.
			data, err := json.Marshal(v)
			var decoded any
			if err == nil {
				err = json.Unmarshal(data, &decoded)
			}
			if err != nil {
				c.err = errors.Join(c.err, fmt.Errorf("WithToolEnum[%s]: value %v: %w", t, v, err))
				return
			}
			schema.Enum = append(schema.Enum, decoded)
		}
		if c.typeSchemas == nil {
			c.typeSchemas = map[reflect.Type]*jsonschema.Schema{}
		}
		c.typeSchemas[t] = schema
	}
}

// WithTools answers the agent's calls of each typed tool (see [NewTool])
// during Run. A name handled twice, by WithTools or [WithCustomTool], or a
// nil tool, makes Run fail with [ErrInvalidTool] before any request.
func WithTools(tools ...*Tool) RunOption {
	return func(c *runConfig) {
		for _, t := range tools {
			if t == nil {
				c.fail(fmt.Errorf("%w: WithTools got a nil tool", ErrInvalidTool))
				continue
			}
			c.addCustomTool(t.definition.Name, t.handler)
		}
	}
}
