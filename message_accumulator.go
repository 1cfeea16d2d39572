package qoder

import (
	"slices"
	"strings"
)

// MessageAccumulator rebuilds the text of agent messages streamed
// incrementally (StreamParams.EventDeltas) from [EventStart] and [EventDelta]
// frames, and replaces it with the final [AgentMessageEvent] (or
// [AgentThinkingEvent]) when that arrives. Feed it every event of the stream
// with Add.
//
//   - An EventStart resets the partial text of its event, so a resumed stream
//     that replays the start and the retained deltas rebuilds the text without
//     duplicating it.
//   - An EventDelta appends its text to content block Delta.Index of its event.
//   - The buffered event with the same id is authoritative: its text replaces
//     the partial text and later frames for that id are ignored.
//
// To print a reply as it is written, use [MessageAccumulator.Delta]
// instead of Add: it returns just the new text and says when a message is
// complete.
//
// Partial buffers are dropped once an event is final; for each final event the
// accumulator keeps its id and final text (Reset clears them). The zero value
// is ready to use. A MessageAccumulator is not safe for concurrent use.
type MessageAccumulator struct {
	partial map[string]*partialText // in progress, by event id
	final   map[string]string       // done, by event id
	shown   map[string]*shownText   // what Delta reported, by agent.message id
}

// shownText is what Delta reported of one agent.message.
type shownText struct {
	text string // the text reported so far
	done bool   // completion was reported
}

// partialText is the text received so far for one event, per content block.
type partialText struct {
	blocks []partialBlock // sorted by index
}

type partialBlock struct {
	index int
	text  *strings.Builder // a pointer: the slice moves blocks around
}

func (p *partialText) String() string {
	switch len(p.blocks) {
	case 0:
		return ""
	case 1:
		return p.blocks[0].text.String() // no copy
	}
	var b strings.Builder
	for i := range p.blocks {
		b.WriteString(p.blocks[i].text.String())
	}
	return b.String()
}

func (p *partialText) append(index int, s string) {
	i, found := slices.BinarySearchFunc(p.blocks, index, func(b partialBlock, idx int) int {
		return b.index - idx
	})
	if !found {
		p.blocks = slices.Insert(p.blocks, i, partialBlock{index: index, text: new(strings.Builder)})
	}
	p.blocks[i].text.WriteString(s)
}

// Add feeds one event to the accumulator. For a frame or final event of a
// streamed message it returns the event id and the message's text so far
// (the final text once the buffered event arrived), with changed = true
// when that text differs from what Add last reported for the id. Other
// events, and frames of an event already final, return changed = false;
// use Final to learn whether a message is complete.
func (a *MessageAccumulator) Add(ev Event) (id string, text string, changed bool) {
	switch ev := ev.(type) {
	case *EventStart:
		id = ev.Event.ID
		if a.isFinal(id) {
			return id, a.final[id], false
		}
		if a.partial == nil {
			a.partial = make(map[string]*partialText)
		}
		prev := a.partial[id]
		a.partial[id] = &partialText{}
		return id, "", prev != nil && prev.String() != ""
	case *EventDelta:
		id = ev.TargetID
		if a.isFinal(id) {
			return id, a.final[id], false
		}
		if ev.Delta.Content.Type != ContentBlockTypeText || ev.Delta.Index < 0 {
			return id, a.Text(id), false
		}
		p := a.partial[id]
		if p == nil {
			if a.partial == nil {
				a.partial = make(map[string]*partialText)
			}
			p = &partialText{}
			a.partial[id] = p
		}
		p.append(ev.Delta.Index, ev.Delta.Content.Text)
		return id, p.String(), ev.Delta.Content.Text != ""
	case *AgentMessageEvent:
		return a.finish(ev.ID, ev.Text())
	case *AgentThinkingEvent:
		return a.finish(ev.ID, ev.Text())
	}
	return "", "", false
}

func (a *MessageAccumulator) finish(id, text string) (string, string, bool) {
	if prev, ok := a.final[id]; ok && prev == text {
		return id, text, false
	}
	changed := text != a.Text(id)
	delete(a.partial, id)
	if a.final == nil {
		a.final = make(map[string]string)
	}
	a.final[id] = text
	return id, text, changed
}

func (a *MessageAccumulator) isFinal(id string) bool {
	_, ok := a.final[id]
	return ok
}

// Text returns the text of event id: the final text once its buffered event
// was added, else the text received so far ("" for an unknown id).
func (a *MessageAccumulator) Text(id string) string {
	if s, ok := a.final[id]; ok {
		return s
	}
	if p := a.partial[id]; p != nil {
		return p.String()
	}
	return ""
}

// Final reports whether the buffered (final) event of id was added.
func (a *MessageAccumulator) Final(id string) bool { return a.isFinal(id) }

// Reset forgets every event, partial and final.
func (a *MessageAccumulator) Reset() {
	a.partial = nil
	a.final = nil
	a.shown = nil
}

// Delta feeds one event to the accumulator, as Add does, and returns what
// it adds to the text of an agent.message: the message's event id, the
// text not reported before (print it as is), and done = true, once, when
// the message is complete (its final event arrived). With deltas on, the
// text arrives frame by frame and the final event usually adds no text,
// only done; with deltas off, the final event brings the whole text and
// done. A resumed stream that replays a message's frames reports no text
// twice. Should the final text not continue the text already reported (it
// is authoritative, and should not differ), text is the whole final text.
//
// Delta follows agent.message only: other events, agent.thinking and its
// frames included, return "", "", false. A chat prints a streamed reply
// with
//
//	_, text, done := acc.Delta(ev)
//	fmt.Print(text)
//	if done { fmt.Println() }
//
// Feed each event to Add or to Delta, not to both.
func (a *MessageAccumulator) Delta(ev Event) (id, text string, done bool) {
	switch e := ev.(type) {
	case *EventStart:
		a.Add(ev)
		if e.Event.Type != EventTypeAgentMessage {
			return "", "", false
		}
		id = e.Event.ID
		if a.shown == nil {
			a.shown = make(map[string]*shownText)
		}
		if a.shown[id] == nil {
			a.shown[id] = &shownText{}
		}
		return id, "", false
	case *EventDelta:
		a.Add(ev)
		id = e.TargetID
		st := a.shown[id] // nil unless an event_start announced a message
		if st == nil || st.done || a.isFinal(id) {
			return "", "", false
		}
		// While a resumed stream replays frames, the text is shorter than
		// what was reported; it reports again once past it.
		if cur := a.Text(id); strings.HasPrefix(cur, st.text) {
			text, st.text = cur[len(st.text):], cur
		}
		return id, text, false
	case *AgentMessageEvent:
		a.Add(ev)
		id = e.ID
		if a.shown == nil {
			a.shown = make(map[string]*shownText)
		}
		st := a.shown[id]
		if st == nil {
			st = &shownText{}
			a.shown[id] = st
		}
		if st.done {
			return id, "", false
		}
		final := a.Text(id)
		text = final
		if strings.HasPrefix(final, st.text) {
			text = final[len(st.text):]
		}
		*st = shownText{done: true} // the accumulator keeps the final text
		return id, text, true
	}
	return "", "", false
}
