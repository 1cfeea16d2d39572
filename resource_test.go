package qoder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResources_keepRawJSON checks that every resource keeps the JSON it
// was decoded from, so that a field the SDK does not type is readable:
// single results, page items and the items All yields alike.
func TestResources_keepRawJSON(t *testing.T) {
	t.Parallel()
	const item = `{"id":"x_1","type":"thing","future_field":{"answer":42}}`
	const page = `{"data":[` + item + `],"first_id":"x_1","last_id":"x_1","has_more":false}`
	first := func(seq func(func(rawer, error) bool)) (rawer, error) {
		var got rawer
		var err error
		seq(func(r rawer, e error) bool { got, err = r, e; return false })
		return got, err
	}
	tests := []struct {
		name string
		body string
		call func(c *Client) (rawer, error)
	}{
		{"agent get", item, func(c *Client) (rawer, error) { return c.Agents.Get(t.Context(), "a") }},
		{"agent update", item, func(c *Client) (rawer, error) {
			return c.Agents.Update(t.Context(), "a", &AgentUpdateParams{Version: 1})
		}},
		{"agent list item", page, func(c *Client) (rawer, error) {
			p, err := c.Agents.List(t.Context(), nil)
			if err != nil {
				return nil, err
			}
			return &p.Data[0], nil
		}},
		{"agent all item", page, func(c *Client) (rawer, error) {
			return first(func(yield func(rawer, error) bool) {
				for a, err := range c.Agents.All(t.Context(), nil) {
					if !yield(a, err) {
						return
					}
				}
			})
		}},
		{"agent version list item", page, func(c *Client) (rawer, error) {
			p, err := c.Agents.Versions.List(t.Context(), "a", nil)
			if err != nil {
				return nil, err
			}
			return p.Data[0], nil
		}},
		{"agent delete", item, func(c *Client) (rawer, error) { return c.Agents.Delete(t.Context(), "a") }},
		{"environment get", item, func(c *Client) (rawer, error) { return c.Environments.Get(t.Context(), "e") }},
		{"environment all item", page, func(c *Client) (rawer, error) {
			return first(func(yield func(rawer, error) bool) {
				for e, err := range c.Environments.All(t.Context(), nil) {
					if !yield(e, err) {
						return
					}
				}
			})
		}},
		{"environment delete", item, func(c *Client) (rawer, error) { return c.Environments.Delete(t.Context(), "e") }},
		{"session get", item, func(c *Client) (rawer, error) { return c.Sessions.Get(t.Context(), "s") }},
		{"session all item", page, func(c *Client) (rawer, error) {
			return first(func(yield func(rawer, error) bool) {
				for s, err := range c.Sessions.All(t.Context(), nil) {
					if !yield(s, err) {
						return
					}
				}
			})
		}},
		{"session delete", item, func(c *Client) (rawer, error) { return c.Sessions.Delete(t.Context(), "s") }},
		{"session cancel", item, func(c *Client) (rawer, error) { return c.Sessions.Cancel(t.Context(), "s") }},
		{"session resource get", item, func(c *Client) (rawer, error) { return c.Sessions.Resources.Get(t.Context(), "s", "r") }},
		{"session resource list item", page, func(c *Client) (rawer, error) {
			p, err := c.Sessions.Resources.List(t.Context(), "s", nil)
			if err != nil {
				return nil, err
			}
			return p.Data[0], nil
		}},
		{"session resource delete", item, func(c *Client) (rawer, error) { return c.Sessions.Resources.Delete(t.Context(), "s", "r") }},
		{"thread get", item, func(c *Client) (rawer, error) { return c.Sessions.Threads.Get(t.Context(), "s", "t") }},
		{"thread all item", page, func(c *Client) (rawer, error) {
			return first(func(yield func(rawer, error) bool) {
				for th, err := range c.Sessions.Threads.All(t.Context(), "s", nil) {
					if !yield(th, err) {
						return
					}
				}
			})
		}},
		{"model list item", page, func(c *Client) (rawer, error) {
			p, err := c.Models.List(t.Context(), nil)
			if err != nil {
				return nil, err
			}
			return p.Data[0], nil
		}},
		{"page itself", page, func(c *Client) (rawer, error) { return c.Agents.List(t.Context(), nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := newTestClient(t)
			mux.HandleFunc("/api-test/", func(w http.ResponseWriter, r *http.Request) {
				serveJSON(t, w, 200, tt.body)
			})
			got, err := tt.call(c)
			require.NoError(t, err)
			require.NotNil(t, got)
			if tt.name == "page itself" {
				assert.JSONEq(t, page, string(got.Raw()))
				return
			}
			assert.JSONEq(t, item, string(got.Raw()))
			var extra struct {
				FutureField struct {
					Answer int `json:"answer"`
				} `json:"future_field"`
			}
			require.NoError(t, json.Unmarshal(got.Raw(), &extra))
			assert.Equal(t, 42, extra.FutureField.Answer)
		})
	}
}

// rawer is a value that keeps the JSON it was decoded from.
type rawer interface{ Raw() json.RawMessage }

// rawFutureField is the member the Raw tests add to every object a server
// sends: a field no version of the SDK types.
const rawFutureField = "x_future_field"

// rawRouteBodies are the responses the Raw tests serve for the routes whose
// recording in the contract is empty ({}): a recorded payload of testdata.
var rawRouteBodies = map[string]string{
	"POST /memory_stores":                              "memory_stores/store.json",
	"GET /memory_stores/{}":                            "memory_stores/store.json",
	"POST /memory_stores/{}":                           "memory_stores/store.json",
	"POST /memory_stores/{}/archive":                   "memory_stores/store.json",
	"GET /memory_stores":                               "page:memory_stores/store.json",
	"POST /memory_stores/{}/memories":                  "memory_stores/memory.json",
	"GET /memory_stores/{}/memories/{}":                "memory_stores/memory_legacy.json",
	"POST /memory_stores/{}/memories/{}":               "memory_stores/memory.json",
	"GET /memory_stores/{}/memories":                   "memory_stores/memories_list.json",
	"GET /memory_stores/{}/memory_versions/{}":         "memory_stores/version.json",
	"GET /memory_stores/{}/memory_versions":            "page:memory_stores/version.json",
	"POST /memory_stores/{}/memory_versions/{}/redact": "memory_stores/version_redacted.json",
	"DELETE /memory_stores/{}":                         `{"id":"memstore_1","type":"memory_store_deleted"}`,
	"DELETE /memory_stores/{}/memories/{}":             `{"id":"mem_1","type":"memory_deleted"}`,
}

// rawNotResources are the routes whose result keeps no JSON of its own:
// the SDK's Send returns the accepted events (each has its Raw), which the
// route table wraps in a map.
var rawNotResources = map[string]bool{"POST /sessions/{}/events": true}

// rawTestBody returns the response the Raw tests serve for a route: the
// contract's recording (or rawRouteBodies' payload) with rawFutureField
// added to the object and to each object of its data list. It returns
// the recording unchanged when it is not an object.
func rawTestBody(t *testing.T, r contractRoute) []byte {
	t.Helper()
	body := []byte(r.Response)
	if src, ok := rawRouteBodies[routeKey(r.Method, r.Path)]; ok {
		switch {
		case strings.HasPrefix(src, "{"):
			body = []byte(src)
		case strings.HasPrefix(src, "page:"):
			body = []byte(`{"data":[` + string(fixture(t, strings.TrimPrefix(src, "page:"))) + `],"next_page":null}`)
		default:
			body = fixture(t, src)
		}
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return body
	}
	future := json.RawMessage(`{"answer":42}`)
	var items []map[string]json.RawMessage
	if json.Unmarshal(obj["data"], &items) == nil && jsonKind(obj["data"]) == '[' {
		for _, item := range items {
			item[rawFutureField] = future
		}
		data, err := json.Marshal(items)
		require.NoError(t, err)
		obj["data"] = data
	}
	obj[rawFutureField] = future
	data, err := json.Marshal(obj)
	require.NoError(t, err)
	return data
}

// assertKeepsRaw checks that got, a result or an item, kept exactly want
// as its Raw, the unknown field included.
func assertKeepsRaw(t *testing.T, want []byte, got any, what string) {
	t.Helper()
	r, ok := got.(rawer)
	if !assert.True(t, ok, "%s: %T has no Raw", what, got) {
		return
	}
	require.NotNil(t, r.Raw(), "%s: %T kept no JSON", what, got)
	assert.JSONEq(t, string(want), string(r.Raw()), what)
	var extra map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.Raw(), &extra))
	assert.JSONEq(t, `{"answer":42}`, string(extra[rawFutureField]), what)
}

// pageItems returns the items of a *Page[T] as values that may keep their
// JSON (a pointer to each item, or the item itself when it is an
// interface such as Event); ok is false when got is not a page.
func pageItems(got any) (items []any, ok bool) {
	v := reflect.ValueOf(got)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct || !strings.HasPrefix(v.Elem().Type().Name(), "Page[") {
		return nil, false
	}
	data := v.Elem().FieldByName("Data")
	for i := range data.Len() {
		item := data.Index(i)
		if item.Kind() == reflect.Interface {
			items = append(items, item.Interface())
		} else {
			items = append(items, item.Addr().Interface())
		}
	}
	return items, true
}

// TestResources_keepRawJSONOnEveryRoute calls every route of the contract
// that answers with JSON, with a response that has a field no SDK version
// types in the object and in every item of a list. Whatever the method
// returns (a resource, a Deleted… reply, a page and each of its items,
// unions such as memory list items and credentials with their own
// decoders) must keep its own JSON, that field included, in Raw.
func TestResources_keepRawJSONOnEveryRoute(t *testing.T) {
	t.Parallel()
	checked := 0
	for _, r := range loadContract(t) {
		key := routeKey(r.Method, r.Path)
		call, ok := routeCalls[key]
		if !ok || strings.HasSuffix(r.Path, "/stream") || strings.HasSuffix(r.Path, "/versions/{}/content") {
			continue
		}
		body := rawTestBody(t, r)
		if jsonKind(body) != '{' {
			continue // the empty work queue's null: see TestResources_keepRawJSONPoll
		}
		checked++
		t.Run(strings.ReplaceAll(key, "/", "_"), func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t, WithMaxRetries(0))
			mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
				_, _ = io.Copy(io.Discard, req.Body)
				serveJSON(t, w, http.StatusOK, string(body))
			})
			ids := []string{"id1", "id2", "id3"}
			got, err := call(t.Context(), client, ids)
			require.NoError(t, err)
			require.NotNil(t, got)
			if rawNotResources[key] {
				return
			}
			assertKeepsRaw(t, body, got, key)
			items, isPage := pageItems(got)
			if !isPage {
				return
			}
			var want struct{ Data []json.RawMessage }
			require.NoError(t, json.Unmarshal(body, &want))
			require.Len(t, items, len(want.Data))
			require.NotEmpty(t, items, "%s: a page with items", key)
			for i, item := range items {
				assertKeepsRaw(t, want.Data[i], item, fmt.Sprintf("%s data[%d]", key, i))
			}
		})
	}
	assert.Greater(t, checked, 80, "most routes answer with JSON")
}

// TestResources_keepRawJSONPoll checks the work item Poll decodes itself.
func TestResources_keepRawJSONPoll(t *testing.T) {
	t.Parallel()
	const item = `{"id":"work_1","type":"work","environment_id":"env_1","data":{"type":"session","id":"sess_1"},"state":"queued",` +
		`"x_future_field":{"answer":42}}`
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/environments/{id}/work/poll", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, item)
	})
	work, err := client.Environments.Work.Poll(t.Context(), "env_1", nil)
	require.NoError(t, err)
	assertKeepsRaw(t, []byte(item), work, "poll")
}

// firstItem returns the first item of seq, or its error.
func firstItem[T any](seq iter.Seq2[T, error]) (any, error) {
	for v, err := range seq {
		return v, err
	}
	return nil, errors.New("no item")
}

// TestResources_keepRawJSONFromAll checks that the items every All yields
// keep their JSON, as the items of the page they come from do.
func TestResources_keepRawJSONFromAll(t *testing.T) {
	t.Parallel()
	routes := map[string]contractRoute{}
	for _, r := range loadContract(t) {
		routes[routeKey(r.Method, r.Path)] = r
	}
	tests := []struct {
		route string
		all   func(ctx context.Context, c *Client) (any, error)
	}{
		{"GET /agents", func(ctx context.Context, c *Client) (any, error) { return firstItem(c.Agents.All(ctx, nil)) }},
		{"GET /agents/{}/versions", func(ctx context.Context, c *Client) (any, error) {
			return firstItem(c.Agents.Versions.All(ctx, "a", nil))
		}},
		{"GET /environments", func(ctx context.Context, c *Client) (any, error) { return firstItem(c.Environments.All(ctx, nil)) }},
		{"GET /sessions", func(ctx context.Context, c *Client) (any, error) { return firstItem(c.Sessions.All(ctx, nil)) }},
		{"GET /sessions/{}/events", func(ctx context.Context, c *Client) (any, error) { return firstItem(c.Events.All(ctx, "s", nil)) }},
		{"GET /sessions/{}/resources", func(ctx context.Context, c *Client) (any, error) {
			return firstItem(c.Sessions.Resources.All(ctx, "s", nil))
		}},
		{"GET /sessions/{}/threads", func(ctx context.Context, c *Client) (any, error) {
			return firstItem(c.Sessions.Threads.All(ctx, "s", nil))
		}},
		{"GET /models", func(ctx context.Context, c *Client) (any, error) { return firstItem(c.Models.All(ctx, nil)) }},
		{"GET /files", func(ctx context.Context, c *Client) (any, error) { return firstItem(c.Files.All(ctx, nil)) }},
		{"GET /skills", func(ctx context.Context, c *Client) (any, error) { return firstItem(c.Skills.All(ctx, nil)) }},
		{"GET /skills/{}/versions", func(ctx context.Context, c *Client) (any, error) {
			return firstItem(c.Skills.Versions.All(ctx, "s", nil))
		}},
		{"GET /vaults", func(ctx context.Context, c *Client) (any, error) { return firstItem(c.Vaults.All(ctx, nil)) }},
		{"GET /vaults/{}/credentials", func(ctx context.Context, c *Client) (any, error) {
			return firstItem(c.Vaults.Credentials.All(ctx, "v", nil))
		}},
		{"GET /memory_stores", func(ctx context.Context, c *Client) (any, error) { return firstItem(c.MemoryStores.All(ctx, nil)) }},
		{"GET /memory_stores/{}/memories", func(ctx context.Context, c *Client) (any, error) {
			return firstItem(c.MemoryStores.Memories.All(ctx, "m", nil))
		}},
		{"GET /memory_stores/{}/memory_versions", func(ctx context.Context, c *Client) (any, error) {
			return firstItem(c.MemoryStores.Versions.All(ctx, "m", nil))
		}},
		{"GET /deployments", func(ctx context.Context, c *Client) (any, error) { return firstItem(c.Deployments.All(ctx, nil)) }},
		{"GET /deployments/{}/runs", func(ctx context.Context, c *Client) (any, error) {
			return firstItem(c.Deployments.Runs.All(ctx, "d", nil))
		}},
		{"GET /deployment_runs", func(ctx context.Context, c *Client) (any, error) { return firstItem(c.DeploymentRuns.All(ctx, nil)) }},
		{"GET /dreams", func(ctx context.Context, c *Client) (any, error) { return firstItem(c.Dreams.All(ctx, nil)) }},
		{"GET /environments/{}/work", func(ctx context.Context, c *Client) (any, error) {
			return firstItem(c.Environments.Work.All(ctx, "e", nil))
		}},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.route, "/", "_"), func(t *testing.T) {
			t.Parallel()
			r, ok := routes[tt.route]
			require.True(t, ok, "%s is in the contract", tt.route)
			body := rawTestBody(t, r)
			var page struct{ Data []json.RawMessage }
			require.NoError(t, json.Unmarshal(body, &page))
			require.NotEmpty(t, page.Data)
			client, mux := newTestClient(t)
			mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
				serveJSON(t, w, http.StatusOK, string(body))
			})
			got, err := tt.all(t.Context(), client)
			require.NoError(t, err)
			assertKeepsRaw(t, page.Data[0], got, tt.route)
		})
	}
}
