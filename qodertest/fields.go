package qodertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// object is a decoded JSON object whose values are still raw.
type object map[string]json.RawMessage

// parseBody decodes a request body that must be one JSON object.
func parseBody(body []byte) (object, *apiError) {
	if !json.Valid(body) {
		return nil, invalid("", "Request body must be valid JSON.")
	}
	return asObject(body, "", "Request body must be a JSON object.")
}

func asObject(raw json.RawMessage, param, msg string) (object, *apiError) {
	if kind(raw) != "object" {
		return nil, invalid(param, "%s", msg)
	}
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, invalid(param, "%s", msg)
	}
	return o, nil
}

// kind names the JSON type of raw: object, array, string, number, boolean
// or null ("" when raw is empty).
func kind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// article is "an" before vowels, for messages like "must be an array".
func article(kind string) string {
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// fields reads an object's fields with type checks. The first problem is
// kept in err and later reads return zero values, so handlers read every
// field and check err once.
type fields struct {
	obj    object
	prefix string // parameter path of obj, such as "events[0]"; "" at the top
	err    *apiError
}

func newFields(obj object, prefix string) *fields {
	return &fields{obj: obj, prefix: prefix}
}

// param is the full parameter path of field name.
func (f *fields) param(name string) string {
	if f.prefix == "" {
		return name
	}
	return f.prefix + "." + name
}

// fail records a problem with field name unless one is recorded already.
func (f *fields) fail(name, format string, args ...any) {
	if f.err != nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if f.prefix != "" {
		msg = f.prefix + ": " + msg
	} else if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	f.err = invalid(f.param(name), "%s", msg)
}

func (f *fields) failed() bool { return f.err != nil }

// has reports whether name is present and not null.
func (f *fields) has(name string) bool {
	raw, ok := f.obj[name]
	return ok && kind(raw) != "null"
}

// present reports whether name is present, even as null.
func (f *fields) present(name string) bool {
	_, ok := f.obj[name]
	return ok
}

// isNull reports whether name is present and null.
func (f *fields) isNull(name string) bool {
	raw, ok := f.obj[name]
	return ok && kind(raw) == "null"
}

// want returns the raw value of name if it is present, not null and of
// type want; otherwise it records a type problem (for a wrong type) and
// returns nil.
func (f *fields) want(name, want string) json.RawMessage {
	if f.err != nil || !f.has(name) {
		return nil
	}
	raw := f.obj[name]
	if k := kind(raw); k != want {
		f.fail(name, "field '%s' must be %s, not %s.", name, article(want), article(k))
		return nil
	}
	return raw
}

// require records a missing-field problem when name is absent or null.
func (f *fields) require(name string) bool {
	if f.err != nil {
		return false
	}
	if !f.has(name) {
		f.fail(name, "missing required field: %s", name)
		return false
	}
	return true
}

func (f *fields) str(name string) string {
	raw := f.want(name, "string")
	if raw == nil {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.fail(name, "field '%s' must be a valid string.", name)
	}
	return s
}

func (f *fields) reqStr(name string) string {
	if !f.require(name) {
		return ""
	}
	return f.str(name)
}

// strIn reads an optional string that must be one of allowed.
func (f *fields) strIn(name string, allowed ...string) string {
	s := f.str(name)
	if f.has(name) && f.err == nil && !slices.Contains(allowed, s) {
		f.fail(name, "field '%s' must be one of %s.", name, quoteList(allowed))
	}
	return s
}

func (f *fields) boolean(name string) bool {
	raw := f.want(name, "boolean")
	return raw != nil && string(bytes.TrimSpace(raw)) == "true"
}

func (f *fields) number(name string) float64 {
	raw := f.want(name, "number")
	if raw == nil {
		return 0
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err != nil || math.IsInf(n, 0) {
		f.fail(name, "field '%s' must be a valid number.", name)
	}
	return n
}

// integer reads an optional integer in [lo, hi].
func (f *fields) integer(name string, lo, hi int) int {
	raw := f.want(name, "number")
	if raw == nil {
		return 0
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err != nil || n != math.Trunc(n) || n < float64(lo) || n > float64(hi) {
		f.fail(name, "field '%s' must be an integer between %d and %d.", name, lo, hi)
		return 0
	}
	return int(n)
}

func (f *fields) object(name string) object {
	raw := f.want(name, "object")
	if raw == nil {
		return nil
	}
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		f.fail(name, "field '%s' must be an object.", name)
	}
	return o
}

func (f *fields) array(name string) []json.RawMessage {
	raw := f.want(name, "array")
	if raw == nil {
		return nil
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		f.fail(name, "field '%s' must be an array.", name)
	}
	if a == nil {
		a = []json.RawMessage{}
	}
	return a
}

// strings reads an optional array of strings.
func (f *fields) strings(name string) []string {
	a := f.array(name)
	if a == nil {
		return nil
	}
	out := make([]string, 0, len(a))
	for i, raw := range a {
		var s string
		if kind(raw) != "string" || json.Unmarshal(raw, &s) != nil {
			f.fail(name, "field '%s' must be an array of strings (item %d is not).", name, i)
			return nil
		}
		out = append(out, s)
	}
	return out
}

// metadata reads a metadata object: at most 16 pairs, keys of 1–64
// characters, string values of at most 512 characters. With patch, null
// values are allowed (they delete keys) and come back as nil.
func (f *fields) metadata(name string, patch bool) map[string]*string {
	o := f.object(name)
	if o == nil {
		return nil
	}
	if len(o) > 16 {
		f.fail(name, "field '%s' may hold at most 16 pairs.", name)
		return nil
	}
	out := make(map[string]*string, len(o))
	for k, raw := range o {
		if k == "" || len([]rune(k)) > 64 {
			f.fail(name, "%s keys must be 1 to 64 characters long.", name)
			return nil
		}
		if kind(raw) == "null" && patch {
			out[k] = nil
			continue
		}
		var v string
		if kind(raw) != "string" || json.Unmarshal(raw, &v) != nil {
			f.fail(name, "%s values must be strings (key '%s').", name, k)
			return nil
		}
		if len([]rune(v)) > 512 {
			f.fail(name, "%s values must be at most 512 characters (key '%s').", name, k)
			return nil
		}
		out[k] = &v
	}
	return out
}

// only records a problem for the first field not in allowed.
func (f *fields) only(allowed ...string) {
	if f.err != nil {
		return
	}
	keys := make([]string, 0, len(f.obj))
	for k := range f.obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			f.fail(k, "unknown field '%s'.", k)
			return
		}
	}
}

// maxLen records a problem when s is longer than n characters.
func (f *fields) maxLen(name, s string, lo, hi int) {
	if f.err != nil || !f.has(name) {
		return
	}
	if n := len([]rune(s)); n < lo || n > hi {
		if lo == 0 {
			f.fail(name, "field '%s' must be at most %d characters.", name, hi)
		} else {
			f.fail(name, "field '%s' must be between %d and %d characters.", name, lo, hi)
		}
	}
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "'" + s + "'"
	}
	return strings.Join(q, ", ")
}

// applyPatch applies a metadata patch to m: string values upsert, nil
// values delete.
func applyPatch(m map[string]string, patch map[string]*string) {
	for k, v := range patch {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = *v
		}
	}
}

// plain converts a metadata map read without patch semantics.
func plain(m map[string]*string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}
