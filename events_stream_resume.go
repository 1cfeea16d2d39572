package qoder

import "github.com/qoder-go/qoder/internal/sse"

// dedupWindow is how many of the ids delivered last a stream remembers, to
// drop the events a server sends again after a resume.
const dedupWindow = 1024

// resumeState is where a stream resumes and which events it must not
// deliver again: the cursor, sent as Last-Event-ID on the next connection,
// and a bounded window of the ids already delivered.
type resumeState struct {
	cursor string // id of the last complete event read: the resume point
	badID  bool   // an id unfit for Last-Event-ID was seen (and reported)
	window recentSet[string]
}

// newResumeState returns the resume state of a stream that has delivered
// nothing.
func newResumeState() resumeState {
	return resumeState{window: recentSet[string]{max: dedupWindow}}
}

// startAfter resumes after id, an event the caller already has.
func (r *resumeState) startAfter(id string) {
	r.cursor = id
	r.remember(id)
}

// admit reports whether ev, decoded from f, is new to the caller, and if
// it is a complete event, makes it the resume point. A delta frame is new
// unless its final event was already delivered; it is never a resume
// point. badID is the first id met that cannot be the resume point (see
// adopt), for the caller to log; it is empty after that.
func (r *resumeState) admit(ev Event, f sse.Frame) (isNew bool, badID string) {
	id := ev.EventID()
	switch ev.(type) {
	case *EventStart, *EventDelta:
		return id == "" || !r.delivered(id), ""
	}
	switch {
	case id != "":
		if r.delivered(id) {
			return false, ""
		}
		r.remember(id)
		badID = r.adopt(id)
	case f.ID != "" && f.Event != EventTypeEventStart && f.Event != EventTypeEventDelta:
		// The JSON carries no id (it may not even be JSON): resume from the
		// frame's SSE id, unless the frame is a malformed delta, but do not
		// deduplicate by it, since an id-less frame inherits the previous
		// frame's id.
		badID = r.adopt(f.ID)
	}
	return true, badID
}

// adopt makes id the resume point, unless it could not be sent back as a
// Last-Event-ID header (a NUL, CR, LF or other control character): then
// the last good id stays the resume point, since every reconnect would
// otherwise fail before it left the machine. It returns the first such id,
// to be logged, and "" otherwise.
func (r *resumeState) adopt(id string) string {
	if validHeaderValue(id) {
		r.cursor = id
		return ""
	}
	if r.badID {
		return ""
	}
	r.badID = true
	return id
}

// validHeaderValue reports whether v can be sent as an HTTP header value:
// no control characters but tab.
func validHeaderValue(v string) bool {
	for i := range len(v) {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// delivered reports whether id is in the window of delivered ids.
func (r *resumeState) delivered(id string) bool { return r.window.contains(id) }

// remember records id in the window of delivered ids, which grows with the
// events the stream delivers, up to dedupWindow ids; then each new id
// pushes out the oldest.
func (r *resumeState) remember(id string) { r.window.insert(id) }

// resumeFrom sets the resume point of a stream that has not delivered a
// complete event yet: a reconnect before the first event then sends
// Last-Event-ID id, and the server replays what came after id instead of
// starting at the live tail, where the events in between would be lost. It
// is meant for an event the caller sent after opening the stream, such as
// the accepted user.message of a turn. Unlike StreamParams.LastEventID, id
// is not marked as delivered: if the server sends that event, it is
// delivered. It reports whether id was taken. Do not call it while Next
// blocks: it waits for the read lock.
func (s *Stream) resumeFrom(id string) bool {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if id == "" || s.resume.cursor != "" || s.finished || !validHeaderValue(id) {
		return false
	}
	s.resume.cursor = id
	return true
}
