package qoder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
)

// Secret is a value that must not leak: a credential's token, access
// token, secret value or client secret on the way out, a work item's
// secret on the way in. It prints as "[redacted]" under every fmt verb,
// logs as "[redacted]" through slog and marshals to JSON as "[redacted]":
// the SDK reads it to put it in the body of the request that sets it, and
// [Secret.Reveal] gives it to code that must hand it on. Make one with
// [NewSecret]; the zero Secret is empty. A Secret decoded from JSON holds
// the string it was given.
type Secret struct {
	// p points at the value, so that printing a struct that holds a Secret
	// by reflection (where fmt calls no method) shows an address.
	p *string
}

// NewSecret returns a Secret holding value.
func NewSecret(value string) Secret {
	if value == "" {
		return Secret{}
	}
	return Secret{&value}
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.p == nil || *s.p == "" }

// Reveal returns the value. Call it only where the value must go (a
// header of the request that uses it, an environment variable of the
// process that needs it), never to print or log it.
func (s Secret) Reveal() string { return s.reveal() }

// reveal returns the value, for the request body.
func (s Secret) reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// UnmarshalJSON takes a JSON string (or null, which leaves s empty) as the
// secret's value.
func (s *Secret) UnmarshalJSON(data []byte) error {
	var v *string
	if err := json.Unmarshal(data, &v); err != nil {
		return errors.New("qoder: a secret must be a JSON string") // json's error could quote the value
	}
	if v == nil || *v == "" {
		*s = Secret{}
		return nil
	}
	*s = Secret{v}
	return nil
}

// String returns "[redacted]".
func (Secret) String() string { return redactedText }

// GoString returns "[redacted]".
func (Secret) GoString() string { return redactedText }

// Format writes "[redacted]" whatever the verb.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redactedText) }

// LogValue logs "[redacted]".
func (Secret) LogValue() slog.Value { return slog.StringValue(redactedText) }

// MarshalJSON encodes "[redacted]"; the SDK sends the value itself.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redactedText + `"`), nil }

// echoedSecretKeys are the JSON members that hold a credential's secret in
// a request: the token of static_bearer, the secret_value of
// environment_variable, the access_token, refresh_token and client_secret
// of mcp_oauth (and the access_token of the legacy flat shape).
var echoedSecretKeys = []string{"token", "secret_value", "access_token", "refresh_token", "client_secret"}

// redactEchoedSecrets returns data with the value of every member named in
// echoedSecretKeys, at any depth, replaced by "[redacted]". The API never
// returns a secret; this keeps a server that echoes one from putting it in
// a resource's Raw. data is returned as it is when it holds no such member
// (the usual case) and when it is not valid JSON; otherwise it is written
// again, with each object's members in sorted order.
func redactEchoedSecrets(data []byte) []byte {
	if !mayHoldSecretKey(data) {
		return data
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return data
	}
	if !redactSecretMembers(v) {
		return data
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return data
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}

// mayHoldSecretKey reports whether data may have a member named in
// echoedSecretKeys: it names one, or it has an escape that could spell one.
// The bare name is looked for, so that a name inside a string member (the
// body of a token endpoint's answer in a validation) is found too.
func mayHoldSecretKey(data []byte) bool {
	if bytes.Contains(data, []byte(`\u`)) {
		return true
	}
	for _, k := range echoedSecretKeys {
		if bytes.Contains(data, []byte(k)) {
			return true
		}
	}
	return false
}

// redactSecretMembers replaces, in place, the non-null values of the
// members named in echoedSecretKeys, and reports whether it replaced any.
func redactSecretMembers(v any) bool {
	changed := false
	switch v := v.(type) {
	case map[string]any:
		for k, member := range v {
			if member != nil && slices.Contains(echoedSecretKeys, k) {
				v[k] = redactedText
				changed = true
				continue
			}
			if text, ok := member.(string); ok {
				if clean := redactSecretText(text); clean != text {
					v[k] = clean
					changed = true
				}
				continue
			}
			changed = redactSecretMembers(member) || changed
		}
	case []any:
		for _, item := range v {
			changed = redactSecretMembers(item) || changed
		}
	}
	return changed
}

// redactSecretText returns text with the value of every secret named in
// echoedSecretKeys replaced by "[redacted]", where text is an HTTP body
// quoted as a string, perhaps cut short: a JSON member (`"access_token":
// "…"`, up to its closing quote or the end of text) or a form field
// (`access_token=…`, up to the next & or the end). It returns text itself
// when there is nothing to replace.
func redactSecretText(text string) string {
	if !mayHoldSecretKey([]byte(text)) {
		return text
	}
	var b strings.Builder
	i, done := 0, 0
	for i < len(text) {
		start, end := secretValueAt(text, i)
		if start < 0 {
			i++
			continue
		}
		b.WriteString(text[done:start])
		b.WriteString(redactedText)
		done, i = end, end
	}
	if done == 0 {
		return text
	}
	b.WriteString(text[done:])
	return b.String()
}

// secretValueAt reports where the value of a secret named at text[i:]
// starts and ends, or -1 when no secret's name starts at i.
func secretValueAt(text string, i int) (start, end int) {
	for _, k := range echoedSecretKeys {
		switch {
		case strings.HasPrefix(text[i:], `"`+k+`"`):
			j := skipSpace(text, i+len(k)+2)
			if j >= len(text) || text[j] != ':' {
				continue
			}
			j = skipSpace(text, j+1)
			if j >= len(text) || text[j] != '"' {
				continue
			}
			end := j + 1
			for end < len(text) && text[end] != '"' {
				if text[end] == '\\' {
					end++
				}
				end++
			}
			return j + 1, min(end, len(text))
		case strings.HasPrefix(text[i:], k+"=") && (i == 0 || text[i-1] == '&' || text[i-1] == '?'):
			start := i + len(k) + 1
			end := strings.IndexByte(text[start:], '&')
			if end < 0 {
				return start, len(text)
			}
			return start, start + end
		}
	}
	return -1, -1
}

// skipSpace returns the index of the first byte at or after i in text that
// is not JSON white space.
func skipSpace(text string, i int) int {
	for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
		i++
	}
	return i
}
