package qoder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Event is one event of a session, as listed by EventsService.List or
// delivered by a [Stream]. It is sealed: every implementation is a pointer to
// a struct of this package, one per wire type (*[AgentMessageEvent],
// *[SessionStatusIdleEvent], ...), plus the stream-only frames *[EventStart]
// and *[EventDelta] and the catch-all *[UnknownEvent]. Switch on the
// concrete type:
//
//	switch ev := ev.(type) {
//	case *qoder.AgentMessageEvent:
//		fmt.Print(ev.Text())
//	case *qoder.UnknownEvent:
//		log.Printf("skipping %s", ev.Type)
//	}
type Event interface {
	// EventID returns the event's id (evt_…). For *EventDelta it is the id of
	// the event the delta belongs to.
	EventID() string
	// EventType returns the wire type, e.g. "agent.message" or "event_delta".
	EventType() string
	// Raw returns the event's JSON exactly as received. Do not modify it.
	Raw() json.RawMessage

	isEvent()
}

// EventMeta holds the fields every buffered event carries. It is embedded in
// each event struct, so ev.ID, ev.Type and ev.ProcessedAt work on all of them.
type EventMeta struct {
	// ID is the event id (evt_…), also the SSE id used to resume a stream.
	ID string `json:"id"`
	// Type is the wire type, e.g. "agent.message". It always matches the Go
	// type the event was decoded into.
	Type string `json:"type"`
	// ProcessedAt is when the platform processed the event; zero when the
	// payload has none or null (not yet processed).
	ProcessedAt time.Time `json:"processed_at,omitzero"`
	// SessionThreadID is set on thread-scoped events of multi-agent sessions.
	SessionThreadID string `json:"session_thread_id,omitempty"`
	// SessionID is the session id; only older payloads carry it.
	SessionID string `json:"session_id,omitempty"`
	// TurnID is the turn id (turn_…); only older payloads carry it.
	TurnID string `json:"turn_id,omitempty"`
	// CreatedAt is the creation time; only older payloads carry it.
	CreatedAt time.Time `json:"created_at,omitzero"`

	raw json.RawMessage
}

// EventID returns m.ID.
func (m *EventMeta) EventID() string { return m.ID }

// EventType returns m.Type.
func (m *EventMeta) EventType() string { return m.Type }

// Raw returns the event's JSON as received.
func (m *EventMeta) Raw() json.RawMessage { return m.raw }

func (m *EventMeta) isEvent() {}

func (m *EventMeta) setDecoded(typ string, raw []byte) {
	m.Type = typ
	m.raw = capped(raw)
}

// capped returns b with its capacity cut to its length, so that appending to
// it never writes into memory shared with fields that point into it.
func capped(b []byte) []byte { return b[:len(b):len(b)] }

// decodeField is the fast-path decoder of the common fields; see
// [decodable]. Unknown keys are skipped when encoding/json would skip them too.
func (m *EventMeta) decodeField(key, val []byte) bool {
	switch string(key) {
	case "id":
		return fastString(&m.ID, val)
	case "type":
		// The type is set from the resolved wire type after decoding; only
		// check that encoding/json would accept the value.
		return val[0] == '"' || val[0] == 'n'
	case "processed_at":
		return fastTime(&m.ProcessedAt, val)
	case "session_thread_id":
		return fastString(&m.SessionThreadID, val)
	case "session_id":
		return fastString(&m.SessionID, val)
	case "turn_id":
		return fastString(&m.TurnID, val)
	case "created_at":
		return fastTime(&m.CreatedAt, val)
	}
	return skippableKey(key)
}

// UnknownEvent is an event whose type the SDK does not know, or that could not
// be decoded into its struct. It is never dropped: Type (promoted from
// EventMeta) names the wire type and Data holds the raw JSON.
type UnknownEvent struct {
	EventMeta
	// Data is the event's JSON as received (the same bytes as Raw).
	Data json.RawMessage `json:"-"`
	// Err is the decode error: the payload is not a JSON object, or it does
	// not match the struct of its (known) type, or its common fields (id,
	// processed_at, ...) have the wrong JSON type. It is nil for a
	// well-formed event whose type is merely unknown.
	Err error `json:"-"`
}

// decodable is implemented by every struct decodeEvent fills.
type decodable interface {
	Event
	// decodeField decodes one member of the event's JSON object on the fast
	// path. It returns false when the member needs encoding/json (an
	// unusual shape, a legacy field, a value of the wrong type), and the
	// whole event is then decoded again by encoding/json.
	decodeField(key, val []byte) bool
	// setDecoded records the resolved wire type and the raw JSON.
	setDecoded(typ string, raw []byte)
}

// decodeEvent decodes one event. name is the SSE event name; when it is empty
// or "message" (the SSE default) the JSON "type" field decides. decodeEvent
// takes ownership of data: the event keeps it as Raw and may point into it.
//
// It never returns nil and never panics: a type it does not know, or a
// payload that does not decode, becomes *UnknownEvent.
func decodeEvent(name string, data []byte) Event {
	typ := name
	if name == "message" {
		typ = ""
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		if err == nil { // cannot happen; keep the invariant anyway
			err = errors.New("invalid JSON")
		}
		return newUnknownEvent(typ, data, err)
	}
	if i := skipSpace(data, 0); data[i] != '{' {
		return newUnknownEvent(typ, data, errNotObject)
	}
	if typ == "" {
		typ = peekType(data)
	}
	kind, ok := eventKinds[typ]
	if !ok {
		return decodeUnknown(typ, data)
	}
	ev := kind.new()
	if !fastDecode(ev, data) {
		ev = kind.new()
		if err := slowDecode(ev, data); err != nil {
			return newUnknownEvent(kind.typ, data, err)
		}
	}
	ev.setDecoded(kind.typ, data)
	return ev
}

var errNotObject = errors.New("event is not a JSON object")

func newUnknownEvent(typ string, data []byte, err error) *UnknownEvent {
	label := typ
	if label == "" {
		label = "untyped"
	}
	ev := &UnknownEvent{Data: capped(data), Err: fmt.Errorf("qoder: decode %s event: %w", label, err)}
	ev.setDecoded(typ, data)
	return ev
}

// decodeUnknown decodes the common fields of an event of unknown type.
func decodeUnknown(typ string, data []byte) Event {
	ev := &UnknownEvent{Data: capped(data)}
	if !fastDecode(&ev.EventMeta, data) {
		ev.EventMeta = EventMeta{}
		if err := json.Unmarshal(data, &ev.EventMeta); err != nil {
			return newUnknownEvent(typ, data, err)
		}
	}
	ev.setDecoded(typ, data)
	return ev
}

// slowDecode decodes data with encoding/json, unwrapping the legacy
// {"data":{...}} envelope: when the top level has a "data" object, its members
// are decoded first and the top-level members on top of them.
func slowDecode(ev decodable, data []byte) error {
	if inner := legacyDataObject(data); inner != nil {
		if err := json.Unmarshal(inner, ev); err != nil {
			return err
		}
	}
	return json.Unmarshal(data, ev)
}

// legacyDataObject returns the value of the top-level "data" member of data
// when it is an object, else nil. data must be valid JSON.
func legacyDataObject(data []byte) []byte {
	if !bytes.Contains(data, []byte(`"data"`)) {
		return nil
	}
	var inner []byte
	it := objectIter{data: data}
	for it.start(); ; {
		key, val, ok := it.next()
		if !ok {
			break
		}
		if string(key) == "data" && val[0] == '{' {
			inner = val
		}
	}
	return inner
}

// peekType returns the top-level "type" string of data (valid JSON), or ""
// when there is none. Like encoding/json it matches the key without regard to
// case and lets the last occurrence win.
func peekType(data []byte) string {
	var typ []byte
	it := objectIter{data: data}
	for it.start(); ; {
		key, val, ok := it.next()
		if !ok {
			break
		}
		if len(key) == 4 && bytes.EqualFold(key, []byte("type")) {
			typ = val
		}
	}
	if len(typ) < 2 || typ[0] != '"' {
		return ""
	}
	if kind, ok := eventKinds[string(typ[1:len(typ)-1])]; ok {
		return kind.typ // no allocation for the common case
	}
	s, _ := unquote(typ)
	return s
}

// fastDecode fills ev from data (valid JSON) without encoding/json. It returns
// false when data needs encoding/json; ev is then partly filled and must be
// discarded.
func fastDecode(ev decodable, data []byte) bool {
	it := objectIter{data: data}
	if !it.start() {
		return false
	}
	for {
		key, val, ok := it.next()
		if !ok {
			return it.ok
		}
		if !ev.decodeField(key, val) {
			return false
		}
	}
}

// --- fast-path JSON helpers -------------------------------------------------
//
// They work on valid JSON only (decodeEvent checks json.Valid first), and
// each one gives up (returns false) instead of guessing whenever
// encoding/json might decode differently; FuzzDecodeEvent checks that the two
// agree.

// objectIter walks the members of a JSON object.
type objectIter struct {
	data []byte
	i    int
	ok   bool // the object was read to its closing brace
	done bool
}

// start positions it at the first member; false if data is not an object.
func (it *objectIter) start() bool {
	i := skipSpace(it.data, 0)
	if i >= len(it.data) || it.data[i] != '{' {
		it.done = true
		return false
	}
	it.i = skipSpace(it.data, i+1)
	if it.i < len(it.data) && it.data[it.i] == '}' {
		it.done, it.ok = true, true
	}
	return true
}

// next returns the next member: key is the raw key between the quotes (still
// escaped), val the raw value.
func (it *objectIter) next() (key, val []byte, ok bool) {
	if it.done {
		return nil, nil, false
	}
	it.done = true // until proven otherwise
	d, i := it.data, it.i
	if i >= len(d) || d[i] != '"' {
		return nil, nil, false
	}
	end := stringEnd(d, i)
	if end < 0 {
		return nil, nil, false
	}
	key = d[i+1 : end-1]
	i = skipSpace(d, end)
	if i >= len(d) || d[i] != ':' {
		return nil, nil, false
	}
	i = skipSpace(d, i+1)
	vend := valueEnd(d, i)
	if vend < 0 {
		return nil, nil, false
	}
	val = d[i:vend]
	i = skipSpace(d, vend)
	if i >= len(d) {
		return nil, nil, false
	}
	switch d[i] {
	case '}':
		it.ok = true
	case ',':
		it.i = skipSpace(d, i+1)
		it.done = false
	default:
		return nil, nil, false
	}
	return key, val, true
}

// arrayIter walks the elements of a JSON array.
type arrayIter struct {
	data []byte
	i    int
	done bool
}

func (it *arrayIter) start() bool {
	if len(it.data) == 0 || it.data[0] != '[' {
		it.done = true
		return false
	}
	it.i = skipSpace(it.data, 1)
	if it.i < len(it.data) && it.data[it.i] == ']' {
		it.done = true
	}
	return true
}

func (it *arrayIter) next() (val []byte, ok bool) {
	if it.done {
		return nil, false
	}
	it.done = true
	d, i := it.data, it.i
	vend := valueEnd(d, i)
	if vend < 0 {
		return nil, false
	}
	val = d[i:vend]
	i = skipSpace(d, vend)
	if i < len(d) && d[i] == ',' {
		it.i = skipSpace(d, i+1)
		it.done = false
	}
	return val, true
}

func skipSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the string starting at d[i] == '"',
// or -1.
func stringEnd(d []byte, i int) int {
	for j := i + 1; j < len(d); {
		q := bytes.IndexByte(d[j:], '"')
		if q < 0 {
			return -1
		}
		j += q
		// The quote is escaped when an odd number of backslashes precede it.
		bs := 0
		for k := j - 1; k > i && d[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			return j + 1
		}
		j++
	}
	return -1
}

// valueEnd returns the index just past the value starting at d[i], or -1.
func valueEnd(d []byte, i int) int {
	if i >= len(d) {
		return -1
	}
	switch d[i] {
	case '"':
		return stringEnd(d, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(d); j++ {
			switch d[j] {
			case '"':
				e := stringEnd(d, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(d) {
		switch d[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}

// skippableKey reports whether a member with this key, which is not a field
// of the struct being decoded, is ignored by encoding/json too. Keys with
// escapes, upper case or non-ASCII letters might match a field without regard
// to case, and "data" may be the legacy envelope: those go to encoding/json.
func skippableKey(key []byte) bool {
	if string(key) == "data" {
		return false
	}
	for _, c := range key {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// fastString decodes a JSON string (or null, which leaves dst unchanged).
func fastString[S ~string](dst *S, val []byte) bool {
	switch val[0] {
	case 'n':
		return true
	case '"':
		s, ok := unquote(val)
		*dst = S(s)
		return ok
	}
	return false
}

// fastEnum is fastString that reuses the constant in known instead of
// allocating when the value is one of them.
func fastEnum[S ~string](dst *S, val []byte, known ...S) bool {
	if len(val) >= 2 && val[0] == '"' {
		inner := val[1 : len(val)-1]
		for _, k := range known {
			if string(inner) == string(k) {
				*dst = k
				return true
			}
		}
	}
	return fastString(dst, val)
}

func fastBool(dst *bool, val []byte) bool {
	switch val[0] {
	case 'n':
	case 't':
		*dst = true
	case 'f':
		*dst = false
	default:
		return false
	}
	return true
}

func fastTime(dst *time.Time, val []byte) bool {
	if val[0] != '"' && val[0] != 'n' {
		return false
	}
	return dst.UnmarshalJSON(val) == nil
}

func fastInt(dst *int, val []byte) bool {
	if val[0] == 'n' {
		return true
	}
	n, ok := parseInt(val)
	if ok {
		*dst = int(n)
	}
	return ok
}

func fastInt64(dst *int64, val []byte) bool {
	if val[0] == 'n' {
		return true
	}
	n, ok := parseInt(val)
	if ok {
		*dst = n
	}
	return ok
}

// parseInt parses a JSON number that is an integer fitting in an int
// (encoding/json rejects fractions and exponents for integer fields).
func parseInt(val []byte) (int64, bool) {
	neg := val[0] == '-'
	digits := val
	if neg {
		digits = val[1:]
	}
	if len(digits) == 0 || len(digits) > 18 { // longer ones may overflow: leave them to encoding/json
		return 0, false
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	if int64(int(n)) != n {
		return 0, false
	}
	return n, true
}

// fastRaw keeps a raw value without copying it (data belongs to the event).
// Like encoding/json it keeps null as the literal null.
func fastRaw(dst *json.RawMessage, val []byte) bool {
	*dst = val[:len(val):len(val)]
	return true
}

// fastJSON decodes a nested value of a rarely seen field with encoding/json.
func fastJSON(dst any, val []byte) bool {
	return json.Unmarshal(val, dst) == nil
}

// fastContent decodes an array of content blocks. Bare-string (legacy)
// content and duplicate keys go to encoding/json.
func fastContent(dst *ContentBlocks, val []byte) bool {
	if *dst != nil {
		return false
	}
	switch val[0] {
	case 'n':
		return true
	case '[':
	default:
		return false
	}
	it := arrayIter{data: val}
	it.start()
	blocks := []ContentBlock{} // encoding/json makes [] a non-nil empty slice
	for {
		elem, ok := it.next()
		if !ok {
			break
		}
		if elem[0] != '{' {
			return false
		}
		blocks = append(blocks, ContentBlock{})
		if !fastBlock(&blocks[len(blocks)-1], elem) {
			return false
		}
	}
	*dst = blocks
	return true
}

// fastBlock decodes the common text-only content block; blocks with a source,
// nested content or citations go to encoding/json.
func fastBlock(b *ContentBlock, val []byte) bool {
	if val[0] == 'n' {
		return true
	}
	it := objectIter{data: val}
	if !it.start() {
		return false
	}
	for {
		key, v, ok := it.next()
		if !ok {
			return it.ok
		}
		switch string(key) {
		case "type":
			if !fastEnum(&b.Type, v, ContentBlockTypeText, ContentBlockTypeImage, ContentBlockTypeDocument) {
				return false
			}
		case "text":
			if !fastString(&b.Text, v) {
				return false
			}
		case "title":
			if !fastString(&b.Title, v) {
				return false
			}
		case "context":
			if !fastString(&b.Context, v) {
				return false
			}
		case "source", "content", "citations":
			return false
		default:
			if !skippableKey(key) {
				return false
			}
		}
	}
}

// unquote decodes a JSON string literal (quotes included) the way
// encoding/json does: invalid UTF-8 and unpaired surrogates become U+FFFD.
func unquote(q []byte) (string, bool) {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return "", false
	}
	s := q[1 : len(q)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return string(s), true
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			if r+1 >= len(s) {
				return "", false
			}
			switch s[r+1] {
			case '"', '\\', '/', '\'':
				b.WriteByte(s[r+1])
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				rr := hex4(s[r:])
				if rr < 0 {
					return "", false
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, hex4(s[r:])); dec != utf8.RuneError {
						r += 6
						b.WriteRune(dec)
						continue
					}
					rr = utf8.RuneError
				}
				b.WriteRune(rr)
				continue
			default:
				return "", false
			}
			r += 2
		case c == '"' || c < ' ':
			return "", false
		case c < utf8.RuneSelf:
			// Copy the run of plain ASCII up to the next escape or
			// non-ASCII byte in one go.
			end := r + 1
			for end < len(s) && s[end] != '\\' && s[end] >= ' ' && s[end] < utf8.RuneSelf && s[end] != '"' {
				end++
			}
			b.Write(s[r:end])
			r = end
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b.WriteRune(rr)
		}
	}
	return b.String(), true
}

// hex4 decodes the \uXXXX escape at the start of s, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
