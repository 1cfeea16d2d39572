package qodertest

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BasePath is the path prefix of every API route; [Server.URL] ends in it.
const BasePath = "/api/v1/cloud/"

// DefaultToken is the bearer token a [Server] accepts unless [WithToken]
// sets another.
const DefaultToken = "pt-qodertest"

// Server is a running fake of the Qoder Cloud Agents API. Its state lives
// in memory and it is safe for concurrent clients. Create one with
// [NewServer] in tests or [Start] in programs.
type Server struct {
	// URL is the API base URL, such as "http://127.0.0.1:41234/api/v1/cloud/".
	URL string
	// Token is the bearer token the server accepts.
	Token string

	cfg     config
	hs      *httptest.Server
	mux     *http.ServeMux
	ctx     context.Context // canceled by Close; parent of every turn
	stop    context.CancelFunc
	once    sync.Once
	turnWG  sync.WaitGroup // running agent turns
	streams atomic.Int32   // open stream connections
	hooks   webhookHub     // webhook endpoints and deliveries (webhooks.go)

	mu       sync.Mutex
	closed   bool
	seq      int64             // server-wide creation counter
	cursors  map[string]cursor // id -> kind and seq, kept after deletes
	envs     map[string]*environment
	agents   map[string]*agent
	sessions map[string]*session
	files    map[string]*storedFile
	skills   map[string]*storedSkill
	stored   int64    // bytes of file and skill content kept
	signKey  [32]byte // signs presigned storage URLs
	idem     map[string]*idemEntry
	requests []Request
	faults   faults
	latency  time.Duration

	memory memoryState // memory stores (routes_memory_stores.go)
	vaults vaultState  // vaults and credentials (routes_vaults.go)
	deploy deployState // deployments and their runs (routes_deployments.go)
	dreams dreamState  // dreams (routes_dreams.go)
	work   workState   // self-hosted work queues (routes_work.go)

	offset atomic.Int64 // nanoseconds Advance moved the clock on (clock.go)
}

// NewServer starts a fake on a loopback port and closes it when the test
// ends. Script the agent with [WithAgent]; by default every user.message
// gets a short, realistic turn (see [EchoAgent]).
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := start(t, opts)
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake for a program, such as an example that runs without
// a token or cmd/qoder-fake. It listens on a loopback port unless
// [WithListener] provides a listener, and panics if it cannot listen. The
// caller must call [Server.Close].
func Start(opts ...Option) *Server {
	return start(nil, opts)
}

func start(tb testing.TB, opts []Option) *Server {
	cfg := config{
		token:     DefaultToken,
		agent:     EchoAgent,
		heartbeat: 15 * time.Second,
		maxBody:   32 << 20,
		tb:        tb,

		fileStorage: 256 << 20,
		keepFiles:   true,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if cfg.agent == nil {
		cfg.agent = EchoAgent
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{
		Token:    cfg.token,
		cfg:      cfg,
		ctx:      ctx,
		stop:     stop,
		cursors:  make(map[string]cursor),
		envs:     make(map[string]*environment),
		agents:   make(map[string]*agent),
		sessions: make(map[string]*session),
		files:    make(map[string]*storedFile),
		skills:   make(map[string]*storedSkill),
		idem:     make(map[string]*idemEntry),
		latency:  cfg.latency,
	}
	_, _ = rand.Read(s.signKey[:])
	s.mux = http.NewServeMux()
	s.routes()
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	if cfg.listener != nil {
		s.hs.Listener.Close()
		s.hs.Listener = cfg.listener
	}
	s.hs.Start()
	s.URL = strings.TrimSuffix(s.hs.URL, "/") + BasePath
	return s
}

// Close stops the server: open streams end, running turns are stopped
// (their Turn methods return at once), and Close waits for both. It is
// safe to call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.stop()
		s.hs.Close()
		s.turnWG.Wait()
		s.hooks.close()
	})
}

// routes registers every API route on s.mux.
func (s *Server) routes() {
	h := func(pattern string, fn jsonHandler) {
		method, path, _ := strings.Cut(pattern, " ")
		s.mux.Handle(method+" "+BasePath+path, s.json(fn))
	}
	h("GET models", s.listModels)

	h("POST environments", s.createEnvironment)
	h("GET environments", s.listEnvironments)
	h("GET environments/{id}", s.getEnvironment)
	h("POST environments/{id}", s.updateEnvironment)
	h("POST environments/{id}/archive", s.archiveEnvironment)
	h("DELETE environments/{id}", s.deleteEnvironment)

	h("POST agents", s.createAgent)
	h("GET agents", s.listAgents)
	h("GET agents/{id}", s.getAgent)
	h("POST agents/{id}", s.updateAgent)
	h("POST agents/{id}/archive", s.archiveAgent)
	h("DELETE agents/{id}", s.deleteAgent)
	h("GET agents/{id}/versions", s.listAgentVersions)

	h("POST sessions", s.createSession)
	h("GET sessions", s.listSessions)
	h("GET sessions/{id}", s.getSession)
	h("POST sessions/{id}", s.updateSession)
	h("POST sessions/{id}/archive", s.archiveSession)
	h("DELETE sessions/{id}", s.deleteSession)
	h("POST sessions/{id}/cancel", s.cancelSession)
	h("GET sessions/{id}/resources", s.listSessionResources)
	h("POST sessions/{id}/resources", s.addSessionResource)
	h("GET sessions/{id}/resources/{resource}", s.getSessionResource)
	h("POST sessions/{id}/resources/{resource}", s.updateSessionResource)
	h("DELETE sessions/{id}/resources/{resource}", s.deleteSessionResource)
	h("GET sessions/{id}/threads", s.listThreads)
	h("GET sessions/{id}/threads/{thread}", s.getThread)
	h("POST sessions/{id}/threads/{thread}/archive", s.archiveThread)

	form := func(pattern string, fn formHandler, keep bool) {
		method, path, _ := strings.Cut(pattern, " ")
		s.mux.Handle(method+" "+BasePath+path, s.form(fn, keep))
	}
	form("POST files", s.createFile, false)
	h("GET files", s.listFiles)
	h("GET files/{id}", s.getFile)
	h("GET files/{id}/content", s.fileContent)
	h("DELETE files/{id}", s.deleteFile)

	form("POST skills", s.createSkill, true)
	h("GET skills", s.listSkills)
	h("GET skills/{id}", s.getSkill)
	h("DELETE skills/{id}", s.deleteSkill)
	form("POST skills/{id}/versions", s.createSkillVersion, true)
	h("GET skills/{id}/versions", s.listSkillVersions)
	h("GET skills/{id}/versions/{version}", s.getSkillVersion)
	h("DELETE skills/{id}/versions/{version}", s.deleteSkillVersion)
	s.mux.HandleFunc("GET "+BasePath+"skills/{id}/versions/{version}/content", s.skillVersionContent)

	h("POST memory_stores", s.createMemoryStore)
	h("GET memory_stores", s.listMemoryStores)
	h("GET memory_stores/{id}", s.getMemoryStore)
	h("POST memory_stores/{id}", s.updateMemoryStore)
	h("POST memory_stores/{id}/archive", s.archiveMemoryStore)
	h("DELETE memory_stores/{id}", s.deleteMemoryStore)
	h("POST memory_stores/{id}/memories", s.createMemory)
	h("GET memory_stores/{id}/memories", s.listMemories)
	h("GET memory_stores/{id}/memories/{memory}", s.getMemory)
	h("POST memory_stores/{id}/memories/{memory}", s.updateMemory)
	h("DELETE memory_stores/{id}/memories/{memory}", s.deleteMemory)
	h("GET memory_stores/{id}/memory_versions", s.listMemoryVersions)
	h("GET memory_stores/{id}/memory_versions/{version}", s.getMemoryVersion)
	h("POST memory_stores/{id}/memory_versions/{version}/redact", s.redactMemoryVersion)

	h("POST vaults", s.createVault)
	h("GET vaults", s.listVaults)
	h("GET vaults/{id}", s.getVault)
	h("POST vaults/{id}/archive", s.archiveVault)
	h("DELETE vaults/{id}", s.deleteVault)
	h("POST vaults/{id}/credentials", s.createCredential)
	h("GET vaults/{id}/credentials", s.listCredentials)
	h("GET vaults/{id}/credentials/{credential}", s.getCredential)
	h("POST vaults/{id}/credentials/{credential}", s.updateCredential)
	h("POST vaults/{id}/credentials/{credential}/archive", s.archiveCredential)
	h("DELETE vaults/{id}/credentials/{credential}", s.deleteCredential)
	h("POST vaults/{id}/credentials/{credential}/mcp_oauth_validate", s.validateCredential)

	h("POST deployments", s.createDeployment)
	h("GET deployments", s.listDeployments)
	h("GET deployments/{id}", s.getDeployment)
	h("POST deployments/{id}", s.updateDeployment)
	h("POST deployments/{id}/archive", s.archiveDeployment)
	h("POST deployments/{id}/pause", s.pauseDeployment)
	h("POST deployments/{id}/unpause", s.unpauseDeployment)
	h("POST deployments/{id}/run", s.runDeployment)
	h("GET deployments/{id}/runs", s.listDeploymentRuns)
	h("GET deployments/{id}/runs/{run}", s.getDeploymentRun)
	h("GET deployment_runs", s.listRuns)
	h("GET deployment_runs/{run}", s.getRun)

	h("POST dreams", s.createDream)
	h("GET dreams", s.listDreams)
	h("GET dreams/{id}", s.getDream)
	h("POST dreams/{id}/archive", s.archiveDream)
	h("POST dreams/{id}/cancel", s.cancelDream)

	h("GET environments/{id}/work/poll", s.pollWork)
	h("GET environments/{id}/work/stats", s.workStats)
	h("GET environments/{id}/work", s.listWork)
	h("GET environments/{id}/work/{work}", s.getWork)
	h("POST environments/{id}/work/{work}", s.updateWork)
	h("POST environments/{id}/work/{work}/ack", s.ackWork)
	h("POST environments/{id}/work/{work}/heartbeat", s.heartbeatWork)
	h("POST environments/{id}/work/{work}/stop", s.stopWork)

	h("POST sessions/{id}/events", s.sendEvents)
	h("GET sessions/{id}/events", s.listEvents)
	s.mux.HandleFunc("GET "+BasePath+"sessions/{id}/events/stream", s.stream)
	h("GET sessions/{id}/threads/{thread}/events", s.listEvents)
	s.mux.HandleFunc("GET "+BasePath+"sessions/{id}/threads/{thread}/stream", s.stream)
}

// nextSeq returns the next creation sequence number; s.mu must be held.
func (s *Server) nextSeq() int64 {
	s.seq++
	return s.seq
}

// register records id's cursor position; s.mu must be held.
func (s *Server) register(kind, id string) int64 {
	n := s.nextSeq()
	s.cursors[id] = cursor{kind: kind, seq: n}
	return n
}

// errorf reports an internal failure to the test that owns the server, if
// any; programs get no report.
func (s *Server) errorf(format string, args ...any) {
	if s.cfg.tb != nil {
		s.cfg.tb.Errorf("qodertest: "+format, args...)
	}
}
