package testserver

import (
	"errors"
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

// TestReadJailSpec: the spec is read to the end of its pipe, which is then closed.
func TestReadJailSpec(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = w.Write([]byte(`{"Root":"/r","Argv":["/bin/true"]}`))
		w.Close()
	}()
	spec, err := readJailSpec(r)
	if err != nil || spec.Root != "/r" || len(spec.Argv) != 1 {
		t.Fatalf("readJailSpec = %+v, %v", spec, err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("spec pipe still open: %v", err)
	}
	if _, err := readJailSpec(nil); err == nil || err.Error() != "no spec descriptor" {
		t.Errorf("readJailSpec(nil) = %v", err)
	}
}
