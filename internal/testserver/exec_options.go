package testserver

// ExecOptions: the network, seccomp, CPU and PID settings flattened into every exec-type body,
// the timeout and memory clamps, and the allowlist validation run when a jail is built (not when
// a workspace is created). On the host only the timeout is enforced; a jail also enforces the
// network mode and the seccomp profile; the rest is validated and recorded.

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
)

const (
	defaultTimeoutSecs = 300
	maxTimeoutSecs     = 3600
	defaultMemoryMB    = 512
	maxMemoryMB        = 8192
)

// networkSpec is the internally tagged NetworkSpec: {"mode":"none"|"loopback"|"allowlist",
// "domains":[…]}; the tag may also be the variant's index, and the whole may be a list whose
// first element is the tag. Domains are read for allowlist only, from the object form, and
// default to empty. Keys are matched exactly, as serde does (the serde check has refused
// anything else).
type networkSpec struct {
	Mode    string
	Domains []string
}

// networkModes are NetworkSpec's variants, in declaration order (a tag index points here).
var networkModes = []string{"none", "loopback", "allowlist"}

func (n *networkSpec) UnmarshalJSON(b []byte) error {
	var tag, domains json.RawMessage
	if b[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(b, &elems); err != nil {
			return err
		}
		tag = elems[0]
	} else {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		tag, domains = obj["mode"], obj["domains"]
	}
	if tag[0] == '"' {
		if err := json.Unmarshal(tag, &n.Mode); err != nil {
			return err
		}
	} else {
		var i int
		if err := json.Unmarshal(tag, &i); err != nil {
			return err
		}
		n.Mode = networkModes[i]
	}
	n.Domains = []string{}
	if domains != nil && n.Mode == "allowlist" {
		return json.Unmarshal(domains, &n.Domains)
	}
	return nil
}

// seccompMode is "standard" or "strict".
type seccompMode string

func (m *seccompMode) UnmarshalJSON(b []byte) error { return unmarshalUnitVariant(b, (*string)(m)) }

// execOptions is ExecOptions, embedded (flattened) into every body that accepts it.
type execOptions struct {
	Network    *networkSpec `json:"network"`
	Seccomp    *seccompMode `json:"seccomp"`
	CPUPercent *uint64      `json:"cpu_percent"`
	MaxPids    *uint64      `json:"max_pids"`
}

// jailSettings is a resolved, clamped jail configuration, recorded (ledger, workspace config)
// and validated like the real server; which parts are enforced is said above.
type jailSettings struct {
	networkMode string
	domains     []string
	seccomp     string
	memoryMB    uint64
	timeoutSecs uint64
	cpuPercent  uint64
	maxPids     uint64
	gitRepo     string
	gitRef      string
}

// clampTimeout applies the 1..=3600 clamp to a timeout, def when absent.
func clampTimeout(v *uint64, def uint64) uint64 {
	t := def
	if v != nil {
		t = *v
	}
	return min(max(t, 1), maxTimeoutSecs)
}

// clampMemory applies the ≤ 8192 clamp to a memory limit, def when absent; 0 means unlimited.
func clampMemory(v *uint64, def uint64) uint64 {
	m := def
	if v != nil {
		m = *v
	}
	return min(m, maxMemoryMB)
}

// defaultSettings is settings with the request's timeout and memory clamped, and the
// server defaults (300 s, 512 MiB) where they were not sent.
func (o execOptions) defaultSettings(timeoutSecs, memoryMB *uint64) jailSettings {
	return o.settings(clampTimeout(timeoutSecs, defaultTimeoutSecs), clampMemory(memoryMB, defaultMemoryMB))
}

// settings resolves o with the given, already clamped, timeout and memory.
func (o execOptions) settings(timeoutSecs, memoryMB uint64) jailSettings {
	js := jailSettings{networkMode: "none", seccomp: "standard", memoryMB: memoryMB, timeoutSecs: timeoutSecs, cpuPercent: 100, maxPids: 64}
	if o.Network != nil {
		js.networkMode = o.Network.Mode
		if js.networkMode == "allowlist" {
			js.domains = append([]string{}, o.Network.Domains...)
		}
	}
	if o.Seccomp != nil {
		js.seccomp = string(*o.Seccomp)
	}
	if o.CPUPercent != nil {
		js.cpuPercent = min(max(*o.CPUPercent, 1), 800)
	}
	if o.MaxPids != nil {
		js.maxPids = min(max(*o.MaxPids, 1), 1024)
	}
	return js
}

// timeout is the run's time limit.
func (js jailSettings) timeout() time.Duration { return time.Duration(js.timeoutSecs) * time.Second }

// validate is the check the real server runs when it builds a jail: the allowlist rules.
func (js jailSettings) validate() error {
	if js.networkMode != "allowlist" {
		return nil
	}
	if len(js.domains) == 0 {
		return errBadRequest("allowlist must contain at least one domain")
	}
	if len(js.domains) > 32 {
		return errBadRequest("allowlist limited to 32 domains")
	}
	for _, d := range js.domains {
		if d == "" || len(d) > 253 || strings.IndexFunc(d, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
			return errBadRequest("invalid domain: %s", rustQuote(d))
		}
		if strings.Contains(d, "://") {
			return errBadRequest("domain must not include scheme: %s", rustQuote(d))
		}
	}
	return nil
}

// snapshot is the ledger's config view of the settings.
func (js jailSettings) snapshot() *jailConfigSnapshot {
	c := &jailConfigSnapshot{
		NetworkMode: js.networkMode, Seccomp: js.seccomp, MemoryMB: js.memoryMB, TimeoutSecs: js.timeoutSecs,
		CPUPercent: js.cpuPercent, MaxPids: js.maxPids, GitRepo: js.gitRepo, GitRef: js.gitRef,
	}
	if len(js.domains) > 0 {
		c.NetworkDomains = append([]string{}, js.domains...)
	}
	return c
}

// rustQuote renders s like Rust's {:?} for strings (close enough for error texts).
func rustQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if unicode.IsControl(r) {
				fmt.Fprintf(&b, `\u{%x}`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
