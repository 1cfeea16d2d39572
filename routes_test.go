package qoder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contractRoute is one route of testdata/api-contracts.json, a copy of the
// official SDK's recorded responses (see ../shared/api/contracts/index.md
// where the repository has it).
type contractRoute struct {
	Service  string          `json:"service"`
	Name     string          `json:"name"`
	Method   string          `json:"method"`
	Path     string          `json:"path"`
	Response json.RawMessage `json:"response"`
}

// routeKey names a route the way the contract does: "GET /agents/{}".
func routeKey(method, path string) string { return method + " " + path }

// routeCall calls the SDK for one route. ids fill the route's {} in order;
// the result is re-marshalled and compared with the recorded response.
type routeCall func(ctx context.Context, c *Client, ids []string) (any, error)

// routeCalls has one row per route the SDK covers.
var routeCalls = map[string]routeCall{
	// Agents.
	"POST /agents": func(ctx context.Context, c *Client, _ []string) (any, error) {
		return c.Agents.Create(ctx, &AgentCreateParams{Name: "a", Model: ModelConfig{ID: "auto"}})
	},
	"GET /agents/{}": func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Agents.Get(ctx, ids[0]) },
	"POST /agents/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Agents.Update(ctx, ids[0], &AgentUpdateParams{Version: 1})
	},
	"GET /agents":             func(ctx context.Context, c *Client, _ []string) (any, error) { return c.Agents.List(ctx, nil) },
	"POST /agents/{}/archive": func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Agents.Archive(ctx, ids[0]) },
	"GET /agents/{}/versions": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Agents.Versions.List(ctx, ids[0], nil)
	},
	"GET /models":       func(ctx context.Context, c *Client, _ []string) (any, error) { return c.Models.List(ctx, nil) },
	"GET /environments": func(ctx context.Context, c *Client, _ []string) (any, error) { return c.Environments.List(ctx, nil) },
	"GET /environments/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Environments.Get(ctx, ids[0])
	},
	"DELETE /environments/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Environments.Delete(ctx, ids[0])
	},
	"POST /environments/{}/archive": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Environments.Archive(ctx, ids[0])
	},
	"POST /environments": func(ctx context.Context, c *Client, _ []string) (any, error) {
		return c.Environments.Create(ctx, &EnvironmentCreateParams{Name: "e"})
	},
	"POST /environments/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Environments.Update(ctx, ids[0], &EnvironmentUpdateParams{})
	},

	// Sessions, their events, resources and threads.
	"POST /sessions": func(ctx context.Context, c *Client, _ []string) (any, error) {
		return c.Sessions.Create(ctx, &SessionCreateParams{Agent: AgentRef{ID: "agent_1"}, EnvironmentID: "env_1"})
	},
	"GET /sessions/{}": func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Sessions.Get(ctx, ids[0]) },
	"POST /sessions/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Sessions.Update(ctx, ids[0], &SessionUpdateParams{Title: Ptr("t")})
	},
	"GET /sessions":       func(ctx context.Context, c *Client, _ []string) (any, error) { return c.Sessions.List(ctx, nil) },
	"DELETE /sessions/{}": func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Sessions.Delete(ctx, ids[0]) },
	"POST /sessions/{}/archive": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Sessions.Archive(ctx, ids[0])
	},
	"POST /sessions/{}/cancel": func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Sessions.Cancel(ctx, ids[0]) },
	"GET /sessions/{}/events": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Events.List(ctx, ids[0], nil)
	},
	"POST /sessions/{}/events": func(ctx context.Context, c *Client, ids []string) (any, error) {
		accepted, err := c.Events.Send(ctx, ids[0], []InputEvent{NewUserMessage("hi")})
		return map[string]any{"data": accepted}, err // Send returns the data list
	},
	"GET /sessions/{}/events/stream": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return openAndClose(c.Events.Stream(ctx, ids[0], &StreamParams{MaxReconnects: 1}))
	},
	"GET /sessions/{}/resources/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Sessions.Resources.Get(ctx, ids[0], ids[1])
	},
	"POST /sessions/{}/resources/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Sessions.Resources.Update(ctx, ids[0], ids[1], &SessionResourceUpdateParams{AuthorizationToken: "ghp_x"})
	},
	"GET /sessions/{}/resources": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Sessions.Resources.List(ctx, ids[0], nil)
	},
	"DELETE /sessions/{}/resources/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Sessions.Resources.Delete(ctx, ids[0], ids[1])
	},
	"POST /sessions/{}/resources": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Sessions.Resources.Add(ctx, ids[0], &SessionResourceAddParams{FileID: "file_1"})
	},
	"GET /sessions/{}/threads/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Sessions.Threads.Get(ctx, ids[0], ids[1])
	},
	"GET /sessions/{}/threads": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Sessions.Threads.List(ctx, ids[0], nil)
	},
	"POST /sessions/{}/threads/{}/archive": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Sessions.Threads.Archive(ctx, ids[0], ids[1])
	},
	"GET /sessions/{}/threads/{}/events": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Sessions.Threads.ListEvents(ctx, ids[0], ids[1], nil)
	},
	"GET /sessions/{}/threads/{}/stream": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return openAndClose(c.Sessions.Threads.Stream(ctx, ids[0], ids[1], &StreamParams{MaxReconnects: 1}))
	},

	// Files.
	"POST /files": func(ctx context.Context, c *Client, _ []string) (any, error) {
		return c.Files.Upload(ctx, &FileUploadParams{Name: "my-document.txt", Content: strings.NewReader("hello")})
	},
	"GET /files":       func(ctx context.Context, c *Client, _ []string) (any, error) { return c.Files.List(ctx, nil) },
	"GET /files/{}":    func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Files.Get(ctx, ids[0]) },
	"DELETE /files/{}": func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Files.Delete(ctx, ids[0]) },
	"GET /files/{}/content": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Files.DownloadURL(ctx, ids[0])
	},

	// Skills and their versions.
	"POST /skills": func(ctx context.Context, c *Client, _ []string) (any, error) {
		return c.Skills.Create(ctx, &SkillCreateParams{Bundle: SkillFromMarkdown("---\nname: s\n---\n")})
	},
	"GET /skills/{}":    func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Skills.Get(ctx, ids[0]) },
	"GET /skills":       func(ctx context.Context, c *Client, _ []string) (any, error) { return c.Skills.List(ctx, nil) },
	"DELETE /skills/{}": func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Skills.Delete(ctx, ids[0]) },
	"POST /skills/{}/versions": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Skills.Versions.Create(ctx, ids[0], &SkillVersionCreateParams{Bundle: SkillFromMarkdown("---\nname: s\n---\n")})
	},
	"GET /skills/{}/versions/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Skills.Versions.Get(ctx, ids[0], ids[1])
	},
	"GET /skills/{}/versions": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Skills.Versions.List(ctx, ids[0], nil)
	},
	"DELETE /skills/{}/versions/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Skills.Versions.Delete(ctx, ids[0], ids[1])
	},
	"GET /skills/{}/versions/{}/content": func(ctx context.Context, c *Client, ids []string) (any, error) {
		body, err := c.Skills.Versions.Download(ctx, ids[0], ids[1])
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(io.Discard, body)
		return nil, errors.Join(err, body.Close())
	},

	// Deployments and their runs.
	"POST /deployments": func(ctx context.Context, c *Client, _ []string) (any, error) {
		return c.Deployments.Create(ctx, &DeploymentCreateParams{Name: "d", Agent: AgentRef{ID: "agent_1"}, EnvironmentID: "env_1",
			InitialEvents: []InputEvent{NewUserMessage("hi")}})
	},
	"GET /deployments/{}": func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Deployments.Get(ctx, ids[0]) },
	"POST /deployments/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Deployments.Update(ctx, ids[0], &DeploymentUpdateParams{Name: Ptr("d2")})
	},
	"GET /deployments": func(ctx context.Context, c *Client, _ []string) (any, error) { return c.Deployments.List(ctx, nil) },
	"POST /deployments/{}/archive": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Deployments.Archive(ctx, ids[0])
	},
	"POST /deployments/{}/pause": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Deployments.Pause(ctx, ids[0])
	},
	"POST /deployments/{}/run": func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Deployments.Run(ctx, ids[0]) },
	"POST /deployments/{}/unpause": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Deployments.Unpause(ctx, ids[0])
	},
	"GET /deployments/{}/runs": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Deployments.Runs.List(ctx, ids[0], nil)
	},
	"GET /deployments/{}/runs/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Deployments.Runs.Get(ctx, ids[0], ids[1])
	},
	"GET /deployment_runs/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.DeploymentRuns.Get(ctx, ids[0])
	},
	"GET /deployment_runs": func(ctx context.Context, c *Client, _ []string) (any, error) { return c.DeploymentRuns.List(ctx, nil) },

	// Dreams.
	"POST /dreams": func(ctx context.Context, c *Client, _ []string) (any, error) {
		return c.Dreams.Create(ctx, &DreamCreateParams{Inputs: []DreamInput{DreamFromMemoryStore("memstore_1")}, Model: DreamModel{ID: "auto"}})
	},
	"GET /dreams/{}":          func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Dreams.Get(ctx, ids[0]) },
	"GET /dreams":             func(ctx context.Context, c *Client, _ []string) (any, error) { return c.Dreams.List(ctx, nil) },
	"POST /dreams/{}/archive": func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Dreams.Archive(ctx, ids[0]) },
	"POST /dreams/{}/cancel":  func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Dreams.Cancel(ctx, ids[0]) },

	// The self-hosted work queue.
	"GET /environments/{}/work/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Environments.Work.Get(ctx, ids[0], ids[1])
	},
	"POST /environments/{}/work/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Environments.Work.Update(ctx, ids[0], ids[1], &WorkUpdateParams{Metadata: map[string]*string{"worker": Ptr("w1")}})
	},
	"GET /environments/{}/work": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Environments.Work.List(ctx, ids[0], nil)
	},
	"POST /environments/{}/work/{}/ack": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Environments.Work.Ack(ctx, ids[0], ids[1])
	},
	"POST /environments/{}/work/{}/heartbeat": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Environments.Work.Heartbeat(ctx, ids[0], ids[1], &WorkHeartbeatParams{DesiredTTLSeconds: 60})
	},
	"GET /environments/{}/work/poll": func(ctx context.Context, c *Client, ids []string) (any, error) {
		work, err := c.Environments.Work.Poll(ctx, ids[0], &WorkPollParams{BlockMS: 999, WorkerID: "w1"})
		if err == nil && work != nil {
			return nil, fmt.Errorf("the recorded null is an empty queue, got %+v", work)
		}
		return nil, err
	},
	"GET /environments/{}/work/stats": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Environments.Work.Stats(ctx, ids[0])
	},
	"POST /environments/{}/work/{}/stop": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Environments.Work.Stop(ctx, ids[0], ids[1], &WorkStopParams{})
	},
	// Vaults and credentials.
	"POST /vaults": func(ctx context.Context, c *Client, _ []string) (any, error) {
		return c.Vaults.Create(ctx, &VaultCreateParams{DisplayName: "v"})
	},
	"GET /vaults/{}":    func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Vaults.Get(ctx, ids[0]) },
	"GET /vaults":       func(ctx context.Context, c *Client, _ []string) (any, error) { return c.Vaults.List(ctx, nil) },
	"DELETE /vaults/{}": func(ctx context.Context, c *Client, ids []string) (any, error) { return c.Vaults.Delete(ctx, ids[0]) },
	"POST /vaults/{}/archive": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Vaults.Archive(ctx, ids[0])
	},
	"POST /vaults/{}/credentials": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Vaults.Credentials.Create(ctx, ids[0], &CredentialCreateParams{Auth: NewStaticBearerAuth("https://example.com/mcp", "t")})
	},
	"GET /vaults/{}/credentials/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Vaults.Credentials.Get(ctx, ids[0], ids[1])
	},
	"POST /vaults/{}/credentials/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Vaults.Credentials.Update(ctx, ids[0], ids[1], &CredentialUpdateParams{Auth: &MCPOAuthAuthUpdate{AccessToken: NewSecret("t")}})
	},
	"GET /vaults/{}/credentials": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Vaults.Credentials.List(ctx, ids[0], nil)
	},
	"DELETE /vaults/{}/credentials/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Vaults.Credentials.Delete(ctx, ids[0], ids[1])
	},
	"POST /vaults/{}/credentials/{}/archive": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Vaults.Credentials.Archive(ctx, ids[0], ids[1])
	},
	"POST /vaults/{}/credentials/{}/mcp_oauth_validate": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.Vaults.Credentials.ValidateMCPOAuth(ctx, ids[0], ids[1])
	},

	// Memory stores, memories and memory versions.
	"POST /memory_stores": func(ctx context.Context, c *Client, _ []string) (any, error) {
		return c.MemoryStores.Create(ctx, &MemoryStoreCreateParams{Name: "m"})
	},
	"GET /memory_stores/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.MemoryStores.Get(ctx, ids[0])
	},
	"POST /memory_stores/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.MemoryStores.Update(ctx, ids[0], &MemoryStoreUpdateParams{Description: Ptr("")})
	},
	"GET /memory_stores": func(ctx context.Context, c *Client, _ []string) (any, error) { return c.MemoryStores.List(ctx, nil) },
	"DELETE /memory_stores/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.MemoryStores.Delete(ctx, ids[0])
	},
	"POST /memory_stores/{}/archive": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.MemoryStores.Archive(ctx, ids[0])
	},
	"POST /memory_stores/{}/memories": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.MemoryStores.Memories.Create(ctx, ids[0], &MemoryCreateParams{Path: "a.md"})
	},
	"GET /memory_stores/{}/memories/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.MemoryStores.Memories.Get(ctx, ids[0], ids[1])
	},
	"POST /memory_stores/{}/memories/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.MemoryStores.Memories.Update(ctx, ids[0], ids[1], &MemoryUpdateParams{Content: Ptr("x")})
	},
	"GET /memory_stores/{}/memories": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.MemoryStores.Memories.List(ctx, ids[0], nil)
	},
	"DELETE /memory_stores/{}/memories/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.MemoryStores.Memories.Delete(ctx, ids[0], ids[1], nil)
	},
	"GET /memory_stores/{}/memory_versions/{}": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.MemoryStores.Versions.Get(ctx, ids[0], ids[1])
	},
	"GET /memory_stores/{}/memory_versions": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.MemoryStores.Versions.List(ctx, ids[0], nil)
	},
	"POST /memory_stores/{}/memory_versions/{}/redact": func(ctx context.Context, c *Client, ids []string) (any, error) {
		return c.MemoryStores.Versions.Redact(ctx, ids[0], ids[1])
	},
}

// pendingRoutes are the routes of the contract the SDK does not cover yet,
// with the issue that builds them. The list must shrink to nothing; a route
// both here and in routeCalls fails the test.
var pendingRoutes = map[string]string{}

// openAndClose closes a stream the route test opened.
func openAndClose(s *Stream, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return nil, s.Close()
}

// loadContract reads testdata/api-contracts.json.
func loadContract(t *testing.T) []contractRoute {
	t.Helper()
	data, err := os.ReadFile("testdata/api-contracts.json")
	require.NoError(t, err)
	var routes []contractRoute
	require.NoError(t, json.Unmarshal(data, &routes))
	return routes
}

// TestRouteCoverage calls the SDK once for every route of the contract
// against a server that checks the method and path and answers with the
// recorded response; what the SDK returns, marshalled again, must keep
// every non-empty top-level field of the recording.
func TestRouteCoverage(t *testing.T) {
	t.Parallel()
	routes := loadContract(t)
	require.Len(t, routes, 98)
	inContract := map[string]bool{}
	for _, r := range routes {
		key := routeKey(r.Method, r.Path)
		require.False(t, inContract[key], "%s appears twice in the contract", key)
		inContract[key] = true
	}
	for key := range routeCalls {
		assert.True(t, inContract[key], "routeCalls has %s, which is not in the contract", key)
		assert.NotContains(t, pendingRoutes, key, "%s is built: remove it from pendingRoutes", key)
	}
	for key := range pendingRoutes {
		assert.True(t, inContract[key], "pendingRoutes has %s, which is not in the contract", key)
	}
	built := 0
	for _, r := range routes {
		key := routeKey(r.Method, r.Path)
		call, ok := routeCalls[key]
		if !ok {
			assert.Contains(t, pendingRoutes, key, "%s.%s (%s) has no row in routeCalls", r.Service, r.Name, key)
			continue
		}
		built++
		t.Run(strings.ReplaceAll(key, "/", "_"), func(t *testing.T) {
			t.Parallel()
			checkRoute(t, r, call)
		})
	}
	t.Logf("route coverage: %d of %d routes built, %d pending", built, len(routes), len(pendingRoutes))
}

// checkRoute runs one row: the SDK must send the route's method and path
// and keep what the recorded response holds.
func checkRoute(t *testing.T, r contractRoute, call routeCall) {
	var ids []string
	wantPath := r.Path
	for i := 0; strings.Contains(wantPath, "{}"); i++ {
		id := fmt.Sprintf("id%d", i+1)
		ids = append(ids, id)
		wantPath = strings.Replace(wantPath, "{}", id, 1)
	}
	var route atomic.Value // the RequestInfo.Route of the first attempt
	recordRoute := func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		info, _ := RequestInfoFromContext(req.Context())
		route.CompareAndSwap(nil, info.Route)
		return next(req)
	}
	client, mux := newTestClient(t, WithMaxRetries(0), WithMiddleware(recordRoute))
	var hits atomic.Int32
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		assert.Equal(t, r.Method, req.Method)
		assert.Equal(t, "/api-test"+wantPath, req.URL.Path)
		_, _ = io.Copy(io.Discard, req.Body)
		switch {
		case strings.HasSuffix(r.Path, "/stream"):
			w.Header().Set("Content-Type", "text/event-stream")
		case strings.HasSuffix(r.Path, "/versions/{}/content"):
			w.Header().Set("Content-Type", "application/zip")
			_, _ = io.WriteString(w, "PK\x05\x06"+strings.Repeat("\x00", 18))
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(r.Response)
		}
	})
	got, err := call(t.Context(), client, ids)
	require.NoError(t, err)
	assert.Equal(t, int32(1), hits.Load(), "one request")
	template, _ := route.Load().(string)
	assert.Equal(t, strings.TrimPrefix(r.Path, "/"), regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllString(template, "{}"),
		"RequestInfo.Route is the route's template (%s)", template)
	var recorded map[string]json.RawMessage
	if json.Unmarshal(r.Response, &recorded) != nil || got == nil {
		return // a stream, a download or a recording that is not an object
	}
	data, err := json.Marshal(got)
	require.NoError(t, err)
	var kept map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &kept))
	var lost []string
	for field, value := range recorded {
		if isEmptyJSON(value) {
			continue
		}
		if v, ok := kept[field]; !ok || isEmptyJSON(v) {
			lost = append(lost, field)
		}
	}
	slices.Sort(lost)
	assert.Empty(t, lost, "%s.%s loses recorded fields", r.Service, r.Name)
}

// isEmptyJSON reports whether raw is null, "", [] or {}, or an object
// whose every value is zero (such as a new session's
// "stats":{"active_seconds":0}), which a Go value with omitzero leaves
// out without losing anything. A top-level false or 0 is not empty.
func isEmptyJSON(raw json.RawMessage) bool {
	switch strings.Join(strings.Fields(string(raw)), "") {
	case "", "null", `""`, "[]", "{}":
		return true
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return false
	}
	for _, v := range obj {
		if !isEmptyJSON(v) && !isZeroJSON(v) {
			return false
		}
	}
	return true
}

// isZeroJSON reports whether raw is false or a zero number.
func isZeroJSON(raw json.RawMessage) bool {
	var f float64
	return string(raw) == "false" || json.Unmarshal(raw, &f) == nil && f == 0
}
