package qodertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Dream statuses.
const (
	dreamPending   = "pending"
	dreamRunning   = "running"
	dreamCompleted = "completed"
	dreamFailed    = "failed"
	dreamCanceled  = "canceled"
)

var dreamStatuses = []string{dreamPending, dreamRunning, dreamCompleted, dreamFailed, dreamCanceled}

// dreamState holds the dreams; the map is made on first use, under s.mu.
type dreamState struct {
	dreams map[string]*dream
}

// dream is a stored dream.
type dream struct {
	id, status, instructions string
	seq                      int64
	inputs                   []json.RawMessage // as sent
	storeIDs, sessionIDs     []string          // what the inputs name
	model                    map[string]string // {id, speed?}
	outputBehavior           json.RawMessage
	outputs                  []map[string]any
	sessionID                string
	usage                    dreamUsage
	err                      *sessionFault
	createdAt, endedAt       time.Time
	archivedAt               time.Time
}

// dreamUsage counts a dream's tokens, about four characters each.
type dreamUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// dreamsMap returns the dreams, making the map on first use; s.mu must be
// held.
func (s *Server) dreamsMap() map[string]*dream {
	if s.dreams.dreams == nil {
		s.dreams.dreams = make(map[string]*dream)
	}
	return s.dreams.dreams
}

// dreamByID returns the dream or a 404; s.mu must be held.
func (s *Server) dreamByID(id string) (*dream, *apiError) {
	d, ok := s.dreamsMap()[id]
	if !ok {
		return nil, notFound("Dream '%s' was not found.", id)
	}
	return d, nil
}

// createDream checks the inputs (memory stores that exist and are not
// archived, sessions that exist) and the model (a catalog id), records the
// dream pending and starts it (see startDream).
func (s *Server) createDream(c *call) (int, any) {
	obj, e := parseBody(c.body)
	if e != nil {
		return 0, e
	}
	f := newFields(obj, "")
	f.only("inputs", "model", "instructions", "output_behavior")
	f.require("inputs")
	f.require("model")
	d := &dream{id: newID("drm_"), status: dreamPending, instructions: f.str("instructions")}
	d.inputs, d.storeIDs, d.sessionIDs = readDreamInputs(f)
	d.model = readDreamModel(f)
	if f.has("output_behavior") {
		f.object("output_behavior")
		d.outputBehavior = compact(obj["output_behavior"])
	}
	if f.failed() {
		return 0, f.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range d.storeIDs {
		m, e := s.memoryStoreByID(id)
		if e != nil {
			return 0, e
		}
		if !m.archivedAt.IsZero() {
			return 0, invalid("inputs", "Memory store '%s' is archived.", id)
		}
	}
	for _, id := range d.sessionIDs {
		if _, e := s.sessionByID(id); e != nil {
			return 0, e
		}
	}
	d.createdAt = s.Now()
	d.seq = s.register("dream", d.id)
	s.dreamsMap()[d.id] = d
	recorded := s.dreamWire(d)
	s.startDream(d)
	return http.StatusCreated, recorded
}

// readDreamInputs reads inputs: one or more {type: memory_store,
// memory_store_id} and {type: sessions, session_ids}.
func readDreamInputs(f *fields) (raws []json.RawMessage, stores, sessions []string) {
	items := f.array("inputs")
	if f.has("inputs") && len(items) == 0 && !f.failed() {
		f.fail("inputs", "field 'inputs' must hold at least one input.")
	}
	for i, raw := range items {
		prefix := fmt.Sprintf("inputs[%d]", i)
		obj, e := asObject(raw, prefix, prefix+": each input must be an object.")
		if e != nil {
			f.err = e
			return nil, nil, nil
		}
		inf := newFields(obj, prefix)
		inf.require("type")
		switch inf.strIn("type", "memory_store", "sessions") {
		case "memory_store":
			inf.only("type", "memory_store_id")
			stores = append(stores, inf.reqStr("memory_store_id"))
		case "sessions":
			inf.only("type", "session_ids")
			inf.require("session_ids")
			ids := inf.strings("session_ids")
			if len(ids) == 0 && !inf.failed() {
				inf.fail("session_ids", "field 'session_ids' must name at least one session.")
			}
			sessions = append(sessions, ids...)
		}
		if inf.failed() {
			f.err = inf.err
			return nil, nil, nil
		}
		raws = append(raws, compact(raw))
	}
	return raws, stores, sessions
}

// readDreamModel reads model: a catalog id, or {id, speed}.
func readDreamModel(f *fields) map[string]string {
	out := map[string]string{}
	switch kind(f.obj["model"]) {
	case "string":
		out["id"] = f.str("model")
	case "object":
		mf := newFields(f.object("model"), "model")
		mf.only("id", "speed")
		out["id"] = mf.reqStr("id")
		if mf.has("speed") {
			out["speed"] = mf.str("speed")
		}
		if mf.failed() && !f.failed() {
			f.err = mf.err
		}
	case "null", "":
	default:
		f.fail("model", "field 'model' must be a model id or an object {\"id\", \"speed\"}.")
	}
	if _, ok := findModel(out["id"]); !ok && !f.failed() {
		f.fail("model", "model '%s' is not available; GET /models lists the models you can use.", out["id"])
	}
	return out
}

// startDream runs the dream in a session of its own, which the scripted
// agent works on like any other: the session gets one user.message,
// "Dream <id>: ...", that names the inputs and the instructions. The dream
// is running from the session's first session.status_running, completed
// when the turn ends with end_turn, and failed when it ends otherwise
// (see watchSession); s.mu must be held.
func (s *Server) startDream(d *dream) {
	a := &agent{id: "agent_dreamer", versions: []agentConfig{{
		name: "dreamer", model: json.RawMessage(fmt.Sprintf("%q", d.model["id"])),
		metadata: map[string]string{}, multiagent: json.RawMessage("null"), version: 1,
	}}}
	ss := s.addSession(a, a.latest(), "")
	ss.title = "Dream " + d.id
	d.sessionID = ss.id
	watchSession(ss, func() {
		if d.status == dreamPending {
			d.status = dreamRunning
		}
	}, func(f *sessionFault) {
		s.endDream(d, ss, f)
	})
	prompt := s.dreamPrompt(d)
	d.usage.InputTokens = tokens(prompt)
	in := input{typ: "user.message", text: prompt, fields: map[string]any{"content": textContent(prompt)}}
	if _, e := s.accept(ss, []input{in}); e != nil {
		ss.onEvent = nil
		s.endDream(d, ss, &sessionFault{typ: "unknown", message: e.message})
	}
}

// dreamPrompt is the message a dream's session gets.
func (s *Server) dreamPrompt(d *dream) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Dream %s: consolidate", d.id)
	for _, id := range d.storeIDs {
		fmt.Fprintf(&b, " memory store %s", id)
	}
	if len(d.sessionIDs) > 0 {
		fmt.Fprintf(&b, " sessions %s", strings.Join(d.sessionIDs, ", "))
	}
	b.WriteString(" into a memory store.")
	if d.instructions != "" {
		b.WriteString(" Instructions: " + d.instructions)
	}
	return b.String()
}

// endDream settles a dream that is still pending or running: completed
// (with its output store) when fault is nil, failed otherwise; s.mu must
// be held.
func (s *Server) endDream(d *dream, ss *session, fault *sessionFault) {
	if d.status != dreamPending && d.status != dreamRunning {
		return
	}
	d.endedAt = s.Now()
	for _, it := range ss.items {
		if it.kind == kindEvent && it.typ == "agent.message" {
			d.usage.OutputTokens += tokens(messageText(it.data))
		}
	}
	if fault != nil {
		d.status, d.err = dreamFailed, fault
		return
	}
	d.status = dreamCompleted
	out := s.dreamOutput(d)
	d.outputs = []map[string]any{{"type": "memory_store", "memory_store_id": out.id, "files_touched": []string{}}}
}

// dreamOutput makes the store a completed dream writes: a copy of its
// first input store (the default output behavior), or a new empty store
// when it read only sessions; s.mu must be held.
func (s *Server) dreamOutput(d *dream) *memoryStore {
	now := s.Now()
	out := &memoryStore{id: newID("memstore_"), name: "Dream " + d.id, metadata: map[string]string{},
		createdAt: now, updatedAt: now, memories: map[string]*memoryEntry{}}
	if len(d.storeIDs) > 0 {
		if in, ok := s.memoryStores()[d.storeIDs[0]]; ok {
			out.name, out.description = in.name+" (dream)", in.description
			for _, m := range in.memories {
				e := &memoryEntry{id: newID("mem_"), path: m.path, content: m.content, createdAt: now, updatedAt: now}
				s.register("memory", e.id)
				out.memories[e.id] = e
				s.writeMemory(out, e, "created", now)
				d.usage.InputTokens += tokens(m.content)
			}
		}
	}
	out.seq = s.register("memory_store", out.id)
	s.memoryStores()[out.id] = out
	return out
}

// tokens estimates the tokens of a text: four characters each.
func tokens(text string) int { return (len(text) + 3) / 4 }

// messageText returns the text blocks of an agent.message event.
func messageText(data json.RawMessage) string {
	var ev struct {
		Content []struct{ Text string } `json:"content"`
	}
	_ = json.Unmarshal(data, &ev)
	var b strings.Builder
	for _, c := range ev.Content {
		b.WriteString(c.Text)
	}
	return b.String()
}

func (s *Server) getDream(c *call) (int, any) {
	return s.onDream(c, func(d *dream) (int, any) { return http.StatusOK, s.dreamWire(d) })
}

// onDream runs fn, with s.mu held, on the dream of the path.
func (s *Server) onDream(c *call, fn func(d *dream) (int, any)) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.dreamByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	return fn(d)
}

// listDreams lists newest first, without archived dreams unless
// include_archived, filtered by statuses (repeatable) and created_at
// bounds.
func (s *Server) listDreams(c *call) (int, any) {
	q := c.r.URL.Query()
	statuses, e := statusesParam(q, dreamStatuses)
	if e != nil {
		return 0, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, e := s.parseResourceList(q, "dream")
	if e != nil {
		return 0, e
	}
	for _, d := range s.dreamsMap() {
		if len(statuses) == 0 || slices.Contains(statuses, d.status) {
			l.add(d.seq, d.id, d.archivedAt, d.createdAt, func() any { return s.dreamWire(d) })
		}
	}
	return l.result()
}

// archiveDream archives a dream of any status; archiving it again is 409.
func (s *Server) archiveDream(c *call) (int, any) {
	return s.onDream(c, func(d *dream) (int, any) {
		if !d.archivedAt.IsZero() {
			return 0, conflict("Dream '%s' is already archived.", d.id)
		}
		d.archivedAt = s.Now()
		return http.StatusOK, s.dreamWire(d)
	})
}

// cancelDream cancels a pending or running dream (its session's turn is
// cancelled too); a dream that has ended is 409.
func (s *Server) cancelDream(c *call) (int, any) {
	return s.onDream(c, func(d *dream) (int, any) {
		if d.status != dreamPending && d.status != dreamRunning {
			return 0, conflict("Dream '%s' is already %s and cannot be canceled.", d.id, d.status)
		}
		d.status, d.endedAt = dreamCanceled, s.Now()
		if ss, ok := s.sessions[d.sessionID]; ok {
			ss.onEvent = nil
			s.cancelTurn(ss)
		}
		return http.StatusOK, s.dreamWire(d)
	})
}

// dreamWire is the wire form, in the recorded key order.
func (s *Server) dreamWire(d *dream) any {
	var session, errObj any
	if d.sessionID != "" {
		session = d.sessionID
	}
	if d.err != nil {
		errObj = map[string]string{"type": d.err.typ, "message": d.err.message}
	}
	outputs := d.outputs
	if outputs == nil {
		outputs = []map[string]any{}
	}
	return struct {
		ID             string            `json:"id"`
		Type           string            `json:"type"`
		Status         string            `json:"status"`
		Inputs         []json.RawMessage `json:"inputs"`
		Outputs        []map[string]any  `json:"outputs"`
		Model          map[string]string `json:"model"`
		Instructions   string            `json:"instructions"`
		OutputBehavior json.RawMessage   `json:"output_behavior,omitempty"`
		SessionID      any               `json:"session_id"`
		Usage          dreamUsage        `json:"usage"`
		Error          any               `json:"error"`
		CreatedAt      string            `json:"created_at"`
		EndedAt        *string           `json:"ended_at"`
		ArchivedAt     *string           `json:"archived_at"`
	}{
		ID: d.id, Type: "dream", Status: d.status, Inputs: d.inputs, Outputs: outputs, Model: d.model,
		Instructions: d.instructions, OutputBehavior: d.outputBehavior, SessionID: session, Usage: d.usage,
		Error: errObj, CreatedAt: timestamp(d.createdAt), EndedAt: nullTime(d.endedAt), ArchivedAt: nullTime(d.archivedAt),
	}
}
