package qoder

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNullable(t *testing.T) {
	t.Parallel()
	type params struct {
		S Nullable[string]      `json:"s,omitzero"`
		M Nullable[Multiagent]  `json:"m,omitzero"`
		N Nullable[[]string]    `json:"n,omitzero"`
		P Nullable[map[int]int] `json:"p,omitzero"`
	}
	tests := []struct {
		name string
		in   params
		want string
	}{
		{"unset fields are left out", params{}, `{}`},
		{"null", params{S: Null[string](), M: Null[Multiagent]()}, `{"s":null,"m":null}`},
		{"empty values are values", params{S: Set(""), N: Set([]string{})}, `{"s":"","n":[]}`},
		{"values", params{S: Set("x"), P: Set(map[int]int{1: 2})}, `{"s":"x","p":{"1":2}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.in)
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
		})
	}

	v, ok := Set("x").Get()
	assert.True(t, ok)
	assert.Equal(t, "x", v)
	_, ok = Null[string]().Get()
	assert.False(t, ok)
	assert.True(t, Null[int]().IsNull())
	assert.False(t, Set(0).IsNull())
	assert.True(t, Nullable[int]{}.IsZero())

	_, err := json.Marshal(struct {
		S Nullable[string] `json:"s"`
	}{})
	assert.ErrorIs(t, err, errNullableUnset, "an unset field without omitzero must not be sent")
}
