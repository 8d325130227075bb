//go:build unix

package testserver

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestCopiesSkipSymlinks: classic snapshots, restores and workspace forks copy regular files
// only, like the real engine's copies: a symlink in the workspace does not survive.
func TestCopiesSkipSymlinks(t *testing.T) {
	t.Parallel()
	s := Start(t)
	ws := createWS(t, s, "", map[string]any{})
	wsExec(t, s, "", ws.ID, "/bin/sh", "-c", "printf data > f && ln -s f link && ln -s /etc/hostname outside")
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
			if got := wsExec(t, s, "", tt.id, "/bin/sh", "-c", "ls -A").Stdout; got != "f\n" {
				t.Fatalf("files %q, want only the regular file", got)
			}
		})
	}
	if snap.SizeBytes != 4 {
		t.Fatalf("size_bytes %d, want 4", snap.SizeBytes)
	}
}

// TestCopyTreeErrors: a missing source, or a destination that cannot be written, stops the copy
// with the file system's error.
func TestCopyTreeErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(dir, "blocker")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := copyTree(filepath.Join(dir, "missing"), filepath.Join(dir, "out1")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing source: %v", err)
	}
	if _, _, err := copyTree(src, blocker); err == nil {
		t.Error("copy onto a file succeeded")
	}
	if _, err := copyFile(filepath.Join(dir, "missing"), filepath.Join(dir, "out2"), 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("copyFile of a missing file: %v", err)
	}
	if _, err := copyFile(filepath.Join(src, "sub", "f"), filepath.Join(blocker, "f"), 0o644); err == nil {
		t.Error("copyFile under a file succeeded")
	}
}
