//go:build unix

package testserver

import (
	"net/http"
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
		"code": "echo before; sleep 120 & sleep 120",
	}).wantJSON(t, http.StatusCreated, &out)
	if !out.TimedOut || out.ExitCode != 137 || out.Stdout != "before\n" {
		t.Fatalf("got %+v, want timed_out exit 137", out)
	}
	// Far below the sleeps, so only a group left running can exceed it, however loaded the host.
	if el := time.Since(began); el > time.Minute {
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
