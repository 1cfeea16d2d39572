package qoder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// bodyField is one change to the top-level fields of a call's JSON body,
// made by WithBodyField (set name to value) or WithoutBodyField (remove).
type bodyField struct {
	name   string
	value  any
	remove bool
}

// jsonMember is one member of a JSON object: its name and its value as
// encoded.
type jsonMember struct {
	name  string
	value json.RawMessage
}

// applyBodyFields applies fields, in order, to body, the encoded JSON
// object of a call, and returns the new encoding. The members it does not
// touch keep their bytes and their order; a set field that is new goes
// last. A body that is not a JSON object is an error.
func applyBodyFields(body []byte, fields []bodyField) ([]byte, error) {
	members, err := objectMembers(body)
	if err != nil {
		return nil, err
	}
	for _, f := range fields {
		i := -1
		for j, m := range members {
			if m.name == f.name {
				i = j
				break
			}
		}
		switch {
		case f.remove && i >= 0:
			members = append(members[:i], members[i+1:]...)
		case f.remove:
		default:
			value, err := encodeJSON(f.value)
			if err != nil {
				return nil, fmt.Errorf("WithBodyField(%q): %w", f.name, err)
			}
			if i >= 0 {
				members[i].value = value
			} else {
				members = append(members, jsonMember{name: f.name, value: value})
			}
		}
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := encodeJSON(m.name)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// errNotAnObject is the error of body fields given for a body that is not
// a JSON object.
var errNotAnObject = errors.New("the body is not a JSON object")

// objectMembers splits the JSON object data into its members, in order.
func objectMembers(data []byte) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotAnObject
	}
	var members []jsonMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		members = append(members, jsonMember{name: name, value: value})
	}
	return members, nil
}

// encodeJSON encodes v as the client encodes every body: without HTML
// escaping and without a trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
