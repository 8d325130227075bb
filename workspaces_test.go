package agentjail

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWorkspacesRequests: creation sends only the settings given, durations in whole
// seconds rounded up, list filters and paging only when set, exec env as sorted pairs,
// the ID escaped into the path; a u64 idle timeout decodes saturated.
func TestWorkspacesRequests(t *testing.T) {
	t.Parallel()
	checkCalls(t, []apiCall{
		{name: "workspaces create", reply: fixtureWorkspace,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Create(ctx, WorkspaceCreateParams{Git: &GitSeed{Repo: "https://github.com/a/b", Ref: "main"}, Label: "ci", MemoryMB: 512})
			},
			method: "POST", path: "/v1/workspaces", body: `{"git":{"repo":"https://github.com/a/b","ref":"main"},"label":"ci","memory_mb":512}`,
			check: func(t *testing.T, got any) {
				w := got.(*Workspace)
				if w.ID != "wrk_abc" || w.Config.MemoryMB != 512 || w.Config.IdleTimeoutSecs != 90 || w.TenantID != "acme" ||
					w.Config.Flavors[0] != "node" || w.Domains[0].VMPort != 3000 || w.GitRepo != "" || w.DeletedAt != nil {
					t.Fatalf("got %+v", w)
				}
			}},
		{name: "workspaces create decodes a reply without domains",
			reply: `{"id":"wrk_abc","config":{"memory_mb":512}}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Create(ctx, WorkspaceCreateParams{IdleTimeout: 90 * time.Second})
			},
			method: "POST", path: "/v1/workspaces", body: `{"idle_timeout_secs":90}`},
		{name: "workspaces create with everything", reply: fixtureWorkspace,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Create(ctx, WorkspaceCreateParams{Timeout: 30 * time.Second, MemoryMB: MemoryUnlimited,
					Domains: []WorkspaceDomain{{Domain: "p.local", VMPort: 3000}, {Domain: "q.local", BackendURL: "http://127.0.0.1:9"}},
					Flavors: []string{"node"}, ExecOptions: ExecOptions{Network: NetworkAllowlist("registry.npmjs.org"), MaxPIDs: 32}})
			},
			method: "POST", path: "/v1/workspaces",
			body: `{"memory_mb":0,"timeout_secs":30,"domains":[{"domain":"p.local","vm_port":3000},{"domain":"q.local","backend_url":"http://127.0.0.1:9"}],"flavors":["node"],"network":{"mode":"allowlist","domains":["registry.npmjs.org"]},"max_pids":32}`},
		{name: "workspaces create empty sends {}", reply: fixtureWorkspace,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Create(ctx, WorkspaceCreateParams{})
			},
			method: "POST", path: "/v1/workspaces", body: `{}`},
		{name: "workspaces list limit offset", reply: `{"rows":[` + fixtureWorkspace + `],"total":21,"limit":10,"offset":20}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.List(ctx, WorkspaceListParams{Limit: 10, Offset: 20})
			},
			method: "GET", path: "/v1/workspaces", query: "limit=10&offset=20",
			check: func(t *testing.T, got any) {
				l := got.(*WorkspaceList)
				if len(l.Rows) != 1 || l.Total != 21 || l.Limit != 10 || l.Offset != 20 {
					t.Fatalf("got %+v", l)
				}
			}},
		{name: "workspaces list q", reply: `{"rows":[],"total":0,"limit":50,"offset":0}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.List(ctx, WorkspaceListParams{Limit: 50, Query: "review bot&x"})
			},
			method: "GET", path: "/v1/workspaces", query: "limit=50&q=review+bot%26x"},
		{name: "workspaces list without q", reply: `{"rows":[],"total":0,"limit":50,"offset":0}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.List(ctx, WorkspaceListParams{Limit: 50})
			},
			method: "GET", path: "/v1/workspaces", query: "limit=50"},
		{name: "workspaces list nothing set", reply: `{"rows":[],"total":0,"limit":50,"offset":0}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.List(ctx, WorkspaceListParams{})
			},
			method: "GET", path: "/v1/workspaces"},
		{name: "workspaces update", reply: fixtureWorkspace,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Update(ctx, "wrk_abc", WorkspaceUpdateParams{Label: "renamed"})
			},
			method: "PATCH", path: "/v1/workspaces/wrk_abc", body: `{"label":"renamed"}`},
		{name: "workspaces update empty label sends {}", reply: fixtureWorkspace,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Update(ctx, "wrk_abc", WorkspaceUpdateParams{})
			},
			method: "PATCH", path: "/v1/workspaces/wrk_abc", body: `{}`},
		{name: "workspaces exec env pairs sorted", reply: fixtureExec,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Exec(ctx, "wrk_abc", WorkspaceExecParams{Cmd: "bun", Args: []string{"test"}, MemoryMB: 1024,
					Env: map[string]string{"ZED": "z", "DEBUG": "1", "A_B": "x=y"}})
			},
			method: "POST", path: "/v1/workspaces/wrk_abc/exec",
			body: `{"cmd":"bun","args":["test"],"memory_mb":1024,"env":[["A_B","x=y"],["DEBUG","1"],["ZED","z"]]}`,
			check: func(t *testing.T, got any) {
				if got.(*ExecResult).ExitCode != 0 {
					t.Fatal("exit code")
				}
			}},
		{name: "workspaces exec timeout", reply: fixtureExec,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Exec(ctx, "wrk_abc", WorkspaceExecParams{Cmd: "ls", Timeout: 2*time.Minute + time.Nanosecond})
			},
			method: "POST", path: "/v1/workspaces/wrk_abc/exec", body: `{"cmd":"ls","timeout_secs":121}`},
		{name: "workspaces fork", reply: `{"parent":` + fixtureWorkspace + `,"forks":[{"id":"wrk_f0"},{"id":"wrk_f1"},{"id":"wrk_f2"}],"snapshot_id":"snap_origin"}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Fork(ctx, "wrk_parent", WorkspaceForkParams{Count: 3, Label: "agents"})
			},
			method: "POST", path: "/v1/workspaces/wrk_parent/fork", body: `{"count":3,"label":"agents"}`,
			check: func(t *testing.T, got any) {
				r := got.(*WorkspaceForkResult)
				if len(r.Forks) != 3 || r.Forks[0].ID != "wrk_f0" || r.Forks[2].ID != "wrk_f2" || r.SnapshotID != "snap_origin" || r.Parent.ID != "wrk_abc" {
					t.Fatalf("got %+v", r)
				}
			}},

		{name: "workspace id escaped in exec", reply: fixtureExec,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Exec(ctx, "../x", WorkspaceExecParams{Cmd: "ls"})
			},
			method: "POST", path: "/v1/workspaces/..%2Fx/exec", body: `{"cmd":"ls"}`},
		{name: "workspaces create huge idle timeout", reply: fixtureWorkspace,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Create(ctx, WorkspaceCreateParams{IdleTimeout: hugeDuration})
			},
			method: "POST", path: "/v1/workspaces", body: `{"idle_timeout_secs":9223372037}`},
		{name: "workspaces get saturates idle_timeout_secs",
			reply: `{"id":"wrk_1","tenant_id":"dev","created_at":"2026-01-02T03:04:05Z","deleted_at":null,` +
				`"source_dir":"","output_dir":"","config":{"memory_mb":512,"timeout_secs":300,"cpu_percent":100,` +
				`"max_pids":64,"network_mode":"none","network_domains":[],"seccomp":"standard","idle_timeout_secs":` + maxU64 +
				`,"flavors":[]},"git_repo":null,"git_ref":null,"label":"x","domains":[],"last_exec_at":null,` +
				`"paused_at":null,"auto_snapshot":null}`,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Workspaces.Get(ctx, "wrk_1") },
			method: "GET", path: "/v1/workspaces/wrk_1",
			check: func(t *testing.T, got any) {
				w := got.(*Workspace)
				if w.Config.IdleTimeoutSecs != math.MaxInt64 || w.Config.MemoryMB != 512 || w.Config.NetworkMode != NetworkModeNone || w.Label != "x" {
					t.Fatalf("got %+v", w)
				}
			}},
	})
	checkInvalid(t, []invalidCall{
		{"empty workspace id", func(ctx context.Context, c *Client) error { _, err := c.Workspaces.Get(ctx, ""); return err }},
		{"empty workspace id update", func(ctx context.Context, c *Client) error {
			_, err := c.Workspaces.Update(ctx, "", WorkspaceUpdateParams{Label: "x"})
			return err
		}},
		{"dotdot workspace delete", func(ctx context.Context, c *Client) error { return c.Workspaces.Delete(ctx, "..") }},
		{"empty workspace exec", func(ctx context.Context, c *Client) error {
			_, err := c.Workspaces.Exec(ctx, "", WorkspaceExecParams{Cmd: "x"})
			return err
		}},
		{"workspace fork count 0", func(ctx context.Context, c *Client) error {
			_, err := c.Workspaces.Fork(ctx, "wrk_a", WorkspaceForkParams{Count: 0})
			return err
		}},
		{"workspace fork count 17", func(ctx context.Context, c *Client) error {
			_, err := c.Workspaces.Fork(ctx, "wrk_a", WorkspaceForkParams{Count: 17})
			return err
		}},
		{"workspace fork empty id", func(ctx context.Context, c *Client) error {
			_, err := c.Workspaces.Fork(ctx, "", WorkspaceForkParams{Count: 1})
			return err
		}},
		{"negative limit", func(ctx context.Context, c *Client) error {
			_, err := c.Workspaces.List(ctx, WorkspaceListParams{Limit: -1})
			return err
		}},
		{"negative idle timeout", func(ctx context.Context, c *Client) error {
			_, err := c.Workspaces.Create(ctx, WorkspaceCreateParams{IdleTimeout: -time.Second})
			return err
		}},
	})
}

// TestWorkspacesFlow: against the fake control plane, exec, snapshot, break, restore,
// fork three ways, and show the forks are independent; the jail ledger records the
// execs and All lists every live workspace.
func TestWorkspacesFlow(t *testing.T) {
	t.Parallel()
	st := newStack(t, "sh")
	c, ctx := st.client, context.Background()
	sh := func(ws, script string) *ExecResult {
		t.Helper()
		res, err := c.Workspaces.Exec(ctx, ws, WorkspaceExecParams{Cmd: "/bin/sh", Args: []string{"-c", script}})
		if err != nil {
			t.Fatalf("exec %q: %v", script, err)
		}
		return res
	}

	ws, err := c.Workspaces.Create(ctx, WorkspaceCreateParams{MemoryMB: 256, Timeout: 30 * time.Second, Label: "e2e"})
	if err != nil || !strings.HasPrefix(ws.ID, "wrk_") || ws.Label != "e2e" || ws.Config.TimeoutSecs != 30 || ws.SourceDir != "" {
		t.Fatalf("create %+v %v", ws, err)
	}
	if out := sh(ws.ID, "echo baseline > marker.txt && cat marker.txt").Stdout; strings.TrimSpace(out) != "baseline" {
		t.Fatalf("marker %q", out)
	}
	snap, err := c.Snapshots.Create(ctx, ws.ID, SnapshotCreateParams{Name: "baseline"})
	if err != nil || snap.SizeBytes <= 0 || snap.WorkspaceID != ws.ID {
		t.Fatalf("snapshot %+v %v", snap, err)
	}
	if out := sh(ws.ID, "rm marker.txt; ls | wc -l").Stdout; strings.TrimSpace(out) != "0" {
		t.Fatalf("after rm: %q", out)
	}
	restored, err := c.Snapshots.CreateWorkspaceFrom(ctx, snap.ID, CreateWorkspaceFromParams{ParentWorkspaceID: ws.ID, Label: "restored"})
	if err != nil || restored.Label != "restored" || restored.Config.TimeoutSecs != 30 {
		t.Fatalf("restore %+v %v", restored, err)
	}
	if out := sh(restored.ID, "cat marker.txt").Stdout; strings.TrimSpace(out) != "baseline" {
		t.Fatalf("restored marker %q", out)
	}
	forked, err := c.Workspaces.Fork(ctx, restored.ID, WorkspaceForkParams{Count: 3, Label: "agents"})
	if err != nil || len(forked.Forks) != 3 || forked.SnapshotID == "" {
		t.Fatalf("fork %+v %v", forked, err)
	}
	var wg sync.WaitGroup
	outs := make([]string, 3)
	for i, f := range forked.Forks {
		if want := "agents-" + string(rune('0'+i)); f.Label != want {
			t.Errorf("fork %d label %q, want %q", i, f.Label, want)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Workspaces.Exec(ctx, f.ID, WorkspaceExecParams{Cmd: "/bin/cat", Args: []string{"marker.txt"}})
			if err == nil {
				outs[i] = strings.TrimSpace(res.Stdout)
			}
		}()
	}
	wg.Wait()
	if !reflect.DeepEqual(outs, []string{"baseline", "baseline", "baseline"}) {
		t.Fatalf("forks read %q", outs)
	}
	sh(forked.Forks[0].ID, "rm marker.txt")
	if out := sh(forked.Forks[1].ID, "cat marker.txt").Stdout; strings.TrimSpace(out) != "baseline" {
		t.Fatalf("fork 1 lost the marker: %q", out)
	}

	// The jail ledger recorded the workspace execs.
	jails, err := c.Jails.List(ctx, JailListParams{Kind: JailKindWorkspace, Query: "workspace:" + ws.ID})
	if err != nil || jails.Total != 2 || jails.Rows[0].Status != JailCompleted {
		t.Fatalf("jails %+v %v", jails, err)
	}
	j, err := c.Jails.Get(ctx, jails.Rows[0].ID)
	if err != nil || j.Label != "workspace:"+ws.ID+"/"+"/bin/sh" || j.ExitCode == nil {
		t.Fatalf("jail %+v %v", j, err)
	}
	n := 0
	for w, err := range c.Workspaces.All(ctx, WorkspaceListParams{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if w.DeletedAt != nil {
			t.Fatal("deleted workspace listed")
		}
		n++
	}
	if n != 5 {
		t.Fatalf("All listed %d workspaces, want 5", n)
	}
	renamed, err := c.Workspaces.Update(ctx, ws.ID, WorkspaceUpdateParams{Label: "  renamed  "})
	if err != nil || renamed.Label != "renamed" {
		t.Fatalf("rename %+v %v", renamed, err)
	}

	// Clean up: forks, the fork snapshot, both workspaces, the first snapshot.
	for _, f := range forked.Forks {
		if err := c.Workspaces.Delete(ctx, f.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{forked.SnapshotID, snap.ID} {
		if err := c.Snapshots.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := c.Snapshots.Delete(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second snapshot delete: %v", err)
		}
	}
	for _, id := range []string{restored.ID, ws.ID} {
		if err := c.Workspaces.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Workspaces.Get(ctx, ws.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
}

// TestWorkspacesExecConflict: against the fake control plane, a second exec while one is
// in flight in the same workspace fails with ErrConflict and the server's text.
func TestWorkspacesExecConflict(t *testing.T) {
	t.Parallel()
	st := newStack(t, "sh", "mkfifo")
	ctx := context.Background()

	// An admin sees the workspace's host directory, so the test can hold an exec open on
	// a fifo and release it from outside.
	admin := st.clientFor(t, adminKey)
	ws, err := admin.Workspaces.Create(ctx, WorkspaceCreateParams{})
	if err != nil || ws.SourceDir == "" {
		t.Fatalf("admin create %+v %v", ws, err)
	}
	gate := filepath.Join(ws.SourceDir, "gate")
	if err := exec.Command("mkfifo", gate).Run(); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		_, err := admin.Workspaces.Exec(ctx, ws.ID, WorkspaceExecParams{Cmd: "/bin/sh", Args: []string{"-c", "cat gate"}})
		first <- err
	}()
	// Opening the fifo for writing blocks until the exec has opened it for reading: from
	// then on the exec holds the workspace lock.
	opened := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(gate, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
		}
		opened <- f
	}()
	var w *os.File
	select {
	case w = <-opened:
		if w == nil {
			t.FailNow()
		}
	case err := <-first:
		t.Fatalf("the gated exec ended before opening the gate: %v", err)
	}
	_, conflict := admin.Workspaces.Exec(ctx, ws.ID, WorkspaceExecParams{Cmd: "/bin/true"})
	if !errors.Is(conflict, ErrConflict) || conflict.Error() != "agentjail 409: conflict: another exec is in flight against this workspace" {
		t.Fatalf("concurrent exec: %v", conflict)
	}
	_, _ = w.WriteString("done\n")
	w.Close()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}
