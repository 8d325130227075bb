package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	agentjail "github.com/agentjail/agentjail-go"
)

func TestSnapshotLifecycle(t *testing.T) {
	t.Parallel()
	srv, client := newServer(t)
	ctx := context.Background()
	url := srv.URL()
	ws := createdID(t, url, "wrk_", "workspace", "create", "-label", "src")
	other := createdID(t, url, "wrk_", "workspace", "create")
	runCLI(t, url, "", "workspace", "exec", ws, "--", "/bin/sh", "-c", "echo hello > greeting").check(t, 0, "", "")

	named := createdID(t, url, "snap_", "snapshot", "create", "-name", "before-upgrade", ws)
	unnamed := createdID(t, url, "snap_", "snapshot", "create", other)
	snapNamed, err1 := client.Snapshots.Get(ctx, named)
	snapUnnamed, err2 := client.Snapshots.Get(ctx, unnamed)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if snapNamed.Name != "before-upgrade" || snapNamed.WorkspaceID != ws {
		t.Errorf("snapshot create made %+v", snapNamed)
	}

	header := []string{"ID", "WORKSPACE", "NAME", "SIZE", "CREATED"}
	lineNamed := []string{named, ws, "before-upgrade", fmt.Sprintf("%d B", snapNamed.SizeBytes), rfc(snapNamed.CreatedAt)}
	lineUnnamed := []string{unnamed, other, "-", fmt.Sprintf("%d B", snapUnnamed.SizeBytes), rfc(snapUnnamed.CreatedAt)}
	if snapNamed.SizeBytes == 0 || snapNamed.SizeBytes >= 1000 || snapUnnamed.SizeBytes >= 1000 {
		t.Fatalf("sizes %d and %d: the expected table assumes 1 to 999 bytes", snapNamed.SizeBytes, snapUnnamed.SizeBytes)
	}
	runCLI(t, url, "", "snapshot", "list").check(t, 0, aligned(header, lineUnnamed, lineNamed), "")
	runCLI(t, url, "", "snapshot", "ls", "-workspace", ws).check(t, 0, aligned(header, lineNamed), "")

	r := runCLI(t, url, "", "snapshot", "list", "-json", "-workspace", other)
	var rows []agentjail.Snapshot
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 1 || rows[0].ID != unnamed {
		t.Errorf("snapshot list -json: exit %d, %q (%v)", r.code, r.stdout, err)
	}

	restored := createdID(t, url, "wrk_", "snapshot", "restore", "-parent", ws, "-label", "restored", named)
	got, err := client.Workspaces.Get(ctx, restored)
	if err != nil || got.Label != "restored" {
		t.Fatalf("restored workspace: %+v, %v", got, err)
	}
	runCLI(t, url, "", "workspace", "exec", restored, "--", "/bin/cat", "greeting").check(t, 0, "hello\n", "")

	runCLI(t, url, "", "snapshot", "delete", named).check(t, 0, "", "")
	if _, err := client.Snapshots.Get(ctx, named); !errors.Is(err, agentjail.ErrNotFound) {
		t.Errorf("after delete, Get = %v, want not found", err)
	}
	runCLI(t, url, "", "snapshot", "restore", "-parent", ws, named).check(t, 1, "", "agentjail: 404: not found: snapshot "+named+"\n")
}
