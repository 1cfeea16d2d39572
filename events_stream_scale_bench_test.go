package qoder

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qoder-go/qoder/internal/leakcheck"
	"github.com/stretchr/testify/require"
)

// The scale benchmarks hold many streams open at once, as a backend that
// watches many sessions does. Each opens its streams and then measures, so
// run them once:
//
//	go test -run '^$' -bench 'ManyStreams|MassDrop' -benchtime 1x .

// scaleStreams is how many streams the scale benchmarks open.
const scaleStreams = 1000

// scaleServerEnv names the environment variable that makes
// TestScaleServer serve; its value is a scaleMode's name.
const scaleServerEnv = "QODER_SCALE_SERVER"

// scaleMode is what each stream of a scale server sends after its headers,
// and over which protocol.
type scaleMode struct {
	name  string
	first string // sent once, then nothing until the request ends
	h2c   bool   // HTTP/2 without TLS instead of HTTP/1.1
}

var scaleModes = []scaleMode{
	{name: "silent"},
	{name: "one-event", first: ": heartbeat\n\n" + sseEvent("evt_1", EventTypeSessionUpdated)},
	{name: "one-event-h2c", first: ": heartbeat\n\n" + sseEvent("evt_1", EventTypeSessionUpdated), h2c: true},
}

// TestScaleServer is the server process of BenchmarkManyStreams, which
// runs the test binary again with scaleServerEnv set, so that the heap it
// measures is the client's alone. It prints the server's URL and serves
// until its standard input closes. Without scaleServerEnv it is skipped.
func TestScaleServer(t *testing.T) {
	name := os.Getenv(scaleServerEnv)
	if name == "" {
		t.Skip("the server process of BenchmarkManyStreams")
	}
	i := slices.IndexFunc(scaleModes, func(m scaleMode) bool { return m.name == name })
	require.GreaterOrEqual(t, i, 0, "unknown mode %q", name)
	mode := scaleModes[i]
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, mode.first)
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	if mode.h2c {
		srv.Config.Protocols = new(http.Protocols)
		srv.Config.Protocols.SetUnencryptedHTTP2(true)
	}
	srv.Start()
	defer srv.Close()
	fmt.Println(srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// startScaleServer runs TestScaleServer in a child process and returns its
// URL.
func startScaleServer(b *testing.B, mode scaleMode) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestScaleServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), scaleServerEnv+"="+mode.name)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(b, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	url, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(b, err, "the server process did not start")
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return strings.TrimSpace(url)
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

// newConns counts the connections a client dials through the requests
// whose context carries its trace.
type newConns struct{ n atomic.Int64 }

func (c *newConns) trace(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if !info.Reused {
				c.n.Add(1)
			}
		},
	})
}

// BenchmarkManyStreams opens 1000 streams on one client against a server
// in another process and reads each through Events. It reports per open
// stream the heap in use of this process (heap-B/stream), the same for
// plain net/http responses held open on the same client
// (nethttp-heap-B/stream: the transport's share), the difference, which is
// what the SDK adds (sdk-heap-B/stream), the goroutines (the transport's
// included) and those the SDK started (sdk-goroutines/stream); and the
// connections the streams used.
//
// silent streams got nothing after their headers; one-event streams got a
// heartbeat and one event, received from the channel before measuring.
func BenchmarkManyStreams(b *testing.B) {
	for _, mode := range scaleModes {
		b.Run(mode.name, func(b *testing.B) {
			url := startScaleServer(b, mode)
			opts := []Option{WithToken(testToken), WithBaseURL(url + "/api-test/")}
			if mode.h2c {
				opts = append(opts, WithHTTPClient(h2cClient()))
			}
			c, err := NewClient(opts...)
			require.NoError(b, err)
			hc := c.httpClient
			for range b.N {
				base := runtime.NumGoroutine()
				// Plain net/http first: the floor of an open response.
				rawBefore := measureScale()
				var resps []*http.Response
				for i := range scaleStreams {
					req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, fmt.Sprintf("%s/api-test/sessions/sess_%d/events/stream", url, i), nil)
					req.Header.Set("Accept", "text/event-stream")
					resp, err := hc.Do(req)
					require.NoError(b, err)
					_, err = io.ReadFull(resp.Body, make([]byte, len(mode.first)))
					require.NoError(b, err)
					resps = append(resps, resp)
				}
				raw := measureScale()
				for _, resp := range resps {
					_ = resp.Body.Close()
				}
				resps = nil
				leakcheck.Wait(b, base, hc.CloseIdleConnections)

				var conns newConns
				ctx, cancel := context.WithCancel(conns.trace(b.Context()))
				before := measureScale()
				streams := make([]*Stream, 0, scaleStreams)
				for i := range scaleStreams {
					s, err := c.Events.Stream(ctx, fmt.Sprintf("sess_%d", i), nil)
					require.NoError(b, err)
					ch := s.Events()
					if mode.first != "" {
						if ev := <-ch; ev == nil || ev.EventID() != "evt_1" {
							b.Fatalf("stream %d: got %v, want evt_1", i, ev)
						}
					}
					streams = append(streams, s)
				}
				after := measureScale()
				cancel()
				for _, s := range streams {
					_ = s.Close()
				}
				leakcheck.Wait(b, base, hc.CloseIdleConnections)

				per := func(from, to scaleUsage) float64 {
					return (float64(to.heap) - float64(from.heap)) / scaleStreams
				}
				b.ReportMetric(per(before, after), "heap-B/stream")
				b.ReportMetric(per(rawBefore, raw), "nethttp-heap-B/stream")
				b.ReportMetric(per(before, after)-per(rawBefore, raw), "sdk-heap-B/stream")
				b.ReportMetric(float64(after.goroutines-before.goroutines)/scaleStreams, "goroutines/stream")
				b.ReportMetric(float64(after.sdk-before.sdk)/scaleStreams, "sdk-goroutines/stream")
				b.ReportMetric(float64(conns.n.Load()), "conns")
			}
		})
	}
}

// dropTimes collects, in milliseconds after a drop, when something
// happened to each resuming stream.
type dropTimes struct {
	mu      sync.Mutex
	dropped time.Time // zero before the drop: nothing is recorded
	times   []time.Duration
	all     []time.Duration
	peak    int // the most times within one millisecond of any round
}

// start begins a round at the drop.
func (d *dropTimes) start() {
	d.mu.Lock()
	d.dropped, d.times = time.Now(), d.times[:0]
	d.mu.Unlock()
}

// record notes that something happened now, if after a drop.
func (d *dropTimes) record() {
	d.mu.Lock()
	if !d.dropped.IsZero() {
		d.times = append(d.times, time.Since(d.dropped))
	}
	d.mu.Unlock()
}

// end closes the round and returns how many times it recorded.
func (d *dropTimes) end() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	perMs := map[time.Duration]int{}
	for _, t := range d.times {
		perMs[t/time.Millisecond]++
	}
	for _, n := range perMs {
		d.peak = max(d.peak, n)
	}
	d.all = append(d.all, d.times...)
	d.dropped = time.Time{}
	return len(d.times)
}

// report reports the first, median, 99th percentile and last time and the
// peak per millisecond, each metric's unit prefixed by prefix.
func (d *dropTimes) report(b *testing.B, prefix string) {
	all := slices.Sorted(slices.Values(d.all))
	ms := func(t time.Duration) float64 { return float64(t) / float64(time.Millisecond) }
	b.ReportMetric(ms(all[0]), prefix+"first-ms")
	b.ReportMetric(ms(all[len(all)/2]), prefix+"p50-ms")
	b.ReportMetric(ms(all[len(all)*99/100]), prefix+"p99-ms")
	b.ReportMetric(ms(all[len(all)-1]), prefix+"last-ms")
	b.ReportMetric(float64(d.peak), prefix+"peak-req/ms")
}

// BenchmarkMassDropResume opens 1000 streams that each receive one event,
// drops them all at once on the server, and reports when their resume
// requests arrive there, in milliseconds after the drop: the first, the
// median, the 99th percentile and the last, and the most requests that
// arrived within one millisecond (peak-req/ms). The sent- metrics are the
// same for the moments the client started those requests: on a busy
// machine the arrivals also show how long the server took to accept them.
// The client uses its default reconnect policy.
func BenchmarkMassDropResume(b *testing.B) {
	var (
		mu      sync.Mutex
		drop    = make(chan struct{})
		arrived dropTimes
		sent    dropTimes
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Last-Event-ID") != "" {
			arrived.record()
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
	require.NoError(b, err)
	ctx := httptrace.WithClientTrace(b.Context(), &httptrace.ClientTrace{
		GetConn: func(string) { sent.record() },
	})
	for range b.N {
		mu.Lock()
		drop = make(chan struct{})
		mu.Unlock()
		streams := make([]*Stream, 0, scaleStreams)
		chans := make([]<-chan Event, 0, scaleStreams)
		for i := range scaleStreams {
			s, err := c.Events.Stream(ctx, fmt.Sprintf("sess_%d", i), nil)
			require.NoError(b, err)
			ch := s.Events()
			if ev := <-ch; ev == nil || ev.EventID() != "evt_1" {
				b.Fatalf("stream %d: got %v, want evt_1", i, ev)
			}
			streams = append(streams, s)
			chans = append(chans, ch)
		}
		arrived.start()
		sent.start()
		mu.Lock()
		close(drop)
		mu.Unlock()
		for i, ch := range chans {
			for range ch {
			}
			require.NoError(b, streams[i].Err(), "stream %d", i)
		}
		require.Equal(b, scaleStreams, arrived.end(), "resumes arrived")
		require.Equal(b, scaleStreams, sent.end(), "resumes sent")
		for _, s := range streams {
			_ = s.Close()
		}
		c.httpClient.CloseIdleConnections()
	}
	arrived.report(b, "")
	sent.report(b, "sent-")
}
