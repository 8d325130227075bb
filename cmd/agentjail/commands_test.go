package main

import (
	"slices"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		wantFirst string // the first line of stderr
		wantUsage string // the usage that follows
	}{
		{"no command", nil, nil, "agentjail: no command given", "Usage: agentjail [-url URL] COMMAND"},
		{"unknown command", nil, []string{"frobnicate"}, `agentjail: unknown command "frobnicate"`, "Usage: agentjail [-url URL] COMMAND"},
		{"unknown global flag", nil, []string{"-key", "x", "whoami"}, "agentjail: flag provided but not defined: -key", "Usage: agentjail [-url URL]"},
		{"no subcommand", nil, []string{"workspace"}, "agentjail: workspace needs a subcommand", "agentjail workspace: create"},
		{"unknown subcommand", nil, []string{"jail", "kill"}, `agentjail: unknown command "kill" for "jail"`, "agentjail jail: read"},
		{"unknown flag", nil, []string{"jail", "list", "-x"}, "agentjail: flag provided but not defined: -x", "Usage: agentjail jail list"},
		{"missing argument", nil, []string{"workspace", "delete"}, "agentjail: missing arguments", "Usage: agentjail workspace delete ID"},
		{"extra argument", nil, []string{"workspace", "delete", "a", "b"}, `agentjail: unexpected argument "b"`, "Usage: agentjail workspace delete ID"},
		{"no URL", nil, []string{"whoami"}, "agentjail: no control plane URL: set AGENTJAIL_URL or pass -url", "Usage: agentjail [-url URL]"},
		{"URL without a scheme", map[string]string{"AGENTJAIL_URL": "localhost:7000"}, []string{"whoami"},
			`agentjail: $AGENTJAIL_URL: base URL "localhost:7000": missing http:// or https://`, "Usage: agentjail [-url URL]"},
		{"-url with another scheme", nil, []string{"-url", "ftp://host", "whoami"},
			`agentjail: -url: base URL "ftp://host": the scheme must be http or https, not "ftp"`, "Usage: agentjail [-url URL]"},
		{"key with a newline", map[string]string{"AGENTJAIL_URL": "http://127.0.0.1:1", "AGENTJAIL_API_KEY": "tok\n"}, []string{"whoami"},
			"agentjail: $AGENTJAIL_API_KEY contains whitespace or non-printable characters", "Usage: agentjail [-url URL]"},
		{"bad jail ID", nil, []string{"jail", "get", "x1"}, `agentjail: jail ID "x1" is not a number`, "Usage: agentjail jail get"},
		{"exec without command", nil, []string{"workspace", "exec", "wrk_1", "--"}, "agentjail: missing the command to run after --", "Usage: agentjail workspace exec"},
		{"bad env", nil, []string{"workspace", "exec", "-env", "novalue", "wrk_1", "--", "ls"}, `agentjail: -env "novalue": want K=V`, "Usage: agentjail workspace exec"},
		{"no service", nil, []string{"session", "create"}, "agentjail: at least one -service is required", "Usage: agentjail session create"},
		{"bad scope", nil, []string{"session", "create", "-service", "openai", "-scope", "openai"}, `agentjail: -scope "openai": want SERVICE=GLOB`, "Usage: agentjail session create"},
		{"bad format", nil, []string{"session", "create", "-service", "openai", "-format", "yaml"}, `agentjail: invalid value "yaml" for flag -format: want env or json`, "Usage: agentjail session create"},
		{"restore without parent", nil, []string{"snapshot", "restore", "snap_1"}, "agentjail: -parent is required", "Usage: agentjail snapshot restore"},
		{"bad status", nil, []string{"jail", "list", "-status", "done"}, `agentjail: invalid value "done" for flag -status: want running, completed or error`, "Usage: agentjail jail list"},
		{"bad kind", nil, []string{"jail", "ls", "-kind", "job"}, `agentjail: invalid value "job" for flag -kind: want run, exec, fork, stream or workspace`, "Usage: agentjail jail list"},
		{"negative limit", nil, []string{"jail", "list", "-limit", "-1"}, `agentjail: invalid value "-1" for flag -limit: parse error`, "Usage: agentjail jail list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runEnv(t, tt.env, "", tt.args...)
			first, rest, _ := strings.Cut(r.stderr, "\n")
			if r.code != 2 || r.stdout != "" || first != tt.wantFirst || !strings.HasPrefix(rest, "\n"+tt.wantUsage) {
				t.Errorf("exit %d, stdout %q, stderr %q\nwant 2, first line %q, then usage %q", r.code, r.stdout, r.stderr, tt.wantFirst, tt.wantUsage)
			}
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	cmd := &command{name: "exec", path: "workspace exec", args: "ID -- CMD"}
	tests := []struct {
		name    string
		args    []string
		pos     []string
		command []string
		flag    string
	}{
		{"flags first", []string{"-t", "5", "id"}, []string{"id"}, nil, "5"},
		{"flags between and after", []string{"a", "-t", "5", "b"}, []string{"a", "b"}, nil, "5"},
		{"dash is an argument", []string{"-"}, []string{"-"}, nil, ""},
		{"everything after -- is the command", []string{"id", "--", "ls", "-t", "x", "--"}, []string{"id"}, []string{"ls", "-t", "x", "--"}, ""},
		{"flag before --", []string{"-t", "1", "id", "--", "-t"}, []string{"id"}, []string{"-t"}, "1"},
		{"empty command", []string{"id", "--"}, []string{"id"}, []string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFlagSet("x")
			flagValue := fs.String("t", "", "")
			c := &cli{}
			p, err := c.parse(cmd, fs, tt.args, 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.pos, tt.pos) || !slices.Equal(p.command, tt.command) || (p.command == nil) != (tt.command == nil) || *flagValue != tt.flag {
				t.Errorf("parse(%q) = %q, %q, -t %q; want %q, %q, -t %q", tt.args, p.pos, p.command, *flagValue, tt.pos, tt.command, tt.flag)
			}
		})
	}
}
