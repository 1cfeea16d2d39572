package qoder

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRouteTable_match(t *testing.T) {
	t.Parallel()
	var rt routeTable
	for _, template := range []string{
		"agents/{agent_id}",
		"agents/{agent_id}/versions",
		"environments/{environment_id}/work/{work_id}",
		"environments/{environment_id}/work/stats",
		"sessions/{session_id}/events/stream",
	} {
		rt.add(template)
		rt.add(template) // twice is once
	}
	assert.Len(t, rt.templates, 5)
	tests := []struct{ path, want string }{
		{"agents/agent_1", "agents/{agent_id}"},
		{"agents/a%2Fb/versions", "agents/{agent_id}/versions"},
		{"environments/env_1/work/work_1", "environments/{environment_id}/work/{work_id}"},
		{"environments/env_1/work/stats", "environments/{environment_id}/work/stats"},
		{"sessions/sess_1/events/stream", "sessions/{session_id}/events/stream"},
		{"agents", "agents"},
		{"agents/", "agents/"},
		{"widgets/w_1", "widgets/w_1"},
		{"agents/agent_1/widgets", "agents/agent_1/widgets"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, rt.match(tt.path), tt.path)
	}
}
