package qoder

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The scale benchmarks hold many streams open at once, as a backend that
// watches many sessions does. Each opens its streams and then measures, so
// run them once:
//
//	go test -run '^$' -bench 'ManyStreams|MassDrop' -benchtime 1x .

// scaleStreams is how many streams the scale benchmarks open.
const scaleStreams = 1000

// scaleServer serves idle session streams: the headers, then what first
// says (nothing, or a heartbeat and one event), then nothing until the
// request ends. conns counts the connections it accepted.
type scaleServer struct {
	*httptest.Server
	first []byte
	conns atomic.Int64
}

// newScaleServer starts a scaleServer over HTTP/1.1, or over HTTP/2
// without TLS when h2c is set.
func newScaleServer(b *testing.B, first string, h2c bool) *scaleServer {
	b.Helper()
	s := &scaleServer{first: []byte(first)}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(s.first)
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	if h2c {
		s.Config.Protocols = new(http.Protocols)
		s.Config.Protocols.SetUnencryptedHTTP2(true)
	}
	s.Start()
	b.Cleanup(s.Close)
	return s
}

// h2cClient is an HTTP client that speaks HTTP/2 without TLS.
func h2cClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: tr}
}

// scaleUsage is the heap in use (after a GC), the goroutines, and the
// goroutines the SDK itself started.
type scaleUsage struct {
	heap       uint64
	goroutines int
	sdk        int
}

func measureScale() scaleUsage {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return scaleUsage{heap: ms.HeapInuse, goroutines: runtime.NumGoroutine(), sdk: sdkGoroutines()}
}

// sdkGoroutines counts the goroutines started by this package's code.
func sdkGoroutines() int {
	buf := make([]byte, 64<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return bytes.Count(buf, []byte("\ncreated by github.com/qoder-go/qoder."))
}

// perStream reports the growth from before to after, per stream.
func perStream(b *testing.B, before, after scaleUsage, n int, prefix string) {
	b.ReportMetric(float64(int64(after.heap)-int64(before.heap))/float64(n), prefix+"heap-B/stream")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), prefix+"goroutines/stream")
}

// BenchmarkManyStreams opens 1000 streams on one client and reads each
// through Events, then reports per open stream: the heap in use
// (heap-B/stream; the in-process test server's share included), the same
// for plain net/http requests held open on the same server
// (nethttp-heap-B/stream), the difference, which is what the SDK adds
// (sdk-heap-B/stream), the goroutines (the server's and the transport's
// included) and the goroutines the SDK started (sdk-goroutines/stream).
//
// silent streams got nothing after their headers; one-event streams got a
// heartbeat and one event, received from the channel before measuring.
func BenchmarkManyStreams(b *testing.B) {
	oneEvent := ": heartbeat\n\n" + sseEvent("evt_1", EventTypeSessionUpdated)
	for _, tc := range []struct {
		name  string
		first string
		h2c   bool
	}{
		{"silent", "", false},
		{"one-event", oneEvent, false},
		{"one-event-h2c", oneEvent, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := newScaleServer(b, tc.first, tc.h2c)
			opts := []Option{WithToken(testToken), WithBaseURL(srv.URL + "/api-test/")}
			if tc.h2c {
				opts = append(opts, WithHTTPClient(h2cClient()))
			}
			c, err := NewClient(opts...)
			if err != nil {
				b.Fatal(err)
			}
			hc := c.httpClient
			for range b.N {
				// Plain net/http first: the floor of an open response.
				before := measureScale()
				var resps []*http.Response
				for i := range scaleStreams {
					req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, fmt.Sprintf("%s/api-test/sessions/sess_%d/events/stream", srv.URL, i), nil)
					resp, err := hc.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(resp.Body, make([]byte, len(tc.first))); err != nil {
						b.Fatal(err)
					}
					resps = append(resps, resp)
				}
				raw := measureScale()
				for _, resp := range resps {
					_ = resp.Body.Close()
				}
				resps = nil
				hc.CloseIdleConnections()

				before = measureScale()
				ctx, cancel := context.WithCancel(b.Context())
				streams := make([]*Stream, 0, scaleStreams)
				conns0 := srv.conns.Load()
				for i := range scaleStreams {
					s, err := c.Events.Stream(ctx, fmt.Sprintf("sess_%d", i), nil)
					if err != nil {
						b.Fatal(err)
					}
					ch := s.Events()
					if tc.first != "" {
						if ev := <-ch; ev == nil || ev.EventID() != "evt_1" {
							b.Fatalf("stream %d: got %v, want evt_1", i, ev)
						}
					}
					streams = append(streams, s)
				}
				after := measureScale()
				conns := srv.conns.Load() - conns0
				perStream(b, before, after, scaleStreams, "")
				b.ReportMetric(float64(int64(raw.heap)-int64(before.heap))/float64(scaleStreams), "nethttp-heap-B/stream")
				b.ReportMetric((float64(after.heap)-float64(before.heap)-(float64(raw.heap)-float64(before.heap)))/float64(scaleStreams), "sdk-heap-B/stream")
				b.ReportMetric(float64(after.sdk-before.sdk)/float64(scaleStreams), "sdk-goroutines/stream")
				b.ReportMetric(float64(conns), "conns")
				cancel()
				for _, s := range streams {
					_ = s.Close()
				}
				c.httpClient.CloseIdleConnections()
			}
		})
	}
}

// BenchmarkMassDropResume opens 1000 streams that each receive one event,
// drops them all at once on the server, and reports when their resume
// requests arrive, in milliseconds after the drop: the first, the median,
// the 99th percentile and the last, and the most requests that arrived
// within one millisecond (peak-req/ms). The client uses its default
// reconnect policy.
func BenchmarkMassDropResume(b *testing.B) {
	var (
		mu       sync.Mutex
		arrivals []time.Duration
		dropped  time.Time
		drop     = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Last-Event-ID") != "" {
			mu.Lock()
			arrivals = append(arrivals, time.Since(dropped))
			mu.Unlock()
			sseStart(w)
			sseWrite(w, terminatedFrame("evt_2"))
			return
		}
		sseStart(w)
		sseWrite(w, sseEvent("evt_1", EventTypeSessionUpdated))
		mu.Lock()
		d := drop
		mu.Unlock()
		select {
		case <-d:
			abort()
		case <-r.Context().Done():
		}
	}))
	b.Cleanup(srv.Close)
	c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL+"/api-test/"))
	if err != nil {
		b.Fatal(err)
	}
	var all []time.Duration
	peak := 0
	for range b.N {
		mu.Lock()
		arrivals = arrivals[:0]
		drop = make(chan struct{})
		mu.Unlock()
		streams := make([]*Stream, 0, scaleStreams)
		chans := make([]<-chan Event, 0, scaleStreams)
		for i := range scaleStreams {
			s, err := c.Events.Stream(b.Context(), fmt.Sprintf("sess_%d", i), nil)
			if err != nil {
				b.Fatal(err)
			}
			ch := s.Events()
			if ev := <-ch; ev == nil || ev.EventID() != "evt_1" {
				b.Fatalf("stream %d: got %v, want evt_1", i, ev)
			}
			streams = append(streams, s)
			chans = append(chans, ch)
		}
		mu.Lock()
		dropped = time.Now()
		close(drop)
		mu.Unlock()
		for i, ch := range chans {
			for range ch {
			}
			if err := streams[i].Err(); err != nil {
				b.Fatalf("stream %d: %v", i, err)
			}
		}
		mu.Lock()
		got := slices.Clone(arrivals)
		mu.Unlock()
		if len(got) != scaleStreams {
			b.Fatalf("%d resumes arrived, want %d", len(got), scaleStreams)
		}
		perMs := map[time.Duration]int{}
		for _, d := range got {
			perMs[d/time.Millisecond]++
		}
		for _, k := range perMs {
			peak = max(peak, k)
		}
		all = append(all, got...)
		for _, s := range streams {
			_ = s.Close()
		}
		c.httpClient.CloseIdleConnections()
	}
	slices.Sort(all)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(all[0]), "first-ms")
	b.ReportMetric(ms(all[len(all)/2]), "p50-ms")
	b.ReportMetric(ms(all[len(all)*99/100]), "p99-ms")
	b.ReportMetric(ms(all[len(all)-1]), "last-ms")
	b.ReportMetric(float64(peak), "peak-req/ms")
}
