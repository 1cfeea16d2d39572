package qoder

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAPIErrorMapping(t *testing.T) {
	t.Parallel()
	sentinels := []error{ErrInvalidRequest, ErrAuthentication, ErrPermission, ErrNotFound, ErrConflict, ErrRateLimited, ErrFeatureNotAvailable, ErrServer}
	tests := []struct {
		name        string
		status      int
		contentType string
		header      []string
		body        string
		want        error // the one sentinel that must match; nil: none
		wantType    string
		wantMessage string
		wantParam   string
		wantReqID   string
	}{
		{
			name: "400 with param", status: 400,
			body: `{"type":"error","request_id":"req_1","error":{"type":"invalid_request_error","message":"Missing required field: name","param":"name"}}`,
			want: ErrInvalidRequest, wantType: "invalid_request_error", wantMessage: "Missing required field: name", wantParam: "name", wantReqID: "req_1",
		},
		{
			name: "401", status: 401,
			body: `{"type":"error","request_id":"req_2","error":{"type":"authentication_error","message":"Invalid API key or token."}}`,
			want: ErrAuthentication, wantType: "authentication_error", wantMessage: "Invalid API key or token.", wantReqID: "req_2",
		},
		{
			name: "legacy 401 TOKEN_INVALID maps by status", status: 401,
			body: `{"error":{"type":"TOKEN_INVALID","message":"token invalid"}}`,
			want: ErrAuthentication, wantType: "TOKEN_INVALID", wantMessage: "token invalid",
		},
		{
			name: "403", status: 403,
			body: `{"type":"error","error":{"type":"permission_error","message":"You do not have permission to access this resource."}}`,
			want: ErrPermission, wantType: "permission_error", wantMessage: "You do not have permission to access this resource.",
		},
		{
			name: "404 with the key order reversed", status: 404,
			body: `{"error":{"message":"Agent 'agent_nonexistent' was not found.","type":"not_found_error"},"type":"error","request_id":"req_3"}`,
			want: ErrNotFound, wantType: "not_found_error", wantMessage: "Agent 'agent_nonexistent' was not found.", wantReqID: "req_3",
		},
		{
			name: "404 route not implemented is plain text", status: 404, contentType: "text/plain; charset=utf-8",
			body: "404 page not found\n",
			want: ErrNotFound, wantMessage: "404 page not found",
		},
		{
			name: "409", status: 409,
			body: `{"type":"error","error":{"type":"conflict_error","message":"Idempotency key reused with a different request body."}}`,
			want: ErrConflict, wantType: "conflict_error", wantMessage: "Idempotency key reused with a different request body.",
		},
		{
			name: "429 from the gateway with no body", status: 429, header: []string{"X-Request-Id", "req_hdr"},
			body: "",
			want: ErrRateLimited, wantMessage: "too many requests (empty body)", wantReqID: "req_hdr",
		},
		{
			name: "500 api_error", status: 500,
			body: `{"type":"error","error":{"type":"api_error","message":"internal"}}`,
			want: ErrServer, wantType: "api_error", wantMessage: "internal",
		},
		{
			name: "503 api_error", status: 503,
			body: `{"type":"error","error":{"type":"api_error","message":"model catalog temporarily unavailable"}}`,
			want: ErrServer, wantType: "api_error", wantMessage: "model catalog temporarily unavailable",
		},
		{
			name: "503 feature_not_available", status: 503,
			body: `{"type":"error","error":{"type":"feature_not_available","message":"Browser Use is temporarily disabled"}}`,
			want: ErrFeatureNotAvailable, wantType: "feature_not_available", wantMessage: "Browser Use is temporarily disabled",
		},
		{
			name: "legacy 501 feature_not_available", status: 501,
			body: `{"type":"error","error":{"type":"feature_not_available","message":"needs beta","feature":"vaults","available_from":"vaults-2026-01-01"}}`,
			want: ErrFeatureNotAvailable, wantType: "feature_not_available", wantMessage: "needs beta",
		},
		{
			name: "502 gateway HTML", status: 502, contentType: "text/html",
			body: "<html><body><h1>502 Bad Gateway</h1></body></html>",
			want: ErrServer, wantMessage: "bad gateway (HTML body)",
		},
		{
			name: "418 unknown JSON", status: 418,
			body: `{"weird":true}`,
			want: nil, wantMessage: "i'm a teapot (unrecognised JSON body)",
		},
		{
			name: "top-level message only", status: 400,
			body: `{"message":"bad things"}`,
			want: ErrInvalidRequest, wantMessage: "bad things",
		},
		{
			name: "body request_id wins over header", status: 404, header: []string{"X-Request-Id", "req_hdr"},
			body: `{"type":"error","request_id":"req_body","error":{"type":"not_found_error","message":"gone"}}`,
			want: ErrNotFound, wantType: "not_found_error", wantMessage: "gone", wantReqID: "req_body",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := newTestClient(t, WithMaxRetries(0))
			mux.HandleFunc("/api-test/agents", func(w http.ResponseWriter, r *http.Request) {
				ct := tt.contentType
				if ct == "" {
					ct = "application/json"
				}
				w.Header().Set("Content-Type", ct)
				for i := 0; i+1 < len(tt.header); i += 2 {
					w.Header().Set(tt.header[i], tt.header[i+1])
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			err := c.do(t.Context(), http.MethodPost, literalPath("agents"), nil, map[string]string{}, nil)
			require.Error(t, err)
			var apiErr *APIError
			require.True(t, errors.As(err, &apiErr))
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.wantType, apiErr.Type)
			assert.Equal(t, tt.wantMessage, apiErr.Message)
			assert.Equal(t, tt.wantParam, apiErr.Param)
			assert.Equal(t, tt.wantReqID, apiErr.RequestID)
			assert.Equal(t, tt.body, string(apiErr.Body))
			for _, s := range sentinels {
				assert.Equal(t, s == tt.want, errors.Is(err, s), "errors.Is(err, %v)", s)
			}
			assert.NotContains(t, err.Error(), testToken)
			assert.True(t, strings.HasPrefix(err.Error(), "qoder: POST /agents: "), err.Error())
		})
	}
}

func TestAPIErrorString(t *testing.T) {
	t.Parallel()
	e := &APIError{StatusCode: 400, Type: "invalid_request_error", Message: "name is required", Param: "name", RequestID: "req_123", Method: "POST", Path: "/agents"}
	assert.Equal(t, "qoder: POST /agents: 400 invalid_request_error: name is required (param=name) (request_id=req_123)", e.Error())
	bare := &APIError{StatusCode: 503}
	assert.Equal(t, "qoder: 503", bare.Error())
}

func TestAPIErrorBodyIsCapped(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t, WithMaxRetries(0))
	mux.HandleFunc("/api-test/big", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(strings.Repeat("x", 3<<20)))
	})
	err := c.do(t.Context(), http.MethodGet, literalPath("big"), nil, nil, nil)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Len(t, apiErr.Body, maxErrorBodySize)
	assert.Less(t, len(apiErr.Message), 300, "the message stays readable")
}

// assertNoToken fails if s holds token as sent or as JSON or a query
// escapes it.
func assertNoToken(t *testing.T, token, s, what string) {
	t.Helper()
	quoted, err := json.Marshal(token)
	require.NoError(t, err)
	for _, form := range []string{token, string(quoted[1 : len(quoted)-1]), url.QueryEscape(token)} {
		assert.NotContains(t, s, form, "%s holds the token", what)
	}
}

// assertAPIErrorHasNoToken checks every field of an *APIError in err.
func assertAPIErrorHasNoToken(t *testing.T, token string, err error) {
	t.Helper()
	assertNoToken(t, token, err.Error(), "Error()")
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return
	}
	assertNoToken(t, token, string(apiErr.Body), "Body")
	assertNoToken(t, token, apiErr.Message, "Message")
	assertNoToken(t, token, apiErr.RequestID, "RequestID")
	assertNoToken(t, token, apiErr.Param, "Param")
	assertNoToken(t, token, fmt.Sprint(apiErr.Header), "Header")
}

func TestAPIError_echoedTokenIsRedacted(t *testing.T) {
	t.Parallel()
	envelope := func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		w.Header().Set("X-Request-Id", auth)
		w.Header().Set("X-Echo", auth)
		body, _ := json.Marshal(map[string]any{
			"type": "error", "request_id": auth,
			"error": map[string]string{"type": "authentication_error", "message": "token " + auth + " is invalid", "param": auth},
		})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write(body) // json.Marshal escapes <, > and &
	}
	tests := []struct {
		name    string
		token   string
		handler http.HandlerFunc
		wantIs  error
	}{
		{"JSON error envelope and headers", testToken, envelope, ErrAuthentication},
		{"JSON-escaped token", "pt-<a&b>/c+d", envelope, ErrAuthentication},
		{"plain text body", testToken, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "upstream refused "+r.Header.Get("Authorization")+"\nmore")
		}, ErrServer},
		{"request id header, empty body", testToken, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", r.Header.Get("Authorization"))
			w.WriteHeader(http.StatusInternalServerError)
		}, ErrServer},
		{"unparsable Location", testToken, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "http://[::1"+r.Header.Get("Authorization"))
			w.WriteHeader(http.StatusFound)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := newTestClient(t, WithToken(tt.token), WithMaxRetries(0))
			mux.Handle("/api-test/agents/{id}", tt.handler)
			_, err := c.Agents.Get(t.Context(), testAgentID)
			require.Error(t, err)
			assertAPIErrorHasNoToken(t, tt.token, err)
			assert.Contains(t, err.Error(), redactedText)
			if tt.wantIs != nil {
				assert.ErrorIs(t, err, tt.wantIs)
			}
		})
	}
}

func TestLocalRejectionsMatchErrInvalidRequest(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t)
	ctx := t.Context()
	tests := []struct {
		name    string
		call    func() error
		message string
		event   bool
	}{
		{"empty path id", func() error { _, err := c.Agents.Get(ctx, ""); return err }, "qoder: agent_id is required", false},
		{"nil agent create params", func() error { _, err := c.Agents.Create(ctx, nil); return err }, "qoder: agent create params are required", false},
		{"nil agent update params", func() error { _, err := c.Agents.Update(ctx, "agent_1", nil); return err }, "qoder: agent update params are required", false},
		{"agent version 0", func() error { _, err := c.Agents.GetVersion(ctx, "agent_1", 0); return err }, "qoder: agent version must be 1 or more", false},
		{"nil environment create params", func() error { _, err := c.Environments.Create(ctx, nil); return err }, "qoder: environment create params are required", false},
		{"nil environment update params", func() error { _, err := c.Environments.Update(ctx, "env_1", nil); return err }, "qoder: environment update params are required", false},
		{"nil session create params", func() error { _, err := c.Sessions.Create(ctx, nil); return err }, "qoder: session create params are required", false},
		{"nil session update params", func() error { _, err := c.Sessions.Update(ctx, "sess_1", nil); return err }, "qoder: session update params are required", false},
		{"nil resource add params", func() error { _, err := c.Sessions.Resources.Add(ctx, "sess_1", nil); return err }, "qoder: session resource add params are required", false},
		{"empty session id on send", func() error { _, err := c.Events.SendMessage(ctx, "", "hi"); return err }, "qoder: session_id is required", false},
		{"empty batch", func() error { _, err := c.Events.Send(ctx, "sess_1", nil); return err }, "", true},
		{"broken input event", func() error {
			_, err := c.Events.Send(ctx, "sess_1", []InputEvent{UserMessage{}})
			return err
		}, "", true},
		{"empty message", func() error { _, err := c.Events.SendMessage(ctx, "sess_1", ""); return err }, "", true},
		{"nil deployment create params", func() error { _, err := c.Deployments.Create(ctx, nil); return err }, "qoder: deployment create params are required", false},
		{"nil deployment update params", func() error { _, err := c.Deployments.Update(ctx, "dep_1", nil); return err }, "qoder: deployment update params are required", false},
		{"incomplete deployment schedule", func() error {
			_, err := c.Deployments.Update(ctx, "dep_1", &DeploymentUpdateParams{Schedule: &DeploymentScheduleParams{Type: "cron"}})
			return err
		}, "qoder: a deployment schedule needs type, expression and timezone; missing [expression timezone] (use qoder.CronSchedule)", false},
		{"deployment status with archived", func() error {
			_, err := c.Deployments.List(ctx, &DeploymentListParams{Status: DeploymentStatusActive, IncludeArchived: true})
			return err
		}, "qoder: deployment list: Status cannot be combined with IncludeArchived", false},
		{"runs of another deployment", func() error {
			_, err := c.Deployments.Runs.List(ctx, "dep_1", &DeploymentRunListParams{DeploymentID: "dep_2"})
			return err
		}, `qoder: runs of deployment "dep_1": params.DeploymentID is "dep_2"`, false},
		{"nil dream create params", func() error { _, err := c.Dreams.Create(ctx, nil); return err }, "qoder: dream create params are required", false},
		{"nil work update params", func() error { _, err := c.Environments.Work.Update(ctx, "env_1", "work_1", nil); return err }, "qoder: work update params are required", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call()
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidRequest)
			assert.Equal(t, tt.event, errors.Is(err, ErrInvalidEvent))
			var apiErr *APIError
			assert.False(t, errors.As(err, &apiErr), "a local rejection is not an *APIError")
			if tt.message != "" {
				assert.Equal(t, tt.message, err.Error())
			}
		})
	}
}
