//go:build unix

package testserver

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFork(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	// What a child sees of the parent (its /output, the shared workspace) needs a jail; see
	// TestJailFork.
	parent := `echo parent-wrote; sleep 1; echo parent-done`
	children := []map[string]string{}
	for i := 0; i < 3; i++ {
		children = append(children, map[string]string{"code": fmt.Sprintf(`echo child%d`, i)})
	}
	var out forkResponse
	apiCall(t, srv, "", "POST", "/v1/runs/fork", map[string]any{
		"language": "bash", "parent_code": parent, "children": children, "fork_after_ms": 300, "timeout_secs": 20,
	}).wantJSON(t, http.StatusCreated, &out)
	if out.Parent.Stdout != "parent-wrote\nparent-done\n" || out.Parent.ExitCode != 0 {
		t.Fatalf("parent = %+v", out.Parent)
	}
	if len(out.Children) != 3 || len(out.Forks) != 3 {
		t.Fatalf("children %d forks %d", len(out.Children), len(out.Forks))
	}
	for i, c := range out.Children {
		if want := fmt.Sprintf("child%d\n", i); c.Stdout != want {
			t.Errorf("child %d stdout %q, want %q", i, c.Stdout, want)
		}
		f := out.Forks[i]
		if f.Method != "copy" || !f.WasFrozen || f.FilesCloned != 0 || f.FilesCow != 0 || f.BytesCloned != 0 {
			t.Errorf("fork %d meta %+v", i, f)
		}
	}
	if out.Child.Stdout != out.Children[0].Stdout || out.Fork != out.Forks[0] {
		t.Error("legacy child/fork differ from the first of children/forks")
	}

	var page struct {
		Rows []jailRecord `json:"rows"`
	}
	apiCall(t, srv, "", "GET", "/v1/jails?kind=fork", nil).wantJSON(t, 200, &page)
	labels := map[string]bool{}
	for _, r := range page.Rows {
		labels[r.Label] = true
		if r.Label != "bash · parent" && (r.ParentID == nil || *r.ParentID != 0) {
			t.Errorf("row %q parent_id %v", r.Label, r.ParentID)
		}
	}
	for _, l := range []string{"bash · parent", "bash · child 0", "bash · child 1", "bash · child 2"} {
		if !labels[l] {
			t.Errorf("ledger lacks %q: %v", l, labels)
		}
	}

	// One legacy child, and a parent that ends before the fork point: the child is still
	// forked only once fork_after_ms has passed.
	apiCall(t, srv, "", "POST", "/v1/runs/fork", map[string]any{
		"language": "sh", "parent_code": "echo p", "child_code": "echo c", "fork_after_ms": 1000,
	}).wantJSON(t, http.StatusCreated, &out)
	if out.Child.Stdout != "c\n" || out.Fork.WasFrozen || len(out.Children) != 1 {
		t.Fatalf("legacy fork = %+v", out)
	}
	apiCall(t, srv, "", "GET", "/v1/jails?kind=fork&q=child", nil).wantJSON(t, 200, &page)
	if len(page.Rows) != 4 || page.Rows[0].Label != "sh · child" {
		t.Fatalf("rows %+v", page.Rows)
	}
	parentRow, _ := srv.exec.jails.get(*page.Rows[0].ParentID, devScope)
	if gap := page.Rows[0].StartedAt.Sub(parentRow.StartedAt); gap < 900*time.Millisecond {
		t.Fatalf("child forked %v after its parent started, before fork_after_ms", gap)
	}

	errs := []struct{ name, body, msg string }{
		{"no children", `{"parent_code":"x"}`, "bad request: children or child_code is required"},
		{"empty children and no child_code", `{"parent_code":"x","children":[]}`, "bad request: children or child_code is required"},
		{"17 children", `{"parent_code":"x","children":[` + strings.TrimSuffix(strings.Repeat(`{"code":"x"},`, 17), ",") + `]}`, "bad request: at most 16 children per fork"},
		{"bad language", `{"parent_code":"x","child_code":"y","language":"go"}`, "bad request: unsupported language: go"},
	}
	for _, e := range errs {
		t.Run(e.name, func(t *testing.T) {
			apiCall(t, srv, "", "POST", "/v1/runs/fork", e.body).wantError(t, 400, e.msg)
		})
	}
}
