package qoder

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"iter"
	"reflect"
	"strings"
	"sync"
)

// Page is one page of a list. The API pages in two ways, and a page may
// carry both: id cursors (FirstID, LastID and HasMore, followed with the
// after_id or before_id parameter) and opaque tokens (NextPage, followed
// with the page parameter). Every All method follows whichever it finds.
type Page[T any] struct {
	resourceJSON

	// Data holds the items of the page; each resource keeps its own JSON
	// (its Raw).
	Data []T `json:"data"`
	// FirstID is the id of the first item; empty when the page is empty.
	FirstID string `json:"first_id"`
	// LastID is the id of the last item; empty when the page is empty.
	LastID string `json:"last_id"`
	// HasMore reports whether more items exist in the paging direction.
	HasMore bool `json:"has_more"`
	// NextPage is the opaque token of the next page, passed back as the
	// page parameter; empty on the last page.
	NextPage string `json:"next_page"`
}

// pageFields is Page without its methods, for decoding.
type pageFields[T any] Page[T]

// UnmarshalJSON decodes a page. When the items keep their JSON (they embed
// resourceJSON), each item is decoded from its own bytes, which become its
// Raw; the items All yields are those same values.
func (p *Page[T]) UnmarshalJSON(data []byte) error {
	if _, keeps := any(new(T)).(rawKeeper); !keeps {
		return json.Unmarshal(data, (*pageFields[T])(p))
	}
	var env pageFields[json.RawMessage]
	if err := json.Unmarshal(data, &env); err != nil {
		return err
	}
	items := make([]T, len(env.Data))
	for i, raw := range env.Data {
		if err := json.Unmarshal(raw, &items[i]); err != nil {
			return fmt.Errorf("data[%d]: %w", i, err)
		}
		keepRawJSON(&items[i], raw)
	}
	if env.Data == nil {
		items = nil
	}
	*p = Page[T]{Data: items, FirstID: env.FirstID, LastID: env.LastID, HasMore: env.HasMore, NextPage: env.NextPage}
	return nil
}

// scrubRaw cleans the page's own JSON the way its items clean theirs.
func (p *Page[T]) scrubRaw(data []byte) []byte {
	if s, ok := any(new(T)).(rawScrubber); ok {
		return s.scrubRaw(data)
	}
	return data
}

// pageCursor points at the cursor fields of a list's params; a nil pointer
// means the list has no such parameter.
type pageCursor struct{ AfterID, BeforeID, Page *string }

// cursorTags name the query parameters that carry a list's cursors; a list
// params struct has a plain string field for each one it supports.
const (
	cursorTagAfter  = "after_id"
	cursorTagBefore = "before_id"
	cursorTagPage   = "page"
)

// cursorFields holds, per list params type, the index of its field for
// each cursor tag (-1 when it has none). It is filled once per type.
var cursorFields sync.Map // reflect.Type → [3]int: after, before, page

// cursorOf points at the cursor fields of *p, found by their url tags, so
// that list params need no method of their own: a new list gets paging in
// All by declaring AfterID, BeforeID and Page (whichever its endpoint
// takes) with those tags.
func cursorOf[P any](p *P) pageCursor {
	t := reflect.TypeFor[P]()
	idx, ok := cursorFields.Load(t)
	if !ok {
		idx, _ = cursorFields.LoadOrStore(t, findCursorFields(t))
	}
	v := reflect.ValueOf(p).Elem()
	field := func(i int) *string {
		if i < 0 {
			return nil
		}
		return v.Field(i).Addr().Interface().(*string)
	}
	i := idx.([3]int)
	return pageCursor{AfterID: field(i[0]), BeforeID: field(i[1]), Page: field(i[2])}
}

// findCursorFields returns the indexes of t's cursor fields: exported
// fields of type string whose url tag names a cursor parameter.
func findCursorFields(t reflect.Type) [3]int {
	idx := [3]int{-1, -1, -1}
	if t.Kind() != reflect.Struct {
		return idx
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Type != reflect.TypeFor[string]() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("url"), ",")
		switch name {
		case cursorTagAfter:
			idx[0] = i
		case cursorTagBefore:
			idx[1] = i
		case cursorTagPage:
			idx[2] = i
		}
	}
	return idx
}

// Limits that make every All end.
const (
	// maxEmptyPages is how many pages in a row may hold no item yet still
	// point at a next page before All gives up: such a server would
	// otherwise be followed forever while the caller's loop, which gets no
	// item, has nothing to break on.
	maxEmptyPages = 3
	// cursorMemory is how many of the latest cursors All remembers (as
	// 64-bit hashes, whatever their length) to notice one that repeats.
	cursorMemory = 1024
)

// listAll is the one helper behind every All method. It copies *params
// (nil means the zero value) so the caller's struct is never modified, then
// fetches page after page with list: through next_page when the response
// has one, else through the id cursor of the paging direction (before_id
// when the caller paged backwards, after_id otherwise). It yields every
// item, stops fetching as soon as the loop breaks, and ends with an error
// instead of looping when a cursor repeats (among the last cursorMemory)
// or when maxEmptyPages pages in a row hold nothing but a next cursor.
func listAll[T, P any](ctx context.Context, params *P, list func(context.Context, *P) (*Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var p P
		if params != nil {
			p = *params
		}
		cur := cursorOf(&p)
		backward := cur.BeforeID != nil && *cur.BeforeID != "" && (cur.AfterID == nil || *cur.AfterID == "")
		seen := newCursorSet()
		for kind, v := range map[string]*string{"page": cur.Page, "after": cur.AfterID, "before": cur.BeforeID} {
			if v != nil && *v != "" {
				seen.add(kind, *v)
			}
		}
		empty := 0
		for {
			page, err := list(ctx, &p)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range page.Data {
				if !yield(item, nil) {
					return
				}
			}
			kind, next, ok, err := nextCursor(page, cur, backward)
			if err != nil || !ok {
				if err != nil {
					var zero T
					yield(zero, err)
				}
				return
			}
			if len(page.Data) == 0 {
				empty++
			} else {
				empty = 0
			}
			switch {
			case empty >= maxEmptyPages:
				err = fmt.Errorf("qoder: pagination: the server keeps paging without data (%d empty pages in a row that point at a next one); stopping", empty)
			case !seen.add(kind, next):
				if len(next) > 64 {
					next = next[:64] + "…"
				}
				err = fmt.Errorf("qoder: pagination cursor %q did not advance; stopping", kind+":"+next)
			}
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
		}
	}
}

// nextCursor moves cur to the page after page. It reports false at the end
// of the list, and returns the new cursor and its kind ("page", "after" or
// "before") so that listAll can notice one that repeats.
func nextCursor[T any](page *Page[T], cur pageCursor, backward bool) (kind, cursor string, ok bool, err error) {
	if page.NextPage == "" && !page.HasMore {
		return "", "", false, nil
	}
	reset := func(s *string) {
		if s != nil {
			*s = ""
		}
	}
	if page.NextPage != "" && cur.Page != nil {
		reset(cur.AfterID)
		reset(cur.BeforeID)
		*cur.Page = page.NextPage
		return "page", page.NextPage, true, nil
	}
	if !page.HasMore {
		return "", "", false, nil
	}
	reset(cur.Page)
	switch {
	case backward && cur.BeforeID != nil && page.FirstID != "":
		*cur.BeforeID = page.FirstID
		return "before", page.FirstID, true, nil
	case !backward && cur.AfterID != nil && page.LastID != "":
		reset(cur.BeforeID)
		*cur.AfterID = page.LastID
		return "after", page.LastID, true, nil
	case !backward && cur.AfterID != nil && page.NextPage != "":
		// A list without a page parameter that still answers with a token.
		*cur.AfterID = page.NextPage
		return "after", page.NextPage, true, nil
	}
	return "", "", false, fmt.Errorf("qoder: pagination: has_more is true but the page carries no cursor")
}

// cursorSet remembers the latest cursorMemory cursors of one listing as
// 64-bit hashes, so that its memory stays bounded however long the cursors
// or the list.
type cursorSet struct {
	seed maphash.Seed
	recentSet[uint64]
}

// newCursorSet returns an empty set.
func newCursorSet() *cursorSet {
	return &cursorSet{seed: maphash.MakeSeed(), recentSet: recentSet[uint64]{max: cursorMemory}}
}

// add records the cursor of the given kind and reports false if it was
// already among the remembered ones.
func (s *cursorSet) add(kind, cursor string) bool {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(kind)
	h.WriteByte(0)
	h.WriteString(cursor)
	sum := h.Sum64()
	if s.contains(sum) {
		return false
	}
	s.insert(sum)
	return true
}
