package sse

import (
	"bytes"
	"errors"
	"io"
)

// minStash is the size of the stash allocated to wait for the first bytes
// of a body (or the first after the framer was released).
const minStash = 512

// errBadRead reports a body whose Read broke the io.Reader contract.
var errBadRead = errors.New("sse: body returned an invalid count from Read")

// eolState is the position of the tracker inside a run of line-ending bytes,
// counted from the last blank-line terminator.
type eolState uint8

const (
	inText      eolState = iota // not after a line ending (or at the start of a block)
	afterLF                     // "\n"
	afterCR                     // "\r"
	afterCRLF                   // "\r\n"
	afterLFCR                   // "\n\r"
	afterCRLFCR                 // "\r\n\r"
	termFound                   // a terminator just completed
)

// eolNext holds the transitions on '\r' (index 0) and '\n' (index 1). The
// terminators are the five sequences r3labs' framer splits on: "\n\n",
// "\r\r", "\r\n\n", "\n\r\n" and "\r\n\r\n". Of every pattern occurrence the
// framer picks the one that starts first; no pattern sits inside another one
// and ends earlier, so that is also the one that ends first, which is where
// this machine stops.
var eolNext = [...][2]eolState{
	inText:      {afterCR, afterLF},
	afterLF:     {afterLFCR, termFound},
	afterCR:     {termFound, afterCRLF},
	afterCRLF:   {afterCRLFCR, termFound},
	afterLFCR:   {termFound, termFound},
	afterCRLFCR: {termFound, termFound},
}

// tracker sits between the body and the r3labs framer. It records the body's
// error (the framer hides context.Canceled behind io.EOF and returns the
// unterminated remainder as a block), counts the blank-line terminators it
// passes on, and hands the framer at most one block per Read so that the
// framer's split function, which rescans its whole buffer on every call,
// stays linear.
//
// It reads the body straight into the framer's buffer. What a read brings
// after a terminator waits in the stash for the next Read, so the stash is
// only as large as one read's overflow, and a stream waiting for bytes
// holds none.
type tracker struct {
	r       io.Reader
	stash   []byte // bytes read past a terminator; pending points into it
	pending []byte // bytes read from r and not yet passed on
	err     error  // first error from r; no more bytes follow it
	state   eolState
	terms   int64 // terminators passed on so far
}

func newTracker(r io.Reader) *tracker {
	return &tracker{r: r}
}

// Read fills p up to and including the next terminator. While no terminator
// has arrived it keeps reading until p is full, since the framer could not
// cut a block anyway; once one has arrived it returns at once, so a complete
// block is never delayed. An error from the body is returned only after all
// bytes read before it were passed on, and never together with data.
func (t *tracker) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(t.pending) == 0 {
			if t.err != nil {
				break
			}
			m, err := t.r.Read(p[n:])
			if m < 0 || m > len(p)-n {
				m, err = 0, errBadRead
			}
			if err != nil {
				t.err = err
			}
			if m == 0 && err == nil {
				// Let the framer see an empty read; it gives up after many in a row.
				break
			}
			adv, term := t.advance(p[n : n+m])
			if adv < m {
				t.keep(p[n+adv : n+m])
			}
			n += adv
			if term {
				t.terms++
				return n, nil
			}
			continue
		}
		k := min(len(p)-n, len(t.pending))
		adv, term := t.advance(t.pending[:k])
		n += copy(p[n:], t.pending[:adv])
		t.pending = t.pending[adv:]
		if len(t.pending) == 0 && cap(t.stash) > keepBuffer {
			t.stash, t.pending = nil, nil
		}
		if term {
			t.terms++
			return n, nil
		}
	}
	if n > 0 {
		return n, nil
	}
	return 0, t.err
}

// keep stashes b, bytes read past a terminator, for the next Read.
func (t *tracker) keep(b []byte) {
	t.stash = append(t.stash[:0], b...)
	t.pending = t.stash
}

// fill waits until the body has bytes to pass on, or has failed. It lets
// the reader create the framer, and its buffer, only once there is
// something to frame.
func (t *tracker) fill() {
	if len(t.pending) > 0 || t.err != nil {
		return
	}
	if cap(t.stash) < minStash {
		t.stash = make([]byte, minStash)
	}
	buf := t.stash[:cap(t.stash)]
	m, err := t.r.Read(buf)
	if m < 0 || m > len(buf) {
		m, err = 0, errBadRead
	}
	if err != nil {
		t.err = err
	}
	t.pending = buf[:m]
}

// advance runs the line-ending state machine over b. It returns the length of
// the prefix of b that ends with the first terminator and true, or len(b) and
// false. Plain text is skipped with indexEOL, so the cost is linear in the
// length of the returned prefix.
func (t *tracker) advance(b []byte) (int, bool) {
	i := 0
	for i < len(b) {
		if t.state == inText {
			j := indexEOL(b[i:])
			if j < 0 {
				return len(b), false
			}
			i += j
		}
		c := b[i]
		i++
		switch c {
		case '\r':
			t.state = eolNext[t.state][0]
		case '\n':
			t.state = eolNext[t.state][1]
		default:
			t.state = inText
			continue
		}
		if t.state == termFound {
			t.state = inText
			return i, true
		}
	}
	return len(b), false
}

// indexEOL returns the index of the first '\r' or '\n' in b, or -1. It
// searches windows of doubling size and looks for '\r' only before the
// first '\n' of a window, so the cost is linear in the returned index (or
// len(b)) even in a stream that never uses one of the two bytes.
func indexEOL(b []byte) int {
	for lo, w := 0, 256; lo < len(b); lo, w = lo+w, w*2 {
		seg := b[lo:min(len(b), lo+w)]
		lf := bytes.IndexByte(seg, '\n')
		if lf >= 0 {
			seg = seg[:lf]
		}
		if cr := bytes.IndexByte(seg, '\r'); cr >= 0 {
			return lo + cr
		}
		if lf >= 0 {
			return lo + lf
		}
	}
	return -1
}
