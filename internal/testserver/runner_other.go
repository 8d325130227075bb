//go:build !unix

package testserver

// Process control where there are no Unix process groups (Windows): the fake still builds and
// runs commands, but a timeout or kill ends only the command's own process (not its children),
// freezing is unsupported (forks report was_frozen:false), and no stats are reported.

import (
	"errors"
	"os"
	"syscall"
)

type groupSignal int

const (
	groupKill groupSignal = iota
	groupStop
	groupCont
)

func newGroupAttr() *syscall.SysProcAttr { return nil }

func signalGroup(pid int, sig groupSignal) error {
	if sig != groupKill {
		return errors.New("process groups are not supported on this platform")
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

func exitCodeOf(st *os.ProcessState) int { return st.ExitCode() }

func rusageStats(*os.ProcessState) *execStats { return nil }
