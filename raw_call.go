package qoder

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// Do calls an endpoint this SDK version does not cover yet, through the
// request path every method takes: the token, the client's and the call's
// headers, an Idempotency-Key on a POST, retries, redirects, middlewares,
// the request timeout, *APIError for an error status, debug logs and
// redaction. A GET of a new resource:
//
//	var widget struct {
//		ID   string `json:"id"`
//		Name string `json:"name"`
//	}
//	err := client.Do(ctx, http.MethodGet, "widgets/"+url.PathEscape(id), nil, &widget)
//
// path is the endpoint's path relative to the base URL, as the API
// reference writes it ("/widgets/{widget_id}", the leading slash is
// optional), with its ids filled in and escaped by the caller. It may not
// hold a query (pass params or [WithQueryParam]), a host or a "." or ".."
// segment.
//
// params are the query parameters of a GET, HEAD, DELETE or OPTIONS: a
// struct with url tags, as the list params of this package, or a
// url.Values. For any other method they are the JSON body: any value
// encoding/json encodes (a json.RawMessage is sent as it is). nil sends
// none; on a POST, PUT or PATCH, [WithBodyField] options then make the
// body.
//
// out receives the decoded JSON response: a pointer (a *json.RawMessage
// takes the body as it is), or nil to discard it. A 2xx response without a
// body leaves it as it is.
func (c *Client) Do(ctx context.Context, method, path string, params, out any, opts ...RequestOption) error {
	method = strings.ToUpper(strings.TrimSpace(method))
	if method == "" {
		return errInvalidParams("Do: the method is required")
	}
	path, err := rawPath(path)
	if err != nil {
		return errInvalidParams("Do %s %q: %v", method, path, err)
	}
	if out != nil {
		if v := reflect.ValueOf(out); v.Kind() != reflect.Pointer || v.IsNil() {
			return errInvalidParams("Do %s /%s: out must be a non-nil pointer or nil, not %T", method, path, out)
		}
	}
	var query, body any
	opts = append(slices.Clip(opts), acceptEmptyBody)
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions:
		query = params
	default:
		body = params
		if params == nil {
			opts = append(opts, fieldsMakeBody)
		}
	}
	return c.do(ctx, method, literalPath(path), query, body, out, opts...)
}

// fieldsMakeBody lets body field options make the JSON body of a call that
// has none (see Client.Do).
func fieldsMakeBody(r *requestConfig) { r.fieldsMakeBody = true }

// rawPath checks the path of a Client.Do call and returns it without its
// leading slash.
func rawPath(path string) (string, error) {
	p := strings.TrimPrefix(path, "/")
	switch {
	case strings.TrimSpace(p) == "":
		return path, fmt.Errorf("the path is required")
	case strings.HasPrefix(p, "/") || strings.Contains(p, "://"):
		return path, fmt.Errorf("the path must be relative to the base URL, without a host")
	case strings.ContainsAny(p, "?#"):
		return path, fmt.Errorf("the path may not hold a query or a fragment: pass the query as params or WithQueryParam")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return path, fmt.Errorf("the path may not hold a %q segment", seg)
		}
	}
	return p, nil
}
