package qoder

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecret_unmarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		json    string
		want    string
		wantErr bool
	}{
		{"a string", `"tok-123"`, "tok-123", false},
		{"an escaped string", `"a\"b\u00e9"`, `a"bé`, false},
		{"null", `null`, "", false},
		{"empty", `""`, "", false},
		{"a number", `987654321`, "", true},
		{"an object", `{"token":"987654321"}`, "", true},
		{"a boolean", `true`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s Secret
			err := json.Unmarshal([]byte(tt.json), &s)
			if tt.wantErr {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "987654321", "the error does not repeat the value")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.Reveal())
			assert.Equal(t, tt.want == "", s.IsZero())
		})
	}
}

func TestSecret_printsRedacted(t *testing.T) {
	t.Parallel()
	s := NewSecret("tok-123")
	holder := struct{ S Secret }{s}
	for _, out := range []string{
		fmt.Sprint(s), fmt.Sprintf("%v|%+v|%#v|%s|%q|%x", s, s, s, s, s, s),
		fmt.Sprintf("%v|%+v|%#v", holder, holder, holder),
	} {
		assert.NotContains(t, out, "tok-123")
	}
	data, err := json.Marshal(holder)
	require.NoError(t, err)
	assert.JSONEq(t, `{"S":"[redacted]"}`, string(data))
	assert.Equal(t, "tok-123", s.Reveal())
}

func TestRedactSecretText(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"nothing secret", `{"token_type":"Bearer","expires_in":3600}`, `{"token_type":"Bearer","expires_in":3600}`},
		{"json member", `{"access_token":"abc","x":1}`, `{"access_token":"[redacted]","x":1}`},
		{"json member with spaces and escapes", `{"refresh_token" :  "a\"b","token":"c"}`, `{"refresh_token" :  "[redacted]","token":"[redacted]"}`},
		{"cut inside the value", `{"access_token":"abc`, `{"access_token":"[redacted]`},
		{"cut after the name", `{"access_token":`, `{"access_token":`},
		{"not a string value", `{"token":null,"client_secret":42}`, `{"token":null,"client_secret":42}`},
		{"form body", `access_token=abc&token_type=bearer&refresh_token=def`, `access_token=[redacted]&token_type=bearer&refresh_token=[redacted]`},
		{"form field inside another name", `my_token=abc&xtoken=1`, `my_token=abc&xtoken=1`},
		{"empty", ``, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, redactSecretText(tt.in))
		})
	}
}
