package testserver

import (
	"strings"
	"syscall"
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
			if (in.code == bpfJeqK || in.code == bpfJgeK) && (i+1+int(in.jt) >= len(f) || i+1+int(in.jf) >= len(f)) {
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

// runFilter evaluates f, a program of the few classic BPF instructions seccompFilter emits, on a
// syscall: its number, architecture tag and the low 32 bits of its first two arguments.
func runFilter(t *testing.T, f []sockFilter, nr, arch, arg0, arg1 uint32) uint32 {
	t.Helper()
	data := map[uint32]uint32{seccompDataNr: nr, seccompDataArch: arch, seccompDataArg0: arg0, seccompDataArg1: arg1}
	var acc uint32
	for pc := 0; pc < len(f); pc++ {
		in := f[pc]
		switch in.code {
		case bpfLdAbsW:
			acc = data[in.k]
		case bpfJeqK, bpfJgeK:
			if in.code == bpfJeqK && acc == in.k || in.code == bpfJgeK && acc >= in.k {
				pc += int(in.jt)
			} else {
				pc += int(in.jf)
			}
		case bpfRetK:
			return in.k
		default:
			t.Fatalf("instruction %d: unknown code %#x", pc, in.code)
		}
	}
	t.Fatal("the program ran off its end")
	return 0
}

// TestSeccompFilterVerdicts runs each profile's program: every listed syscall is refused with
// EPERM, others pass, netlink, packet and vsock sockets and TIOCSTI are refused, strict refuses
// every socket call, and a foreign architecture, or a second ABI under the native tag, is killed.
func TestSeccompFilterVerdicts(t *testing.T) {
	t.Parallel()
	if seccompArch == 0 {
		t.Skip("no seccomp table on this architecture")
	}
	deny := retErrno | uint32(syscall.EPERM)
	for _, profile := range []string{"standard", "strict"} {
		f, err := seccompFilter(profile)
		if err != nil {
			t.Fatal(err)
		}
		verdict := func(nr, arg0, arg1 uint32) uint32 { return runFilter(t, f, nr, seccompArch, arg0, arg1) }
		blocked := standardBlocked
		if profile == "strict" {
			blocked = append(append([]string{}, standardBlocked...), strictBlocked...)
		}
		for _, n := range blocked {
			if nr, ok := seccompSyscalls[n]; ok && verdict(nr, 0, 0) != deny {
				t.Errorf("%s: %s not refused", profile, n)
			}
		}
		socketSys, ioctlSys := seccompSyscalls["socket"], seccompSyscalls["ioctl"]
		inet := uint32(retAllow)
		if profile == "strict" {
			inet = deny
		}
		cases := []struct {
			name       string
			nr, a0, a1 uint32
			want       uint32
		}{
			{"getpid", uint32(syscall.SYS_GETPID), 0, 0, retAllow},
			{"inet socket", socketSys, syscall.AF_INET, syscall.SOCK_STREAM, inet},
			{"netlink socket", socketSys, afNetlink, syscall.SOCK_RAW, deny},
			{"packet socket", socketSys, afPacket, syscall.SOCK_RAW, deny},
			{"vsock socket", socketSys, afVsock, syscall.SOCK_STREAM, deny},
			{"TIOCSTI", ioctlSys, 0, tiocsti, deny},
			{"another ioctl", ioctlSys, 0, syscall.TCGETS, retAllow},
		}
		if seccompNrLimit != 0 {
			cases = append(cases, struct {
				name       string
				nr, a0, a1 uint32
				want       uint32
			}{"second ABI", seccompNrLimit | seccompSyscalls["unshare"], 0, 0, retKillPrc})
		}
		for _, c := range cases {
			if got := verdict(c.nr, c.a0, c.a1); got != c.want {
				t.Errorf("%s: %s = %#x, want %#x", profile, c.name, got, c.want)
			}
		}
		if got := runFilter(t, f, uint32(syscall.SYS_GETPID), seccompArch^1, 0, 0); got != retKillPrc {
			t.Errorf("%s: foreign architecture = %#x, want kill", profile, got)
		}
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
