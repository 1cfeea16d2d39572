package qoder

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
)

// BenchmarkLargeResponse decodes one large JSON response through the
// client's request path and reports the heap it took: peak-heap-MiB is how
// much the heap grew (HeapSys, which never shrinks, so run each case in its
// own process with -benchtime 1x), alloc-MiB everything allocated. The
// body is one string of size bytes; "known" declares its Content-Length,
// "chunked" does not, and the over-cap cases must be rejected.
//
//	go test -run '^$' -bench 'BenchmarkLargeResponse/60MiB-known' -benchtime 1x .
func BenchmarkLargeResponse(b *testing.B) {
	cases := []struct {
		name    string
		size    int
		chunked bool
		wantErr bool
	}{
		{"60MiB-known", 60 << 20, false, false},
		{"60MiB-chunked", 60 << 20, true, false},
		{"1GiB-known", 1 << 30, false, true},
		{"1GiB-chunked", 1 << 30, true, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			chunk := bytes.Repeat([]byte("a"), 1<<20)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if !tc.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(tc.size+len(`{"x":""}`)))
				}
				_, _ = io.WriteString(w, `{"x":"`)
				for left := tc.size; left > 0; left -= len(chunk) {
					if _, err := w.Write(chunk[:min(left, len(chunk))]); err != nil {
						return
					}
				}
				_, _ = io.WriteString(w, `"}`)
			}))
			b.Cleanup(srv.Close)
			c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL), WithMaxRetries(0))
			if err != nil {
				b.Fatal(err)
			}
			var peak, alloc uint64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				debug.FreeOSMemory()
				runtime.ReadMemStats(&before)
				var out struct{ X string }
				err := c.do(b.Context(), http.MethodGet, literalPath("big"), nil, nil, &out)
				if (err != nil) != tc.wantErr {
					b.Fatalf("err = %v, want an error: %v", err, tc.wantErr)
				}
				if !tc.wantErr && len(out.X) != tc.size {
					b.Fatalf("decoded %d bytes, want %d", len(out.X), tc.size)
				}
				runtime.ReadMemStats(&after)
				peak = max(peak, after.HeapSys-min(before.HeapSys, after.HeapSys))
				alloc = max(alloc, after.TotalAlloc-before.TotalAlloc)
				runtime.KeepAlive(out.X)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(alloc)/(1<<20), "alloc-MiB")
		})
	}
}
