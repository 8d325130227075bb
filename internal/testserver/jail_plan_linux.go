package testserver

// The file system of a jail as a plan: which mounts, in which order, with which flags. Computing
// it is pure (the host is asked only whether a path is a directory or a regular file), so it runs
// in tests; jail_child_linux.go carries it out inside the new namespaces.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"syscall"
)

// hostDirs are bound read-only from the host when present; symlinks such as a merged-usr /bin are
// followed, so each appears as a directory.
var hostDirs = []string{"/usr", "/bin", "/lib", "/lib64"}

// etcFiles are the only host files under /etc, each bound read-only where the host has it.
var etcFiles = []string{
	"ld.so.cache", "ld.so.conf", "resolv.conf", "nsswitch.conf", "passwd", "group",
	"ssl/certs/ca-certificates.crt", "ssl/openssl.cnf",
}

// devNodes are the host devices bound into /dev; only null is writable.
var devNodes = []struct {
	name     string
	readOnly bool
}{{"null", false}, {"zero", true}, {"urandom", true}, {"random", true}}

const (
	msRO     = syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV
	msNoDevs = syscall.MS_NOSUID | syscall.MS_NODEV
)

// mountKind is what one step of a jail's plan does.
type mountKind int

const (
	bindDir  mountKind = iota // bind the directory src on dst, creating dst
	bindFile                  // bind the file src on dst, creating an empty dst
	tmpfsAt                   // mount a tmpfs with opts on dst, creating dst
	procAt                    // mount the jail's procfs on dst, its kernel settings read-only
	mkdirAt                   // create the directory dst, mode 0755
)

// mountStep is one step of building a jail's root. dst is a path under the new root (before the
// pivot); flags are the MS_* flags the mount ends up with.
type mountStep struct {
	kind     mountKind
	src, dst string
	flags    uintptr
	opts     string
}

// hostFS answers what the plan needs to know about host paths, following symlinks.
type hostFS interface {
	isDir(path string) bool
	isRegular(path string) bool
}

// realHost is the host's file system.
type realHost struct{}

func (realHost) isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func (realHost) isRegular(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// mountPlan lists the mounts that make spec's root under spec.Root: the host's system
// directories and a few /etc files read-only, private /etc, /tmp and /output tmpfs, the jail's
// /proc, four devices, the workspace (read-only unless spec.WorkspaceRW), the flavors read-only
// and the extra binds writable.
func mountPlan(spec jailSpec, host hostFS) []mountStep {
	in := func(p string) string { return filepath.Join(spec.Root, p) }
	var plan []mountStep
	for _, d := range hostDirs {
		if host.isDir(d) {
			plan = append(plan, mountStep{kind: bindDir, src: d, dst: in(d), flags: msRO})
		}
	}
	plan = append(plan, mountStep{kind: tmpfsAt, dst: in("/etc"), flags: msNoDevs, opts: "size=1m,mode=1777"})
	for _, f := range etcFiles {
		if src := filepath.Join("/etc", f); host.isRegular(src) {
			plan = append(plan, mountStep{kind: bindFile, src: src, dst: in(src), flags: msRO})
		}
	}
	plan = append(plan,
		mountStep{kind: tmpfsAt, dst: in("/tmp"), flags: msNoDevs | syscall.MS_NOEXEC, opts: "size=100m,mode=1777"},
		mountStep{kind: procAt, dst: in("/proc")},
		mountStep{kind: mkdirAt, dst: in("/dev")},
	)
	for _, d := range devNodes {
		flags := uintptr(syscall.MS_NOSUID)
		if d.readOnly {
			flags |= syscall.MS_RDONLY
		}
		plan = append(plan, mountStep{kind: bindFile, src: "/dev/" + d.name, dst: in("/dev/" + d.name), flags: flags})
	}
	wsFlags := uintptr(msNoDevs)
	if !spec.WorkspaceRW {
		wsFlags |= syscall.MS_RDONLY
	}
	plan = append(plan, mountStep{kind: bindDir, src: spec.Workspace, dst: in("/workspace"), flags: wsFlags})
	if spec.Output == "" {
		plan = append(plan, mountStep{kind: tmpfsAt, dst: in("/output"), flags: msNoDevs, opts: "size=100m,mode=0755"})
	} else {
		plan = append(plan, mountStep{kind: bindDir, src: spec.Output, dst: in("/output"), flags: msNoDevs})
	}
	for _, f := range spec.Flavors {
		plan = append(plan, mountStep{kind: bindDir, src: f.Dir, dst: in(path.Join("/opt/flavors", f.Name)), flags: msRO})
	}
	for _, d := range spec.Binds {
		plan = append(plan, mountStep{kind: bindDir, src: d, dst: in(d), flags: msNoDevs})
	}
	return plan
}

// mountPoint creates what a bind mount on dst needs: the directory dst when dir, else an empty
// file dst (kept if something is there) in a directory created as needed.
func mountPoint(dst string, dir bool) error {
	if dir {
		return os.MkdirAll(dst, 0o755)
	}
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// decodeJailSpec reads the spec the parent sent: a program to run unless it is a probe.
func decodeJailSpec(b []byte) (jailSpec, error) {
	var spec jailSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return spec, fmt.Errorf("decoding spec: %w", err)
	}
	if !spec.Probe && len(spec.Argv) == 0 {
		return spec, errors.New("empty command")
	}
	return spec, nil
}
