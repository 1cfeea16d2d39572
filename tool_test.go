package qoder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Unit is an enum type of the test tools' input.
type Unit string

const (
	Celsius    Unit = "celsius"
	Fahrenheit Unit = "fahrenheit"
)

// forecastArgs has nested structs, slices, an enum and descriptions.
type forecastArgs struct {
	Place   place    `json:"place" jsonschema:"where to forecast"`
	Days    int      `json:"days" jsonschema:"how many days, from 1 to 7"`
	Unit    Unit     `json:"unit,omitempty" jsonschema:"the temperature unit"`
	Extras  []string `json:"extras,omitempty" jsonschema:"extra measures, such as wind"`
	Stops   []place  `json:"stops,omitzero"`
	Compare []Unit   `json:"compare,omitempty"`
	Alerts  *bool    `json:"alerts,omitempty"`
	Ignored string   `json:"-"`
	private string
}

type place struct {
	City    string `json:"city" jsonschema:"the city's name, such as Paris"`
	Country string `json:"country,omitempty" jsonschema:"ISO 3166 alpha-2 code"`
}

func newForecastTool(t *testing.T) *Tool {
	t.Helper()
	tool, err := NewTool("forecast", "Forecast the weather.", func(ctx context.Context, in forecastArgs) (string, error) {
		return "sunny", nil
	}, WithToolEnum(Celsius, Fahrenheit))
	require.NoError(t, err)
	return tool
}

func TestNewToolSchemaGolden(t *testing.T) {
	t.Parallel()
	def := newForecastTool(t).Definition()
	assert.Equal(t, AgentToolTypeCustom, def.Type)
	assert.Equal(t, "forecast", def.Name)
	assert.Equal(t, "Forecast the weather.", def.Description)

	var got bytes.Buffer
	require.NoError(t, json.Indent(&got, def.InputSchema, "", "  "))
	got.WriteString("\n")
	path := filepath.Join("testdata", "tools", "forecast_schema.json")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run TestNewToolSchemaGolden -update . to create it")
	assert.Equal(t, string(want), got.String())

	// The definition is what an agent create request carries.
	body, err := json.Marshal(def)
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"custom","name":"forecast","description":"Forecast the weather.","input_schema":`+string(want)+`}`, string(body))
}

func TestToolDefinitionIsACopy(t *testing.T) {
	t.Parallel()
	tool := newForecastTool(t)
	def := tool.Definition()
	def.InputSchema[0] = 'X'
	def.Name = "changed"
	assert.Equal(t, byte('{'), tool.Definition().InputSchema[0])
	assert.Equal(t, "forecast", tool.Name())
}

type recursive struct {
	Next *recursive `json:"next,omitempty"`
}

func TestNewToolBuildErrors(t *testing.T) {
	t.Parallel()
	build := func(name string, opts ...ToolOption) func() (*Tool, error) {
		return func() (*Tool, error) {
			return NewTool(name, "", func(context.Context, struct {
				A string `json:"a"`
			}) (string, error) {
				return "", nil
			}, opts...)
		}
	}
	tests := []struct {
		name    string
		build   func() (*Tool, error)
		wantMsg string
	}{
		{"empty name", build(""), "the tool name is empty"},
		{"nil function", func() (*Tool, error) {
			return NewTool[struct{}, string]("t", "", nil)
		}, `tool "t" has no function`},
		{"channel field", func() (*Tool, error) {
			return NewTool("t", "", func(context.Context, struct{ C chan int }) (string, error) { return "", nil })
		}, "chan int"},
		{"func field", func() (*Tool, error) {
			return NewTool("t", "", func(context.Context, struct{ F func() }) (string, error) { return "", nil })
		}, "func()"},
		{"map with int keys", func() (*Tool, error) {
			return NewTool("t", "", func(context.Context, map[int]string) (string, error) { return "", nil })
		}, "cannot be described by a JSON schema"},
		{"recursive type", func() (*Tool, error) {
			return NewTool("t", "", func(context.Context, recursive) (string, error) { return "", nil })
		}, "cycle"},
		{"string input", func() (*Tool, error) {
			return NewTool("t", "", func(context.Context, string) (string, error) { return "", nil })
		}, "a tool's input is a JSON object"},
		{"slice input", func() (*Tool, error) {
			return NewTool("t", "", func(context.Context, []place) (string, error) { return "", nil })
		}, "a tool's input is a JSON object"},
		{"any input", func() (*Tool, error) {
			return NewTool("t", "", func(context.Context, any) (string, error) { return "", nil })
		}, "a tool's input is a JSON object"},
		{"enum of a predeclared type", build("t", WithToolEnum("a", "b")), "WithToolEnum needs a defined type"},
		{"enum without values", build("t", WithToolEnum[Unit]()), "has no values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tool, err := tt.build()
			require.Error(t, err)
			assert.Nil(t, tool)
			assert.ErrorIs(t, err, ErrInvalidTool)
			assert.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

func TestNewToolAcceptsPointerAndMapInput(t *testing.T) {
	t.Parallel()
	ptr, err := NewTool("p", "", func(_ context.Context, in *place) (string, error) { return in.City, nil })
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"object","properties":{"city":{"type":"string","description":"the city's name, such as Paris"},"country":{"type":"string","description":"ISO 3166 alpha-2 code"}},"required":["city"],"additionalProperties":false}`,
		string(ptr.Definition().InputSchema))
	m, err := NewTool("m", "", func(_ context.Context, in map[string]int) (string, error) { return "", nil })
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"object","additionalProperties":{"type":"integer"}}`, string(m.Definition().InputSchema))
}

func TestWithToolsMisconfigurationFailsBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	a := newForecastTool(t)
	b := newForecastTool(t)
	raw := func(context.Context, *AgentCustomToolUseEvent) ([]ContentBlock, error) { return nil, nil }
	tests := []struct {
		name    string
		opts    []RunOption
		wantMsg string
	}{
		{"same tool twice", []RunOption{WithTools(a, a)}, `two handlers for custom tool "forecast"`},
		{"two tools with one name", []RunOption{WithTools(a), WithTools(b)}, `two handlers for custom tool "forecast"`},
		{"typed and raw handler", []RunOption{WithTools(a), WithCustomTool("forecast", raw)}, `two handlers for custom tool "forecast"`},
		{"raw handler twice", []RunOption{WithCustomTool("x", raw), WithCustomTool("x", raw)}, `two handlers for custom tool "x"`},
		{"nil tool", []RunOption{WithTools(nil)}, "nil tool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := newTestClient(t)
			mux.HandleFunc("/", failHandler(t))
			_, err := c.Sessions.Run(t.Context(), "sess_1", "hi", tt.opts...)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidTool)
			assert.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

// toolUse is one agent.custom_tool_use of a scripted pause; an empty
// input leaves the field out.
type toolUse struct {
	name, input string
}

// runToolUses runs a turn whose agent calls uses in one pause
// (requires_action naming them all), then ends with "done". It returns
// the turn, the results Run sent in its one answer, and the fake.
func runToolUses(t *testing.T, uses []toolUse, opts ...RunOption) (*Turn, []map[string]any, *turnFake) {
	t.Helper()
	c, f := newTurnFake(t, func(f *turnFake, in []map[string]any) []string {
		if in[0]["type"] != "user.message" {
			return []string{
				f.ev("session.status_running", ""),
				f.ev("agent.message", `"content":[{"type":"text","text":"done"}]`),
				f.ev("session.status_idle", `"stop_reason":{"type":"end_turn"}`),
			}
		}
		out := []string{f.ev("session.status_running", "")}
		var ids []string
		for i, u := range uses {
			id := fmt.Sprintf("evt_use%d", i)
			ids = append(ids, fmt.Sprintf("%q", id))
			input := ""
			if u.input != "" {
				input = `,"input":` + u.input
			}
			out = append(out, fmt.Sprintf(`{"id":%q,"type":"agent.custom_tool_use","name":%q%s}`, id, u.name, input))
		}
		return append(out, f.ev("session.status_idle", `"stop_reason":{"type":"requires_action","event_ids":[`+strings.Join(ids, ",")+`]}`))
	})
	turn, err := c.Sessions.Run(t.Context(), "sess_1", "go", opts...)
	require.NoError(t, err)
	assert.Equal(t, "done", turn.Text(), "the turn goes on after the answers")
	sent := f.inputs()
	require.Len(t, sent, 2, "the tool uses are answered in one batch")
	require.Len(t, sent[1], len(uses), "one answer per tool use")
	for i, res := range sent[1] {
		assert.Equal(t, "user.custom_tool_result", res["type"])
		assert.Equal(t, fmt.Sprintf("evt_use%d", i), res["custom_tool_use_id"])
	}
	return turn, sent[1], f
}

// resultText joins the text blocks of a sent result.
func resultText(res map[string]any) string {
	content, _ := res["content"].([]any)
	var parts []string
	for _, b := range content {
		if b, ok := b.(map[string]any); ok {
			text, _ := b["text"].(string)
			parts = append(parts, text)
		}
	}
	return strings.Join(parts, "\n")
}

type weatherArgs struct {
	City string `json:"city"`
	Days int    `json:"days,omitempty"`
	Unit Unit   `json:"unit,omitempty"`
	Near *place `json:"near,omitempty"`
}

func TestToolValidatesInputBeforeTheHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		input   string
		wantErr string // "" when the handler must be called
	}{
		{"valid", `{"city":"Paris","days":3,"unit":"celsius","near":{"city":"Lyon"}}`, ""},
		{"wrong type", `{"city":42}`, "/properties/city"},
		{"missing required property", `{}`, `missing properties: ["city"]`},
		{"no input at all", ``, `missing properties: ["city"]`},
		{"unknown property", `{"city":"Paris","town":"Lyon"}`, `"town"`},
		{"value outside the enum", `{"city":"Paris","unit":"kelvin"}`, "/properties/unit"},
		{"fraction for an integer", `{"city":"Paris","days":1.5}`, "/properties/days"},
		{"integer too large for the field", `{"city":"Paris","days":1e30}`, "weatherArgs.days"},
		{"nested wrong type", `{"city":"Paris","near":{"city":true}}`, "/properties/near/properties/city"},
		{"not an object", `["Paris"]`, `want "object"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			var got weatherArgs
			tool, err := NewTool("weather", "", func(_ context.Context, in weatherArgs) (string, error) {
				calls.Add(1)
				got = in
				return "sunny in " + in.City, nil
			}, WithToolEnum(Celsius, Fahrenheit))
			require.NoError(t, err)
			_, results, _ := runToolUses(t, []toolUse{{"weather", tt.input}}, WithTools(tool))
			res := results[0]
			if tt.wantErr == "" {
				assert.Equal(t, int32(1), calls.Load())
				assert.NotContains(t, res, "is_error")
				assert.Equal(t, "sunny in Paris", resultText(res))
				assert.Equal(t, weatherArgs{City: "Paris", Days: 3, Unit: Celsius, Near: &place{City: "Lyon"}}, got)
				return
			}
			assert.Equal(t, int32(0), calls.Load(), "the handler is not called")
			assert.Equal(t, true, res["is_error"])
			assert.Contains(t, resultText(res), "invalid input for tool weather")
			assert.Contains(t, resultText(res), tt.wantErr)
		})
	}
}

func TestToolResults(t *testing.T) {
	t.Parallel()
	image := ImageBlock(URLSource("https://example.com/map.png"))
	tests := []struct {
		name        string
		opts        func(t *testing.T) []RunOption
		wantError   bool
		wantContent any // nil: no content sent
		wantText    string
	}{
		{
			name: "text",
			opts: func(t *testing.T) []RunOption {
				return []RunOption{WithTools(mustTool(t, func(context.Context, place) (string, error) { return "sunny", nil }))}
			},
			wantContent: []any{map[string]any{"type": "text", "text": "sunny"}},
		},
		{
			name: "empty text",
			opts: func(t *testing.T) []RunOption {
				return []RunOption{WithTools(mustTool(t, func(context.Context, place) (string, error) { return "", nil }))}
			},
		},
		{
			name: "one block",
			opts: func(t *testing.T) []RunOption {
				return []RunOption{WithTools(mustTool(t, func(context.Context, place) (ContentBlock, error) { return image, nil }))}
			},
			wantContent: []any{map[string]any{"type": "image", "source": map[string]any{"type": "url", "url": "https://example.com/map.png"}}},
		},
		{
			name: "blocks",
			opts: func(t *testing.T) []RunOption {
				return []RunOption{WithTools(mustTool(t, func(context.Context, place) ([]ContentBlock, error) {
					return []ContentBlock{TextBlock("map:"), image}, nil
				}))}
			},
			wantContent: []any{
				map[string]any{"type": "text", "text": "map:"},
				map[string]any{"type": "image", "source": map[string]any{"type": "url", "url": "https://example.com/map.png"}},
			},
		},
		{
			name: "handler error",
			opts: func(t *testing.T) []RunOption {
				return []RunOption{WithTools(mustTool(t, func(context.Context, place) (string, error) {
					return "ignored", errors.New("no weather data for Atlantis")
				}))}
			},
			wantError: true, wantText: "no weather data for Atlantis",
		},
		{
			name: "handler panic",
			opts: func(t *testing.T) []RunOption {
				return []RunOption{WithTools(mustTool(t, func(context.Context, place) (string, error) { panic("boom") }))}
			},
			wantError: true, wantText: "tool weather failed: panic: boom",
		},
		{
			name: "handler panic with concurrency",
			opts: func(t *testing.T) []RunOption {
				return []RunOption{WithToolConcurrency(4), WithTools(mustTool(t, func(context.Context, place) (string, error) { panic("boom") }))}
			},
			wantError: true, wantText: "tool weather failed: panic: boom",
		},
		{
			name: "raw handler panic",
			opts: func(t *testing.T) []RunOption {
				return []RunOption{WithCustomTool("weather", func(context.Context, *AgentCustomToolUseEvent) ([]ContentBlock, error) {
					var m map[string]int
					m["x"] = 1 // a nil map write panics
					return nil, nil
				})}
			},
			wantError: true, wantText: "tool weather failed: panic: assignment to entry in nil map",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, results, _ := runToolUses(t, []toolUse{{"weather", `{"city":"Paris"}`}}, tt.opts(t)...)
			res := results[0]
			if tt.wantError {
				assert.Equal(t, true, res["is_error"])
				assert.Equal(t, tt.wantText, resultText(res))
				return
			}
			assert.NotContains(t, res, "is_error")
			assert.Equal(t, tt.wantContent, res["content"])
		})
	}
}

// mustTool builds the tool "weather" from fn.
func mustTool[Result ToolOutput](t *testing.T, fn func(context.Context, place) (Result, error)) *Tool {
	t.Helper()
	tool, err := NewTool("weather", "Get the weather.", fn)
	require.NoError(t, err)
	return tool
}

func TestToolPanicIsLogged(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var logs bytes.Buffer
	c, _ := newTurnFake(t, func(f *turnFake, in []map[string]any) []string {
		if in[0]["type"] == "user.message" {
			return []string{
				`{"id":"evt_use","type":"agent.custom_tool_use","name":"weather","input":{"city":"Paris"}}`,
				f.ev("session.status_idle", `"stop_reason":{"type":"requires_action","event_ids":["evt_use"]}`),
			}
		}
		return []string{f.ev("session.status_idle", `"stop_reason":{"type":"end_turn"}`)}
	})
	c.logger = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelError}))
	_, err := c.Sessions.Run(t.Context(), "sess_1", "go",
		WithTools(mustTool(t, func(context.Context, place) (string, error) { panic("boom") })))
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, logs.String(), `msg="qoder: custom tool handler panicked" tool=weather panic=boom`)
	assert.Contains(t, logs.String(), "tool_test.go", "the stack is logged")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestRunToolCallsRunConcurrentlyWhenAllowed(t *testing.T) {
	t.Parallel()
	// Each call waits until all three have started: only calls that run
	// at the same time can all succeed before the timeout.
	var started atomic.Int32
	allStarted := make(chan struct{})
	tool, err := NewTool("part", "", func(ctx context.Context, in struct {
		N int `json:"n"`
	}) (string, error) {
		if started.Add(1) == 3 {
			close(allStarted)
		}
		select {
		case <-allStarted:
			return fmt.Sprint("part ", in.N), nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	require.NoError(t, err)
	_, results, _ := runToolUses(t, []toolUse{{"part", `{"n":0}`}, {"part", `{"n":1}`}, {"part", `{"n":2}`}},
		WithTools(tool), WithToolConcurrency(3), WithToolTimeout(10*time.Second))
	for i, res := range results {
		assert.NotContains(t, res, "is_error")
		assert.Equal(t, fmt.Sprint("part ", i), resultText(res), "answers keep the order of the pending events")
	}
}

func TestRunToolCallsAreSequentialByDefault(t *testing.T) {
	t.Parallel()
	// The first call waits for the second to start, which never happens
	// while calls run one after another: it times out.
	secondStarted := make(chan struct{})
	first, err := NewTool("first", "", func(ctx context.Context, _ struct{}) (string, error) {
		select {
		case <-secondStarted:
			return "overlapped", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	require.NoError(t, err)
	second, err := NewTool("second", "", func(ctx context.Context, _ struct{}) (string, error) {
		close(secondStarted)
		return "second", nil
	})
	require.NoError(t, err)
	_, results, _ := runToolUses(t, []toolUse{{"first", `{}`}, {"second", `{}`}},
		WithTools(first, second), WithToolTimeout(250*time.Millisecond))
	assert.Equal(t, true, results[0]["is_error"])
	assert.NotEqual(t, "overlapped", resultText(results[0]))
	assert.Equal(t, "second", resultText(results[1]))
}

func TestRunToolTimeout(t *testing.T) {
	t.Parallel()
	for _, concurrency := range []int{0, 3} {
		t.Run(fmt.Sprint("concurrency=", concurrency), func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			returned := make(chan struct{})
			stuck, err := NewTool("stuck", "", func(context.Context, struct{}) (string, error) {
				defer close(returned)
				<-release // ignores its context
				return "too late", nil
			})
			require.NoError(t, err)
			var deadline atomic.Bool
			heeds, err := NewTool("heeds", "", func(ctx context.Context, _ struct{}) (string, error) {
				_, ok := ctx.Deadline()
				deadline.Store(ok)
				<-ctx.Done()
				return "", ctx.Err()
			})
			require.NoError(t, err)
			quick, err := NewTool("quick", "", func(context.Context, struct{}) (string, error) { return "ok", nil })
			require.NoError(t, err)

			_, results, f := runToolUses(t, []toolUse{{"stuck", `{}`}, {"heeds", `{}`}, {"quick", `{}`}},
				WithTools(stuck, heeds, quick), WithToolConcurrency(concurrency), WithToolTimeout(250*time.Millisecond))
			assert.Equal(t, true, results[0]["is_error"])
			assert.Equal(t, "tool stuck did not answer within 250ms", resultText(results[0]))
			assert.Equal(t, true, results[1]["is_error"])
			assert.True(t, deadline.Load(), "the handler's context has the deadline")
			assert.NotContains(t, results[2], "is_error")
			assert.Equal(t, "ok", resultText(results[2]))

			// The late answer of the stuck handler is dropped.
			close(release)
			<-returned
			assert.Len(t, f.inputs(), 2)
		})
	}
}

func TestRunToolTimeoutDefersToRunContext(t *testing.T) {
	t.Parallel()
	c, f := newTurnFake(t, func(f *turnFake, in []map[string]any) []string {
		if in[0]["type"] == "user.interrupt" {
			return []string{f.ev("session.status_idle", `"stop_reason":{"type":"cancelled"}`)}
		}
		return []string{
			`{"id":"evt_use","type":"agent.custom_tool_use","name":"slow","input":{}}`,
			f.ev("session.status_idle", `"stop_reason":{"type":"requires_action","event_ids":["evt_use"]}`),
		}
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	slow, err := NewTool("slow", "", func(ctx context.Context, _ struct{}) (string, error) {
		cancel() // Run's context ends while the tool runs
		<-ctx.Done()
		return "", ctx.Err()
	})
	require.NoError(t, err)
	_, err = c.Sessions.Run(ctx, "sess_1", "go", WithTools(slow), WithToolTimeout(time.Hour))
	assert.ErrorIs(t, err, context.Canceled)
	sent := f.inputs()
	require.Len(t, sent, 2, "no answer is sent once Run's context ends")
	assert.Equal(t, "user.interrupt", sent[1][0]["type"], "Run interrupts the turn instead")
}
