package testserver

// The execution half of the fake: the engine that owns processes, the jail ledger, workspaces
// and snapshots. Every route that runs code starts REAL processes, jailed where the platform
// allows; see runner.go.

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
	// Where clones find git (see findGit); tests point them at empty places.
	gitSearchPath string
	jailGit       string

	idleUnit time.Duration // what one idle_timeout_secs counts; guarded by ws.mu
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
		idleUnit:   time.Second,

		gitSearchPath: jailPath,
		jailGit:       jailModeGit,
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
