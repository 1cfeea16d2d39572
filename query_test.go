package qoder

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListParams_timeBoundsAreUTCNanos checks every created_at bound of
// every list: RFC 3339 with the nanoseconds, in UTC, whatever the zone of
// the time.Time the caller passed.
func TestListParams_timeBoundsAreUTCNanos(t *testing.T) {
	t.Parallel()
	// 11:04:05.123456789 at +08:00 is 03:04:05.123456789 UTC.
	at := time.Date(2026, 5, 18, 11, 4, 5, 123456789, time.FixedZone("CST", 8*3600))
	const want = "2026-05-18T03:04:05.123456789Z"
	tests := []struct {
		name string
		keys []string
		call func(c *Client) error
	}{
		{"agents", []string{"created_at[gte]", "created_at[lte]"}, func(c *Client) error {
			_, err := c.Agents.List(t.Context(), &AgentListParams{CreatedAtGte: at, CreatedAtLte: at})
			return err
		}},
		{"environments", []string{"created_at[gte]", "created_at[lte]"}, func(c *Client) error {
			_, err := c.Environments.List(t.Context(), &EnvironmentListParams{CreatedAtGte: at, CreatedAtLte: at})
			return err
		}},
		{"sessions", []string{"created_at[gt]", "created_at[gte]", "created_at[lt]", "created_at[lte]"}, func(c *Client) error {
			_, err := c.Sessions.List(t.Context(), &SessionListParams{CreatedAtGt: at, CreatedAtGte: at, CreatedAtLt: at, CreatedAtLte: at})
			return err
		}},
		{"events", []string{"created_at[gt]", "created_at[gte]", "created_at[lt]", "created_at[lte]"}, func(c *Client) error {
			_, err := c.Events.List(t.Context(), "sess_1", &EventListParams{CreatedAtGT: at, CreatedAtGTE: at, CreatedAtLT: at, CreatedAtLTE: at})
			return err
		}},
		{"pointer time field", []string{"since"}, func(c *Client) error {
			return c.do(t.Context(), http.MethodGet, literalPath("x"), &struct {
				Since *time.Time `url:"since,omitempty"`
				None  *time.Time `url:"none,omitempty"`
			}{Since: &at}, nil, nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := newTestClient(t)
			var got url.Values
			mux.HandleFunc("/api-test/", func(w http.ResponseWriter, r *http.Request) {
				got = r.URL.Query()
				serveJSON(t, w, 200, `{"data":[]}`)
			})
			require.NoError(t, tt.call(c))
			require.Len(t, got, len(tt.keys), "query %v", got)
			for _, k := range tt.keys {
				assert.Equal(t, []string{want}, got[k], k)
			}
		})
	}
}
