//go:build unix

package testserver

import (
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// localGitServer serves a bare repository demo.git (branch main with README, tag v1 with
// VERSION) over HTTPS on loopback through git-http-backend, and makes srv's clones trust it.
func localGitServer(t *testing.T, srv *Server) string {
	t.Helper()
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	execPath, err := exec.Command(gitBin, "--exec-path").Output()
	if err != nil {
		t.Skipf("git --exec-path: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skip("git-http-backend not installed")
	}
	root, work := t.TempDir(), t.TempDir()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(gitBin, append([]string{"-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(work, "init", "-q", ".")
	if err := os.WriteFile(filepath.Join(work, "README"), []byte("hello from git\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(work, "add", "README")
	git(work, "commit", "-q", "-m", "one")
	git(work, "tag", "v1")
	if err := os.WriteFile(filepath.Join(work, "VERSION"), []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(work, "add", "VERSION")
	git(work, "commit", "-q", "-m", "two")
	git(root, "clone", "-q", "--bare", work, "demo.git")

	ts := httptest.NewTLSServer(&cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	})
	t.Cleanup(ts.Close)
	srv.exec.setGitEnv("GIT_SSL_NO_VERIFY=1", "GIT_CONFIG_NOSYSTEM=1")
	return ts.URL + "/demo.git"
}

func TestGitClone(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	repo := localGitServer(t, srv)

	tests := []struct {
		name string
		git  map[string]any
		code string
		want string
	}{
		{name: "single repo, default branch", git: map[string]any{"repo": repo}, code: "cat README VERSION; ls", want: "hello from git\n2\nREADME\nVERSION\nmain.sh\n"},
		{name: "single repo at a tag", git: map[string]any{"repo": repo, "ref": "v1"}, code: "ls", want: "README\nmain.sh\n"},
		{name: "several repos with dirs", git: map[string]any{"repos": []map[string]any{{"repo": repo}, {"repo": repo, "ref": "v1", "dir": "old"}}}, code: "ls; ls old", want: "demo\nmain.sh\nold\nREADME\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out execResponse
			apiCall(t, srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": tt.code, "git": tt.git}).wantJSON(t, 201, &out)
			if out.Stdout != tt.want {
				t.Fatalf("stdout %q, want %q (stderr %q)", out.Stdout, tt.want, out.Stderr)
			}
		})
	}

	t.Run("unknown ref", func(t *testing.T) {
		t.Parallel()
		r := apiCall(t, srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": "true", "git": map[string]any{"repo": repo, "ref": "nope"}})
		if r.status != 400 || !strings.HasPrefix(string(r.body), `{"error":"bad request: git clone failed: `) || strings.Contains(string(r.body), srv.StateDir()) {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})

	t.Run("workspace seed", func(t *testing.T) {
		t.Parallel()
		ws := createWS(t, srv, "", map[string]any{"git": map[string]any{"repo": repo, "ref": "main"}})
		if strOrEmpty(ws.GitRepo) != repo || strOrEmpty(ws.GitRef) != "main" {
			t.Fatalf("git_repo %v git_ref %v", ws.GitRepo, ws.GitRef)
		}
		if out := wsExec(t, srv, "", ws.ID, "/bin/cat", "README"); out.Stdout != "hello from git\n" {
			t.Fatalf("workspace README: %+v", out)
		}
		var page struct {
			Rows []jailRecord `json:"rows"`
		}
		apiCall(t, srv, "", "GET", "/v1/jails?kind=workspace&q="+ws.ID, nil).wantJSON(t, 200, &page)
		// Like the real server, a workspace exec's ledger config carries no git seed.
		if len(page.Rows) != 1 || page.Rows[0].Config.GitRepo != "" || page.Rows[0].Config.GitRef != "" {
			t.Fatalf("ledger %+v", page.Rows)
		}
	})
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

// TestGitSpecValidation covers the git seed's checks, with the real server's texts: one of repo
// and repos; https URLs of at most 512 bytes without credentials; refs; and in the repos form
// each entry's directory, checked before its URL and ref.
func TestGitSpecValidation(t *testing.T) {
	t.Parallel()
	long := "https://example.com/" + strings.Repeat("a", 500)
	checkRejections(t, Start(t), "/v1/runs", []rejection{
		{name: "git both forms", body: `{"code":"x","language":"sh","git":{"repo":"https://a/b","repos":[{"repo":"https://a/c"}]}}`, status: 400, msg: "bad request: git: set either `repo` or `repos`, not both"},
		{name: "git neither", body: `{"code":"x","language":"sh","git":{}}`, status: 400, msg: "bad request: git: provide `repo` or `repos`"},
		{name: "git http", body: `{"code":"x","language":"sh","git":{"repo":"http://a/b"}}`, status: 400, msg: "bad request: git.repo must be https:// (max 512 bytes)"},
		{name: "git too long", body: `{"code":"x","language":"sh","git":{"repo":"` + long + `"}}`, status: 400, msg: "bad request: git.repo must be https:// (max 512 bytes)"},
		{name: "git userinfo", body: `{"code":"x","language":"sh","git":{"repo":"https://u:t@github.com/a/b"}}`, status: 400, msg: "bad request: git.repo must not embed credentials (user:token@host)"},
		{name: "git @ in path is fine until clone", body: `{"code":"x","language":"ruby","git":{"repo":"https://github.com/a@b"}}`, status: 400, msg: "bad request: unsupported language: ruby"},
		{name: "git empty ref", body: `{"code":"x","language":"sh","git":{"repo":"https://a/b","ref":""}}`, status: 400, msg: "bad request: git.ref invalid"},
		{name: "git ref control char", body: `{"code":"x","language":"sh","git":{"repo":"https://a/b","ref":"a\u0001"}}`, status: 400, msg: "bad request: git.ref invalid"},
		{name: "git ref dash", body: `{"code":"x","language":"sh","git":{"repo":"https://a/b","ref":"-x"}}`, status: 400, msg: "bad request: git.ref must not start with `-`"},
		{name: "git repos missing repo", body: `{"code":"x","language":"sh","git":{"repos":[{"ref":"main"}]}}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: git.repos[0]: missing field `repo` at line 1 column 58"},
		{name: "git dir dotdot", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"https://a/b","dir":".."}]}}`, status: 400, msg: `bad request: git.repos.dir invalid: ".."`},
		{name: "git default dir empty", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"https://a/b/"}]}}`, status: 400, msg: `bad request: git.repos.dir invalid: ""`},
		{name: "git dir slash", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"https://a/b","dir":"x/y"}]}}`, status: 400, msg: "bad request: git.repos.dir must not contain slashes or leading `.`: \"x/y\""},
		{name: "git dir leading dot", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"https://a/.hidden"}]}}`, status: 400, msg: "bad request: git.repos.dir must not contain slashes or leading `.`: \".hidden\""},
		{name: "git repos second entry checked", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"https://a/b"},{"repo":"https://a/c","ref":"-r"}]}}`, status: 400, msg: "bad request: git.ref must not start with `-`"},
		{name: "repos, dir checked first: bad dir and bad url", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"http://x/a","dir":".hidden"}]}}`, status: 400, msg: "bad request: git.repos.dir must not contain slashes or leading `.`: \".hidden\""},
		{name: "repos, dir checked first: empty default dir and bad ref", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"https://x/","ref":"-x"}]}}`, status: 400, msg: `bad request: git.repos.dir invalid: ""`},
		{name: "repos, dir checked first: good dir, bad url", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"http://x/a","dir":"a"}]}}`, status: 400, msg: "bad request: git.repo must be https:// (max 512 bytes)"},
		{name: "repos, dir checked first: good dir, bad ref", body: `{"code":"x","language":"sh","git":{"repos":[{"repo":"https://x/a","ref":"-x"}]}}`, status: 400, msg: "bad request: git.ref must not start with `-`"},
	})
}

// Without git on the host, host-mode clones are a 500 and jail-mode clones a 400, and nothing
// is created.
func TestGitMissingOnHost(t *testing.T) {
	t.Parallel()
	const repo = "https://example.invalid/demo.git"
	tests := []struct {
		name   string
		opts   []Option
		path   string
		body   map[string]any
		status int
		msg    string
	}{
		{name: "run (host mode)", path: "/v1/runs", body: map[string]any{"language": "sh", "code": "true", "git": map[string]any{"repo": repo}}, status: 500, msg: "internal server error"},
		{name: "fork (host mode)", path: "/v1/runs/fork", body: map[string]any{"language": "sh", "parent_code": "true", "child_code": "true", "git": map[string]any{"repo": repo}}, status: 500, msg: "internal server error"},
		{name: "workspace (jail mode)", path: "/v1/workspaces", body: map[string]any{"git": map[string]any{"repo": repo}}, status: 400,
			msg: "bad request: git clone failed: exec failed: failed to execute command: No such file or directory (os error 2)"},
		{name: "workspace (host mode)", opts: []Option{WithHostClones()}, path: "/v1/workspaces", body: map[string]any{"git": map[string]any{"repo": repo}}, status: 500, msg: "internal server error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, tt.opts...)
			empty := t.TempDir()
			srv.exec.setGitLocations(empty, filepath.Join(empty, "git"))
			apiCall(t, srv, "", "POST", tt.path, tt.body).wantError(t, tt.status, tt.msg)
			var page struct {
				Total int `json:"total"`
			}
			apiCall(t, srv, "", "GET", "/v1/workspaces", nil).wantJSON(t, 200, &page)
			if page.Total != 0 {
				t.Fatalf("%d workspaces left behind", page.Total)
			}
			if entries, _ := os.ReadDir(filepath.Join(srv.StateDir(), "workspaces")); len(entries) != 0 {
				t.Fatalf("workspace directories left behind: %v", entries)
			}
		})
	}
}
