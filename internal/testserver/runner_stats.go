package testserver

// The resource figures of an execution: their wire shape and the live sample taken while a
// process runs (the final figures come from the reaped process's rusage, see runner_unix.go).

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// execStats is the wire shape of ExecResponse.stats. The fake fills it from the
// rusage of the reaped process: memory_peak_bytes is the peak resident set size, cpu_usage_usec
// the user plus system CPU time; the other counters have no host equivalent and stay 0.
type execStats struct {
	MemoryPeakBytes    uint64 `json:"memory_peak_bytes"`
	MemoryCurrentBytes uint64 `json:"memory_current_bytes"`
	CPUUsageUsec       uint64 `json:"cpu_usage_usec"`
	IOReadBytes        uint64 `json:"io_read_bytes"`
	IOWriteBytes       uint64 `json:"io_write_bytes"`
	PidsCurrent        uint64 `json:"pids_current"`
}

// sample reads the current memory and CPU figures of the group leader from /proc, best effort
// (zeros where unavailable). Used for the streaming route's periodic stats events.
func (p *process) sample() execStats {
	var st execStats
	pid := strconv.Itoa(p.pgid)
	if b, err := os.ReadFile(filepath.Join("/proc", pid, "status")); err == nil {
		for _, ln := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(ln, ":")
			if !ok {
				continue
			}
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			n, _ := strconv.ParseUint(f[0], 10, 64)
			switch k {
			case "VmHWM":
				st.MemoryPeakBytes = n * 1024
			case "VmRSS":
				st.MemoryCurrentBytes = n * 1024
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join("/proc", pid, "stat")); err == nil {
		// Fields after the command name (which may contain spaces) start at state (field 3);
		// utime and stime are fields 14 and 15, in clock ticks (100 Hz on Linux).
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 12 {
				ut, _ := strconv.ParseUint(f[11], 10, 64)
				stt, _ := strconv.ParseUint(f[12], 10, 64)
				st.CPUUsageUsec = (ut + stt) * 10000
			}
			st.PidsCurrent = 1
		}
	}
	return st
}
