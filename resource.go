package qoder

import "encoding/json"

// resourceJSON is embedded in every resource struct the API returns
// (Agent, Environment, Session, Vault, Memory, ...) and gives it a Raw
// method: the resource's JSON exactly as received, so that a field the SDK
// does not type yet can be read today:
//
//	var extra struct {
//		NewField string `json:"new_field"`
//	}
//	err := json.Unmarshal(session.Raw(), &extra)
//
// The client fills it for a single result and for every item of a
// [Page], and so for every item All yields. A resource nested in another
// (the agent snapshot of a Session) has none of its own: read it from the
// outer resource's Raw. A resource built by hand has none either.
//
// A new resource struct gets Raw by embedding resourceJSON (as its first
// field, unnamed); nothing else is needed: invoke and Page fill it. It
// holds no exported field, so it is never encoded.
type resourceJSON struct {
	// raw is a pointer so that fmt, which prints unexported fields by
	// reflection, shows an address for it rather than every byte of the
	// JSON (which may hold anything a server sent).
	raw *json.RawMessage
}

// Raw returns the resource's JSON as received, with the fields the SDK
// does not type; nil when the value was not decoded from a response (or is
// nested in one). Do not modify it.
func (r resourceJSON) Raw() json.RawMessage {
	if r.raw == nil {
		return nil
	}
	return *r.raw
}

// keepRaw records data; nil forgets it.
func (r *resourceJSON) keepRaw(data []byte) {
	if data == nil {
		r.raw = nil
		return
	}
	raw := json.RawMessage(capped(data))
	r.raw = &raw
}

// rawKeeper is implemented by a pointer to every struct that embeds
// resourceJSON.
type rawKeeper interface{ keepRaw(data []byte) }

// rawScrubber is implemented by the resources whose JSON may carry a value
// the SDK must not keep, such as a credential's secret a server echoed
// back: their Raw is the JSON with those values replaced.
type rawScrubber interface{ scrubRaw(data []byte) []byte }

// keepRawJSON gives out (a pointer to a decoded value) its JSON, data, when
// it keeps one.
func keepRawJSON(out any, data []byte) {
	k, ok := out.(rawKeeper)
	if !ok {
		return
	}
	if s, ok := out.(rawScrubber); ok {
		data = s.scrubRaw(data)
	}
	k.keepRaw(data)
}
