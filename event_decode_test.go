package qoder

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// filler sets every exported field of a value, recursively, to a value that
// is not zero and differs from field to field.
type filler struct {
	t testing.TB
	n int
}

// fillDepth bounds recursive types (content blocks hold content blocks):
// below it a slice is filled empty, which is still not nil.
const fillDepth = 3

func (f *filler) fill(v reflect.Value, depth int) {
	f.n++
	n := f.n
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 5, 18, 3, 40, n%60, n*1001, time.UTC)))
		return
	case v.Type() == reflect.TypeFor[json.RawMessage]():
		v.SetBytes(fmt.Appendf(nil, `{"n":%d}`, n))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("v%d", n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Float64:
		v.SetFloat(float64(n) + 0.25)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(v.Elem(), depth)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 0, 2))
		if depth < fillDepth {
			for range 2 {
				e := reflect.New(v.Type().Elem()).Elem()
				f.fill(e, depth+1)
				v.Set(reflect.Append(v, e))
			}
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k := reflect.New(v.Type().Key()).Elem()
		e := reflect.New(v.Type().Elem()).Elem()
		f.fill(k, depth+1)
		f.fill(e, depth+1)
		v.SetMapIndex(k, e)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				f.fill(v.Field(i), depth)
			}
		}
	default:
		f.t.Fatalf("filler: no rule for %s (%s): add one", v.Type(), v.Kind())
	}
}

// requireNoZeroField fails when an exported field of v, recursively, is zero.
func requireNoZeroField(t testing.TB, v reflect.Value, path string) {
	t.Helper()
	require.False(t, v.IsZero(), "%s is zero", path)
	switch v.Kind() {
	case reflect.Pointer:
		requireNoZeroField(t, v.Elem(), path)
	case reflect.Slice:
		if v.Type() != reflect.TypeFor[json.RawMessage]() {
			for i := range v.Len() {
				requireNoZeroField(t, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				requireNoZeroField(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	}
}

// TestFastDecode_matchesEncodingJSON is the property that keeps the fast path
// honest: for every type in the event registry, an event with every exported
// field set (recursively) to a distinct non-zero value, and the same event with
// each of its fields zero in turn, encoded by encoding/json, must be accepted
// by the fast path and decoded into exactly what encoding/json decodes. A
// field the fast path lost would come back zero.
func TestFastDecode_matchesEncodingJSON(t *testing.T) {
	t.Parallel()
	wires := slices.Sorted(func(yield func(string) bool) {
		for typ := range eventKinds {
			if !yield(typ) {
				return
			}
		}
	})
	for _, wire := range wires {
		t.Run(wire, func(t *testing.T) {
			t.Parallel()
			kind := eventKinds[wire]
			full := kind.new()
			f := filler{t: t}
			f.fill(reflect.ValueOf(full).Elem(), 0)
			requireNoZeroField(t, reflect.ValueOf(full).Elem(), wire)

			data, err := json.Marshal(full)
			require.NoError(t, err)
			require.True(t, assertFastMatchesSlow(t, wire, data), "the fast path turned down %s", data)
			// Nothing was lost on the way: the decoded event is the one encoded.
			got := kind.new()
			require.True(t, fastDecode(got, data))
			got.setDecoded(wire, data)
			full.setDecoded(wire, data)
			assert.Equal(t, full, got)

			typ := reflect.TypeOf(full).Elem()
			for _, field := range reflect.VisibleFields(typ) {
				if field.Anonymous || !field.IsExported() {
					continue
				}
				one := kind.new()
				reflect.ValueOf(one).Elem().Set(reflect.ValueOf(full).Elem())
				reflect.ValueOf(one).Elem().FieldByIndex(field.Index).SetZero()
				data, err := json.Marshal(one)
				require.NoError(t, err)
				assert.True(t, assertFastMatchesSlow(t, wire, data), "%s zero: the fast path turned down %s", field.Name, data)
			}
		})
	}
}

// fastMatchesJSON decodes data into a new T with the fast path and with
// encoding/json. When the fast path accepts data, both must agree; it
// reports whether it did.
func fastMatchesJSON[T any](t *testing.T, data string) bool {
	t.Helper()
	var fast, slow T
	if !fastDecode(&fast, []byte(data)) {
		return false
	}
	require.NoError(t, json.Unmarshal([]byte(data), &slow), "fast path accepted %s", data)
	assert.Equal(t, slow, fast, "%s", data)
	return true
}

type (
	shapeInner struct {
		A string `json:"a"`
		B int    `json:"b"`
	}
	ShapeEmbedded struct {
		E string `json:"e"`
	}
	shapeHidden struct {
		H string `json:"h"`
	}
	shapeScalars struct {
		S   string            `json:"s"`
		I8  int8              `json:"i8"`
		F32 float32           `json:"f32"`
		U   uint              `json:"u"`
		Any any               `json:"any"`
		M   map[string]int    `json:"m"`
		Arr [2]int            `json:"arr"`
		Bs  []byte            `json:"bs"`
		N   json.Number       `json:"n"`
		IP  netip.Addr        `json:"ip"`
		Big *big.Int          `json:"big"`
		PP  **shapeInner      `json:"pp"`
		In  shapeInner        `json:"in"`
		Ps  []*shapeInner     `json:"ps"`
		Raw json.RawMessage   `json:"raw"`
		T   time.Time         `json:"t"`
		Q   int               `json:"q,string"`
		Dsh string            `json:"-"`
		DC  string            `json:"-,"`
		Bad string            `json:"b\"ad"`
		MS  map[string]string `json:"ms"`
	}
	shapeEmbedding struct {
		ShapeEmbedded
		*shapeHidden
		Own string `json:"own"`
	}
	shapeEmbedValue struct {
		shapeHidden
		Own string `json:"own"`
	}
	shapeClash struct {
		ShapeEmbedded
		E string `json:"e"` // shadows the embedded E: encoding/json picks by depth
	}
	shapeFold struct {
		Lower string `json:"name"`
		Upper string `json:"NAME"`
	}
)

func TestFastDecode_shapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		data   string
		decode func(t *testing.T, data string) bool
		fast   bool // the fast path takes it
	}{
		{"scalars", `{"s":"x","i8":-5,"f32":1.5,"u":7,"any":{"k":[1]},"m":{"a":1},"arr":[1,2,3],"bs":"aGk=","n":12.5,"ip":"10.0.0.1","big":123456789012345678901234567890,"pp":{"a":"p"},"in":{"a":"i","b":2},"ps":[{"a":"1"},null],"raw":[1, 2],"t":"2026-05-18T03:40:55.5Z","ms":{"x":"y"}}`, fastMatchesJSON[shapeScalars], true},
		{"nulls leave scalars and set pointers, slices and maps to nil", `{"s":null,"i8":null,"pp":null,"ps":null,"m":null,"in":null,"raw":null,"t":null,"any":null}`, fastMatchesJSON[shapeScalars], true},
		{"empty array is not nil", `{"ps":[]}`, fastMatchesJSON[shapeScalars], true},
		{"repeated members", `{"in":{"a":"1"},"in":{"b":2},"ps":[{"a":"x"}],"ps":[{"b":3}],"s":"a","s":"b","m":{"a":1},"m":{"b":2}}`, fastMatchesJSON[shapeScalars], true},
		{"case-insensitive and escaped keys", `{"S":"x","I8":3,"\u0073":"y","In":{"A":"z"}}`, fastMatchesJSON[shapeScalars], true},
		{"ignored names", `{"Dsh":"x","-":"dash","b\"ad":"q","Bad":"z","unknown":{"deep":[1,{"x":null}]}}`, fastMatchesJSON[shapeScalars], true},
		{"string option goes to encoding/json", `{"q":"5"}`, fastMatchesJSON[shapeScalars], false},
		{"int out of range", `{"i8":300}`, fastMatchesJSON[shapeScalars], false},
		{"fraction into int", `{"i8":1.5}`, fastMatchesJSON[shapeScalars], false},
		{"string into int", `{"i8":"1"}`, fastMatchesJSON[shapeScalars], false},
		{"float32 out of range", `{"f32":1e39}`, fastMatchesJSON[shapeScalars], false},
		{"number into string", `{"s":1}`, fastMatchesJSON[shapeScalars], false},
		{"bad time", `{"t":"yesterday"}`, fastMatchesJSON[shapeScalars], false},
		{"invalid JSON", `{"s":"x",}`, fastMatchesJSON[shapeScalars], false},
		{"trailing data", `{"s":"x"} {}`, fastMatchesJSON[shapeScalars], false},
		{"embedded structs", `{"e":"1","h":"2","own":"3"}`, fastMatchesJSON[shapeEmbedding], false},
		{"embedded structs without the hidden one", `{"e":"1","own":"3"}`, fastMatchesJSON[shapeEmbedding], true},
		{"fields of an unexported struct embedded by value", `{"h":"x","own":"y"}`, fastMatchesJSON[shapeEmbedValue], true},
		{"a shadowed name goes to encoding/json", `{"e":"outer"}`, fastMatchesJSON[shapeClash], false},
		{"two names equal but for case", `{"Name":"a","name":"b","NAME":"c"}`, fastMatchesJSON[shapeFold], true},
		{"stop reason as a string", `{"type":"session.status_idle","stop_reason":"end_turn"}`, fastMatchesJSON[SessionStatusIdleEvent], true},
		{"stop reason string then object", `{"stop_reason":"end_turn","stop_reason":{"event_ids":["a"]}}`, fastMatchesJSON[SessionStatusIdleEvent], true},
		{"legacy content string", `{"content":"hi"}`, fastMatchesJSON[AgentMessageEvent], true},
		{"content string then array", `{"content":"hi","content":[{"type":"text","text":"x"}]}`, fastMatchesJSON[AgentMessageEvent], true},
		{"bare source", `{"content":[{"type":"search_result","source":"https://x","content":[{"type":"text","text":"t"}],"citations":{"enabled":true}}]}`, fastMatchesJSON[AgentMessageEvent], true},
		{"legacy tool_name", `{"tool_name":"Bash"}`, fastMatchesJSON[AgentToolUseEvent], false},
		{"legacy name in other case", `{"Tool_Input":{}}`, fastMatchesJSON[AgentToolUseEvent], false},
		{"requires_confirmation is normalized", `{"name":"Bash","requires_confirmation":true}`, fastMatchesJSON[AgentToolUseEvent], true},
		{"legacy output", `{"output":"55"}`, fastMatchesJSON[AgentToolResultEvent], false},
		{"session error as a string", `{"error":"boom"}`, fastMatchesJSON[SessionErrorEvent], true},
		{"updated metadata", `{"title":"t","metadata":{"k":"v"},"agent":{"a":1},"budget":null}`, fastMatchesJSON[SessionUpdatedEvent], true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.fast, tt.decode(t, tt.data), "fast path taken")
		})
	}
}

func TestFastDecode_typeWithItsOwnUnmarshalJSON(t *testing.T) {
	t.Parallel()
	// A struct with an UnmarshalJSON that is neither a stringForm nor
	// legacyShaped is left to its method.
	var tm time.Time
	assert.False(t, fastDecode(&tm, []byte(`{}`)))
	assert.Equal(t, asUnmarshaler, codecOf(reflect.TypeFor[time.Time]()).how)
	assert.Equal(t, asStruct, codecOf(reflect.TypeFor[AgentToolUseEvent]()).how)
	assert.Equal(t, asStringOr, codecOf(reflect.TypeFor[ContentBlocks]()).how)
}
