package qoder

import (
	"strings"
	"sync"
)

// routeTable holds the path templates a client has expanded (see
// Client.path), to give a middleware the route of a request
// (RequestInfo.Route) without the ids in its path. The templates are
// constants of the package, so the table stays small: one entry per
// endpoint the program uses.
type routeTable struct {
	mu        sync.RWMutex
	templates map[string][]string // a template and its segments
}

// add records template, a path such as "agents/{agent_id}/versions".
func (t *routeTable) add(template string) {
	t.mu.RLock()
	_, ok := t.templates[template]
	t.mu.RUnlock()
	if ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.templates == nil {
		t.templates = make(map[string][]string)
	}
	t.templates[template] = strings.Split(template, "/")
}

// match returns the template path was expanded from: of the templates
// whose literal segments equal path's and whose placeholders stand where
// path has an id, the one with the most literal segments. A path that
// matches none, such as "agents" (a literal path is its own template), is
// returned as it is.
func (t *routeTable) match(path string) string {
	segments := strings.Split(path, "/")
	t.mu.RLock()
	defer t.mu.RUnlock()
	best, bestLiterals := path, -1
	for template, parts := range t.templates {
		if literals, ok := matchSegments(parts, segments); ok && (literals > bestLiterals || literals == bestLiterals && template < best) {
			best, bestLiterals = template, literals
		}
	}
	return best
}

// matchSegments reports whether the segments of a path fit the parts of a
// template, and how many of the parts are literal.
func matchSegments(parts, segments []string) (int, bool) {
	if len(parts) != len(segments) {
		return 0, false
	}
	literals := 0
	for i, part := range parts {
		switch {
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
			if segments[i] == "" {
				return 0, false
			}
		case part == segments[i]:
			literals++
		default:
			return 0, false
		}
	}
	return literals, true
}
