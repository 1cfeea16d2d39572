// Package jsonscan reads JSON text in place.
//
// A [Scanner] walks one document value by value and checks the syntax as it
// goes, as strictly as encoding/json does (the same grammar, the same
// nesting limit), without building anything: the caller reads each value
// with the method for its kind, or skips it. Whatever a walk that reaches
// [Scanner.End] has read is valid JSON, so a decoder on top of it needs no
// separate validation pass. The qoder event decoder is that decoder.
//
// Reading an object:
//
//	if !s.BeginObject() { ... }
//	for {
//		key, ok := s.ReadKey() // the key as written, escapes and all
//		if !ok {
//			break // the closing brace, or a syntax error: see Err
//		}
//		// read or skip the member's value
//	}
//
// Arrays are the same with [Scanner.BeginArray] and [Scanner.NextElement].
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays a document may have,
// the limit of encoding/json.
const MaxDepth = 10000

// Kind is the kind of a JSON value, told by its first byte.
type Kind byte

// The kinds of JSON values.
const (
	// Invalid stands for the end of the input, a syntax error already met,
	// or a byte no value starts with.
	Invalid Kind = iota
	// Null is null.
	Null
	// Bool is true or false.
	Bool
	// Number is a number.
	Number
	// String is a string.
	String
	// Object is an object.
	Object
	// Array is an array.
	Array
)

// SyntaxError is the first error a Scanner met: invalid JSON, or a read of
// one kind of value where another kind stands.
type SyntaxError struct {
	Offset int // of the offending byte
	msg    string
}

// Error returns the message and the offset.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("jsonscan: %s at offset %d", e.msg, e.Offset)
}

// Scanner reads one JSON document. The zero Scanner reads an empty (hence
// invalid) document; use [New]. A syntax error is sticky: every read after it
// fails, and [Scanner.Err] returns it.
type Scanner struct {
	data  []byte
	pos   int
	depth int
	// first is set by BeginObject and BeginArray until the first member or
	// element: only then is a closing bracket allowed without a comma.
	// Nested containers are always read to their end before the enclosing
	// one continues, so one flag serves every level.
	first bool
	err   *SyntaxError
}

// New returns a Scanner positioned before the document in data.
func New(data []byte) Scanner { return Scanner{data: data} }

// Err returns the syntax error met so far, or nil.
func (s *Scanner) Err() error {
	if s.err == nil {
		return nil
	}
	return s.err
}

// End reports whether the document was read without error and nothing but
// white space follows it.
func (s *Scanner) End() bool {
	if s.err != nil {
		return false
	}
	if s.skipSpace(); s.pos < len(s.data) {
		return s.fail("invalid character after top-level value")
	}
	return true
}

func (s *Scanner) fail(msg string) bool {
	if s.err == nil {
		s.err = &SyntaxError{Offset: s.pos, msg: msg}
	}
	return false
}

func (s *Scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// Peek skips white space and returns the kind of the value that starts next.
func (s *Scanner) Peek() Kind {
	if s.err != nil {
		return Invalid
	}
	s.skipSpace()
	if s.pos >= len(s.data) {
		return Invalid
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		return String
	case c == '{':
		return Object
	case c == '[':
		return Array
	case c == 't' || c == 'f':
		return Bool
	case c == 'n':
		return Null
	case c == '-' || '0' <= c && c <= '9':
		return Number
	}
	return Invalid
}

// expect reads the value of kind k up to its first byte.
func (s *Scanner) expect(k Kind) bool {
	switch got := s.Peek(); {
	case got == k:
		return true
	case s.err != nil:
		return false
	case s.pos >= len(s.data):
		return s.fail("unexpected end of JSON input")
	case got == Invalid:
		return s.fail("invalid character looking for beginning of value")
	}
	return s.fail("value of another kind than the one read")
}

func (s *Scanner) literal(word string) bool {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.fail("invalid literal")
	}
	s.pos += len(word)
	return true
}

// ReadNull reads null.
func (s *Scanner) ReadNull() bool { return s.expect(Null) && s.literal("null") }

// ReadBool reads true or false.
func (s *Scanner) ReadBool() (v, ok bool) {
	if !s.expect(Bool) {
		return false, false
	}
	if s.data[s.pos] == 't' {
		return true, s.literal("true")
	}
	return false, s.literal("false")
}

// ReadNumber reads a number and returns it as written.
func (s *Scanner) ReadNumber() ([]byte, bool) {
	if !s.expect(Number) {
		return nil, false
	}
	d, start := s.data, s.pos
	i := start
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		i = digits(d, i)
	default:
		s.pos = i
		return nil, s.fail("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		if j := digits(d, i+1); j > i+1 {
			i = j
		} else {
			s.pos = j
			return nil, s.fail("invalid number")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if j := digits(d, i); j > i {
			i = j
		} else {
			s.pos = j
			return nil, s.fail("invalid number")
		}
	}
	s.pos = i
	return d[start:i], true
}

func digits(d []byte, i int) int {
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		i++
	}
	return i
}

// plainString marks the bytes that stand for themselves inside a string:
// not the quote, the backslash or a control character.
var plainString = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plain8 reports whether the 8 bytes of x are all plainString bytes. A byte
// of x^q is zero where x holds a quote; (y-ones)&^y has the high bit set in
// some byte exactly when some byte of y is zero (or, with ones*n, below n).
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ ones*'"'
	b := x ^ ones*'\\'
	return ((q-ones)&^q|(b-ones)&^b|(x-ones*0x20)&^x)&highs == 0
}

// ReadString reads a string and returns the bytes between its quotes, escapes
// still escaped; [Unquote] decodes them.
func (s *Scanner) ReadString() ([]byte, bool) {
	if !s.expect(String) {
		return nil, false
	}
	d := s.data
	start := s.pos + 1
	for i := start; i < len(d); {
		for i+8 <= len(d) && plain8(binary.LittleEndian.Uint64(d[i:])) {
			i += 8
		}
		if i >= len(d) {
			break
		}
		c := d[i]
		switch {
		case plainString[c]:
			i++
		case c == '"':
			s.pos = i + 1
			return d[start:i], true
		case c == '\\':
			n := escapeLen(d[i:])
			if n == 0 {
				s.pos = i
				return nil, s.fail("invalid escape in string")
			}
			i += n
		default:
			s.pos = i
			return nil, s.fail("invalid character in string")
		}
	}
	s.pos = len(d)
	return nil, s.fail("unexpected end of JSON input")
}

// escapeLen returns the length of the valid escape at the start of b, or 0.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if hex4(b) >= 0 {
			return 6
		}
	}
	return 0
}

// BeginObject reads the opening brace of an object.
func (s *Scanner) BeginObject() bool { return s.open(Object) }

// BeginArray reads the opening bracket of an array.
func (s *Scanner) BeginArray() bool { return s.open(Array) }

func (s *Scanner) open(k Kind) bool {
	if !s.expect(k) {
		return false
	}
	if s.depth++; s.depth > MaxDepth {
		return s.fail("exceeded max depth")
	}
	s.pos++
	s.first = true
	return true
}

// ReadKey reads the key of the next member of the object being read and the
// colon after it, and returns the key as written, between its quotes. It
// returns false when the object ends (its closing brace is read) and on a
// syntax error.
func (s *Scanner) ReadKey() ([]byte, bool) {
	if !s.next('}') {
		return nil, false
	}
	if s.Peek() != String {
		return nil, s.fail("expected the string key of an object member")
	}
	key, ok := s.ReadString()
	if !ok {
		return nil, false
	}
	if s.skipSpace(); s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return nil, s.fail("expected colon after object key")
	}
	s.pos++
	return key, true
}

// NextElement reports whether another element of the array being read
// follows; read it next. It returns false when the array ends (its closing
// bracket is read) and on a syntax error.
func (s *Scanner) NextElement() bool { return s.next(']') }

// next reads up to the next member or element of a container closed by
// closer: a comma unless it is the first, or the closer.
func (s *Scanner) next(closer byte) bool {
	if s.err != nil {
		return false
	}
	s.skipSpace()
	if s.pos >= len(s.data) {
		return s.fail("unexpected end of JSON input")
	}
	first := s.first
	s.first = false
	switch c := s.data[s.pos]; {
	case c == closer:
		s.pos++
		s.depth--
		return false
	case !first && c == ',':
		s.pos++
		return true
	case first:
		return true
	}
	return s.fail("expected comma or closing bracket")
}

// Skip reads the next value, whatever its kind, and returns it as written.
func (s *Scanner) Skip() ([]byte, bool) {
	s.skipSpace()
	start := s.pos
	if !s.skip() {
		return nil, false
	}
	return s.data[start:s.pos], true
}

func (s *Scanner) skip() bool {
	var ok bool
	switch s.Peek() {
	case Null:
		ok = s.ReadNull()
	case Bool:
		_, ok = s.ReadBool()
	case Number:
		_, ok = s.ReadNumber()
	case String:
		_, ok = s.ReadString()
	case Object:
		if !s.BeginObject() {
			return false
		}
		for {
			if _, more := s.ReadKey(); !more {
				return s.err == nil
			}
			if !s.skip() {
				return false
			}
		}
	case Array:
		if !s.BeginArray() {
			return false
		}
		for s.NextElement() {
			if !s.skip() {
				return false
			}
		}
		return s.err == nil
	default:
		return s.expect(Null) // fails with the right message
	}
	return ok
}

// Valid reports whether data is one valid JSON document, as json.Valid does.
func Valid(data []byte) bool {
	s := New(data)
	_, ok := s.Skip()
	return ok && s.End()
}

// Unquote decodes the bytes between the quotes of a JSON string, as
// [Scanner.ReadString] returns them, the way encoding/json does: invalid
// UTF-8 and unpaired surrogates become U+FFFD. It returns false for an
// invalid escape.
func Unquote(raw []byte) (string, bool) {
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw), true
	}
	var b strings.Builder
	b.Grow(len(raw) + 8)
	for r := 0; r < len(raw); {
		c := raw[r]
		switch {
		case c == '\\':
			if r+1 >= len(raw) {
				return "", false
			}
			switch raw[r+1] {
			case '"', '\\', '/', '\'':
				b.WriteByte(raw[r+1])
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
				rr := hex4(raw[r:])
				if rr < 0 {
					return "", false
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, hex4(raw[r:])); dec != utf8.RuneError {
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
		case c < utf8.RuneSelf:
			// Copy the run of plain ASCII up to the next escape or
			// non-ASCII byte in one go.
			end := r + 1
			for end < len(raw) && raw[end] != '\\' && raw[end] < utf8.RuneSelf {
				end++
			}
			b.Write(raw[r:end])
			r = end
		default:
			rr, size := utf8.DecodeRune(raw[r:])
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
