package qoder

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The stream benchmarks serve a recorded mixed turn (status, thinking, a
// tool use with input, its result, a message with ~450 bytes of text, a
// model request end) over loopback, repeated with fresh event ids.
//
//	go test -run '^$' -bench 'Stream' -benchtime 200000x .
//
// BenchmarkStream reads through the SDK (Events or Next); BenchmarkStreamBaseline
// only splits lines with bufio.Scanner and json.Unmarshals each data line
// into a struct of json.RawMessage fields: the floor any SSE client pays.
// Both report events/s; allocs/op is per event.

// benchIDPlaceholder is the event id in bench_turn.sse that the server
// replaces with a counter, so that no id repeats.
const benchIDPlaceholder = "evt_0000000000000000"

// benchHeaderN names the request header that tells the bench server how
// many events to send before the terminal one.
const benchHeaderN = "X-Bench-Events"

// benchFrames are the frames of bench_turn.sse with the positions of their
// id placeholders.
type benchFrames struct {
	frames [][]byte
	idAt   [][]int // offsets of the 16 counter digits in each frame
}

func loadBenchFrames(tb testing.TB) *benchFrames {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "streams", "bench_turn.sse"))
	if err != nil {
		tb.Fatal(err)
	}
	f := &benchFrames{}
	for _, block := range bytes.SplitAfter(data, []byte("\n\n")) {
		if len(bytes.TrimSpace(block)) == 0 {
			continue
		}
		var at []int
		for i := 0; ; {
			j := bytes.Index(block[i:], []byte(benchIDPlaceholder))
			if j < 0 {
				break
			}
			at = append(at, i+j+len("evt_"))
			i += j + len(benchIDPlaceholder)
		}
		if len(at) != 2 {
			tb.Fatalf("bench frame without its two id placeholders:\n%s", block)
		}
		f.frames = append(f.frames, block)
		f.idAt = append(f.idAt, at)
	}
	return f
}

// frame returns frame seq of the endless turn with id seq, built in buf.
func (f *benchFrames) frame(buf []byte, seq uint64) []byte {
	i := int(seq % uint64(len(f.frames)))
	buf = append(buf[:0], f.frames[i]...)
	for _, at := range f.idAt[i] {
		putHex16(buf[at:at+16], seq)
	}
	return buf
}

// putHex16 writes v as 16 lower-case hex digits.
func putHex16(dst []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		dst[i] = digits[v&0xf]
		v >>= 4
	}
}

// benchStreamServer serves the endless turn: as many events as the request's
// X-Bench-Events header says, then session.status_terminated. Writes go
// through a 32 KiB buffer, flushed when full and at the end, as a server
// under load would.
func benchStreamServer(tb testing.TB) *httptest.Server {
	tb.Helper()
	f := loadBenchFrames(tb)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseUint(r.Header.Get(benchHeaderN), 10, 64)
		if err != nil {
			http.Error(w, "bad "+benchHeaderN, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		bw := bufio.NewWriterSize(w, 32<<10)
		buf := make([]byte, 0, 1024)
		for seq := range n {
			buf = f.frame(buf, seq)
			if _, err := bw.Write(buf); err != nil {
				return
			}
		}
		_, _ = fmt.Fprintf(bw, "id: evt_end\nevent: session.status_terminated\ndata: {\"id\":\"evt_end\",\"type\":\"session.status_terminated\"}\n\n")
		_ = bw.Flush()
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func benchClient(tb testing.TB, srv *httptest.Server) *Client {
	tb.Helper()
	c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL+"/api-test/"))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkStream reads b.N events of the mixed turn through the SDK.
func BenchmarkStream(b *testing.B) {
	srv := benchStreamServer(b)
	c := benchClient(b, srv)
	for _, form := range []string{"Events", "Next"} {
		b.Run(form, func(b *testing.B) {
			b.ReportAllocs()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			s, err := c.Events.Stream(b.Context(), "sess_bench", nil, WithRequestHeader(benchHeaderN, strconv.Itoa(b.N)))
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			switch form {
			case "Events":
				for range s.Events() {
					n++
				}
			case "Next":
				for s.Next() {
					n++
				}
			}
			b.StopTimer()
			if err := s.Err(); err != nil {
				b.Fatal(err)
			}
			if n != b.N+1 {
				b.Fatalf("got %d events, want %d", n, b.N+1)
			}
			_ = s.Close()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/event")
		})
	}
}

// baselineEvent is what the baseline decodes: the common fields and the
// variable ones kept raw.
type baselineEvent struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	ProcessedAt string          `json:"processed_at"`
	Name        string          `json:"name"`
	ToolUseID   string          `json:"tool_use_id"`
	IsError     bool            `json:"is_error"`
	Input       json.RawMessage `json:"input"`
	Content     json.RawMessage `json:"content"`
	StopReason  json.RawMessage `json:"stop_reason"`
	ModelUsage  json.RawMessage `json:"model_usage"`
}

// BenchmarkStreamBaseline reads the same stream with the least a client can
// do: split lines, json.Unmarshal every data line.
func BenchmarkStreamBaseline(b *testing.B) {
	srv := benchStreamServer(b)
	hc := &http.Client{}
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, srv.URL+"/api-test/sessions/sess_bench/events/stream", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set(benchHeaderN, strconv.Itoa(b.N))
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		line := sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		var ev baselineEvent
		if err := json.Unmarshal(bytes.TrimPrefix(data, []byte(" ")), &ev); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.StopTimer()
	_ = resp.Body.Close()
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	if n != b.N+1 {
		b.Fatalf("got %d events, want %d", n, b.N+1)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/event")
}

// BenchmarkStreamLatency measures how long a frame takes from the server's
// flush to the consumer of Events. The server sends one frame at a time
// carrying its send time (UnixNano, as the hex id) and waits until the
// consumer has it, so nothing queues. It reports the median and the 99th
// percentile in microseconds.
func BenchmarkStreamLatency(b *testing.B) {
	f := loadBenchFrames(b)
	ack := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.Header.Get(benchHeaderN))
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		buf := make([]byte, 0, 1024)
		for i := range n {
			buf = f.frame(buf, uint64(i)) // the frame kind cycles with i
			sent := uint64(time.Now().UnixNano())
			for _, at := range f.idAt[i%len(f.frames)] {
				putHex16(buf[at:at+16], sent)
			}
			if _, err := w.Write(buf); err != nil {
				return
			}
			_ = rc.Flush()
			select {
			case <-ack:
			case <-r.Context().Done():
				return
			}
		}
		_, _ = fmt.Fprintf(w, "id: evt_end\nevent: session.status_terminated\ndata: {\"id\":\"evt_end\",\"type\":\"session.status_terminated\"}\n\n")
	}))
	b.Cleanup(srv.Close)
	c := benchClient(b, srv)

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	s, err := c.Events.Stream(b.Context(), "sess_bench", nil, WithRequestHeader(benchHeaderN, strconv.Itoa(b.N)))
	if err != nil {
		b.Fatal(err)
	}
	for ev := range s.Events() {
		now := time.Now()
		id, ok := strings.CutPrefix(ev.EventID(), "evt_")
		if !ok || id == "end" {
			continue
		}
		sent, err := strconv.ParseUint(id, 16, 64)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, now.Sub(time.Unix(0, int64(sent))))
		ack <- struct{}{}
	}
	b.StopTimer()
	if err := s.Err(); err != nil {
		b.Fatal(err)
	}
	if len(lat) != b.N {
		b.Fatalf("measured %d frames, want %d", len(lat), b.N)
	}
	slices.Sort(lat)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(lat[len(lat)/2]), "p50-µs")
	b.ReportMetric(us(lat[len(lat)*99/100]), "p99-µs")
}

// streamHeapGrowth streams total events of the mixed turn and returns the
// heap in use (after a GC) once mark events were read and at the end.
func streamHeapGrowth(tb testing.TB, mark, total int) (atMark, atEnd uint64) {
	tb.Helper()
	srv := benchStreamServer(tb)
	c := benchClient(tb, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := c.Events.Stream(ctx, "sess_bench", nil, WithRequestHeader(benchHeaderN, strconv.Itoa(total)))
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	n := 0
	for s.Next() {
		n++
		if n == mark {
			atMark = heap()
		}
	}
	if err := s.Err(); err != nil {
		tb.Fatal(err)
	}
	if n != total+1 {
		tb.Fatalf("got %d events, want %d", n, total+1)
	}
	return atMark, heap()
}

// maxHeapGrowth is how much the heap may grow between the mark and the end
// of a long stream: a little noise, nothing proportional to the events.
const maxHeapGrowth = 2 << 20

// BenchmarkStreamMemory streams 1,000,000 events once (whatever b.N is) and
// fails if the heap in use after them exceeds the heap at 100,000 events by
// more than maxHeapGrowth. Run it with -benchtime 1x.
func BenchmarkStreamMemory(b *testing.B) {
	const mark, total = 100_000, 1_000_000
	atMark, atEnd := streamHeapGrowth(b, mark, total)
	mib := func(v uint64) float64 { return float64(v) / (1 << 20) }
	b.ReportMetric(mib(atMark), "heap-MiB@100k")
	b.ReportMetric(mib(atEnd), "heap-MiB@1M")
	b.ReportMetric(mib(atEnd)-mib(atMark), "growth-MiB")
	if atEnd > atMark+maxHeapGrowth {
		b.Errorf("heap in use grew from %.1f MiB at %d events to %.1f MiB at %d", mib(atMark), mark, mib(atEnd), total)
	}
}

// TestStream_memoryIsFlat is the short form of BenchmarkStreamMemory: the
// heap must not grow with the number of events read.
func TestStream_memoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 100,000 events")
	}
	const mark, total = 10_000, 100_000
	atMark, atEnd := streamHeapGrowth(t, mark, total)
	if atEnd > atMark+maxHeapGrowth {
		t.Errorf("heap in use grew from %d bytes at %d events to %d at %d", atMark, mark, atEnd, total)
	}
}
