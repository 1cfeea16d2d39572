package qoder

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/qoder-go/qoder/internal/jsonscan"
)

// Event decoding has two decoders and one source of truth, the json tags of
// the event structs:
//
//   - The fast path (fastDecode) walks the JSON once with internal/jsonscan,
//     which checks the syntax as it goes, and fills the struct by a plan that
//     reflection makes from its type, once per type: which member goes to
//     which field, and how each field's type is read.
//   - encoding/json is the slow path and the reference. The fast path hands
//     over whenever encoding/json might decode differently: invalid JSON, a
//     value of the wrong type, a legacy shape, a repeated slice, a form it
//     does not read itself. TestFastDecode_matchesEncodingJSON and
//     FuzzDecodeEvent check that the two agree.
//
// A new field or event type needs nothing here: its tags are its decoder.

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
	if typ == "" {
		var ok bool
		if typ, ok = peekType(data); !ok {
			return decodeSlow("", data)
		}
	}
	kind, known := eventKinds[typ]
	if !known {
		ev := &UnknownEvent{Data: capped(data)}
		if !fastDecode(&ev.EventMeta, data) {
			return decodeSlow(typ, data)
		}
		ev.setDecoded(typ, data)
		return ev
	}
	ev := kind.new()
	if !fastDecode(ev, data) {
		return decodeSlow(typ, data)
	}
	ev.setDecoded(kind.typ, data)
	return ev
}

// decodeSlow decodes with encoding/json what the fast path turned down, and
// names what is wrong with data when something is.
func decodeSlow(typ string, data []byte) Event {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		if err == nil { // cannot happen; keep the invariant anyway
			err = errors.New("invalid JSON")
		}
		return newUnknownEvent(typ, data, err)
	}
	if bytes.TrimLeft(data, " \t\r\n")[0] != '{' {
		return newUnknownEvent(typ, data, errNotObject)
	}
	kind, known := eventKinds[typ]
	if !known {
		ev := &UnknownEvent{Data: capped(data)}
		if err := json.Unmarshal(data, &ev.EventMeta); err != nil {
			return newUnknownEvent(typ, data, err)
		}
		ev.setDecoded(typ, data)
		return ev
	}
	ev := kind.new()
	if err := slowDecode(ev, data); err != nil {
		return newUnknownEvent(kind.typ, data, err)
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

// peekType returns the top-level "type" string of data, or "" when there is
// none, and whether data is a valid JSON object. Like encoding/json it
// matches the key without regard to case and lets the last occurrence win;
// a key written with escapes does not count.
func peekType(data []byte) (string, bool) {
	s := jsonscan.New(data)
	if !s.BeginObject() {
		return "", false
	}
	var typ []byte // between the quotes; nil when the last "type" is not a string
	for {
		key, more := s.ReadKey()
		if !more {
			break
		}
		if len(key) == 4 && bytes.EqualFold(key, []byte("type")) {
			typ = nil
			if s.Peek() == jsonscan.String {
				typ, _ = s.ReadString()
				continue
			}
		}
		s.Skip()
	}
	if !s.End() {
		return "", false
	}
	if kind, ok := eventKinds[string(typ)]; ok {
		return kind.typ, true // no allocation for the common case
	}
	t, _ := jsonscan.Unquote(typ)
	return t, true
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

// legacyDataObject returns the value of the last top-level "data" member of
// data when it is an object, else nil. data must be valid JSON.
func legacyDataObject(data []byte) []byte {
	if !bytes.Contains(data, []byte(`"data"`)) {
		return nil
	}
	var inner []byte
	s := jsonscan.New(data)
	s.BeginObject()
	for {
		key, more := s.ReadKey()
		if !more {
			return inner
		}
		if val, _ := s.Skip(); string(key) == "data" && len(val) > 0 && val[0] == '{' {
			inner = val
		}
	}
}

// --- the fast path ----------------------------------------------------------

// fastDecode fills ev, a pointer to a struct, from data by the plan of its
// type. It returns false when data needs encoding/json; ev is then partly
// filled and must be discarded.
func fastDecode(ev any, data []byte) bool {
	v := reflect.ValueOf(ev).Elem()
	c := codecOf(v.Type())
	if c.how != asStruct {
		return false // a type with its own UnmarshalJSON, or a shape of fields the plans do not reproduce
	}
	s := jsonscan.New(data)
	return decodeObject(&s, c.plan, v, true) && s.End()
}

// decodeObject reads an object into v, a struct. At the top level of an
// event a "data" member that is no field may be the legacy envelope, which
// only slowDecode unwraps.
func decodeObject(s *jsonscan.Scanner, p *structPlan, v reflect.Value, top bool) bool {
	if !s.BeginObject() {
		return false
	}
	for {
		key, more := s.ReadKey()
		if !more {
			break
		}
		f := p.field(key)
		switch {
		case f == nil && top && string(key) == "data":
			return false
		case f == nil: // encoding/json ignores unknown members
			if _, ok := s.Skip(); !ok {
				return false
			}
		case f.legacy:
			return false
		default:
			fv, ok := fieldOf(v, f.index)
			if !ok || !decodeValue(s, f.codec, fv) {
				return false
			}
		}
	}
	if s.Err() != nil {
		return false
	}
	if p.normalize {
		v.Addr().Interface().(normalizer).normalize()
	}
	return true
}

// fieldOf returns the field of struct v at index, allocating the embedded
// pointers on the way as encoding/json does.
func fieldOf(v reflect.Value, index []int) (reflect.Value, bool) {
	for _, i := range index {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return v, false // a nil embedded pointer to an unexported struct: encoding/json fails
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v, true
}

// decodeValue reads the next value into v as c says, with the result
// encoding/json would give, or returns false.
func decodeValue(s *jsonscan.Scanner, c *codec, v reflect.Value) bool {
	if s.Peek() == jsonscan.Null {
		switch c.how {
		case asString, asBool, asInt, asFloat, asStruct: // left as they are
			return s.ReadNull()
		case asPointer, asSlice:
			v.SetZero()
			return s.ReadNull()
		} // the others take null as a value
	}
	switch c.how {
	case asString:
		str, ok := readString(s)
		v.SetString(str)
		return ok
	case asBool:
		b, ok := s.ReadBool()
		v.SetBool(b)
		return ok
	case asInt:
		num, ok := s.ReadNumber()
		n, err := strconv.ParseInt(string(num), 10, 64)
		if !ok || err != nil || v.OverflowInt(n) {
			return false
		}
		v.SetInt(n)
		return true
	case asFloat:
		num, ok := s.ReadNumber()
		f, err := strconv.ParseFloat(string(num), v.Type().Bits())
		if !ok || err != nil || v.OverflowFloat(f) {
			return false
		}
		v.SetFloat(f)
		return true
	case asRaw: // the bytes themselves: the event owns them
		raw, ok := s.Skip()
		v.SetBytes(capped(raw))
		return ok
	case asUnmarshaler:
		raw, ok := s.Skip()
		return ok && v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw) == nil
	case asStringOr:
		if s.Peek() != jsonscan.String {
			return decodeValue(s, c.elem, v)
		}
		str, ok := readString(s)
		v.Addr().Interface().(stringForm).fromString(str)
		return ok
	case asPointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return decodeValue(s, c.elem, v.Elem())
	case asSlice:
		return decodeSlice(s, c.elem, v)
	case asStruct:
		return decodeObject(s, c.plan, v, false)
	case viaJSON:
		return decodeViaJSON(s, v)
	}
	return false // never
}

func decodeSlice(s *jsonscan.Scanner, elem *codec, v reflect.Value) bool {
	if !v.IsNil() {
		// A repeated member: encoding/json decodes into the elements
		// already there.
		return decodeViaJSON(s, v)
	}
	if !s.BeginArray() {
		return false
	}
	n := 0
	for s.NextElement() {
		v.Grow(1)
		v.SetLen(n + 1)
		if !decodeValue(s, elem, v.Index(n)) {
			return false
		}
		n++
	}
	if n == 0 {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0)) // [] is an empty slice, not nil
	}
	return s.Err() == nil
}

func decodeViaJSON(s *jsonscan.Scanner, v reflect.Value) bool {
	raw, ok := s.Skip()
	return ok && json.Unmarshal(raw, v.Addr().Interface()) == nil
}

// readString reads a string, sharing the interned copy when there is one.
func readString(s *jsonscan.Scanner) (string, bool) {
	raw, ok := s.ReadString()
	if !ok {
		return "", false
	}
	if len(raw) <= maxInterned {
		if str, ok := interned[string(raw)]; ok {
			return str, true
		}
	}
	return jsonscan.Unquote(raw)
}

// interned holds one copy of the strings events repeat most, the wire types
// and the enum values, so that decoding them does not allocate. Any other
// value decodes all the same, into a new string.
var interned = func() map[string]string {
	m := map[string]string{}
	for typ := range eventKinds {
		m[typ] = typ
	}
	for _, s := range []string{
		string(ContentBlockTypeText), string(ContentBlockTypeImage),
		string(ContentBlockTypeDocument), string(ContentBlockTypeSearchResult),
		string(StopReasonEndTurn), string(StopReasonRequiresAction), string(StopReasonCancelled),
		string(StopReasonRetriesExhausted), string(StopReasonBudgetReached),
		string(EvaluatedPermissionAllow), string(EvaluatedPermissionAsk), string(EvaluatedPermissionDeny),
		string(RetryStatusRetrying), string(RetryStatusExhausted), string(RetryStatusTerminal),
		"content_delta",
	} {
		m[s] = s
	}
	return m
}()

var maxInterned = func() (n int) {
	for s := range interned {
		n = max(n, len(s))
	}
	return n
}()

// --- the plans --------------------------------------------------------------

// codec says how the fast path reads a value of one Go type.
type codec struct {
	how  readAs
	elem *codec      // asPointer, asSlice: the element; asStringOr: the type's own fields
	plan *structPlan // asStruct
}

type readAs uint8

const (
	viaJSON       readAs = iota // json.Unmarshal of the value: forms the fast path does not read itself
	never                       // the whole event goes to encoding/json (a ",string" field)
	asString                    // string kinds, enums included
	asBool                      //
	asInt                       // signed integer kinds
	asFloat                     //
	asRaw                       // json.RawMessage, kept as the bytes of the input
	asUnmarshaler               // the type's own UnmarshalJSON, e.g. time.Time
	asStringOr                  // a stringForm type
	asPointer                   //
	asSlice                     //
	asStruct                    // by a structPlan
)

// structPlan maps the members of a JSON object to the fields of a struct.
type structPlan struct {
	fields    []fieldPlan // in encoding/json's order, names unique
	normalize bool        // the struct is a normalizer
}

type fieldPlan struct {
	name   string
	index  []int // as for reflect.Value.FieldByIndex
	codec  *codec
	legacy bool // a member only the type's UnmarshalJSON reads
}

// field returns the field a member key (as written) goes to, matched as
// encoding/json does: the exact name first, then the first name equal
// without regard to case; nil for none.
func (p *structPlan) field(key []byte) *fieldPlan {
	for _, c := range key {
		if c == '\\' || c >= 0x80 { // escapes or, perhaps, invalid UTF-8
			k, _ := jsonscan.Unquote(key)
			key = []byte(k)
			break
		}
	}
	for i := range p.fields { // a handful: faster than a map
		if p.fields[i].name == string(key) {
			return &p.fields[i]
		}
	}
	for i := range p.fields {
		if strings.EqualFold(p.fields[i].name, string(key)) {
			return &p.fields[i]
		}
	}
	return nil
}

var (
	codecs   sync.Map   // reflect.Type → *codec, complete ones only
	codecsMu sync.Mutex // held while building
)

// codecOf returns the codec of t, built on first use.
func codecOf(t reflect.Type) *codec {
	if c, ok := codecs.Load(t); ok {
		return c.(*codec)
	}
	codecsMu.Lock()
	defer codecsMu.Unlock()
	b := codecBuilder{building: map[reflect.Type]*codec{}}
	c := b.codec(t)
	for t, c := range b.building {
		codecs.Store(t, c)
	}
	return c
}

// codecBuilder builds the codecs of a type and of the types it holds. A
// recursive type (a content block holds content blocks) gets the codec under
// construction.
type codecBuilder struct {
	building map[reflect.Type]*codec
}

var (
	rawMessageType      = reflect.TypeFor[json.RawMessage]()
	numberType          = reflect.TypeFor[json.Number]()
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	stringFormType      = reflect.TypeFor[stringForm]()
	legacyShapedType    = reflect.TypeFor[legacyShaped]()
	normalizerType      = reflect.TypeFor[normalizer]()
	neverCodec          = &codec{how: never}
	// quotableKinds are the kinds the ",string" tag option applies to.
	quotableKinds = []reflect.Kind{
		reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String,
	}
)

func (b *codecBuilder) codec(t reflect.Type) *codec {
	if c, ok := codecs.Load(t); ok {
		return c.(*codec)
	}
	if c, ok := b.building[t]; ok {
		return c
	}
	c := &codec{}
	b.building[t] = c
	// encoding/json looks for methods on the pointer to a named type only.
	pt := reflect.PointerTo(t)
	switch named := t.Name() != ""; {
	case t == rawMessageType:
		c.how = asRaw
	case t == numberType:
		c.how = viaJSON
	case named && pt.Implements(stringFormType):
		c.how, c.elem = asStringOr, &codec{}
		b.plain(t, c.elem)
	case named && t.Kind() == reflect.Struct && pt.Implements(legacyShapedType):
		b.plain(t, c)
	case named && pt.Implements(unmarshalerType):
		c.how = asUnmarshaler
	case named && pt.Implements(textUnmarshalerType):
		c.how = viaJSON
	default:
		b.plain(t, c)
	}
	return c
}

// plain fills c for t by its kind, as if t had no methods.
func (b *codecBuilder) plain(t reflect.Type, c *codec) {
	switch t.Kind() {
	case reflect.String:
		c.how = asString
	case reflect.Bool:
		c.how = asBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		c.how = asInt
	case reflect.Float32, reflect.Float64:
		c.how = asFloat
	case reflect.Pointer:
		if t.Name() != "" || t.Elem().Name() == "" && (t.Implements(unmarshalerType) || t.Implements(textUnmarshalerType)) {
			c.how = viaJSON
			return
		}
		c.how, c.elem = asPointer, b.codec(t.Elem())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 { // base64 strings, or arrays of numbers
			c.how = viaJSON
			return
		}
		c.how, c.elem = asSlice, b.codec(t.Elem())
	case reflect.Struct:
		if p, ok := b.plan(t); ok {
			c.how, c.plan = asStruct, p
		} else {
			c.how = viaJSON
		}
	default: // maps, interfaces, arrays, unsigned integers, ...
		c.how = viaJSON
	}
}

// plan makes the plan of struct type t: its fields as encoding/json finds
// them (see typeFields in encoding/json), and for a legacyShaped type the
// members of its legacyFields, marked legacy. It fails for shapes where
// encoding/json would choose between fields of one name (by depth and tags):
// encoding/json decodes those.
func (b *codecBuilder) plan(t reflect.Type) (*structPlan, bool) {
	fields := b.fields(t, nil, []reflect.Type{t}, nil)
	pt := reflect.PointerTo(t)
	if pt.Implements(legacyShapedType) {
		legacy := reflect.TypeOf(reflect.Zero(pt).Interface().(legacyShaped).legacyFields())
		n := len(fields)
		fields = b.fields(legacy, nil, []reflect.Type{legacy}, fields)
		for i := n; i < len(fields); i++ {
			fields[i].legacy = true
		}
	}
	names := make(map[string]bool, len(fields))
	for _, f := range fields {
		if names[f.name] {
			return nil, false
		}
		names[f.name] = true
	}
	return &structPlan{fields: fields, normalize: pt.Implements(normalizerType)}, true
}

// fields appends to out the fields of struct type t, reached at index, in
// the order encoding/json keeps them: depth first, promoting the fields of
// untagged embedded structs. path holds the embedded types on the way, so
// that a type embedding itself stops.
func (b *codecBuilder) fields(t reflect.Type, index []int, path []reflect.Type, out []fieldPlan) []fieldPlan {
	for i := range t.NumField() {
		sf := t.Field(i)
		ft := sf.Type
		if ft.Name() == "" && ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if !sf.IsExported() && (!sf.Anonymous || ft.Kind() != reflect.Struct) {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !validTagName(name) {
			name = ""
		}
		at := append(slices.Clip(index), i)
		if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
			if !slices.Contains(path, ft) {
				out = b.fields(ft, at, append(path, ft), out)
			}
			continue
		}
		if name == "" {
			name = sf.Name
		}
		c := b.codec(sf.Type)
		if slices.Contains(strings.Split(opts, ","), "string") && slices.Contains(quotableKinds, ft.Kind()) {
			c = neverCodec
		}
		out = append(out, fieldPlan{name: name, index: at, codec: c})
	}
	return out
}

// validTagName is isValidTag of encoding/json: a name it takes from a tag.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c) && !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return true
}

// --- what types with their own UnmarshalJSON tell the fast path -------------

// stringForm is implemented by the types whose UnmarshalJSON also accepts a
// bare JSON string (a shorter or older wire form) and otherwise decodes
// their fields; their UnmarshalJSON is unmarshalStringOr. The fast path hands
// a string to fromString and reads anything else by the type's fields.
type stringForm interface {
	json.Unmarshaler
	// fromString does what UnmarshalJSON does with a JSON string.
	fromString(s string)
}

// unmarshalStringOr is the UnmarshalJSON of a stringForm type t: a string
// goes to t.fromString, anything else into fields, which is t converted to a
// type without methods.
func unmarshalStringOr(data []byte, t stringForm, fields any) error {
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		t.fromString(s)
		return nil
	}
	return json.Unmarshal(data, fields)
}

// legacyShaped is implemented by the event types whose UnmarshalJSON also
// accepts member names of older payloads. Their UnmarshalJSON decodes into
// struct{ *fields; *legacy }, where fields is the event type without methods
// and legacy is the type of the struct legacyFields returns; then it moves
// what the legacy members held into the event, each move guarded by the
// legacy field being set, and calls normalize if the type has it. The fast
// path decodes an event without legacy members by its own fields and calls
// normalize; any legacy member sends the event to UnmarshalJSON.
type legacyShaped interface {
	json.Unmarshaler
	// legacyFields returns the zero struct of the legacy members; only its
	// type and tags count.
	legacyFields() any
}

// normalizer is implemented by the legacyShaped types whose UnmarshalJSON
// ends by deriving fields from others.
type normalizer interface {
	normalize()
}
