package qoder

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecodeEvent checks that decodeEvent never panics, never returns nil,
// always keeps the input as Raw, and that its fast path decodes
// exactly what encoding/json does whenever it accepts an input.
func FuzzDecodeEvent(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		f.Add(name, data)
		f.Add("", data)
	}
	for _, seed := range []struct{ name, data string }{
		{"", `{"type":"user.message","content":"legacy \"string\" content\u00e9"}`},
		{"", `{"id":"evt_1","type":"agent.message","data":{"content":[{"type":"text","text":"wrapped"}]}}`},
		{"", `{"type":"agent.tool_use","tool_name":"Bash","tool_input":{"command":"ls"},"requires_confirmation":true}`},
		{"", `{"type":"agent.tool_result","output":"55"}`},
		{"", `{"type":"session.status_idle","stop_reason":"end_turn","status":"idle"}`},
		{"message", `{"type":"agent.message","content":[{"type":"text","text":"\ud83d\ude00 \ud83d x"}],"Content":null}`},
		{"agent.message", `{"content":[{"type":"text","text":"a"}],"content":[{"type":"image"}]}`},
		{"event_delta", `{"delta":{"content":{"text":"He","type":"text"},"index":0,"type":"content_delta"},"event_id":"evt_X","type":"event_delta"}`},
		{"", `{"type":"span.model_request_end","model_usage":{"credits":1e400}}`},
		{"", `{"type":"span.outcome_evaluation_end","iteration":99999999999999999999}`},
		{"heartbeat", `{}`},
		{"", ``},
		{"", `nul`},
		{"", `{"type":"agent.message","content":[{"type":"text","text":"x"}]}   `},
	} {
		f.Add(seed.name, []byte(seed.data))
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		orig := bytes.Clone(data)
		ev := decodeEvent(name, data)
		if ev == nil {
			t.Fatal("decodeEvent returned nil")
		}
		if !bytes.Equal(ev.Raw(), orig) {
			t.Fatalf("Raw() = %q, want %q", ev.Raw(), orig)
		}
		if !bytes.Equal(data, orig) {
			t.Fatal("decodeEvent modified its input")
		}
		_ = ev.EventID()
		typ := name
		if typ == "message" {
			typ = ""
		}
		if u, ok := ev.(*UnknownEvent); ok {
			if !bytes.Equal(u.Data, orig) {
				t.Fatalf("Data = %q, want %q", u.Data, orig)
			}
			if _, known := eventKinds[u.Type]; known && u.Err == nil {
				t.Fatalf("known type %q decoded as unknown without an error", u.Type)
			}
			if u.Err != nil && !strings.HasPrefix(u.Err.Error(), "qoder: decode ") {
				t.Fatalf("error %q lacks the qoder prefix", u.Err)
			}
			return
		}
		if typ == "" {
			typ, _ = peekType(data)
		}
		if ev.EventType() != typ {
			t.Fatalf("EventType() = %q, want %q", ev.EventType(), typ)
		}
		assertFastMatchesSlow(t, typ, data)
	})
}
