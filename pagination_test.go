package qoder

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pageTestParams stands in for a resource's list params.
type pageTestParams struct {
	Limit    int    `url:"limit,omitempty"`
	AfterID  string `url:"after_id,omitempty"`
	BeforeID string `url:"before_id,omitempty"`
	Page     string `url:"page,omitempty"`
}

// fakeLister answers from a script of pages keyed by the cursor sent.
type fakeLister struct {
	pages map[string]*Page[string] // key: "after=x", "before=x", "page=x" or "" for the first
	calls []pageTestParams
}

func (f *fakeLister) list(_ context.Context, p *pageTestParams) (*Page[string], error) {
	f.calls = append(f.calls, *p)
	key := ""
	switch {
	case p.Page != "":
		key = "page=" + p.Page
	case p.AfterID != "":
		key = "after=" + p.AfterID
	case p.BeforeID != "":
		key = "before=" + p.BeforeID
	}
	page, ok := f.pages[key]
	if !ok {
		return nil, fmt.Errorf("no page for %q", key)
	}
	return page, nil
}

func collect(t *testing.T, seq func(func(string, error) bool)) ([]string, error) {
	t.Helper()
	var items []string
	for item, err := range seq {
		if err != nil {
			return items, err
		}
		items = append(items, item)
	}
	return items, nil
}

func TestListAll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		params    *pageTestParams
		pages     map[string]*Page[string]
		want      []string
		wantErr   string
		wantCalls int
	}{
		{
			name: "id cursors",
			pages: map[string]*Page[string]{
				"":        {Data: []string{"a", "b"}, FirstID: "a", LastID: "b", HasMore: true},
				"after=b": {Data: []string{"c", "d"}, FirstID: "c", LastID: "d", HasMore: true},
				"after=d": {Data: []string{"e"}, FirstID: "e", LastID: "e"},
			},
			want:      []string{"a", "b", "c", "d", "e"},
			wantCalls: 3,
		},
		{
			name: "opaque page tokens win over id cursors",
			pages: map[string]*Page[string]{
				"":            {Data: []string{"a"}, FirstID: "a", LastID: "a", HasMore: true, NextPage: "page_2"},
				"page=page_2": {Data: []string{"b"}, FirstID: "b", LastID: "b", NextPage: "page_3"},
				"page=page_3": {Data: []string{"c"}},
			},
			want:      []string{"a", "b", "c"},
			wantCalls: 3,
		},
		{
			name:   "backward with before_id",
			params: &pageTestParams{BeforeID: "z"},
			pages: map[string]*Page[string]{
				"before=z": {Data: []string{"x", "y"}, FirstID: "x", LastID: "y", HasMore: true},
				"before=x": {Data: []string{"v", "w"}, FirstID: "v", LastID: "w"},
			},
			want:      []string{"x", "y", "v", "w"},
			wantCalls: 2,
		},
		{
			name: "empty list",
			pages: map[string]*Page[string]{
				"": {Data: []string{}},
			},
			want:      nil,
			wantCalls: 1,
		},
		{
			name: "cursor that does not advance",
			pages: map[string]*Page[string]{
				"":        {Data: []string{"a", "b"}, LastID: "b", HasMore: true},
				"after=b": {Data: []string{"c"}, LastID: "b", HasMore: true},
			},
			want:      []string{"a", "b", "c"},
			wantErr:   `cursor "after:b" did not advance`,
			wantCalls: 2,
		},
		{
			name: "page token that cycles",
			pages: map[string]*Page[string]{
				"":        {Data: []string{"a"}, NextPage: "p1"},
				"page=p1": {Data: []string{"b"}, NextPage: "p2"},
				"page=p2": {Data: []string{"c"}, NextPage: "p1"},
			},
			want:      []string{"a", "b", "c"},
			wantErr:   "did not advance",
			wantCalls: 3,
		},
		{
			name:   "the caller's own cursor coming back",
			params: &pageTestParams{AfterID: "a"},
			pages: map[string]*Page[string]{
				"after=a": {Data: []string{"b"}, LastID: "a", HasMore: true},
			},
			want:      []string{"b"},
			wantErr:   "did not advance",
			wantCalls: 1,
		},
		{
			name: "empty pages that never end",
			pages: map[string]*Page[string]{
				"":        {Data: []string{}, HasMore: true, NextPage: "p1"},
				"page=p1": {Data: []string{}, HasMore: true, NextPage: "p2"},
				"page=p2": {Data: []string{}, HasMore: true, NextPage: "p3"},
				"page=p3": {Data: []string{}, HasMore: true, NextPage: "p4"},
			},
			want:      nil,
			wantErr:   "the server keeps paging without data (3 empty pages in a row",
			wantCalls: 3,
		},
		{
			name: "empty id-cursor pages after items",
			pages: map[string]*Page[string]{
				"":        {Data: []string{"a"}, LastID: "a", HasMore: true},
				"after=a": {Data: nil, LastID: "b", HasMore: true},
				"after=b": {Data: nil, LastID: "c", HasMore: true},
				"after=c": {Data: nil, LastID: "d", HasMore: true},
				"after=d": {Data: nil, LastID: "e", HasMore: true},
			},
			want:      []string{"a"},
			wantErr:   "keeps paging without data",
			wantCalls: 4,
		},
		{
			name: "a few empty pages between items are fine",
			pages: map[string]*Page[string]{
				"":        {Data: []string{"a"}, NextPage: "p1"},
				"page=p1": {Data: []string{}, NextPage: "p2"},
				"page=p2": {Data: []string{}, NextPage: "p3"},
				"page=p3": {Data: []string{"b"}, NextPage: "p4"},
				"page=p4": {Data: []string{}, NextPage: "p5"},
				"page=p5": {Data: []string{}, NextPage: "p6"},
				"page=p6": {Data: []string{"c"}},
			},
			want:      []string{"a", "b", "c"},
			wantCalls: 7,
		},
		{
			name: "has_more without any cursor",
			pages: map[string]*Page[string]{
				"": {Data: []string{"a"}, HasMore: true},
			},
			want:      []string{"a"},
			wantErr:   "carries no cursor",
			wantCalls: 1,
		},
		{
			name: "fetch error ends the sequence",
			pages: map[string]*Page[string]{
				"": {Data: []string{"a"}, LastID: "a", HasMore: true},
			},
			want:      []string{"a"},
			wantErr:   `no page for "after=a"`,
			wantCalls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeLister{pages: tt.pages}
			var before pageTestParams
			if tt.params != nil {
				before = *tt.params
			}
			got, err := collect(t, listAll(t.Context(), tt.params, f.list))
			assert.Equal(t, tt.want, got)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Len(t, f.calls, tt.wantCalls)
			if tt.params != nil {
				assert.Equal(t, before, *tt.params, "the caller's params must not change")
			}
		})
	}
}

func TestListAllStopsWhenTheLoopBreaks(t *testing.T) {
	t.Parallel()
	f := &fakeLister{pages: map[string]*Page[string]{
		"":        {Data: []string{"a", "b"}, LastID: "b", HasMore: true},
		"after=b": {Data: []string{"c"}},
	}}
	var got []string
	for item, err := range listAll(t.Context(), &pageTestParams{Limit: 2}, f.list) {
		require.NoError(t, err)
		got = append(got, item)
		if item == "a" {
			break
		}
	}
	assert.Equal(t, []string{"a"}, got)
	assert.Len(t, f.calls, 1, "no page may be fetched after the loop broke")
	assert.Equal(t, 2, f.calls[0].Limit, "params are passed through")
}

func TestListAllBreakOnError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	calls := 0
	seq := listAll(t.Context(), (*pageTestParams)(nil), func(context.Context, *pageTestParams) (*Page[string], error) {
		calls++
		return nil, boom
	})
	n := 0
	for _, err := range seq {
		n++
		assert.ErrorIs(t, err, boom)
	}
	assert.Equal(t, 1, n, "an error is yielded exactly once")
	assert.Equal(t, 1, calls)
}

func TestListAllOverHTTP(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	var queries []string
	mux.HandleFunc("GET /api-test/things", func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		switch r.URL.Query().Get("after_id") {
		case "":
			serveJSON(t, w, 200, `{"data":["a","b"],"first_id":"a","last_id":"b","has_more":true,"next_page":null}`)
		case "b":
			serveJSON(t, w, 200, `{"data":["c"],"first_id":"c","last_id":"c","has_more":false,"next_page":null}`)
		}
	})
	list := func(ctx context.Context, p *pageTestParams) (*Page[string], error) {
		var page Page[string]
		if err := c.do(ctx, http.MethodGet, literalPath("things"), p, nil, &page); err != nil {
			return nil, err
		}
		return &page, nil
	}
	got, err := collect(t, listAll(t.Context(), &pageTestParams{Limit: 2}, list))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, got)
	assert.Equal(t, []string{"limit=2", "after_id=b&limit=2"}, queries)
}

func TestListAll_pagerThatNeverEnds(t *testing.T) {
	t.Parallel()
	c, mux := newTestClient(t)
	var calls atomic.Int32
	mux.HandleFunc("GET /api-test/agents", func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		// A fresh cursor on every page, and never any data; the test's own
		// bound ends it after 50 pages.
		if n >= 50 {
			serveJSON(t, w, 200, `{"data":[],"has_more":false}`)
			return
		}
		serveJSON(t, w, 200, fmt.Sprintf(`{"data":[],"has_more":true,"next_page":"page_%d"}`, n))
	})
	var items int
	var err error
	for _, err = range c.Agents.All(t.Context(), nil) {
		if err != nil {
			break
		}
		items++
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the server keeps paging without data")
	assert.Zero(t, items)
	assert.EqualValues(t, maxEmptyPages, calls.Load())
}

// TestListAll_longCursorsStayBounded follows 800 pages whose cursors are
// 64 KiB each: remembering them all would hold 50 MiB. It does not run in
// parallel, so that the heap it measures is its own.
func TestListAll_longCursorsStayBounded(t *testing.T) {
	const pages, cursorSize = 800, 64 << 10
	var baseline, peak uint64
	list := func(_ context.Context, p *pageTestParams) (*Page[string], error) {
		n := 0
		if p.Page != "" {
			n, _ = strconv.Atoi(strings.TrimLeft(p.Page, "x"))
		}
		if n == 100 || n == pages-1 {
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if n == 100 {
				baseline = ms.HeapAlloc
			}
			peak = max(peak, ms.HeapAlloc)
		}
		page := &Page[string]{Data: []string{strconv.Itoa(n)}}
		if n < pages-1 {
			page.NextPage = strings.Repeat("x", cursorSize) + strconv.Itoa(n+1)
		}
		return page, nil
	}
	got, err := collect(t, listAll(t.Context(), (*pageTestParams)(nil), list))
	require.NoError(t, err)
	require.Len(t, got, pages)
	assert.Less(t, peak-min(peak, baseline), uint64(16<<20), "the heap grew by %d MiB over %d pages", (peak-min(peak, baseline))>>20, pages)
}

func TestCursorSet(t *testing.T) {
	t.Parallel()
	s := newCursorSet()
	assert.True(t, s.add("after", "a"))
	assert.True(t, s.add("page", "a"), "the kind is part of the cursor")
	assert.False(t, s.add("after", "a"))
	for i := range 3 * cursorMemory {
		require.True(t, s.add("page", strconv.Itoa(i)))
	}
	assert.Len(t, s.seen, cursorMemory)
	assert.Len(t, s.ring, cursorMemory)
	assert.False(t, s.add("page", strconv.Itoa(3*cursorMemory-1)), "a recent cursor is remembered")
	assert.True(t, s.add("page", "0"), "an old one is forgotten")
}

// cursorNames lists the cursor parameters cursorOf finds on a P.
func cursorNames[P any]() []string {
	var p P
	cur := cursorOf(&p)
	var names []string
	for _, c := range []struct {
		name string
		ptr  *string
	}{{cursorTagAfter, cur.AfterID}, {cursorTagBefore, cur.BeforeID}, {cursorTagPage, cur.Page}} {
		if c.ptr != nil {
			names = append(names, c.name)
		}
	}
	return names
}

func TestCursorOf(t *testing.T) {
	t.Parallel()
	all := []string{"after_id", "before_id", "page"}
	tests := []struct {
		params string
		got    []string
		want   []string
	}{
		{"AgentListParams", cursorNames[AgentListParams](), all},
		{"AgentVersionListParams", cursorNames[AgentVersionListParams](), all},
		{"EnvironmentListParams", cursorNames[EnvironmentListParams](), all},
		{"SessionListParams", cursorNames[SessionListParams](), all},
		{"SessionResourceListParams", cursorNames[SessionResourceListParams](), all},
		{"SessionThreadListParams", cursorNames[SessionThreadListParams](), []string{"page"}},
		{"EventListParams", cursorNames[EventListParams](), all},
		{"ModelListParams", cursorNames[ModelListParams](), []string{"after_id", "before_id"}},
		{"a struct without cursors", cursorNames[struct{ Limit int }](), nil},
		{"not a struct", cursorNames[string](), nil},
		{"a named string type is not a cursor", cursorNames[struct {
			AfterID SessionStatus `url:"after_id"`
		}](), nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.got, tt.params)
	}

	p := &AgentListParams{Limit: 50, AfterID: "x", BeforeID: "y", Page: "z"}
	cur := cursorOf(p)
	assert.Same(t, &p.AfterID, cur.AfterID)
	assert.Same(t, &p.BeforeID, cur.BeforeID)
	assert.Same(t, &p.Page, cur.Page)
}
