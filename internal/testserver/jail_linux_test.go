package testserver

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestJailUserNamespace builds jails the way they are built for a server that is not root: in a
// user namespace mapping the server's user to root, where mount flags of the host are locked.
func TestJailUserNamespace(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	needJail(t, srv, "a user namespace")
	srv.jail.userNS = true
	var out execResponse
	apiCall(t, srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": jailProbe + "id -u; cat /proc/self/uid_map"}).wantJSON(t, 201, &out)
	if want := "/workspace\nPATH PWD \nmain.sh \nworkspace=ro\noutput=rw\n0\n"; len(out.Stdout) < len(want) || out.Stdout[:len(want)] != want || out.ExitCode != 0 {
		t.Fatalf("got %q (stderr %q, exit %d), want it to start %q", out.Stdout, out.Stderr, out.ExitCode, want)
	}
	// The initial namespace maps every uid; the jail's maps exactly one, the server's own.
	lines := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	if m := strings.Fields(lines[len(lines)-1]); len(m) != 3 || m[0] != "0" || m[2] != "1" {
		t.Fatalf("uid_map %q, want one uid mapped to 0", lines[len(lines)-1])
	}
}

// Kernel settings are read-only in a jail even for its uid 0. The probe opens one for writing
// without writing anything, so a failing run changes nothing on the host.
func TestJailProcSysReadOnly(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	needJail(t, srv, "a procfs of its own")
	var out execResponse
	apiCall(t, srv, "", "POST", "/v1/runs", map[string]any{"language": "sh",
		"code": `cat /proc/sys/kernel/core_pattern >/dev/null && echo readable; : >> /proc/sys/kernel/core_pattern`,
	}).wantJSON(t, 201, &out)
	if out.Stdout != "readable\n" || !strings.Contains(out.Stderr, "Read-only file system") {
		t.Fatalf("got %q (stderr %q), want the open refused as read-only", out.Stdout, out.Stderr)
	}
}

// TestIsJailChild: only the exact arguments and environment jailCommand gives the inside half
// make a process a jail; the marker variable among others, or with other arguments, does not.
func TestIsJailChild(t *testing.T) {
	t.Parallel()
	cmd := (&jailer{self: "/bin/true", root: t.TempDir()}).jailCommand(jailKind{ownNet: true}, nil)
	marker := jailChildEnv + "=1"
	for _, tc := range []struct {
		name      string
		args, env []string
		want      bool
	}{
		{"jailCommand", cmd.Args, cmd.Env, true},
		{"inherited marker", []string{"/tmp/x.test", "-test.v"}, []string{"PATH=/bin", marker}, false},
		{"marker and more variables", []string{jailChildArg0}, []string{marker, "HOME=/"}, false},
		{"marker with other arguments", []string{jailChildArg0, "-test.run=X"}, []string{marker}, false},
		{"marker with another value", []string{jailChildArg0}, []string{jailChildEnv + "=0"}, false},
		{"no marker", []string{jailChildArg0}, nil, false},
	} {
		if got := isJailChild(tc.args, tc.env); got != tc.want {
			t.Errorf("%s: isJailChild(%q, %q) = %v, want %v", tc.name, tc.args, tc.env, got, tc.want)
		}
	}
}

// TestJailChildMarkerInherited runs this test binary with the marker variable in an otherwise
// ordinary environment, as a nested program that inherited it would: it must run its tests, not
// try to become a jail (which reads fd 3 and exits 127).
func TestJailChildMarkerInherited(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), jailChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("test binary with an inherited marker: %v, output %q", err, out)
	}
}

// TestJailOutlivesTheThreadThatStartedIt: a jail stays up when the OS thread that asked for it
// exits. Pdeathsig fires on the exit of the thread that forked the child, and Go ends a thread
// when a goroutine locked to it returns, as this test's starter does.
func TestJailOutlivesTheThreadThatStartedIt(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	needJail(t, srv, "the server-death signal of a jail")
	gate := newFifoGate(t, srv)
	// Holding the fifo open for reading and writing lets the program open it at once, and keeps
	// what is written there until the program reads it, whenever that is.
	release, err := os.OpenFile(gate.goPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release.Close()
	type started struct {
		p      *process
		thread int // a pidfd of the starter's thread, readable once the thread has exited
		err    error
	}
	ch := make(chan started, 1)
	var starter func()
	starter = func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if syscall.Gettid() == os.Getpid() {
			// The main thread is never ended; another starter, which cannot get it while this
			// one holds it, takes over.
			defer runtime.UnlockOSThread()
			done := make(chan struct{})
			go func() { starter(); close(done) }()
			<-done
			return
		}
		const pidfdOpen, pidfdThread = 434, syscall.O_EXCL // PIDFD_THREAD is O_EXCL's value
		fd, _, errno := syscall.Syscall(pidfdOpen, uintptr(syscall.Gettid()), pidfdThread, 0)
		if errno != 0 {
			ch <- started{err: errno}
			return
		}
		p, err := srv.exec.run.start(procSpec{argv: []string{"/bin/sh", "-c", "read x < " + gate.goPath + "; echo released"},
			dir: t.TempDir(), output: t.TempDir(), network: "none", env: []string{"PATH=" + jailPath}})
		ch <- started{p, int(fd), err}
	}
	go starter()
	s := <-ch
	if s.thread > 0 {
		defer syscall.Close(s.thread)
	}
	if s.err == syscall.EINVAL || s.err == syscall.ENOSYS {
		t.Skipf("no pidfd for a thread on this kernel (Linux 6.9+): %v", s.err)
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	fds := []struct {
		fd              int32
		events, revents int16
	}{{fd: int32(s.thread), events: 1}} // POLLIN
	watchdog := syscall.NsecToTimespec(time.Minute.Nanoseconds()) // a guard against a hang, not a latency bound
	for {
		n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), 1, uintptr(unsafe.Pointer(&watchdog)), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 || n != 1 {
			t.Fatalf("ppoll on the thread's pidfd: %d %v (0 means the thread never exited)", n, errno)
		}
		break
	}
	if _, err := release.WriteString("go\n"); err != nil {
		t.Fatal(err)
	}
	if res := s.p.wait(); res.exitCode != 0 || res.stdout != "released\n" {
		t.Fatalf("the jail ended with %d (stdout %q, stderr %q), want 0 and %q", res.exitCode, res.stdout, res.stderr, "released\n")
	}
}

// TestJailBinaryGone: when the binary a jail re-executes cannot be executed, starting an
// execution fails as the server's error, instead of ending as the program's exit code 127; and
// a jailer that has closed starts nothing.
func TestJailBinaryGone(t *testing.T) {
	t.Parallel()
	if _, err := newJailer(t.TempDir()); err != nil {
		t.Skipf("jails unavailable: %v", err)
	}
	j := &jailer{self: t.TempDir() + "/gone", root: t.TempDir()}
	r := newRunner(1, j)
	defer r.close()
	p, err := r.start(trueSpec(t, "none"))
	if err == nil || !strings.Contains(err.Error(), "starting the jail: exec failed: failed to execute command: No such file or directory (os error 2)") {
		t.Fatalf("start = %v, %v; want the jail binary's exec failure as an error", p, err)
	}
	j.thread.stop()
	called := false
	if err := j.thread.run(func() { called = true }); err != errJailerClosed || called {
		t.Fatalf("run after stop = %v, called %v; want errJailerClosed and no call", err, called)
	}
}
