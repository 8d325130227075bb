package testserver

import (
	"strings"
	"testing"
)

// Every syscall a profile names has a number on this architecture, except the x86-only ones.
func TestSeccompTableComplete(t *testing.T) {
	t.Parallel()
	if seccompArch == 0 {
		t.Skip("no seccomp table on this architecture")
	}
	for _, n := range append(append([]string{"ioctl"}, standardBlocked...), strictBlocked...) {
		if _, ok := seccompSyscalls[n]; !ok && n != "iopl" && n != "ioperm" && n != "mknod" {
			t.Errorf("%s has no number", n)
		}
	}
}

// The program's jumps all land inside it, and it ends in the deny and kill returns.
func TestSeccompFilterShape(t *testing.T) {
	t.Parallel()
	if seccompArch == 0 {
		t.Skip("no seccomp table on this architecture")
	}
	for _, profile := range []string{"standard", "strict"} {
		f, err := seccompFilter(profile)
		if err != nil {
			t.Fatal(err)
		}
		for i, in := range f {
			if in.code == bpfJeqK && (i+1+int(in.jt) >= len(f) || i+1+int(in.jf) >= len(f)) {
				t.Fatalf("%s: instruction %d jumps out of the program", profile, i)
			}
		}
		if last := f[len(f)-1]; last.k != retKillPrc {
			t.Errorf("%s: last return %#x", profile, last.k)
		}
	}
	if _, err := assemble([]bpfInsn{{code: bpfJeqK, jt: "nowhere"}}); err == nil {
		t.Error("a jump to an unknown label assembled")
	}
}

// seccompProbe prints the thread's seccomp mode, then how unshare(CLONE_NEWUSER), an inet socket
// and a netlink socket fare: ok or the errno name.
const seccompProbe = `import ctypes, errno, socket
libc = ctypes.CDLL(None, use_errno=True)
def unshare():
    return "ok" if libc.unshare(0x10000000) == 0 else errno.errorcode[ctypes.get_errno()]
def sock(family, kind):
    try:
        socket.socket(family, kind).close()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
mode = [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")][0]
print(mode, unshare(), sock(socket.AF_INET, socket.SOCK_STREAM), sock(socket.AF_NETLINK, socket.SOCK_RAW))
`

// TestJailSeccomp: the profile's syscalls fail with EPERM inside a jail; strict refuses sockets.
func TestJailSeccomp(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	needJail(t, srv, "a seccomp filter")
	if seccompArch == 0 {
		t.Skip("no seccomp table on this architecture")
	}
	tests := []struct {
		seccomp any
		want    string
	}{
		{nil, "2 EPERM ok EPERM\n"},
		{"standard", "2 EPERM ok EPERM\n"},
		{"strict", "2 EPERM EPERM EPERM\n"},
	}
	for _, tt := range tests {
		body := map[string]any{"language": "python", "code": seccompProbe}
		if tt.seccomp != nil {
			body["seccomp"] = tt.seccomp
		}
		var out execResponse
		apiCall(t, srv, "", "POST", "/v1/runs", body).wantJSON(t, 201, &out)
		if out.Stdout != tt.want {
			t.Errorf("seccomp %v: %q (stderr %q), want %q", tt.seccomp, out.Stdout, strings.TrimSpace(out.Stderr), tt.want)
		}
	}
}
