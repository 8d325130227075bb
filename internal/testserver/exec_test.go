//go:build unix

package testserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// apiCall sends one request to srv with key (none when ""); body is JSON-encoded unless it
// is a string (sent raw) or nil.
func apiCall(t *testing.T, srv *Server, key, method, path string, body any) wireResp {
	t.Helper()
	r, err := apiCallErr(srv, key, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// apiCallErr is apiCall for goroutines other than the test's own.
func apiCallErr(srv *Server, key, method, path string, body any) (wireResp, error) {
	raw, ok := body.(string)
	if !ok && body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return wireResp{}, err
		}
		raw = string(b)
	}
	var opts []wireOpt
	if key != "" {
		opts = append(opts, wireKey(key))
	}
	return wireDoErr(method, srv.URL()+path, raw, opts...)
}

// asyncCall sends a request from another goroutine; receive the result with await.
func asyncCall(srv *Server, key, method, path string, body any) <-chan asyncResult {
	ch := make(chan asyncResult, 1)
	go func() {
		r, err := apiCallErr(srv, key, method, path, body)
		ch <- asyncResult{r, err}
	}()
	return ch
}

type asyncResult struct {
	resp wireResp
	err  error
}

func await(t *testing.T, ch <-chan asyncResult) wireResp {
	t.Helper()
	res := <-ch
	if res.err != nil {
		t.Fatal(res.err)
	}
	return res.resp
}

// wireExec mirrors ExecResponse for decoding in tests.
type wireExec struct {
	Stdout     string         `json:"stdout"`
	Stderr     string         `json:"stderr"`
	ExitCode   int            `json:"exit_code"`
	DurationMs uint64         `json:"duration_ms"`
	TimedOut   bool           `json:"timed_out"`
	OomKilled  bool           `json:"oom_killed"`
	Stats      map[string]any `json:"stats"`
}

// fifoGate is a pair of named pipes a test process uses to say it is running (it writes to up)
// and to wait for the test's permission to finish (it reads go). No sleeps involved.
type fifoGate struct {
	up, goPath string
}

// The pipes live in a host directory srv shares with its jails, at the same path.
func newFifoGate(t *testing.T, srv *Server) fifoGate {
	t.Helper()
	dir := t.TempDir()
	if srv.jail != nil {
		srv.jail.share(dir)
	}
	g := fifoGate{up: filepath.Join(dir, "up"), goPath: filepath.Join(dir, "go")}
	for _, p := range []string{g.up, g.goPath} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// script is the shell code of a gated process.
func (g fifoGate) script() string {
	return fmt.Sprintf("echo up > %s; read x < %s; echo released", g.up, g.goPath)
}

// waitUp blocks until the gated process announced itself. When early is not nil and its request
// finishes first, the test fails with that response instead of hanging.
func (g fifoGate) waitUp(t *testing.T, early <-chan asyncResult) {
	t.Helper()
	type read struct {
		b   []byte
		err error
	}
	got := make(chan read, 1)
	go func() {
		b, err := os.ReadFile(g.up)
		got <- read{b, err}
	}()
	select {
	case r := <-got:
		if r.err != nil || strings.TrimSpace(string(r.b)) != "up" {
			t.Fatalf("gate: %q %v", r.b, r.err)
		}
	case res := <-early:
		// Unblock the reader, which is still waiting for a writer.
		if f, err := os.OpenFile(g.up, os.O_RDWR, 0); err == nil {
			f.Close()
		}
		t.Fatalf("request finished before its process was up: %+v %s", res.err, res.resp.body)
	}
}

// release lets the gated process finish.
func (g fifoGate) release(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(g.goPath, []byte("go\n"), 0o600); err != nil {
		t.Fatalf("gate release: %v", err)
	}
}

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
			var out wireExec
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
	srv := Start(t)
	long := "https://example.com/" + strings.Repeat("a", 500)
	tests := []struct {
		name   string
		body   string
		status int
		msg    string // JSON error message; "" checks only a plain-text prefix
		prefix string
	}{
		{name: "unsupported language", body: `{"code":"x","language":"ruby"}`, status: 400, msg: "bad request: unsupported language: ruby"},
		{name: "missing code", body: `{"language":"bash"}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "network as bare string", body: `{"code":"x","network":"none"}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "unknown network mode", body: `{"code":"x","network":{"mode":"x"}}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: network: unknown variant `x`, expected one of `none`, `loopback`, `allowlist`"},
		{name: "seccomp disabled", body: `{"code":"x","seccomp":"disabled"}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "negative timeout", body: `{"code":"x","timeout_secs":-1}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "empty allowlist", body: `{"code":"x","language":"sh","network":{"mode":"allowlist"}}`, status: 400, msg: "bad request: allowlist must contain at least one domain"},
		{name: "too many domains", body: `{"code":"x","language":"sh","network":{"mode":"allowlist","domains":[` + strings.Repeat(`"a.com",`, 32) + `"b.com"]}}`, status: 400, msg: "bad request: allowlist limited to 32 domains"},
		{name: "domain with space", body: `{"code":"x","language":"sh","network":{"mode":"allowlist","domains":["a b"]}}`, status: 400, msg: `bad request: invalid domain: "a b"`},
		{name: "domain with scheme", body: `{"code":"x","language":"sh","network":{"mode":"allowlist","domains":["https://a.com"]}}`, status: 400, msg: `bad request: domain must not include scheme: "https://a.com"`},
		{name: "git both forms", body: `{"code":"x","language":"sh","git":{"repo":"https://a/b","repos":[{"repo":"https://a/c"}]}}`, status: 400, msg: "bad request: git: set either `repo` or `repos`, not both"},
		{name: "git neither", body: `{"code":"x","language":"sh","git":{}}`, status: 400, msg: "bad request: git: provide `repo` or `repos`"},
		{name: "git http", body: `{"code":"x","language":"sh","git":{"repo":"http://a/b"}}`, status: 400, msg: "bad request: git.repo must be https:// (max 512 bytes)"},
		{name: "git too long", body: `{"code":"x","language":"sh","git":{"repo":"` + long + `"}}`, status: 400, msg: "bad request: git.repo must be https:// (max 512 bytes)"},
		{name: "git userinfo", body: `{"code":"x","language":"sh","git":{"repo":"https://u:t@github.com/a/b"}}`, status: 400, msg: "bad request: git.repo must not embed credentials (user:token@host)"},
		{name: "git @ in path is fine until clone", body: `{"code":"x","language":"ruby","git":{"repo":"https://github.com/a@b"}}`, status: 400, msg: "bad request: unsupported language: ruby"},
		{name: "git empty ref", body: `{"code":"x","language":"sh","git":{"repo":"https://a/b","ref":""}}`, status: 400, msg: "bad request: git.ref invalid"},
		{name: "git ref control char", body: `{"code":"x","language":"sh","git":{"repo":"https://a/b","ref":"a\u0001"}}`, status: 400, msg: "bad request: git.ref invalid"},
		{name: "git ref dash", body: `{"code":"x","language":"sh","git":{"repo":"https://a/b","ref":"-x"}}`, status: 400, msg: "bad request: git.ref must not start with `-`"},
		{name: "git repos missing repo", body: `{"code":"x","language":"sh","git":{"repos":[{"ref":"main"}]}}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "git dir dotdot", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"https://a/b","dir":".."}]}}`, status: 400, msg: `bad request: git.repos.dir invalid: ".."`},
		{name: "git default dir empty", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"https://a/b/"}]}}`, status: 400, msg: `bad request: git.repos.dir invalid: ""`},
		{name: "git dir slash", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"https://a/b","dir":"x/y"}]}}`, status: 400, msg: "bad request: git.repos.dir must not contain slashes or leading `.`: \"x/y\""},
		{name: "git dir leading dot", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"https://a/.hidden"}]}}`, status: 400, msg: "bad request: git.repos.dir must not contain slashes or leading `.`: \".hidden\""},
		{name: "git repos second entry checked", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"https://a/b"},{"repo":"https://a/c","ref":"-r"}]}}`, status: 400, msg: "bad request: git.ref must not start with `-`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := apiCall(t, srv, "", "POST", "/v1/runs", tt.body)
			if tt.msg != "" {
				r.wantError(t, tt.status, tt.msg)
				return
			}
			if r.status != tt.status || !strings.HasPrefix(string(r.body), tt.prefix) {
				t.Fatalf("got %d %s, want %d %s…", r.status, r.body, tt.status, tt.prefix)
			}
		})
	}
}

func TestRunTimeoutKillsGroup(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	began := time.Now()
	var out wireExec
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

func TestRunClamps(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	tests := []struct {
		name string
		body map[string]any
		want jailConfigSnapshot
	}{
		{name: "defaults", body: map[string]any{},
			want: jailConfigSnapshot{NetworkMode: "none", Seccomp: "standard", MemoryMB: 512, TimeoutSecs: 300, CPUPercent: 100, MaxPids: 64}},
		{name: "lower bounds", body: map[string]any{"timeout_secs": 0, "memory_mb": 0, "cpu_percent": 0, "max_pids": 0},
			want: jailConfigSnapshot{NetworkMode: "none", Seccomp: "standard", MemoryMB: 0, TimeoutSecs: 1, CPUPercent: 1, MaxPids: 1}},
		{name: "upper bounds", body: map[string]any{"timeout_secs": 99999, "memory_mb": 99999, "cpu_percent": 9999, "max_pids": 5000, "seccomp": "strict"},
			want: jailConfigSnapshot{NetworkMode: "none", Seccomp: "strict", MemoryMB: 8192, TimeoutSecs: 3600, CPUPercent: 800, MaxPids: 1024}},
		{name: "allowlist recorded", body: map[string]any{"network": map[string]any{"mode": "allowlist", "domains": []string{"api.openai.com"}}},
			want: jailConfigSnapshot{NetworkMode: "allowlist", NetworkDomains: []string{"api.openai.com"}, Seccomp: "standard", MemoryMB: 512, TimeoutSecs: 300, CPUPercent: 100, MaxPids: 64}},
		{name: "loopback", body: map[string]any{"network": map[string]any{"mode": "loopback", "domains": []string{"ignored"}}},
			want: jailConfigSnapshot{NetworkMode: "loopback", Seccomp: "standard", MemoryMB: 512, TimeoutSecs: 300, CPUPercent: 100, MaxPids: 64}},
	}
	t.Run("runs", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				tt.body["code"] = "true"
				tt.body["language"] = "sh"
				apiCall(t, srv, "", "POST", "/v1/runs", tt.body).wantJSON(t, http.StatusCreated, nil)
			})
		}
	})
	// The ledger's config snapshot shows what the server applied.
	var page struct {
		Rows []json.RawMessage `json:"rows"`
	}
	apiCall(t, srv, "", "GET", "/v1/jails", nil).wantJSON(t, 200, &page)
	var got []string
	for _, raw := range page.Rows {
		var row struct {
			Config json.RawMessage `json:"config"`
		}
		_ = json.Unmarshal(raw, &row)
		got = append(got, string(row.Config))
	}
	for _, tt := range tests {
		want, _ := json.Marshal(tt.want)
		found := false
		for _, g := range got {
			found = found || g == string(want)
		}
		if !found {
			t.Errorf("%s: no ledger config %s among %q", tt.name, want, got)
		}
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithMaxConcurrent(1))
	var ws struct {
		ID string `json:"id"`
	}
	apiCall(t, srv, "", "POST", "/v1/workspaces", map[string]any{}).wantJSON(t, 201, &ws)
	gate := newFifoGate(t, srv)
	done := asyncCall(srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": gate.script()})
	gate.waitUp(t, done)
	const msg = "bad request: too many concurrent executions"
	apiCall(t, srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": "true"}).wantError(t, 400, msg)
	apiCall(t, srv, "", "POST", "/v1/runs/stream", map[string]any{"language": "sh", "code": "true"}).wantError(t, 400, msg)
	apiCall(t, srv, "", "POST", "/v1/runs/fork", map[string]any{"language": "sh", "parent_code": "true", "child_code": "true"}).wantError(t, 400, msg)
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/exec", map[string]any{"cmd": "true"}).wantError(t, 400, msg)
	var stats struct {
		Active uint64 `json:"active_execs"`
	}
	apiCall(t, srv, "", "GET", "/v1/stats", nil).wantJSON(t, 200, &stats)
	if stats.Active != 1 {
		t.Errorf("active_execs = %d, want 1", stats.Active)
	}
	gate.release(t)
	var out wireExec
	await(t, done).wantJSON(t, http.StatusCreated, &out)
	if out.Stdout != "released\n" {
		t.Fatalf("held run = %+v", out)
	}
	apiCall(t, srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": "true"}).wantJSON(t, 201, nil)
}

func TestSessionExec(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithCredential("dev", "openai", "sk-real"))
	var sess struct {
		ID string `json:"id"`
	}
	apiCall(t, srv, "", "POST", "/v1/sessions", map[string]any{"services": []string{"openai"}}).wantJSON(t, 201, &sess)
	var out wireExec
	apiCall(t, srv, "", "POST", "/v1/sessions/"+sess.ID+"/exec", map[string]any{
		"cmd": "/bin/sh", "args": []string{"-c", `echo "$OPENAI_API_KEY"; echo "$PATH"`},
	}).wantJSON(t, http.StatusOK, &out)
	lines := strings.Split(out.Stdout, "\n")
	if !strings.HasPrefix(lines[0], "phm_") || lines[1] != jailPath || out.ExitCode != 0 {
		t.Fatalf("got %+v", out)
	}
	// Arguments reach the program as sent, with no shell involved.
	apiCall(t, srv, "", "POST", "/v1/sessions/"+sess.ID+"/exec", map[string]any{"cmd": "/bin/echo", "args": []string{"$HOME", "a b"}}).wantJSON(t, 200, &out)
	if out.Stdout != "$HOME a b\n" {
		t.Fatalf("echo stdout = %q", out.Stdout)
	}
	apiCall(t, srv, "", "POST", "/v1/sessions/sess_000000000000000000000000/exec", map[string]any{"cmd": "true"}).
		wantError(t, 404, "not found: session sess_000000000000000000000000")
	var expired struct {
		ID string `json:"id"`
	}
	apiCall(t, srv, "", "POST", "/v1/sessions", map[string]any{"services": []string{"openai"}, "ttl_secs": 0}).wantJSON(t, 201, &expired)
	apiCall(t, srv, "", "POST", "/v1/sessions/"+expired.ID+"/exec", map[string]any{"cmd": "true"}).
		wantError(t, 400, "bad request: session expired")
	// No PATH lookup: a bare name that is not in /workspace cannot be executed, which is exit
	// code 127, not a server error.
	apiCall(t, srv, "", "POST", "/v1/sessions/"+sess.ID+"/exec", map[string]any{"cmd": "echo"}).wantJSON(t, 200, &out)
	if want := "exec failed: failed to execute command: No such file or directory (os error 2)\n"; out.ExitCode != 127 || out.Stderr != want {
		t.Fatalf("bare echo = %+v, want exit 127 and %q", out, want)
	}

	var page struct {
		Rows []jailRecord `json:"rows"`
	}
	apiCall(t, srv, "", "GET", "/v1/jails?kind=exec", nil).wantJSON(t, 200, &page)
	if len(page.Rows) != 3 || page.Rows[0].Label != "echo" || page.Rows[0].Status != "completed" || page.Rows[1].Label != "/bin/echo" || strOrEmpty(page.Rows[1].SessionID) != sess.ID {
		t.Fatalf("ledger rows = %+v", page.Rows)
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
	var out struct {
		Parent   wireExec   `json:"parent"`
		Child    wireExec   `json:"child"`
		Children []wireExec `json:"children"`
		Fork     forkMeta   `json:"fork"`
		Forks    []forkMeta `json:"forks"`
	}
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

	// One legacy child, and a parent that ends before the fork point.
	apiCall(t, srv, "", "POST", "/v1/runs/fork", map[string]any{
		"language": "sh", "parent_code": "echo p", "child_code": "echo c", "fork_after_ms": 30000,
	}).wantJSON(t, http.StatusCreated, &out)
	if out.Child.Stdout != "c\n" || out.Fork.WasFrozen || len(out.Children) != 1 {
		t.Fatalf("legacy fork = %+v", out)
	}
	apiCall(t, srv, "", "GET", "/v1/jails?kind=fork&q=child", nil).wantJSON(t, 200, &page)
	if len(page.Rows) != 4 || page.Rows[0].Label != "sh · child" {
		t.Fatalf("rows %+v", page.Rows)
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

func TestJailLedger(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAPIKeys("adm@acme:admin", "op@acme:operator", "other@beta:operator"))
	for _, c := range []struct{ key, lang, code string }{
		{"op", "sh", "echo one"},
		{"op", "bash", "exit 2"},
		{"other", "sh", "echo Needle"},
	} {
		apiCall(t, srv, c.key, "POST", "/v1/runs", map[string]any{"language": c.lang, "code": c.code}).wantJSON(t, 201, nil)
	}
	type page struct {
		Rows   []jailRecord `json:"rows"`
		Total  uint64       `json:"total"`
		Limit  uint64       `json:"limit"`
		Offset uint64       `json:"offset"`
	}
	tests := []struct {
		name      string
		key, q    string
		wantIDs   []int64
		wantTotal uint64
		wantLimit uint64
	}{
		{name: "admin sees all newest first", key: "adm", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 50},
		{name: "operator sees own tenant", key: "op", wantIDs: []int64{1, 0}, wantTotal: 2, wantLimit: 50},
		{name: "other tenant", key: "other", wantIDs: []int64{2}, wantTotal: 1, wantLimit: 50},
		{name: "limit and offset", key: "adm", q: "?limit=1&offset=1", wantIDs: []int64{1}, wantTotal: 3, wantLimit: 1},
		{name: "limit 0 echoed, one row returned", key: "adm", q: "?limit=0", wantIDs: []int64{2}, wantTotal: 3, wantLimit: 0},
		{name: "limit above 500 echoed clamped", key: "adm", q: "?limit=900", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 500},
		{name: "offset past end", key: "adm", q: "?offset=10", wantIDs: nil, wantTotal: 3, wantLimit: 50},
		{name: "kind filter", key: "adm", q: "?kind=run", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 50},
		{name: "kind filter without match", key: "adm", q: "?kind=fork", wantIDs: nil, wantTotal: 0, wantLimit: 50},
		{name: "unknown kind ignored", key: "adm", q: "?kind=nope", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 50},
		{name: "status filter", key: "adm", q: "?status=completed", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 50},
		{name: "status error", key: "adm", q: "?status=error", wantIDs: nil, wantTotal: 0, wantLimit: 50},
		{name: "unknown status ignored", key: "adm", q: "?status=bogus", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 50},
		{name: "q on label, case-insensitive", key: "adm", q: "?q=BASH", wantIDs: []int64{1}, wantTotal: 1, wantLimit: 50},
		{name: "blank q is no filter", key: "adm", q: "?q=%20%20", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p page
			apiCall(t, srv, tt.key, "GET", "/v1/jails"+tt.q, nil).wantJSON(t, 200, &p)
			var ids []int64
			for _, r := range p.Rows {
				ids = append(ids, r.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.wantIDs) || p.Total != tt.wantTotal || p.Limit != tt.wantLimit {
				t.Fatalf("ids %v total %d limit %d, want %v %d %d", ids, p.Total, p.Limit, tt.wantIDs, tt.wantTotal, tt.wantLimit)
			}
		})
	}

	var rec map[string]any
	apiCall(t, srv, "op", "GET", "/v1/jails/1", nil).wantJSON(t, 200, &rec)
	if rec["exit_code"] != float64(2) || rec["label"] != "bash" || rec["kind"] != "run" || rec["session_id"] != nil || rec["stdout"] != "" {
		t.Fatalf("jail 1 = %v", rec)
	}
	cfg, _ := rec["config"].(map[string]any)
	if _, ok := cfg["network_domains"]; ok || cfg["git_repo"] != nil {
		t.Fatalf("config keys not omitted: %v", cfg)
	}
	for _, k := range []string{"ended_at", "duration_ms", "memory_peak_bytes", "parent_id", "error", "timed_out"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	apiCall(t, srv, "op", "GET", "/v1/jails/2", nil).wantError(t, 404, "not found: jail 2")
	apiCall(t, srv, "op", "GET", "/v1/jails/99", nil).wantError(t, 404, "not found: jail 99")
	apiCall(t, srv, "op", "GET", "/v1/jails/abc", nil).wantError(t, 400, "bad request: invalid id")
	if r := apiCall(t, srv, "op", "GET", "/v1/jails?limit=abc", nil); r.status != 400 || !strings.HasPrefix(string(r.body), "Failed to deserialize query string: ") {
		t.Fatalf("limit=abc: %d %s", r.status, r.body)
	}
}

func TestLedgerTextCap(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", ledgerCap) // 2 bytes each
	got := *ledgerText(long)
	if !strings.HasSuffix(got, "… (truncated)") || len(got) != ledgerCap+len("… (truncated)") {
		t.Fatalf("len %d suffix %q", len(got), tail(got))
	}
	if s := *ledgerText("short"); s != "short" {
		t.Fatalf("short = %q", s)
	}
}

func TestGitCloneFailure(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	srv := Start(t)
	// Port 1 on loopback refuses the connection at once: no traffic leaves the machine.
	for _, path := range []string{"/v1/runs", "/v1/workspaces"} {
		r := apiCall(t, srv, "", "POST", path, map[string]any{"code": "true", "language": "sh", "git": map[string]any{"repo": "https://127.0.0.1:1/nope.git", "ref": "main"}})
		var body struct {
			Error string `json:"error"`
		}
		r.wantJSON(t, 400, &body)
		if !strings.HasPrefix(body.Error, "bad request: git clone failed: ") || strings.Count(body.Error, " · ") > 2 || strings.Contains(body.Error, srv.StateDir()) {
			t.Fatalf("%s: %q", path, body.Error)
		}
	}
	// The failed workspace left nothing behind.
	entries, _ := os.ReadDir(filepath.Join(srv.StateDir(), "workspaces"))
	if len(entries) != 0 {
		t.Fatalf("workspace dirs left: %v", entries)
	}
}

// Close kills what is still running; the in-flight request still gets its answer.
func TestCloseKillsRunningExecs(t *testing.T) {
	t.Parallel()
	srv, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	gate := newFifoGate(t, srv)
	done := asyncCall(srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": gate.script()})
	gate.waitUp(t, done)
	state := srv.StateDir()
	if err := srv.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	var out wireExec
	await(t, done).wantJSON(t, http.StatusCreated, &out)
	if out.ExitCode != 137 || out.TimedOut {
		t.Fatalf("killed run = %+v", out)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("state dir left behind: %v", err)
	}
}
