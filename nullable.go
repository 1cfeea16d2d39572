package qoder

import (
	"encoding/json"
	"errors"
)

// Nullable is a field of an update whose value can be set, cleared or left
// alone, for the fields the API lets an update set to null (where null is
// not the same as an empty value). Its zero value leaves the field alone
// (it is not sent); [Set] sends a value and [Null] sends null:
//
//	client.Environments.Update(ctx, id, &qoder.EnvironmentUpdateParams{
//		Description: qoder.Null[string](), // "description": null
//	})
//
// A params field of this type must be tagged omitzero, such as
// `json:"description,omitzero"`; an unset one without the tag fails to
// encode rather than send a value nobody chose.
type Nullable[T any] struct {
	value T
	state nullableState
}

// nullableState says what a Nullable sends.
type nullableState uint8

const (
	nullableUnset nullableState = iota // not sent
	nullableValue                      // sent as its value
	nullableNull                       // sent as null
)

// Set returns a Nullable that sends v.
func Set[T any](v T) Nullable[T] { return Nullable[T]{value: v, state: nullableValue} }

// Null returns a Nullable that sends null, clearing the field.
func Null[T any]() Nullable[T] { return Nullable[T]{state: nullableNull} }

// Get returns the value and true when n was made with Set.
func (n Nullable[T]) Get() (T, bool) { return n.value, n.state == nullableValue }

// IsNull reports whether n was made with Null.
func (n Nullable[T]) IsNull() bool { return n.state == nullableNull }

// IsZero reports whether n is unset, so that omitzero leaves it out.
func (n Nullable[T]) IsZero() bool { return n.state == nullableUnset }

// errNullableUnset is the encoding error of an unset Nullable whose field
// lacks the omitzero tag.
var errNullableUnset = errors.New("qoder: an unset qoder.Nullable field must be tagged omitzero")

// MarshalJSON encodes the value, or null.
func (n Nullable[T]) MarshalJSON() ([]byte, error) {
	switch n.state {
	case nullableValue:
		return json.Marshal(n.value)
	case nullableNull:
		return []byte("null"), nil
	}
	return nil, errNullableUnset
}
