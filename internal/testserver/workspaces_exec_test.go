//go:build unix

package testserver

import (
	"encoding/json"
	"testing"
)

// TestWorkspaceExecEnvAndConflict: a workspace exec runs in source_dir with its env pairs on the
// jail PATH, a second exec while one runs is a 409, and each exec is a ledger row.
func TestWorkspaceExecEnvAndConflict(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	ws := createWS(t, srv, "", map[string]any{})
	var out execResponse
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/exec", map[string]any{
		"cmd": "/bin/sh", "args": []string{"-c", `echo "$PORT $PATH"; pwd`}, "env": [][]string{{"PORT", "3000"}},
	}).wantJSON(t, 200, &out)
	if out.Stdout != "3000 "+jailPath+"\n"+workdirOf(srv, ws.SourceDir)+"\n" {
		t.Fatalf("stdout %q", out.Stdout)
	}
	gate := newFifoGate(t, srv)
	done := asyncCall(srv, "", "POST", "/v1/workspaces/"+ws.ID+"/exec", map[string]any{"cmd": "/bin/sh", "args": []string{"-c", gate.script()}})
	gate.waitUp(t, done)
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/exec", map[string]any{"cmd": "true"}).
		wantError(t, 409, "conflict: another exec is in flight against this workspace")
	// A snapshot does not take the exec lock: it succeeds while the exec runs. (The exec is frozen
	// while its files are copied; no answer shows that, so it is not asserted here.)
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/snapshot", map[string]any{}).wantJSON(t, 201, nil)
	gate.release(t)
	await(t, done).wantJSON(t, 200, &out)
	if out.Stdout != "released\n" {
		t.Fatalf("held exec: %+v", out)
	}
	var got workspace
	apiCall(t, srv, "", "GET", "/v1/workspaces/"+ws.ID, nil).wantJSON(t, 200, &got)
	if got.LastExecAt == nil {
		t.Fatal("last_exec_at not set")
	}
	var page struct {
		Rows []jailRecord `json:"rows"`
	}
	apiCall(t, srv, "", "GET", "/v1/jails?kind=workspace&q=workspace:"+ws.ID, nil).wantJSON(t, 200, &page)
	if len(page.Rows) != 2 || page.Rows[0].Label != "workspace:"+ws.ID+"//bin/sh" || page.Rows[0].Config.MemoryMB != 512 {
		t.Fatalf("ledger %+v", page.Rows)
	}
}

// TestWorkspaceExecLedgerHasNoGit: the ledger config of a workspace exec never carries the
// workspace's git seed.
func TestWorkspaceExecLedgerHasNoGit(t *testing.T) {
	t.Parallel()
	s := Start(t)
	ws := createWS(t, s, "", map[string]any{})
	// Give the workspace a git seed without cloning anything.
	st := s.exec.ws
	st.mu.Lock()
	repo, ref := "https://example.invalid/demo.git", "main"
	st.byID[ws.ID].ws.GitRepo, st.byID[ws.ID].ws.GitRef = &repo, &ref
	st.mu.Unlock()
	wsExec(t, s, "", ws.ID, "/bin/true")
	var page struct {
		Rows []map[string]json.RawMessage `json:"rows"`
	}
	wireDo(t, "GET", s.URL()+"/v1/jails?kind=workspace", "").wantJSON(t, 200, &page)
	if len(page.Rows) != 1 {
		t.Fatalf("rows %v", page.Rows)
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(page.Rows[0]["config"], &cfg); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, key string }{{name: "repo", key: "git_repo"}, {name: "ref", key: "git_ref"}} {
		t.Run(tt.name, func(t *testing.T) {
			if v, ok := cfg[tt.key]; ok {
				t.Fatalf("config has %s = %s; the real server omits it for workspace execs", tt.key, v)
			}
		})
	}
}
