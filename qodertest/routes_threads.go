package qodertest

import "net/http"

// listThreads serves GET /sessions/{id}/threads: the coordinator first,
// then its children in the order they started; a session of a single
// agent has none. Thread lists page forward only: before_id is a 400.
func (s *Server) listThreads(c *call) (int, any) {
	if c.r.URL.Query().Get("before_id") != "" {
		return 0, invalid("before_id", "Thread lists page forward only: use page.")
	}
	return s.sessionList(c, "session_thread", func(ss *session) []entry {
		entries := make([]entry, 0, len(ss.threads))
		for _, th := range ss.threads {
			entries = append(entries, entry{seq: th.seq, id: th.id, value: ss.threadWire(th)})
		}
		return entries
	})
}

// getThread serves GET /sessions/{id}/threads/{thread}.
func (s *Server) getThread(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, e := s.scopeOf(c.r)
	if e != nil {
		return 0, e
	}
	return http.StatusOK, sc.ss.threadWire(sc.th)
}

// archiveThread serves POST /sessions/{id}/threads/{thread}/archive: a
// child thread is archived (and stopped and terminated, if it was not);
// archiving it again answers it as it is; the coordinator is a 409.
func (s *Server) archiveThread(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, e := s.scopeOf(c.r)
	if e != nil {
		return 0, e
	}
	if e := sc.ss.archiveThread(sc.th); e != nil {
		return 0, e
	}
	return http.StatusOK, sc.ss.threadWire(sc.th)
}
