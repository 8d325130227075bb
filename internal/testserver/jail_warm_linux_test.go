package testserver

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// trueSpec is /bin/true in a fresh workspace with the given network mode.
func trueSpec(t *testing.T, network string) procSpec {
	return procSpec{argv: []string{"/bin/true"}, dir: t.TempDir(), output: t.TempDir(), network: network, env: []string{"PATH=" + jailPath}}
}

// runTrue runs /bin/true through srv's runner and returns the host PID it ran as.
func runTrue(t *testing.T, srv *Server, network string) int {
	t.Helper()
	p, err := srv.exec.run.start(trueSpec(t, network))
	if err != nil {
		t.Fatal(err)
	}
	if res := p.wait(); res.exitCode != 0 {
		t.Fatalf("/bin/true (%s): exit %d, stderr %q", network, res.exitCode, res.stderr)
	}
	return p.pgid
}

// waiting returns the inside half waiting for a spec of kind k once every start in progress has
// ended, or nil.
func waiting(srv *Server, k jailKind) *pendingJail {
	w := &srv.jail.warm
	w.mu.Lock()
	fill, c := w.filling[k], w.ready[k]
	w.mu.Unlock()
	if c != nil || fill == nil {
		return c
	}
	<-fill
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ready[k]
}

// serverWithWarmJail is a server that has run one execution with network none, and the inside
// half waiting for the next.
func serverWithWarmJail(t *testing.T) (*Server, *pendingJail) {
	t.Helper()
	srv := Start(t)
	needJail(t, srv, "inside halves started ahead of time")
	runTrue(t, srv, "none")
	c := waiting(srv, srv.jail.kindOf("none"))
	if c == nil {
		t.Fatal("no inside half waiting")
	}
	return srv, c
}

// TestWarmJailRunsTheNextExecution: after an execution an inside half of the same kind waits for
// the next one, which runs in it; none and loopback share a kind (lo is brought up from the spec),
// allowlist has its own.
func TestWarmJailRunsTheNextExecution(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	needJail(t, srv, "inside halves started ahead of time")
	runTrue(t, srv, "none")      // starts its own and leaves one of its kind waiting
	runTrue(t, srv, "allowlist") // likewise, for the host's network namespace
	for _, network := range []string{"none", "loopback", "allowlist", "none", "allowlist"} {
		c := waiting(srv, srv.jail.kindOf(network))
		if c == nil {
			t.Fatalf("%s: no inside half waiting", network)
		}
		want := c.cmd.Process.Pid
		if got := runTrue(t, srv, network); got != want {
			t.Fatalf("%s ran as PID %d, want the waiting inside half's %d", network, got, want)
		}
	}
}

// TestWarmJailEndsWithTheServer: Close ends and reaps the inside half that waits for a spec.
func TestWarmJailEndsWithTheServer(t *testing.T) {
	t.Parallel()
	srv, c := serverWithWarmJail(t)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if c.cmd.ProcessState == nil {
		t.Fatal("the waiting inside half was not reaped by Close")
	}
	if st := c.cmd.ProcessState.Sys().(syscall.WaitStatus); st.Signal() != syscall.SIGKILL {
		t.Fatalf("the waiting inside half ended with %v, want SIGKILL", st)
	}
	if w := &srv.jail.warm; len(w.ready) != 0 || len(w.filling) != 0 {
		t.Fatalf("pool after Close: ready %v, filling %v", w.ready, w.filling)
	}
}

// TestWarmJailKilledWhileWaiting: an inside half that died while it waited is not used; the
// execution starts a new one and runs normally.
func TestWarmJailKilledWhileWaiting(t *testing.T) {
	t.Parallel()
	srv, c := serverWithWarmJail(t)
	dead := c.cmd.Process.Pid
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Wait for its death without reaping it (WNOWAIT), as a kill from outside would leave it.
	var info [128]byte
	if _, _, errno := syscall.Syscall6(syscall.SYS_WAITID, 1, uintptr(dead), uintptr(unsafe.Pointer(&info[0])),
		syscall.WEXITED|syscall.WNOWAIT, 0, 0); errno != 0 {
		t.Fatal(errno)
	}
	if !exited(dead) {
		t.Fatal("exited does not see the killed inside half")
	}
	if got := runTrue(t, srv, "none"); got == dead {
		t.Fatalf("the execution ran as the dead inside half's PID %d", dead)
	}
	if c.cmd.ProcessState == nil {
		t.Fatal("the dead inside half was not reaped")
	}
}

// TestJailLargeSpec: a spec larger than a pipe holds (here a 100 KiB environment variable) is
// written while the inside half reads it, for a new inside half and for a waiting one alike.
func TestJailLargeSpec(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	needJail(t, srv, "the spec pipe of a jail")
	big := strings.Repeat("x", 100<<10)
	for _, run := range []string{"new inside half", "waiting inside half"} {
		want := 0 // the PID of the inside half that must run it; 0 for a new one
		if c := waiting(srv, srv.jail.kindOf("none")); c != nil {
			want = c.cmd.Process.Pid
		}
		if (want != 0) != (run == "waiting inside half") {
			t.Fatalf("%s: waiting inside half %d", run, want)
		}
		spec := trueSpec(t, "none")
		spec.argv = []string{"/bin/sh", "-c", `printf %s "$BIG" | wc -c`}
		spec.env = append(spec.env, "BIG="+big)
		p, err := srv.exec.run.start(spec)
		if err != nil {
			t.Fatal(err)
		}
		if want != 0 && p.pgid != want {
			t.Fatalf("%s: ran as PID %d, want %d", run, p.pgid, want)
		}
		if res := p.wait(); res.exitCode != 0 || strings.TrimSpace(res.stdout) != strconv.Itoa(len(big)) {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", run, res.exitCode, res.stdout, res.stderr)
		}
	}
}
