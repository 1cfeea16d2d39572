package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validityCases are documents json.Valid accepts (valid) or rejects.
var validityCases = []struct {
	name, doc string
	valid     bool
}{
	{"object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, true},
	{"white space everywhere", " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } }\n ", true},
	{"empty containers", `[{},[],""]`, true},
	{"scalars at the top", `"s"`, true},
	{"numbers", `[0,-0,1,-12,1.5,-0.25,1e3,1E+3,1e-3,12.5e10]`, true},
	{"escapes", `"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"`, true},
	{"invalid UTF-8 is allowed", "\"\xff\xfe\"", true},
	{"unpaired surrogate is allowed", `"\ud83d"`, true},
	{"DEL is allowed", "\"\x7f\"", true},
	{"duplicate keys", `{"a":1,"a":2}`, true},

	{"empty", ``, false},
	{"only space", `   `, false},
	{"two values", `1 2`, false},
	{"trailing garbage", `{"a":1} x`, false},
	{"truncated object", `{"a":1`, false},
	{"truncated string", `"abc`, false},
	{"truncated key", `{"a`, false},
	{"missing colon", `{"a" 1}`, false},
	{"missing comma", `{"a":1 "b":2}`, false},
	{"missing element comma", `[1 2]`, false},
	{"leading comma", `[,1]`, false},
	{"trailing comma in array", `[1,]`, false},
	{"trailing comma in object", `{"a":1,}`, false},
	{"empty member", `{,}`, false},
	{"key not a string", `{1:2}`, false},
	{"mismatched brackets", `[1}`, false},
	{"mismatched braces", `{"a":1]`, false},
	{"leading zero", `01`, false},
	{"lone minus", `-`, false},
	{"minus letter", `-a`, false},
	{"fraction without digits", `1.`, false},
	{"exponent without digits", `1e`, false},
	{"exponent sign without digits", `1e+`, false},
	{"plus sign", `+1`, false},
	{"leading dot", `.5`, false},
	{"hex", `0x10`, false},
	{"NaN", `NaN`, false},
	{"bad literal", `tru`, false},
	{"literal with tail", `nulll`, false},
	{"capitalised literal", `True`, false},
	{"control character in string", "\"a\nb\"", false},
	{"NUL in string", "\"a\x00b\"", false},
	{"bad escape", `"\x"`, false},
	{"single quote escape", `"\'"`, false},
	{"short unicode escape", `"\u12"`, false},
	{"non-hex unicode escape", `"\u12g4"`, false},
	{"backslash at the end", `"\`, false},
	{"single-quoted string", `'a'`, false},
	{"bare word", `hello`, false},
	{"byte order mark", "\xef\xbb\xbf{}", false},
	{"vertical tab is not space", "\v{}", false},
}

func TestValid(t *testing.T) {
	t.Parallel()
	for _, tt := range validityCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.valid, json.Valid([]byte(tt.doc)), "the case is wrong about encoding/json")
			assert.Equal(t, tt.valid, Valid([]byte(tt.doc)))
			s := New([]byte(tt.doc))
			_, ok := s.Skip()
			ok = ok && s.End()
			assert.Equal(t, tt.valid, ok)
			if !tt.valid {
				var se *SyntaxError
				require.ErrorAs(t, s.Err(), &se)
				assert.Contains(t, se.Error(), "jsonscan: ")
			}
		})
	}
}

func TestValid_depth(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		depth int
		valid bool
	}{{MaxDepth, true}, {MaxDepth + 1, false}} {
		for _, open := range []string{"[", `{"a":`} {
			closer := map[string]string{"[": "]", `{"a":`: "}"}[open]
			doc := []byte(strings.Repeat(open, tt.depth) + "1" + strings.Repeat(closer, tt.depth))
			require.Equal(t, tt.valid, json.Valid(doc), "depth %d", tt.depth)
			assert.Equal(t, tt.valid, Valid(doc), "depth %d %s", tt.depth, open)
		}
	}
}

func TestScanner_reads(t *testing.T) {
	t.Parallel()
	s := New([]byte(` {"s":"a\"b", "n":-1.5e3, "t":true, "f":false, "z":null, "o":{"k":[1,"x"]}, "e":[]} `))
	require.True(t, s.BeginObject())

	key, ok := s.ReadKey()
	require.True(t, ok)
	assert.Equal(t, "s", string(key))
	assert.Equal(t, String, s.Peek())
	raw, ok := s.ReadString()
	require.True(t, ok)
	assert.Equal(t, `a\"b`, string(raw))
	str, ok := Unquote(raw)
	require.True(t, ok)
	assert.Equal(t, `a"b`, str)

	key, _ = s.ReadKey()
	assert.Equal(t, "n", string(key))
	assert.Equal(t, Number, s.Peek())
	num, ok := s.ReadNumber()
	require.True(t, ok)
	assert.Equal(t, "-1.5e3", string(num))

	key, _ = s.ReadKey()
	assert.Equal(t, "t", string(key))
	assert.Equal(t, Bool, s.Peek())
	b, ok := s.ReadBool()
	assert.True(t, b)
	assert.True(t, ok)

	key, _ = s.ReadKey()
	assert.Equal(t, "f", string(key))
	b, ok = s.ReadBool()
	assert.False(t, b)
	assert.True(t, ok)

	key, _ = s.ReadKey()
	assert.Equal(t, "z", string(key))
	assert.Equal(t, Null, s.Peek())
	assert.True(t, s.ReadNull())

	key, _ = s.ReadKey()
	assert.Equal(t, "o", string(key))
	assert.Equal(t, Object, s.Peek())
	v, ok := s.Skip()
	require.True(t, ok)
	assert.Equal(t, `{"k":[1,"x"]}`, string(v))

	key, _ = s.ReadKey()
	assert.Equal(t, "e", string(key))
	assert.Equal(t, Array, s.Peek())
	require.True(t, s.BeginArray())
	assert.False(t, s.NextElement(), "empty array")

	_, ok = s.ReadKey()
	assert.False(t, ok, "end of object")
	assert.NoError(t, s.Err())
	assert.True(t, s.End())
	assert.Equal(t, Invalid, s.Peek())
}

func TestScanner_wrongKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		read func(s *Scanner) bool
	}{
		{"string as number", `"1"`, func(s *Scanner) bool { _, ok := s.ReadNumber(); return ok }},
		{"number as string", `1`, func(s *Scanner) bool { _, ok := s.ReadString(); return ok }},
		{"null as bool", `null`, func(s *Scanner) bool { _, ok := s.ReadBool(); return ok }},
		{"array as object", `[]`, (*Scanner).BeginObject},
		{"object as array", `{}`, (*Scanner).BeginArray},
		{"bool as null", `true`, (*Scanner).ReadNull},
		{"end of input", ``, (*Scanner).ReadNull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New([]byte(tt.doc))
			assert.False(t, tt.read(&s))
			require.Error(t, s.Err())
			assert.False(t, s.End(), "errors are sticky")
			assert.Equal(t, Invalid, s.Peek(), "errors are sticky")
		})
	}
}

func TestUnquote(t *testing.T) {
	t.Parallel()
	for _, q := range []string{
		`""`, `"plain"`, `"tab\tnew\nline"`, `"quote\" slash\/ back\\"`, `"\b\f\r"`,
		`"\u00e9\u4e2d"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\ude00"`, `"\ud83d\u0041"`,
		"\"\xff\xfe invalid utf8\"", "\"caf\xc3\xa9\"", `"\uD83D\uDE00 upper"`,
		"\"mixed \xe4\xb8\xad and \\u00e9 and \xff\"",
	} {
		var want string
		require.NoError(t, json.Unmarshal([]byte(q), &want), q)
		s := New([]byte(q))
		raw, ok := s.ReadString()
		require.True(t, ok, q)
		got, ok := Unquote(raw)
		assert.True(t, ok, q)
		assert.Equal(t, want, got, q)
	}
	for _, bad := range []string{`\`, `\x`, `\u12`, `\u12z4`} {
		_, ok := Unquote([]byte(bad))
		assert.False(t, ok, bad)
	}
}

// walk reads the next value into the shape json.Decoder.UseNumber gives.
func walk(s *Scanner) (any, bool) {
	switch s.Peek() {
	case Null:
		return nil, s.ReadNull()
	case Bool:
		return s.ReadBool()
	case Number:
		n, ok := s.ReadNumber()
		return json.Number(n), ok
	case String:
		raw, ok := s.ReadString()
		if !ok {
			return nil, false
		}
		return Unquote(raw)
	case Object:
		if !s.BeginObject() {
			return nil, false
		}
		m := map[string]any{}
		for {
			raw, more := s.ReadKey()
			if !more {
				return m, s.Err() == nil
			}
			key, ok := Unquote(raw)
			if !ok {
				return nil, false
			}
			if m[key], ok = walk(s); !ok {
				return nil, false
			}
		}
	case Array:
		if !s.BeginArray() {
			return nil, false
		}
		a := []any{}
		for s.NextElement() {
			v, ok := walk(s)
			if !ok {
				return nil, false
			}
			a = append(a, v)
		}
		return a, s.Err() == nil
	}
	_, ok := s.Skip()
	return nil, ok
}

// FuzzScanner checks that the Scanner accepts exactly what json.Valid
// accepts, that what it reads is what encoding/json decodes, and that Skip
// returns each value as written.
func FuzzScanner(f *testing.F) {
	for _, tt := range validityCases {
		f.Add([]byte(tt.doc))
	}
	f.Add([]byte(`{"id":"evt_1","type":"agent.message","content":[{"type":"text","text":"h\u00e9llo"}],"processed_at":"2026-05-18T03:40:55Z"}`))
	f.Add([]byte(`{"a":{"b":{"c":[[[]]]}},"a":1e400,"\u0041":-0.0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		valid := json.Valid(data)
		if got := Valid(data); got != valid {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", data, got, valid)
		}
		s := New(data)
		got, ok := walk(&s)
		ok = ok && s.End()
		if ok != valid {
			t.Fatalf("walk(%q) ok = %v, json.Valid says %v (err %v)", data, ok, valid, s.Err())
		}
		if !valid {
			if s.Err() == nil {
				t.Fatalf("walk(%q) failed without an error", data)
			}
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json cannot decode valid %q: %v", data, err)
		}
		assert.Equal(t, want, got, "%q", data)

		s = New(data)
		raw, ok := s.Skip()
		if !ok || !s.End() {
			t.Fatalf("Skip(%q) failed: %v", data, s.Err())
		}
		if want := bytes.TrimLeft(bytes.TrimRight(data, " \t\r\n"), " \t\r\n"); !bytes.Equal(raw, want) {
			t.Fatalf("Skip(%q) = %q, want %q", data, raw, want)
		}
	})
}

// BenchmarkSkip walks an event of a typical turn: a message with ~450 bytes
// of text.
func BenchmarkSkip(b *testing.B) {
	doc := []byte(`{"id":"evt_019e3bb2c15370000000000000000305","type":"agent.message","content":[{"type":"text","text":"` +
		strings.Repeat(`All stream tests pass; the reader resumed after every drop. `, 8) +
		`\"decoder.\""}],"processed_at":"2026-09-01T12:00:08.000005Z"}`)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if !Valid(doc) {
			b.Fatal("invalid")
		}
	}
}
