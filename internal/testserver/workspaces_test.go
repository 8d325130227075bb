//go:build unix

package testserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestWorkspaceSnapshotRestoreFork walks a workspace's life: snapshot, break, restore, a 3-way
// fork, and checks the forks are independent.
func TestWorkspaceSnapshotRestoreFork(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	ws := createWS(t, srv, "", map[string]any{"memory_mb": 256, "timeout_secs": 30})
	if out := wsExec(t, srv, "", ws.ID, "/bin/sh", "-c", "echo baseline > marker.txt && cat marker.txt"); out.Stdout != "baseline\n" {
		t.Fatalf("write marker: %+v", out)
	}
	var snap snapshotRecord
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/snapshot", map[string]any{"name": "baseline"}).wantJSON(t, 201, &snap)
	if snap.SizeBytes == 0 || strOrEmpty(snap.Name) != "baseline" || strOrEmpty(snap.WorkspaceID) != ws.ID || !strings.HasPrefix(snap.ID, "snap_") {
		t.Fatalf("snapshot = %+v", snap)
	}
	if out := wsExec(t, srv, "", ws.ID, "/bin/sh", "-c", "rm marker.txt; ls | wc -l"); strings.TrimSpace(out.Stdout) != "0" {
		t.Fatalf("break: %+v", out)
	}
	var restored workspace
	apiCall(t, srv, "", "POST", "/v1/workspaces/from-snapshot", map[string]any{"snapshot_id": snap.ID, "parent_workspace_id": ws.ID}).wantJSON(t, 201, &restored)
	if fmt.Sprint(restored.Config) != fmt.Sprint(ws.Config) {
		t.Errorf("config not inherited: %+v vs %+v", restored.Config, ws.Config)
	}
	if out := wsExec(t, srv, "", restored.ID, "/bin/cat", "marker.txt"); out.Stdout != "baseline\n" {
		t.Fatalf("restored marker: %+v", out)
	}
	var fork forkWorkspaceResponse
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+restored.ID+"/fork", map[string]any{"count": 3}).wantJSON(t, 201, &fork)
	if len(fork.Forks) != 3 || fork.Parent.ID != restored.ID {
		t.Fatalf("fork = %+v", fork)
	}
	for i, f := range fork.Forks {
		if want := fmt.Sprintf("fork of %s-%d", restored.ID, i); strOrEmpty(f.Label) != want {
			t.Errorf("fork %d label %q, want %q", i, strOrEmpty(f.Label), want)
		}
		if out := wsExec(t, srv, "", f.ID, "/bin/cat", "marker.txt"); out.Stdout != "baseline\n" {
			t.Fatalf("fork %d marker: %+v", i, out)
		}
	}
	wsExec(t, srv, "", fork.Forks[0].ID, "/bin/rm", "marker.txt")
	if out := wsExec(t, srv, "", fork.Forks[0].ID, "/bin/cat", "marker.txt"); out.ExitCode == 0 {
		t.Fatal("marker survived rm in fork 0")
	}
	if out := wsExec(t, srv, "", fork.Forks[1].ID, "/bin/cat", "marker.txt"); out.Stdout != "baseline\n" {
		t.Fatalf("fork 1 lost the marker: %+v", out)
	}
	var origin snapshotRecord
	apiCall(t, srv, "", "GET", "/v1/snapshots/"+fork.SnapshotID, nil).wantJSON(t, 200, &origin)
	if strOrEmpty(origin.Name) != "fork-origin:"+restored.ID {
		t.Errorf("origin snapshot name %q", strOrEmpty(origin.Name))
	}
	var manifest map[string]any
	apiCall(t, srv, "", "GET", "/v1/snapshots/"+snap.ID+"/manifest", nil).wantJSON(t, 200, &manifest)
	if b, _ := json.Marshal(manifest); string(b) != `{"entries":[],"kind":"classic"}` {
		t.Errorf("manifest = %s", b)
	}

	// Clean-up like the scenario, checking the 204/404 pairs on the way.
	for _, f := range fork.Forks {
		apiCall(t, srv, "", "DELETE", "/v1/workspaces/"+f.ID, nil).wantEmpty(t, 204)
	}
	apiCall(t, srv, "", "DELETE", "/v1/snapshots/"+fork.SnapshotID, nil).wantEmpty(t, 204)
	apiCall(t, srv, "", "DELETE", "/v1/snapshots/"+fork.SnapshotID, nil).wantError(t, 404, "not found: snapshot "+fork.SnapshotID)
	apiCall(t, srv, "", "DELETE", "/v1/workspaces/"+restored.ID, nil).wantEmpty(t, 204)
	apiCall(t, srv, "", "DELETE", "/v1/workspaces/"+ws.ID, nil).wantEmpty(t, 204)
	apiCall(t, srv, "", "DELETE", "/v1/workspaces/"+ws.ID, nil).wantError(t, 404, "not found: workspace "+ws.ID)
	if _, err := os.Stat(ws.SourceDir); !os.IsNotExist(err) {
		t.Errorf("deleted workspace dir still there: %v", err)
	}
	// The snapshot survives its workspace but cannot be restored any more.
	apiCall(t, srv, "", "POST", "/v1/workspaces/from-snapshot", map[string]any{"snapshot_id": snap.ID, "parent_workspace_id": ws.ID}).
		wantError(t, 404, "not found: snapshot "+snap.ID)
	apiCall(t, srv, "", "DELETE", "/v1/snapshots/"+snap.ID, nil).wantEmpty(t, 204)
}

func TestWorkspaceCreateValidation(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	checkRejections(t, srv, "/v1/workspaces", []rejection{
		{name: "unknown flavor", body: `{"flavors":["nope"]}`, status: 400, msg: `bad request: unknown flavor: "nope"`},
		{name: "domain with both targets", body: `{"domains":[{"domain":"a.local","backend_url":"http://x","vm_port":3000}]}`, status: 400, msg: "bad request: workspace domain: set exactly one of backend_url / vm_port"},
		{name: "domain without target", body: `{"domains":[{"domain":"a.local"}]}`, status: 400, msg: "bad request: workspace domain: one of backend_url / vm_port is required"},
		{name: "backend without scheme", body: `{"domains":[{"domain":"a.local","backend_url":"x:1"}]}`, status: 400, msg: `bad request: backend_url must start with http:// or https:// (got "x:1")`},
		{name: "vm_port zero", body: `{"domains":[{"domain":"a.local","vm_port":0}]}`, status: 400, msg: "bad request: vm_port must be > 0"},
		{name: "git validated", body: `{"git":{"repo":"git@github.com:a/b"}}`, status: 400, msg: "bad request: git.repo must be https:// (max 512 bytes)"},
	})
	// Accepted as is: an invalid allowlist (every exec then fails) and clamps.
	ws := createWS(t, srv, "", map[string]any{
		"label": "  mine  ", "timeout_secs": 0, "memory_mb": 99999, "idle_timeout_secs": 60,
		"network": map[string]any{"mode": "allowlist", "domains": []string{}},
		"domains": []map[string]any{{"domain": "app.local", "vm_port": 3000}},
	})
	if strOrEmpty(ws.Label) != "mine" || ws.Config.TimeoutSecs != 1 || ws.Config.MemoryMB != 8192 || ws.Config.IdleTimeoutSecs != 60 || len(ws.Domains) != 1 {
		t.Fatalf("workspace = %+v", ws)
	}
	var raw map[string]any
	apiCall(t, srv, "", "GET", "/v1/workspaces/"+ws.ID, nil).wantJSON(t, 200, &raw)
	for _, k := range []string{"deleted_at", "git_repo", "git_ref", "last_exec_at", "paused_at", "auto_snapshot"} {
		if v, ok := raw[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if d := raw["domains"].([]any)[0].(map[string]any); len(d) != 2 {
		t.Errorf("domain keys %v, want domain and vm_port only", d)
	}
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/exec", map[string]any{"cmd": "true"}).
		wantError(t, 400, "bad request: allowlist must contain at least one domain")
	apiCall(t, srv, "", "POST", "/v1/workspaces/wrk_000000000000000000000000/exec", map[string]any{"cmd": "true"}).
		wantError(t, 404, "not found: workspace wrk_000000000000000000000000")
	apiCall(t, srv, "", "POST", "/v1/workspaces/wrk_000000000000000000000000/fork", map[string]any{"count": 0}).
		wantError(t, 400, "bad request: fork.count must be 1..=16")
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/fork", map[string]any{"count": 17}).
		wantError(t, 400, "bad request: fork.count must be 1..=16")
	apiCall(t, srv, "", "POST", "/v1/workspaces/wrk_000000000000000000000000/fork", map[string]any{"count": 1}).
		wantError(t, 404, "not found: workspace wrk_000000000000000000000000")
	if r := apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/fork", map[string]any{}); r.status != 422 {
		t.Fatalf("missing count: %d", r.status)
	}
	var fork forkWorkspaceResponse
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/fork", map[string]any{"count": 2, "label": " agents"}).wantJSON(t, 201, &fork)
	if strOrEmpty(fork.Forks[1].Label) != " agents-1" || len(fork.Forks[1].Domains) != 0 || fork.Forks[1].Config.MemoryMB != 8192 {
		t.Fatalf("fork = %+v", fork.Forks[1])
	}
}

var slugRE = regexp.MustCompile(`^[a-z]+-[a-z]+-[0-9a-f]{4}$`)

func TestWorkspaceRenameAndList(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	var made []workspace
	for _, l := range []string{"alpha", "beta", "", "Gamma-Ray"} {
		made = append(made, createWS(t, srv, "", map[string]any{"label": l}))
	}
	if !slugRE.MatchString(strOrEmpty(made[2].Label)) || !strings.HasPrefix(made[2].ID, "wrk_") || len(made[2].ID) != 28 {
		t.Fatalf("auto label %q id %q", strOrEmpty(made[2].Label), made[2].ID)
	}
	var ws workspace
	apiCall(t, srv, "", "PATCH", "/v1/workspaces/"+made[0].ID, map[string]any{"label": "  renamed "}).wantJSON(t, 200, &ws)
	if strOrEmpty(ws.Label) != "renamed" {
		t.Fatalf("rename: %q", strOrEmpty(ws.Label))
	}
	for _, body := range []string{`{}`, `{"label":null}`, `{"label":"   "}`} {
		apiCall(t, srv, "", "PATCH", "/v1/workspaces/"+made[1].ID, body).wantJSON(t, 200, &ws)
		if !slugRE.MatchString(strOrEmpty(ws.Label)) {
			t.Fatalf("re-roll with %s: %q", body, strOrEmpty(ws.Label))
		}
	}
	apiCall(t, srv, "", "PATCH", "/v1/workspaces/wrk_nope", `{}`).wantError(t, 404, "not found: workspace wrk_nope")

	type page struct {
		Rows   []workspace `json:"rows"`
		Total  uint64      `json:"total"`
		Limit  uint64      `json:"limit"`
		Offset uint64      `json:"offset"`
	}
	ids := func(p page) string {
		var s []string
		for _, w := range p.Rows {
			s = append(s, w.ID)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		name         string
		query        string
		want         []int // indexes into made
		total, limit uint64
	}{
		{"all newest first", "", []int{3, 2, 1, 0}, 4, 50},
		{"limit and offset", "?limit=2&offset=1", []int{2, 1}, 4, 2},
		{"limit 0 gives one row", "?limit=0", []int{3}, 4, 0},
		{"q on label, case-insensitive", "?q=gamma", []int{3}, 1, 50},
		{"q on renamed label, trimmed", "?q=%20RENAMED%20", []int{0}, 1, 50},
		{"q on id", "?q=" + made[2].ID[4:], []int{2}, 1, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p page
			apiCall(t, srv, "", "GET", "/v1/workspaces"+tt.query, nil).wantJSON(t, 200, &p)
			var want []string
			for _, i := range tt.want {
				want = append(want, made[i].ID)
			}
			if ids(p) != strings.Join(want, ",") || p.Total != tt.total || p.Limit != tt.limit {
				t.Fatalf("got %s total %d limit %d, want %v %d %d", ids(p), p.Total, p.Limit, want, tt.total, tt.limit)
			}
		})
	}
	apiCall(t, srv, "", "DELETE", "/v1/workspaces/"+made[3].ID, nil).wantEmpty(t, 204)
	var p page
	apiCall(t, srv, "", "GET", "/v1/workspaces", nil).wantJSON(t, 200, &p)
	if p.Total != 3 {
		t.Fatalf("after delete total %d", p.Total)
	}
	apiCall(t, srv, "", "GET", "/v1/workspaces/"+made[3].ID, nil).wantError(t, 404, "not found: workspace "+made[3].ID)
}

func TestWorkspaceTenancy(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAPIKeys("adm@acme:admin", "op@acme:operator", "spy@beta:operator"))
	ws := createWS(t, srv, "op", map[string]any{"label": "secret"})
	if ws.SourceDir != "" || ws.OutputDir != "" || ws.TenantID != "acme" {
		t.Fatalf("operator sees host paths: %+v", ws)
	}
	var admin workspace
	apiCall(t, srv, "adm", "GET", "/v1/workspaces/"+ws.ID, nil).wantJSON(t, 200, &admin)
	if admin.SourceDir == "" || admin.OutputDir == "" {
		t.Fatalf("admin lacks host paths: %+v", admin)
	}
	var snap snapshotRecord
	apiCall(t, srv, "op", "POST", "/v1/workspaces/"+ws.ID+"/snapshot", map[string]any{"name": "s"}).wantJSON(t, 201, &snap)
	if snap.Path == "" || snap.TenantID != "acme" {
		t.Fatalf("snapshot %+v", snap)
	}
	nf := "not found: workspace " + ws.ID
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/workspaces/" + ws.ID, ""},
		{"PATCH", "/v1/workspaces/" + ws.ID, `{}`},
		{"DELETE", "/v1/workspaces/" + ws.ID, ""},
		{"POST", "/v1/workspaces/" + ws.ID + "/exec", `{"cmd":"true"}`},
		{"POST", "/v1/workspaces/" + ws.ID + "/fork", `{"count":1}`},
		{"POST", "/v1/workspaces/" + ws.ID + "/snapshot", `{}`},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		apiCall(t, srv, "spy", c.method, c.path, body).wantError(t, 404, nf)
	}
	for _, p := range []string{"/v1/snapshots/" + snap.ID, "/v1/snapshots/" + snap.ID + "/manifest"} {
		apiCall(t, srv, "spy", "GET", p, nil).wantError(t, 404, "not found: snapshot "+snap.ID)
	}
	apiCall(t, srv, "spy", "POST", "/v1/workspaces/from-snapshot", map[string]any{"snapshot_id": snap.ID, "parent_workspace_id": ws.ID}).
		wantError(t, 404, "not found: snapshot "+snap.ID)
	var list struct {
		Total uint64 `json:"total"`
	}
	for _, p := range []string{"/v1/workspaces", "/v1/snapshots", "/v1/jails"} {
		apiCall(t, srv, "spy", "GET", p, nil).wantJSON(t, 200, &list)
		if list.Total != 0 {
			t.Errorf("%s: spy sees %d rows", p, list.Total)
		}
	}
	// A workspace exec's ledger row belongs to the workspace's tenant, even when an admin runs it.
	wsExec(t, srv, "adm", ws.ID, "true")
	var jails struct {
		Rows []jailRecord `json:"rows"`
	}
	apiCall(t, srv, "op", "GET", "/v1/jails", nil).wantJSON(t, 200, &jails)
	if len(jails.Rows) != 1 || jails.Rows[0].TenantID != "acme" {
		t.Fatalf("jails %+v", jails.Rows)
	}
	var snaps struct {
		Rows  []snapshotRecord `json:"rows"`
		Total uint64           `json:"total"`
	}
	apiCall(t, srv, "op", "GET", "/v1/snapshots?workspace_id="+ws.ID+"&q=S", nil).wantJSON(t, 200, &snaps)
	if snaps.Total != 1 || snaps.Rows[0].ID != snap.ID {
		t.Fatalf("snapshots %+v", snaps)
	}
	apiCall(t, srv, "op", "GET", "/v1/snapshots?workspace_id=wrk_other", nil).wantJSON(t, 200, &snaps)
	if snaps.Total != 0 {
		t.Fatalf("workspace_id filter: %+v", snaps)
	}
	if r := apiCall(t, srv, "op", "GET", "/v1/snapshots?offset=-1", nil); r.status != http.StatusBadRequest {
		t.Fatalf("offset=-1: %d", r.status)
	}
}

func TestWorkspaceFlavors(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	flavor := filepath.Join(srv.StateDir(), "flavors", "py311")
	if err := os.MkdirAll(filepath.Join(flavor, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(flavor, "bin", "hello"), []byte("#!/bin/sh\necho hello from py311\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(srv.StateDir(), "flavors", "nobin"), 0o755); err != nil {
		t.Fatal(err)
	}
	ws := createWS(t, srv, "", map[string]any{"flavors": []string{"nobin", "py311"}})
	if fmt.Sprint(ws.Config.Flavors) != "[nobin py311]" {
		t.Fatalf("flavors %v", ws.Config.Flavors)
	}
	// A flavor's bin directory, if it has one, comes first on PATH; in a jail every flavor is
	// mounted read-only under /opt/flavors.
	out := wsExec(t, srv, "", ws.ID, "/bin/sh", "-c", `echo "$PATH"; hello`)
	binDir := filepath.Join(flavor, "bin")
	if srv.Isolation() == IsolationNamespaces {
		binDir = "/opt/flavors/py311/bin"
	}
	if want := binDir + ":" + jailPath + "\nhello from py311\n"; out.Stdout != want {
		t.Fatalf("got %q (stderr %q), want %q", out.Stdout, out.Stderr, want)
	}
	if srv.Isolation() == IsolationNamespaces {
		out := wsExec(t, srv, "", ws.ID, "/bin/sh", "-c", `ls /opt/flavors | tr '\n' ' '; (: > /opt/flavors/py311/x) 2>/dev/null || echo read-only`)
		if out.Stdout != "nobin py311 read-only\n" {
			t.Fatalf("/opt/flavors: %q", out.Stdout)
		}
	}
	if err := os.RemoveAll(flavor); err != nil {
		t.Fatal(err)
	}
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/exec", map[string]any{"cmd": "true"}).
		wantError(t, 400, `bad request: flavor "py311" is no longer available on this server`)
}

func TestSlugWords(t *testing.T) {
	t.Parallel()
	if len(slugAdjectives) != 40 || len(slugNouns) != 40 {
		t.Fatalf("%d adjectives, %d nouns; the real server has 40 of each", len(slugAdjectives), len(slugNouns))
	}
	for i := 0; i < 200; i++ {
		s := slug()
		parts := strings.Split(s, "-")
		if !slugRE.MatchString(s) || !slices.Contains(slugAdjectives, parts[0]) || !slices.Contains(slugNouns, parts[1]) {
			t.Fatalf("slug %q", s)
		}
	}
}
