package testserver

// The inside half of the jail: a copy of the current binary, started by jailCommand in fresh
// namespaces with the marker isJailChild checks, builds the jail's file system, drops privileges
// and execs the program, which then runs as PID 1 of the jail. The hook below runs before main
// (and before testing.Main in a test binary) and returns at once in any other process.

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

func init() {
	if !isJailChild(os.Args, os.Environ()) {
		return
	}
	// Capabilities, securebits and no_new_privs belong to a thread: the one that calls execve.
	runtime.LockOSThread()
	os.Exit(jailChild())
}

// jailChild sets the jail up and execs the program. It returns only on failure, with the exit code
// the real engine gives (127), after writing its reason to stderr.
func jailChild() int {
	spec, err := readJailSpec(os.NewFile(3, "jail-spec"))
	if err == nil {
		err = buildJail(spec)
	}
	if err == nil {
		err = installSeccomp(spec.Seccomp)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "jail setup failed: %v\n", err)
		return 127
	}
	if spec.Probe {
		return 0
	}
	// No PATH lookup: argv[0] is handed to execve as sent, relative names resolve against
	// /workspace, like the real engine.
	err = syscall.Exec(spec.Argv[0], spec.Argv, spec.Env)
	fmt.Fprintln(os.Stderr, execFailureText(err))
	return 127
}

// readJailSpec reads the JSON spec the parent writes to f (fd 3), then closes f.
func readJailSpec(f *os.File) (jailSpec, error) {
	if f == nil {
		return jailSpec{}, fmt.Errorf("no spec descriptor")
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return jailSpec{}, fmt.Errorf("reading spec: %w", err)
	}
	return decodeJailSpec(b)
}

// buildJail carries out spec's mount plan on a tmpfs at spec.Root, pivots into it and drops
// privileges.
func buildJail(spec jailSpec) error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if err := syscall.Mount("tmpfs", spec.Root, "tmpfs", msNoDevs, "size=16m,mode=0755"); err != nil {
		return fmt.Errorf("root tmpfs: %w", err)
	}
	for _, st := range mountPlan(spec, realHost{}) {
		if err := st.run(); err != nil {
			return err
		}
	}
	if err := pivotInto(spec.Root); err != nil {
		return err
	}
	if err := syscall.Chdir("/workspace"); err != nil {
		return fmt.Errorf("chdir /workspace: %w", err)
	}
	if spec.Loopback {
		if err := loopbackUp(); err != nil {
			return fmt.Errorf("bringing lo up: %w", err)
		}
	}
	return dropPrivileges()
}

// run carries out one step of a mount plan.
func (st mountStep) run() error {
	switch st.kind {
	case bindDir, bindFile:
		return bindInto(st.src, st.dst, st.kind == bindDir, st.flags)
	case tmpfsAt:
		return mountTmpfs(st.dst, st.flags, st.opts)
	case procAt:
		return mountProc(st.dst)
	}
	return os.Mkdir(st.dst, 0o755)
}

// mountTmpfs creates dir and mounts a tmpfs with the given flags and options on it.
func mountTmpfs(dir string, flags uintptr, opts string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, opts); err != nil {
		return fmt.Errorf("tmpfs %s: %w", dir, err)
	}
	return nil
}

// mountProc mounts a procfs of the jail's PID namespace that hides other users' processes where
// the kernel supports it.
func mountProc(dir string) error {
	if err := os.Mkdir(dir, 0o555); err != nil {
		return err
	}
	flags := uintptr(syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC)
	err := syscall.Mount("proc", dir, "proc", flags, "hidepid=invisible")
	if err == syscall.EINVAL {
		err = syscall.Mount("proc", dir, "proc", flags, "")
	}
	if err != nil {
		return fmt.Errorf("proc: %w", err)
	}
	// Kernel settings stay read-only: uid 0 may write most of them by file mode alone, with no
	// capability, and some (core_pattern) reach the host.
	if err := bindInto(dir+"/sys", dir+"/sys", true, msRO|syscall.MS_NOEXEC); err != nil {
		return err
	}
	if _, err := os.Stat(dir + "/sysrq-trigger"); err != nil {
		return nil // a kernel without magic SysRq
	}
	return bindInto(dir+"/sysrq-trigger", dir+"/sysrq-trigger", false, msRO|syscall.MS_NOEXEC)
}

// bindInto bind-mounts src on dst (a directory when dir, else a file, created as needed) and
// remounts it with flags plus whatever flags the source mount has locked.
func bindInto(src, dst string, dir bool, flags uintptr) error {
	if err := mountPoint(dst, dir); err != nil {
		return err
	}
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	flags |= lockedFlags(dst)
	if err := syscall.Mount("", dst, "", syscall.MS_BIND|syscall.MS_REMOUNT|flags, ""); err != nil {
		return fmt.Errorf("remount %s: %w", src, err)
	}
	return nil
}

// lockedFlags are the flags of the mount at path that a remount must keep: in a user namespace
// the flags of the source mount cannot be cleared. statfs's ST_* bits equal the MS_* ones except
// for relatime.
func lockedFlags(path string) uintptr {
	const stRelatime = 0x1000
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0
	}
	f := uintptr(st.Flags) & (syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC |
		syscall.MS_NOATIME | syscall.MS_NODIRATIME)
	if st.Flags&stRelatime != 0 {
		f |= syscall.MS_RELATIME
	}
	return f
}

// pivotInto makes root the new "/" and detaches the old root underneath it.
func pivotInto(root string) error {
	if err := syscall.Chdir(root); err != nil {
		return err
	}
	if err := syscall.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := syscall.Unmount(".", syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	return syscall.Chdir("/")
}

// loopbackUp sets IFF_UP on lo of the jail's network namespace.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var req struct {
		name  [syscall.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], "lo")
	if err := ioctl(fd, syscall.SIOCGIFFLAGS, unsafe.Pointer(&req)); err != nil {
		return err
	}
	req.flags |= syscall.IFF_UP | syscall.IFF_RUNNING
	return ioctl(fd, syscall.SIOCSIFFLAGS, unsafe.Pointer(&req))
}

func ioctl(fd int, op uintptr, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), op, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// Securebits that keep uid 0 from regaining capabilities through execve, and their locks.
const (
	secbitNoroot              = 1 << 0
	secbitNorootLocked        = 1 << 1
	secbitNoSetuidFixup       = 1 << 2
	secbitNoSetuidFixupLocked = 1 << 3
	prCapAmbient              = 47
	prSetNoNewPrivs           = 38
	prCapAmbientClearAll      = 4
	linuxCapabilityVersion3   = 0x20080522
)

// dropPrivileges empties every capability set, locks the securebits that would give uid 0 its
// capabilities back and sets no_new_privs, on the calling thread (the one that will exec), the
// way the real engine prepares a jail. rlimits follow the engine's too: 4096 files, no core.
func dropPrivileges() error {
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 4096, Max: 4096}); err != nil {
		return fmt.Errorf("rlimit nofile: %w", err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{}); err != nil {
		return fmt.Errorf("rlimit core: %w", err)
	}
	bits := secbitNoroot | secbitNorootLocked | secbitNoSetuidFixup | secbitNoSetuidFixupLocked
	if err := prctl(syscall.PR_SET_SECUREBITS, uintptr(bits), 0); err != nil {
		return fmt.Errorf("securebits: %w", err)
	}
	for c := uintptr(0); c <= 63; c++ {
		if err := prctl(syscall.PR_CAPBSET_DROP, c, 0); err == syscall.EINVAL {
			break // past the last capability this kernel knows
		} else if err != nil {
			return fmt.Errorf("bounding set: %w", err)
		}
	}
	_ = prctl(prCapAmbient, prCapAmbientClearAll, 0) // absent on old kernels, empty there anyway
	hdr := struct {
		version uint32
		pid     int32
	}{version: linuxCapabilityVersion3}
	var data [2]struct{ effective, permitted, inheritable uint32 }
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	if err := prctl(prSetNoNewPrivs, 1, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	return nil
}

func prctl(op, a, b uintptr) error {
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, op, a, b, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}
