package qoder

import (
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/go-querystring/query"
)

// queryTimeLayout is how every time in a query is written: RFC 3339 with
// as many fractional digits as it has (up to nanoseconds), in UTC, as the
// server writes its own timestamps.
const queryTimeLayout = time.RFC3339Nano

// encodeQuery encodes list params from their url tags (go-querystring),
// then rewrites every non-zero time.Time or *time.Time field in
// queryTimeLayout, in UTC. go-querystring would write whole seconds and
// keep the caller's offset, which loses the sub-seconds of a bound such as
// created_at[gt] set from a server timestamp. Any params type gets this by
// declaring a time.Time field with a url tag; nothing else is needed. A
// url.Values (the params of a Client.Do call) is copied as it is.
func encodeQuery(q any) (url.Values, error) {
	if v, ok := q.(url.Values); ok { // from Client.Do
		values := make(url.Values, len(v))
		for k, vs := range v {
			values[k] = slices.Clone(vs)
		}
		return values, nil
	}
	values, err := query.Values(q)
	if err != nil {
		return nil, err
	}
	v := reflect.ValueOf(q)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return values, nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return values, nil
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("url"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		if tm, ok := fv.Interface().(time.Time); ok && !tm.IsZero() {
			values.Set(name, tm.UTC().Format(queryTimeLayout))
		}
	}
	return values, nil
}
