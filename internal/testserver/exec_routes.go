package testserver

// The execution half of the fake: its engine (processes, ledger, workspaces, snapshots) and its
// routes. Every route here that runs code starts REAL host processes; see runner.go.

import (
	"sync"
	"time"
)

// execEngine holds the execution state of one Server.
type execEngine struct {
	s     *Server
	run   *runner
	jails *jailStore
	ws    *workspaceStore
	snaps *snapshotStore

	// Settings changed after start-up, guarded by cfgMu. keepAlive is the idle time after which
	// the SSE route sends a ":" comment frame (15 s like axum's default); statsEvery the period
	// of its stats events (500 ms); tests change them with setStreamTimings.
	cfgMu      sync.Mutex
	keepAlive  time.Duration
	statsEvery time.Duration
	gitEnv     []string // extra environment for git clones (tests: trust a local TLS server)
	poolDir    string   // incremental snapshot pool; "" = classic full copies

	proxyPermit proxyPermitFunc // allowlist proxy address check; nil = public addresses only
}

// newExecEngine creates the engine of s; s.stateDir, s.maxConcurrent and s.log must be set.
func newExecEngine(s *Server) *execEngine {
	return &execEngine{
		s:          s,
		run:        newRunner(s.maxConcurrent, s.jail),
		jails:      &jailStore{cap: jailCapacity},
		ws:         newWorkspaceStore(),
		snaps:      newSnapshotStore(),
		keepAlive:  15 * time.Second,
		statsEvery: 500 * time.Millisecond,
	}
}

// setStreamTimings changes the SSE keep-alive interval and stats period for later streams.
func (e *execEngine) setStreamTimings(keepAlive, statsEvery time.Duration) {
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	e.keepAlive, e.statsEvery = keepAlive, statsEvery
}

func (e *execEngine) streamTimings() (keepAlive, statsEvery time.Duration) {
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	return e.keepAlive, e.statsEvery
}

// setGitEnv adds "K=V" entries to the environment of later git clones.
func (e *execEngine) setGitEnv(env ...string) {
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	e.gitEnv = append([]string{}, env...)
}

func (e *execEngine) gitEnvironment() []string {
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	return append([]string{}, e.gitEnv...)
}

// close kills every running process group and waits for all of them.
func (e *execEngine) close() { e.run.close() }

// counts reports active and total executions for GET /v1/stats.
func (e *execEngine) counts() (active, total uint64) { return e.run.counts() }

// registerExecRoutes adds every execution, workspace, snapshot and ledger route.
func (s *Server) registerExecRoutes(r router) {
	r.handle("POST /v1/sessions/{id}/exec", s.handleSessionExec)
	r.handle("POST /v1/runs", s.handleRun)
	r.handle("POST /v1/runs/fork", s.handleFork)
	r.handle("POST /v1/runs/stream", s.handleStream)

	r.handle("GET /v1/jails", s.handleListJails)
	r.handle("GET /v1/jails/{id}", s.handleGetJail)

	r.handle("POST /v1/workspaces", s.handleCreateWorkspace)
	r.handle("GET /v1/workspaces", s.handleListWorkspaces)
	r.handle("POST /v1/workspaces/from-snapshot", s.handleFromSnapshot)
	r.handle("GET /v1/workspaces/{id}", s.handleGetWorkspace)
	r.handle("PATCH /v1/workspaces/{id}", s.handleRenameWorkspace)
	r.handle("DELETE /v1/workspaces/{id}", s.handleDeleteWorkspace)
	r.handle("POST /v1/workspaces/{id}/exec", s.handleWorkspaceExec)
	r.handle("POST /v1/workspaces/{id}/fork", s.handleForkWorkspace)
	r.handle("POST /v1/workspaces/{id}/snapshot", s.handleSnapshotWorkspace)

	r.handle("GET /v1/snapshots", s.handleListSnapshots)
	r.handle("GET /v1/snapshots/{id}", s.handleGetSnapshot)
	r.handle("DELETE /v1/snapshots/{id}", s.handleDeleteSnapshot)
	r.handle("GET /v1/snapshots/{id}/manifest", s.handleSnapshotManifest)
}
