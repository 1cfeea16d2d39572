package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/qoder-go/qoder"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Span attributes. The http.* and server.* keys are those of OpenTelemetry's
// semantic conventions for HTTP clients; the qoder.* keys are this example's.
const (
	attrMethod      = "http.request.method"
	attrRoute       = "http.route"
	attrResendCount = "http.request.resend_count"
	attrStatus      = "http.response.status_code"
	attrServer      = "server.address"
	attrRequestID   = "qoder.request_id"
	attrStream      = "qoder.stream"
	attrEvents      = "qoder.stream.events"
	attrEndReason   = "qoder.stream.end_reason"
)

// traceRequests returns a middleware that makes a client span of every HTTP
// attempt the SDK makes: a call retried twice gives three spans, and an
// event stream one span per connection, reconnects included. A span is named
// after the method and the route template ("GET /agents/{agent_id}"), never
// the raw path with its ids, and records the status, the request id and how
// many attempts came before it. A stream connection's span lasts as long as
// the connection and records the events it received and why it ended.
//
// The request a middleware sees carries the Authorization header with the
// token, so this middleware records no header at all, only the values
// above.
func traceRequests(tracer trace.Tracer) qoder.Middleware {
	return func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		info, _ := qoder.RequestInfoFromContext(req.Context())
		route := "/" + info.Route
		if info.Route == "" {
			route = "(presigned download)" // another host, without the token
		}
		attrs := []attribute.KeyValue{
			attribute.String(attrMethod, req.Method),
			attribute.String(attrRoute, route),
			attribute.Int(attrResendCount, info.Attempt),
			attribute.String(attrServer, req.URL.Hostname()),
		}
		if info.Stream {
			attrs = append(attrs, attribute.Bool(attrStream, true))
		}
		ctx, span := tracer.Start(req.Context(), req.Method+" "+route,
			trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
		resp, err := next(req.WithContext(ctx))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "no response")
			span.End()
			return nil, err
		}
		span.SetAttributes(attribute.Int(attrStatus, resp.StatusCode))
		if id := resp.Header.Get("X-Request-Id"); id != "" {
			span.SetAttributes(attribute.String(attrRequestID, id))
		}
		if resp.StatusCode >= 400 {
			span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
		}
		// The span ends when the client closes the body: once it has read
		// a response, or when a stream's connection ends.
		resp.Body = &tracedBody{
			body:   resp.Body,
			span:   span,
			ctx:    req.Context(),
			stream: info.Stream && resp.StatusCode == http.StatusOK,
		}
		return resp, nil
	}
}

// tracedBody is a response body whose Close ends the attempt's span. On a
// stream connection it counts the events that pass through it.
type tracedBody struct {
	body   io.ReadCloser
	span   trace.Span
	ctx    context.Context // the request's, whose cause says why a stream ended
	stream bool

	mu     sync.Mutex
	events sseCounter
	ended  bool
}

// Read reads from the body, counting a stream's events.
func (b *tracedBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if b.stream && n > 0 {
		b.mu.Lock()
		b.events.write(p[:n])
		b.mu.Unlock()
	}
	return n, err
}

// Close closes the body and ends the span, once. The SDK cancels a
// stream connection's request with the reason before it closes the body,
// so context.Cause names it: the stream was closed, a terminal event
// arrived, the connection dropped or went idle.
func (b *tracedBody) Close() error {
	err := b.body.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		return err
	}
	b.ended = true
	if b.stream {
		reason := "closed"
		if cause := context.Cause(b.ctx); cause != nil {
			reason = cause.Error()
		}
		b.span.SetAttributes(attribute.Int(attrEvents, b.events.count), attribute.String(attrEndReason, reason))
	}
	b.span.End()
	return err
}

// sseCounter counts the events of a text/event-stream as its bytes pass:
// the frames that carry data, heartbeats excepted. It keeps only the start
// of the line being read.
type sseCounter struct {
	line  []byte // the start of the current line
	data  bool   // the current frame has data
	name  string // the current frame's event name
	count int
}

// maxLineStart is how much of a line the counter needs to keep: enough for
// "event: " and an event name.
const maxLineStart = 64

// write takes the next bytes of the stream.
func (c *sseCounter) write(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := maxLineStart - len(c.line); room > 0 {
			c.line = append(c.line, chunk[:min(room, len(chunk))]...)
		}
		if i < 0 {
			return
		}
		c.endLine(bytes.TrimSuffix(c.line, []byte("\r")))
		c.line = c.line[:0]
		p = p[i+1:]
	}
}

// endLine handles one complete line (or its start).
func (c *sseCounter) endLine(line []byte) {
	switch {
	case len(line) == 0: // the end of a frame
		if c.data && c.name != "heartbeat" && c.name != "ping" {
			c.count++
		}
		c.data, c.name = false, ""
	case bytes.HasPrefix(line, []byte("data")):
		c.data = true
	case bytes.HasPrefix(line, []byte("event:")):
		c.name = strings.TrimSpace(string(line[len("event:"):]))
	}
}
