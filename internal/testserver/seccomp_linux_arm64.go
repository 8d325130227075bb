package testserver

// AUDIT_ARCH_AARCH64, and the arm64 numbers of the syscalls the seccomp profiles name (arm64 has
// no iopl, ioperm or mknod).
const (
	seccompArch    = 0xc00000b7
	seccompNrLimit = 0 // no second ABI under this tag
)

var seccompSyscalls = map[string]uint32{
	"ioctl": 29, "mknodat": 33, "umount2": 39, "mount": 40, "pivot_root": 41, "chroot": 51, "quotactl": 60,
	"acct": 89, "personality": 92, "unshare": 97, "kexec_load": 104, "init_module": 105, "delete_module": 106,
	"clock_settime": 112, "syslog": 116, "ptrace": 117, "reboot": 142, "sethostname": 161, "setdomainname": 162,
	"settimeofday": 170, "adjtimex": 171, "socket": 198, "socketpair": 199, "bind": 200, "listen": 201,
	"accept": 202, "connect": 203, "sendto": 206, "recvfrom": 207, "shutdown": 210, "sendmsg": 211, "recvmsg": 212,
	"add_key": 217, "request_key": 218, "keyctl": 219, "swapon": 224, "swapoff": 225, "perf_event_open": 241,
	"accept4": 242, "recvmmsg": 243, "fanotify_init": 262, "name_to_handle_at": 264, "open_by_handle_at": 265,
	"setns": 268, "sendmmsg": 269, "process_vm_readv": 270, "process_vm_writev": 271, "finit_module": 273,
	"memfd_create": 279, "bpf": 280, "userfaultfd": 282, "kexec_file_load": 294, "io_uring_setup": 425,
	"io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
	"fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
}
