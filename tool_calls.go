package qoder

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
)

// toolOutcome is what a custom tool handler returned.
type toolOutcome struct {
	content []ContentBlock
	err     error
}

// callCustomTool answers the custom tool use id with handler. An error or
// a panic of the handler becomes an is_error result.
func (r *turnRunner) callCustomTool(id string, use *AgentCustomToolUseEvent, handler CustomToolHandler) InputEvent {
	out := r.safeCall(r.ctx, use, handler)
	if out.err != nil {
		return UserCustomToolResult{CustomToolUseID: id, Content: []ContentBlock{TextBlock(out.err.Error())}, IsError: true}
	}
	return UserCustomToolResult{CustomToolUseID: id, Content: out.content}
}

// safeCall calls handler, turning a panic into an error (and logging it
// with its stack when the client has a logger).
func (r *turnRunner) safeCall(ctx context.Context, use *AgentCustomToolUseEvent, handler CustomToolHandler) (out toolOutcome) {
	defer func() {
		if v := recover(); v != nil {
			out = toolOutcome{err: fmt.Errorf("tool %s failed: panic: %v", use.Name, v)}
			if logger := r.events.client.logger; logger != nil {
				logger.LogAttrs(ctx, slog.LevelError, "qoder: custom tool handler panicked",
					slog.String("tool", use.Name), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			}
		}
	}()
	content, err := handler(ctx, use)
	return toolOutcome{content: content, err: err}
}
