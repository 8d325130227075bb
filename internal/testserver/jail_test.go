//go:build unix

package testserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jailProbe prints what a program sees of its jail: working directory, the names in its
// environment, the workspace's files, and whether /workspace and /output take writes.
const jailProbe = `pwd
env | cut -d= -f1 | sort | tr '\n' ' '; echo
ls /workspace | tr '\n' ' '; echo
if (: > /workspace/.probe) 2>/dev/null; then echo workspace=rw; rm /workspace/.probe; else echo workspace=ro; fi
if (: > /output/.probe) 2>/dev/null; then echo output=rw; else echo output=ro; fi
`

// streamStdout runs code through /v1/runs/stream and returns its stdout lines, one per line.
func streamStdout(t *testing.T, srv *Server, body map[string]any) string {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp := openStream(t, context.Background(), srv, string(b))
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, frame := range strings.Split(string(raw), "\n\n") {
		if line, ok := strings.CutPrefix(frame, "event: stdout\ndata: "); ok {
			out.WriteString(line + "\n")
		}
	}
	return out.String()
}

// TestJailRoutes checks, route by route, the working directory, the environment, the workspace's
// contents and which of /workspace and /output are writable, as the real server sets them up.
func TestJailRoutes(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithCredential("dev", "openai", "sk-real"))
	needJail(t, srv, "/workspace and /output")
	sessID := createSession(t, srv, "", "openai").ID
	ws := createWS(t, srv, "", map[string]any{})
	if err := os.WriteFile(filepath.Join(ws.SourceDir, "kept.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	exec := func(path string, body map[string]any) string {
		var out execResponse
		status := 201
		if strings.HasSuffix(path, "/exec") {
			status = 200
		}
		apiCall(t, srv, "", "POST", path, body).wantJSON(t, status, &out)
		if out.ExitCode != 0 {
			t.Errorf("%s: exit %d, stderr %q", path, out.ExitCode, out.Stderr)
		}
		return out.Stdout
	}
	tests := []struct {
		name string
		got  func() string
		want string
	}{
		{
			name: "run",
			got:  func() string { return exec("/v1/runs", map[string]any{"language": "sh", "code": jailProbe}) },
			want: "/workspace\nPATH PWD \nmain.sh \nworkspace=ro\noutput=rw\n",
		},
		{
			name: "stream",
			got:  func() string { return streamStdout(t, srv, map[string]any{"language": "sh", "code": jailProbe}) },
			want: "/workspace\nPATH PWD \nmain.sh \nworkspace=ro\noutput=rw\n",
		},
		{
			name: "session exec",
			got: func() string {
				return exec("/v1/sessions/"+sessID+"/exec", map[string]any{"cmd": "/bin/sh", "args": []string{"-c", jailProbe}})
			},
			want: "/workspace\nOPENAI_API_KEY OPENAI_BASE_URL PATH PWD \n\nworkspace=ro\noutput=rw\n",
		},
		{
			name: "workspace exec",
			got: func() string {
				return exec("/v1/workspaces/"+ws.ID+"/exec", map[string]any{"cmd": "/bin/sh", "args": []string{"-c", jailProbe}, "env": [][]string{{"A", "1"}}})
			},
			want: "/workspace\nA PATH PWD \nkept.txt \nworkspace=rw\noutput=rw\n",
		},
	}
	for _, tt := range tests {
		if got := tt.got(); got != tt.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.name, got, tt.want)
		}
	}
	// The workspace's /output persists between execs, like its source.
	exec("/v1/workspaces/"+ws.ID+"/exec", map[string]any{"cmd": "/bin/sh", "args": []string{"-c", "echo kept > /output/result"}})
	if b, err := os.ReadFile(filepath.Join(ws.OutputDir, "result")); err != nil || string(b) != "kept\n" {
		t.Errorf("workspace output_dir holds %q %v, want the file written to /output", b, err)
	}
}

// TestJailFork: the parent and every child share one read-only workspace holding all their
// files; each child's /output starts as a copy of the parent's and stays its own.
func TestJailFork(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	needJail(t, srv, "/output")
	child := `cat /output/p; echo %[1]d > /output/c%[1]d; ls /output | tr '\n' ' '; echo; ls /workspace | tr '\n' ' '; echo
if (: > /workspace/x) 2>/dev/null; then echo workspace=rw; else echo workspace=ro; fi`
	var out struct {
		Parent   execResponse   `json:"parent"`
		Children []execResponse `json:"children"`
		Forks    []forkMeta     `json:"forks"`
	}
	apiCall(t, srv, "", "POST", "/v1/runs/fork", map[string]any{
		"language": "sh", "fork_after_ms": 500,
		"parent_code": "echo from-parent > /output/p; sleep 2; ls /output",
		"children":    []map[string]string{{"code": fmt.Sprintf(child, 0)}, {"code": fmt.Sprintf(child, 1)}},
	}).wantJSON(t, 201, &out)
	if out.Parent.Stdout != "p\n" {
		t.Errorf("parent sees %q in /output, want only its own file", out.Parent.Stdout)
	}
	for i, c := range out.Children {
		want := fmt.Sprintf("from-parent\nc%d p \nchild_0_main.sh child_1_main.sh main.sh \nworkspace=ro\n", i)
		if c.Stdout != want || c.ExitCode != 0 {
			t.Errorf("child %d: %q (exit %d, stderr %q), want %q", i, c.Stdout, c.ExitCode, c.Stderr, want)
		}
		if f := out.Forks[i]; f.FilesCloned != 1 || f.BytesCloned != uint64(len("from-parent\n")) || !f.WasFrozen {
			t.Errorf("fork %d meta %+v, want the one file of the parent's /output", i, f)
		}
	}
}

// TestJailExitCodes: cmd is executed with no PATH lookup; a program that cannot be executed exits
// 127; one killed by a signal exits 128+N; as PID 1 a program ignores signals it sends itself
// without a handler; a timeout kills the whole jail.
func TestJailExitCodes(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	ws := createWS(t, srv, "", map[string]any{})
	jailed := srv.Isolation() == IsolationNamespaces
	tests := []struct {
		name      string
		cmd       []string
		timeout   int
		jailOnly  bool
		wantOut   string
		wantErr   string
		wantCode  int
		wantTimed bool
	}{
		{name: "bare name", cmd: []string{"ls"}, wantCode: 127,
			wantErr: "exec failed: failed to execute command: No such file or directory (os error 2)\n"},
		{name: "missing program", cmd: []string{"/no/such/program"}, wantCode: 127,
			wantErr: "exec failed: failed to execute command: No such file or directory (os error 2)\n"},
		{name: "segfault is 128+11", cmd: []string{"/bin/sh", "-c", "exec /usr/bin/python3 -c 'import ctypes; ctypes.string_at(0)'"}, wantCode: 139},
		{name: "PID 1 ignores its own SIGTERM", cmd: []string{"/bin/sh", "-c", "kill -TERM $$; echo survived"}, jailOnly: true, wantOut: "survived\n"},
		{name: "timeout kills the jail", cmd: []string{"/bin/sh", "-c", "setsid /bin/sleep 60 & /bin/sleep 60"}, timeout: 1, wantCode: 137, wantTimed: true},
	}
	for _, tt := range tests {
		if tt.jailOnly && !jailed {
			t.Logf("%s: skipped, isolation %s: needs the jail's PID namespace", tt.name, srv.Isolation())
			continue
		}
		body := map[string]any{"cmd": tt.cmd[0], "args": tt.cmd[1:]}
		if tt.timeout > 0 {
			body["timeout_secs"] = tt.timeout
		}
		var out execResponse
		apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/exec", body).wantJSON(t, 200, &out)
		if out.ExitCode != tt.wantCode || out.TimedOut != tt.wantTimed || out.Stdout != tt.wantOut || (tt.wantErr != "" && out.Stderr != tt.wantErr) {
			t.Errorf("%s: %+v, want exit %d timed_out %v stdout %q stderr %q", tt.name, out, tt.wantCode, tt.wantTimed, tt.wantOut, tt.wantErr)
		}
	}
}

// TestJailLeavesNothingBehind: in a jail nothing a program started outlives it, not even a
// process in its own session, and Close ends the jails still running.
func TestJailLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	srv := Start(t) // closed early below; Start's cleanup closes it again, which is a no-op
	needJail(t, srv, "killing a whole process tree")
	marker := fmt.Sprintf("%d.%d", os.Getpid(), time.Now().UnixNano()%1e6)
	ws := createWS(t, srv, "", map[string]any{})
	out := wsExec(t, srv, "", ws.ID, "/bin/sh", "-c", "setsid /bin/sleep "+marker+"1 & until grep -qa '^/bin/sleep' /proc/$!/cmdline; do :; done; echo started")
	if out.Stdout != "started\n" {
		t.Fatalf("exec: %+v", out)
	}
	if pids := sleepers(t, marker); len(pids) != 0 {
		t.Errorf("processes %v outlived their exec", pids)
	}

	gate := newFifoGate(t, srv)
	done := asyncCall(srv, "", "POST", "/v1/workspaces/"+ws.ID+"/exec", map[string]any{
		// The gate opens once the background process is sleep, not a shell still starting it.
		"cmd": "/bin/sh", "args": []string{"-c", "setsid /bin/sleep " + marker + "2 & until grep -qa '^/bin/sleep' /proc/$!/cmdline; do :; done; " + gate.script()},
	})
	gate.waitUp(t, done)
	if pids := sleepers(t, marker+"2"); len(pids) != 1 {
		t.Fatalf("the running exec's background process: %v, want one", pids)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	await(t, done)
	if pids := sleepers(t, marker); len(pids) != 0 {
		t.Errorf("processes %v outlived Close", pids)
	}
}

// sleepers lists the host PIDs running /bin/sleep with an argument that starts with s.
func sleepers(t *testing.T, s string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var pids []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.HasPrefix(string(b), "/bin/sleep\x00"+s) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// netProbe tries a TCP connection to the host's 127.0.0.1:port and one to a listener of its own
// on 127.0.0.1, and prints the outcome of each: ok or the errno name.
const netProbe = `import errno, socket, sys
def outcome(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))
def host():
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
def own():
    ln = socket.socket()
    ln.bind(("127.0.0.1", 0))
    ln.listen()
    socket.create_connection(ln.getsockname(), timeout=5).close()
print("host", outcome(host), "own", outcome(own))
`

// TestJailNetworkModes: none has no network at all, loopback only the jail's own.
func TestJailNetworkModes(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithCredential("dev", "openai", "sk"))
	needJail(t, srv, "a network namespace")
	ln := serveLoopback(t, func(net.Conn) {})
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	sessID := createSession(t, srv, "", "openai").ID
	tests := []struct {
		network map[string]any
		want    string
	}{
		{nil, "host ENETUNREACH own ENETUNREACH\n"},
		{map[string]any{"mode": "none"}, "host ENETUNREACH own ENETUNREACH\n"},
		{map[string]any{"mode": "loopback"}, "host ECONNREFUSED own ok\n"},
	}
	for _, tt := range tests {
		body := map[string]any{"cmd": "/usr/bin/python3", "args": []string{"-c", netProbe, port}}
		if tt.network != nil {
			body["network"] = tt.network
		}
		var out execResponse
		apiCall(t, srv, "", "POST", "/v1/sessions/"+sessID+"/exec", body).wantJSON(t, 200, &out)
		if out.Stdout != tt.want {
			t.Errorf("network %v: %q (stderr %q), want %q", tt.network, out.Stdout, out.Stderr, tt.want)
		}
	}
}

// proxyProbe sends each argument, a request line, to $HTTPS_PROXY and prints the status line of
// each answer; after a 200 it reads one line through the tunnel.
const proxyProbe = `import os, socket, sys, urllib.parse
u = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
assert os.environ["HTTP_PROXY"] == os.environ["http_proxy"] == os.environ["https_proxy"] == os.environ["HTTPS_PROXY"]
for line in sys.argv[1:]:
    c = socket.create_connection((u.hostname, u.port), timeout=10)
    c.sendall((line + "\r\nHost: x\r\n\r\n").encode())
    f = c.makefile("rb")
    status = f.readline().decode().strip()
    if status.endswith(" 200 Connection Established"):
        f.readline()
        status += " | " + f.readline().decode().strip()
    print(status)
    c.close()
`

// TestJailAllowlistProxy: in allowlist mode the program's proxy variables name a CONNECT-only
// proxy that refuses other methods (400), unlisted hosts and private addresses (403), and tunnels
// to listed public hosts (200).
func TestJailAllowlistProxy(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	// The tunnel target is a local server: let the proxy reach loopback for this one host.
	srv.exec.proxyPermit = func(a netip.Addr) bool { return a.IsLoopback() || publicAddr(a) }
	ln := serveLoopback(t, func(c net.Conn) { io.WriteString(c, "hello through the tunnel\n") })
	target := ln.Addr().String()
	ws := createWS(t, srv, "", map[string]any{"network": map[string]any{"mode": "allowlist", "domains": []string{"127.0.0.1", "*.example.com"}}})
	out := wsExec(t, srv, "", ws.ID, "/usr/bin/python3", "-c", proxyProbe,
		"GET http://127.0.0.1/ HTTP/1.1",
		"CONNECT unlisted.test:443 HTTP/1.1",
		"CONNECT "+target+" HTTP/1.1")
	want := "HTTP/1.1 400 Bad Request\nHTTP/1.1 403 Forbidden\nHTTP/1.1 200 Connection Established | hello through the tunnel\n"
	if out.Stdout != want {
		t.Fatalf("got %q (stderr %q), want %q", out.Stdout, out.Stderr, want)
	}

	// With the real rules, a listed host on a private address is refused too.
	srv2 := Start(t)
	ws2 := createWS(t, srv2, "", map[string]any{"network": map[string]any{"mode": "allowlist", "domains": []string{"localhost"}}})
	out = wsExec(t, srv2, "", ws2.ID, "/usr/bin/python3", "-c", proxyProbe, "CONNECT localhost:"+fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)+" HTTP/1.1")
	if out.Stdout != "HTTP/1.1 403 Forbidden\n" {
		t.Fatalf("private address: %q (stderr %q)", out.Stdout, out.Stderr)
	}
}

// TestIsolationChoice: the option wins over the environment, an unknown mode fails New, and
// none is always available.
func TestIsolationChoice(t *testing.T) {
	t.Setenv(IsolationEnv, "none")
	srv := Start(t)
	if srv.Isolation() != IsolationNone {
		t.Fatalf("with $%s=none: %s", IsolationEnv, srv.Isolation())
	}
	if _, err := New(WithIsolation("sandbox")); err == nil || !strings.Contains(err.Error(), `unknown isolation "sandbox"`) {
		t.Fatalf("unknown mode: %v", err)
	}
	t.Setenv(IsolationEnv, "bogus")
	if _, err := New(); err == nil {
		t.Fatal("an unknown mode in the environment was accepted")
	}
	forced, err := New(WithIsolation(IsolationNamespaces))
	if _, probeErr := newJailer(t.TempDir()); probeErr != nil {
		if err == nil {
			forced.Close()
			t.Fatalf("namespaces forced where jails fail (%v), New succeeded", probeErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("namespaces forced where jails work: %v", err)
	}
	defer forced.Close()
	if forced.Isolation() != IsolationNamespaces {
		t.Fatalf("forced namespaces: %s", forced.Isolation())
	}
}
