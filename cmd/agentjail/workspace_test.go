package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	agentjail "github.com/agentjail/agentjail-go"
)

// createdID runs a create command and returns the ID it printed, which must be the
// only output.
func createdID(t *testing.T, url, prefix string, args ...string) string {
	t.Helper()
	r := runCLI(t, url, "", args...)
	id := strings.TrimSuffix(r.stdout, "\n")
	if r.code != 0 || r.stderr != "" || !strings.HasPrefix(id, prefix) || strings.ContainsAny(id, " \n") {
		t.Fatalf("%v: exit %d, stdout %q, stderr %q; want one %s… ID", args, r.code, r.stdout, r.stderr, prefix)
	}
	return id
}

func TestWorkspaceCreate(t *testing.T) {
	t.Parallel()
	srv, client := newServer(t)
	id := createdID(t, srv.URL(), "wrk_", "workspace", "create", "-label", "ci-box", "-memory", "256", "-timeout", "90s",
		"-idle-timeout", "10m", "-cpu", "50", "-pids", "20", "-network", "loopback", "-seccomp", "strict")
	ws, err := client.Workspaces.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	got := ws.Config
	if ws.Label != "ci-box" || got.MemoryMB != 256 || got.TimeoutSecs != 90 || got.IdleTimeoutSecs != 600 ||
		got.CPUPercent != 50 || got.MaxPIDs != 20 || got.NetworkMode != agentjail.NetworkModeLoopback || got.Seccomp != agentjail.SeccompStrict {
		t.Errorf("workspace %q created with %+v", ws.Label, got)
	}
}

func TestWorkspaceList(t *testing.T) {
	t.Parallel()
	srv, client := newServer(t)
	ctx := context.Background()
	url := srv.URL()
	// An empty listing is the header alone, or an empty JSON array.
	runCLI(t, url, "", "workspace", "list").check(t, 0, "ID   LABEL   CREATED   LAST EXEC   GIT\n", "")
	runCLI(t, url, "", "workspace", "ls", "-json").check(t, 0, "[]\n", "")

	older := createdID(t, url, "wrk_", "workspace", "create", "-label", "alpha")
	newer := createdID(t, url, "wrk_", "workspace", "create", "-label", "b")
	runCLI(t, url, "", "workspace", "exec", older, "--", "/bin/true").check(t, 0, "", "")
	wsOld, err1 := client.Workspaces.Get(ctx, older)
	wsNew, err2 := client.Workspaces.Get(ctx, newer)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	want := aligned([]string{"ID", "LABEL", "CREATED", "LAST EXEC", "GIT"},
		[]string{newer, "b", rfc(wsNew.CreatedAt), "-", "-"},
		[]string{older, "alpha", rfc(wsOld.CreatedAt), rfc(*wsOld.LastExecAt), "-"})
	for _, alias := range []string{"list", "ls"} {
		runCLI(t, url, "", "workspace", alias).check(t, 0, want, "")
	}

	r := runCLI(t, url, "", "workspace", "list", "-json")
	var rows []agentjail.Workspace
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || r.code != 0 || len(rows) != 2 ||
		rows[0].ID != newer || rows[1].ID != older || rows[1].Label != "alpha" {
		t.Errorf("workspace list -json: exit %d, %q (%v)", r.code, r.stdout, err)
	}
}

func TestWorkspaceExec(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	url := srv.URL()
	id := createdID(t, url, "wrk_", "workspace", "create")
	// In args, ID stands for the workspace's ID.
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"exit code and both streams", []string{"ID", "--", "/bin/sh", "-c", "echo '  out'; echo '  err' >&2; exit 3"}, 3, "  out\n", "  err\n"},
		{"flags after -- belong to the command", []string{"ID", "--", "/bin/sh", "-c", `printf '%s|' "$0" "$@"`, "-x", "--", "-h"}, 0, "-x|--|-h|", ""},
		{"env", []string{"-env", "GREETING=hi there", "-env", "EMPTY=", "ID", "--", "/bin/sh", "-c", `printf '%s/%s' "$GREETING" "${EMPTY-unset}"`}, 0, "hi there/", ""},
		{"files persist", []string{"ID", "--", "/bin/sh", "-c", "echo kept > f; cat f"}, 0, "kept\n", ""},
		{"without --", []string{"ID", "/bin/cat", "f"}, 0, "kept\n", ""},
		{"timeout", []string{"-timeout", "1s", "ID", "--", "/bin/sleep", "60"}, 124, "", ""},
	}
	for _, tt := range tests {
		// Not parallel: a workspace runs one exec at a time, and the rows build on each other.
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"workspace", "exec"}
			for _, a := range tt.args {
				if a == "ID" {
					a = id
				}
				args = append(args, a)
			}
			runCLI(t, url, "", args...).check(t, tt.code, tt.stdout, tt.stderr)
		})
	}
}

func TestWorkspaceDelete(t *testing.T) {
	t.Parallel()
	srv, client := newServer(t)
	id := createdID(t, srv.URL(), "wrk_", "workspace", "create")
	runCLI(t, srv.URL(), "", "workspace", "delete", id).check(t, 0, "", "")
	if _, err := client.Workspaces.Get(context.Background(), id); !errors.Is(err, agentjail.ErrNotFound) {
		t.Errorf("after delete, Get = %v, want not found", err)
	}
	runCLI(t, srv.URL(), "", "workspace", "delete", id).check(t, 1, "", "agentjail: 404: not found: workspace "+id+"\n")
}
