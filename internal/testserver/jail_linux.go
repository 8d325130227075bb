package testserver

// The outside half of the jail: a command that starts a copy of the current binary in new mount,
// PID, IPC and (unless the network mode is allowlist) network namespaces, plus a user namespace
// mapping the server's user to root when the server is not root. jail_child_linux.go does the rest.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A process is the inside half of a jail only when it was started with exactly the argument list
// [jailChildArg0] and the environment [jailChildEnv=1]: a marker variable inherited from a shell,
// or set in a submitted program's environment, comes with other arguments or variables and so
// never turns a binary that imports this package into a jail.
const (
	jailChildEnv  = "AGENTJAIL_TESTSERVER_JAIL_CHILD"
	jailChildArg0 = "agentjail-jail"
)

// isJailChild reports whether args and env (os.Args and os.Environ) are exactly what
// jailCommand gives the inside half.
func isJailChild(args, env []string) bool {
	return len(args) == 1 && args[0] == jailChildArg0 && len(env) == 1 && env[0] == jailChildEnv+"=1"
}

// jailSpec is what the inside half needs, sent as JSON on fd 3.
type jailSpec struct {
	Root        string   // an empty host directory the new root's tmpfs is mounted on
	Workspace   string   // host directory at /workspace
	WorkspaceRW bool     // /workspace is writable (workspace execs)
	Output      string   // host directory at /output, always writable
	Flavors     []flavor // host directories at /opt/flavors/<name>, read-only
	Binds       []string // extra host directories at the same path, writable (tests)
	Loopback    bool     // bring lo up in the jail's network namespace
	Seccomp     string   // syscall filter profile: "standard" (also "") or "strict"
	Argv        []string // program and arguments; argv[0] is not looked up in PATH
	Env         []string // the complete environment
	Probe       bool     // set up, then exit 0 instead of exec
}

// jailer starts jailed commands. self is the binary re-executed as the inside half.
type jailer struct {
	self string
	root string

	// userNS puts the jail in a user namespace even when the server is root, as it is for every
	// other user (tests).
	userNS bool

	mu    sync.Mutex
	binds []string // host directories every jail also sees, writable, at the same path (tests)

	warm   warmPool    // inside halves started ahead of time, waiting for their spec
	thread spawnThread // the OS thread every inside half is started from
}

// share makes dir visible, writable and at the same path, in every later jail.
func (j *jailer) share(dir string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.binds = append(j.binds, dir)
}

// launch starts spec in a jail. An inside half of the right kind started ahead of time is used
// when one is waiting; either way another is then started in the background, so the next
// execution skips creating namespaces and starting this binary, most of a jail's cost.
func (j *jailer) launch(spec procSpec) (launched, error) {
	j.mu.Lock()
	binds := append([]string(nil), j.binds...)
	j.mu.Unlock()
	b, err := json.Marshal(jailSpec{
		Root: j.root, Workspace: spec.dir, WorkspaceRW: spec.writable, Output: spec.output, Flavors: spec.flavors,
		Binds: binds, Loopback: spec.network == "loopback", Seccomp: spec.seccomp, Argv: spec.argv, Env: spec.env,
	})
	if err != nil {
		return launched{}, err
	}
	k := j.kindOf(spec.network)
	defer j.warm.refill(k, j.startChild)
	c := j.warm.take(k)
	if c == nil {
		if c, err = j.startChild(k); err != nil {
			return launched{}, err
		}
	}
	return c.send(b), nil
}

// close stops the inside halves waiting for a spec, then the thread that started them.
func (j *jailer) close() {
	j.warm.close()
	j.thread.stop()
}

// jailKind is what an inside half is bound to from its start: its namespaces. Everything else
// comes with its spec.
type jailKind struct {
	ownNet bool // a network namespace of its own (every mode but allowlist)
	userNS bool // a user namespace mapping the server's user to root
}

// kindOf is the kind of jail network needs. allowlist stays in the host's network namespace: an
// unprivileged process cannot wire a veth to the host, so the proxy is reached on the host's
// loopback.
func (j *jailer) kindOf(network string) jailKind {
	return jailKind{ownNet: network != "allowlist", userNS: os.Getuid() != 0 || j.userNS}
}

// jailCommand is the unstarted inside half of kind k, which reads its spec from specR (its fd 3).
// Its SysProcAttr also makes it the leader of a new process group and kills it when the server
// dies.
func (j *jailer) jailCommand(k jailKind, specR *os.File) *exec.Cmd {
	flags := uintptr(syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC)
	if k.ownNet {
		flags |= syscall.CLONE_NEWNET
	}
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Cloneflags: flags}
	if k.userNS {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	return &exec.Cmd{
		Path:        j.self,
		Args:        []string{jailChildArg0},
		Env:         []string{jailChildEnv + "=1"},
		ExtraFiles:  []*os.File{specR},
		SysProcAttr: attr,
	}
}

// pendingJail is a started inside half that waits for its spec; its cmd is never nil (startChild
// turns a binary that cannot be executed into an error).
type pendingJail struct {
	launched
	specW *os.File // the write end of its spec pipe
}

// startChild starts an inside half of kind k. It blocks reading its spec until send. A jail binary
// that cannot be executed is an error of the server, not a result of the program.
func (j *jailer) startChild(k jailKind) (*pendingJail, error) {
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	var l launched
	if runErr := j.thread.run(func() { l, err = startPiped(j.jailCommand(k, specR)) }); runErr != nil {
		err = runErr
	}
	specR.Close()
	if err == nil && l.cmd == nil {
		msg, _ := io.ReadAll(l.errR) // startPiped wrote the reason and closed the write end
		l.outR.Close()
		l.errR.Close()
		err = fmt.Errorf("starting the jail: %s", strings.TrimSpace(string(msg)))
	}
	if err != nil {
		specW.Close()
		return nil, err
	}
	return &pendingJail{launched: l, specW: specW}, nil
}

// send hands the child its spec, which sets up the jail and runs the program, and returns the
// child as a command started now. A spec of at most pipeAtomic bytes is written at once: it fits
// in the empty pipe, so the write cannot block, and the child sees its end without waiting for a
// goroutine. A longer one is written by a goroutine as the child reads it. If the child died
// first the write fails, and its exit status says why.
func (c *pendingJail) send(spec []byte) launched {
	c.started = time.Now()
	if len(spec) <= pipeAtomic {
		_, _ = c.specW.Write(spec)
		c.specW.Close()
	} else {
		go func() {
			_, _ = c.specW.Write(spec)
			c.specW.Close()
		}()
	}
	return c.launched
}

// pipeAtomic is PIPE_BUF, the most a pipe takes at once, even one shrunk to a single page.
const pipeAtomic = 4096

// discard ends a child that was never sent a spec, and reaps it. It is killed before its spec
// pipe is closed, so it never goes on to fail on an empty spec.
func (c *pendingJail) discard() {
	_ = c.cmd.Process.Kill()
	c.specW.Close()
	c.outR.Close()
	c.errR.Close()
	_ = c.cmd.Wait()
}

// spawnThread runs the start of every inside half on one OS thread kept for that. A jail has
// Pdeathsig set so that it dies with the server, but the kernel sends it when the thread that
// forked the child exits, not the process, and Go ends a thread when a goroutine locked to it
// returns. Started from an ordinary goroutine, a jail would die whenever any goroutine that
// later locked the same thread returned without unlocking it. This thread's goroutine stays
// locked to it until the jailer closes, after every jail it started has ended.
type spawnThread struct {
	mu      sync.Mutex
	reqs    chan func()
	stopped chan struct{} // closed when the goroutine has returned
	closed  bool
}

// errJailerClosed is returned for a jail asked for after its jailer closed.
var errJailerClosed = errors.New("jailer closed")

// run calls f on the thread, starting it on first use, and returns when f has returned. After
// stop it does not call f and returns errJailerClosed.
func (s *spawnThread) run(f func()) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errJailerClosed
	}
	if s.reqs == nil {
		s.reqs, s.stopped = make(chan func()), make(chan struct{})
		go s.serve(s.reqs, s.stopped)
	}
	reqs := s.reqs
	ran := make(chan struct{})
	// Sent under the lock, so stop cannot close reqs in between.
	reqs <- func() { f(); close(ran) }
	s.mu.Unlock()
	<-ran
	return nil
}

func (s *spawnThread) serve(reqs <-chan func(), stopped chan<- struct{}) {
	runtime.LockOSThread()
	defer close(stopped)
	// Unlocked before returning, the thread stays in Go's pool instead of exiting; nothing it
	// started is alive any more.
	defer runtime.UnlockOSThread()
	for f := range reqs {
		f()
	}
}

// stop ends the thread's goroutine once the call in progress has returned.
func (s *spawnThread) stop() {
	s.mu.Lock()
	s.closed = true
	reqs, stopped := s.reqs, s.stopped
	s.reqs = nil
	s.mu.Unlock()
	if reqs != nil {
		close(reqs)
		<-stopped
	}
}

// probeResult caches whether jails work in this process: namespaces do not come and go.
var probeResult struct {
	once sync.Once
	self string
	err  error
}

// newJailer checks once per process that a full jail can be built here (namespaces allowed, no
// seccomp filter in the way, mounts permitted) and returns a jailer using root as the mount
// point of every jail's new root. The error says why jails are unavailable.
func newJailer(root string) (*jailer, error) {
	probeResult.once.Do(func() {
		self, err := os.Executable()
		if err != nil {
			probeResult.err = fmt.Errorf("cannot re-execute this program: %w", err)
			return
		}
		probeResult.self = self
		probeResult.err = probeJail(self)
	})
	if probeResult.err != nil {
		return nil, probeResult.err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	return &jailer{self: probeResult.self, root: root}, nil
}

// probeJail builds one throw-away jail without running anything in it.
func probeJail(self string) error {
	dir, err := os.MkdirTemp("", "agentjail-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, d := range []string{"root", "ws", "out"} {
		if err := os.Mkdir(dir+"/"+d, 0o755); err != nil {
			return err
		}
	}
	j := &jailer{self: self, root: dir + "/root"}
	defer j.close()
	c, err := j.startChild(j.kindOf("loopback"))
	if err != nil {
		return err
	}
	b, err := json.Marshal(jailSpec{Root: j.root, Workspace: dir + "/ws", Output: dir + "/out", Loopback: true, Probe: true})
	if err != nil {
		c.discard()
		return err
	}
	l := c.send(b)
	defer l.outR.Close()
	stderr, _ := io.ReadAll(l.errR)
	l.errR.Close()
	msg := strings.TrimSpace(string(stderr))
	if err := l.cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if msg == "" || !errors.As(err, &exitErr) {
			msg = err.Error()
		}
		return errors.New(msg)
	}
	return nil
}
