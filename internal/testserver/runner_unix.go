//go:build unix

package testserver

// Process-group control and exit accounting on Unix: every command leads its own process group,
// so the whole tree can be killed, frozen and resumed with one signal.

import (
	"os"
	"runtime"
	"syscall"
)

// groupSignal is what the runner can do to a process group.
type groupSignal int

const (
	groupKill groupSignal = iota // SIGKILL
	groupStop                    // SIGSTOP (freeze)
	groupCont                    // SIGCONT (thaw)
)

// newGroupAttr starts the command as the leader of a new process group.
func newGroupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends sig to every process of group pgid.
func signalGroup(pgid int, sig groupSignal) error {
	s := syscall.SIGKILL
	switch sig {
	case groupStop:
		s = syscall.SIGSTOP
	case groupCont:
		s = syscall.SIGCONT
	}
	return syscall.Kill(-pgid, s)
}

// exitCodeOf is the exit status, or 128+signal for a process killed by a signal.
func exitCodeOf(st *os.ProcessState) int {
	ws, ok := st.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		return st.ExitCode()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	case ws.Exited():
		return ws.ExitStatus()
	}
	return -1
}

// rusageStats turns the reaped process's rusage into ExecResponse.stats: peak RSS and CPU time.
func rusageStats(st *os.ProcessState) *execStats {
	ru, ok := st.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return nil
	}
	peak := uint64(ru.Maxrss) * 1024 // KiB on Linux and the BSDs
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		peak = uint64(ru.Maxrss) // bytes on Apple systems
	}
	return &execStats{MemoryPeakBytes: peak, CPUUsageUsec: tvUsec(ru.Utime) + tvUsec(ru.Stime)}
}

func tvUsec(tv syscall.Timeval) uint64 {
	us := int64(tv.Sec)*1e6 + int64(tv.Usec)
	if us < 0 {
		return 0
	}
	return uint64(us)
}
