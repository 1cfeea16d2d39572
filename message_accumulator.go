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
// Partial buffers are dropped once an event is final; for each final event the
// accumulator keeps its id and final text (Reset clears them). The zero value
// is ready to use. A MessageAccumulator is not safe for concurrent use.
type MessageAccumulator struct {
	partial map[string]*partialText // in progress, by event id
	final   map[string]string       // done, by event id
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
}
