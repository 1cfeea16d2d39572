package qoder_test

import (
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
)

// uploadSize is what BenchmarkFilesUpload64MiB sends.
const uploadSize = 64 << 20

// maxUploadHeap is the most the heap may grow above its baseline while a
// file of any size is uploaded.
const maxUploadHeap = 8 << 20

// textReader produces text forever without allocating.
type textReader struct{}

var line = []byte("the quick brown fox jumps over the lazy dog 0123456789\n")

func (textReader) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += copy(p[i:], line) {
	}
	return len(p), nil
}

// heapSampler samples the bytes of live and not yet swept heap objects
// until stopped, keeping the peak.
type heapSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

// heapObjects reads the heap's object bytes from runtime/metrics, which
// does not stop the world.
func heapObjects(s []metrics.Sample) uint64 {
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			h.peak = max(h.peak, heapObjects(s))
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// Stop ends sampling and returns the peak.
func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.done.Wait()
	return h.peak
}

// BenchmarkFilesUpload64MiB uploads 64 MiB through the in-process fake
// (which counts and hashes the bytes but keeps none) and reports the
// throughput (MB/s) and peak-heap-MiB: how far the heap's live objects
// rose above their level before the upload, sampled every 200 µs. The
// multipart body is written while it is sent, so the peak must stay under
// 8 MiB whatever the file's size; the benchmark fails otherwise.
//
//	go test -run '^$' -bench BenchmarkFilesUpload64MiB -benchtime 3x .
func BenchmarkFilesUpload64MiB(b *testing.B) {
	srv := qodertest.NewServer(b, qodertest.WithoutFileContent(), qodertest.WithMaxBodySize(uploadSize+1<<20))
	client := srv.Client(qoder.WithMaxRetries(0))
	ctx := b.Context()
	b.SetBytes(uploadSize)
	var peak uint64
	for b.Loop() {
		runtime.GC()
		base := heapObjects([]metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}})
		sampler := startHeapSampler()
		f, err := client.Files.Upload(ctx, &qoder.FileUploadParams{
			Name:    "big.txt",
			Content: io.LimitReader(textReader{}, uploadSize),
		})
		top := sampler.Stop()
		if err != nil {
			b.Fatal(err)
		}
		if f.SizeBytes != uploadSize {
			b.Fatalf("the fake got %d bytes, want %d", f.SizeBytes, uploadSize)
		}
		peak = max(peak, top-min(base, top))
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	if peak >= maxUploadHeap {
		b.Fatalf("the heap rose %.1f MiB above its baseline during an upload; it must stay under %d MiB", float64(peak)/(1<<20), maxUploadHeap>>20)
	}
}
