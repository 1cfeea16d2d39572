package sse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	r3sse "github.com/r3labs/sse/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errBoom = errors.New("boom: connection reset")

// chunkReader returns data in pieces of the given sizes (cycled; nil means
// everything at once), then err (io.EOF when nil).
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
	err   error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = min(n, c.sizes[c.i%len(c.sizes)])
		c.i++
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// dataErrReader returns all of data together with err in a single Read.
type dataErrReader struct {
	data []byte
	err  error
}

func (d *dataErrReader) Read(p []byte) (int, error) {
	n := copy(p, d.data)
	d.data = d.data[n:]
	if len(d.data) == 0 {
		return n, d.err
	}
	return n, nil
}

// readAll calls Next until it fails and returns the frames and the error.
func readAll(t testing.TB, r *Reader) ([]Frame, error) {
	t.Helper()
	var frames []Frame
	for range 1 << 20 {
		f, err := r.Next()
		if err != nil {
			return frames, err
		}
		frames = append(frames, f)
	}
	t.Fatal("reader never ended")
	return nil, nil
}

// fr builds a Frame for table expectations.
func fr(id, event, data string) Frame {
	return Frame{ID: id, Event: event, Data: []byte(data)}
}

// assertFrames compares frames field by field so that a nil and an empty
// Data compare equal and failures show strings.
func assertFrames(t *testing.T, want, got []Frame) {
	t.Helper()
	type plain struct{ ID, Event, Data string }
	conv := func(fs []Frame) []plain {
		out := make([]plain, 0, len(fs))
		for _, f := range fs {
			out = append(out, plain{f.ID, f.Event, string(f.Data)})
		}
		return out
	}
	assert.Equal(t, conv(want), conv(got))
}

func TestReader_Parse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		want      []Frame
		wantErr   error // io.EOF when nil
		wantID    string
		wantRetry time.Duration // checked only when hasRetry
		hasRetry  bool
	}{
		{
			name:   "heartbeats before and after an id'd event",
			in:     ": ping\n\n:\n\nid: evt_1\nevent: agent.message\ndata: {\"t\":\"hi\"}\n\n: ping\n\n:\n\n: heartbeat\n\n",
			want:   []Frame{fr("evt_1", "agent.message", `{"t":"hi"}`)},
			wantID: "evt_1",
		},
		{
			name:   "comment lines inside an event",
			in:     ": before\nid: 1\n: between\ndata: x\n:after\n\n",
			want:   []Frame{fr("1", "", "x")},
			wantID: "1",
		},
		{
			name:   "CRLF",
			in:     "id: evt_1\r\nevent: agent.message\r\ndata: {\"x\":1}\r\n\r\nid: evt_2\r\ndata: b\r\n\r\n",
			want:   []Frame{fr("evt_1", "agent.message", `{"x":1}`), fr("evt_2", "", "b")},
			wantID: "evt_2",
		},
		{
			name:   "bare CR",
			in:     "id: evt_2\revent: agent.message\rdata: {\"x\":2}\r\rdata: next\r\r",
			want:   []Frame{fr("evt_2", "agent.message", `{"x":2}`), fr("evt_2", "", "next")},
			wantID: "evt_2",
		},
		{
			name:   "mixed endings",
			in:     "id: 1\r\ndata: a\n\r\ndata: b\r\rid: 3\ndata: c\r\ndata: d\r\n\ndata: e\n\n",
			want:   []Frame{fr("1", "", "a"), fr("1", "", "b"), fr("3", "", "c\nd"), fr("3", "", "e")},
			wantID: "3",
		},
		{
			name:   "LF then CR is a blank line even where the framer does not split",
			in:     "data: a\n\rdata: b\n\n",
			want:   []Frame{fr("", "", "a"), fr("", "", "b")},
			wantID: "",
		},
		{
			name:   "CR after the last LF at EOF ends the event",
			in:     "data: a\n\r",
			want:   []Frame{fr("", "", "a")},
			wantID: "",
		},
		{
			name:   "BOM at stream start",
			in:     "\xEF\xBB\xBFid: evt_b\ndata: bom\n\n",
			want:   []Frame{fr("evt_b", "", "bom")},
			wantID: "evt_b",
		},
		{
			name:   "only one BOM is stripped",
			in:     "\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n",
			want:   []Frame{fr("", "", "y")},
			wantID: "",
		},
		{
			name: "BOM later in the stream is not stripped",
			in:   "data: x\n\n\xEF\xBB\xBFdata: y\n\n",
			want: []Frame{fr("", "", "x")},
		},
		{
			name: "data without a space",
			in:   "data:x\n\n",
			want: []Frame{fr("", "", "x")},
		},
		{
			name: "two spaces keep one",
			in:   "data:  two\n\n",
			want: []Frame{fr("", "", " two")},
		},
		{
			name: "multi-line data joined with LF",
			in:   "data: a\ndata: b\ndata: c\n\n",
			want: []Frame{fr("", "", "a\nb\nc")},
		},
		{
			name: "empty data line",
			in:   "data: a\ndata:\ndata: b\n\n",
			want: []Frame{fr("", "", "a\n\nb")},
		},
		{
			name: "data alone",
			in:   "data\n\n",
			want: []Frame{fr("", "", "")},
		},
		{
			name: "data alone twice then a line",
			in:   "data\ndata\ndata: x\n\n",
			want: []Frame{fr("", "", "\n\nx")},
		},
		{
			name: "data value with colons",
			in:   "data: a: b:c\n\n",
			want: []Frame{fr("", "", "a: b:c")},
		},
		{
			name:   "id with NUL ignored",
			in:     "id: evt_1\ndata: a\n\nid: evt_\x002\ndata: b\n\n",
			want:   []Frame{fr("evt_1", "", "a"), fr("evt_1", "", "b")},
			wantID: "evt_1",
		},
		{
			name:   "empty id resets",
			in:     "id: evt_1\ndata: a\n\nid:\ndata: b\n\n",
			want:   []Frame{fr("evt_1", "", "a"), fr("", "", "b")},
			wantID: "",
		},
		{
			name:   "id without colon resets",
			in:     "id: evt_1\ndata: a\n\nid\ndata: b\n\n",
			want:   []Frame{fr("evt_1", "", "a"), fr("", "", "b")},
			wantID: "",
		},
		{
			name:   "id is sticky across events",
			in:     "id: evt_1\ndata: a\n\ndata: b\n\n",
			want:   []Frame{fr("evt_1", "", "a"), fr("evt_1", "", "b")},
			wantID: "evt_1",
		},
		{
			name:   "last id in a block wins",
			in:     "id: 1\nid: 2\ndata: a\n\n",
			want:   []Frame{fr("2", "", "a")},
			wantID: "2",
		},
		{
			name:   "id-only block yields nothing but updates the id",
			in:     "id: evt_1\ndata: a\n\nid: evt_7\n\n",
			want:   []Frame{fr("evt_1", "", "a")},
			wantID: "evt_7",
		},
		{
			name:   "id-only block applies to the next event",
			in:     "id: evt_7\n\ndata: a\n\n",
			want:   []Frame{fr("evt_7", "", "a")},
			wantID: "evt_7",
		},
		{
			name:      "retry only",
			in:        "retry: 1500\n\n",
			wantRetry: 1500 * time.Millisecond,
			hasRetry:  true,
		},
		{
			name:      "retry with data",
			in:        "retry:10\ndata: d\n\n",
			want:      []Frame{fr("", "", "d")},
			wantRetry: 10 * time.Millisecond,
			hasRetry:  true,
		},
		{
			name:      "invalid retry keeps the previous value",
			in:        "retry: 1500\n\nretry: 1.5\n\nretry: abc\n\nretry: -5\n\nretry:\n\nretry\n\nretry:  15\n\nretry: 99999999999999999999\n\n",
			wantRetry: 1500 * time.Millisecond,
			hasRetry:  true,
		},
		{
			name: "invalid retry alone",
			in:   "retry: 1.5\n\nretry: abc\n\n",
		},
		{
			name: "unknown field ignored",
			in:   "foo: bar\ndata: x\nDATA: y\nEvent: z\n\n",
			want: []Frame{fr("", "", "x")},
		},
		{
			name: "space before colon is a different field",
			in:   "data : x\n\n",
		},
		{
			name: "event heartbeat frame returned as is",
			in:   "event: heartbeat\ndata: {}\n\n",
			want: []Frame{fr("", "heartbeat", "{}")},
		},
		{
			name:   "unknown event name returned",
			in:     "id: evt_3\nevent: brand.new.type\ndata: {}\n\n",
			want:   []Frame{fr("evt_3", "brand.new.type", "{}")},
			wantID: "evt_3",
		},
		{
			name: "event name is per block",
			in:   "event: a\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n",
			want: []Frame{fr("", "a", "1"), fr("", "", "2"), fr("", "", "3")},
		},
		{
			name:   "event-only block yields nothing",
			in:     "id: evt_4\nevent: agent.done\n\ndata: x\n\n",
			want:   []Frame{fr("evt_4", "", "x")},
			wantID: "evt_4",
		},
		{
			name: "extra blank lines",
			in:   "\n\n\n\ndata: a\n\n\n\r\n\r\r\n",
			want: []Frame{fr("", "", "a")},
		},
		{
			name: "empty stream",
			in:   "",
		},
		{
			name:    "final block without blank line at clean EOF",
			in:      "id: evt_7\ndata: ok\n\nid: evt_8\ndata: {\"partial\":",
			want:    []Frame{fr("evt_7", "", "ok")},
			wantErr: ErrTruncated,
			wantID:  "evt_7",
		},
		{
			name:    "final block ending in a single LF",
			in:      "data: ok\n\ndata: cut\n",
			want:    []Frame{fr("", "", "ok")},
			wantErr: ErrTruncated,
		},
		{
			name:    "final block ending in CRLF",
			in:      "data: cut\r\n",
			wantErr: ErrTruncated,
		},
		{
			name:    "unterminated id-only block does not update the id",
			in:      "id: evt_1\ndata: a\n\nid: evt_9\n",
			want:    []Frame{fr("evt_1", "", "a")},
			wantErr: ErrTruncated,
			wantID:  "evt_1",
		},
		{
			name:      "unterminated retry is not applied",
			in:        "retry: 1\n\nretry: 2",
			wantErr:   ErrTruncated,
			wantRetry: time.Millisecond,
			hasRetry:  true,
		},
		{
			name:    "unterminated comment",
			in:      "data: a\n\n: ping",
			want:    []Frame{fr("", "", "a")},
			wantErr: ErrTruncated,
		},
		{
			name:    "complete event inside the unterminated remainder",
			in:      "data: a\n\rdata: b",
			want:    []Frame{fr("", "", "a")},
			wantErr: ErrTruncated,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, chunks := range [][]int{nil, {1}, {3, 1, 7}} {
				r := NewReader(&chunkReader{data: []byte(tt.in), sizes: chunks}, 0)
				got, err := readAll(t, r)
				wantErr := tt.wantErr
				if wantErr == nil {
					wantErr = io.EOF
				}
				assert.ErrorIs(t, err, wantErr, "chunks %v", chunks)
				assertFrames(t, tt.want, got)
				assert.Equal(t, tt.wantID, r.LastEventID(), "chunks %v", chunks)
				retry, ok := r.Retry()
				assert.Equal(t, tt.hasRetry, ok, "chunks %v", chunks)
				if tt.hasRetry {
					assert.Equal(t, tt.wantRetry, retry, "chunks %v", chunks)
				}
			}
		})
	}
}

func TestReader_RetryAndIDStartEmpty(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader(""), 0)
	d, ok := r.Retry()
	assert.False(t, ok)
	assert.Zero(t, d)
	assert.Empty(t, r.LastEventID())
}

func TestReader_BodyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      func() io.Reader
		want      []Frame
		bodyErr   error
		truncated bool
	}{
		{
			name: "error mid-block",
			body: func() io.Reader {
				return io.MultiReader(strings.NewReader("id: 1\ndata: a\n\nid: 2\ndata: {\"ha"), iotest.ErrReader(errBoom))
			},
			want:      []Frame{fr("1", "", "a")},
			bodyErr:   errBoom,
			truncated: true,
		},
		{
			name: "error mid-block in the same Read as the data",
			body: func() io.Reader {
				return &dataErrReader{data: []byte("id: 1\ndata: a\n\nid: 2\ndata: {\"ha"), err: errBoom}
			},
			want:      []Frame{fr("1", "", "a")},
			bodyErr:   errBoom,
			truncated: true,
		},
		{
			name: "error between blocks",
			body: func() io.Reader {
				return io.MultiReader(strings.NewReader("id: 1\ndata: a\n\n"), iotest.ErrReader(errBoom))
			},
			want:    []Frame{fr("1", "", "a")},
			bodyErr: errBoom,
		},
		{
			name:    "error between blocks in the same Read as the data",
			body:    func() io.Reader { return &dataErrReader{data: []byte("id: 1\ndata: a\n\n"), err: errBoom} },
			want:    []Frame{fr("1", "", "a")},
			bodyErr: errBoom,
		},
		{
			name: "context canceled between blocks",
			body: func() io.Reader {
				return io.MultiReader(strings.NewReader("data: a\n\n: ping\n\n"), iotest.ErrReader(context.Canceled))
			},
			want:    []Frame{fr("", "", "a")},
			bodyErr: context.Canceled,
		},
		{
			name: "context canceled mid-block",
			body: func() io.Reader {
				return io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(context.Canceled))
			},
			want:      []Frame{fr("", "", "a")},
			bodyErr:   context.Canceled,
			truncated: true,
		},
		{
			name:    "deadline exceeded before any byte",
			body:    func() io.Reader { return iotest.ErrReader(context.DeadlineExceeded) },
			bodyErr: context.DeadlineExceeded,
		},
		{
			name: "unexpected EOF mid-block",
			body: func() io.Reader {
				return io.MultiReader(strings.NewReader("data: a"), iotest.ErrReader(io.ErrUnexpectedEOF))
			},
			bodyErr:   io.ErrUnexpectedEOF,
			truncated: true,
		},
		{
			name:    "error after a trailing blank line",
			body:    func() io.Reader { return io.MultiReader(strings.NewReader("data: a\n\n\n"), iotest.ErrReader(errBoom)) },
			want:    []Frame{fr("", "", "a")},
			bodyErr: errBoom,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(tt.body(), 0)
			got, err := readAll(t, r)
			require.Error(t, err)
			assertFrames(t, tt.want, got)
			assert.ErrorIs(t, err, tt.bodyErr)
			assert.NotErrorIs(t, err, io.EOF)
			if tt.truncated {
				assert.ErrorIs(t, err, ErrTruncated)
			} else {
				assert.NotErrorIs(t, err, ErrTruncated)
				assert.Equal(t, tt.bodyErr, err, "the body's error comes back as is")
			}
			_, again := r.Next()
			assert.Equal(t, err, again, "errors are sticky")
		})
	}
}

func TestReader_CleanEOFIsSticky(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("data: a\n\n"), 0)
	_, err := r.Next()
	require.NoError(t, err)
	for range 3 {
		_, err = r.Next()
		assert.Equal(t, io.EOF, err)
	}
}

func TestReader_LargeEventInSmallWrites(t *testing.T) {
	t.Parallel()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	pr, pw := io.Pipe()
	go func() {
		msg := append([]byte("id: evt_big\nevent: agent.message\ndata: "), payload...)
		msg = append(msg, "\n\n"...)
		for len(msg) > 0 {
			n := min(4096, len(msg))
			if _, err := pw.Write(msg[:n]); err != nil {
				return
			}
			msg = msg[n:]
		}
		pw.Close()
	}()
	r := NewReader(pr, 0)
	f, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "evt_big", f.ID)
	assert.Equal(t, "agent.message", f.Event)
	assert.True(t, bytes.Equal(payload, f.Data), "1 MiB payload arrives intact (got %d bytes)", len(f.Data))
	_, err = r.Next()
	assert.Equal(t, io.EOF, err)
}

// event80KB builds one event of 20 data lines of 4,000 bytes each.
func event80KB() (raw []byte, data []byte) {
	line := bytes.Repeat([]byte("x"), 4000)
	var rb, db bytes.Buffer
	rb.WriteString("id: evt_80k\n")
	for i := range 20 {
		rb.WriteString("data: ")
		rb.Write(line)
		rb.WriteString("\n")
		if i > 0 {
			db.WriteByte('\n')
		}
		db.Write(line)
	}
	rb.WriteString("\n")
	return rb.Bytes(), db.Bytes()
}

func TestReader_EventSizeLimit(t *testing.T) {
	t.Parallel()
	raw80, data80 := event80KB()
	hugeComment := append(append([]byte(": "), bytes.Repeat([]byte("c"), 300<<10)...), "\n\n"...)
	tests := []struct {
		name   string
		in     []byte
		max    int
		want   []byte // data of the first frame when accepted
		tooBig bool
		prefix int // frames expected before the error
	}{
		{name: "80 KB of 4 KB lines with the default limit", in: raw80, max: 0, want: data80},
		{name: "80 KB of 4 KB lines at exactly the limit", in: raw80, max: len(data80), want: data80},
		{name: "80 KB of 4 KB lines one byte over the limit", in: raw80, max: len(data80) - 1, tooBig: true},
		{name: "single line at the limit", in: []byte("data: 0123456789\n\n"), max: 10, want: []byte("0123456789")},
		{name: "single line over the limit", in: []byte("data: 0123456789A\n\n"), max: 10, tooBig: true},
		{name: "earlier events still delivered", in: []byte("data: ok\n\ndata: 0123456789A\n\n"), max: 10, tooBig: true, prefix: 1},
		{name: "raw block far over the framer limit", in: hugeComment, max: 1024, tooBig: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(&chunkReader{data: tt.in, sizes: []int{4096}}, tt.max)
			got, err := readAll(t, r)
			if !tt.tooBig {
				assert.Equal(t, io.EOF, err)
				require.Len(t, got, 1)
				assert.True(t, bytes.Equal(tt.want, got[0].Data), "data intact (got %d bytes)", len(got[0].Data))
				return
			}
			assert.ErrorIs(t, err, ErrEventTooLarge)
			assert.Len(t, got, tt.prefix)
			_, again := r.Next()
			assert.ErrorIs(t, again, ErrEventTooLarge, "terminal")
		})
	}
}

func TestNewReader_DefaultLimit(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{0, -1} {
		r := NewReader(strings.NewReader(""), limit)
		assert.Equal(t, 16<<20, r.max)
	}
	assert.Equal(t, 1234, NewReader(strings.NewReader(""), 1234).max)
}

func TestReader_FrameAvailableBeforeWriterCloses(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	r := NewReader(pr, 0)
	writes := make(chan error, 3)
	write := func(s string) {
		go func() {
			_, err := pw.Write([]byte(s))
			writes <- err
		}()
	}

	// A complete frame followed by the start of the next one: the first must
	// come out without waiting for the second.
	write("id: evt_1\nevent: agent.message\ndata: one\n\nid: evt_2\ndata: tw")
	f, err := r.Next()
	require.NoError(t, err)
	assertFrames(t, []Frame{fr("evt_1", "agent.message", "one")}, []Frame{f})
	require.NoError(t, <-writes)

	// The second frame completes when its terminator arrives.
	write("o\n\n")
	f, err = r.Next()
	require.NoError(t, err)
	assertFrames(t, []Frame{fr("evt_2", "", "two")}, []Frame{f})
	require.NoError(t, <-writes)

	// A terminator split across writes.
	go func() {
		for _, s := range []string{"data: three\r\n\r", "\n"} {
			if _, err := pw.Write([]byte(s)); err != nil {
				writes <- err
				return
			}
		}
		writes <- nil
	}()
	f, err = r.Next()
	require.NoError(t, err)
	assertFrames(t, []Frame{fr("evt_2", "", "three")}, []Frame{f})
	require.NoError(t, <-writes)

	pw.CloseWithError(errBoom)
	_, err = r.Next()
	assert.Equal(t, errBoom, err)
}

func TestReader_DataDoesNotAlias(t *testing.T) {
	t.Parallel()
	// Enough bytes after the first event that the framer's 4 KiB buffer
	// wraps around and reuses the memory the first event was read into.
	filler := strings.Repeat("S", 1000)
	in := "data: first-event\n\n" + strings.Repeat("data: "+filler+"\n\n", 10) + "data: a\ndata: b\n\ndata: c\ndata: d\n\n"
	r := NewReader(&chunkReader{data: []byte(in), sizes: []int{5, 700}}, 0)
	frames, err := readAll(t, r)
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, frames, 13)
	assert.Equal(t, "first-event", string(frames[0].Data), "single-line data is not overwritten by later reads")
	for _, f := range frames[1:11] {
		assert.Equal(t, filler, string(f.Data))
	}
	assert.Equal(t, "a\nb", string(frames[11].Data), "multi-line data is not overwritten by the next multi-line frame")
	assert.Equal(t, "c\nd", string(frames[12].Data))
}

func TestReader_ChunkingDoesNotMatter(t *testing.T) {
	t.Parallel()
	turn, err := os.ReadFile("testdata/turn.sse")
	require.NoError(t, err)
	want, err := readAll(t, NewReader(bytes.NewReader(turn), 0))
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, want, 45)

	crlf := bytes.ReplaceAll(turn, []byte("\n"), []byte("\r\n"))
	cr := bytes.ReplaceAll(turn, []byte("\n"), []byte("\r"))
	bodies := []struct {
		name string
		body io.Reader
	}{
		{"one byte", iotest.OneByteReader(bytes.NewReader(turn))},
		{"half", iotest.HalfReader(bytes.NewReader(turn))},
		{"data with EOF", iotest.DataErrReader(bytes.NewReader(turn))},
		{"odd sizes", &chunkReader{data: turn, sizes: []int{7, 1, 13, 2, 101}}},
		{"CRLF", &chunkReader{data: crlf, sizes: []int{3, 1, 64}}},
		{"bare CR", &chunkReader{data: cr, sizes: []int{1, 5, 300}}},
	}
	for _, tt := range bodies {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(tt.body, 0)
			got, err := readAll(t, r)
			assert.ErrorIs(t, err, io.EOF)
			assertFrames(t, want, got)
			assert.Equal(t, "evt_01J0001021XK4Q9", r.LastEventID())
		})
	}
}

// TestTracker_MatchesFramer checks that the tracker's terminator count agrees
// with the blocks the r3labs framer cuts, which Next relies on to tell a
// complete block from the unterminated remainder.
func TestTracker_MatchesFramer(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("\r\n\r\nab")
	for i := range 20000 {
		b := make([]byte, rng.IntN(24))
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		fw := r3sse.NewEventStreamReader(bytes.NewReader(b), 1<<16)
		var raw []string
		for {
			tok, err := fw.ReadEvent()
			if err != nil {
				break
			}
			raw = append(raw, string(tok))
		}

		tr := newTracker(&chunkReader{data: b, sizes: []int{1 + i%5}})
		var ours []string
		var cur []byte
		buf := make([]byte, 3)
		for {
			n, err := tr.Read(buf)
			cur = append(cur, buf[:n]...)
			if tr.terms > int64(len(ours)) {
				ours = append(ours, string(cur))
				cur = nil
			}
			if err != nil {
				break
			}
		}
		if len(cur) > 0 {
			ours = append(ours, string(cur))
		}
		require.Len(t, ours, len(raw), "input %q: framer %q, tracker %q", b, raw, ours)
		for k := range raw {
			require.True(t, strings.HasPrefix(ours[k], raw[k]), "input %q: block %d framer %q, tracker %q", b, k, raw[k], ours[k])
		}
	}
}

func TestIndexEOL(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	eols := []string{"\r", "\n", "\r\n"}
	for range 5000 {
		b := make([]byte, rng.IntN(5000))
		rate := []int{2, 50, 1000, 5000, 1 << 30}[rng.IntN(5)] // one line ending in about rate bytes
		allowed := eols[rng.IntN(len(eols))]
		for j := range b {
			b[j] = 'a' + byte(rng.IntN(26))
			if rng.IntN(rate) == 0 {
				b[j] = allowed[rng.IntN(len(allowed))]
			}
		}
		require.Equal(t, bytes.IndexAny(b, "\r\n"), indexEOL(b), "input %q", b)
	}
}

func TestTracker_ReturnsEarlyOnTerminator(t *testing.T) {
	t.Parallel()
	tr := newTracker(&chunkReader{data: []byte("data: a\n\ndata: b\n\ndata: c"), sizes: []int{4}})
	p := make([]byte, 64)
	n, err := tr.Read(p)
	require.NoError(t, err)
	assert.Equal(t, "data: a\n\n", string(p[:n]), "stops right after the first terminator")
	n, err = tr.Read(p)
	require.NoError(t, err)
	assert.Equal(t, "data: b\n\n", string(p[:n]))
	n, err = tr.Read(p)
	require.NoError(t, err)
	assert.Equal(t, "data: c", string(p[:n]), "fills p while no terminator has arrived, up to the end of the body")
	n, err = tr.Read(p)
	assert.Zero(t, n)
	assert.Equal(t, io.EOF, err)
}

// readSizes records the size of the buffer of every Read of a body: the
// framer's buffer (less what it already holds), since the tracker reads
// straight into it, or the stash while the framer waits for bytes.
type readSizes struct {
	r     io.Reader
	sizes []int
}

func (s *readSizes) Read(p []byte) (int, error) {
	s.sizes = append(s.sizes, len(p))
	return s.r.Read(p)
}

func TestReader_BuffersStartSmall(t *testing.T) {
	t.Parallel()
	body := &readSizes{r: &chunkReader{data: []byte(": heartbeat\n\nid: evt_1\ndata: a\n\n" + strings.Repeat("data: b\n\n", 200)), sizes: []int{100}}}
	r := NewReader(body, 0)
	assert.Nil(t, r.framer, "no framer before the first byte")
	assert.Zero(t, cap(r.src.stash), "no stash before the first byte")
	frames, err := readAll(t, r)
	require.ErrorIs(t, err, io.EOF)
	assert.Len(t, frames, 201)
	require.NotEmpty(t, body.sizes)
	assert.Equal(t, minStash, body.sizes[0], "the first read waits in a small stash")
	for i, n := range body.sizes {
		assert.LessOrEqual(t, n, 4096, "read %d: small events never grow the framer's 4 KiB buffer", i)
	}
	assert.LessOrEqual(t, cap(r.src.stash), minStash, "one read's overflow at most")
}

// TestReader_BuffersShrinkAfterLargeEvent reads a 1 MiB event, a 1 MiB
// event of many lines (which grows the data scratch), then small events,
// in 64 KiB reads that overflow into the stash. The large events arrive
// whole and share the grown framer; after the first small event the
// framer's buffer is back at 4 KiB and neither the stash nor the scratch is
// larger than keepBuffer.
func TestReader_BuffersShrinkAfterLargeEvent(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789abcdef", 1<<16)
	lines := strings.Repeat("x", 1000)
	var multi strings.Builder
	for i := range 1 << 10 {
		if i > 0 {
			multi.WriteString("\n")
		}
		multi.WriteString(lines)
	}
	in := "data: small\n\nid: evt_big\ndata: " + big + "\n\nid: evt_multi\ndata: " + strings.ReplaceAll(multi.String(), "\n", "\ndata: ") + "\n\n" + strings.Repeat("data: after\n\n", 5000)
	body := &readSizes{r: &chunkReader{data: []byte(in), sizes: []int{64 << 10}}}
	r := NewReader(body, 0)

	f, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "small", string(f.Data))
	f, err = r.Next()
	require.NoError(t, err)
	assert.Equal(t, "evt_big", f.ID)
	assert.True(t, big == string(f.Data), "the 1 MiB event arrives whole (got %d bytes)", len(f.Data))
	assert.Greater(t, slices.Max(body.sizes), 64<<10, "the framer grew to hold it")
	grown := r.framer
	f, err = r.Next()
	require.NoError(t, err)
	assert.Equal(t, "evt_multi", f.ID)
	assert.True(t, multi.String() == string(f.Data), "the event of many lines arrives whole (got %d bytes)", len(f.Data))
	assert.Same(t, grown, r.framer, "a run of large events shares the grown framer")

	f, err = r.Next()
	require.NoError(t, err)
	assert.Equal(t, "after", string(f.Data))
	assert.Nil(t, r.framer, "the first small event lets the grown framer go")
	assert.LessOrEqual(t, cap(r.data), keepBuffer, "and the scratch")

	seen := len(body.sizes)
	rest, err := readAll(t, r)
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, rest, 4999)
	for _, f := range rest {
		require.Equal(t, "after", string(f.Data))
	}
	require.Greater(t, len(body.sizes), seen, "the small events were read after the large ones")
	for i, n := range body.sizes[seen:] {
		assert.LessOrEqual(t, n, 4096, "read %d after the large events: a new framer starts at 4 KiB", i)
	}
	assert.LessOrEqual(t, cap(r.src.stash), keepBuffer, "the stash is let go")
}

func TestReader_AllocsPerFrame(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	// An endless stream of typical frames with changing ids.
	var frames [][]byte
	payload := strings.Repeat("x", 480)
	for i := range 16 {
		frames = append(frames, []byte("id: evt_0000"+string(rune('a'+i))+"\nevent: agent.message\ndata: {\"text\":\""+payload+"\"}\n\n: heartbeat\n\n"))
	}
	src := &loopReader{frames: frames}
	r := NewReader(src, 0)
	for range 32 { // warm up: buffers grown, event name interned
		_, err := r.Next()
		require.NoError(t, err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.Next(); err != nil {
			panic(err)
		}
	})
	assert.LessOrEqual(t, allocs, 2.0, "one allocation for Data, one for the new id")
}

// loopReader cycles through frames forever, one frame per Read.
type loopReader struct {
	frames [][]byte
	i      int
	rest   []byte
}

func (l *loopReader) Read(p []byte) (int, error) {
	if len(l.rest) == 0 {
		l.rest = l.frames[l.i%len(l.frames)]
		l.i++
	}
	n := copy(p, l.rest)
	l.rest = l.rest[n:]
	return n, nil
}

func BenchmarkReader(b *testing.B) {
	turn, err := os.ReadFile("testdata/turn.sse")
	require.NoError(b, err)
	b.ReportAllocs()
	b.SetBytes(int64(len(turn)))
	var frames int
	for b.Loop() {
		r := NewReader(bytes.NewReader(turn), 0)
		for {
			_, err := r.Next()
			if err != nil {
				break
			}
			frames++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
}

// BenchmarkReader_Steady measures one frame at a time on a long-lived reader.
func BenchmarkReader_Steady(b *testing.B) {
	turn, err := os.ReadFile("testdata/turn.sse")
	require.NoError(b, err)
	r := NewReader(&loopReader{frames: [][]byte{turn}}, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func largeEvent(size int) []byte {
	msg := make([]byte, 0, size+16)
	msg = append(msg, "data: "...)
	msg = append(msg, bytes.Repeat([]byte("z"), size)...)
	return append(msg, "\n\n"...)
}

// BenchmarkLargeEvent reads one event of 1, 4 and 16 MiB arriving in 16 KiB
// pieces. The time should grow about linearly with the size.
func BenchmarkLargeEvent(b *testing.B) {
	for _, mib := range []int{1, 4, 16} {
		msg := largeEvent(mib << 20)
		b.Run(strconv.Itoa(mib)+"MiB", func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				r := NewReader(&chunkReader{data: msg, sizes: []int{16 << 10}}, 16<<20)
				f, err := r.Next()
				if err != nil || len(f.Data) != mib<<20 {
					b.Fatal(err, len(f.Data))
				}
			}
		})
	}
}

// BenchmarkLargeEvent_R3labsFramer is the same input through the bare r3labs
// framer, for comparison: it is quadratic.
func BenchmarkLargeEvent_R3labsFramer(b *testing.B) {
	for _, mib := range []int{1, 4, 16} {
		msg := largeEvent(mib << 20)
		b.Run(strconv.Itoa(mib)+"MiB", func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				fw := r3sse.NewEventStreamReader(&chunkReader{data: msg, sizes: []int{16 << 10}}, 17<<20)
				tok, err := fw.ReadEvent()
				if err != nil || len(tok) != mib<<20+6 {
					b.Fatal(err, len(tok))
				}
			}
		})
	}
}

// BenchmarkReader_BulkAfterLargeEvent reads 10,000 small events that arrive
// in 1 MiB reads after a 4 MiB event has grown the framer's buffer. Handing
// the framer one block per Read keeps the cost per frame flat; the bare
// framer rescans everything buffered after each block.
func BenchmarkReader_BulkAfterLargeEvent(b *testing.B) {
	msg := largeEvent(4 << 20)
	small := []byte("id: evt_01J0001001XK4Q9\nevent: agent.message\ndata: {\"type\":\"agent.message\",\"content\":[{\"type\":\"text\",\"text\":\"" + strings.Repeat("w", 200) + "\"}]}\n\n")
	const n = 10000
	for range n {
		msg = append(msg, small...)
	}
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		r := NewReader(&chunkReader{data: msg, sizes: []int{1 << 20}}, 0)
		frames, err := readAll(b, r)
		if !errors.Is(err, io.EOF) || len(frames) != n+1 {
			b.Fatal(err, len(frames))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(n+1)), "ns/frame")
}
