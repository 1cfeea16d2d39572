package qodertest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// sendEvents accepts a batch of input events: they are validated, given
// ids and recorded (a user.message after session.status_running), and the
// answer lists them. The work they cause happens afterwards.
func (s *Server) sendEvents(c *call) (int, any) {
	inputs, e := parseSendBody(c.body)
	if e != nil {
		return 0, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.sessionByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	data, e := s.accept(ss, inputs)
	if e != nil {
		return 0, e
	}
	return http.StatusAccepted, map[string]any{"data": data}
}

// accept applies a validated batch to ss; s.mu must be held. Nothing is
// recorded unless the whole batch is acceptable.
func (s *Server) accept(ss *session, inputs []input) ([]json.RawMessage, *apiError) {
	switch {
	case !ss.archivedAt.IsZero():
		return nil, conflict("Session '%s' is archived and accepts no new events.", ss.id)
	case ss.status == statusTerminated:
		return nil, conflict("Session '%s' is terminated and accepts no new events.", ss.id)
	}
	message, resume := false, false
	answered := map[string]bool{}
	for _, in := range inputs {
		switch in.typ {
		case "user.message":
			if ss.turn != nil || message {
				if len(ss.pending) > 0 {
					return nil, conflict("Session '%s' is waiting for the client: answer the pending tool use (stop_reason.event_ids) or cancel the turn before sending a user.message.", ss.id)
				}
				return nil, conflict("Session '%s' is %s; send the next user.message after session.status_idle.", ss.id, ss.status)
			}
			message = true
		case "user.interrupt":
			if in.ref != "" {
				if _, e := ss.threadByID(in.ref); e != nil {
					return nil, e
				}
			}
		case "user.tool_confirmation", "user.custom_tool_result", "user.tool_result":
			p, ok := ss.pending[in.ref]
			want := map[string]string{"user.tool_confirmation": "confirm", "user.custom_tool_result": "custom"}[in.typ]
			if !ok || p.kind != want || answered[in.ref] {
				return nil, conflict("No pending tool use '%s' in session '%s' awaits a %s.", in.ref, ss.id, in.typ)
			}
			answered[in.ref] = true
			resume = true
		}
	}

	if message || resume {
		ss.setStatus(statusRunning)
		ss.appendEvent("session.status_running", nil)
	}
	var turn *Turn
	if message {
		turn = s.newTurn(ss, inputs)
		ss.turn = turn
	}
	out := make([]json.RawMessage, 0, len(inputs))
	for _, in := range inputs {
		child := ss.childThread(in.ref) // the thread a user.interrupt stops
		if in.typ != "user.interrupt" {
			child = nil
		}
		out = append(out, ss.appendThreadEvent(child, newID("evt_"), in.typ, in.fields))
		switch in.typ {
		case "user.interrupt":
			if child == nil {
				s.cancelTurn(ss)
			} else if c := child.turn; c != nil {
				c.cancelled = true
				c.cancel()
			}
		case "user.tool_confirmation", "user.custom_tool_result":
			// An earlier user.interrupt of the batch may have cleared it.
			if p, ok := ss.pending[in.ref]; ok {
				delete(ss.pending, in.ref)
				p.answer <- in
			}
		}
	}
	if turn != nil {
		if s.closed {
			turn.cancel()
		} else {
			s.turnWG.Add(1)
			go turn.run(s.cfg.agent)
		}
	}
	return out, nil
}

// listEvents lists a session's buffered events (never delta frames),
// oldest first unless order=desc, filtered by type and processed_at; on
// GET /sessions/{id}/threads/{thread}/events, one thread's.
func (s *Server) listEvents(c *call) (int, any) {
	q := c.r.URL.Query()
	desc, e := orderParam(q, "asc")
	if e != nil {
		return 0, e
	}
	tf, e := parseTimeFilter(q, "created_at")
	if e != nil {
		return 0, e
	}
	types := queryList(q, "type", "types", "types[]")
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, e := s.scopeOf(c.r)
	if e != nil {
		return 0, e
	}
	ss := sc.ss
	kind := "events/" + ss.id + "/" + c.r.PathValue("thread") + "/" + strconv.FormatBool(desc)
	pq, e := parsePage(q, 100, kind, func(param, id string) (int64, *apiError) {
		i, ok := ss.byID[id]
		if !ok || !sc.has(ss.items[i]) {
			return 0, invalid(param, "%s '%s' is not an event of %s.", param, id, sc.name())
		}
		return int64(i), nil
	})
	if e != nil {
		return 0, e
	}
	var entries []entry
	for i, it := range ss.items {
		if it.kind != kindEvent || !sc.has(it) || (len(types) > 0 && !slices.Contains(types, it.typ)) || !tf.match(it.at) {
			continue
		}
		entries = append(entries, entry{seq: int64(i), id: it.id, value: it.data})
	}
	if desc {
		slices.Reverse(entries)
	}
	return http.StatusOK, paginate(entries, desc, pq, kind)
}
