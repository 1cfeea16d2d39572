package qoder

// recentSet remembers the last max keys inserted: a map to look them up
// and a ring that keeps their order. It costs nothing until the first
// insert and grows with the keys, up to max; then each new key pushes out
// the oldest. The zero value with max set is empty and ready.
type recentSet[K comparable] struct {
	max  int
	seen map[K]struct{}
	ring []K // the keys in the order inserted; once full, the oldest is at at
	at   int
}

// contains reports whether k is among the remembered keys.
func (s *recentSet[K]) contains(k K) bool {
	_, ok := s.seen[k]
	return ok
}

// insert remembers k, which must not be remembered already.
func (s *recentSet[K]) insert(k K) {
	if s.seen == nil {
		s.seen = make(map[K]struct{})
	}
	if len(s.ring) < s.max {
		if len(s.ring) == cap(s.ring) {
			grown := make([]K, len(s.ring), min(max(2*len(s.ring), 8), s.max))
			copy(grown, s.ring)
			s.ring = grown
		}
		s.ring = append(s.ring, k)
	} else {
		delete(s.seen, s.ring[s.at])
		s.ring[s.at] = k
		s.at = (s.at + 1) % s.max
	}
	s.seen[k] = struct{}{}
}
