package qoder

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testSessionID = "sess_019e3bb1e8c171fd9abbb1477ffb84cc"

func TestSessionsService_Create(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *SessionCreateParams
		body   string
	}{
		{
			name: "documented case 1",
			params: &SessionCreateParams{
				Agent:                AgentRef{ID: "agent_019e390add9f7bac9b6cc806db46fcbd", Version: 2},
				EnvironmentID:        "env_019e2590d33f711fabf42f2857cecd8a",
				Title:                "Code review session",
				Metadata:             map[string]string{"purpose": "review"},
				EnvironmentVariables: EnvVarMap{"FEATURE_FLAG": "on", "LOG_LEVEL": "debug"},
				Resources: []SessionResourceParams{
					{
						Type:               SessionResourceGitHubRepository,
						URL:                "https://github.com/your-org/your-repo",
						MountPath:          "/data/workspace/your-repo",
						AuthorizationToken: "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
					},
					{
						Type:          SessionResourceMemoryStore,
						MemoryStoreID: "memstore_019eed05b61e78cea61bfd366e072878",
						Access:        MemoryStoreReadWrite,
						Instructions:  "Use this memory for long-lived project context.",
					},
				},
				VaultIDs: []string{"vault_019eed0519807975983d0ffc4b4b4c79"},
			},
			body: `{
				"agent":{"id":"agent_019e390add9f7bac9b6cc806db46fcbd","type":"agent","version":2},
				"environment_id":"env_019e2590d33f711fabf42f2857cecd8a",
				"title":"Code review session",
				"metadata":{"purpose":"review"},
				"environment_variables":{"FEATURE_FLAG":"on","LOG_LEVEL":"debug"},
				"resources":[
					{"type":"github_repository","url":"https://github.com/your-org/your-repo","mount_path":"/data/workspace/your-repo",
					 "authorization_token":"ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
					{"type":"memory_store","memory_store_id":"memstore_019eed05b61e78cea61bfd366e072878","access":"read_write",
					 "instructions":"Use this memory for long-lived project context."}],
				"vault_ids":["vault_019eed0519807975983d0ffc4b4b4c79"]}`,
		},
		{
			name:   "minimal: latest agent version as a bare id",
			params: &SessionCreateParams{Agent: AgentRef{ID: "agent_1"}, EnvironmentID: "env_1"},
			body:   `{"agent":"agent_1","environment_id":"env_1"}`,
		},
		{
			name: "environment variables as a string, constructors, checkout, budget",
			params: &SessionCreateParams{
				Agent:                AgentRef{ID: "agent_1"},
				EnvironmentID:        "env_1",
				EnvironmentVariables: EnvVarString("LOG_LEVEL=debug;FEATURE_FLAG=on"),
				Resources: []SessionResourceParams{
					FileResource("file_1"),
					func() SessionResourceParams {
						r := GitHubRepositoryResource("https://github.com/o/r", "ghp_t")
						r.Checkout = RepositoryCheckout{Type: CheckoutBranch, Name: "main"}
						return r
					}(),
					MemoryStoreResource("memstore_1", MemoryStoreReadOnly),
				},
				Budget: SessionBudget{Type: "list_cost", MaxListCost: 10},
			},
			body: `{"agent":"agent_1","environment_id":"env_1","environment_variables":"LOG_LEVEL=debug;FEATURE_FLAG=on",
				"resources":[{"type":"file","file_id":"file_1"},
					{"type":"github_repository","url":"https://github.com/o/r","authorization_token":"ghp_t","checkout":{"type":"branch","name":"main"}},
					{"type":"memory_store","memory_store_id":"memstore_1","access":"read_only"}],
				"budget":{"type":"list_cost","max_list_cost":10}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/sessions", func(w http.ResponseWriter, r *http.Request) {
				assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "sessions/session_created.json")
			})
			s, err := client.Sessions.Create(t.Context(), tt.params)
			require.NoError(t, err)
			assert.Equal(t, testSessionID, s.ID)
			assert.Equal(t, SessionStatusIdle, s.Status)
			assert.Equal(t, "agent_019e390add9f7bac9b6cc806db46fcbd", s.Agent.ID)
			assert.Equal(t, 2, s.Agent.Version)
			assert.Equal(t, ModelConfig{ID: "ultimate", EffectiveContextWindow: 200000}, s.Agent.Model)
			assert.Equal(t, EnvVarMap{"FEATURE_FLAG": "on", "LOG_LEVEL": "debug"}, s.EnvironmentVariables)
			assert.Equal(t, []string{"vault_019eed0519807975983d0ffc4b4b4c79"}, s.VaultIDs)
			assert.Empty(t, s.DeploymentID)
			assert.Equal(t, SessionUsage{}, s.Usage)
			assert.Equal(t, SessionStats{}, s.Stats)
		})
	}
}

func TestSessionsService_Create_initialEvents(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/sessions", func(w http.ResponseWriter, r *http.Request) {
		assertJSONBody(t, r, `{"agent":"agent_1","environment_id":"env_1",
			"initial_events":[{"type":"user.message","content":[{"type":"text","text":"Print Hello World"}]}]}`)
		serveFixture(t, w, http.StatusOK, "sessions/session_created.json")
	})
	_, err := client.Sessions.Create(t.Context(), &SessionCreateParams{
		Agent: AgentRef{ID: "agent_1"}, EnvironmentID: "env_1",
		InitialEvents: []InputEvent{NewUserMessage("Print Hello World")},
	})
	require.NoError(t, err)

	t.Run("a broken event fails before any request", func(t *testing.T) {
		client, mux := newTestClient(t)
		mux.Handle("/", failHandler(t))
		_, err := client.Sessions.Create(t.Context(), &SessionCreateParams{
			Agent: AgentRef{ID: "agent_1"}, EnvironmentID: "env_1",
			InitialEvents: []InputEvent{UserMessage{}},
		})
		assert.ErrorIs(t, err, ErrInvalidEvent)
		assert.ErrorContains(t, err, "events[0]")
	})
}

// TestSessionsService_Create_initialEventsRules checks the reference's
// rules for initial_events before any request: at most 50 events, and only
// user.message and user.define_outcome.
func TestSessionsService_Create_initialEventsRules(t *testing.T) {
	t.Parallel()
	fifty := make([]InputEvent, 50)
	for i := range fifty {
		fifty[i] = NewUserMessage("m")
	}
	outcome := UserDefineOutcome{Description: "done", Rubric: TextRubric("tests pass")}
	tests := []struct {
		name    string
		events  []InputEvent
		wantErr string // "" for valid
	}{
		{"fifty messages", fifty, ""},
		{"a message and an outcome", []InputEvent{NewUserMessage("m"), &outcome}, ""},
		{"fifty-one events", append(slices.Clone(fifty), NewUserMessage("m")), "qoder: invalid input event: initial_events holds 51 events, more than 50"},
		{"an interrupt", []InputEvent{NewUserMessage("m"), UserInterrupt{}}, "qoder: events[1] (user.interrupt): initial_events may hold only user.message and user.define_outcome"},
		{"a system message", []InputEvent{NewSystemMessage("s")}, "qoder: events[0] (system.message): initial_events may hold only user.message and user.define_outcome"},
		{"a tool confirmation", []InputEvent{AllowTool("evt_1")}, "qoder: events[0] (user.tool_confirmation): initial_events may hold only user.message and user.define_outcome"},
		{"a custom tool result", []InputEvent{NewCustomToolResult("evt_1", "r")}, "qoder: events[0] (user.custom_tool_result): initial_events may hold only user.message and user.define_outcome"},
		{"an image without data", []InputEvent{UserMessage{Content: []ContentBlock{ImageBlock(Base64Source("image/png", nil))}}}, `qoder: events[0] (user.message): content[0].source: a "base64" source needs data`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			requests := 0
			mux.HandleFunc("POST /api-test/sessions", func(w http.ResponseWriter, r *http.Request) {
				requests++
				serveFixture(t, w, http.StatusOK, "sessions/session_created.json")
			})
			_, err := client.Sessions.Create(t.Context(), &SessionCreateParams{
				Agent: AgentRef{ID: "agent_1"}, EnvironmentID: "env_1", InitialEvents: tt.events,
			})
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, 1, requests)
				return
			}
			require.EqualError(t, err, tt.wantErr)
			assert.ErrorIs(t, err, ErrInvalidEvent)
			assert.ErrorIs(t, err, ErrInvalidRequest)
			assert.Zero(t, requests, "nothing is sent")
		})
	}
}

func TestSessionsService_Get(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testSessionID, r.PathValue("id"))
		serveFixture(t, w, http.StatusOK, "sessions/session.json")
	})
	s, err := client.Sessions.Get(t.Context(), testSessionID)
	require.NoError(t, err)

	assert.Equal(t, "session", s.Type)
	assert.Equal(t, "Code review session", s.Title)
	assert.Equal(t, "env_019e2590d33f711fabf42f2857cecd8a", s.EnvironmentID)
	assert.Equal(t, "dep_019ec55a2b687b3f94eee77dd77e4b2a", s.DeploymentID)
	assert.Equal(t, []string{ToolBash, ToolRead}, s.Agent.Tools[0].EnabledTools)

	require.Len(t, s.Agent.Multiagent.Agents, 1)
	roster := s.Agent.Multiagent.Agents[0]
	assert.Equal(t, "reviewer", roster.Name)
	assert.Equal(t, "Review carefully.", roster.System)
	assert.Equal(t, ModelConfig{ID: "ultimate", Effort: EffortMedium}, roster.Model)
	assert.Equal(t, []AgentTool{AgentToolset()}, roster.Tools)

	require.Len(t, s.Resources, 3)
	assert.Equal(t, SessionResource{
		ID: "sesr_0e4323e8f47ba34853f5409e", Type: SessionResourceFile,
		FileID:    "file_019ef2a07a06704fb899908c29eed779",
		MountPath: "/mnt/session/uploads/file_019ef2a07a06704fb899908c29eed779",
		CreatedAt: time.Date(2026, 6, 23, 5, 53, 19, 774840000, time.UTC),
		UpdatedAt: time.Date(2026, 6, 23, 5, 53, 38, 185714000, time.UTC),
	}, s.Resources[0])
	assert.Equal(t, SessionResourceGitHubRepository, s.Resources[1].Type)
	assert.Equal(t, RepositoryCheckout{Type: CheckoutCommit, SHA: "4f2c1a9"}, s.Resources[1].Checkout)
	assert.Equal(t, SessionResource{
		Type: SessionResourceMemoryStore, MemoryStoreID: "memstore_019eed05b61e78cea61bfd366e072878",
		Access: MemoryStoreReadWrite, Name: "project-alpha-memory", Description: "Agent knowledge base for project Alpha",
		Instructions: "Use this memory for long-lived project context.", MountPath: "/mnt/memory/project-alpha-memory",
	}, s.Resources[2])

	assert.Equal(t, SessionStats{ActiveSeconds: 12.5, DurationSeconds: 300}, s.Stats)
	assert.Equal(t, SessionUsage{
		TotalCredits: 1.25, InputTokens: 1200, OutputTokens: 340, CacheReadInputTokens: 800,
		CacheCreation: UsageCacheCreation{Ephemeral5mInputTokens: 100},
		ServerToolUse: UsageServerToolUse{WebFetchRequests: 2, WebSearchRequests: 1},
	}, s.Usage)
	assert.Equal(t, []OutcomeEvaluation{{
		Type: "outcome_evaluation", OutcomeID: "outc_1", Iteration: 1, Result: "satisfied",
		Explanation: "All checks pass.", Description: "The build is green",
		CompletedAt: time.Date(2026, 5, 18, 15, 40, 0, 0, time.UTC),
	}}, s.OutcomeEvaluations)
	assert.Equal(t, SessionBudget{Type: "list_cost", MaxListCost: 25.5}, s.Budget)
	assert.True(t, s.ArchivedAt.IsZero())
}

func TestSessionsService_Get_legacyShapes(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/api-test/sessions/ses%2F1", r.URL.EscapedPath())
		serveFixture(t, w, http.StatusOK, "sessions/session_legacy.json")
	})
	s, err := client.Sessions.Get(t.Context(), "ses/1")
	require.NoError(t, err)
	assert.Equal(t, SessionStatusProcessing, s.Status)
	assert.Equal(t, SessionStatusRunning, s.TurnStatus)
	assert.Equal(t, "agent_019e0000000000000000000000000abc", s.AgentID)
	assert.Empty(t, s.Agent.ID)
	assert.Equal(t, []string{"memstore_019e0000000000000000000000000001"}, s.MemoryStoreIDs)
	assert.Equal(t, EnvVarMap{"LOG_LEVEL": "debug", "FEATURE_FLAG": "on"}, s.EnvironmentVariables)
	assert.Zero(t, s.Stats)
	assert.Equal(t, SessionUsage{InputTokens: 10, OutputTokens: 20,
		CacheCreation: UsageCacheCreation{Ephemeral5mInputTokens: 3, Ephemeral1hInputTokens: 4}}, s.Usage)
}

func TestSessionsService_Update(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params *SessionUpdateParams
		body   string
	}{
		{
			name: "documented case 1",
			params: &SessionUpdateParams{
				Title:    Ptr("New title"),
				Metadata: map[string]*string{"priority": Ptr("high"), "old_key": nil},
				Agent:    SessionAgentUpdate{Tools: []AgentTool{}, MCPServers: []MCPServer{}},
			},
			body: `{"title":"New title","metadata":{"priority":"high","old_key":null},"agent":{"tools":[],"mcp_servers":[]}}`,
		},
		{
			name: "environment variables and budget",
			params: &SessionUpdateParams{
				EnvironmentVariables: EnvVarMap{"A": "1"},
				Budget:               SessionBudget{Type: "list_cost", MaxListCost: 2.5},
			},
			body: `{"environment_variables":{"A":"1"},"budget":{"type":"list_cost","max_list_cost":2.5}}`,
		},
		{
			name:   "agent tools only; empty title clears",
			params: &SessionUpdateParams{Title: Ptr(""), Agent: SessionAgentUpdate{Tools: []AgentTool{AgentToolset(ToolRead)}}},
			body:   `{"title":"","agent":{"tools":[{"type":"agent_toolset_20260401","enabled_tools":["Read"]}]}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "sess_019ef30a4f0275678965d496ab542ef0", r.PathValue("id"))
				assertJSONBody(t, r, tt.body)
				serveFixture(t, w, http.StatusOK, "sessions/session_updated.json")
			})
			s, err := client.Sessions.Update(t.Context(), "sess_019ef30a4f0275678965d496ab542ef0", tt.params)
			require.NoError(t, err)
			assert.Equal(t, "New title", s.Title)
			assert.Equal(t, map[string]string{"priority": "high"}, s.Metadata)
		})
	}
}

func TestSessionsService_List(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("GET /api-test/sessions", func(w http.ResponseWriter, r *http.Request) {
		resAssertQuery(t, r, url.Values{
			"limit":            {"5"},
			"before_id":        {"sess_z"},
			"order":            {"asc"},
			"agent_id":         {"agent_1"},
			"agent_version":    {"3"},
			"deployment_id":    {"dep_1"},
			"memory_store_id":  {"memstore_1"},
			"statuses[]":       {"idle", "running"},
			"include_archived": {"true"},
			"created_at[gt]":   {"2026-01-01T00:00:00Z"},
			"created_at[gte]":  {"2026-01-02T00:00:00Z"},
			"created_at[lt]":   {"2026-02-01T00:00:00Z"},
			"created_at[lte]":  {"2026-02-02T00:00:00Z"},
		})
		assert.Contains(t, r.URL.RawQuery, "statuses%5B%5D=idle&statuses%5B%5D=running")
		serveFixture(t, w, http.StatusOK, "sessions/list_page1.json")
	})
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	page, err := client.Sessions.List(t.Context(), &SessionListParams{
		Limit: 5, BeforeID: "sess_z", Order: "asc", AgentID: "agent_1", AgentVersion: 3,
		DeploymentID: "dep_1", MemoryStoreID: "memstore_1",
		Statuses:        []SessionStatus{SessionStatusIdle, SessionStatusRunning},
		IncludeArchived: true,
		CreatedAtGt:     day(1, 1), CreatedAtGte: day(1, 2), CreatedAtLt: day(2, 1), CreatedAtLte: day(2, 2),
	})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	assert.Equal(t, SessionStatusRunning, page.Data[0].Status)
	assert.Equal(t, SessionStats{ActiveSeconds: 3, DurationSeconds: 10}, page.Data[0].Stats)
	assert.True(t, page.HasMore)
	assert.Empty(t, page.NextPage)
}

func TestSessionsService_All(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	var calls int
	mux.HandleFunc("GET /api-test/sessions", func(w http.ResponseWriter, r *http.Request) {
		calls++
		switch calls {
		case 1:
			resAssertQuery(t, r, url.Values{"statuses[]": {"idle", "terminated"}})
			serveFixture(t, w, http.StatusOK, "sessions/list_page1.json")
		case 2:
			resAssertQuery(t, r, url.Values{"statuses[]": {"idle", "terminated"}, "after_id": {testSessionID}})
			serveFixture(t, w, http.StatusOK, "sessions/list_page2.json")
		default:
			t.Errorf("unexpected request %d", calls)
		}
	})
	params := &SessionListParams{Statuses: []SessionStatus{SessionStatusIdle, SessionStatusTerminated}}
	sessions, err := resCollect(client.Sessions.All(t.Context(), params))
	require.NoError(t, err)
	assert.Equal(t, []SessionStatus{SessionStatusRunning, SessionStatusTerminated},
		resIDs(sessions, func(s Session) SessionStatus { return s.Status }))
	assert.Zero(t, sessions[1].Stats, "stats: null decodes to zero")
	assert.Empty(t, params.AfterID, "params must not change")
}

func TestSessionsService_Delete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   DeletedSession
	}{
		{"object", http.StatusOK, `{"id":"` + testSessionID + `","type":"session_deleted"}`, DeletedSession{ID: testSessionID, Type: "session_deleted"}},
		{"legacy deleted flag", http.StatusOK, `{"id":"` + testSessionID + `","type":"session","deleted":true}`,
			DeletedSession{ID: testSessionID, Type: "session", Deleted: true}},
		{"empty 204", http.StatusNoContent, "", DeletedSession{ID: testSessionID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("DELETE /api-test/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, testSessionID, r.PathValue("id"))
				if tt.body == "" {
					w.WriteHeader(tt.status)
					return
				}
				serveJSON(t, w, tt.status, tt.body)
			})
			got, err := client.Sessions.Delete(t.Context(), testSessionID)
			require.NoError(t, err)
			assert.Equal(t, tt.want, withoutRaw(*got))
		})
	}
}

func TestSessionsService_Archive(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.HandleFunc("POST /api-test/sessions/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "sess_019ef30a4f0275678965d496ab542ef0", r.PathValue("id"))
		assert.Empty(t, r.Header.Get("Content-Type"))
		serveFixture(t, w, http.StatusOK, "sessions/session_archived.json")
	})
	s, err := client.Sessions.Archive(t.Context(), "sess_019ef30a4f0275678965d496ab542ef0")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 6, 23, 5, 53, 7, 524734000, time.UTC), s.ArchivedAt)
	assert.Equal(t, 2.5, s.Usage.TotalCredits)
	assert.NotNil(t, s.EnvironmentVariables)
	assert.Empty(t, s.EnvironmentVariables)
}

func TestSessionsService_Cancel(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusAccepted, http.StatusOK} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			client, mux := newTestClient(t)
			mux.HandleFunc("POST /api-test/sessions/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "sess_019ef30a4f0275678965d496ab542ef0", r.PathValue("id"))
				assert.Empty(t, r.Header.Get("Content-Type"), "cancel sends no body")
				serveFixture(t, w, status, "sessions/cancel.json")
			})
			got, err := client.Sessions.Cancel(t.Context(), "sess_019ef30a4f0275678965d496ab542ef0")
			require.NoError(t, err)
			assert.Equal(t, SessionCancelResult{ID: "sess_019ef30a4f0275678965d496ab542ef0", Type: "session",
				Status: SessionStatusCanceling}, withoutRaw(*got))
		})
	}
}

func TestAgentRef_JSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ref  AgentRef
		wire string
	}{
		{"latest", AgentRef{ID: "agent_1"}, `"agent_1"`},
		{"pinned", AgentRef{ID: "agent_1", Version: 4}, `{"type":"agent","id":"agent_1","version":4}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := json.Marshal(tt.ref)
			require.NoError(t, err)
			assert.JSONEq(t, tt.wire, string(data))
			var back AgentRef
			require.NoError(t, json.Unmarshal([]byte(tt.wire), &back))
			assert.Equal(t, tt.ref, back)
		})
	}
	t.Run("object without version, null, invalid", func(t *testing.T) {
		t.Parallel()
		var r AgentRef
		require.NoError(t, json.Unmarshal([]byte(`{"id":"agent_2","type":"agent"}`), &r))
		assert.Equal(t, AgentRef{ID: "agent_2"}, r)
		require.NoError(t, json.Unmarshal([]byte(`null`), &r))
		assert.Equal(t, AgentRef{ID: "agent_2"}, r)
		assert.Error(t, json.Unmarshal([]byte(`7`), &r))
	})
}

func TestEnvVars(t *testing.T) {
	t.Parallel()
	t.Run("encodings", func(t *testing.T) {
		t.Parallel()
		for wire, v := range map[string]EnvVars{
			`{"A":"1","B":"x=y"}`: EnvVarMap{"A": "1", "B": "x=y"},
			`"A=1;B=x=y"`:         EnvVarString("A=1;B=x=y"),
		} {
			data, err := json.Marshal(struct {
				V EnvVars `json:"v"`
			}{v})
			require.NoError(t, err)
			assert.JSONEq(t, `{"v":`+wire+`}`, string(data))
		}
	})
	t.Run("map decodes from both forms", func(t *testing.T) {
		t.Parallel()
		tests := map[string]EnvVarMap{
			`{"A":"1"}`:                {"A": "1"},
			`"A=1;B=two words\nC=="`:   {"A": "1", "B": "two words", "C": "="},
			`" A = 1 ;;\r\n"`:          {"A": " 1 "},
			`""`:                       {},
			`{}`:                       {},
			`null`:                     nil,
			`{"A":"1","B":"2","C":""}`: {"A": "1", "B": "2", "C": ""},
		}
		for wire, want := range tests {
			var m EnvVarMap
			require.NoError(t, json.Unmarshal([]byte(wire), &m), wire)
			assert.Equal(t, want, m, wire)
		}
	})
	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		var m EnvVarMap
		assert.ErrorContains(t, json.Unmarshal([]byte(`"NOVALUE"`), &m), `"NOVALUE" is not KEY=VALUE`)
		assert.ErrorContains(t, json.Unmarshal([]byte(`"=x"`), &m), "is not KEY=VALUE")
		assert.Error(t, json.Unmarshal([]byte(`{"A":1}`), &m))
		assert.Error(t, json.Unmarshal([]byte(`[1]`), &m))
	})
}

func TestSessionsService_nilParams(t *testing.T) {
	t.Parallel()
	client, mux := newTestClient(t)
	mux.Handle("/", failHandler(t))
	_, err := client.Sessions.Create(t.Context(), nil)
	assert.EqualError(t, err, "qoder: session create params are required")
	_, err = client.Sessions.Update(t.Context(), testSessionID, nil)
	assert.EqualError(t, err, "qoder: session update params are required")
}

func TestSessionsService_emptyIDs(t *testing.T) {
	t.Parallel()
	resTestEmptyIDs(t, []resEmptyIDCase{
		{"Get", "session_id", func(ctx context.Context, c *Client) error { _, err := c.Sessions.Get(ctx, ""); return err }},
		{"Update", "session_id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Update(ctx, "", &SessionUpdateParams{})
			return err
		}},
		{"Delete", "session_id", func(ctx context.Context, c *Client) error { _, err := c.Sessions.Delete(ctx, ""); return err }},
		{"Archive", "session_id", func(ctx context.Context, c *Client) error { _, err := c.Sessions.Archive(ctx, ""); return err }},
		{"Cancel", "session_id", func(ctx context.Context, c *Client) error { _, err := c.Sessions.Cancel(ctx, ""); return err }},
	})
}

func TestSessionsService_apiErrors(t *testing.T) {
	t.Parallel()
	resTestAPIErrors(t, []resAPIErrorCase{
		{"Create", "POST /api-test/sessions", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Create(ctx, &SessionCreateParams{Agent: AgentRef{ID: "agent_1"}, EnvironmentID: "env_1"})
			return err
		}},
		{"Get", "GET /api-test/sessions/{id}", func(ctx context.Context, c *Client) error { _, err := c.Sessions.Get(ctx, "sess_x"); return err }},
		{"Update", "POST /api-test/sessions/{id}", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Update(ctx, "sess_x", &SessionUpdateParams{Title: Ptr("t")})
			return err
		}},
		{"List", "GET /api-test/sessions", func(ctx context.Context, c *Client) error { _, err := c.Sessions.List(ctx, nil); return err }},
		{"All", "GET /api-test/sessions", func(ctx context.Context, c *Client) error {
			_, err := resCollect(c.Sessions.All(ctx, nil))
			return err
		}},
		{"Delete", "DELETE /api-test/sessions/{id}", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Delete(ctx, "sess_x")
			return err
		}},
		{"Archive", "POST /api-test/sessions/{id}/archive", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Archive(ctx, "sess_x")
			return err
		}},
		{"Cancel", "POST /api-test/sessions/{id}/cancel", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Cancel(ctx, "sess_x")
			return err
		}},
	})
}
