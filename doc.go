// Package qoder is a Go client for the Qoder Cloud Agents API, a hosted
// runtime for AI agents.
//
// An [Agent] (model, system prompt, tools) runs in an [Environment]
// (container, networking) inside a [Session]. You send the session input
// events, such as a user message, and follow the agent's work as a stream
// of typed events.
//
//	client, err := qoder.NewClient() // reads QODER_PAT
//	if err != nil { ... }
//	turn, err := client.Sessions.Run(ctx, sessionID, "Print Hello World")
//	if err != nil { ... }
//	fmt.Println(turn.Text())
//
// # Authentication
//
// Every request carries "Authorization: Bearer <token>", a personal access
// token (pt-…) or a service account token. [NewClient] takes it from
// [WithToken], else from QODER_PAT, QODER_PERSONAL_ACCESS_TOKEN or
// QODER_ACCESS_TOKEN. The base URL is [DefaultBaseURL] (global region)
// unless [WithBaseURL] or QODER_BASE_URL say otherwise; [BaseURLCN] is the
// China region. Tokens of one region do not work in the other. The token
// is sent only to the base URL's scheme, host and port: a redirect
// elsewhere is followed without it, and only GET requests follow redirects
// at all (never from https to http). It never appears in errors, logs or
// the client's printed form, even where a server echoes it back.
//
// # Requests
//
// Each resource has a service on the [Client]: client.Agents,
// client.Environments, client.Sessions, client.Events, client.Models, with
// nested services such as client.Agents.Versions and
// client.Sessions.Threads. Methods take a context first, then path ids,
// then a params pointer, then per-call [RequestOption]s such as
// [WithIdempotencyKey] and [WithResponseInto]. Optional fields whose zero
// value means something are pointers; set them with [Ptr]. An update field
// the API lets you set to null is a [Nullable]: zero keeps it, [Set] sends a
// value and [Null] sends null. Every resource keeps the JSON it was decoded
// from, so a field the SDK does not type yet is read from its Raw method.
//
// # Errors
//
// A non-2xx response is an [*APIError] carrying the status, the API's error
// type and message, the offending parameter and the request id. Match its
// category with errors.Is and the sentinels:
//
//	var apiErr *qoder.APIError
//	if errors.As(err, &apiErr) { log.Print(apiErr.RequestID) }
//	if errors.Is(err, qoder.ErrNotFound) { ... }
//
// [ErrInvalidRequest] also matches every call the SDK refuses before
// sending anything (an empty path id, nil params where a method needs them,
// an input event that breaks a documented rule), so one errors.Is covers
// local and server rejections alike; errors.As with *APIError tells them
// apart. When the context ends, methods return ctx.Err() itself.
//
// # Retries
//
// Connection errors, 408, 429 and 5xx responses are retried twice by
// default ([WithMaxRetries], [WithRequestMaxRetries]) with exponential
// backoff and jitter (0.5 s doubling to 8 s), honouring Retry-After-Ms and
// Retry-After up to a minute. Every POST carries an Idempotency-Key minted
// once per call and reused on each retry, so writes are retried safely.
// Other 4xx are not retried; the x-should-retry header overrides the
// status, except on 409, which is never retried (a conflict needs a fresh
// read, not a replay). Waits end as soon as the context does.
//
// # Pagination
//
// List returns one [Page]; All returns an iterator over every item, for
// use in a range loop. It follows whichever cursor the API returns (id
// cursors or opaque page tokens), stops fetching when the loop breaks, and
// reports an error rather than looping when a cursor does not advance or
// the server keeps sending empty pages that point at a next one.
//
//	for agent, err := range client.Agents.All(ctx, nil) {
//		if err != nil { return err }
//		fmt.Println(agent.Name)
//	}
//
// # Streaming
//
// [EventsService.Stream] opens a session's Server-Sent Events stream. Every
// frame is decoded into a typed [Event] (*AgentMessageEvent,
// *SessionStatusIdleEvent, …); a type the SDK does not know arrives as
// *UnknownEvent, never dropped. Read the stream from the channel of
// [Stream.Events], with [Stream.Next], or with [Stream.All], then check
// [Stream.Err]. When the connection drops, or is silent for longer than the
// idle timeout, the stream reconnects with Last-Event-ID set to the last
// complete event and drops events the server sends twice. Close ends it
// and its goroutine.
//
// Open the stream before sending a message: a new stream starts at the
// live tail. [SessionsService.Run] does this for you, follows the turn to
// its end, and answers custom tools and tool confirmations through
// handlers ([WithTools], [WithCustomTool], [WithToolConfirmation]).
// [NewTool] makes a custom tool of a Go function: its input schema is
// inferred from the function's input type, and input of the wrong shape
// is answered with an error result before the function runs.
//
// When Run's context ends mid-turn, Run interrupts the turn and waits
// briefly for the session to settle, so the session is ready for the next
// message ([WithoutInterrupt] leaves the turn running instead).
//
// With StreamParams.EventDeltas the stream also delivers *EventStart and
// *EventDelta frames as text is produced; [MessageAccumulator.Delta] turns
// each into just the text it adds and says when a message is complete.
//
// # Files and skills
//
// [FilesService.Upload] sends a file as multipart/form-data written while it
// is sent, so its size does not matter; it retries a failed attempt only
// when the content can be read again (an io.Seeker, or
// FileUploadParams.Open). Attach the file to a session with
// [FileResource]. The artifacts an agent delivers
// (*AgentArtifactDeliveredEvent) are the files [FilesService.Download]
// can fetch: it follows the API's presigned URL without sending the token.
// [SkillsService.Create] uploads a skill built with [SkillFromFS],
// [SkillFromZip] or [SkillFromMarkdown]; the bundle is checked before
// anything is sent.
//
// # Deployments, dreams and self-hosted workers
//
// A deployment ([DeploymentsService]) runs an agent on a cron schedule
// ([CronSchedule]) or on demand: [DeploymentsService.Run] starts a run
// and [DeploymentRunsService.Wait] polls it until it ends, calling
// WaitParams.OnSession once the run's session exists, to follow it with
// [EventsService.Stream]. A dream ([DreamsService]) consolidates sessions
// or a memory store into a memory store; [DreamsService.Wait] follows it
// the same way. A self-hosted environment queues work for workers you run:
// [EnvironmentWorkService] is the queue, and a [Worker] polls it,
// heartbeats each item's lease while its handler works, and stops the item
// when the handler returns; the handler's ctx ends with cause
// [ErrWorkLeaseLost], [ErrWorkStopRequested] or [ErrWorkerShutdown]. The
// qodertest fake runs all three, with a clock tests move on.
//
// # Webhooks
//
// Qoder can post session lifecycle events to your own server. Mount
// [WebhookHandler] (an http.Handler) or call [VerifyWebhook] yourself: both
// check the Webhook-Signature header against your endpoint secret and
// reject deliveries outside a timestamp tolerance, then decode the body
// into a [WebhookEvent] with typed data. [SignWebhook] signs deliveries for
// your own tests, and the qodertest fake delivers them end to end.
package qoder
