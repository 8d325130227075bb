package testserver

// The process engine of the fake control plane.
//
// SECURITY: every execution route of the fake (sessions exec, runs, fork, stream, workspace exec)
// starts a REAL process through this file. On Linux with namespaces it runs in a light jail
// (jail_linux.go): its own mount, PID, IPC and network namespaces, a minimal read-only root, no
// capabilities, the request's seccomp profile. That keeps honest code honest; it is not a
// hardened sandbox: there is no cgroup, so memory, CPU and PID limits are accepted and recorded
// like the real server does but not enforced. Elsewhere (see isolation.go) it is a plain
// host process of the user running the server. The timeout is always enforced: every process is
// started in its own process group and the whole group is killed with SIGKILL when the timeout
// fires, even when a grandchild keeps the output pipes open (the real server reads the pipes to
// the end before it applies the timeout; the fake deliberately does not wait).
//
// When a command's main process ends, whatever is left of its process group is killed too, the
// way a jail is torn down after its command: a background job (`server &`) does not outlive the
// exec that started it. In a jail the program is PID 1 of its PID namespace, so nothing it started
// survives it; on the host a process that leaves the group (setsid) escapes that clean-up, and its
// hold on the output pipes is cut after pipeGrace.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// outputCap is the per-stream capture limit of the non-streaming routes, in bytes.
	outputCap = 16 << 10
	// streamLineCap is the longest line the streaming route forwards; the rest of a longer line
	// is discarded.
	streamLineCap = 1 << 20
	// pipeGrace bounds how long output is still drained after a process group was killed. A
	// process that left the group (setsid) and kept the pipe open cannot hold a request longer.
	pipeGrace = time.Second
	// jailPath is the PATH every execution gets, as inside a real jail.
	jailPath = "/usr/local/bin:/usr/bin:/bin"
)

// runner owns every running process and the global concurrency limit.
type runner struct {
	jail   *jailer // nil: host processes
	sem    chan struct{}
	active atomic.Uint64 // permits held right now
	total  atomic.Uint64 // permits ever granted

	mu     sync.Mutex
	procs  map[*process]struct{}
	closed bool
	wg     sync.WaitGroup // one per started process, done once it is reaped and drained
}

// newRunner returns a runner allowing maxConcurrent (at least 1) executions at once, in jails
// made by j, or as host processes when j is nil.
func newRunner(maxConcurrent int, j *jailer) *runner {
	return &runner{jail: j, sem: make(chan struct{}, maxConcurrent), procs: make(map[*process]struct{})}
}

// permit is one slot of the concurrency limit. release is idempotent.
type permit struct {
	r       *runner
	once    sync.Once
	counted atomic.Bool // the execution was counted in active/total
}

func (p *permit) release() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		<-p.r.sem
		if p.counted.Load() {
			p.r.active.Add(^uint64(0))
		}
	})
}

// count adds the execution holding p to the active and total counters of GET /v1/stats; the
// active count drops again on release. Counting twice is a no-op.
func (p *permit) count() {
	if p.counted.CompareAndSwap(false, true) {
		p.r.active.Add(1)
		p.r.total.Add(1)
	}
}

// tryAcquire takes a concurrency slot without waiting, like the real server's try_acquire, and
// counts the execution at once. It returns false when every slot is taken.
func (r *runner) tryAcquire() (*permit, bool) {
	p, ok := r.tryAcquireSlot()
	if ok {
		p.count()
	}
	return p, ok
}

// tryAcquireSlot is tryAcquire without counting: the streaming route counts its execution only
// once the process has started, so a stream refused before that leaves the counters alone.
func (r *runner) tryAcquireSlot() (*permit, bool) {
	select {
	case r.sem <- struct{}{}:
		return &permit{r: r}, true
	default:
		return nil, false
	}
}

// counts reports the executions running now and started since the server began.
func (r *runner) counts() (active, total uint64) {
	return r.active.Load(), r.total.Load()
}

// procSpec describes one process to start.
type procSpec struct {
	argv []string // argv[0] is used as given, with no PATH lookup: a bare name is relative to dir
	// dir is the workspace: mounted at /workspace (the working directory) in a jail, read-only
	// unless writable is set; the working directory itself on the host.
	dir      string
	writable bool
	output   string   // host directory mounted at /output in a jail; "" gives an empty one
	flavors  []flavor // mounted read-only at /opt/flavors/<name> in a jail
	network  string   // "none" (also ""), "loopback" or "allowlist"; enforced in a jail only
	seccomp  string   // "standard" (also "") or "strict"; enforced in a jail only
	env      []string // complete environment, "K=V"
	onHost   bool     // a host process even when the runner jails (the server's own git clones)
	timeout  time.Duration
	// release, when set, frees what the process needed while it ran (an allowlist proxy); it is
	// called once the process is reaped and drained, before its result is published, so close
	// waits for it too.
	release func()
	// lines, when set, switches to line mode: it is called once for "stdout" and once for
	// "stderr", and the sink it returns receives that stream's lines.
	lines func(stream string) lineSink
	// abandon, when set, is called if the runner closes while the process runs, after killing
	// it: the sinks must stop holding their readers (a stream's client may never read again),
	// or close would wait for ever.
	abandon func()
}

// lineSink receives one output stream of a process in line mode, from that stream's reader
// goroutine (the two streams of a process are read concurrently, each by its own goroutine).
type lineSink interface {
	// line is called for every output line: trailing "\n" and one trailing "\r" removed, at
	// most streamLineCap bytes, raw bytes that may be invalid UTF-8. The slice is only valid
	// during the call.
	line(b []byte)
	// idle is called when every line read so far was delivered and the reader is about to wait
	// for more output, and once after the last line.
	idle()
}

// procResult is what a finished process reports.
type procResult struct {
	stdout, stderr string // capped at outputCap bytes, "…" appended on overflow
	exitCode       int    // exit status, or 128+signal when killed by a signal
	duration       time.Duration
	timedOut       bool
	stats          *execStats // nil when the platform reports no rusage
}

// durationMs rounds the duration up to whole milliseconds, so a process that ran never reports 0.
func (res procResult) durationMs() uint64 {
	ms := uint64((res.duration + time.Millisecond - 1) / time.Millisecond)
	if ms == 0 {
		ms = 1
	}
	return ms
}

// process is one started process group.
type process struct {
	r       *runner
	cmd     *exec.Cmd // nil when the program could not be executed on the host
	pgid    int
	started time.Time

	mu       sync.Mutex
	reaped   bool
	timedOut bool
	abandon  func() // procSpec.abandon

	done   chan struct{} // closed when res is final
	res    procResult
	outBuf *capBuffer
	errBuf *capBuffer
}

// errRunnerClosed is returned by start after close.
var errRunnerClosed = errors.New("runner closed")

// start spawns spec as the leader of a new process group. The returned error is a spawn failure
// (binary not found, bad directory, ...).
func (r *runner) start(spec procSpec) (*process, error) {
	if len(spec.argv) == 0 {
		return nil, errors.New("spawn: empty command")
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errRunnerClosed
	}
	l, err := r.launch(spec)
	if err != nil {
		r.mu.Unlock()
		return nil, fmt.Errorf("spawn %s: %w", spec.argv[0], err)
	}
	p := &process{r: r, cmd: l.cmd, started: l.started, done: make(chan struct{}), outBuf: &capBuffer{}, errBuf: &capBuffer{}}
	if l.cmd != nil {
		p.pgid = l.cmd.Process.Pid
	} else {
		p.reaped = true
	}
	p.abandon = spec.abandon
	r.procs[p] = struct{}{}
	r.wg.Add(1)
	r.mu.Unlock()

	var readers sync.WaitGroup
	readers.Add(2)
	var outLines, errLines lineSink
	if spec.lines != nil {
		outLines, errLines = spec.lines("stdout"), spec.lines("stderr")
	}
	go p.drain(&readers, l.outR, p.outBuf, outLines)
	go p.drain(&readers, l.errR, p.errBuf, errLines)
	go p.supervise(spec.timeout, spec.release, &readers, l.outR, l.errR)
	return p, nil
}

// supervise enforces the timeout, reaps the leader, kills what is left of its group, drains the
// pipes and publishes the result.
func (p *process) supervise(timeout time.Duration, release func(), readers *sync.WaitGroup, outR, errR *os.File) {
	defer p.r.wg.Done()
	var timer *time.Timer
	if timeout > 0 {
		timer = time.AfterFunc(timeout, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if !p.reaped {
				p.timedOut = true
				p.signalLocked(groupKill)
			}
		})
	}
	if p.cmd != nil {
		_ = p.cmd.Wait() // the outcome is read from ProcessState below
	}
	ended := time.Now()
	if timer != nil {
		timer.Stop()
	}
	p.mu.Lock()
	p.reaped = true
	timedOut := p.timedOut
	p.mu.Unlock()
	// The command is over: like a jail being torn down, nothing it started may outlive it. The
	// group id cannot be reused while any member is alive, so this reaches only its leftovers.
	if p.cmd != nil {
		_ = signalGroup(p.pgid, groupKill)
	}

	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(pipeGrace):
		outR.Close()
		errR.Close()
		<-drained
	}
	outR.Close()
	errR.Close()

	res := procResult{duration: ended.Sub(p.started), timedOut: timedOut, exitCode: -1}
	if p.cmd == nil {
		res.exitCode = 127
	} else if st := p.cmd.ProcessState; st != nil {
		res.exitCode = exitCodeOf(st)
		res.stats = rusageStats(st)
	}
	res.stdout = p.outBuf.String()
	res.stderr = p.errBuf.String()
	p.res = res
	if release != nil {
		release()
	}

	p.r.mu.Lock()
	delete(p.r.procs, p)
	p.r.mu.Unlock()
	close(p.done)
}

// drain copies one pipe into its capture buffer and, in line mode, hands its lines to sink. In
// line mode the capture holds the lines as delivered, each ended by "\n"; it is decoded as lossy
// UTF-8 when read, which gives the same text as decoding every line on its own.
func (p *process) drain(wg *sync.WaitGroup, r io.Reader, buf *capBuffer, sink lineSink) {
	defer wg.Done()
	if sink == nil {
		_, _ = io.Copy(buf, r)
		return
	}
	readLines(r, streamLineCap, func(line []byte) {
		_, _ = buf.Write(line)
		_, _ = buf.Write(newline)
		sink.line(line)
	}, sink.idle)
}

var newline = []byte{'\n'}

// signalLocked sends sig to the whole process group unless the leader was reaped. p.mu held.
func (p *process) signalLocked(sig groupSignal) {
	if !p.reaped {
		_ = signalGroup(p.pgid, sig)
	}
}

func (p *process) signal(sig groupSignal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signalLocked(sig)
}

// pid is the host PID of the group leader.
func (p *process) pid() int { return p.pgid }

// freeze stops the whole process group (SIGSTOP) and reports whether it was still running.
func (p *process) freeze() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return false
	}
	if err := signalGroup(p.pgid, groupStop); err != nil {
		return false
	}
	return true
}

// thaw resumes a frozen process group (SIGCONT).
func (p *process) thaw() { p.signal(groupCont) }

// kill ends the whole process group at once, e.g. when the client went away.
func (p *process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signalLocked(groupKill)
	p.signalLocked(groupCont)
}

// wait blocks until the process was reaped and its output drained.
func (p *process) wait() procResult {
	<-p.done
	return p.res
}

// close kills every running process group, abandons its output, waits until all of them were
// reaped, and ends the jails started ahead of time. Later starts fail with errRunnerClosed.
func (r *runner) close() {
	r.mu.Lock()
	r.closed = true
	procs := make([]*process, 0, len(r.procs))
	for p := range r.procs {
		procs = append(procs, p)
	}
	r.mu.Unlock()
	for _, p := range procs {
		p.kill()
		if p.abandon != nil {
			p.abandon()
		}
	}
	r.wg.Wait()
	if r.jail != nil {
		r.jail.close()
	}
}
