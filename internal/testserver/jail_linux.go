package testserver

// The outside half of the jail: a command that starts a copy of the current binary in new mount,
// PID, IPC and (unless the network mode is allowlist) network namespaces, plus a user namespace
// mapping the server's user to root when the server is not root. jail_child_linux.go does the rest.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
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
}

// share makes dir visible, writable and at the same path, in every later jail.
func (j *jailer) share(dir string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.binds = append(j.binds, dir)
}

// command is the jailed command for spec, and a clean-up that closes the parent's copy of the
// spec pipe once the command was started.
func (j *jailer) command(spec procSpec) (*exec.Cmd, func(), error) {
	j.mu.Lock()
	binds := append([]string(nil), j.binds...)
	j.mu.Unlock()
	cmd, specR, err := j.jailCommand(jailSpec{
		Workspace: spec.dir, WorkspaceRW: spec.writable, Output: spec.output, Flavors: spec.flavors, Binds: binds,
		Argv: spec.argv, Env: spec.env, Seccomp: spec.seccomp,
	}, spec.network)
	if err != nil {
		return nil, nil, err
	}
	return cmd, func() { specR.Close() }, nil
}

// jailCommand returns the command that runs spec in a jail. Its SysProcAttr also makes it the
// leader of a new process group and kills it when the server dies.
func (j *jailer) jailCommand(spec jailSpec, network string) (*exec.Cmd, *os.File, error) {
	spec.Root = j.root
	spec.Loopback = network == "loopback"
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, nil, err
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	go func() {
		// The child reads the spec to EOF right after it starts; if it dies first the write fails,
		// and its exit status says why.
		_, _ = specW.Write(b)
		specW.Close()
	}()
	flags := uintptr(syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC)
	if network != "allowlist" {
		// allowlist stays in the host's namespace: an unprivileged process cannot wire a veth to
		// the host, so the proxy is reached on the host's loopback.
		flags |= syscall.CLONE_NEWNET
	}
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Cloneflags: flags}
	if uid := os.Getuid(); uid != 0 || j.userNS {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	cmd := &exec.Cmd{
		Path:        j.self,
		Args:        []string{jailChildArg0},
		Env:         []string{jailChildEnv + "=1"},
		ExtraFiles:  []*os.File{specR},
		SysProcAttr: attr,
	}
	return cmd, specR, nil
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
	cmd, specR, err := j.jailCommand(jailSpec{Workspace: dir + "/ws", Output: dir + "/out", Probe: true}, "loopback")
	if err != nil {
		return err
	}
	defer specR.Close()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		var exitErr *exec.ExitError
		if msg == "" || !errors.As(err, &exitErr) {
			msg = err.Error()
		}
		return errors.New(msg)
	}
	return nil
}
