package testserver

// The jail's syscall filter: the real engine's blocklists as a classic BPF program. Listed
// syscalls fail with EPERM (the process is not killed); a syscall of a foreign architecture kills
// the process. standard blocks module loading, reboot, tracing, mounting, namespaces, clock and
// keyring changes, some kernel interfaces and file tricks, TIOCSTI and netlink, packet and vsock
// sockets; strict also blocks every socket call. clone3 is left allowed although the real engine
// blocks it: with EPERM (not ENOSYS) glibc does not fall back to clone, so threads, and with
// them node and Python threads, could not start at all.

import (
	"fmt"
	"syscall"
	"unsafe"
)

// BPF opcodes and seccomp return values.
const (
	bpfLdAbsW  = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJeqK    = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgeK    = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	bpfRetK    = 0x06 // BPF_RET | BPF_K
	retAllow   = 0x7fff0000
	retErrno   = 0x00050000
	retKillPrc = 0x80000000

	seccompDataNr   = 0  // offsetof(struct seccomp_data, nr)
	seccompDataArch = 4  // offsetof(struct seccomp_data, arch)
	seccompDataArg0 = 16 // low 32 bits of args[0] (little endian)
	seccompDataArg1 = 24 // low 32 bits of args[1]

	prSetSeccomp      = 22
	seccompModeFilter = 2

	afNetlink = 16
	afPacket  = 17
	afVsock   = 40
	tiocsti   = 0x5412
)

// standardBlocked and strictBlocked name the syscalls each profile refuses; numbers come from
// the architecture's table, and names it lacks are skipped (iopl, ioperm and mknod exist on
// x86_64 only).
var standardBlocked = []string{
	"init_module", "finit_module", "delete_module", "reboot", "kexec_load", "kexec_file_load",
	"ptrace", "process_vm_readv", "process_vm_writev",
	"mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "chroot",
	"unshare", "setns", "sethostname", "setdomainname",
	"acct", "swapon", "swapoff", "settimeofday", "clock_settime", "adjtimex",
	"add_key", "request_key", "keyctl",
	"bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "personality",
	"memfd_create", "name_to_handle_at", "open_by_handle_at", "mknodat",
	"fanotify_init", "quotactl", "syslog",
	"iopl", "ioperm", "mknod",
}

var strictBlocked = []string{
	"socket", "socketpair", "connect", "accept", "accept4", "bind", "listen",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
}

// bpfInsn is struct sock_filter; jt and jf name labels until assemble resolves them.
type bpfInsn struct {
	code   uint16
	jt, jf string
	k      uint32
	label  string // this instruction's own label, if any
}

type sockFilter struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

// seccompFilter builds the program for profile ("standard" or "strict"); nil where this
// architecture has no syscall table.
func seccompFilter(profile string) ([]sockFilter, error) {
	if seccompArch == 0 {
		return nil, nil
	}
	names := standardBlocked
	if profile == "strict" {
		names = append(append([]string{}, standardBlocked...), strictBlocked...)
	}
	prog := []bpfInsn{
		{code: bpfLdAbsW, k: seccompDataArch},
		{code: bpfJeqK, k: seccompArch, jf: "kill"},
		{code: bpfLdAbsW, k: seccompDataNr},
	}
	if seccompNrLimit != 0 {
		prog = append(prog, bpfInsn{code: bpfJgeK, k: seccompNrLimit, jt: "kill"})
	}
	for _, n := range names {
		if nr, ok := seccompSyscalls[n]; ok {
			prog = append(prog, bpfInsn{code: bpfJeqK, k: nr, jt: "deny"})
		}
	}
	prog = append(prog,
		bpfInsn{code: bpfJeqK, k: seccompSyscalls["socket"], jt: "socket"},
		bpfInsn{code: bpfJeqK, k: seccompSyscalls["ioctl"], jt: "ioctl"},
		bpfInsn{code: bpfRetK, k: retAllow},
		bpfInsn{label: "socket", code: bpfLdAbsW, k: seccompDataArg0},
		bpfInsn{code: bpfJeqK, k: afNetlink, jt: "deny"},
		bpfInsn{code: bpfJeqK, k: afPacket, jt: "deny"},
		bpfInsn{code: bpfJeqK, k: afVsock, jt: "deny"},
		bpfInsn{code: bpfRetK, k: retAllow},
		bpfInsn{label: "ioctl", code: bpfLdAbsW, k: seccompDataArg1},
		bpfInsn{code: bpfJeqK, k: tiocsti, jt: "deny"},
		bpfInsn{code: bpfRetK, k: retAllow},
		bpfInsn{label: "deny", code: bpfRetK, k: retErrno | uint32(syscall.EPERM)},
		bpfInsn{label: "kill", code: bpfRetK, k: retKillPrc},
	)
	return assemble(prog)
}

// assemble resolves labels into the relative jump offsets of classic BPF.
func assemble(prog []bpfInsn) ([]sockFilter, error) {
	at := map[string]int{}
	for i, in := range prog {
		if in.label != "" {
			at[in.label] = i
		}
	}
	out := make([]sockFilter, len(prog))
	for i, in := range prog {
		out[i] = sockFilter{code: in.code, k: in.k}
		for _, j := range []struct {
			label string
			dst   *uint8
		}{{in.jt, &out[i].jt}, {in.jf, &out[i].jf}} {
			if j.label == "" {
				continue
			}
			off := at[j.label] - i - 1
			if _, ok := at[j.label]; !ok || off < 0 || off > 255 {
				return nil, fmt.Errorf("seccomp: bad jump to %q", j.label)
			}
			*j.dst = uint8(off)
		}
	}
	return out, nil
}

// installSeccomp applies profile's filter to the calling thread, which must have no_new_privs.
func installSeccomp(profile string) error {
	filter, err := seccompFilter(profile)
	if err != nil || filter == nil {
		return err
	}
	prog := struct {
		len    uint16
		filter *sockFilter
	}{uint16(len(filter)), &filter[0]}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetSeccomp, seccompModeFilter, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}
