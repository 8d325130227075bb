package main

import (
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	t.Parallel()
	top := topUsage()
	for _, name := range []string{"run", "workspace create", "workspace list", "workspace exec", "workspace delete",
		"snapshot create", "snapshot list", "snapshot restore", "snapshot delete", "session create", "session list",
		"session exec", "session close", "credential put", "credential list", "credential delete", "jail list",
		"jail get", "audit", "health", "whoami", "config", "version", "AGENTJAIL_URL", "AGENTJAIL_API_KEY"} {
		if !strings.Contains(top, "\n  "+name+" ") {
			t.Errorf("top-level help has no line for %q", name)
		}
	}
	tests := []struct {
		name string
		args []string
		want string // a line the help must start with
	}{
		{"-h", []string{"-h"}, top},
		{"-help", []string{"-help"}, top},
		{"help", []string{"help"}, top},
		{"help help", []string{"help", "help"}, top},
		{"help run", []string{"help", "run"}, "Usage: agentjail run [flags] FILE|-\n\nRun code in a one-shot jail"},
		{"run -h", []string{"run", "-h"}, "Usage: agentjail run [flags] FILE|-\n\nRun code in a one-shot jail"},
		{"help group", []string{"help", "workspace"}, "agentjail workspace: create, list, exec in and delete workspaces.\n"},
		{"group -h", []string{"session", "-h"}, "agentjail session: mint"},
		{"help leaf", []string{"help", "snapshot", "restore"}, "Usage: agentjail snapshot restore -parent WORKSPACE [-label L] SNAPSHOT\n"},
		{"leaf -h", []string{"jail", "ls", "-h"}, "Usage: agentjail jail list [-status S] [-kind K] [-q TEXT] [-limit N] [-json]\n"},
		{"leaf -h after args", []string{"workspace", "delete", "wrk_1", "--help"}, "Usage: agentjail workspace delete ID\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// No URL: help never needs the control plane.
			r := runEnv(t, nil, "", tt.args...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, tt.want) || r.stderr != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0 and stdout starting %q", r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
}

// TestHelpFlags checks that each command's help shows its flags with the placeholders
// of the command-line contract.
func TestHelpFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		command []string
		flags   []string
	}{
		{[]string{"run"}, []string{"-lang bash|python|javascript", "-timeout D", "-memory MB", "-cpu PCT", "-pids N",
			"-network none|loopback|allow:HOST[,HOST...]", "-seccomp standard|strict", "-git URL[#REF]", "-json"}},
		{[]string{"workspace", "create"}, []string{"-label L", "-timeout D", "-memory MB", "-network none|loopback|allow:HOST[,HOST...]"}},
		{[]string{"workspace", "list"}, []string{"-json"}},
		{[]string{"workspace", "exec"}, []string{"-timeout D", "-env K=V"}},
		{[]string{"snapshot", "create"}, []string{"-name N"}},
		{[]string{"snapshot", "list"}, []string{"-workspace ID", "-json"}},
		{[]string{"snapshot", "restore"}, []string{"-parent WORKSPACE", "-label L"}},
		{[]string{"session", "create"}, []string{"-service S", "-scope S=GLOB", "-ttl D", "-format env|json"}},
		{[]string{"session", "list"}, []string{"-json"}},
		{[]string{"session", "exec"}, []string{"-timeout D"}},
		{[]string{"credential", "list"}, []string{"-json"}},
		{[]string{"jail", "list"}, []string{"-status S", "-kind K", "-q TEXT", "-limit N", "-json"}},
		{[]string{"jail", "get"}, []string{"-json"}},
		{[]string{"audit"}, []string{"-n N", "-f", "-json"}},
		{[]string{"whoami"}, []string{"-json"}},
		{[]string{"config"}, []string{"-json"}},
	}
	for _, tt := range tests {
		r := runEnv(t, nil, "", append([]string{"help"}, tt.command...)...)
		for _, f := range tt.flags {
			if !strings.Contains(r.stdout, "\n  "+f+"\n") && !strings.Contains(r.stdout, "\n  "+f+"\t") {
				t.Errorf("help %s: no flag line %q in\n%s", strings.Join(tt.command, " "), f, r.stdout)
			}
		}
	}
}
