package agentjail

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// ExecOptions are the jail settings accepted by runs, forks, streams, session execs and
// workspace creation. It is embedded in those params structs; zero fields are left out
// and the server applies its defaults.
type ExecOptions struct {
	// Network is the jail's network access; nil means the server default, no network.
	Network *Network `json:"network,omitempty"`
	// Seccomp is the syscall filter; "" means the server default, SeccompStandard.
	Seccomp Seccomp `json:"seccomp,omitempty"`
	// CPUPercent is the CPU quota in percent of one core (server default 100, clamped to 1..800).
	CPUPercent int `json:"cpu_percent,omitempty"`
	// MaxPIDs limits the number of processes (server default 64, clamped to 1..1024).
	MaxPIDs int `json:"max_pids,omitempty"`
}

// validate rejects values the server could only answer with a 422.
func (o ExecOptions) validate() error {
	if o.CPUPercent < 0 || o.MaxPIDs < 0 {
		return invalidf("CPUPercent and MaxPIDs must not be negative")
	}
	return nil
}

// Network is a jail's network policy. Build it with NetworkNone, NetworkLoopback or
// NetworkAllowlist.
type Network struct {
	Mode    NetworkMode `json:"mode"`              // none, loopback or allowlist
	Domains []string    `json:"domains,omitempty"` // allowlisted domains (globs like "*.example.com"); allowlist mode only
}

// NetworkMode is a jail's network mode. Values the SDK does not know are kept as sent.
type NetworkMode string

// The network modes.
const (
	NetworkModeNone      NetworkMode = "none"      // no network at all
	NetworkModeLoopback  NetworkMode = "loopback"  // loopback only
	NetworkModeAllowlist NetworkMode = "allowlist" // only the listed domains
)

// NetworkNone returns a policy with no network access.
func NetworkNone() *Network { return &Network{Mode: NetworkModeNone} }

// NetworkLoopback returns a policy allowing only the jail's loopback interface.
func NetworkLoopback() *Network { return &Network{Mode: NetworkModeLoopback} }

// NetworkAllowlist returns a policy allowing only the given domains (1 to 32 of them,
// without scheme; "*.example.com" globs are allowed). The server validates the list when
// the jail is built and answers 400 for an empty or invalid one.
func NetworkAllowlist(domains ...string) *Network {
	return &Network{Mode: NetworkModeAllowlist, Domains: domains}
}

// Seccomp is a jail's syscall filter.
type Seccomp string

// The seccomp profiles.
const (
	SeccompStandard Seccomp = "standard"
	SeccompStrict   Seccomp = "strict"
)

// MemoryUnlimited is the MemoryMB value that asks for no memory limit (sent as memory_mb: 0).
const MemoryUnlimited = -1

// GitSeed is a git checkout placed in the jail's /workspace before the code runs: either
// one repository (Repo, optional Ref) or several (Repos), not both. Repositories must be
// https:// URLs without credentials; Ref is a branch or tag name (not a commit).
type GitSeed struct {
	Repo  string    `json:"repo,omitempty"`  // one https:// repository
	Ref   string    `json:"ref,omitempty"`   // its branch or tag; "" = the default branch
	Repos []GitRepo `json:"repos,omitempty"` // several repositories instead of Repo
}

// GitRepo is one repository of a multi-repository GitSeed. Dir defaults to the last
// segment of the URL without ".git".
type GitRepo struct {
	Repo string `json:"repo"`          // https:// URL (required)
	Ref  string `json:"ref,omitempty"` // branch or tag; "" = the default branch
	Dir  string `json:"dir,omitempty"` // directory under /workspace; "" = from the URL
}

// ExecResult is the outcome of a finished run or exec. Stdout and Stderr are capped by
// the server at 16 KiB each (then "…" is appended).
type ExecResult struct {
	Stdout     string         `json:"stdout"`          // captured stdout, lossy UTF-8
	Stderr     string         `json:"stderr"`          // captured stderr, lossy UTF-8
	ExitCode   int            `json:"exit_code"`       // 137 after a timeout kill; 128+signal when killed by a signal
	DurationMS int64          `json:"duration_ms"`     // run time in milliseconds; saturated at math.MaxInt64
	TimedOut   bool           `json:"timed_out"`       // killed for exceeding its timeout (then ExitCode is 137)
	OOMKilled  bool           `json:"oom_killed"`      // killed for exceeding its memory limit
	Stats      *ResourceStats `json:"stats,omitempty"` // nil when the server had no cgroup stats
}

// ResourceStats are cgroup counters of a jail.
type ResourceStats struct {
	MemoryPeakBytes    int64 `json:"memory_peak_bytes"`    // highest memory use, in bytes
	MemoryCurrentBytes int64 `json:"memory_current_bytes"` // memory use when sampled, in bytes
	CPUUsageUsec       int64 `json:"cpu_usage_usec"`       // CPU time used, in microseconds
	IOReadBytes        int64 `json:"io_read_bytes"`        // bytes read from storage
	IOWriteBytes       int64 `json:"io_write_bytes"`       // bytes written to storage
	PIDsCurrent        int64 `json:"pids_current"`         // processes in the jail when sampled
}

// satInt64 decodes a JSON integer, clamping values beyond int64 (the server's u64
// counters) to math.MaxInt64 instead of failing the whole response.
type satInt64 int64

// UnmarshalJSON decodes an integer, clamping u64 values above math.MaxInt64.
func (s *satInt64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*s = satInt64(v)
		return nil
	}
	if _, err := strconv.ParseUint(string(b), 10, 64); err == nil {
		*s = math.MaxInt64
		return nil
	}
	var v int64
	err := json.Unmarshal(b, &v)
	*s = satInt64(v)
	return err
}

// The server sends its counters as u64. Every result field that can exceed
// math.MaxInt64 (a duration, a clone time, an idle timeout it stores unclamped) decodes
// through satInt64 in the UnmarshalJSON methods below, so that one overflowed counter
// saturates instead of failing the whole response. Each method shadows its counter with
// a *satInt64 pointing at the field itself, so the clamped value lands there directly
// and, like any other field, stays untouched when the key is absent or null.

// UnmarshalJSON decodes an ExecResult, saturating an overflowed duration_ms (the server
// can send u64::MAX) instead of failing.
func (r *ExecResult) UnmarshalJSON(b []byte) error {
	type plain ExecResult
	return json.Unmarshal(b, &struct {
		*plain
		DurationMS *satInt64 `json:"duration_ms"`
	}{(*plain)(r), (*satInt64)(&r.DurationMS)})
}

// UnmarshalJSON decodes a ForkMeta, saturating an overflowed clone_ms instead of failing.
func (m *ForkMeta) UnmarshalJSON(b []byte) error {
	type plain ForkMeta
	return json.Unmarshal(b, &struct {
		*plain
		CloneMS *satInt64 `json:"clone_ms"`
	}{(*plain)(m), (*satInt64)(&m.CloneMS)})
}

// UnmarshalJSON decodes a completed event, saturating an overflowed duration_ms.
func (e *CompletedEvent) UnmarshalJSON(b []byte) error {
	type plain CompletedEvent
	return json.Unmarshal(b, &struct {
		*plain
		DurationMS *satInt64 `json:"duration_ms"`
	}{(*plain)(e), (*satInt64)(&e.DurationMS)})
}

// UnmarshalJSON decodes a WorkspaceSpec, saturating an idle_timeout_secs beyond int64
// (the server stores any u64 it was given) instead of failing.
func (w *WorkspaceSpec) UnmarshalJSON(b []byte) error {
	type plain WorkspaceSpec
	return json.Unmarshal(b, &struct {
		*plain
		IdleTimeoutSecs *satInt64 `json:"idle_timeout_secs"`
	}{(*plain)(w), (*satInt64)(&w.IdleTimeoutSecs)})
}

// UnmarshalJSON decodes a Jail, saturating an overflowed duration_ms (the server can
// record u64::MAX) instead of failing. Its counter is a *int64, which a *satInt64 cannot
// alias, so it is copied over after decoding: nil when the key is absent or null.
func (j *Jail) UnmarshalJSON(b []byte) error {
	type plain Jail
	aux := struct {
		*plain
		DurationMS *satInt64 `json:"duration_ms"`
	}{plain: (*plain)(j)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	j.DurationMS = nil
	if aux.DurationMS != nil {
		v := int64(*aux.DurationMS)
		j.DurationMS = &v
	}
	return nil
}

// seconds converts a duration to whole seconds for the wire, rounding up; zero stays zero.
func seconds(d time.Duration) int64 { return ceilDiv(d, time.Second) }

// millis converts a duration to whole milliseconds for the wire, rounding up.
func millis(d time.Duration) int64 { return ceilDiv(d, time.Millisecond) }

// ceilDiv divides a non-negative d by unit, rounding up without overflowing near the
// largest Duration.
func ceilDiv(d, unit time.Duration) int64 {
	n := d / unit
	if d%unit > 0 {
		n++
	}
	return int64(n)
}

// durations checks that no duration is negative.
func durations(ds ...time.Duration) error {
	for _, d := range ds {
		if d < 0 {
			return invalidf("durations must not be negative")
		}
	}
	return nil
}

// jailLimits is the timeout and memory limit that every exec-type body sends, in the
// order the server's request structs declare them.
type jailLimits struct {
	TimeoutSecs int64  `json:"timeout_secs,omitempty"` // whole seconds, rounded up; 0 is left out
	MemoryMB    *int64 `json:"memory_mb,omitempty"`    // nil is left out; 0 means no limit
}

// limits validates what every exec-type body carries: the memory limit, the timeout and
// any other durations (none negative) and, when given, the exec options. It returns the
// timeout and memory limit to send.
func limits(mb int, timeout time.Duration, opts *ExecOptions, more ...time.Duration) (jailLimits, error) {
	mem, err := memoryMB(mb)
	if err != nil {
		return jailLimits{}, err
	}
	if err := durations(timeout); err != nil {
		return jailLimits{}, err
	}
	if err := durations(more...); err != nil {
		return jailLimits{}, err
	}
	if opts != nil {
		if err := opts.validate(); err != nil {
			return jailLimits{}, err
		}
	}
	return jailLimits{TimeoutSecs: seconds(timeout), MemoryMB: mem}, nil
}

// memoryMB converts a MemoryMB param for the wire: 0 is left out, MemoryUnlimited
// becomes 0 (no limit), other negative values are invalid.
func memoryMB(mb int) (*int64, error) {
	switch {
	case mb == 0:
		return nil, nil
	case mb == MemoryUnlimited:
		zero := int64(0)
		return &zero, nil
	case mb < 0:
		return nil, invalidf("MemoryMB %d is negative (use MemoryUnlimited for no limit)", mb)
	}
	v := int64(mb)
	return &v, nil
}
