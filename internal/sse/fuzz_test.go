package sse

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refResult is what the reference parser expects from a whole stream.
type refResult struct {
	frames    []Frame
	lastID    string
	retry     int64 // milliseconds; -1 when never set
	truncated bool
}

// refParse is a deliberately plain, line-at-a-time reading of the WHATWG
// algorithm, used as an oracle for Reader. It knows nothing about framers.
func refParse(in []byte) refResult {
	s := strings.TrimPrefix(string(in), "\uFEFF")
	res := refResult{retry: -1}
	var (
		data           []byte
		event, id      string
		hasData, hasID bool
		retry          int64 = -1
		dirty          bool
	)
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			// An unfinished last line belongs to the block the stream cut off.
			res.truncated = dirty || s != ""
			return res
		}
		line := s[:i]
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			s = s[i+2:]
		} else {
			s = s[i+1:]
		}
		if line == "" {
			if hasID {
				res.lastID = id
			}
			if retry >= 0 {
				res.retry = retry
			}
			if hasData {
				res.frames = append(res.frames, Frame{ID: res.lastID, Event: event, Data: bytes.TrimSuffix(data, []byte("\n"))})
			}
			data, event, id, hasData, hasID, retry, dirty = nil, "", "", false, false, -1, false
			continue
		}
		dirty = true
		if line[0] == ':' {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "data":
			data = append(append(data, value...), '\n')
			hasData = true
		case "event":
			event = value
		case "id":
			if !strings.Contains(value, "\x00") {
				id, hasID = value, true
			}
		case "retry":
			if n, err := strconv.ParseUint(value, 10, 63); err == nil && value != "" && strings.Trim(value, "0123456789") == "" && n <= uint64(maxRetryMillis) {
				retry = int64(n)
			}
		}
	}
}

// fuzzChunks turns fuzz bytes into read sizes of 1 to 256 bytes.
func fuzzChunks(b []byte) []int {
	sizes := make([]int, len(b))
	for i, c := range b {
		sizes[i] = int(c) + 1
	}
	return sizes
}

type fuzzRun struct {
	frames []Frame
	err    error
	lastID string
	retry  int64
}

func runReader(t *testing.T, in []byte, sizes []int, endErr error, limit int) fuzzRun {
	t.Helper()
	r := NewReader(&chunkReader{data: in, sizes: sizes, err: endErr}, limit)
	var run fuzzRun
	for range len(in) + 2 {
		f, err := r.Next()
		if err != nil {
			run.err = err
			break
		}
		require.LessOrEqual(t, len(f.Data), limit, "frame data within the limit")
		run.frames = append(run.frames, f)
	}
	require.Error(t, run.err, "a stream of %d bytes ends within %d calls", len(in), len(in)+2)
	run.lastID = r.LastEventID()
	run.retry = -1
	if d, ok := r.Retry(); ok {
		run.retry = d.Milliseconds()
	}
	return run
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("id: evt_1\nevent: agent.message\ndata: {\"t\":\"hi\"}\n\n: ping\n\n"), []byte{3, 0, 7}, uint16(64), false)
	f.Add([]byte("\xEF\xBB\xBFid: 1\r\ndata: a\r\ndata:b\r\n\r\nretry: 1500\r\rdata\n\n"), []byte{0}, uint16(8), true)
	f.Add([]byte("data: a\n\rdata: b\r\r\ndata: c"), []byte{1, 2}, uint16(1), false)
	f.Add([]byte("id: x\x00y\ndata: 1\n\nid:\ndata: 2\n\nretry: 1.5\n\n"), []byte{}, uint16(2), true)
	f.Add([]byte(": heartbeat\n\nid: evt_9\n\nevent: heartbeat\ndata: {}\n\nid: evt_10\ndata: {\"half\":"), []byte{5}, uint16(100), true)
	f.Fuzz(func(t *testing.T, in, chunks []byte, limit uint16, fail bool) {
		var endErr error
		if fail {
			endErr = errBoom
		}
		want := refParse(in)

		// With the default limit nothing a fuzzer makes is too large: the
		// reader must agree with the oracle exactly, however the input is cut.
		whole := runReader(t, in, nil, endErr, defaultMaxEventSize)
		cut := runReader(t, in, fuzzChunks(chunks), endErr, defaultMaxEventSize)
		for _, run := range []fuzzRun{whole, cut} {
			assertFrames(t, want.frames, run.frames)
			assert.Equal(t, want.lastID, run.lastID)
			assert.Equal(t, want.retry, run.retry)
			switch {
			case want.truncated:
				assert.ErrorIs(t, run.err, ErrTruncated)
				if fail {
					assert.ErrorIs(t, run.err, errBoom)
				}
			case fail:
				assert.Equal(t, errBoom, run.err)
			default:
				assert.Equal(t, io.EOF, run.err)
			}
		}

		// With a small limit the result still must not depend on the cuts,
		// data stays within the limit (checked in runReader), and the frames
		// are a prefix of the oracle's.
		small := runReader(t, in, nil, endErr, int(limit%512)+1)
		smallCut := runReader(t, in, fuzzChunks(chunks), endErr, int(limit%512)+1)
		assertFrames(t, small.frames, smallCut.frames)
		assert.Equal(t, small.err, smallCut.err)
		assert.Equal(t, small.lastID, smallCut.lastID)
		assert.Equal(t, small.retry, smallCut.retry)
		require.LessOrEqual(t, len(small.frames), len(want.frames))
		assertFrames(t, want.frames[:len(small.frames)], small.frames)
		if !errors.Is(small.err, ErrEventTooLarge) {
			assert.Len(t, small.frames, len(want.frames))
		}
	})
}
