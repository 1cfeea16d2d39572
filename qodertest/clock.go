package qodertest

import "time"

// WithClock sets the fake's clock: now is called whenever the fake needs
// the time of day (default time.Now). Use it to pin the time, for example
// for output that does not change from run to run; [Server.Advance] moves
// the fake's time on from there. The clock stamps every resource and
// event (created_at, updated_at, archived_at, processed_at, ...), times
// presigned download URLs, and drives deployments' schedules, work leases
// and reclaims. Real time still measures what a client's wall clock
// checks: webhook signatures, idempotency key lifetimes, and the delays
// and latencies injected with the fault options.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// Now returns the fake's time: its clock ([WithClock], time.Now by
// default) moved on by every [Server.Advance].
func (s *Server) Now() time.Time {
	return s.cfg.now().Add(time.Duration(s.offset.Load()))
}

// Advance moves the fake's time forward by d and applies what falls due,
// as if that time had passed: work items whose lease ran out go back to
// the queue (or, when a stop was asked for, stop), claims older than a
// poll's reclaim_older_than_ms may be reclaimed, and every active
// deployment whose schedule fired in between runs once, with trigger
// schedule. Real time passing does not fire schedules, so tests stay
// deterministic; only Advance does. A d of zero or less does nothing.
func (s *Server) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset.Add(int64(d))
	now := s.Now()
	s.fireSchedules(now)
	s.expireLeases(now)
	s.work.wake()
}
