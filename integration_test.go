package agentjail_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/internal/testserver"
)

// upstream is a stand-in for api.openai.com and friends that records what the phantom
// proxy forwarded.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
	path []string
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.path = append(u.path, r.URL.Path)
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last(t *testing.T) (http.Header, string) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		t.Fatal("the upstream saw no request")
	}
	return u.seen[len(u.seen)-1], u.path[len(u.path)-1]
}

// stack is the fake control plane, its upstreams and an SDK client for one tenant.
type stack struct {
	srv      *testserver.Server
	openai   *upstream
	anthropi *upstream
	client   *agentjail.Client
}

const (
	adminKey    = "adm_token"
	operatorKey = "op_token"
	otherKey    = "other_token"
)

func newStack(t *testing.T) *stack {
	t.Helper()
	st := &stack{openai: newUpstream(t), anthropi: newUpstream(t)}
	st.srv = testserver.Start(t,
		testserver.WithAPIKeys(adminKey+"@dev:admin", operatorKey+"@acme:operator", otherKey+"@globex:operator"),
		testserver.WithCredential("acme", "openai", "sk-real-openai"),
		testserver.WithCredential("acme", "anthropic", "sk-ant-real"),
		testserver.WithUpstream("openai", st.openai.URL),
		testserver.WithUpstream("anthropic", st.anthropi.URL),
	)
	st.client = st.clientFor(t, operatorKey)
	return st
}

func (st *stack) clientFor(t *testing.T, key string) *agentjail.Client {
	t.Helper()
	c, err := agentjail.NewClient(st.srv.URL(), agentjail.WithAPIKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// proxyCall calls the phantom proxy the way a sandbox would.
func proxyCall(t *testing.T, method, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(`{"model":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func need(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s not installed", b)
		}
	}
}

// TestIntegrationUpstreamFlows ports the TypeScript integration suite (UPSTREAM.md §2,
// flows 1–14) onto the SDK and the fake, with the proxy wired to a local upstream so
// the key swap is really observed.
func TestIntegrationUpstreamFlows(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	c := st.client
	ctx := context.Background()

	// 1. health
	if h, err := c.Public.Health(ctx); err != nil || h != "ok" {
		t.Fatalf("health %q %v", h, err)
	}
	// 2–4. create, list, get
	sess, err := c.Sessions.Create(ctx, agentjail.SessionCreateParams{Services: []agentjail.Service{agentjail.ServiceOpenAI}})
	if err != nil {
		t.Fatal(err)
	}
	token := sess.Env["OPENAI_API_KEY"]
	if !strings.HasPrefix(sess.ID, "sess_") || !reflect.DeepEqual(sess.Services, []agentjail.Service{"openai"}) ||
		!strings.HasPrefix(token, "phm_") || !strings.HasPrefix(sess.Env["OPENAI_BASE_URL"], st.srv.ProxyURL()) {
		t.Fatalf("session %+v", sess)
	}
	if list, err := c.Sessions.List(ctx); err != nil || len(list) < 1 {
		t.Fatalf("list %v %v", list, err)
	}
	got, err := c.Sessions.Get(ctx, sess.ID)
	if err != nil || got.ID != sess.ID || got.Env["OPENAI_API_KEY"] != token {
		t.Fatalf("get %+v %v", got, err)
	}
	// 5. the proxy swaps the phantom token for the real key, and audits it
	if code := proxyCall(t, "POST", sess.Env["OPENAI_BASE_URL"]+"/chat/completions", token); code != 200 {
		t.Fatalf("proxy status %d", code)
	}
	hdr, path := st.openai.last(t)
	if hdr.Get("Authorization") != "Bearer sk-real-openai" || strings.Contains(strings.Join(hdr.Values("Authorization"), ""), "phm_") ||
		path != "/v1/chat/completions" {
		t.Fatalf("upstream saw Authorization %q path %q", hdr.Get("Authorization"), path)
	}
	audit, err := c.Audit.Recent(ctx, 10)
	if err != nil || audit.Total == 0 || len(audit.Rows) == 0 || audit.Rows[0].Service != "openai" ||
		audit.Rows[0].SessionID != sess.ID || audit.Rows[0].Status != 200 || audit.Rows[0].RejectReason != nil || audit.Rows[0].UpstreamMS == nil {
		t.Fatalf("audit %+v %v", audit, err)
	}
	// 6–7. closing revokes the token
	if err := c.Sessions.Close(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if code := proxyCall(t, "POST", sess.Env["OPENAI_BASE_URL"]+"/chat/completions", token); code != 401 {
		t.Fatalf("revoked token got %d, want 401", code)
	}
	if _, err := c.Sessions.Get(ctx, sess.ID); !errors.Is(err, agentjail.ErrNotFound) {
		t.Fatalf("get after close: %v", err)
	}
	if err := c.Sessions.Close(ctx, sess.ID); !errors.Is(err, agentjail.ErrNotFound) {
		t.Fatalf("second close: %v", err)
	}
	// 8. credential CRUD
	cred, err := c.Credentials.Put(ctx, agentjail.CredentialPutParams{Service: agentjail.ServiceStripe, Secret: "sk_live_x"})
	if err != nil || cred.Service != agentjail.ServiceStripe || len(cred.Fingerprint) != 16 || cred.TenantID != "acme" {
		t.Fatalf("put %+v %v", cred, err)
	}
	creds, err := c.Credentials.List(ctx)
	if err != nil || len(creds) != 1 || creds[0].Service != agentjail.ServiceStripe {
		t.Fatalf("list %+v %v", creds, err)
	}
	if err := c.Credentials.Delete(ctx, agentjail.ServiceStripe); err != nil {
		t.Fatal(err)
	}
	if creds, _ := c.Credentials.List(ctx); len(creds) != 0 {
		t.Fatalf("after delete: %+v", creds)
	}
	if err := c.Credentials.Delete(ctx, agentjail.ServiceStripe); !errors.Is(err, agentjail.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// 9. two services, two tokens; anthropic gets x-api-key
	two, err := c.Sessions.Create(ctx, agentjail.SessionCreateParams{Services: []agentjail.Service{agentjail.ServiceOpenAI, agentjail.ServiceAnthropic}})
	if err != nil {
		t.Fatal(err)
	}
	if two.Env["OPENAI_API_KEY"] == two.Env["ANTHROPIC_API_KEY"] || !strings.Contains(two.Env["OPENAI_BASE_URL"], "/v1/openai") ||
		!strings.Contains(two.Env["ANTHROPIC_BASE_URL"], "/v1/anthropic") {
		t.Fatalf("two-service env %v", two.Env)
	}
	if code := proxyCall(t, "POST", two.Env["ANTHROPIC_BASE_URL"]+"/v1/messages", two.Env["ANTHROPIC_API_KEY"]); code != 200 {
		t.Fatalf("anthropic proxy %d", code)
	}
	if hdr, _ := st.anthropi.last(t); hdr.Get("X-Api-Key") != "sk-ant-real" || hdr.Get("Anthropic-Version") != "2023-06-01" || hdr.Get("Authorization") != "" {
		t.Fatalf("anthropic upstream headers %v", hdr)
	}
	defer c.Sessions.Close(ctx, two.ID)
	// 10. audit without a limit
	if a, err := c.Audit.Recent(ctx, 0); err != nil || a.Total == 0 || a.Rows[0].Method == "" || a.Rows[0].Status == 0 {
		t.Fatalf("audit %+v %v", a, err)
	}

	need(t, "sh")
	// 11–12. session exec, with the phantom env injected
	res, err := c.Sessions.Exec(ctx, two.ID, agentjail.SessionExecParams{Cmd: "/bin/sh", Args: []string{"-c", "echo hello-from-sdk"}})
	if err != nil || res.ExitCode != 0 || !strings.Contains(res.Stdout, "hello-from-sdk") || res.TimedOut || res.OOMKilled || res.DurationMS <= 0 {
		t.Fatalf("exec %+v %v", res, err)
	}
	res, err = c.Sessions.Exec(ctx, two.ID, agentjail.SessionExecParams{Cmd: "/bin/sh", Args: []string{"-c", "echo $OPENAI_API_KEY"}})
	if err != nil || !strings.HasPrefix(res.Stdout, "phm_") {
		t.Fatalf("exec env %+v %v", res, err)
	}
	// 13–14. runs, and a timeout
	res, err = c.Runs.Create(ctx, agentjail.RunParams{Code: "echo run-from-sdk", Language: agentjail.LanguageBash})
	if err != nil || res.ExitCode != 0 || !strings.Contains(res.Stdout, "run-from-sdk") {
		t.Fatalf("run %+v %v", res, err)
	}
	res, err = c.Runs.Create(ctx, agentjail.RunParams{Code: "sleep 60", Language: agentjail.LanguageBash, Timeout: time.Second})
	if err != nil || !res.TimedOut || res.ExitCode != 137 {
		t.Fatalf("timeout run %+v %v", res, err)
	}
}

// TestIntegrationTenancyAndScopes checks roles, cross-tenant isolation, scope denial and
// the admin-only routes.
func TestIntegrationTenancyAndScopes(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	ctx := context.Background()
	acme, globex, admin := st.client, st.clientFor(t, otherKey), st.clientFor(t, adminKey)

	for _, tc := range []struct {
		c    *agentjail.Client
		want agentjail.Identity
	}{{acme, agentjail.Identity{Tenant: "acme", Role: agentjail.RoleOperator}}, {admin, agentjail.Identity{Tenant: "dev", Role: agentjail.RoleAdmin}}} {
		if id, err := tc.c.Settings.Whoami(ctx); err != nil || *id != tc.want {
			t.Fatalf("whoami %+v %v", id, err)
		}
	}
	bad, err := agentjail.NewClient(st.srv.URL(), agentjail.WithAPIKey("nope"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Settings.Whoami(ctx); !errors.Is(err, agentjail.ErrUnauthorized) || err.Error() != "agentjail 401: invalid api key" {
		t.Fatalf("bad key: %v", err)
	}
	anon, err := agentjail.NewClient(st.srv.URL(), agentjail.WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Sessions.List(ctx); err == nil || err.Error() != "agentjail 401: missing api key" {
		t.Fatalf("no key: %v", err)
	}
	if _, err := anon.Public.Stats(ctx); err != nil {
		t.Fatalf("stats is public: %v", err)
	}

	// A scoped session: only /v1/models/* may pass the proxy.
	sess, err := acme.Sessions.Create(ctx, agentjail.SessionCreateParams{Services: []agentjail.Service{agentjail.ServiceOpenAI},
		Scopes: map[agentjail.Service][]string{agentjail.ServiceOpenAI: {"/v1/models/*"}}, TTL: time.Hour})
	if err != nil || sess.ExpiresAt == nil {
		t.Fatalf("scoped session %+v %v", sess, err)
	}
	base, token := sess.Env["OPENAI_BASE_URL"], sess.Env["OPENAI_API_KEY"]
	if code := proxyCall(t, "GET", base+"/models/gpt", token); code != 200 {
		t.Fatalf("in scope: %d", code)
	}
	if code := proxyCall(t, "POST", base+"/chat/completions", token); code != 403 {
		t.Fatalf("out of scope: %d", code)
	}
	rows, err := acme.Audit.Recent(ctx, 5)
	if err != nil || rows.Rows[0].RejectReason == nil || *rows.Rows[0].RejectReason != "scope_denied" {
		t.Fatalf("audit %+v %v", rows, err)
	}
	// globex has no openai credential; it cannot see acme's session.
	if _, err := globex.Sessions.Create(ctx, agentjail.SessionCreateParams{Services: []agentjail.Service{agentjail.ServiceOpenAI}}); !errors.Is(err, agentjail.ErrBadRequest) ||
		!strings.Contains(err.Error(), "no credential configured for service openai") {
		t.Fatalf("globex create: %v", err)
	}
	if _, err := globex.Sessions.Get(ctx, sess.ID); !errors.Is(err, agentjail.ErrNotFound) {
		t.Fatalf("cross-tenant get: %v", err)
	}
	if list, _ := globex.Sessions.List(ctx); len(list) != 0 {
		t.Fatalf("globex sees %d sessions", len(list))
	}
	if _, err := admin.Sessions.Get(ctx, sess.ID); err != nil {
		t.Fatalf("admin sees every tenant: %v", err)
	}
	// Admin tenant targeting on credentials.
	if _, err := admin.Credentials.ForTenant("globex").Put(ctx, agentjail.CredentialPutParams{Service: agentjail.ServiceGitHub, Secret: "ghp_x"}); err != nil {
		t.Fatal(err)
	}
	if l, err := globex.Credentials.List(ctx); err != nil || len(l) != 1 || l[0].TenantID != "globex" {
		t.Fatalf("globex credentials %+v %v", l, err)
	}
	if l, err := admin.Credentials.ForTenant("acme").List(ctx); err != nil || len(l) != 0 {
		t.Fatalf("admin filtered list %+v %v", l, err)
	}
	if err := acme.Credentials.ForTenant("globex").Delete(ctx, agentjail.ServiceGitHub); !errors.Is(err, agentjail.ErrNotFound) {
		t.Fatalf("operator targeting another tenant: %v", err)
	}
	// Settings: operators get host paths left out.
	opCfg, err := acme.Settings.Get(ctx)
	if err != nil || opCfg.Persistence.StateDir != nil || opCfg.Gateway != nil || opCfg.Exec == nil {
		t.Fatalf("operator config %+v %v", opCfg, err)
	}
	adCfg, err := admin.Settings.Get(ctx)
	if err != nil || adCfg.Persistence.StateDir == nil {
		t.Fatalf("admin config %+v %v", adCfg, err)
	}
	if f, err := acme.Settings.Flavors(ctx); err != nil || f == nil {
		t.Fatalf("flavors %v %v", f, err)
	}
}

// TestIntegrationWorkspaceScenario is UPSTREAM.md scenario E: exec, snapshot, break,
// restore, fork three ways, and show the forks are independent.
func TestIntegrationWorkspaceScenario(t *testing.T) {
	t.Parallel()
	need(t, "sh")
	st := newStack(t)
	c := st.client
	ctx := context.Background()
	sh := func(ws, script string) *agentjail.ExecResult {
		t.Helper()
		res, err := c.Workspaces.Exec(ctx, ws, agentjail.WorkspaceExecParams{Cmd: "/bin/sh", Args: []string{"-c", script}})
		if err != nil {
			t.Fatalf("exec %q: %v", script, err)
		}
		return res
	}

	ws, err := c.Workspaces.Create(ctx, agentjail.WorkspaceCreateParams{MemoryMB: 256, Timeout: 30 * time.Second, Label: "e2e"})
	if err != nil || !strings.HasPrefix(ws.ID, "wrk_") || ws.Label != "e2e" || ws.Config.TimeoutSecs != 30 || ws.SourceDir != "" {
		t.Fatalf("create %+v %v", ws, err)
	}
	if out := sh(ws.ID, "echo baseline > marker.txt && cat marker.txt").Stdout; strings.TrimSpace(out) != "baseline" {
		t.Fatalf("marker %q", out)
	}
	snap, err := c.Snapshots.Create(ctx, ws.ID, agentjail.SnapshotCreateParams{Name: "baseline"})
	if err != nil || snap.SizeBytes <= 0 || snap.WorkspaceID != ws.ID {
		t.Fatalf("snapshot %+v %v", snap, err)
	}
	if out := sh(ws.ID, "rm marker.txt; ls | wc -l").Stdout; strings.TrimSpace(out) != "0" {
		t.Fatalf("after rm: %q", out)
	}
	restored, err := c.Snapshots.CreateWorkspaceFrom(ctx, snap.ID, agentjail.CreateWorkspaceFromParams{ParentWorkspaceID: ws.ID, Label: "restored"})
	if err != nil || restored.Label != "restored" || restored.Config.TimeoutSecs != 30 {
		t.Fatalf("restore %+v %v", restored, err)
	}
	if out := sh(restored.ID, "cat marker.txt").Stdout; strings.TrimSpace(out) != "baseline" {
		t.Fatalf("restored marker %q", out)
	}
	forked, err := c.Workspaces.Fork(ctx, restored.ID, agentjail.WorkspaceForkParams{Count: 3, Label: "agents"})
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
			res, err := c.Workspaces.Exec(ctx, f.ID, agentjail.WorkspaceExecParams{Cmd: "/bin/cat", Args: []string{"marker.txt"}})
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
	jails, err := c.Jails.List(ctx, agentjail.JailListParams{Kind: agentjail.JailKindWorkspace, Query: "workspace:" + ws.ID})
	if err != nil || jails.Total != 2 || jails.Rows[0].Status != agentjail.JailCompleted {
		t.Fatalf("jails %+v %v", jails, err)
	}
	j, err := c.Jails.Get(ctx, jails.Rows[0].ID)
	if err != nil || j.Label != "workspace:"+ws.ID+"/"+"/bin/sh" || j.ExitCode == nil {
		t.Fatalf("jail %+v %v", j, err)
	}
	n := 0
	for w, err := range c.Workspaces.All(ctx, agentjail.WorkspaceListParams{Limit: 2}) {
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
	renamed, err := c.Workspaces.Update(ctx, ws.ID, agentjail.WorkspaceUpdateParams{Label: "  renamed  "})
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
		if err := c.Snapshots.Delete(ctx, id); !errors.Is(err, agentjail.ErrNotFound) {
			t.Fatalf("second snapshot delete: %v", err)
		}
	}
	for _, id := range []string{restored.ID, ws.ID} {
		if err := c.Workspaces.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Workspaces.Get(ctx, ws.ID); !errors.Is(err, agentjail.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
}

// TestIntegrationConflictAndBadInput covers 409 on a busy workspace and the server's
// validation errors coming back through the SDK.
func TestIntegrationConflictAndBadInput(t *testing.T) {
	t.Parallel()
	need(t, "sh", "mkfifo")
	st := newStack(t)
	c := st.client
	ctx := context.Background()

	// An admin sees the workspace's host directory, so the test can hold an exec open on
	// a fifo and release it from outside.
	admin := st.clientFor(t, adminKey)
	ws, err := admin.Workspaces.Create(ctx, agentjail.WorkspaceCreateParams{})
	if err != nil || ws.SourceDir == "" {
		t.Fatalf("admin create %+v %v", ws, err)
	}
	gate := filepath.Join(ws.SourceDir, "gate")
	if err := exec.Command("mkfifo", gate).Run(); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		_, err := admin.Workspaces.Exec(ctx, ws.ID, agentjail.WorkspaceExecParams{Cmd: "/bin/sh", Args: []string{"-c", "cat gate"}})
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
	_, conflict := admin.Workspaces.Exec(ctx, ws.ID, agentjail.WorkspaceExecParams{Cmd: "/bin/true"})
	if !errors.Is(conflict, agentjail.ErrConflict) || conflict.Error() != "agentjail 409: conflict: another exec is in flight against this workspace" {
		t.Fatalf("concurrent exec: %v", conflict)
	}
	_, _ = w.WriteString("done\n")
	w.Close()
	if err := <-first; err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		call func() error
		is   error
		msg  string
	}{
		{"unsupported language", func() error {
			_, err := c.Runs.Create(ctx, agentjail.RunParams{Code: "x", Language: "cobol"})
			return err
		}, agentjail.ErrBadRequest, "agentjail 400: bad request: unsupported language: cobol"},
		{"no services", func() error {
			_, err := c.Sessions.Create(ctx, agentjail.SessionCreateParams{})
			return err
		}, agentjail.ErrBadRequest, "agentjail 400: bad request: services must contain at least one entry"},
		{"empty secret", func() error {
			_, err := c.Credentials.Put(ctx, agentjail.CredentialPutParams{Service: agentjail.ServiceOpenAI, Secret: "  "})
			return err
		}, agentjail.ErrBadRequest, "agentjail 400: bad request: secret must be non-empty"},
		{"unknown workspace", func() error {
			_, err := c.Workspaces.Get(ctx, "wrk_missing")
			return err
		}, agentjail.ErrNotFound, "agentjail 404: not found: workspace wrk_missing"},
		{"restore without the right parent", func() error {
			_, err := c.Snapshots.CreateWorkspaceFrom(ctx, "snap_missing", agentjail.CreateWorkspaceFromParams{ParentWorkspaceID: ws.ID})
			return err
		}, agentjail.ErrNotFound, "agentjail 404: not found: snapshot snap_missing"},
		{"empty allowlist", func() error {
			_, err := c.Runs.Create(ctx, agentjail.RunParams{Code: "1", ExecOptions: agentjail.ExecOptions{Network: agentjail.NetworkAllowlist()}})
			return err
		}, agentjail.ErrBadRequest, "agentjail 400: bad request: allowlist must contain at least one domain"},
		{"http git repo", func() error {
			_, err := c.Runs.Create(ctx, agentjail.RunParams{Code: "1", Git: &agentjail.GitSeed{Repo: "http://x/y"}})
			return err
		}, agentjail.ErrBadRequest, "agentjail 400: bad request: git.repo must be https:// (max 512 bytes)"},
		{"jail id not found", func() error {
			_, err := c.Jails.Get(ctx, 1<<40)
			return err
		}, agentjail.ErrNotFound, "agentjail 404: not found: jail 1099511627776"},
	}
	for _, tc := range cases {
		err := tc.call()
		if !errors.Is(err, tc.is) || err.Error() != tc.msg {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.msg)
		}
	}
}

// TestIntegrationStreamAndFork runs real processes through Runs.Stream and Runs.Fork.
func TestIntegrationStreamAndFork(t *testing.T) {
	t.Parallel()
	need(t, "sh")
	st := newStack(t)
	c := st.client
	ctx := context.Background()

	s, err := c.Runs.Stream(ctx, agentjail.RunParams{Language: agentjail.LanguageBash,
		Code: "echo top; echo '    indented'; printf '\\tTab\\n'; echo; echo oops >&2; exit 3"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr []string
	var done *agentjail.CompletedEvent
	started := false
	for ev, err := range s.All() {
		if err != nil {
			t.Fatal(err)
		}
		switch ev := ev.(type) {
		case agentjail.StartedEvent:
			started = ev.PID > 0
		case agentjail.StdoutEvent:
			stdout = append(stdout, ev.Line)
		case agentjail.StderrEvent:
			stderr = append(stderr, ev.Line)
		case agentjail.CompletedEvent:
			done = &ev
		}
	}
	if !started || !reflect.DeepEqual(stdout, []string{"top", "    indented", "\tTab", ""}) || !reflect.DeepEqual(stderr, []string{"oops"}) ||
		done == nil || done.ExitCode != 3 {
		t.Fatalf("started %v stdout %q stderr %q done %+v", started, stdout, stderr, done)
	}

	// Each child starts from a copy of the parent's /output, which only a jail has.
	res, err := c.Runs.Fork(ctx, agentjail.ForkParams{Language: agentjail.LanguageBash, ForkAfter: 300 * time.Millisecond,
		ParentCode: "echo checkpoint > /output/state.txt; sleep 1; echo parent-done",
		Children:   []agentjail.ForkChild{{Code: "echo child-a $(cat /output/state.txt)"}, {Code: "echo child-b $(cat /output/state.txt)"}}})
	if err != nil {
		t.Fatal(err)
	}
	jailed := st.srv.Isolation() == testserver.IsolationNamespaces
	if !strings.Contains(res.Parent.Stdout, "parent-done") || len(res.Children) != 2 || len(res.Forks) != 2 ||
		!strings.HasPrefix(res.Children[0].Stdout, "child-a") || !strings.HasPrefix(res.Children[1].Stdout, "child-b") ||
		!reflect.DeepEqual(res.Child, res.Children[0]) || res.Fork != res.Forks[0] || !res.Fork.WasFrozen {
		t.Fatalf("fork %+v", res)
	}
	if jailed && (strings.TrimSpace(res.Children[0].Stdout) != "child-a checkpoint" || strings.TrimSpace(res.Children[1].Stdout) != "child-b checkpoint" || res.Fork.FilesCloned != 1) {
		t.Fatalf("children did not start from the parent's /output: %+v", res)
	}
	jails, err := c.Jails.List(ctx, agentjail.JailListParams{Kind: agentjail.JailKindFork})
	if err != nil || jails.Total != 3 {
		t.Fatalf("fork jails %+v %v", jails, err)
	}
	var parentID int64 = -1
	parents := 0
	for _, j := range jails.Rows {
		if j.ParentID == nil {
			parentID = j.ID
			parents++
		}
	}
	if parents != 1 {
		t.Fatalf("%d fork jails without a parent, want exactly 1 (the parent): %+v", parents, jails.Rows)
	}
	for _, j := range jails.Rows {
		if j.ParentID != nil && *j.ParentID != parentID {
			t.Fatalf("child %d has parent %d, want %d", j.ID, *j.ParentID, parentID)
		}
	}
	if stats, err := c.Public.Stats(ctx); err != nil || stats.TotalExecs < 2 || stats.ActiveExecs != 0 {
		t.Fatalf("stats %+v %v", stats, err)
	}
}
