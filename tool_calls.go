package qoder

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// WithToolConcurrency lets Run call up to n custom tool handlers at once
// when the agent asks for several tools in one pause (stop reason
// requires_action naming several events). With n of 1 or less, the
// default, handlers run one after another on Run's goroutine. Either way
// the answers go back together, one per tool use; tool confirmations are
// always asked one at a time.
func WithToolConcurrency(n int) RunOption {
	return func(c *runConfig) { c.toolConcurrency = n }
}

// WithToolTimeout gives each custom tool call d to answer. The handler's
// context ends after d; if the handler has not returned by then, the tool
// use is answered with an is_error result saying it timed out, and what
// the handler returns later is dropped (it keeps running until it
// returns, so handlers should heed their context). Zero, the default,
// means no limit.
func WithToolTimeout(d time.Duration) RunOption {
	return func(c *runConfig) { c.toolTimeout = d }
}

// toolCalls runs the custom tool calls of one pause, up to a limit at
// once; with a limit of 1 or less each runs at once on the caller's
// goroutine.
type toolCalls struct {
	wg    sync.WaitGroup
	slots chan struct{}
}

func newToolCalls(limit int) *toolCalls {
	c := &toolCalls{}
	if limit > 1 {
		c.slots = make(chan struct{}, limit)
	}
	return c
}

// run calls fn, on another goroutine when calls may run concurrently, once
// fewer than the limit are running.
func (c *toolCalls) run(fn func()) {
	if c.slots == nil {
		fn()
		return
	}
	c.slots <- struct{}{}
	c.wg.Go(func() {
		defer func() { <-c.slots }()
		fn()
	})
}

// wait returns when every call has returned.
func (c *toolCalls) wait() { c.wg.Wait() }

// toolOutcome is what a custom tool handler returned.
type toolOutcome struct {
	content []ContentBlock
	err     error
}

// callCustomTool answers the custom tool use id with handler. An error,
// a panic or a timeout of the handler becomes an is_error result.
func (r *turnRunner) callCustomTool(id string, use *AgentCustomToolUseEvent, handler CustomToolHandler) InputEvent {
	out := r.runHandler(use, handler)
	if out.err != nil {
		return UserCustomToolResult{CustomToolUseID: id, Content: []ContentBlock{TextBlock(out.err.Error())}, IsError: true}
	}
	return UserCustomToolResult{CustomToolUseID: id, Content: out.content}
}

// runHandler calls handler, within the tool timeout when there is one.
func (r *turnRunner) runHandler(use *AgentCustomToolUseEvent, handler CustomToolHandler) toolOutcome {
	d := r.cfg.toolTimeout
	if d <= 0 {
		return r.safeCall(r.ctx, use, handler)
	}
	ctx, cancel := context.WithTimeout(r.ctx, d)
	defer cancel()
	done := make(chan toolOutcome, 1) // the handler never blocks on it
	go func() { done <- r.safeCall(ctx, use, handler) }()
	select {
	case out := <-done:
		return out
	case <-ctx.Done():
		if err := r.ctx.Err(); err != nil {
			return toolOutcome{err: err}
		}
		return toolOutcome{err: fmt.Errorf("tool %s did not answer within %s", use.Name, d)}
	}
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
