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
			var out wireExec
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
