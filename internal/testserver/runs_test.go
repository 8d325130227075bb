//go:build unix

package testserver

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRunsLanguages: each language and alias runs its code file with its interpreter in a fresh
// directory on the jail PATH; the default is javascript.
func TestRunsLanguages(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	tests := []struct {
		name     string
		language any // nil: omitted
		code     string
		want     string
	}{
		{name: "default is javascript", code: `console.log("js " + (await import("node:process")).cwd().endsWith("") )`, want: "js true\n"},
		{name: "javascript", language: "javascript", code: `import fs from "node:fs"; console.log(fs.readdirSync(".").join(","))`, want: "main.mjs\n"},
		{name: "js alias", language: "js", code: `console.log(1+1)`, want: "2\n"},
		{name: "python", language: "python", code: "import os\nprint(os.listdir('.'))", want: "['main.py']\n"},
		{name: "py alias", language: "py", code: "print('py')", want: "py\n"},
		{name: "bash", language: "bash", code: "echo run-from-sdk; ls", want: "run-from-sdk\nmain.sh\n"},
		{name: "sh alias", language: "sh", code: `echo "$PATH"`, want: jailPath + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := map[string]any{"code": tt.code}
			if tt.language != nil {
				body["language"] = tt.language
			}
			var out execResponse
			apiCall(t, srv, "", "POST", "/v1/runs", body).wantJSON(t, http.StatusCreated, &out)
			if out.Stdout != tt.want || out.ExitCode != 0 || out.TimedOut || out.DurationMs == 0 {
				t.Fatalf("got %+v, want stdout %q exit 0", out, tt.want)
			}
			if out.Stats == nil {
				t.Fatal("stats missing")
			}
		})
	}
}

func TestRunsErrors(t *testing.T) {
	t.Parallel()
	checkRejections(t, Start(t), "/v1/runs", []rejection{
		{name: "unsupported language", body: `{"code":"x","language":"ruby"}`, status: 400, msg: "bad request: unsupported language: ruby"},
		{name: "missing code", body: `{"language":"bash"}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
	})
}

func TestRunTimeoutKillsGroup(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	began := time.Now()
	var out execResponse
	apiCall(t, srv, "", "POST", "/v1/runs", map[string]any{
		"language": "bash", "timeout_secs": 1,
		"code": "echo before; sleep 60 & sleep 60",
	}).wantJSON(t, http.StatusCreated, &out)
	if !out.TimedOut || out.ExitCode != 137 || out.Stdout != "before\n" {
		t.Fatalf("got %+v, want timed_out exit 137", out)
	}
	if el := time.Since(began); el > 5*time.Second {
		t.Fatalf("took %v", el)
	}
	var page struct {
		Rows []jailRecord `json:"rows"`
	}
	apiCall(t, srv, "", "GET", "/v1/jails", nil).wantJSON(t, 200, &page)
	if len(page.Rows) != 1 || page.Rows[0].Status != "completed" || page.Rows[0].TimedOut == nil || !*page.Rows[0].TimedOut {
		t.Fatalf("ledger = %+v", page.Rows)
	}
}

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

// TestSpawnFailureLedger: a spawn failure is a masked 500 everywhere, but only the run route has
// opened its ledger row by then: the real stream route records its row after the process started.
func TestSpawnFailureLedger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path string
		wantRows   int
	}{
		{name: "run leaves an error row", path: "/v1/runs", wantRows: 1},
		{name: "stream leaves no row", path: "/v1/runs/stream", wantRows: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Start(t)
			s.exec.run.close() // every later spawn fails
			wireDo(t, "POST", s.URL()+tt.path, `{"language":"sh","code":"true"}`).wantError(t, 500, "internal server error")
			var page struct {
				Rows []jailRecord `json:"rows"`
			}
			wireDo(t, "GET", s.URL()+"/v1/jails", "").wantJSON(t, 200, &page)
			if len(page.Rows) != tt.wantRows {
				t.Fatalf("rows %+v, want %d", page.Rows, tt.wantRows)
			}
			if tt.wantRows == 1 && (page.Rows[0].Status != "error" || page.Rows[0].Error == nil) {
				t.Fatalf("row %+v", page.Rows[0])
			}
		})
	}
}
