package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/internal/testserver"
)

func TestSessionCreateEnv(t *testing.T) {
	t.Parallel()
	srv, client := newServer(t, testserver.WithCredential("dev", "openai", "sk-real"),
		testserver.WithCredential("dev", "github", "ghp-real"))
	r := runCLI(t, srv.URL(), "", "session", "create", "-service", "openai", "-service", "github",
		"-scope", "github=/repos/acme/*", "-ttl", "1h")
	sessions, err := client.Sessions.List(context.Background())
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions: %+v, %v", sessions, err)
	}
	s := sessions[0]
	want := fmt.Sprintf("export GITHUB_API_URL='%s'\nexport GITHUB_TOKEN='%s'\nexport OPENAI_API_KEY='%s'\nexport OPENAI_BASE_URL='%s'\nexport AGENTJAIL_SESSION_ID='%s'\n",
		s.Env["GITHUB_API_URL"], s.Env["GITHUB_TOKEN"], s.Env["OPENAI_API_KEY"], s.Env["OPENAI_BASE_URL"], s.ID)
	if len(s.Env) != 4 {
		t.Fatalf("the session's env is %v; the expected output assumes four variables", s.Env)
	}
	r.check(t, 0, want, "")
	if s.ExpiresAt == nil || s.ExpiresAt.Sub(s.CreatedAt) != time.Hour {
		t.Errorf("-ttl 1h made a session expiring at %v (created %v)", s.ExpiresAt, s.CreatedAt)
	}

	// What eval "$(agentjail session create …)" sets in a real shell.
	sh := exec.Command("sh", "-c", `eval "$(cat)"; printf '%s %s' "$OPENAI_API_KEY" "$AGENTJAIL_SESSION_ID"`)
	sh.Stdin = strings.NewReader(r.stdout)
	out, err := sh.Output()
	if err != nil || string(out) != s.Env["OPENAI_API_KEY"]+" "+s.ID {
		t.Errorf("eval of the output gave %q (%v)", out, err)
	}
}

func TestSessionCreateJSON(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, testserver.WithCredential("dev", "openai", "sk-real"))
	r := runCLI(t, srv.URL(), "", "session", "create", "-service", "openai", "-format", "json")
	var s agentjail.Session
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || r.code != 0 || !strings.HasPrefix(s.ID, "sess_") ||
		s.Env["OPENAI_API_KEY"] == "" || s.ExpiresAt != nil {
		t.Errorf("exit %d, stdout %q (%v)", r.code, r.stdout, err)
	}
	// A service without a stored credential is the server's error.
	runCLI(t, srv.URL(), "", "session", "create", "-service", "stripe").check(t, 1, "",
		"agentjail: 400: bad request: no credential configured for service stripe (tenant dev)\n")
}

func TestWriteExports(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	s := &agentjail.Session{ID: "sess_1", Env: map[string]string{"B": "it's $HOME `x`", "A_1": ""}}
	if err := writeExports(&out, s); err != nil {
		t.Fatal(err)
	}
	want := "export A_1=''\nexport B='it'\\''s $HOME `x`'\nexport AGENTJAIL_SESSION_ID='sess_1'\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	for _, name := range []string{"", "1X", "X-Y", "X;rm -rf /", "É"} {
		out.Reset()
		err := writeExports(&out, &agentjail.Session{ID: "sess_1", Env: map[string]string{name: "v"}})
		if err == nil || out.Len() != 0 {
			t.Errorf("variable name %q: printed %q, err %v; want nothing printed and an error", name, out.String(), err)
		}
	}
}

func TestSessionListExecClose(t *testing.T) {
	t.Parallel()
	srv, client := newServer(t, testserver.WithCredential("dev", "openai", "sk-real"))
	ctx := context.Background()
	url := srv.URL()
	runCLI(t, url, "", "session", "list").check(t, 0, "ID   SERVICES   CREATED   EXPIRES\n", "")
	s, err := client.Sessions.Create(ctx, agentjail.SessionCreateParams{Services: []agentjail.Service{agentjail.ServiceOpenAI}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	want := aligned([]string{"ID", "SERVICES", "CREATED", "EXPIRES"}, []string{s.ID, "openai", rfc(s.CreatedAt), rfc(*s.ExpiresAt)})
	runCLI(t, url, "", "session", "ls").check(t, 0, want, "")

	runCLI(t, url, "", "session", "exec", s.ID, "--", "/bin/sh", "-c", `printf '%s' "$OPENAI_API_KEY"; echo ' err' >&2; exit 9`).
		check(t, 9, s.Env["OPENAI_API_KEY"], " err\n")
	runCLI(t, url, "", "session", "exec", "-timeout", "1s", s.ID, "--", "/bin/sleep", "60").check(t, 124, "", "")

	runCLI(t, url, "", "session", "close", s.ID).check(t, 0, "", "")
	runCLI(t, url, "", "session", "list", "-json").check(t, 0, "[]\n", "")
	runCLI(t, url, "", "session", "close", s.ID).check(t, 1, "", "agentjail: 404: not found: session "+s.ID+"\n")
}
