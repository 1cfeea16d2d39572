package qodertest

// sessionFault is why a watched session's work failed.
type sessionFault struct {
	typ     string // the session.error's type, or "unknown"
	message string
}

// watchSession follows the work of a session that a deployment run or a
// dream started: started is called at its first session.status_running,
// and ended once, when its turn ends, with nil when the turn ended with
// end_turn and no terminal session.error came first, and the fault
// otherwise (a terminal or exhausted session.error, a cancelled turn, a
// terminated or deleted session). A turn waiting for the client
// (requires_action) has not ended. Both run with s.mu held; after ended
// the session is no longer watched.
func watchSession(ss *session, started func(), ended func(*sessionFault)) {
	var fault *sessionFault
	running := false
	end := func(f *sessionFault) {
		ss.onEvent = nil
		ended(f)
	}
	orFault := func(message string) *sessionFault {
		if fault != nil {
			return fault
		}
		return &sessionFault{typ: "unknown", message: message}
	}
	ss.onEvent = func(typ string, fields map[string]any) {
		switch typ {
		case "session.status_running":
			if !running {
				running = true
				started()
			}
		case "session.error":
			if f := terminalError(fields); f != nil {
				fault = f
			}
		case "session.status_idle":
			switch stopReason(fields) {
			case "requires_action":
			case "cancelled":
				end(orFault("the session's turn was cancelled"))
			default:
				end(fault)
			}
		case "session.status_terminated":
			end(orFault("the session was terminated"))
		case "session.deleted":
			end(orFault("the session was deleted"))
		}
	}
}

// terminalError returns the fault a session.error reports when it ends
// the work (retry_status terminal or exhausted), else nil.
func terminalError(fields map[string]any) *sessionFault {
	e, _ := fields["error"].(map[string]any)
	var retry string
	switch rs := e["retry_status"].(type) {
	case map[string]string:
		retry = rs["type"]
	case map[string]any:
		retry, _ = rs["type"].(string)
	}
	if retry != "terminal" && retry != "exhausted" {
		return nil
	}
	f := &sessionFault{typ: "unknown"}
	if t, _ := e["type"].(string); t != "" {
		f.typ = t
	}
	f.message, _ = e["message"].(string)
	return f
}

// stopReason returns the stop_reason type of a session.status_idle.
func stopReason(fields map[string]any) string {
	switch r := fields["stop_reason"].(type) {
	case map[string]any:
		t, _ := r["type"].(string)
		return t
	case map[string]string:
		return r["type"]
	}
	return ""
}
