package testserver

import (
	"syscall"
	"testing"
)

// The table agrees with the syscall package wherever the package has the number.
func TestSeccompTableAmd64(t *testing.T) {
	t.Parallel()
	known := map[string]uint32{
		"ioctl": syscall.SYS_IOCTL, "socket": syscall.SYS_SOCKET, "connect": syscall.SYS_CONNECT, "accept": syscall.SYS_ACCEPT,
		"sendto": syscall.SYS_SENDTO, "recvfrom": syscall.SYS_RECVFROM, "sendmsg": syscall.SYS_SENDMSG, "recvmsg": syscall.SYS_RECVMSG,
		"shutdown": syscall.SYS_SHUTDOWN, "bind": syscall.SYS_BIND, "listen": syscall.SYS_LISTEN, "socketpair": syscall.SYS_SOCKETPAIR,
		"ptrace": syscall.SYS_PTRACE, "syslog": syscall.SYS_SYSLOG, "mknod": syscall.SYS_MKNOD, "personality": syscall.SYS_PERSONALITY,
		"pivot_root": syscall.SYS_PIVOT_ROOT, "adjtimex": syscall.SYS_ADJTIMEX, "chroot": syscall.SYS_CHROOT, "acct": syscall.SYS_ACCT,
		"settimeofday": syscall.SYS_SETTIMEOFDAY, "mount": syscall.SYS_MOUNT, "umount2": syscall.SYS_UMOUNT2, "swapon": syscall.SYS_SWAPON,
		"swapoff": syscall.SYS_SWAPOFF, "reboot": syscall.SYS_REBOOT, "sethostname": syscall.SYS_SETHOSTNAME,
		"setdomainname": syscall.SYS_SETDOMAINNAME, "iopl": syscall.SYS_IOPL, "ioperm": syscall.SYS_IOPERM,
		"init_module": syscall.SYS_INIT_MODULE, "delete_module": syscall.SYS_DELETE_MODULE, "quotactl": syscall.SYS_QUOTACTL,
		"clock_settime": syscall.SYS_CLOCK_SETTIME, "kexec_load": syscall.SYS_KEXEC_LOAD, "add_key": syscall.SYS_ADD_KEY,
		"request_key": syscall.SYS_REQUEST_KEY, "keyctl": syscall.SYS_KEYCTL, "mknodat": syscall.SYS_MKNODAT, "unshare": syscall.SYS_UNSHARE,
		"accept4": syscall.SYS_ACCEPT4, "perf_event_open": syscall.SYS_PERF_EVENT_OPEN, "recvmmsg": syscall.SYS_RECVMMSG,
		"fanotify_init": syscall.SYS_FANOTIFY_INIT,
	}
	for name, nr := range known {
		if got := seccompSyscalls[name]; got != nr {
			t.Errorf("%s = %d, want %d", name, got, nr)
		}
	}
}
