package testserver

import (
	"os"
	"os/exec"
	"strings"
	"testing"
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
