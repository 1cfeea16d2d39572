package qoder

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventFixture returns testdata/events/<name>.json.
func eventFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
	require.NoError(t, err)
	return data
}

const (
	fxThread = "sthr_019f00000000000000000000000002bb"
	fxOutc   = "outc_019e3c00aa11bb22cc33dd44ee55ff66"
)

// fxID is the id of the i-th fixture, which other fixtures refer to.
func fxID(i int) string { return fmt.Sprintf("evt_019e3bb2c1537%019x", i) }

func TestDecodeEvent_fixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		wire  string
		check func(t *testing.T, ev Event)
	}{
		{EventTypeUserMessage, func(t *testing.T, ev Event) {
			e := ev.(*UserMessageEvent)
			require.Len(t, e.Content, 3)
			assert.Equal(t, "Help me analyze the performance of this code.", e.Text())
			assert.Equal(t, ContentBlockTypeImage, e.Content[1].Type)
			assert.Equal(t, &ContentSource{Type: ContentSourceTypeBase64, MediaType: "image/png",
				Data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="}, e.Content[1].Source)
			assert.Equal(t, ContentBlock{Type: ContentBlockTypeDocument, Title: "profile.txt", Context: "CPU profile captured in production",
				Source: &ContentSource{Type: ContentSourceTypeFile, FileID: "file_019e3a0b2c3d4e5f60718293a4b5c6d7"}}, e.Content[2])
		}},
		{EventTypeUserInterrupt, func(t *testing.T, ev Event) {
			assert.Equal(t, fxThread, ev.(*UserInterruptEvent).SessionThreadID)
		}},
		{EventTypeUserToolConfirmation, func(t *testing.T, ev Event) {
			e := ev.(*UserToolConfirmationEvent)
			assert.Equal(t, fxID(4), e.ToolUseID)
			assert.Equal(t, ToolConfirmationDeny, e.Result)
			assert.Equal(t, "Do not delete files outside the workspace.", e.DenyMessage)
			assert.Equal(t, fxThread, e.SessionThreadID)
		}},
		{EventTypeUserCustomToolResult, func(t *testing.T, ev Event) {
			e := ev.(*UserCustomToolResultEvent)
			assert.Equal(t, fxID(6), e.CustomToolUseID)
			assert.JSONEq(t, `{"temperature_c": 18, "conditions": "partly cloudy"}`, e.Text())
			assert.False(t, e.IsError)
			assert.Equal(t, fxThread, e.SessionThreadID)
		}},
		{EventTypeUserToolResult, func(t *testing.T, ev Event) {
			e := ev.(*UserToolResultEvent)
			assert.Equal(t, fxID(4), e.ToolUseID)
			assert.Equal(t, "total 8\n-rw-r--r-- 1 agent agent 42 fib.py\n", e.Text())
			assert.Equal(t, fxThread, e.SessionThreadID)
		}},
		{EventTypeUserDefineOutcome, func(t *testing.T, ev Event) {
			e := ev.(*UserDefineOutcomeEvent)
			assert.Equal(t, fxOutc, e.OutcomeID)
			assert.Equal(t, "A fib.py with a tested fibonacci(n) function", e.Description)
			assert.Equal(t, TextRubric("fib.py exists; fibonacci(10) == 55; the tests pass."), e.Rubric)
			assert.Equal(t, Ptr(3), e.MaxIterations)
		}},
		{EventTypeSystemMessage, func(t *testing.T, ev Event) {
			assert.Equal(t, "Answer in English and keep replies under 200 words.", ev.(*SystemMessageEvent).Text())
		}},
		{EventTypeAgentMessage, func(t *testing.T, ev Event) {
			e := ev.(*AgentMessageEvent)
			require.Len(t, e.Content, 1)
			assert.True(t, strings.HasPrefix(e.Text(), "Here is an implementation of the Fibonacci sequence:\n\n```python\n"))
			assert.True(t, strings.HasSuffix(e.Text(), "It runs in O(n) time. \u2714"))
		}},
		{EventTypeAgentThinking, func(t *testing.T, ev Event) {
			assert.Empty(t, ev.(*AgentThinkingEvent).Text())
		}},
		{EventTypeAgentToolUse, func(t *testing.T, ev Event) {
			e := ev.(*AgentToolUseEvent)
			assert.Equal(t, "Bash", e.Name)
			assert.Equal(t, EvaluatedPermissionAsk, e.EvaluatedPermission)
			assert.Equal(t, fxThread, e.SessionThreadID)
			var in struct {
				Command string `json:"command"`
				Timeout int    `json:"timeout"`
			}
			require.NoError(t, e.DecodeInput(&in))
			assert.Equal(t, "python3 fib.py", in.Command)
			assert.Equal(t, 120, in.Timeout)
		}},
		{EventTypeAgentToolResult, func(t *testing.T, ev Event) {
			e := ev.(*AgentToolResultEvent)
			assert.Equal(t, fxID(10), e.ToolUseID)
			assert.Equal(t, "55\n", e.Text())
			assert.False(t, e.IsError)
		}},
		{EventTypeAgentCustomToolUse, func(t *testing.T, ev Event) {
			e := ev.(*AgentCustomToolUseEvent)
			assert.Equal(t, "get_weather", e.Name)
			assert.JSONEq(t, `{"location":"Tokyo","unit":"celsius"}`, string(e.Input))
			var in map[string]string
			require.NoError(t, e.DecodeInput(&in))
			assert.Equal(t, "Tokyo", in["location"])
		}},
		{EventTypeAgentMCPToolUse, func(t *testing.T, ev Event) {
			e := ev.(*AgentMCPToolUseEvent)
			assert.Equal(t, "search_issues", e.Name)
			assert.Equal(t, "github", e.MCPServerName)
			assert.Equal(t, EvaluatedPermissionAllow, e.EvaluatedPermission)
			var in map[string]string
			require.NoError(t, e.DecodeInput(&in))
			assert.Equal(t, "qoder-go/qoder", in["repo"])
		}},
		{EventTypeAgentMCPToolResult, func(t *testing.T, ev Event) {
			e := ev.(*AgentMCPToolResultEvent)
			assert.Equal(t, fxID(13), e.MCPToolUseID)
			assert.Equal(t, "Found 2 open issues.", e.Text())
			require.Len(t, e.Content, 2)
			assert.Equal(t, ContentBlock{
				Type:      ContentBlockTypeSearchResult,
				Source:    &ContentSource{URL: "https://github.com/qoder-go/qoder/issues/12"},
				Title:     "Stream drops on reschedule",
				Content:   []ContentBlock{TextBlock("The stream closes after session.status_rescheduled.")},
				Citations: &Citations{Enabled: true},
			}, e.Content[1])
		}},
		{EventTypeAgentArtifactDelivered, func(t *testing.T, ev Event) {
			assert.Equal(t, &AgentArtifactDeliveredEvent{
				EventMeta:        ev.(*AgentArtifactDeliveredEvent).EventMeta,
				FileID:           "file_019e3c1d2e3f405162738495a6b7c8d9",
				OriginalFilename: "report.pdf",
				ContentType:      "application/pdf",
				Size:             48213,
			}, ev)
		}},
		{EventTypeAgentThreadMessageSent, func(t *testing.T, ev Event) {
			e := ev.(*AgentThreadMessageSentEvent)
			assert.Equal(t, "Please review fib.py for edge cases.", e.Text())
			assert.Equal(t, "sthr_019f00000000000000000000000003cc", e.ToSessionThreadID)
			assert.Equal(t, "reviewer", e.ToAgentName)
		}},
		{EventTypeAgentThreadMessageReceived, func(t *testing.T, ev Event) {
			e := ev.(*AgentThreadMessageReceivedEvent)
			assert.Equal(t, "fibonacci(-1) loops forever; add a guard.", e.Text())
			assert.Equal(t, "sthr_019f00000000000000000000000003cc", e.FromSessionThreadID)
			assert.Equal(t, "reviewer", e.FromAgentName)
		}},
		{EventTypeAgentThreadContextCompacted, func(t *testing.T, ev Event) {
			assert.Equal(t, fxThread, ev.(*AgentThreadContextCompactedEvent).SessionThreadID)
		}},
		{EventTypeSessionStatusRunning, func(t *testing.T, ev Event) {
			assert.IsType(t, &SessionStatusRunningEvent{}, ev)
		}},
		{EventTypeSessionStatusIdle, func(t *testing.T, ev Event) {
			assert.Equal(t, StopReason{Type: StopReasonRequiresAction, EventIDs: []string{fxID(10), fxID(12)}},
				ev.(*SessionStatusIdleEvent).StopReason)
		}},
		{EventTypeSessionStatusRescheduled, func(t *testing.T, ev Event) {
			assert.IsType(t, &SessionStatusRescheduledEvent{}, ev)
		}},
		{EventTypeSessionStatusTerminated, func(t *testing.T, ev Event) {
			assert.True(t, isTerminalEvent(ev))
		}},
		{EventTypeSessionError, func(t *testing.T, ev Event) {
			e := ev.(*SessionErrorEvent)
			assert.Equal(t, SessionError{
				Type:          "mcp_connection_failed_error",
				Message:       "Could not connect to MCP server github.",
				RetryStatus:   &RetryStatus{Type: RetryStatusRetrying},
				MCPServerName: "github",
				CredentialID:  "vcred_019e3c2a3b4c5d6e7f8091a2b3c4d5e6",
				VaultID:       "vault_019e3c2a3b4c5d6e7f8091a2b3c4d5e7",
			}, e.Error)
			assert.Equal(t, "qoder: session error mcp_connection_failed_error: Could not connect to MCP server github."+
				" (mcp_server_name=github) (retry_status=retrying)", e.Error.Error())
		}},
		{EventTypeSessionUpdated, func(t *testing.T, ev Event) {
			e := ev.(*SessionUpdatedEvent)
			assert.Equal(t, Ptr("Fibonacci benchmark"), e.Title)
			assert.Equal(t, map[string]string{"team": "perf", "ticket": "PERF-42"}, e.Metadata)
			assert.JSONEq(t, `{"id":"agent_019e390add9f7bac9b6cc806db46fcbd","type":"agent","version":3}`, string(e.Agent))
			assert.JSONEq(t, `{"type":"list_cost","max_list_cost":25.5}`, string(e.Budget))
		}},
		{EventTypeSessionDeleted, func(t *testing.T, ev Event) {
			assert.True(t, isTerminalEvent(ev))
		}},
		{EventTypeSessionThreadCreated, func(t *testing.T, ev Event) {
			e := ev.(*SessionThreadCreatedEvent)
			assert.Equal(t, "reviewer", e.AgentName)
			assert.Equal(t, fxThread, e.SessionThreadID)
		}},
		{EventTypeSessionThreadStatusRunning, func(t *testing.T, ev Event) {
			assert.Equal(t, "reviewer", ev.(*SessionThreadStatusRunningEvent).AgentName)
		}},
		{EventTypeSessionThreadStatusIdle, func(t *testing.T, ev Event) {
			e := ev.(*SessionThreadStatusIdleEvent)
			assert.Equal(t, "reviewer", e.AgentName)
			assert.Equal(t, StopReason{Type: StopReasonEndTurn}, e.StopReason)
		}},
		{EventTypeSessionThreadStatusRescheduled, func(t *testing.T, ev Event) {
			assert.Equal(t, "reviewer", ev.(*SessionThreadStatusRescheduledEvent).AgentName)
		}},
		{EventTypeSessionThreadStatusTerminated, func(t *testing.T, ev Event) {
			assert.Equal(t, "reviewer", ev.(*SessionThreadStatusTerminatedEvent).AgentName)
			assert.False(t, isTerminalEvent(ev), "a thread ending does not end the session")
		}},
		{EventTypeSessionUsage, func(t *testing.T, ev Event) {
			e := ev.(*SessionUsageEvent)
			assert.Equal(t, SessionUsage{TotalCredits: 3.75, InputTokens: 18240, OutputTokens: 2210, CacheReadInputTokens: 12000,
				CacheCreation: UsageCacheCreation{Ephemeral5mInputTokens: 640}, ServerToolUse: UsageServerToolUse{WebFetchRequests: 1, WebSearchRequests: 2}}, e.Usage)
			assert.Equal(t, &SessionBudget{Type: "list_cost", MaxListCost: 25.5}, e.Budget)
		}},
		{EventTypeSpanModelRequestStart, func(t *testing.T, ev Event) {
			assert.IsType(t, &SpanModelRequestStartEvent{}, ev)
		}},
		{EventTypeSpanModelRequestEnd, func(t *testing.T, ev Event) {
			e := ev.(*SpanModelRequestEndEvent)
			assert.Equal(t, fxID(30), e.ModelRequestStartID)
			assert.False(t, e.IsError)
			assert.Equal(t, &ModelUsage{Credits: 1.25}, e.ModelUsage)
		}},
		{EventTypeSpanOutcomeEvaluationStart, func(t *testing.T, ev Event) {
			e := ev.(*SpanOutcomeEvaluationStartEvent)
			assert.Equal(t, fxOutc, e.OutcomeID)
			assert.Equal(t, 1, e.Iteration)
		}},
		{EventTypeSpanOutcomeEvaluationOngoing, func(t *testing.T, ev Event) {
			e := ev.(*SpanOutcomeEvaluationOngoingEvent)
			assert.Equal(t, fxOutc, e.OutcomeID)
			assert.Equal(t, 1, e.Iteration)
		}},
		{EventTypeSpanOutcomeEvaluationEnd, func(t *testing.T, ev Event) {
			e := ev.(*SpanOutcomeEvaluationEndEvent)
			assert.Equal(t, fxID(32), e.OutcomeEvaluationStartID)
			assert.Equal(t, fxOutc, e.OutcomeID)
			assert.Equal(t, 1, e.Iteration)
			assert.Equal(t, "satisfied", e.Result)
			assert.Equal(t, "fib.py exists and the tests pass.", e.Explanation)
			assert.Equal(t, &ModelUsage{Credits: 0.4, InputTokens: Ptr[int64](1520), OutputTokens: Ptr[int64](230),
				CacheCreationInputTokens: Ptr[int64](0), CacheReadInputTokens: Ptr[int64](1024), Speed: "standard"}, e.Usage)
		}},
		{EventTypeEventStart, func(t *testing.T, ev Event) {
			e := ev.(*EventStart)
			assert.Equal(t, EventPreview{ID: fxID(8), Type: EventTypeAgentMessage}, e.Event)
			assert.Equal(t, fxID(8), e.EventID())
		}},
		{EventTypeEventDelta, func(t *testing.T, ev Event) {
			e := ev.(*EventDelta)
			assert.Equal(t, fxID(8), e.TargetID)
			assert.Equal(t, fxID(8), e.EventID())
			assert.Equal(t, ContentDelta{Type: "content_delta", Index: 0, Content: TextBlock("Here is an implementation")}, e.Delta)
		}},
	}
	require.Len(t, tests, len(eventKinds), "one case per known wire type")
	for _, tt := range tests {
		t.Run(tt.wire, func(t *testing.T) {
			t.Parallel()
			kind, ok := eventKinds[tt.wire]
			require.True(t, ok)
			// The SSE name, the JSON type (List), and the default SSE name "message".
			for _, name := range []string{tt.wire, "", "message"} {
				data := eventFixture(t, tt.wire)
				ev := decodeEvent(name, data)
				require.NotNil(t, ev)
				if u, ok := ev.(*UnknownEvent); ok {
					require.NoError(t, u.Err)
				}
				assert.IsType(t, kind.new(), ev)
				assert.Equal(t, tt.wire, ev.EventType())
				assert.Equal(t, data, []byte(ev.Raw()))
				assert.Same(t, &data[0], &ev.Raw()[0], "Raw must be the input, not a copy")
				if m := metaOf(ev); m != nil {
					var want struct {
						ID          string    `json:"id"`
						ProcessedAt time.Time `json:"processed_at"`
					}
					require.NoError(t, json.Unmarshal(data, &want))
					assert.Equal(t, want.ID, ev.EventID())
					assert.Equal(t, want.ID, m.ID)
					assert.True(t, want.ProcessedAt.Equal(m.ProcessedAt))
					assert.False(t, m.ProcessedAt.IsZero())
				}
				tt.check(t, ev)
			}
			assertFastMatchesSlow(t, tt.wire, eventFixture(t, tt.wire))
		})
	}
}

// assertFastMatchesSlow checks that the fast path, when it accepts data,
// decodes exactly what encoding/json does, and that it never accepts invalid
// JSON.
func assertFastMatchesSlow(t testing.TB, typ string, data []byte) (fastOK bool) {
	t.Helper()
	kind, ok := eventKinds[typ]
	if !ok {
		return false
	}
	fast := kind.new()
	if !fastDecode(fast, data) {
		return false
	}
	if !json.Valid(data) {
		t.Fatalf("fast path accepted invalid JSON %q", data)
	}
	slow := kind.new()
	if err := slowDecode(slow, data); err != nil {
		t.Fatalf("fast path accepted %s %q, encoding/json failed: %v", typ, data, err)
	}
	fast.setDecoded(typ, data)
	slow.setDecoded(typ, data)
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fast and slow decoding of %s %q differ:\nfast %#v\nslow %#v", typ, data, fast, slow)
	}
	return true
}

func TestDecodeEvent_fastPathCoversCommonShapes(t *testing.T) {
	t.Parallel()
	// These fixtures are the shapes of a normal turn: they must not fall back
	// to encoding/json (which would blow the allocation budget).
	for _, typ := range []string{
		EventTypeSessionStatusRunning, EventTypeSpanModelRequestStart, EventTypeAgentThinking,
		EventTypeAgentToolUse, EventTypeAgentToolResult, EventTypeAgentMessage, EventTypeSpanModelRequestEnd,
		EventTypeSessionStatusIdle, EventTypeSessionThreadStatusIdle, EventTypeUserMessage + "_text",
		EventTypeEventStart, EventTypeEventDelta, EventTypeAgentCustomToolUse, EventTypeAgentMCPToolUse,
		EventTypeUserToolConfirmation, EventTypeSessionError, EventTypeAgentArtifactDelivered,
	} {
		data := []byte(`{"id":"evt_1","type":"user.message","content":[{"type":"text","text":"hi"}]}`)
		if typ != EventTypeUserMessage+"_text" {
			data = eventFixture(t, typ)
		} else {
			typ = EventTypeUserMessage
		}
		assert.True(t, assertFastMatchesSlow(t, typ, data), typ)
	}
}

func TestDecodeEvent_legacyShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		sse   string
		data  string
		check func(t *testing.T, ev Event)
	}{
		{
			name: "user.message string content",
			data: `{"id":"evt_019e392c0d787cfaa21bda98e06cd913","type":"user.message","content":"Hello","turn_id":"turn_019e392c0d787ceea6bb62943f9ac3ec","created_at":"2026-05-18T03:40:48.888851795Z","session_id":"sess_019e392c0d1e74e095d21ea4c6b41def","processed_at":"2026-05-18T03:40:48.888851795Z","schema_version":"1.0"}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*UserMessageEvent)
				assert.Equal(t, ContentBlocks{TextBlock("Hello")}, e.Content)
				assert.Equal(t, "turn_019e392c0d787ceea6bb62943f9ac3ec", e.TurnID)
				assert.Equal(t, "sess_019e392c0d1e74e095d21ea4c6b41def", e.SessionID)
				assert.Equal(t, time.Date(2026, 5, 18, 3, 40, 48, 888851795, time.UTC), e.CreatedAt.UTC())
			},
		},
		{
			name: "agent.message string content with escapes",
			data: `{"type":"agent.message","content":"line 1\nline \"2\""}`,
			check: func(t *testing.T, ev Event) {
				assert.Equal(t, "line 1\nline \"2\"", ev.(*AgentMessageEvent).Text())
			},
		},
		{
			name: "agent.thinking string content",
			data: `{"type":"agent.thinking","content":"Let me write a Fibonacci function..."}`,
			check: func(t *testing.T, ev Event) {
				assert.Equal(t, "Let me write a Fibonacci function...", ev.(*AgentThinkingEvent).Text())
			},
		},
		{
			name: "agent.thinking thinking field",
			data: `{"type":"agent.thinking","thinking":"Considering the edge cases"}`,
			check: func(t *testing.T, ev Event) {
				assert.Equal(t, "Considering the edge cases", ev.(*AgentThinkingEvent).Text())
			},
		},
		{
			name: "tool_result string content",
			data: `{"type":"agent.mcp_tool_result","mcp_tool_use_id":"evt_1","content":"ok"}`,
			check: func(t *testing.T, ev Event) {
				assert.Equal(t, "ok", ev.(*AgentMCPToolResultEvent).Text())
			},
		},
		{
			name: "data wrapper",
			data: `{"id":"evt_1","type":"agent.message","data":{"content":[{"type":"text","text":"wrapped"}],"processed_at":"2026-05-18T03:40:55Z"}}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*AgentMessageEvent)
				assert.Equal(t, "evt_1", e.ID)
				assert.Equal(t, "wrapped", e.Text())
				assert.Equal(t, time.Date(2026, 5, 18, 3, 40, 55, 0, time.UTC), e.ProcessedAt)
			},
		},
		{
			name: "data wrapper with legacy string content",
			data: `{"id":"evt_1","type":"user.message","data":{"content":"hi"}}`,
			check: func(t *testing.T, ev Event) {
				assert.Equal(t, "hi", ev.(*UserMessageEvent).Text())
			},
		},
		{
			name: "data wrapper: top-level fields win",
			data: `{"id":"evt_top","type":"session.status_idle","stop_reason":{"type":"end_turn"},"data":{"id":"evt_inner","stop_reason":{"type":"cancelled"},"status":"idle"}}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*SessionStatusIdleEvent)
				assert.Equal(t, "evt_top", e.ID)
				assert.Equal(t, StopReasonEndTurn, e.StopReason.Type)
			},
		},
		{
			name: "data wrapper on an event with no fields of its own",
			sse:  EventTypeSessionStatusRunning,
			data: `{"data":{"status":"running","id":"evt_9"}}`,
			check: func(t *testing.T, ev Event) {
				assert.Equal(t, "evt_9", ev.(*SessionStatusRunningEvent).ID)
			},
		},
		{
			name: "status_running legacy status",
			data: `{"type":"session.status_running","status":"running"}`,
			check: func(t *testing.T, ev Event) {
				assert.IsType(t, &SessionStatusRunningEvent{}, ev)
			},
		},
		{
			name: "status_idle legacy status",
			data: `{"type":"session.status_idle","status":"idle"}`,
			check: func(t *testing.T, ev Event) {
				assert.Equal(t, StopReason{}, ev.(*SessionStatusIdleEvent).StopReason)
			},
		},
		{
			name: "status_idle bare-string stop_reason",
			data: `{"id":"evt_2","type":"session.status_idle","stop_reason":"end_turn"}`,
			check: func(t *testing.T, ev Event) {
				assert.Equal(t, StopReason{Type: StopReasonEndTurn}, ev.(*SessionStatusIdleEvent).StopReason)
			},
		},
		{
			name: "thread_status_idle bare-string stop_reason",
			data: `{"type":"session.thread_status_idle","agent_name":"a","stop_reason":"budget_reached"}`,
			check: func(t *testing.T, ev Event) {
				assert.Equal(t, StopReasonBudgetReached, ev.(*SessionThreadStatusIdleEvent).StopReason.Type)
			},
		},
		{
			name: "tool_result output string",
			data: `{"type":"agent.tool_result","tool_use_id":"toolu_1","output":"55\n"}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*AgentToolResultEvent)
				assert.Equal(t, "toolu_1", e.ToolUseID)
				assert.Equal(t, ContentBlocks{TextBlock("55\n")}, e.Content)
			},
		},
		{
			name: "tool_result output object",
			data: `{"type":"agent.tool_result","output":{"exit_code":0}}`,
			check: func(t *testing.T, ev Event) {
				assert.Equal(t, `{"exit_code":0}`, ev.(*AgentToolResultEvent).Text())
			},
		},
		{
			name: "tool_result content wins over output",
			data: `{"type":"agent.tool_result","content":[{"type":"text","text":"new"}],"output":"old"}`,
			check: func(t *testing.T, ev Event) {
				assert.Equal(t, "new", ev.(*AgentToolResultEvent).Text())
			},
		},
		{
			name: "tool_use legacy names",
			data: `{"id":"evt_5","type":"agent.tool_use","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"toolu_01","requires_confirmation":true}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*AgentToolUseEvent)
				assert.Equal(t, "Bash", e.Name)
				assert.JSONEq(t, `{"command":"ls"}`, string(e.Input))
				assert.Equal(t, "toolu_01", e.ToolUseID)
				assert.True(t, e.RequiresConfirmation)
				assert.Equal(t, EvaluatedPermissionAsk, e.EvaluatedPermission)
			},
		},
		{
			name: "tool_use current names win over legacy",
			data: `{"type":"agent.tool_use","name":"Read","tool_name":"Bash","input":{"path":"a"},"tool_input":{"command":"ls"},"requires_confirmation":false,"evaluated_permission":"allow"}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*AgentToolUseEvent)
				assert.Equal(t, "Read", e.Name)
				assert.JSONEq(t, `{"path":"a"}`, string(e.Input))
				assert.Equal(t, EvaluatedPermissionAllow, e.EvaluatedPermission)
			},
		},
		{
			name: "session.error bare string",
			data: `{"type":"session.error","error":"model overloaded"}`,
			check: func(t *testing.T, ev Event) {
				assert.Equal(t, SessionError{Message: "model overloaded"}, ev.(*SessionErrorEvent).Error)
			},
		},
		{
			name: "SSE data without id or type (events-stream guide)",
			sse:  EventTypeAgentMessage,
			data: `{"content":[{"type":"text","text":"Hello, I'm ready to help."}]}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*AgentMessageEvent)
				assert.Equal(t, EventTypeAgentMessage, e.Type)
				assert.Equal(t, "Hello, I'm ready to help.", e.Text())
			},
		},
		{
			name: "null processed_at and content",
			data: `{"id":"evt_3","type":"user.message","content":null,"processed_at":null}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*UserMessageEvent)
				assert.True(t, e.ProcessedAt.IsZero())
				assert.Nil(t, e.Content)
			},
		},
		{
			name: "processed_at with offset",
			data: `{"type":"agent.thinking","processed_at":"2026-05-18T11:40:55+08:00"}`,
			check: func(t *testing.T, ev Event) {
				assert.True(t, time.Date(2026, 5, 18, 3, 40, 55, 0, time.UTC).Equal(ev.(*AgentThinkingEvent).ProcessedAt))
			},
		},
		{
			name: "key case folds like encoding/json",
			data: `{"ID":"evt_upper","type":"agent.message","Content":[{"Type":"text","TEXT":"shout"}]}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*AgentMessageEvent)
				assert.Equal(t, "evt_upper", e.ID)
				assert.Equal(t, "shout", e.Text())
			},
		},
		{
			name: "unknown fields are ignored",
			data: `{"type":"span.model_request_end","model_request_start_id":"evt_7","is_error":true,"model_usage":{"credits":0,"future":[1,{"a":"}"}]},"future_field":{"x":[1,2]}}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*SpanModelRequestEndEvent)
				assert.True(t, e.IsError)
				assert.Equal(t, &ModelUsage{}, e.ModelUsage)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := []byte(tt.data)
			ev := decodeEvent(tt.sse, data)
			require.NotNil(t, ev)
			if u, ok := ev.(*UnknownEvent); ok {
				t.Fatalf("decoded as unknown %q: %v", u.Type, u.Err)
			}
			assert.Equal(t, tt.data, string(ev.Raw()))
			tt.check(t, ev)
			typ := tt.sse
			if typ == "" {
				typ, _ = peekType(data)
			}
			assertFastMatchesSlow(t, typ, data)
		})
	}
}

func TestDecodeEvent_unknownType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, sse, data, wantType, wantID string
	}{
		{"from JSON type", "", `{"id":"evt_1","type":"agent.future_thing","processed_at":"2026-05-18T03:40:55Z","payload":{"x":1}}`, "agent.future_thing", "evt_1"},
		{"from SSE name", "session.future", `{"id":"evt_2","type":"session.future"}`, "session.future", "evt_2"},
		{"SSE heartbeat", "heartbeat", `{}`, "heartbeat", ""},
		{"no type at all", "", `{"id":"evt_3"}`, "", "evt_3"},
		{"escaped type", "", `{"type":"agent.\u00e9v\u00e9nement","Payload":"x"}`, "agent.événement", ""},
		{"upper-case keys", "", `{"ID":"evt_4","Type":"x.y","Weird":true}`, "x.y", "evt_4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := []byte(tt.data)
			ev := decodeEvent(tt.sse, data)
			u, ok := ev.(*UnknownEvent)
			require.True(t, ok, "got %T", ev)
			assert.NoError(t, u.Err)
			assert.Equal(t, tt.wantType, u.Type)
			assert.Equal(t, tt.wantType, u.EventType())
			assert.Equal(t, tt.wantID, u.EventID())
			assert.Equal(t, tt.data, string(u.Data))
			assert.Equal(t, tt.data, string(u.Raw()))
		})
	}
	ev := decodeEvent("", []byte(`{"id":"evt_1","type":"agent.future_thing","processed_at":"2026-05-18T03:40:55Z"}`))
	assert.Equal(t, time.Date(2026, 5, 18, 3, 40, 55, 0, time.UTC), ev.(*UnknownEvent).ProcessedAt)
}

func TestDecodeEvent_malformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, sse, data, wantType, wantErr string
	}{
		{"truncated JSON", "agent.message", `{"id":"evt_1","type":"agent.mess`, "agent.message", "qoder: decode agent.message event: unexpected end of JSON input"},
		{"not JSON", "", `hello`, "", "qoder: decode untyped event: invalid character"},
		{"empty", "agent.message", ``, "agent.message", "unexpected end of JSON input"},
		{"trailing garbage", "", `{"type":"agent.message"} x`, "", "invalid character 'x' after top-level value"},
		{"array", "", `[1,2]`, "", "qoder: decode untyped event: event is not a JSON object"},
		{"string", "agent.message", `"agent.message"`, "agent.message", "event is not a JSON object"},
		{"null", "agent.message", ` null `, "agent.message", "event is not a JSON object"},
		{"null, unknown type", "x.y", `null`, "x.y", "event is not a JSON object"},
		{"content is a number", "", `{"type":"agent.message","content":5}`, "agent.message", "qoder: decode agent.message event: json: cannot unmarshal number"},
		{"content block is a string", "", `{"type":"agent.message","content":["hi"]}`, "agent.message", "cannot unmarshal string"},
		{"id is a number", "", `{"id":5,"type":"session.status_running"}`, "session.status_running", "cannot unmarshal number"},
		{"type is a number", "", `{"type":5}`, "", "cannot unmarshal number"},
		{"type is a number, SSE name given", "agent.message", `{"type":5,"content":[]}`, "agent.message", "cannot unmarshal number"},
		{"bad time", "", `{"type":"agent.thinking","processed_at":"yesterday"}`, "agent.thinking", "cannot parse"},
		{"iteration is a fraction", "", `{"type":"span.outcome_evaluation_start","iteration":1.5}`, "span.outcome_evaluation_start", "cannot unmarshal number 1.5"},
		{"is_error is a string", "", `{"type":"agent.tool_result","is_error":"false"}`, "agent.tool_result", "cannot unmarshal string"},
		{"stop_reason is a number", "", `{"type":"session.status_idle","stop_reason":1}`, "session.status_idle", "cannot unmarshal number"},
		{"error is a number", "", `{"type":"session.error","error":1}`, "session.error", "cannot unmarshal number"},
		{"input is fine but name is an object", "", `{"type":"agent.tool_use","name":{},"input":{}}`, "agent.tool_use", "cannot unmarshal object"},
		{"delta index is a string", "event_delta", `{"type":"event_delta","event_id":"evt_1","delta":{"index":"0"}}`, "event_delta", "cannot unmarshal string"},
		{"data wrapper with a bad field", "", `{"type":"agent.message","data":{"content":7}}`, "agent.message", "cannot unmarshal number"},
		{"unknown type, bad meta", "", `{"type":"x.y","id":[]}`, "x.y", "cannot unmarshal array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := []byte(tt.data)
			ev := decodeEvent(tt.sse, data)
			u, ok := ev.(*UnknownEvent)
			require.True(t, ok, "got %T", ev)
			require.Error(t, u.Err)
			assert.Contains(t, u.Err.Error(), tt.wantErr)
			assert.True(t, strings.HasPrefix(u.Err.Error(), "qoder: decode "), u.Err.Error())
			assert.Equal(t, tt.wantType, u.Type)
			assert.Equal(t, tt.data, string(u.Data))
			assert.Equal(t, tt.data, string(u.Raw()))
		})
	}
}

// TestDecodeEvent_recordedResponses decodes the items of the recorded
// SessionEventService List and Send responses (api-contracts.json) the way
// a page of history is decoded: without an SSE name.
func TestDecodeEvent_recordedResponses(t *testing.T) {
	t.Parallel()
	const list = `{"data":[{"id":"evt_019e392c0d787cfaa21bda98e06cd913","type":"user.message","content":[{"type":"text","text":"Hello, this is a test message."}],"processed_at":"2026-05-18T03:40:48.888851795Z"},` +
		`{"id":"evt_771c1195bcbd4a07834d4ed4dd6450ca","type":"agent.message","content":[{"type":"text","text":"Hello! How can I help you today?"}],"processed_at":"2026-05-18T03:40:55.123Z"}],` +
		`"first_id":"evt_019e392c0d787cfaa21bda98e06cd913","has_more":false,"last_id":"evt_771c1195bcbd4a07834d4ed4dd6450ca","next_page":null}`
	const send = `{"data":[{"id":"evt_019e3bb2c153764da54e4d3acbef52b6","type":"user.message","content":[{"type":"text","text":"Help me analyze the performance of this code."}],"processed_at":"2026-05-18T15:27:11.187413896Z"}]}`
	var page struct {
		Data []json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(list), &page))
	require.Len(t, page.Data, 2)
	user := decodeEvent("", page.Data[0]).(*UserMessageEvent)
	assert.Equal(t, "evt_019e392c0d787cfaa21bda98e06cd913", user.ID)
	assert.Equal(t, "Hello, this is a test message.", user.Text())
	assert.Equal(t, time.Date(2026, 5, 18, 3, 40, 48, 888851795, time.UTC), user.ProcessedAt)
	agent := decodeEvent("", page.Data[1]).(*AgentMessageEvent)
	assert.Equal(t, "Hello! How can I help you today?", agent.Text())
	assert.Equal(t, time.Date(2026, 5, 18, 3, 40, 55, 123000000, time.UTC), agent.ProcessedAt)

	require.NoError(t, json.Unmarshal([]byte(send), &page))
	require.Len(t, page.Data, 1)
	accepted := decodeEvent("", page.Data[0]).(*UserMessageEvent)
	assert.Equal(t, "evt_019e3bb2c153764da54e4d3acbef52b6", accepted.EventID())
	assert.Equal(t, "Help me analyze the performance of this code.", accepted.Text())
}

func TestDecodeEvent_namePrecedence(t *testing.T) {
	t.Parallel()
	data := []byte(`{"id":"evt_1","type":"agent.thinking","content":[{"type":"text","text":"hi"}]}`)
	tests := []struct {
		sse  string
		want Event
	}{
		{"agent.message", &AgentMessageEvent{}}, // the SSE name wins
		{"", &AgentThinkingEvent{}},             // no name: the JSON type
		{"message", &AgentThinkingEvent{}},      // the SSE default name: the JSON type
		{"session.status_running", &SessionStatusRunningEvent{}},
	}
	for _, tt := range tests {
		ev := decodeEvent(tt.sse, data)
		assert.IsType(t, tt.want, ev, "name %q", tt.sse)
		assert.Equal(t, "evt_1", ev.EventID())
	}
	ev := decodeEvent("agent.message", data)
	assert.Equal(t, EventTypeAgentMessage, ev.EventType(), "Type follows the Go type")
	assert.Equal(t, "hi", ev.(*AgentMessageEvent).Text())
}

func TestDecodeEvent_rawIsNotCopied(t *testing.T) {
	t.Parallel()
	data := eventFixture(t, EventTypeAgentToolUse)
	ev := decodeEvent("", data).(*AgentToolUseEvent)
	require.NotEmpty(t, ev.Input)
	// Input points into the raw bytes, and cannot grow into them.
	assert.Equal(t, len(ev.Input), cap(ev.Input))
	assert.Contains(t, string(data), string(ev.Input))
	// Nor can Raw grow into the caller's spare capacity.
	buf := make([]byte, len(data), len(data)+64)
	copy(buf, data)
	raw := decodeEvent("", buf).Raw()
	assert.Equal(t, len(raw), cap(raw))
	u := decodeEvent("x.unknown", buf).(*UnknownEvent)
	assert.Equal(t, len(u.Data), cap(u.Data))
	assert.Equal(t, len(u.Raw()), cap(u.Raw()))
}

func TestContentSource_JSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  ContentSource
		wire string
	}{
		{Base64Source("image/png", []byte{0x89, 'P', 'N', 'G'}), `{"type":"base64","data":"iVBORw==","media_type":"image/png"}`},
		{TextSource("text/plain", "hello"), `{"type":"text","data":"hello","media_type":"text/plain"}`},
		{URLSource("https://example.com/a.pdf"), `{"type":"url","url":"https://example.com/a.pdf"}`},
		{FileSource("file_1"), `{"type":"file","file_id":"file_1"}`},
		{ContentSource{URL: "https://example.com/doc"}, `"https://example.com/doc"`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.src)
		require.NoError(t, err)
		assert.JSONEq(t, tt.wire, string(got))
		var back ContentSource
		require.NoError(t, json.Unmarshal([]byte(tt.wire), &back))
		assert.Equal(t, tt.src, back)
	}
}

func TestContentBlock_JSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		block ContentBlock
		wire  string
	}{
		{TextBlock("hi"), `{"type":"text","text":"hi"}`},
		{ImageBlock(URLSource("https://example.com/a.png")), `{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}`},
		{DocumentBlock(FileSource("file_1"), "Spec"), `{"type":"document","source":{"type":"file","file_id":"file_1"},"title":"Spec"}`},
		{DocumentBlock(TextSource("text/plain", "body"), ""), `{"type":"document","source":{"type":"text","data":"body","media_type":"text/plain"}}`},
		{
			SearchResultBlock("https://example.com/r", "Result", TextBlock("snippet")),
			`{"type":"search_result","source":"https://example.com/r","title":"Result","content":[{"type":"text","text":"snippet"}]}`,
		},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.block)
		require.NoError(t, err)
		assert.Equal(t, tt.wire, string(got))
		var back ContentBlock
		require.NoError(t, json.Unmarshal(got, &back))
		assert.Equal(t, tt.block, back)
	}
	b := SearchResultBlock("s", "t")
	b.Citations = &Citations{Enabled: true}
	got, err := json.Marshal(b)
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"search_result","source":"s","title":"t","citations":{"enabled":true}}`, string(got))
}

func TestBlocksText(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "", blocksText(nil))
	assert.Equal(t, "a", blocksText([]ContentBlock{ImageBlock(FileSource("f")), TextBlock("a")}))
	assert.Equal(t, "ab", blocksText([]ContentBlock{TextBlock("a"), ImageBlock(FileSource("f")), TextBlock("b")}))
}

func TestIsTerminalEvent(t *testing.T) {
	t.Parallel()
	assert.True(t, isTerminalEvent(&SessionStatusTerminatedEvent{}))
	assert.True(t, isTerminalEvent(&SessionDeletedEvent{}))
	assert.False(t, isTerminalEvent(&SessionStatusIdleEvent{}))
	assert.False(t, isTerminalEvent(&UnknownEvent{}))
	assert.Nil(t, metaOf(&EventDelta{}))
	assert.NotNil(t, metaOf(&UnknownEvent{}))
}

func TestSessionError_Error(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "qoder: session error", (&SessionError{}).Error())
	assert.Equal(t, "qoder: session error billing_error: out of credits", (&SessionError{Type: "billing_error", Message: "out of credits"}).Error())
	var err error = &SessionError{Message: "x", RetryStatus: &RetryStatus{Type: RetryStatusTerminal}}
	assert.Equal(t, "qoder: session error: x (retry_status=terminal)", err.Error())
}

func TestToolInput_errors(t *testing.T) {
	t.Parallel()
	var v map[string]any
	err := (&AgentToolUseEvent{Name: "Bash"}).DecodeInput(&v)
	assert.EqualError(t, err, `qoder: tool "Bash" has no input`)
	err = (&AgentMCPToolUseEvent{Name: "q", Input: json.RawMessage(`[1]`)}).DecodeInput(&v)
	assert.ErrorContains(t, err, `qoder: decode input of tool "q": json: cannot unmarshal array`)
}

// turnFixtures is a typical turn, in stream order, for the allocation test and
// the benchmark.
func turnFixtures(t testing.TB) []struct {
	name string
	data []byte
} {
	var turn []struct {
		name string
		data []byte
	}
	for _, typ := range []string{
		EventTypeSessionStatusRunning, EventTypeSpanModelRequestStart, EventTypeAgentThinking,
		EventTypeAgentToolUse, EventTypeAgentToolResult, EventTypeAgentMessage, EventTypeSpanModelRequestEnd,
		EventTypeSessionStatusIdle,
	} {
		data := eventFixture(t, typ)
		var v any
		require.NoError(t, json.Unmarshal(data, &v))
		if typ == EventTypeAgentMessage { // ~400 bytes of text, as in a real reply
			v.(map[string]any)["content"] = []any{map[string]any{"type": "text", "text": strings.Repeat("Fibonacci numbers grow fast.\n", 14)}}
		}
		if typ == EventTypeSessionStatusIdle {
			v.(map[string]any)["stop_reason"] = map[string]any{"type": "end_turn"}
		}
		compact, err := json.Marshal(v)
		require.NoError(t, err)
		turn = append(turn, struct {
			name string
			data []byte
		}{typ, compact})
	}
	return turn
}

func TestDecodeEvent_allocations(t *testing.T) {
	for _, ev := range turnFixtures(t) {
		allocs := testing.AllocsPerRun(200, func() {
			if _, ok := decodeEvent(ev.name, ev.data).(*UnknownEvent); ok {
				t.Fatal("unknown")
			}
		})
		t.Logf("%-26s %4d bytes %4.1f allocs", ev.name, len(ev.data), allocs)
		assert.LessOrEqual(t, allocs, 8.0, ev.name)
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	turn := turnFixtures(b)
	b.Run("turn", func(b *testing.B) {
		b.ReportAllocs()
		size := 0
		for _, ev := range turn {
			size += len(ev.data)
		}
		b.SetBytes(int64(size))
		for b.Loop() {
			for _, ev := range turn {
				decodeEvent(ev.name, ev.data)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(turn)), "ns/event")
	})
	for _, ev := range turn {
		b.Run(ev.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(ev.data)))
			for b.Loop() {
				decodeEvent(ev.name, ev.data)
			}
		})
	}
	// The same message through encoding/json alone, for comparison.
	msg := turn[5].data
	b.Run("encoding_json/agent.message", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			ev := new(AgentMessageEvent)
			if err := slowDecode(ev, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDecodeEvent_legacySpanFields checks the fields older API versions
// send on span.model_request_start and span.model_request_end.
func TestDecodeEvent_legacySpanFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want Event
	}{
		{"start with model and span id",
			`{"id":"evt_1","type":"span.model_request_start","model":"qoder-max","span_id":"span_7"}`,
			&SpanModelRequestStartEvent{EventMeta: EventMeta{ID: "evt_1", Type: EventTypeSpanModelRequestStart}, Model: "qoder-max", SpanID: "span_7"}},
		{"end with span id and usage",
			`{"id":"evt_2","type":"span.model_request_end","span_id":"span_7","usage":{"input_tokens":120,"output_tokens":30}}`,
			&SpanModelRequestEndEvent{EventMeta: EventMeta{ID: "evt_2", Type: EventTypeSpanModelRequestEnd}, SpanID: "span_7",
				Usage: &ModelUsage{InputTokens: Ptr[int64](120), OutputTokens: Ptr[int64](30)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := decodeEvent("", []byte(tt.data))
			if u, ok := ev.(*UnknownEvent); ok {
				require.NoError(t, u.Err)
			}
			tt.want.(decodable).setDecoded(tt.want.EventType(), []byte(tt.data))
			assert.Equal(t, tt.want, ev)
			assertFastMatchesSlow(t, tt.want.EventType(), []byte(tt.data))
		})
	}
}
