package main

import (
	"reflect"
	"testing"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

func TestJailFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    agentjail.ExecOptions
		git     *agentjail.GitSeed
		wantErr bool
	}{
		{name: "defaults", args: nil},
		{name: "all", args: []string{"-cpu", "50", "-pids", "8", "-network", "none", "-seccomp", "strict", "-memory", "-1", "-timeout", "2m"},
			want: agentjail.ExecOptions{Network: agentjail.NetworkNone(), Seccomp: agentjail.SeccompStrict, CPUPercent: 50, MaxPIDs: 8}},
		{name: "loopback", args: []string{"-network", "loopback"}, want: agentjail.ExecOptions{Network: agentjail.NetworkLoopback()}},
		{name: "allowlist", args: []string{"-network", "allow:a.com,*.b.org"}, want: agentjail.ExecOptions{Network: agentjail.NetworkAllowlist("a.com", "*.b.org")}},
		{name: "git with ref", args: []string{"-git", "https://h/r.git#v1.2"}, git: &agentjail.GitSeed{Repo: "https://h/r.git", Ref: "v1.2"}},
		{name: "git without ref", args: []string{"-git", "https://h/r.git"}, git: &agentjail.GitSeed{Repo: "https://h/r.git"}},
		{name: "bad network", args: []string{"-network", "allow"}, wantErr: true},
		{name: "bad seccomp", args: []string{"-seccomp", "none"}, wantErr: true},
		{name: "memory below -1", args: []string{"-memory", "-2"}, wantErr: true},
		{name: "negative pids", args: []string{"-pids", "-1"}, wantErr: true},
		{name: "negative timeout", args: []string{"-timeout", "-1s"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFlagSet("x")
			jf := addJailFlags(fs)
			// A bad value is refused by the flag itself or by options.
			var got agentjail.ExecOptions
			err := fs.Parse(tt.args)
			if err == nil {
				got, err = jf.options()
			}
			if (err != nil) != tt.wantErr || (!tt.wantErr && !reflect.DeepEqual(got, tt.want)) || !reflect.DeepEqual(jf.gitSeed(), tt.git) {
				t.Errorf("options = %+v, %v; git %+v; want %+v (error %v), git %+v", got, err, jf.gitSeed(), tt.want, tt.wantErr, tt.git)
			}
		})
	}
	fs := newFlagSet("x")
	jf := addJailFlags(fs)
	if err := fs.Parse([]string{"-timeout", "2m", "-memory", "-1"}); err != nil || jf.timeout != 2*time.Minute || jf.memory != agentjail.MemoryUnlimited {
		t.Errorf("-timeout 2m -memory -1 parsed as %v and %d (%v)", jf.timeout, jf.memory, err)
	}
}
