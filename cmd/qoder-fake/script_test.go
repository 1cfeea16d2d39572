package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
)

func TestParseScriptErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, script, want string
	}{
		{"not JSON", `turns:`, "invalid character"},
		{"unknown field", `{"turns":[{"steps":[{"shout":"hi"}]}]}`, `unknown field "shout"`},
		{"no turns", `{"turns":[]}`, "no turns"},
		{"no steps", `{"turns":[{"match":"x"}]}`, "turns[0]: no steps"},
		{"two actions", `{"turns":[{"steps":[{"think":true},{"say":"a","think":true}]}]}`, "turns[0].steps[1]: a step does exactly one of"},
		{"no action", `{"turns":[{"steps":[{}]}]}`, "a step does exactly one of"},
		{"interval alone", `{"turns":[{"steps":[{"say":"a","interval":"1s"}]}]}`, "interval goes with deltas"},
		{"tool without name", `{"turns":[{"steps":[{"custom_tool":{"input":{}}}]}]}`, "custom_tool: name is required"},
		{"input not an object", `{"turns":[{"steps":[{"tool":{"name":"Bash","input":"ls"}}]}]}`, "tool: input must be a JSON object"},
		{"artifact without name", `{"turns":[{"steps":[{"deliver_artifact":{"content":"x"}}]}]}`, "deliver_artifact: name is required"},
		{"error without message", `{"turns":[{"steps":[{"error":{"type":"x"}}]}]}`, "type and message are required"},
		{"bad retry status", `{"turns":[{"steps":[{"error":{"type":"x","message":"m","retry_status":"never"}}]}]}`, `retry_status "never"`},
		{"bad duration", `{"turns":[{"steps":[{"wait":"soon"}]}]}`, "invalid duration"},
		{"negative duration", `{"turns":[{"steps":[{"wait":"-1s"}]}]}`, "negative"},
		{"trailing value", `{"turns":[{"steps":[{"think":true}]}]} {}`, "more than one JSON value"},
		{"delegate without task", `{"turns":[{"steps":[{"delegate":{"agent":"self","steps":[{"say":"x"}]}}]}]}`, "delegate: agent, task and steps are required"},
		{"delegate without steps", `{"turns":[{"steps":[{"delegate":{"agent":"self","task":"t"}}]}]}`, "delegate: agent, task and steps are required"},
		{"thread waits for the client", `{"turns":[{"steps":[{"delegate":{"agent":"self","task":"t","steps":[{"say":"a"},{"custom_tool":{"name":"x"}}]}}]}]}`,
			"turns[0].steps[0]: delegate.steps[1]: a thread cannot wait for the client"},
		{"thread delegates", `{"turns":[{"steps":[{"delegate":{"agent":"self","task":"t","steps":[{"delegate":{"agent":"self","task":"u","steps":[{"say":"a"}]}}]}}]}]}`,
			"a thread starts no threads"},
		{"bad step in a thread", `{"turns":[{"steps":[{"delegate":{"agent":"self","task":"t","steps":[{}]}}]}]}`, "delegate.steps[0]: a step does exactly one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseScript(strings.NewReader(tt.script))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// testScript exercises every kind of step, one kind of message each.
const testScript = `{
  "turns": [
    {"match": "weather", "steps": [
      {"think": true},
      {"custom_tool": {"name": "get_weather", "input": {"city": "Paris"}}},
      {"say": "It is {{result}} in Paris."}
    ]},
    {"match": "stream", "steps": [{"deltas": ["Hel", "lo, ", "{{text}}"], "interval": "1ms"}]},
    {"match": "files", "steps": [
      {"tool": {"name": "Bash", "input": {"command": "ls"}, "output": "a.txt\n"}},
      {"confirm": {"name": "Bash", "input": {"command": "rm a.txt"}}},
      {"say": "Not deleted: {{result}}"}
    ]},
    {"match": "fail", "steps": [{"error": {"type": "model_overloaded_error", "message": "Overloaded", "retry_status": "terminal"}}]},
    {"match": "bye", "steps": [{"say": "Bye."}, {"terminate": true}, {"say": "never said"}]},
    {"match": "long", "steps": [{"say": "Working."}, {"wait": "1h"}, {"say": "never said"}]},
    {"match": "delegate", "steps": [
      {"delegate": {"agent": "researcher", "task": "look for the bug", "steps": [
        {"tool": {"name": "Bash", "input": {"command": "grep -rn bug ."}, "output": "parse.go:12: bug"}},
        {"say": "Found it in parse.go (asked: {{text}})"}
      ]}},
      {"say": "The researcher says: {{result}}"}
    ]},
    {"match": "summarise", "steps": [
      {"read_file": "/mnt/notes.txt"},
      {"deliver_artifact": {"name": "summary.md", "content": "# Notes\n{{result}}"}},
      {"say": "Delivered."}
    ]}
  ]
}`

func TestScriptAgent(t *testing.T) {
	t.Parallel()
	s, err := parseScript(strings.NewReader(testScript))
	require.NoError(t, err)
	srv := qodertest.NewServer(t, qodertest.WithAgent(s.agent))
	client := srv.Client()
	agentID := srv.SeedAgent("bot")
	envID := srv.SeedEnvironment("env")
	session := func() string { return srv.SeedSession(agentID, envID) }
	ctx := t.Context()

	t.Run("custom tool", func(t *testing.T) {
		t.Parallel()
		var input map[string]any
		turn, err := client.Sessions.Run(ctx, session(), "What is the WEATHER like?",
			qoder.WithCustomTool("get_weather", func(_ context.Context, use *qoder.AgentCustomToolUseEvent) ([]qoder.ContentBlock, error) {
				require.NoError(t, use.DecodeInput(&input))
				return []qoder.ContentBlock{qoder.TextBlock("sunny")}, nil
			}))
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"city": "Paris"}, input)
		assert.Equal(t, "It is sunny in Paris.", turn.Text())
		var agentEvents []string
		for _, ev := range turn.Events {
			if strings.HasPrefix(ev.EventType(), "agent.") {
				agentEvents = append(agentEvents, ev.EventType())
			}
		}
		assert.Equal(t, []string{"agent.thinking", "agent.custom_tool_use", "agent.message"}, agentEvents)
	})

	t.Run("deltas", func(t *testing.T) {
		t.Parallel()
		var acc qoder.MessageAccumulator
		var parts []string
		turn, err := client.Sessions.Run(ctx, session(), "stream please",
			qoder.WithStreamParams(&qoder.StreamParams{EventDeltas: []string{"agent.message"}}),
			qoder.OnEvent(func(ev qoder.Event) {
				if _, text, _ := acc.Delta(ev); text != "" {
					parts = append(parts, text)
				}
			}))
		require.NoError(t, err)
		assert.Equal(t, []string{"Hel", "lo, ", "stream please"}, parts)
		assert.Equal(t, "Hello, stream please", turn.Text())
	})

	t.Run("built-in tool and a denied confirmation", func(t *testing.T) {
		t.Parallel()
		turn, err := client.Sessions.Run(ctx, session(), "list the files",
			qoder.WithToolConfirmation(func(context.Context, qoder.Event) (bool, string, error) {
				return false, "keep it", nil
			}))
		require.NoError(t, err)
		var uses []string
		for _, ev := range turn.Events {
			switch ev := ev.(type) {
			case *qoder.AgentToolUseEvent:
				uses = append(uses, string(ev.EvaluatedPermission)+" "+string(ev.Input))
			case *qoder.AgentToolResultEvent:
				uses = append(uses, "result "+ev.Text())
			}
		}
		assert.Equal(t, []string{`allow {"command":"ls"}`, "result a.txt\n", `ask {"command":"rm a.txt"}`}, uses)
		assert.Equal(t, "Not deleted: keep it", turn.Text())
	})

	t.Run("error", func(t *testing.T) {
		t.Parallel()
		_, err := client.Sessions.Run(ctx, session(), "fail now")
		assert.ErrorIs(t, err, qoder.ErrTurnFailed)
		assert.ErrorContains(t, err, "Overloaded")
	})

	t.Run("terminate", func(t *testing.T) {
		t.Parallel()
		turn, err := client.Sessions.Run(ctx, session(), "bye")
		assert.ErrorIs(t, err, qoder.ErrSessionTerminated)
		assert.Equal(t, "Bye.", turn.Text())
	})

	t.Run("a wait ends with an interrupt", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		id := session()
		turn, err := client.Sessions.Run(ctx, id, "a long job", qoder.OnEvent(func(ev qoder.Event) {
			if _, ok := ev.(*qoder.AgentMessageEvent); ok {
				cancel()
			}
		}))
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, "Working.", turn.Text())
		assert.Equal(t, qoder.StopReasonCancelled, turn.StopReason.Type)
	})

	t.Run("a file read and an artifact delivered", func(t *testing.T) {
		t.Parallel()
		file, err := client.Files.Upload(ctx, &qoder.FileUploadParams{Name: "notes.txt", Content: strings.NewReader("milk")})
		require.NoError(t, err)
		sess, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{
			Agent: qoder.AgentRef{ID: agentID}, EnvironmentID: envID,
			Resources: []qoder.SessionResourceParams{{Type: qoder.SessionResourceFile, FileID: file.ID, MountPath: "/mnt/notes.txt"}},
		})
		require.NoError(t, err)
		turn, err := client.Sessions.Run(ctx, sess.ID, "summarise my notes")
		require.NoError(t, err)
		assert.Equal(t, "Delivered.", turn.Text())
		var artifact *qoder.AgentArtifactDeliveredEvent
		for _, ev := range turn.Events {
			if a, ok := ev.(*qoder.AgentArtifactDeliveredEvent); ok {
				artifact = a
			}
		}
		require.NotNil(t, artifact)
		content, ok := srv.FileContent(artifact.FileID)
		require.True(t, ok)
		assert.Equal(t, "# Notes\nmilk", string(content))
	})

	t.Run("a thread does the work", func(t *testing.T) {
		t.Parallel()
		lead := srv.SeedCoordinator("lead", srv.SeedAgent("researcher"))
		id := srv.SeedSession(lead, envID)
		turn, err := client.Sessions.Run(ctx, id, "delegate the research")
		require.NoError(t, err)
		assert.Equal(t, "The researcher says: Found it in parse.go (asked: look for the bug)", turn.Text())
		threads, err := client.Sessions.Threads.List(ctx, id, nil)
		require.NoError(t, err)
		require.Len(t, threads.Data, 2, "the coordinator and the researcher's thread")
		events, err := client.Sessions.Threads.ListEvents(ctx, id, threads.Data[1].ID, nil)
		require.NoError(t, err)
		var types []string
		for _, ev := range events.Data {
			types = append(types, ev.EventType())
		}
		assert.Contains(t, types, "agent.tool_use", "the thread's own steps ran in the thread")
	})

	t.Run("no match: the echo agent", func(t *testing.T) {
		t.Parallel()
		turn, err := client.Sessions.Run(ctx, session(), "hello there")
		require.NoError(t, err)
		assert.Equal(t, "You said: hello there", turn.Text())
	})
}

// TestExampleScripts loads the scripts the examples ship for qoder-fake.
// The examples test runs each example against qoder-fake with its script.
func TestExampleScripts(t *testing.T) {
	t.Parallel()
	for _, file := range []string{
		"../../examples/custom-tools/fake-agent.json",
		"../../examples/tool-confirmation/fake-agent.json",
		"../../examples/chat/fake-agent.json",
		"../../examples/files/fake-agent.json",
	} {
		s, err := loadScript(file)
		require.NoError(t, err, file)
		assert.NotEmpty(t, s.describe())
	}
	_, err := loadScript("testdata/missing.json")
	assert.ErrorContains(t, err, "missing.json")
}

func TestScriptDescribe(t *testing.T) {
	t.Parallel()
	s, err := parseScript(strings.NewReader(`{"turns":[{"match":"a","steps":[{"think":true},{"say":"x"}]},{"steps":[{"say":"y"}]}]}`))
	require.NoError(t, err)
	assert.Equal(t, `messages with "a": 2 step(s); any message: 1 step(s)`, s.describe())
}
