package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/qoder-go/qoder/qodertest"
)

// script says what the fake's agent does on each message (the format is
// described in the package comment). Each user.message runs the steps of
// the first turn whose match occurs in the message's text, ignoring case;
// a turn without match takes any message. A message no turn takes gets
// the echo agent.
type script struct {
	Turns []scriptTurn `json:"turns"`
}

// scriptTurn is what the agent does on the messages that contain Match.
type scriptTurn struct {
	Match string       `json:"match"`
	Steps []scriptStep `json:"steps"`
}

// scriptStep is one thing the agent does: exactly one of its fields other
// than Interval is set. In the text of say, deltas, outputs, error
// messages and artifacts, {{text}} stands for the user's message and
// {{result}} for the text of the last custom tool result, after a
// confirmation its deny message ("" when allowed), or after read_file the
// file's text.
type scriptStep struct {
	// Think emits agent.thinking.
	Think bool `json:"think,omitempty"`
	// Say emits an agent.message.
	Say *string `json:"say,omitempty"`
	// Deltas emits an agent.message in parts (event_delta frames for
	// streams that ask for them), Interval apart.
	Deltas   []string `json:"deltas,omitempty"`
	Interval duration `json:"interval,omitzero"`
	// Tool uses a built-in tool (agent.tool_use, agent.tool_result).
	Tool *scriptTool `json:"tool,omitempty"`
	// CustomTool calls a custom tool and waits for the client's result.
	CustomTool *scriptTool `json:"custom_tool,omitempty"`
	// Confirm uses a built-in tool once the client allows it.
	Confirm *scriptTool `json:"confirm,omitempty"`
	// Error emits session.error.
	Error *scriptError `json:"error,omitempty"`
	// Wait pauses the turn (until it is interrupted, at most).
	Wait duration `json:"wait,omitzero"`
	// Terminate ends the session for good.
	Terminate bool `json:"terminate,omitempty"`
	// ReadFile reads the file mounted at this path in the session
	// (agent.tool_use of Read and its result); {{result}} becomes its
	// text.
	ReadFile string `json:"read_file,omitempty"`
	// DeliverArtifact delivers a file the client can download
	// (agent.artifact_delivered).
	DeliverArtifact *scriptArtifact `json:"deliver_artifact,omitempty"`
	// Delegate runs steps in a new thread of a multi-agent session;
	// {{result}} becomes the thread's reply.
	Delegate *scriptDelegate `json:"delegate,omitempty"`
}

// scriptDelegate is work a coordinator hands to a thread: the roster
// entry that does it ("self", or an agent's name or id), the task (the
// thread's {{text}}) and the thread's own steps.
type scriptDelegate struct {
	Agent string       `json:"agent"`
	Task  string       `json:"task"`
	Steps []scriptStep `json:"steps"`
}

// scriptArtifact is a file the agent delivers: its name and its text.
type scriptArtifact struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// scriptTool is a tool call: the tool's name, its input and, for a
// built-in tool, its output.
type scriptTool struct {
	Name   string          `json:"name"`
	Input  json.RawMessage `json:"input,omitempty"`
	Output string          `json:"output,omitempty"`
}

// input returns the tool's input, {} when the script gives none.
func (t *scriptTool) input() any {
	if len(t.Input) == 0 {
		return nil // qodertest sends {}
	}
	return t.Input
}

// scriptError is a session.error.
type scriptError struct {
	Type        string `json:"type"`
	Message     string `json:"message"`
	RetryStatus string `json:"retry_status,omitempty"`
}

// duration is a time.Duration written as "250ms" or "2s".
type duration time.Duration

func (d *duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"500ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("duration %s is negative", s)
	}
	*d = duration(v)
	return nil
}

// loadScript reads and checks the script in file.
func loadScript(file string) (*script, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := parseScript(f)
	if err != nil {
		return nil, fmt.Errorf("script %s: %w", file, err)
	}
	return s, nil
}

// parseScript decodes a script and checks that every step does one thing.
func parseScript(r io.Reader) (*script, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var s script
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	if len(s.Turns) == 0 {
		return nil, errors.New(`no turns: want {"turns": [{"match": "...", "steps": [...]}]}`)
	}
	for i, turn := range s.Turns {
		if len(turn.Steps) == 0 {
			return nil, fmt.Errorf("turns[%d]: no steps", i)
		}
		if err := checkSteps(turn.Steps, false); err != nil {
			return nil, fmt.Errorf("turns[%d].%w", i, err)
		}
	}
	return &s, nil
}

// checkSteps checks each step; a thread's steps (inThread) cannot wait for
// the client or start threads of their own.
func checkSteps(steps []scriptStep, inThread bool) error {
	for j, step := range steps {
		err := step.check()
		switch {
		case err != nil:
		case inThread && (step.CustomTool != nil || step.Confirm != nil):
			err = errors.New("a thread cannot wait for the client: no custom_tool or confirm in delegate steps")
		case inThread && step.Delegate != nil:
			err = errors.New("a thread starts no threads: no delegate in delegate steps")
		case step.Delegate != nil:
			if e := checkSteps(step.Delegate.Steps, true); e != nil {
				err = fmt.Errorf("delegate.%w", e)
			}
		}
		if err != nil {
			return fmt.Errorf("steps[%d]: %w", j, err)
		}
	}
	return nil
}

// check reports a step that does not do exactly one thing, or does it
// with missing fields.
func (st *scriptStep) check() error {
	actions := 0
	for _, set := range []bool{st.Think, st.Say != nil, st.Deltas != nil, st.Tool != nil, st.CustomTool != nil,
		st.Confirm != nil, st.Error != nil, st.Wait > 0, st.Terminate, st.ReadFile != "", st.DeliverArtifact != nil, st.Delegate != nil} {
		if set {
			actions++
		}
	}
	if actions != 1 {
		return errors.New("a step does exactly one of think, say, deltas, tool, custom_tool, confirm, error, wait, terminate, read_file, deliver_artifact, delegate")
	}
	if a := st.DeliverArtifact; a != nil && a.Name == "" {
		return errors.New("deliver_artifact: name is required")
	}
	if d := st.Delegate; d != nil && (d.Agent == "" || d.Task == "" || len(d.Steps) == 0) {
		return errors.New("delegate: agent, task and steps are required")
	}
	if st.Interval > 0 && st.Deltas == nil {
		return errors.New("interval goes with deltas")
	}
	for kind, tool := range map[string]*scriptTool{"tool": st.Tool, "custom_tool": st.CustomTool, "confirm": st.Confirm} {
		switch {
		case tool == nil:
		case tool.Name == "":
			return fmt.Errorf("%s: name is required", kind)
		case len(tool.Input) > 0 && !bytes.HasPrefix(bytes.TrimSpace(tool.Input), []byte("{")):
			return fmt.Errorf("%s: input must be a JSON object", kind)
		}
	}
	if e := st.Error; e != nil {
		if e.Type == "" || e.Message == "" {
			return errors.New("error: type and message are required")
		}
		switch e.RetryStatus {
		case "", "retrying", "exhausted", "terminal":
		default:
			return fmt.Errorf("error: retry_status %q is not retrying, exhausted or terminal", e.RetryStatus)
		}
	}
	return nil
}

// agent returns the agent that plays the script.
func (s *script) agent(turn *qodertest.Turn) {
	text := strings.ToLower(turn.Text())
	for _, st := range s.Turns {
		if strings.Contains(text, strings.ToLower(st.Match)) {
			play(turn, st.Steps)
			return
		}
	}
	qodertest.EchoAgent(turn)
}

// play runs the steps of one turn.
func play(turn *qodertest.Turn, steps []scriptStep) {
	result := ""
	fill := func(s string) string {
		return strings.NewReplacer("{{text}}", turn.Text(), "{{result}}", result).Replace(s)
	}
	for _, st := range steps {
		switch {
		case st.Think:
			turn.Think()
		case st.Say != nil:
			turn.Say(fill(*st.Say))
		case st.Deltas != nil:
			msg := turn.StartMessage()
			for i, part := range st.Deltas {
				if i > 0 && !pause(turn, st.Interval) {
					return
				}
				msg.Delta(fill(part))
			}
			msg.End()
		case st.Tool != nil:
			turn.UseTool(st.Tool.Name, st.Tool.input(), fill(st.Tool.Output))
		case st.CustomTool != nil:
			res, ok := turn.CallCustomTool(st.CustomTool.Name, st.CustomTool.input())
			if !ok {
				return
			}
			result = res.Text
		case st.Confirm != nil:
			_, result = turn.AskConfirmation(st.Confirm.Name, st.Confirm.input(), fill(st.Confirm.Output))
		case st.Error != nil:
			turn.Error(st.Error.Type, fill(st.Error.Message), st.Error.RetryStatus)
		case st.Wait > 0:
			if !pause(turn, st.Wait) {
				return
			}
		case st.Terminate:
			turn.Terminate()
		case st.ReadFile != "":
			content, _ := turn.ReadFile(st.ReadFile)
			result = string(content)
		case st.DeliverArtifact != nil:
			turn.DeliverArtifact(st.DeliverArtifact.Name, []byte(fill(st.DeliverArtifact.Content)))
		case st.Delegate != nil:
			_, result = turn.Delegate(st.Delegate.Agent, fill(st.Delegate.Task), func(thread *qodertest.Turn) {
				play(thread, st.Delegate.Steps)
			})
		}
		if turn.Cancelled() {
			return
		}
	}
}

// pause waits d, or less when the turn is cancelled; it reports whether
// the turn goes on.
func pause(turn *qodertest.Turn, d duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(time.Duration(d))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-turn.Context().Done():
		return false
	}
}

// describe says in one line what a script does, for the startup banner.
func (s *script) describe() string {
	var b strings.Builder
	for i, t := range s.Turns {
		if i > 0 {
			b.WriteString("; ")
		}
		match := "any message"
		if t.Match != "" {
			match = fmt.Sprintf("messages with %q", t.Match)
		}
		fmt.Fprintf(&b, "%s: %d step(s)", match, len(t.Steps))
	}
	return b.String()
}
