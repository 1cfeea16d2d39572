package qoder

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Frames as the stream delivers them, decoded by decodeEvent.

func accStart(t *testing.T, id, typ string) Event {
	t.Helper()
	return accDecode(t, EventTypeEventStart, fmt.Sprintf(`{"event":{"id":%q,"type":%q},"type":"event_start"}`, id, typ))
}

func accDelta(t *testing.T, id string, index int, text string) Event {
	t.Helper()
	return accDecode(t, EventTypeEventDelta, fmt.Sprintf(
		`{"delta":{"content":{"text":%q,"type":"text"},"index":%d,"type":"content_delta"},"event_id":%q,"type":"event_delta"}`, text, index, id))
}

func accFinal(t *testing.T, id string, texts ...string) Event {
	t.Helper()
	content := ""
	for i, s := range texts {
		if i > 0 {
			content += ","
		}
		content += fmt.Sprintf(`{"type":"text","text":%q}`, s)
	}
	return accDecode(t, EventTypeAgentMessage, fmt.Sprintf(`{"id":%q,"type":"agent.message","content":[%s]}`, id, content))
}

func accDecode(t *testing.T, name, data string) Event {
	t.Helper()
	ev := decodeEvent(name, []byte(data))
	if u, ok := ev.(*UnknownEvent); ok {
		t.Fatalf("%s decoded as unknown: %v", data, u.Err)
	}
	return ev
}

type accResult struct {
	id, text string
	changed  bool
}

func accAdd(a *MessageAccumulator, ev Event) accResult {
	id, text, changed := a.Add(ev)
	return accResult{id, text, changed}
}

func TestMessageAccumulator_deltas(t *testing.T) {
	t.Parallel()
	var a MessageAccumulator // the zero value is ready
	assert.Equal(t, accResult{"evt_X", "", false}, accAdd(&a, accStart(t, "evt_X", EventTypeAgentMessage)), "no text yet")
	assert.Equal(t, accResult{"evt_X", "Hel", true}, accAdd(&a, accDelta(t, "evt_X", 0, "Hel")))
	assert.Equal(t, accResult{"evt_X", "Hello", true}, accAdd(&a, accDelta(t, "evt_X", 0, "lo")))
	assert.Equal(t, accResult{"evt_X", "Hello, world", true}, accAdd(&a, accDelta(t, "evt_X", 0, ", world")))
	assert.Equal(t, "Hello, world", a.Text("evt_X"))
	assert.False(t, a.Final("evt_X"))
	assert.Equal(t, "", a.Text("evt_other"))
}

func TestMessageAccumulator_finalReplaces(t *testing.T) {
	t.Parallel()
	var a MessageAccumulator
	accAdd(&a, accStart(t, "evt_X", EventTypeAgentMessage))
	accAdd(&a, accDelta(t, "evt_X", 0, "Helo"))
	// The buffered event is authoritative, even when it differs.
	assert.Equal(t, accResult{"evt_X", "Hello!", true}, accAdd(&a, accFinal(t, "evt_X", "Hello!")))
	assert.Equal(t, "Hello!", a.Text("evt_X"))
	assert.True(t, a.Final("evt_X"))
	assert.Empty(t, a.partial, "partial buffers are dropped once final")

	// Later frames for the same id are ignored.
	assert.Equal(t, accResult{"evt_X", "Hello!", false}, accAdd(&a, accDelta(t, "evt_X", 0, " extra")))
	assert.Equal(t, accResult{"evt_X", "Hello!", false}, accAdd(&a, accStart(t, "evt_X", EventTypeAgentMessage)))
	assert.Equal(t, "Hello!", a.Text("evt_X"))
	assert.Empty(t, a.partial)

	// A replayed final event (boundary replay) changes nothing.
	assert.Equal(t, accResult{"evt_X", "Hello!", false}, accAdd(&a, accFinal(t, "evt_X", "Hello!")))
}

func TestMessageAccumulator_resumeReplaysStart(t *testing.T) {
	t.Parallel()
	var a MessageAccumulator
	accAdd(&a, accStart(t, "evt_X", EventTypeAgentMessage))
	accAdd(&a, accDelta(t, "evt_X", 0, "Hello"))
	accAdd(&a, accDelta(t, "evt_X", 0, ", wor"))
	// The connection drops; resuming from an older cursor replays the
	// start and the retained deltas, then continues live (case 1).
	assert.Equal(t, accResult{"evt_X", "", true}, accAdd(&a, accStart(t, "evt_X", EventTypeAgentMessage)), "the partial text is reset")
	accAdd(&a, accDelta(t, "evt_X", 0, "Hello"))
	accAdd(&a, accDelta(t, "evt_X", 0, ", wor"))
	assert.Equal(t, accResult{"evt_X", "Hello, world", true}, accAdd(&a, accDelta(t, "evt_X", 0, "ld")))
	assert.Equal(t, "Hello, world", a.Text("evt_X"))
}

func TestMessageAccumulator_resumeAtInProgressID(t *testing.T) {
	t.Parallel()
	var a MessageAccumulator
	accAdd(&a, accStart(t, "evt_X", EventTypeAgentMessage))
	accAdd(&a, accDelta(t, "evt_X", 0, "Hello"))
	// Resuming with the in-progress id skips old deltas (case 2): new deltas
	// continue the local text.
	accAdd(&a, accDelta(t, "evt_X", 0, ", world"))
	assert.Equal(t, "Hello, world", a.Text("evt_X"))
	// A delta whose start was never seen still accumulates.
	assert.Equal(t, accResult{"evt_Y", "late", true}, accAdd(&a, accDelta(t, "evt_Y", 0, "late")))
}

func TestMessageAccumulator_contentIndexes(t *testing.T) {
	t.Parallel()
	var a MessageAccumulator
	accAdd(&a, accStart(t, "evt_X", EventTypeAgentMessage))
	accAdd(&a, accDelta(t, "evt_X", 1, "second"))
	assert.Equal(t, accResult{"evt_X", "firstsecond", true}, accAdd(&a, accDelta(t, "evt_X", 0, "first")))
	accAdd(&a, accDelta(t, "evt_X", 0, "+"))
	accAdd(&a, accDelta(t, "evt_X", 2, "third"))
	assert.Equal(t, "first+secondthird", a.Text("evt_X"))
	assert.Equal(t, accResult{"evt_X", "AB", true}, accAdd(&a, accFinal(t, "evt_X", "A", "B")))
}

func TestMessageAccumulator_interleavedIDs(t *testing.T) {
	t.Parallel()
	var a MessageAccumulator
	accAdd(&a, accStart(t, "evt_A", EventTypeAgentMessage))
	accAdd(&a, accStart(t, "evt_B", EventTypeAgentMessage))
	accAdd(&a, accDelta(t, "evt_A", 0, "a1"))
	accAdd(&a, accDelta(t, "evt_B", 0, "b1"))
	accAdd(&a, accDelta(t, "evt_A", 0, "a2"))
	assert.Equal(t, accResult{"evt_A", "a1a2", false}, accAdd(&a, accFinal(t, "evt_A", "a1a2")), "the final text equals the partial text")
	assert.True(t, a.Final("evt_A"))
	assert.Equal(t, accResult{"evt_B", "b1b2", true}, accAdd(&a, accDelta(t, "evt_B", 0, "b2")))
	assert.Equal(t, "a1a2", a.Text("evt_A"))
	assert.Equal(t, "b1b2", a.Text("evt_B"))
	assert.False(t, a.Final("evt_B"))
}

func TestMessageAccumulator_replayedStartReportsTheReset(t *testing.T) {
	t.Parallel()
	var a MessageAccumulator
	accAdd(&a, accStart(t, "evt_R", EventTypeAgentMessage))
	accAdd(&a, accDelta(t, "evt_R", 0, "par"))
	// A resumed stream replays the start: the partial text is dropped.
	assert.Equal(t, accResult{"evt_R", "", true}, accAdd(&a, accStart(t, "evt_R", EventTypeAgentMessage)))
	assert.Equal(t, accResult{"evt_R", "par", true}, accAdd(&a, accDelta(t, "evt_R", 0, "par")))
	assert.Equal(t, accResult{"evt_R", "partial", true}, accAdd(&a, accFinal(t, "evt_R", "partial")))
}

func TestMessageAccumulator_thinking(t *testing.T) {
	t.Parallel()
	var a MessageAccumulator
	// Thinking is start-only: an event_start and then the marker event.
	assert.Equal(t, accResult{"evt_T", "", false}, accAdd(&a, accStart(t, "evt_T", EventTypeAgentThinking)))
	ev := accDecode(t, EventTypeAgentThinking, `{"id":"evt_T","type":"agent.thinking"}`)
	assert.Equal(t, accResult{"evt_T", "", false}, accAdd(&a, ev), "a text-less marker changes no text")
	assert.True(t, a.Final("evt_T"))
	assert.Empty(t, a.partial)
}

func TestMessageAccumulator_ignoresOtherEvents(t *testing.T) {
	t.Parallel()
	var a MessageAccumulator
	for _, ev := range []Event{
		&SessionStatusRunningEvent{EventMeta: EventMeta{ID: "evt_1"}},
		&AgentToolUseEvent{EventMeta: EventMeta{ID: "evt_2"}, Name: "Bash"},
		&UnknownEvent{EventMeta: EventMeta{ID: "evt_3", Type: "x"}},
	} {
		assert.Equal(t, accResult{}, accAdd(&a, ev))
	}
	// Non-text and malformed deltas change nothing.
	accAdd(&a, accStart(t, "evt_X", EventTypeAgentMessage))
	accAdd(&a, accDelta(t, "evt_X", 0, "ok"))
	assert.Equal(t, accResult{"evt_X", "ok", false}, accAdd(&a, &EventDelta{TargetID: "evt_X",
		Delta: ContentDelta{Index: 0, Content: ContentBlock{Type: "thinking", Text: "secret"}}}))
	assert.Equal(t, accResult{"evt_X", "ok", false}, accAdd(&a, &EventDelta{TargetID: "evt_X",
		Delta: ContentDelta{Index: -1, Content: TextBlock("neg")}}))
	assert.Equal(t, accResult{"evt_X", "ok", false}, accAdd(&a, accDelta(t, "evt_X", 0, "")))
	assert.Equal(t, "ok", a.Text("evt_X"))
}

func TestMessageAccumulator_reset(t *testing.T) {
	t.Parallel()
	var a MessageAccumulator
	accAdd(&a, accFinal(t, "evt_A", "done"))
	accAdd(&a, accDelta(t, "evt_B", 0, "partial"))
	a.Reset()
	assert.Equal(t, "", a.Text("evt_A"))
	assert.Equal(t, "", a.Text("evt_B"))
	assert.False(t, a.Final("evt_A"))
	// Usable after Reset.
	assert.Equal(t, accResult{"evt_B", "again", true}, accAdd(&a, accDelta(t, "evt_B", 0, "again")))
}

func TestMessageAccumulator_stringsStayValid(t *testing.T) {
	t.Parallel()
	var a MessageAccumulator
	accAdd(&a, accStart(t, "evt_X", EventTypeAgentMessage))
	_, first, _ := a.Add(accDelta(t, "evt_X", 0, "abc"))
	for i := 0; i < 100; i++ { // grow the buffer past its first allocation
		accAdd(&a, accDelta(t, "evt_X", 0, "0123456789"))
	}
	accAdd(&a, accDelta(t, "evt_X", 1, "z")) // a second block, inserted after
	accAdd(&a, accStart(t, "evt_X", EventTypeAgentMessage))
	require.Equal(t, "abc", first, "an earlier result must not change")
	assert.Equal(t, "", a.Text("evt_X"))
}

// TestMessageAccumulator_Delta feeds whole streams to Delta and checks what
// a chat printing its results would show: each message's text once, then
// a newline when the message is complete.
func TestMessageAccumulator_Delta(t *testing.T) {
	t.Parallel()
	thinking := func(t *testing.T, id string) Event {
		return accDecode(t, EventTypeAgentThinking, fmt.Sprintf(`{"id":%q,"type":"agent.thinking","content":[{"type":"text","text":"hmm"}]}`, id))
	}
	tests := []struct {
		name   string
		events func(t *testing.T) []Event
		want   string // what the chat prints: the texts, "\n" after each done
	}{
		{
			name: "deltas on: the final event adds only done",
			events: func(t *testing.T) []Event {
				return []Event{
					accStart(t, "evt_M", EventTypeAgentMessage),
					accDelta(t, "evt_M", 0, "Hel"), accDelta(t, "evt_M", 0, "lo"),
					accFinal(t, "evt_M", "Hello"),
				}
			},
			want: "Hello\n",
		},
		{
			name:   "deltas off: the final event brings the whole text",
			events: func(t *testing.T) []Event { return []Event{accFinal(t, "evt_A", "One"), accFinal(t, "evt_B", "Two")} },
			want:   "One\nTwo\n",
		},
		{
			name: "the final event brings what the deltas missed",
			events: func(t *testing.T) []Event {
				return []Event{accStart(t, "evt_M", EventTypeAgentMessage), accDelta(t, "evt_M", 0, "Hel"), accFinal(t, "evt_M", "Hello!")}
			},
			want: "Hello!\n",
		},
		{
			name: "a final text that does not continue the deltas comes whole",
			events: func(t *testing.T) []Event {
				return []Event{accStart(t, "evt_M", EventTypeAgentMessage), accDelta(t, "evt_M", 0, "Helo"), accFinal(t, "evt_M", "Hello")}
			},
			want: "HeloHello\n",
		},
		{
			name: "a resume replays the start and the deltas: nothing twice",
			events: func(t *testing.T) []Event {
				return []Event{
					accStart(t, "evt_M", EventTypeAgentMessage), accDelta(t, "evt_M", 0, "Hello"), accDelta(t, "evt_M", 0, ", wor"),
					accStart(t, "evt_M", EventTypeAgentMessage), accDelta(t, "evt_M", 0, "Hello"), accDelta(t, "evt_M", 0, ", wor"),
					accDelta(t, "evt_M", 0, "ld"), accFinal(t, "evt_M", "Hello, world"),
				}
			},
			want: "Hello, world\n",
		},
		{
			name: "a replayed final event is not done twice",
			events: func(t *testing.T) []Event {
				return []Event{accFinal(t, "evt_M", "Hi"), accFinal(t, "evt_M", "Hi"), accDelta(t, "evt_M", 0, "late")}
			},
			want: "Hi\n",
		},
		{
			name: "thinking and other events print nothing",
			events: func(t *testing.T) []Event {
				return []Event{
					&SessionStatusRunningEvent{EventMeta: EventMeta{ID: "evt_1"}},
					accStart(t, "evt_T", EventTypeAgentThinking), accDelta(t, "evt_T", 0, "pondering"), thinking(t, "evt_T"),
					accDelta(t, "evt_U", 0, "no start seen"),
					&AgentToolUseEvent{EventMeta: EventMeta{ID: "evt_2"}, Name: "Bash"},
					accFinal(t, "evt_M", "Answer"),
				}
			},
			want: "Answer\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var a MessageAccumulator
			var out strings.Builder
			for _, ev := range tt.events(t) {
				_, text, done := a.Delta(ev)
				out.WriteString(text)
				if done {
					out.WriteString("\n")
				}
			}
			assert.Equal(t, tt.want, out.String())
		})
	}
}

func TestMessageAccumulator_DeltaIDsAndSteps(t *testing.T) {
	t.Parallel()
	type step struct {
		id, text string
		done     bool
	}
	delta := func(a *MessageAccumulator, ev Event) step {
		id, text, done := a.Delta(ev)
		return step{id, text, done}
	}
	var a MessageAccumulator
	assert.Equal(t, step{"evt_M", "", false}, delta(&a, accStart(t, "evt_M", EventTypeAgentMessage)))
	assert.Equal(t, step{"evt_M", "Hel", false}, delta(&a, accDelta(t, "evt_M", 0, "Hel")))
	assert.Equal(t, step{"evt_M", "lo", false}, delta(&a, accDelta(t, "evt_M", 0, "lo")))
	assert.Equal(t, step{"evt_M", "", true}, delta(&a, accFinal(t, "evt_M", "Hello")), "complete, with nothing left to print")
	assert.Equal(t, "Hello", a.Text("evt_M"))
	assert.True(t, a.Final("evt_M"))
	a.Reset()
	assert.Equal(t, step{"evt_M", "Hello", true}, delta(&a, accFinal(t, "evt_M", "Hello")), "Reset forgets what was reported")
}
