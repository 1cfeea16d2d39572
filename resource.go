package qoder

import "encoding/json"

// resourceJSON is embedded in every resource struct the API returns
// (Agent, Environment, Session, ...) and gives it a Raw method: the
// resource's JSON exactly as received, so that a field the SDK does not
// type yet can be read today:
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
	raw json.RawMessage
}

// Raw returns the resource's JSON as received, with the fields the SDK
// does not type; nil when the value was not decoded from a response (or is
// nested in one). Do not modify it.
func (r resourceJSON) Raw() json.RawMessage { return r.raw }

// keepRaw records data.
func (r *resourceJSON) keepRaw(data []byte) { r.raw = capped(data) }

// rawKeeper is implemented by a pointer to every struct that embeds
// resourceJSON.
type rawKeeper interface{ keepRaw(data []byte) }

// keepRawJSON gives out (a pointer to a decoded value) its JSON, data, when
// it keeps one.
func keepRawJSON(out any, data []byte) {
	if k, ok := out.(rawKeeper); ok {
		k.keepRaw(data)
	}
}
