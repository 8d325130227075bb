//go:build unix

package testserver

import (
	"encoding/json"
	"testing"
)

// TestCopiesSkipSymlinks: classic snapshots, restores and workspace forks copy regular files
// only, like the real engine's copies: a symlink in the workspace does not survive.
func TestCopiesSkipSymlinks(t *testing.T) {
	t.Parallel()
	s := Start(t)
	var ws workspace
	wireDo(t, "POST", s.URL()+"/v1/workspaces", `{}`).wantJSON(t, 201, &ws)
	exec := func(t *testing.T, id, script string) string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"cmd": "/bin/sh", "args": []string{"-c", script}})
		var res execResponse
		wireDo(t, "POST", s.URL()+"/v1/workspaces/"+id+"/exec", string(body)).wantJSON(t, 200, &res)
		return res.Stdout
	}
	exec(t, ws.ID, "printf data > f && ln -s f link && ln -s /etc/hostname outside")
	var snap snapshotRecord
	wireDo(t, "POST", s.URL()+"/v1/workspaces/"+ws.ID+"/snapshot", `{}`).wantJSON(t, 201, &snap)
	var restored workspace
	body, _ := json.Marshal(map[string]string{"snapshot_id": snap.ID, "parent_workspace_id": ws.ID})
	wireDo(t, "POST", s.URL()+"/v1/workspaces/from-snapshot", string(body)).wantJSON(t, 201, &restored)
	var fork forkWorkspaceResponse
	wireDo(t, "POST", s.URL()+"/v1/workspaces/"+ws.ID+"/fork", `{"count":1}`).wantJSON(t, 201, &fork)
	tests := []struct {
		name, id string
	}{
		{name: "restored from a classic snapshot", id: restored.ID},
		{name: "workspace fork", id: fork.Forks[0].ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exec(t, tt.id, "ls -A"); got != "f\n" {
				t.Fatalf("files %q, want only the regular file", got)
			}
		})
	}
	if snap.SizeBytes != 4 {
		t.Fatalf("size_bytes %d, want 4", snap.SizeBytes)
	}
}
