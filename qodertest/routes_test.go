package qodertest

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakePendingRoutes are the routes of the contract the fake does not serve
// yet: none. A route the contract gains must be served or listed here; a
// route both here and served fails the test.
var fakePendingRoutes = map[string]bool{}

// TestServesContractRoutes checks that the fake routes every route of the
// contract (../testdata/api-contracts.json, the official SDK's route list)
// but the pending ones.
func TestServesContractRoutes(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../testdata/api-contracts.json")
	require.NoError(t, err)
	var routes []struct{ Method, Path string }
	require.NoError(t, json.Unmarshal(data, &routes))
	require.Len(t, routes, 98)
	srv := NewServer(t)
	served, inContract := 0, map[string]bool{}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		inContract[key] = true
		req := httptest.NewRequest(r.Method, BasePath+strings.TrimPrefix(strings.ReplaceAll(r.Path, "{}", "x1"), "/"), nil)
		_, pattern := srv.mux.Handler(req)
		if fakePendingRoutes[key] {
			assert.Empty(t, pattern, "%s is served: remove it from fakePendingRoutes", key)
			continue
		}
		if assert.NotEmpty(t, pattern, "the fake does not serve %s", key) {
			served++
		}
	}
	for key := range fakePendingRoutes {
		assert.True(t, inContract[key], "fakePendingRoutes has %s, which is not in the contract", key)
	}
	t.Logf("the fake serves %d of %d routes, %d pending", served, len(routes), len(fakePendingRoutes))
}
