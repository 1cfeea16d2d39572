package qodertest

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cursor is the position of a resource in creation order. Positions are
// kept after deletes so id cursors stay valid.
type cursor struct {
	kind string
	seq  int64
}

// pageQuery is a parsed request for one page.
type pageQuery struct {
	limit     int
	after     int64
	hasAfter  bool
	before    int64
	hasBefore bool
}

// entry is one item of a list, at position seq.
type entry struct {
	seq   int64
	id    string
	value any
}

// listPage is the documented list envelope; it carries both the id
// cursors and the opaque next_page token.
type listPage struct {
	Data     []any   `json:"data"`
	FirstID  *string `json:"first_id"`
	LastID   *string `json:"last_id"`
	HasMore  bool    `json:"has_more"`
	NextPage *string `json:"next_page"`
}

// resolver maps a cursor id from the query (param names it) to its
// position.
type resolver func(param, id string) (int64, *apiError)

// parsePage reads limit (default 20, capped at maxLimit), after_id, before_id
// and page. At most one of the three cursors may be set. tokenKind binds
// page tokens to one list.
func parsePage(q url.Values, maxLimit int, tokenKind string, resolve resolver) (pageQuery, *apiError) {
	pq := pageQuery{limit: 20}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return pq, invalid("limit", "limit must be an integer.")
		}
		if n <= 0 {
			return pq, invalid("limit", "limit must be at least 1.")
		}
		pq.limit = min(n, maxLimit)
	}
	after, before, page := q.Get("after_id"), q.Get("before_id"), q.Get("page")
	set := 0
	for _, v := range []string{after, before, page} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		return pq, invalid("", "Only one of page, after_id and before_id may be set.")
	}
	var e *apiError
	switch {
	case after != "":
		pq.after, e = resolve("after_id", after)
		pq.hasAfter = true
	case before != "":
		pq.before, e = resolve("before_id", before)
		pq.hasBefore = true
	case page != "":
		pq.after, e = decodePageToken(page, tokenKind)
		pq.hasAfter = true
	}
	return pq, e
}

// paginate cuts one page out of entries, which are in list order; desc
// says whether that order is descending by seq.
func paginate(entries []entry, desc bool, pq pageQuery, tokenKind string) listPage {
	// follows reports whether a comes after b in list order.
	follows := func(a, b int64) bool {
		if desc {
			return a < b
		}
		return a > b
	}
	var window []entry
	hasMore := false
	switch {
	case pq.hasBefore:
		var prior []entry
		for _, e := range entries {
			if follows(pq.before, e.seq) {
				prior = append(prior, e)
			}
		}
		if len(prior) > pq.limit {
			hasMore = true
			prior = prior[len(prior)-pq.limit:]
		}
		window = prior
	default:
		rest := entries
		if pq.hasAfter {
			rest = nil
			for _, e := range entries {
				if follows(e.seq, pq.after) {
					rest = append(rest, e)
				}
			}
		}
		if len(rest) > pq.limit {
			hasMore = true
			rest = rest[:pq.limit]
		}
		window = rest
	}
	p := listPage{Data: make([]any, 0, len(window)), HasMore: hasMore}
	for _, e := range window {
		p.Data = append(p.Data, e.value)
	}
	if len(window) > 0 {
		first, last := window[0].id, window[len(window)-1].id
		p.FirstID, p.LastID = &first, &last
		if hasMore && !pq.hasBefore {
			tok := encodePageToken(tokenKind, window[len(window)-1].seq)
			p.NextPage = &tok
		}
	}
	return p
}

// Page tokens are "page_" and the base64 of "<kind>:<seq>": opaque to
// clients, bound to one list.
func encodePageToken(kind string, seq int64) string {
	return "page_" + base64.RawURLEncoding.EncodeToString([]byte(kind+":"+strconv.FormatInt(seq, 10)))
}

func decodePageToken(tok, kind string) (int64, *apiError) {
	bad := invalid("page", "Invalid page token.")
	rest, ok := strings.CutPrefix(tok, "page_")
	if !ok {
		return 0, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return 0, bad
	}
	k, n, ok := strings.Cut(string(raw), ":")
	if !ok || k != kind {
		return 0, bad
	}
	seq, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return 0, bad
	}
	return seq, nil
}

// resourceResolver resolves ids of one resource kind through s.cursors;
// s.mu must be held while it runs.
func (s *Server) resourceResolver(kind string) resolver {
	return func(param, id string) (int64, *apiError) {
		c, ok := s.cursors[id]
		if !ok || c.kind != kind {
			return 0, invalid(param, "%s '%s' is not a known %s id.", param, id, kind)
		}
		return c.seq, nil
	}
}

// boolParam reads an optional boolean query parameter.
func boolParam(q url.Values, name string) (bool, *apiError) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid(name, "%s must be true or false.", name)
	}
	return b, nil
}

// orderParam reads order=asc|desc.
func orderParam(q url.Values, def string) (desc bool, e *apiError) {
	switch v := q.Get("order"); v {
	case "":
		return def == "desc", nil
	case "asc":
		return false, nil
	case "desc":
		return true, nil
	default:
		return false, invalid("order", "order must be 'asc' or 'desc'.")
	}
}

// timeFilter holds the created_at[gt|gte|lt|lte] bounds of a list.
type timeFilter struct {
	gt, gte, lt, lte time.Time
}

func parseTimeFilter(q url.Values, field string) (timeFilter, *apiError) {
	var tf timeFilter
	for _, b := range []struct {
		op  string
		dst *time.Time
	}{{"gt", &tf.gt}, {"gte", &tf.gte}, {"lt", &tf.lt}, {"lte", &tf.lte}} {
		name := field + "[" + b.op + "]"
		v := q.Get(name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return tf, invalid(name, "%s must be an RFC 3339 timestamp.", name)
		}
		*b.dst = t
	}
	return tf, nil
}

func (tf timeFilter) match(t time.Time) bool {
	switch {
	case !tf.gt.IsZero() && !t.After(tf.gt):
		return false
	case !tf.gte.IsZero() && t.Before(tf.gte):
		return false
	case !tf.lt.IsZero() && !t.Before(tf.lt):
		return false
	case !tf.lte.IsZero() && t.After(tf.lte):
		return false
	}
	return true
}

// queryList returns the values of a repeatable parameter given as name,
// name[] or comma-separated.
func queryList(q url.Values, names ...string) []string {
	var out []string
	for _, n := range names {
		for _, v := range q[n] {
			for part := range strings.SplitSeq(v, ",") {
				if part = strings.TrimSpace(part); part != "" {
					out = append(out, part)
				}
			}
		}
	}
	return out
}

// statusesParam reads the repeatable statuses filter, each one of
// allowed.
func statusesParam(q url.Values, allowed []string) ([]string, *apiError) {
	statuses := queryList(q, "statuses", "statuses[]")
	for _, st := range statuses {
		if !slices.Contains(allowed, st) {
			return nil, invalid("statuses", "statuses must be among %s.", quoteList(allowed))
		}
	}
	return statuses, nil
}

// resourceList is the parsed query of a resource list (agents,
// environments, sessions): include_archived, created_at bounds, order
// (newest first by default) and paging.
type resourceList struct {
	archived bool
	created  timeFilter
	desc     bool
	page     pageQuery
	kind     string
	entries  []entry
}

// parseResourceList reads the query of the list of kind (such as "agent"),
// whose pages hold at most 100 items; s.mu must be held, for the cursor
// lookup.
func (s *Server) parseResourceList(q url.Values, kind string) (*resourceList, *apiError) {
	return s.parseResourceListMax(q, kind, 100)
}

// parseResourceListMax is parseResourceList for a list whose pages hold
// at most maxLimit items.
func (s *Server) parseResourceListMax(q url.Values, kind string, maxLimit int) (*resourceList, *apiError) {
	l := &resourceList{kind: kind + "s"}
	var e *apiError
	if l.archived, e = boolParam(q, "include_archived"); e != nil {
		return nil, e
	}
	if l.created, e = parseTimeFilter(q, "created_at"); e != nil {
		return nil, e
	}
	if l.desc, e = orderParam(q, "desc"); e != nil {
		return nil, e
	}
	if l.page, e = parsePage(q, maxLimit, l.kind, s.resourceResolver(kind)); e != nil {
		return nil, e
	}
	return l, nil
}

// add lists an item unless the archive or created_at filters leave it out;
// value is called only for items that are kept.
func (l *resourceList) add(seq int64, id string, archivedAt, createdAt time.Time, value func() any) {
	if (!l.archived && !archivedAt.IsZero()) || !l.created.match(createdAt) {
		return
	}
	l.entries = append(l.entries, entry{seq: seq, id: id, value: value()})
}

// result sorts the kept items and cuts the requested page.
func (l *resourceList) result() (int, any) {
	sortEntries(l.entries, l.desc)
	return http.StatusOK, paginate(l.entries, l.desc, l.page, l.kind)
}

// sessionList serves the list of the things of kind (such as
// "session_thread") that the session a request names holds: entries lists
// them, oldest first. A page holds every item, up to 1000, unless limit
// asks for fewer.
func (s *Server) sessionList(c *call, kind string, entries func(*session) []entry) (int, any) {
	q := c.r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.sessionByID(c.r.PathValue("id"))
	if e != nil {
		return 0, e
	}
	tokenKind := kind + "s/" + ss.id
	pq, e := parsePage(q, 1000, tokenKind, s.resourceResolver(kind))
	if e != nil {
		return 0, e
	}
	if q.Get("limit") == "" {
		pq.limit = 1000
	}
	return http.StatusOK, paginate(entries(ss), false, pq, tokenKind)
}
