//go:build linux && !amd64 && !arm64

package testserver

// No syscall table for this architecture: jails run without a seccomp filter.
const (
	seccompArch    = 0
	seccompNrLimit = 0
)

var seccompSyscalls = map[string]uint32{}
