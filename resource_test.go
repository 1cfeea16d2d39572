package qoder

import (
	"encoding/json"
	"net/http"
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
	type rawer interface{ Raw() json.RawMessage }
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
