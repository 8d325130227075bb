package testserver

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLockedFlags: a remount keeps the flags of the mount it sits on, as the kernel lists them in
// /proc/self/mounts; a path that cannot be inspected locks nothing.
func TestLockedFlags(t *testing.T) {
	t.Parallel()
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Skip("no /proc/self/mounts")
	}
	bits := map[string]uintptr{
		"ro": syscall.MS_RDONLY, "nosuid": syscall.MS_NOSUID, "nodev": syscall.MS_NODEV, "noexec": syscall.MS_NOEXEC,
		"noatime": syscall.MS_NOATIME, "nodiratime": syscall.MS_NODIRATIME, "relatime": syscall.MS_RELATIME,
	}
	for _, mp := range []string{"/proc", "/"} {
		want, found := uintptr(0), false
		for _, line := range strings.Split(string(mounts), "\n") {
			f := strings.Fields(line)
			if len(f) < 4 || f[1] != mp {
				continue
			}
			want, found = 0, true // the last mount at a point is the visible one
			for _, opt := range strings.Split(f[3], ",") {
				want |= bits[opt]
			}
		}
		if !found {
			continue
		}
		if got := lockedFlags(mp); got != want {
			t.Errorf("lockedFlags(%s) = %#x, want %#x", mp, got, want)
		}
	}
	if got := lockedFlags(filepath.Join(t.TempDir(), "missing")); got != 0 {
		t.Errorf("lockedFlags(missing) = %#x, want 0", got)
	}
}
