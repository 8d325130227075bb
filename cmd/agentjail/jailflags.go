package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

// jailFlags are the jail settings shared by run and workspace create.
type jailFlags struct {
	timeout          time.Duration
	memory, cpu, pid int
	network          string
	seccomp          *choiceFlag
	git              string
}

func addJailFlags(fs *flag.FlagSet) *jailFlags {
	j := &jailFlags{}
	fs.DurationVar(&j.timeout, "timeout", 0, "kill the jail after `D`, a Go duration such as 90s or 5m (default: the server's, 300s)")
	fs.IntVar(&j.memory, "memory", 0, "memory limit in `MB` (default: the server's, 512; -1 = no limit)")
	fs.IntVar(&j.cpu, "cpu", 0, "CPU quota in `PCT` of one core, 1 to 800 (default: the server's, 100)")
	fs.IntVar(&j.pid, "pids", 0, "process limit `N`, 1 to 1024 (default: the server's, 64)")
	fs.StringVar(&j.network, "network", "", "network access, `none|loopback|allow:HOST[,HOST...]` (default: none)")
	j.seccomp = choice(fs, "seccomp", "", "the syscall filter, `standard|strict` (default: standard)",
		string(agentjail.SeccompStandard), string(agentjail.SeccompStrict))
	fs.StringVar(&j.git, "git", "", "clone the https repository `URL[#REF]` into /workspace first (REF: a branch or tag)")
	return j
}

// options returns the exec options the flags ask for, or a usage problem.
func (j *jailFlags) options() (agentjail.ExecOptions, error) {
	var o agentjail.ExecOptions
	if j.memory < agentjail.MemoryUnlimited || j.cpu < 0 || j.pid < 0 || j.timeout < 0 {
		return o, fmt.Errorf("-timeout, -memory, -cpu and -pids must not be negative (-memory -1 means no limit)")
	}
	o.CPUPercent, o.MaxPIDs = j.cpu, j.pid
	switch net := j.network; {
	case net == "":
	case net == "none":
		o.Network = agentjail.NetworkNone()
	case net == "loopback":
		o.Network = agentjail.NetworkLoopback()
	case strings.HasPrefix(net, "allow:") && len(net) > len("allow:"):
		o.Network = agentjail.NetworkAllowlist(strings.Split(strings.TrimPrefix(net, "allow:"), ",")...)
	default:
		return o, fmt.Errorf("-network %q: want none, loopback or allow:HOST[,HOST...]", net)
	}
	o.Seccomp = agentjail.Seccomp(j.seccomp.value)
	return o, nil
}

// gitSeed returns the repository to clone, nil without -git.
func (j *jailFlags) gitSeed() *agentjail.GitSeed {
	if j.git == "" {
		return nil
	}
	repo, ref, _ := strings.Cut(j.git, "#")
	return &agentjail.GitSeed{Repo: repo, Ref: ref}
}
