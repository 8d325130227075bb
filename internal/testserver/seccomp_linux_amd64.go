package testserver

// AUDIT_ARCH_X86_64, and the x86_64 numbers of the syscalls the seccomp profiles name. x32
// syscalls carry the same tag with bit 30 set in their number; the filter kills them.
const (
	seccompArch    = 0xc000003e
	seccompNrLimit = 0x40000000
)

var seccompSyscalls = map[string]uint32{
	"ioctl": 16, "socket": 41, "connect": 42, "accept": 43, "sendto": 44, "recvfrom": 45, "sendmsg": 46, "recvmsg": 47,
	"shutdown": 48, "bind": 49, "listen": 50, "socketpair": 53, "ptrace": 101, "syslog": 103, "mknod": 133,
	"personality": 135, "pivot_root": 155, "adjtimex": 159, "chroot": 161, "acct": 163, "settimeofday": 164,
	"mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169, "sethostname": 170,
	"setdomainname": 171, "iopl": 172, "ioperm": 173, "init_module": 175, "delete_module": 176, "quotactl": 179,
	"clock_settime": 227, "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "mknodat": 259,
	"unshare": 272, "accept4": 288, "perf_event_open": 298, "recvmmsg": 299, "fanotify_init": 300,
	"name_to_handle_at": 303, "open_by_handle_at": 304, "sendmmsg": 307, "setns": 308, "process_vm_readv": 310,
	"process_vm_writev": 311, "finit_module": 313, "memfd_create": 319, "kexec_file_load": 320, "bpf": 321,
	"userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
	"move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
}
