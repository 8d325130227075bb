//go:build unix

package testserver

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestScriptArgv: in a jail a script runs as "<runtime> /workspace/<file>"; on the host the
// interpreter is looked up on the jail PATH (then this process's PATH) and the file is relative
// to the workspace, an interpreter found nowhere being left as its name (the run ends with 127).
func TestScriptArgv(t *testing.T) {
	t.Parallel()
	sh, err := lookPathIn("sh", jailPath)
	if err != nil {
		t.Skip("no sh on this host")
	}
	host := &execEngine{run: &runner{}}
	jailed := &execEngine{run: &runner{jail: &jailer{}}}
	type row struct {
		name string
		e    *execEngine
		l    language
		want []string
	}
	tests := []row{
		{name: "host", e: host, l: language{"main.sh", "sh"}, want: []string{sh, "main.sh"}},
		{name: "host without the interpreter", e: host, l: language{"main.x", "no-such-interpreter"}, want: []string{"no-such-interpreter", "main.x"}},
	}
	if _, err := os.Stat(jailRuntimes["sh"]); err == nil {
		tests = append(tests, row{name: "jail", e: jailed, l: language{"main.sh", "sh"}, want: []string{jailRuntimes["sh"], "/workspace/main.sh"}})
	}
	for _, tt := range tests {
		if got := tt.e.scriptArgv(tt.l, tt.l.file); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: scriptArgv = %q, want %q", tt.name, got, tt.want)
		}
	}
	// A run on the host executes the script from its workspace.
	if _, err := exec.LookPath("sh"); err != nil {
		return
	}
	srv := Start(t, WithIsolation(IsolationNone))
	var res execResponse
	apiCall(t, srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": `echo "$0"`}).wantJSON(t, 201, &res)
	if res.Stdout != "main.sh\n" || res.ExitCode != 0 {
		t.Fatalf("host run: %+v", res)
	}
}

// TestAllowlistProxyLifetime: an allowlist execution's proxy is reachable while the program runs
// and closed by the time its result is published, so nothing outlives the execution.
func TestAllowlistProxyLifetime(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	sh, err := lookPathIn("sh", jailPath)
	if err != nil {
		t.Skip("no sh")
	}
	// Only this server's proxies consult this check, so it tells this proxy apart from another
	// test's listener that may have been given the freed port.
	var consulted atomic.Bool
	srv.exec.proxyPermit = func(netip.Addr) bool { consulted.Store(true); return false }
	p, err := srv.exec.start(jailSettings{networkMode: "allowlist", domains: []string{"localhost"}},
		procSpec{argv: []string{sh, "-c", "echo $HTTP_PROXY"}, dir: t.TempDir(), env: []string{"PATH=" + jailPath}, onHost: true})
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	addr := strings.TrimPrefix(strings.TrimSpace(p.res.stdout), "http://")
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("HTTP_PROXY %q (stderr %q), want a loopback proxy", p.res.stdout, p.res.stderr)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return // closed
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute)) // a guard against a listener that never answers
	if _, err := io.WriteString(c, "CONNECT localhost:1 HTTP/1.1\r\n\r\n"); err == nil {
		_, _ = bufio.NewReader(c).ReadString('\n')
	}
	if consulted.Load() {
		t.Fatalf("proxy %s still answers after the execution ended", addr)
	}
}
