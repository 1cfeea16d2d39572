package qodertest

import (
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// faults holds the injected faults waiting for their connections or
// requests; guarded by Server.mu.
type faults struct {
	cuts     []*cutFault
	silences []*silenceFault
	failures []*failFault
}

// Cut describes an abrupt drop of stream connections: the server writes
// part of the stream, then closes the connection without ending the
// response, as a proxy or network failure would.
type Cut struct {
	// AfterEvents drops the connection right after this many frames
	// (buffered events and delta frames; heartbeats do not count).
	AfterEvents int
	// AfterBytes drops the connection once this many bytes of the body
	// have been written, possibly in the middle of a frame.
	AfterBytes int
	// Times is how many upcoming stream connections are cut (default 1).
	// With neither AfterEvents nor AfterBytes, they are cut right after
	// the response headers.
	Times int
}

type cutFault struct {
	Cut
	left int
}

// Silence describes stream connections that stop writing anything,
// heartbeats included, while staying open: a stalled connection that only
// an idle timeout detects.
type Silence struct {
	// AfterEvents lets this many frames through before going silent
	// (0: silent right after the response headers).
	AfterEvents int
	// For is how long the silence lasts; zero means until the release
	// function is called or the server closes. Afterwards the connection
	// catches up and goes on normally.
	For time.Duration
	// Times is how many upcoming stream connections go silent (default 1).
	Times int
}

type silenceFault struct {
	Silence
	left     int
	released chan struct{}
	once     sync.Once
}

func (f *silenceFault) release() { f.once.Do(func() { close(f.released) }) }

// Failure describes requests answered with an error before they reach the
// API, as a gateway under load answers.
type Failure struct {
	// Method matches the request method; empty matches any.
	Method string
	// Path is a path.Match pattern for the URL path, such as
	// "sessions/*/events/stream". Without a leading "/" it is relative to
	// BasePath. Empty matches any path.
	Path string
	// Status is the response status (default 503).
	Status int
	// Body is the raw response body. Empty means the API's JSON error
	// envelope with an error type that fits Status.
	Body string
	// RetryAfter, when set, is sent as the Retry-After header (seconds or
	// an HTTP date).
	RetryAfter string
	// Times is how many matching requests fail (default 1).
	Times int
}

type failFault struct {
	Failure
	pattern string
	left    int
}

// CutStreams drops upcoming stream connections as c describes.
func (s *Server) CutStreams(c Cut) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.cuts = append(s.faults.cuts, &cutFault{Cut: c, left: max(c.Times, 1)})
}

// SilenceStreams makes upcoming stream connections go silent as f
// describes. The returned function ends the silence early (for every
// connection it affected) and cancels the connections not yet affected;
// it may be called more than once.
func (s *Server) SilenceStreams(f Silence) (release func()) {
	sf := &silenceFault{Silence: f, left: max(f.Times, 1), released: make(chan struct{})}
	s.mu.Lock()
	s.faults.silences = append(s.faults.silences, sf)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		sf.left = 0
		s.mu.Unlock()
		sf.release()
	}
}

// FailRequests answers the next f.Times requests matching f with an
// error. It panics if f.Path is not a valid pattern.
func (s *Server) FailRequests(f Failure) {
	pattern := f.Path
	if pattern != "" && !strings.HasPrefix(pattern, "/") {
		pattern = BasePath + pattern
	}
	if _, err := path.Match(pattern, ""); err != nil {
		panic(fmt.Sprintf("qodertest: bad Failure.Path %q: %v", f.Path, err))
	}
	if f.Status == 0 {
		f.Status = http.StatusServiceUnavailable
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failures = append(s.faults.failures, &failFault{Failure: f, pattern: pattern, left: max(f.Times, 1)})
}

// SetLatency delays every later response by d (zero turns it off).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// ClearFaults drops every injected fault that has not happened yet and
// releases silenced streams. Latency is kept.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sf := range s.faults.silences {
		sf.release()
	}
	s.faults = faults{}
}

// takeFailure returns the failure r must get, if any.
func (s *Server) takeFailure(r *http.Request) *failFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults.failures {
		if f.left == 0 || (f.Method != "" && !strings.EqualFold(f.Method, r.Method)) {
			continue
		}
		if f.pattern != "" {
			if ok, _ := path.Match(f.pattern, r.URL.Path); !ok {
				continue
			}
		}
		f.left--
		return f
	}
	return nil
}

func (f *failFault) write(w http.ResponseWriter, requestID string) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Body == "" {
		writeError(w, requestID, &apiError{status: f.Status, typ: errorType(f.Status), message: "Injected failure: " + strconv.Itoa(f.Status) + " " + http.StatusText(f.Status) + "."})
		return
	}
	ct := "text/plain; charset=utf-8"
	if strings.HasPrefix(strings.TrimSpace(f.Body), "{") {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(f.Body))
}

// takeStreamFaults claims the faults for a new stream connection.
func (s *Server) takeStreamFaults() (*Cut, *silenceFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cut *Cut
	for _, c := range s.faults.cuts {
		if c.left > 0 {
			c.left--
			cc := c.Cut
			cut = &cc
			break
		}
	}
	var sil *silenceFault
	for _, sf := range s.faults.silences {
		if sf.left > 0 {
			sf.left--
			sil = sf
			break
		}
	}
	return cut, sil
}
