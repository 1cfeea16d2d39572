// Package qodertest is an in-process fake of the Qoder Cloud Agents API,
// for testing code that uses it without a network or a token.
//
// The fake behaves like the real API as documented, not like a stub: it
// serves every route of the API. Environments, agents (with versions),
// sessions (with their resources and, for multi-agent sessions, their
// threads), models, input events, the event history and the SSE stream,
// files and skills, vaults, memory stores, deployments and their runs,
// dreams and the self-hosted work queue are all there, with the documented
// error envelope, both pagination schemes, idempotency keys, validation,
// the session state machine and stream resumption with Last-Event-ID.
// All state lives in memory.
//
// # Use in tests
//
// [NewServer] starts a fake for one test and closes it at the end; its
// [Server.Client] is a configured *qoder.Client:
//
//	func TestReply(t *testing.T) {
//		srv := qodertest.NewServer(t, qodertest.WithAgent(func(turn *qodertest.Turn) {
//			turn.Think()
//			turn.Say("Hello from the fake")
//		}))
//		client := srv.Client()
//		sessionID := srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))
//
//		turn, err := client.Sessions.Run(t.Context(), sessionID, "Hi")
//		require.NoError(t, err)
//		assert.Equal(t, "Hello from the fake", turn.Text())
//	}
//
// Without [WithAgent] every user.message gets [EchoAgent]'s turn:
// session.status_running, the user.message echo, a model request span with
// agent.thinking, a Bash tool use when the agent's toolset enables Bash,
// agent.message "You said: <text>", then session.status_idle with stop
// reason end_turn.
//
// # Scripting the agent
//
// The function given to [WithAgent] runs in its own goroutine for each
// turn and drives it with [Turn] methods: [Turn.Think], [Turn.Say],
// [Turn.SayDeltas] and [Turn.StartMessage] (incremental frames for streams
// that ask for them),
// [Turn.UseTool], [Turn.CallCustomTool] and [Turn.AskConfirmation] (which
// pause the session with stop reason requires_action until the client
// answers), [Turn.Error], [Turn.Reschedule], [Turn.Terminate] and
// [Turn.Emit] for anything else. Cancelling the turn (POST .../cancel or a
// user.interrupt event) makes later calls no-ops, and the turn ends idle
// with stop reason cancelled.
//
// # Session resources
//
// A session keeps the resources it was created with (files, GitHub
// repositories, memory stores) and the files attached later (POST
// /sessions/{id}/resources, one file resource; the legacy
// {"resources":[...]} body answers with the session), in attach order with
// "sesr_" ids; the list returns them all unless limit (at most 1000) asks
// for pages. Only a file may be attached mid-session: another type or a
// missing file_id is a 400 with the API's "resources[0]: ..." messages, an
// unknown file a 404, a file attached twice or a mount path in use a 409.
// A repository's authorization_token is kept but never shown; an update
// may rotate it and change nothing else (400), and only for a repository.
// A file attached mid-session is mounted where [Turn.ReadFile] reads, and
// detaching it unmounts it.
//
// # Threads
//
// A session whose agent has a multiagent roster is a multi-agent session:
// it gets its coordinator thread when it is created, and its turn starts
// child threads with [Turn.Delegate], which runs a script of its own as
// the thread's turn:
//
//	srv := qodertest.NewServer(t, qodertest.WithAgent(func(turn *qodertest.Turn) {
//		_, reply := turn.Delegate("researcher", "Find the bug", func(thread *qodertest.Turn) {
//			thread.UseTool("Bash", map[string]string{"command": "go test ./..."}, "FAIL: TestParse")
//			thread.Say("TestParse fails")
//		})
//		turn.Say("The researcher says: " + reply)
//	}))
//
// The thread's events carry its session_thread_id: session.thread_created
// and session.thread_status_running, the task as
// agent.thread_message_received, the script's events, its last message
// sent back to the coordinator, and session.thread_status_idle (or
// session.thread_status_terminated when the script calls
// [Turn.Terminate]). The session's events and stream hold every thread's
// events; GET .../threads/{id}/events and .../threads/{id}/stream hold
// one thread's (the coordinator's are the session's own), with the same
// paging, delta frames and Last-Event-ID resumption, and a thread's stream
// ends after its session.thread_status_terminated. A user.interrupt with a
// child's session_thread_id stops that thread only. Archiving a child
// thread stops and terminates it; the coordinator cannot be archived
// (409).
//
// # Faults and assertions
//
// [Server.CutStreams], [Server.SilenceStreams], [Server.FailRequests] and
// [Server.SetLatency] inject the failures a client must survive: dropped
// and stalled streams, gateway errors with Retry-After, slow responses.
// [Server.Requests] shows what the client sent (the Authorization value is
// redacted), and [Server.Session], [Server.Events] and [Server.EventTypes]
// show the server's state.
//
// # Files and skills
//
// Uploads (POST /files, POST /skills, POST /skills/{id}/versions) are
// parsed as multipart while they arrive, within the body limit
// ([WithMaxBodySize]); their content is kept in memory up to
// [WithFileStorageLimit] in all, or not at all with [WithoutFileContent]
// (for benchmarks of large uploads). A missing file part is 400 "Field
// 'file' is required."; a skill zip must hold SKILL.md at its root or one
// directory below, with a name in its front matter, and no path leaving
// the archive. Uploads are not downloadable: [Server.MarkDownloadable]
// makes one so, as [Turn.DeliverArtifact] does for the files the agent
// delivers (with agent.artifact_delivered). GET /files/{id}/content then
// answers with a presigned URL of the fake's own storage, which refuses a
// request that carries an Authorization header (400), a bad signature and
// an expired URL (403). [Turn.ReadFile] reads a file mounted in the
// session; [Server.SeedFile] and [Server.FileContent] store and show
// files without requests.
//
// # Memory stores
//
// Memory stores keep their memories by path: a path already taken is 409,
// content over 100 KiB is 400, and every create, update and delete adds a
// version, newest first in GET /memory_stores/{id}/memory_versions, whose
// content a redact erases for good. Listings take path_prefix (ending in
// "/"), depth (memories deeper than it roll up into memory_prefix items)
// and view (basic leaves out the content; full pages at most 20); a get of
// a memory or a version is in the full view unless view=basic. Memories
// keep their metadata (an update replaces it). Versions filter by
// memory_id, operation, created_at and writer (api_key_id, session_id,
// service_account_id: every write through the fake is by its API key,
// key_qodertest). An update with a content_sha256 precondition (the
// precondition object, or the top-level content_sha256 of the docs'
// example), or a delete with expected_content_sha256, that no longer
// matches the stored content is 409. A session mounts a store at
// /mnt/memory/ and a slug of its name.
//
// # Vaults
//
// Vaults keep their credentials' secrets (token, secret_value,
// access_token, refresh_token, client_secret) but never return them; an
// update takes only the fields of the credential's kind. The legacy flat
// credential ({mcp_server_url, protocol, type: static_bearer,
// access_token}), listed inline in a vault's create or added on its own,
// is kept as a static_bearer credential and shown in the current shape,
// without its token. A session created
// with vault_ids runs the MCP discovery the reference describes: every
// MCP server of its agent needs an active static_bearer or mcp_oauth
// credential with its url in one of the vaults, or the session fails with
// a 400 that says the upstream answered Unauthorized. Validating an
// mcp_oauth credential answers "invalid": the fake has no MCP server to
// probe.
//
// # Webhooks
//
// [Server.AddWebhookEndpoint] registers an endpoint (URL, secret, event
// types or "*"); the fake then POSTs a signed delivery, with the
// documented headers and User-Agent, for each session.created,
// session.updated (title or metadata), session.archived and
// session.deleted, retrying with backoff until it gets a 2xx answer
// ([WithWebhookRetries]). [Server.WaitWebhooks] waits for them and
// [Server.WebhookDeliveries] shows every attempt, so a test can drive its
// own [qoder.WebhookHandler] end to end. Deliveries are signed with the
// Standard Webhooks scheme that [qoder.VerifyWebhook] checks.
//
// # Deployments and dreams
//
// A deployment's run gets a session of the deployment's agent,
// environment, resources and vaults (its deployment_id set) that is sent
// the initial events, so the scripted agent does the run's work: the run
// is recorded pending, is running from the session's first
// session.status_running, and is completed when the turn ends with
// end_turn, or failed when the script raises a terminal or exhausted
// session.error, terminates the session, or the turn is cancelled (error
// type "unknown", with the reason). A second run while one is in flight is
// skipped (metadata.cas_config.config.max_concurrent is 1). A run whose
// agent, environment, vault or resource is archived or gone fails at once
// with the documented cause (agent_archived, vault_not_found, ...) and
// pauses the deployment with paused_reason {type: error}. Cron expressions
// and IANA time zones are checked (400 with the reason); schedules fire
// only when [Server.Advance] moves the fake's clock past a firing time
// (once per deployment and Advance, with trigger schedule), never by
// themselves. Pausing a paused deployment, unpausing an active one,
// running a paused one, and archiving, pausing, running or changing an
// archived one are 409.
//
// A dream runs in a session of its own too: the script gets one
// user.message that starts "Dream <id>: consolidate ..." and names the
// inputs and the instructions. The dream is pending when created, running
// once its turn starts, completed when the turn ends with end_turn (its
// output is a new memory store copied from its first input store, and its
// usage counts about four characters a token), failed on a terminal
// session.error (with that error), or canceled by POST .../cancel, which
// is 409 once the dream has ended.
//
// # Self-hosted work queue
//
// [Server.EnqueueWork] puts items on the queue of a self-hosted
// environment and wakes the polls waiting for one (block_ms, up to 999).
// A poll claims the oldest item for its Worker-ID; an ack starts a 60 s
// lease, heartbeats extend it (desired_ttl_seconds) and move the item to
// active. A heartbeat whose expected_last_heartbeat is not the latest is
// 409, and one for an item nobody holds answers lease_extended false: the
// lease-lost cases [qoder.ErrWorkLeaseLost] matches. A claim that is not
// acknowledged within reclaim_older_than_ms (default 5000) goes to the next
// poller; an item whose lease lapses goes back to the queue, unclaimed.
// A stop moves a held item to stopping (the holder sees it in its next
// heartbeat), and a second stop, force, or the lapse of its lease stops
// it. [Server.WorkItem] shows an item's state.
//
// # Time
//
// [WithClock] pins the fake's clock and [Server.Advance] moves it on:
// leases lapse, claims age and schedules fire in the fake's time, so tests
// need no sleeps. The clock stamps every resource and event, so that a
// pinned clock gives output that does not change from run to run.
//
// # Decisions where the docs are silent
//
//   - Creates answer 201, sending events 202, other calls 200; cancel
//     answers 202 when it stops a turn and 200 when nothing runs.
//   - A Last-Event-ID that is not an event of the session is a 400
//     invalid_request_error.
//   - Input events for an archived or terminated session, a user.message
//     while a turn runs or waits for the client, and an answer to a tool
//     use that is not pending are 409 conflict_error.
//   - Sessions that name a missing agent, environment, file, memory store
//     or vault get 404; an archived agent or environment gets 400.
//   - Agent model ids must come from GET /models ("ultimate", "auto").
//   - Deleting an environment is refused (409) while a session that is not
//     deleted uses it.
//   - Agent updates must send the current version (400 without it, 409
//     when stale), and every accepted update makes a new version.
//   - Sessions in self-hosted environments run the scripted agent like any
//     other; the work queue does not feed them, and user.tool_result is
//     always 409.
//   - Deployments and dreams are created with 201. A deployment checks its
//     agent and environment when it is created or changed, and its vaults
//     and resources when a run starts. Archiving keeps a deployment's
//     status, as recorded. Work items are listed oldest first.
//   - A session holds at most 500 resources (the limit of a deployment's),
//     and each file and memory store once. Resources cannot be attached to
//     or rotated in an archived or terminated session (409), but can be
//     detached, so that a repository's token can be withdrawn.
//   - Only sessions of a multiagent agent have threads; others list none.
//     Threads list oldest first, the coordinator first; before_id is a 400
//     (thread lists page forward only). A thread's stream takes any event
//     of the session as its Last-Event-ID. A thread's turn cannot wait for
//     the client nor start threads of its own. Archiving a thread again
//     answers it unchanged.
//   - Files are listed newest first; ids cannot be combined with page or
//     limit. Uploading a skill whose front matter names an existing skill
//     adds a version to it (as the guide says of re-uploads); a skill's
//     last version cannot be deleted (409: delete the skill); a new
//     version must keep the skill's name. Version strings are upload
//     times in microseconds, like the API's.
//
// cmd/qoder-fake serves the same fake on a local port.
package qodertest
