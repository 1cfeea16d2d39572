package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	r3sse "github.com/r3labs/sse/v2"
)

const (
	// defaultMaxEventSize is the data limit used when NewReader gets a size <= 0.
	defaultMaxEventSize = 16 << 20
	// framerSlack is added (with an eighth of the limit) to the framer's limit
	// so that field names, ids and comments around a full-size data payload fit.
	framerSlack = 64 << 10
	// maxInternedEvents caps how many distinct event names a Reader keeps.
	maxInternedEvents = 64
	// maxInternedLen is the longest event name a Reader keeps.
	maxInternedLen = 128
	// maxRetryMillis is the largest retry value that fits in a time.Duration.
	maxRetryMillis = math.MaxInt64 / int64(time.Millisecond)
	// keepBuffer is the largest buffer a Reader keeps once the events are
	// small again: a larger one (the framer's, the multi-line data scratch)
	// was grown by a large event and is let go after the next block that
	// did not need it, so that a stream holds what its usual events need,
	// not what its largest one needed, while a run of large events reuses
	// the grown buffers.
	keepBuffer = 16 << 10
)

var bom = []byte("\xEF\xBB\xBF")

// Frame is one dispatched SSE event.
type Frame struct {
	ID    string // the last event ID in effect when the frame was dispatched (sticky per the WHATWG spec; an empty `id:` resets it; an id containing NUL is ignored)
	Event string // the event field; "" when absent
	Data  []byte // data lines joined with "\n"; owned by the caller (never aliases reader buffers)
}

// ErrEventTooLarge is returned by [Reader.Next] when an event's data, or its
// raw block, exceeds the reader's maximum size. It is terminal.
var ErrEventTooLarge = errors.New("sse: event exceeds the maximum size")

// ErrTruncated is returned by [Reader.Next] when the body ended, cleanly or
// with an error, inside a block that had not been terminated by a blank line.
// That block is not returned as a frame and its id and retry fields are not
// applied. When the body failed, the returned error matches both ErrTruncated
// and the body's error with errors.Is.
var ErrTruncated = errors.New("sse: stream ended inside an event")

// Reader reads SSE frames from a body. It is not safe for concurrent use.
type Reader struct {
	src    *tracker
	framer *r3sse.EventStreamReader // created once bytes arrive; nil after a large block
	max    int

	tokens     int64  // blocks taken from the framer
	tok        []byte // current block; aliases the framer's buffer until the next ReadEvent
	pos        int    // parse position in tok
	inTok      bool   // tok has not been fully parsed
	grown      bool   // a block larger than keepBuffer grew the buffers
	lastTok    bool   // tok is the unterminated remainder at the end of the body
	bomChecked bool

	blk  block
	data []byte // joined data when a block has more than one data line

	lastID   string
	retry    time.Duration
	hasRetry bool
	events   map[string]string
	err      error // sticky terminal error
}

// block is the state of the block being parsed. Its slices point into tok.
type block struct {
	id       []byte
	hasID    bool
	event    []byte
	first    []byte // the first data line
	lines    int    // data lines seen
	size     int    // length of the joined data
	retry    time.Duration
	hasRetry bool
	dirty    bool // a non-blank line was seen
}

// NewReader returns a Reader that parses SSE frames from r. maxEventSize
// bounds the data of one event in bytes; maxEventSize <= 0 means 16 MiB.
func NewReader(r io.Reader, maxEventSize int) *Reader {
	if maxEventSize <= 0 {
		maxEventSize = defaultMaxEventSize
	}
	return &Reader{src: newTracker(r), max: maxEventSize}
}

// framerLimit is the raw block size given to the r3labs framer: the data
// limit plus room for "data:" prefixes, line endings, ids and comments.
func framerLimit(dataLimit int) int {
	slack := dataLimit/8 + framerSlack
	if dataLimit > math.MaxInt-slack {
		return math.MaxInt
	}
	return dataLimit + slack
}

// Next returns the next frame that carries data. Blocks without a data
// field update [Reader.LastEventID] and [Reader.Retry] and are skipped.
//
// At the end of the body Next returns io.EOF if the last block was complete
// and [ErrTruncated] if it was cut off. If the body failed, Next returns the
// body's error (context.Canceled included), combined with ErrTruncated when a
// block was pending. An oversized event gives [ErrEventTooLarge]. All errors
// are terminal: later calls return the same error.
func (r *Reader) Next() (Frame, error) {
	for r.err == nil {
		if !r.inTok {
			if r.framer == nil {
				// The framer's buffer starts at 4 KiB: wait for bytes first.
				r.src.fill()
				r.framer = r3sse.NewEventStreamReader(r.src, framerLimit(r.max))
			}
			tok, err := r.framer.ReadEvent()
			if err != nil {
				r.err = r.endErr(err)
				break
			}
			r.tokens++
			r.lastTok = r.tokens > r.src.terms
			if !r.bomChecked {
				r.bomChecked = true
				tok = bytes.TrimPrefix(tok, bom)
			}
			r.tok, r.pos, r.inTok = tok, 0, true
		}
		f, ok, err := r.parse()
		if err != nil {
			r.err = err
			break
		}
		if !r.inTok {
			r.release()
		}
		if ok {
			return f, nil
		}
	}
	return Frame{}, r.err
}

// release lets go of the block just parsed. After a block larger than
// keepBuffer it keeps the buffers that grew to hold it, for another large
// block; after the next block that fits in keepBuffer it lets them go: the
// framer (it holds no bytes between blocks, since the tracker hands it one
// block per Read and stops at its terminator; the next block gets a new
// one) and the multi-line data scratch.
func (r *Reader) release() {
	switch {
	case len(r.tok) > keepBuffer-4: // 4: the longest terminator
		r.grown = true
	case r.grown && !r.lastTok:
		r.grown = false
		r.framer = nil
		if cap(r.data) > keepBuffer {
			r.data = nil
		}
	}
	r.tok = nil
}

// Retry returns the last valid retry value received in a complete block.
func (r *Reader) Retry() (time.Duration, bool) {
	return r.retry, r.hasRetry
}

// LastEventID returns the last event ID buffer: the id of the last complete
// block that set one, including blocks that produced no frame.
func (r *Reader) LastEventID() string {
	return r.lastID
}

// parse consumes lines of the current block until a frame is dispatched or
// the block is used up. A framer block normally holds one SSE block, but a
// blank line the framer does not split on ("\n\r" followed by text) makes it
// hold several.
func (r *Reader) parse() (Frame, bool, error) {
	for r.pos < len(r.tok) {
		line := r.nextLine()
		if len(line) == 0 {
			if f, ok := r.dispatch(); ok {
				return f, true, nil
			}
			continue
		}
		if err := r.field(line); err != nil {
			return Frame{}, false, err
		}
	}
	r.inTok = false
	if r.lastTok {
		if r.blk.dirty {
			r.blk = block{}
			return Frame{}, false, r.truncated()
		}
		return Frame{}, false, nil
	}
	f, ok := r.dispatch()
	return f, ok, nil
}

// nextLine returns the line at r.pos without its line ending and moves past
// the ending. A line that runs to the end of tok has no ending.
func (r *Reader) nextLine() []byte {
	start := r.pos
	i := indexEOL(r.tok[start:])
	if i < 0 {
		r.pos = len(r.tok)
		return r.tok[start:]
	}
	i += start
	r.pos = i + 1
	if r.tok[i] == '\r' && r.pos < len(r.tok) && r.tok[r.pos] == '\n' {
		r.pos++
	}
	return r.tok[start:i]
}

// field applies one non-blank line to the current block.
func (r *Reader) field(line []byte) error {
	b := &r.blk
	b.dirty = true
	if line[0] == ':' {
		return nil
	}
	name, value := line, line[len(line):]
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		size := len(value)
		if b.lines > 0 {
			size += b.size + 1
		}
		if size > r.max {
			return r.tooLarge()
		}
		switch b.lines {
		case 0:
			b.first = value
		case 1:
			r.data = append(r.data[:0], b.first...)
			fallthrough
		default:
			r.data = append(r.data, '\n')
			r.data = append(r.data, value...)
		}
		b.lines++
		b.size = size
	case "event":
		b.event = value
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			b.id, b.hasID = value, true
		}
	case "retry":
		if d, ok := parseRetry(value); ok {
			b.retry, b.hasRetry = d, true
		}
	}
	return nil
}

// dispatch ends the current block: it applies the block's id and retry and
// returns a frame if the block had a data field.
func (r *Reader) dispatch() (Frame, bool) {
	b := &r.blk
	if b.hasID && string(b.id) != r.lastID {
		r.lastID = string(b.id)
	}
	if b.hasRetry {
		r.retry, r.hasRetry = b.retry, true
	}
	var f Frame
	ok := b.lines > 0
	if ok {
		src := b.first
		if b.lines > 1 {
			src = r.data
		}
		data := make([]byte, len(src))
		copy(data, src)
		f = Frame{ID: r.lastID, Event: r.intern(b.event), Data: data}
	}
	*b = block{}
	return f, ok
}

// intern returns name as a string, reusing an earlier allocation for names
// seen before.
func (r *Reader) intern(name []byte) string {
	if len(name) == 0 {
		return ""
	}
	if s, ok := r.events[string(name)]; ok {
		return s
	}
	s := string(name)
	if len(name) <= maxInternedLen && len(r.events) < maxInternedEvents {
		if r.events == nil {
			r.events = make(map[string]string)
		}
		r.events[s] = s
	}
	return s
}

// endErr maps the framer's final error to the error Next reports.
func (r *Reader) endErr(err error) error {
	if errors.Is(err, bufio.ErrTooLong) {
		return r.tooLarge()
	}
	if bodyErr := r.src.err; bodyErr != nil && bodyErr != io.EOF {
		return bodyErr
	}
	return err
}

// truncated is the error for a block cut off by the end of the body.
func (r *Reader) truncated() error {
	if bodyErr := r.src.err; bodyErr != nil && bodyErr != io.EOF {
		return fmt.Errorf("%w: %w", ErrTruncated, bodyErr)
	}
	return ErrTruncated
}

func (r *Reader) tooLarge() error {
	return fmt.Errorf("%w (%d bytes)", ErrEventTooLarge, r.max)
}

// parseRetry parses a retry value: one or more ASCII digits, in milliseconds.
func parseRetry(v []byte) (time.Duration, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var ms int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if ms > (maxRetryMillis-d)/10 {
			return 0, false
		}
		ms = ms*10 + d
	}
	return time.Duration(ms) * time.Millisecond, true
}
