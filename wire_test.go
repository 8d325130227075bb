package agentjail

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// wireCase is one SDK call and exactly what must reach the server for it.
type wireCase struct {
	name   string
	reply  http.HandlerFunc // nil: 200 "{}"
	call   func(ctx context.Context, c *Client) (any, error)
	method string
	path   string // escaped path
	query  string // exact raw query; "" = none
	body   string // expected JSON body; "" = no body at all
	check  func(t *testing.T, got any)
}

func TestWireShape(t *testing.T) {
	t.Parallel()
	for _, tc := range wireCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, tc.reply)
			c := testClient(t, srv.URL)
			got, err := tc.call(context.Background(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			req := srv.last(t)
			if req.Method != tc.method || req.Path != tc.path || req.RawQuery != tc.query {
				t.Fatalf("sent %s %s?%s, want %s %s?%s", req.Method, req.Path, req.RawQuery, tc.method, tc.path, tc.query)
			}
			if got := req.Header.Get("Accept"); got != "application/json" {
				t.Errorf("Accept = %q", got)
			}
			if tc.body == "" {
				if len(req.Body) != 0 || req.Header.Get("Content-Type") != "" {
					t.Errorf("unexpected body %q (Content-Type %q)", req.Body, req.Header.Get("Content-Type"))
				}
			} else {
				if ct := req.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				assertJSON(t, req.Body, tc.body)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func wireCases() []wireCase {
	return []wireCase{
		// Credentials (TS 15–16, Python 14).
		{name: "credentials list", reply: jsonReply(200, "["+fixtureCredential+"]"),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Credentials.List(ctx) },
			method: "GET", path: "/v1/credentials",
			check: func(t *testing.T, got any) {
				creds := got.([]Credential)
				want := Credential{TenantID: "acme", Service: ServiceOpenAI, AddedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
					UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC), Fingerprint: "cbf29ce484222325"}
				if len(creds) != 1 || !creds[0].AddedAt.Equal(want.AddedAt) || !creds[0].UpdatedAt.Equal(want.UpdatedAt) ||
					creds[0].TenantID != want.TenantID || creds[0].Fingerprint != want.Fingerprint || creds[0].Service != want.Service {
					t.Fatalf("got %+v", creds)
				}
			}},
		{name: "credentials put", reply: jsonReply(200, fixtureCredential),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credentials.Put(ctx, CredentialPutParams{Service: ServiceOpenAI, Secret: "sk-real"})
			},
			method: "POST", path: "/v1/credentials", body: `{"service":"openai","secret":"sk-real"}`,
			check: func(t *testing.T, got any) {
				if got.(*Credential).Service != ServiceOpenAI {
					t.Fatalf("service = %q", got.(*Credential).Service)
				}
			}},
		{name: "credentials put keeps an empty secret for the server to reject",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credentials.Put(ctx, CredentialPutParams{Service: ServiceStripe})
			},
			method: "POST", path: "/v1/credentials", body: `{"service":"stripe","secret":""}`},
		{name: "credentials delete 204", reply: jsonReply(204, ""),
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Credentials.Delete(ctx, ServiceOpenAI)
			},
			method: "DELETE", path: "/v1/credentials/openai"},
		{name: "credentials for tenant list",
			reply: jsonReply(200, "[]"),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credentials.ForTenant("acme").List(ctx)
			},
			method: "GET", path: "/v1/credentials", query: "tenant=acme"},
		{name: "credentials for tenant put escapes the tenant", reply: jsonReply(200, fixtureCredential),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credentials.ForTenant("a&b c").Put(ctx, CredentialPutParams{Service: ServiceGitHub, Secret: "x"})
			},
			method: "POST", path: "/v1/credentials", query: "tenant=a%26b+c", body: `{"service":"github","secret":"x"}`},
		{name: "credentials for tenant delete", reply: jsonReply(204, ""),
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Credentials.ForTenant("acme").Delete(ctx, ServiceStripe)
			},
			method: "DELETE", path: "/v1/credentials/stripe", query: "tenant=acme"},
		{name: "credentials for empty tenant is unscoped", reply: jsonReply(200, "[]"),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credentials.ForTenant("acme").ForTenant("").List(ctx)
			},
			method: "GET", path: "/v1/credentials"},

		// Sessions (TS 17–21, 28; Python 15–16).
		{name: "sessions create with ttl", reply: jsonReply(201, fixtureSession),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI}, TTL: 600 * time.Second})
			},
			method: "POST", path: "/v1/sessions", body: `{"services":["openai"],"ttl_secs":600}`,
			check: func(t *testing.T, got any) {
				s := got.(*Session)
				if s.ID != "sess_abc" || s.Env["OPENAI_API_KEY"] != "phm_0123" || s.ExpiresAt != nil {
					t.Fatalf("got %+v", s)
				}
			}},
		{name: "sessions create without ttl sends only services", reply: jsonReply(201, fixtureSession),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI}})
			},
			method: "POST", path: "/v1/sessions", body: `{"services":["openai"]}`},
		{name: "sessions create ttl rounds up to whole seconds", reply: jsonReply(201, fixtureSession),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI}, TTL: 1500 * time.Millisecond})
			},
			method: "POST", path: "/v1/sessions", body: `{"services":["openai"],"ttl_secs":2}`},
		{name: "sessions create with scopes", reply: jsonReply(201, fixtureSession),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceGitHub},
					Scopes: map[Service][]string{ServiceGitHub: {"/repos/foo/*"}}})
			},
			method: "POST", path: "/v1/sessions", body: `{"services":["github"],"scopes":{"github":["/repos/foo/*"]}}`},
		{name: "sessions create empty sends {}", reply: jsonReply(201, fixtureSession),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{})
			},
			method: "POST", path: "/v1/sessions", body: `{}`},
		{name: "sessions list", reply: jsonReply(200, "["+fixtureSession+"]"),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Sessions.List(ctx) },
			method: "GET", path: "/v1/sessions",
			check: func(t *testing.T, got any) {
				if l := got.([]Session); len(l) != 1 || l[0].Services[0] != ServiceOpenAI {
					t.Fatalf("got %+v", l)
				}
			}},
		{name: "sessions get", reply: jsonReply(200, fixtureSession),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Sessions.Get(ctx, "sess_abc") },
			method: "GET", path: "/v1/sessions/sess_abc",
			check: func(t *testing.T, got any) {
				s := got.(*Session)
				if !s.CreatedAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC)) {
					t.Fatalf("created_at = %v", s.CreatedAt)
				}
			}},
		{name: "sessions close", reply: jsonReply(204, ""),
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.Sessions.Close(ctx, "sess_abc") },
			method: "DELETE", path: "/v1/sessions/sess_abc"},
		{name: "sessions exec", reply: jsonReply(200, fixtureExec),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Exec(ctx, "sess_1", SessionExecParams{Cmd: "echo", Args: []string{"hi"}, Timeout: 10 * time.Second})
			},
			method: "POST", path: "/v1/sessions/sess_1/exec", body: `{"cmd":"echo","args":["hi"],"timeout_secs":10}`,
			check: func(t *testing.T, got any) {
				if r := got.(*ExecResult); r.Stdout != "hi\n" || r.ExitCode != 0 || r.Stats != nil {
					t.Fatalf("got %+v", r)
				}
			}},
		{name: "sessions exec forwards exec options", reply: jsonReply(200, fixtureExec),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Exec(ctx, "sess_1", SessionExecParams{Cmd: "node", Args: []string{"-e", "1+1"}, MemoryMB: 256,
					ExecOptions: ExecOptions{Network: NetworkLoopback(), Seccomp: SeccompStandard}})
			},
			method: "POST", path: "/v1/sessions/sess_1/exec",
			body: `{"cmd":"node","args":["-e","1+1"],"memory_mb":256,"network":{"mode":"loopback"},"seccomp":"standard"}`},
		{name: "sessions exec unlimited memory sends 0", reply: jsonReply(200, fixtureExec),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Exec(ctx, "sess_1", SessionExecParams{Cmd: "true", MemoryMB: MemoryUnlimited})
			},
			method: "POST", path: "/v1/sessions/sess_1/exec", body: `{"cmd":"true","memory_mb":0}`},

		// Runs (TS 22–25).
		{name: "runs create", reply: jsonReply(201, fixtureExec),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Create(ctx, RunParams{Code: "console.log(1)", Language: LanguageJavaScript, Timeout: 30 * time.Second})
			},
			method: "POST", path: "/v1/runs", body: `{"code":"console.log(1)","language":"javascript","timeout_secs":30}`,
			check: func(t *testing.T, got any) {
				if got.(*ExecResult).Stdout != "hi\n" {
					t.Fatal("stdout not decoded")
				}
			}},
		{name: "runs create with exec options", reply: jsonReply(201, fixtureExec),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Create(ctx, RunParams{Code: "x", Language: LanguagePython, ExecOptions: ExecOptions{
					Network: NetworkAllowlist("api.openai.com", "*.mcp.company.com"), Seccomp: SeccompStrict, CPUPercent: 200, MaxPIDs: 128}})
			},
			method: "POST", path: "/v1/runs",
			body: `{"code":"x","language":"python","network":{"mode":"allowlist","domains":["api.openai.com","*.mcp.company.com"]},"seccomp":"strict","cpu_percent":200,"max_pids":128}`},
		{name: "runs create empty code is still sent", reply: jsonReply(201, fixtureExec),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Runs.Create(ctx, RunParams{}) },
			method: "POST", path: "/v1/runs", body: `{"code":""}`},
		{name: "runs create with git seed and stats", reply: jsonReply(201, fixtureExecStats),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Create(ctx, RunParams{Code: "ls", Language: LanguageBash, Timeout: 1, MemoryMB: 1024,
					Git: &GitSeed{Repo: "https://github.com/a/b", Ref: "main"}})
			},
			method: "POST", path: "/v1/runs",
			body: `{"code":"ls","language":"bash","timeout_secs":1,"memory_mb":1024,"git":{"repo":"https://github.com/a/b","ref":"main"}}`,
			check: func(t *testing.T, got any) {
				r := got.(*ExecResult)
				if !r.TimedOut || r.ExitCode != 137 || r.Stats == nil || r.Stats.MemoryPeakBytes != 1<<20 || r.Stats.IOWriteBytes != 2 {
					t.Fatalf("got %+v", r)
				}
				if r.DurationMS != 1<<63-1 {
					t.Fatalf("u64::MAX duration should saturate, got %d", r.DurationMS)
				}
			}},
		{name: "runs fork legacy child", reply: jsonReply(201, fixtureFork),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Fork(ctx, ForkParams{ParentCode: "p", ChildCode: "c", Language: LanguageJavaScript,
					ForkAfter: 300 * time.Millisecond, MemoryMB: 256, ExecOptions: ExecOptions{Seccomp: SeccompStrict}})
			},
			method: "POST", path: "/v1/runs/fork",
			body: `{"parent_code":"p","child_code":"c","language":"javascript","fork_after_ms":300,"memory_mb":256,"seccomp":"strict"}`,
			check: func(t *testing.T, got any) {
				r := got.(*ForkResult)
				if r.Parent.Stdout != "p" || r.Child.Stdout != "c" || len(r.Children) != 1 || !reflect.DeepEqual(r.Children[0], r.Child) ||
					len(r.Forks) != 1 || r.Forks[0] != r.Fork || r.Fork.Method != "reflink" || !r.Fork.WasFrozen || r.Fork.FilesCOW != 2 {
					t.Fatalf("got %+v", r)
				}
			}},
		{name: "runs fork n-way with git and timeout", reply: jsonReply(201, fixtureFork),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Fork(ctx, ForkParams{ParentCode: "p", Children: []ForkChild{{"a"}, {"b"}, {"c"}},
					ForkAfter: 1500*time.Microsecond + 1, Timeout: 61 * time.Second, Git: &GitSeed{Repos: []GitRepo{{Repo: "https://x/y"}, {Repo: "https://x/z", Ref: "main", Dir: "z-main"}}}})
			},
			method: "POST", path: "/v1/runs/fork",
			body: `{"parent_code":"p","children":[{"code":"a"},{"code":"b"},{"code":"c"}],"fork_after_ms":2,"timeout_secs":61,"git":{"repos":[{"repo":"https://x/y"},{"repo":"https://x/z","ref":"main","dir":"z-main"}]}}`},

		// Workspaces (TS 29–36, Python 20–23, 31–32).
		{name: "workspaces create", reply: jsonReply(201, fixtureWorkspace),
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
			reply: jsonReply(201, `{"id":"wrk_abc","config":{"memory_mb":512}}`),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Create(ctx, WorkspaceCreateParams{IdleTimeout: 90 * time.Second})
			},
			method: "POST", path: "/v1/workspaces", body: `{"idle_timeout_secs":90}`},
		{name: "workspaces create with everything", reply: jsonReply(201, fixtureWorkspace),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Create(ctx, WorkspaceCreateParams{Timeout: 30 * time.Second, MemoryMB: MemoryUnlimited,
					Domains: []WorkspaceDomain{{Domain: "p.local", VMPort: 3000}, {Domain: "q.local", BackendURL: "http://127.0.0.1:9"}},
					Flavors: []string{"node"}, ExecOptions: ExecOptions{Network: NetworkAllowlist("registry.npmjs.org"), MaxPIDs: 32}})
			},
			method: "POST", path: "/v1/workspaces",
			body: `{"memory_mb":0,"timeout_secs":30,"domains":[{"domain":"p.local","vm_port":3000},{"domain":"q.local","backend_url":"http://127.0.0.1:9"}],"flavors":["node"],"network":{"mode":"allowlist","domains":["registry.npmjs.org"]},"max_pids":32}`},
		{name: "workspaces create empty sends {}", reply: jsonReply(201, fixtureWorkspace),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Create(ctx, WorkspaceCreateParams{})
			},
			method: "POST", path: "/v1/workspaces", body: `{}`},
		{name: "workspaces list limit offset", reply: jsonReply(200, `{"rows":[`+fixtureWorkspace+`],"total":21,"limit":10,"offset":20}`),
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
		{name: "workspaces list q", reply: jsonReply(200, `{"rows":[],"total":0,"limit":50,"offset":0}`),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.List(ctx, WorkspaceListParams{Limit: 50, Query: "review bot&x"})
			},
			method: "GET", path: "/v1/workspaces", query: "limit=50&q=review+bot%26x"},
		{name: "workspaces list without q", reply: jsonReply(200, `{"rows":[],"total":0,"limit":50,"offset":0}`),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.List(ctx, WorkspaceListParams{Limit: 50})
			},
			method: "GET", path: "/v1/workspaces", query: "limit=50"},
		{name: "workspaces list nothing set", reply: jsonReply(200, `{"rows":[],"total":0,"limit":50,"offset":0}`),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.List(ctx, WorkspaceListParams{})
			},
			method: "GET", path: "/v1/workspaces"},
		{name: "workspaces get", reply: jsonReply(200, fixtureWorkspace),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Workspaces.Get(ctx, "wrk_abc") },
			method: "GET", path: "/v1/workspaces/wrk_abc"},
		{name: "workspaces update", reply: jsonReply(200, fixtureWorkspace),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Update(ctx, "wrk_abc", WorkspaceUpdateParams{Label: "renamed"})
			},
			method: "PATCH", path: "/v1/workspaces/wrk_abc", body: `{"label":"renamed"}`},
		{name: "workspaces update empty label sends {}", reply: jsonReply(200, fixtureWorkspace),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Update(ctx, "wrk_abc", WorkspaceUpdateParams{})
			},
			method: "PATCH", path: "/v1/workspaces/wrk_abc", body: `{}`},
		{name: "workspaces delete", reply: jsonReply(204, ""),
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.Workspaces.Delete(ctx, "wrk_abc") },
			method: "DELETE", path: "/v1/workspaces/wrk_abc"},
		{name: "workspaces exec env pairs sorted", reply: jsonReply(200, fixtureExec),
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
		{name: "workspaces exec timeout", reply: jsonReply(200, fixtureExec),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Exec(ctx, "wrk_abc", WorkspaceExecParams{Cmd: "ls", Timeout: 2*time.Minute + time.Nanosecond})
			},
			method: "POST", path: "/v1/workspaces/wrk_abc/exec", body: `{"cmd":"ls","timeout_secs":121}`},
		{name: "workspaces fork", reply: jsonReply(201, `{"parent":`+fixtureWorkspace+`,"forks":[{"id":"wrk_f0"},{"id":"wrk_f1"},{"id":"wrk_f2"}],"snapshot_id":"snap_origin"}`),
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

		// Snapshots (TS 37–39, 45–46, 49; Python 24–25, 29–30, 33).
		{name: "snapshots create", reply: jsonReply(201, fixtureSnapshot),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Snapshots.Create(ctx, "wrk_abc", SnapshotCreateParams{Name: "baseline"})
			},
			method: "POST", path: "/v1/workspaces/wrk_abc/snapshot", body: `{"name":"baseline"}`,
			check: func(t *testing.T, got any) {
				if s := got.(*Snapshot); s.ID != "snap_xyz" || s.SizeBytes != 12345 || s.TenantID != "acme" {
					t.Fatalf("got %+v", s)
				}
			}},
		{name: "snapshots create unnamed sends {}", reply: jsonReply(201, fixtureSnapshot),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Snapshots.Create(ctx, "wrk_abc", SnapshotCreateParams{})
			},
			method: "POST", path: "/v1/workspaces/wrk_abc/snapshot", body: `{}`},
		{name: "snapshots list by workspace", reply: jsonReply(200, `{"rows":[`+fixtureSnapshot+`],"total":1,"limit":50,"offset":0}`),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Snapshots.List(ctx, SnapshotListParams{WorkspaceID: "wrk_abc"})
			},
			method: "GET", path: "/v1/snapshots", query: "workspace_id=wrk_abc"},
		{name: "snapshots list everything", reply: jsonReply(200, `{"rows":[],"total":0,"limit":5,"offset":5}`),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Snapshots.List(ctx, SnapshotListParams{WorkspaceID: "wrk_a", Query: "baseline", Limit: 5, Offset: 5})
			},
			method: "GET", path: "/v1/snapshots", query: "limit=5&offset=5&q=baseline&workspace_id=wrk_a"},
		{name: "snapshots get", reply: jsonReply(200, fixtureSnapshot),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Get(ctx, "snap_xyz") },
			method: "GET", path: "/v1/snapshots/snap_xyz"},
		{name: "snapshots delete", reply: jsonReply(204, ""),
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.Snapshots.Delete(ctx, "snap_xyz") },
			method: "DELETE", path: "/v1/snapshots/snap_xyz"},
		{name: "snapshots manifest incremental",
			reply:  jsonReply(200, `{"kind":"incremental","entries":[{"path":"a.txt","mode":420,"hash":"ab","size":1},{"path":"bin/x","mode":493,"hash":"cd","size":2}]}`),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Manifest(ctx, "snap_abc") },
			method: "GET", path: "/v1/snapshots/snap_abc/manifest",
			check: func(t *testing.T, got any) {
				m := got.(*SnapshotManifest)
				if m.Kind != ManifestIncremental || len(m.Entries) != 2 || m.Entries[0].Path != "a.txt" || m.Entries[0].Mode != 0o644 || m.Entries[1].Mode != 0o755 {
					t.Fatalf("got %+v", m)
				}
			}},
		{name: "snapshots manifest classic: null entries become empty", reply: jsonReply(200, `{"kind":"classic","entries":null}`),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Manifest(ctx, "snap_abc") },
			method: "GET", path: "/v1/snapshots/snap_abc/manifest",
			check: func(t *testing.T, got any) {
				m := got.(*SnapshotManifest)
				if m.Kind != ManifestClassic || m.Entries == nil || len(m.Entries) != 0 {
					t.Fatalf("got %+v", m)
				}
			}},
		{name: "snapshots create workspace from", reply: jsonReply(201, fixtureWorkspace),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Snapshots.CreateWorkspaceFrom(ctx, "snap_xyz", CreateWorkspaceFromParams{ParentWorkspaceID: "wrk_parent", Label: "recovered"})
			},
			method: "POST", path: "/v1/workspaces/from-snapshot",
			body: `{"snapshot_id":"snap_xyz","parent_workspace_id":"wrk_parent","label":"recovered"}`,
			check: func(t *testing.T, got any) {
				if w := got.(*Workspace); w.ID != "wrk_abc" || w.Label != "ci" {
					t.Fatalf("got %+v", w)
				}
			}},

		// Public (TS 40–41).
		{name: "public health plain text", reply: textReply(200, "ok"),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Public.Health(ctx) },
			method: "GET", path: "/healthz",
			check: func(t *testing.T, got any) {
				if got.(string) != "ok" {
					t.Fatalf("health = %q", got)
				}
			}},
		{name: "public health json string", reply: jsonReply(200, `"ok"`),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Public.Health(ctx) },
			method: "GET", path: "/healthz",
			check: func(t *testing.T, got any) {
				if got.(string) != "ok" {
					t.Fatalf("health = %q", got)
				}
			}},
		{name: "public stats", reply: jsonReply(200, `{"active_execs":2,"total_execs":9,"sessions":3,"credentials":4}`),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Public.Stats(ctx) },
			method: "GET", path: "/v1/stats",
			check: func(t *testing.T, got any) {
				if s := *got.(*PublicStats); s != (PublicStats{2, 9, 3, 4}) {
					t.Fatalf("got %+v", s)
				}
			}},

		// Audit (TS 42–43).
		{name: "audit recent limit", reply: jsonReply(200, `{"rows":[{"id":3,"at":"2026-01-02T03:04:05Z","session_id":"sess_a","service":"openai","method":"POST","path":"/v1/chat/completions","status":200,"reject_reason":null,"upstream_ms":41},{"id":2,"at":"2026-01-02T03:04:04Z","session_id":"","service":"","method":"GET","path":"/x","status":401,"reject_reason":"no_token","upstream_ms":null}],"total":9}`),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Audit.Recent(ctx, 50) },
			method: "GET", path: "/v1/audit", query: "limit=50",
			check: func(t *testing.T, got any) {
				l := got.(*AuditList)
				if l.Total != 9 || len(l.Rows) != 2 || *l.Rows[0].UpstreamMS != 41 || l.Rows[0].RejectReason != nil ||
					*l.Rows[1].RejectReason != "no_token" || l.Rows[1].UpstreamMS != nil || l.Rows[1].Status != 401 {
					t.Fatalf("got %+v", l)
				}
			}},
		{name: "audit recent default", reply: jsonReply(200, `{"rows":[],"total":0}`),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Audit.Recent(ctx, 0) },
			method: "GET", path: "/v1/audit"},

		// Jails.
		{name: "jails list all filters", reply: jsonReply(200, `{"rows":[`+fixtureJail+`],"total":1,"limit":0,"offset":3}`),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Jails.List(ctx, JailListParams{Limit: 8, Offset: 3, Status: JailRunning, Kind: JailKindWorkspace, Query: "workspace:wrk_1"})
			},
			method: "GET", path: "/v1/jails", query: "kind=workspace&limit=8&offset=3&q=workspace%3Awrk_1&status=running",
			check: func(t *testing.T, got any) {
				l := got.(*JailList)
				j := l.Rows[0]
				if j.ID != 0 || j.Kind != JailKindFork || *j.ParentID != 7 || j.ExitCode != nil || j.Config == nil || j.Config.GitRepo != "" ||
					j.Config.NetworkDomains != nil || j.Label != "js · child 2" || j.SessionID != nil || l.Offset != 3 {
					t.Fatalf("got %+v", l)
				}
			}},
		{name: "jails get", reply: jsonReply(200, fixtureJail),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Jails.Get(ctx, 42) },
			method: "GET", path: "/v1/jails/42"},
		{name: "jails list keeps unknown enum values",
			reply:  jsonReply(200, `{"rows":[{"id":1,"kind":"teleport","status":"paused","started_at":"2026-01-02T03:04:05Z","label":"x"}],"total":1,"limit":50,"offset":0}`),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Jails.List(ctx, JailListParams{}) },
			method: "GET", path: "/v1/jails",
			check: func(t *testing.T, got any) {
				j := got.(*JailList).Rows[0]
				if j.Kind != "teleport" || j.Status != "paused" {
					t.Fatalf("got %+v", j)
				}
			}},

		// Settings (TS 44, Python 28) and the routes upstream forgot.
		{name: "settings get operator omits keys", reply: jsonReply(200, fixtureConfigOperator),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Settings.Get(ctx) },
			method: "GET", path: "/v1/config",
			check: func(t *testing.T, got any) {
				s := got.(*ServerSettings)
				if len(s.Proxy.Providers) != 1 || s.Proxy.Providers[0].ServiceID != "openai" || s.Exec.DefaultMemoryMB != 512 ||
					s.Gateway != nil || s.Proxy.BindAddr != nil || s.ControlPlane.BindAddr != nil || s.Persistence.StateDir != nil ||
					s.Persistence.SnapshotPoolDir != nil || s.Snapshots.GC.MaxAgeSecs != nil || s.Snapshots.GC.TickSecs != 60 {
					t.Fatalf("got %+v", s)
				}
			}},
		{name: "settings get admin has every key", reply: jsonReply(200, fixtureConfigAdmin),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Settings.Get(ctx) },
			method: "GET", path: "/v1/config",
			check: func(t *testing.T, got any) {
				s := got.(*ServerSettings)
				if *s.Proxy.BindAddr != "127.0.0.1:8443" || *s.ControlPlane.BindAddr != "127.0.0.1:7000" || s.Gateway.BindAddr != "0.0.0.0:80" ||
					s.Exec != nil || *s.Persistence.StateDir != "/var/lib/agentjail" || *s.Snapshots.GC.MaxCount != 10 {
					t.Fatalf("got %+v", s)
				}
			}},
		{name: "settings whoami", reply: jsonReply(200, `{"tenant":"acme","role":"operator"}`),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Settings.Whoami(ctx) },
			method: "GET", path: "/v1/whoami",
			check: func(t *testing.T, got any) {
				if id := *got.(*Identity); id != (Identity{"acme", RoleOperator}) {
					t.Fatalf("got %+v", id)
				}
			}},
		{name: "settings flavors", reply: jsonReply(200, `[{"name":"node"},{"name":"python"}]`),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Settings.Flavors(ctx) },
			method: "GET", path: "/v1/flavors",
			check: func(t *testing.T, got any) {
				if f := got.([]Flavor); len(f) != 2 || f[1].Name != "python" {
					t.Fatalf("got %+v", f)
				}
			}},

		// Path escaping of every kind of ID.
		{name: "session id escaped", reply: jsonReply(200, fixtureSession),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Sessions.Get(ctx, "a/b?c#d e%") },
			method: "GET", path: "/v1/sessions/a%2Fb%3Fc%23d%20e%25"},
		{name: "workspace id escaped in exec", reply: jsonReply(200, fixtureExec),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Exec(ctx, "../x", WorkspaceExecParams{Cmd: "ls"})
			},
			method: "POST", path: "/v1/workspaces/..%2Fx/exec", body: `{"cmd":"ls"}`},
		{name: "snapshot id escaped in manifest", reply: jsonReply(200, `{"kind":"classic","entries":[]}`),
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Manifest(ctx, "s/1") },
			method: "GET", path: "/v1/snapshots/s%2F1/manifest"},
		{name: "credential service escaped", reply: jsonReply(204, ""),
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.Credentials.Delete(ctx, "open ai/x") },
			method: "DELETE", path: "/v1/credentials/open%20ai%2Fx"},
	}
}

func TestInvalidParamsSendNothing(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, nil)
	c := testClient(t, srv.URL)
	ctx := context.Background()
	many := make([]ForkChild, 17)
	cases := []struct {
		name string
		call func() error
	}{
		{"empty session id", func() error { _, err := c.Sessions.Get(ctx, ""); return err }},
		{"dot session id", func() error { return c.Sessions.Close(ctx, ".") }},
		{"dotdot session id", func() error {
			_, err := c.Sessions.Exec(ctx, "..", SessionExecParams{Cmd: "x"})
			return err
		}},
		{"empty workspace id", func() error { _, err := c.Workspaces.Get(ctx, ""); return err }},
		{"empty workspace id update", func() error {
			_, err := c.Workspaces.Update(ctx, "", WorkspaceUpdateParams{Label: "x"})
			return err
		}},
		{"dotdot workspace delete", func() error { return c.Workspaces.Delete(ctx, "..") }},
		{"empty workspace exec", func() error {
			_, err := c.Workspaces.Exec(ctx, "", WorkspaceExecParams{Cmd: "x"})
			return err
		}},
		{"empty snapshot workspace", func() error { _, err := c.Snapshots.Create(ctx, "", SnapshotCreateParams{}); return err }},
		{"empty snapshot id", func() error { _, err := c.Snapshots.Get(ctx, ""); return err }},
		{"dot snapshot manifest", func() error { _, err := c.Snapshots.Manifest(ctx, "."); return err }},
		{"empty snapshot delete", func() error { return c.Snapshots.Delete(ctx, "") }},
		{"empty credential service", func() error { return c.Credentials.Delete(ctx, "") }},
		{"fork without child", func() error { _, err := c.Runs.Fork(ctx, ForkParams{ParentCode: "1"}); return err }},
		{"fork with empty children", func() error {
			_, err := c.Runs.Fork(ctx, ForkParams{ParentCode: "1", Children: []ForkChild{}})
			return err
		}},
		{"fork with both child forms", func() error {
			_, err := c.Runs.Fork(ctx, ForkParams{ParentCode: "1", ChildCode: "2", Children: []ForkChild{{"3"}}})
			return err
		}},
		{"fork with 17 children", func() error {
			_, err := c.Runs.Fork(ctx, ForkParams{ParentCode: "1", Children: many})
			return err
		}},
		{"workspace fork count 0", func() error {
			_, err := c.Workspaces.Fork(ctx, "wrk_a", WorkspaceForkParams{Count: 0})
			return err
		}},
		{"workspace fork count 17", func() error {
			_, err := c.Workspaces.Fork(ctx, "wrk_a", WorkspaceForkParams{Count: 17})
			return err
		}},
		{"workspace fork empty id", func() error {
			_, err := c.Workspaces.Fork(ctx, "", WorkspaceForkParams{Count: 1})
			return err
		}},
		{"from snapshot without parent", func() error {
			_, err := c.Snapshots.CreateWorkspaceFrom(ctx, "snap_x", CreateWorkspaceFromParams{Label: "x"})
			return err
		}},
		{"from snapshot with blank parent", func() error {
			_, err := c.Snapshots.CreateWorkspaceFrom(ctx, "snap_x", CreateWorkspaceFromParams{ParentWorkspaceID: "  "})
			return err
		}},
		{"from snapshot empty snapshot id", func() error {
			_, err := c.Snapshots.CreateWorkspaceFrom(ctx, "", CreateWorkspaceFromParams{ParentWorkspaceID: "wrk_a"})
			return err
		}},
		{"negative memory", func() error { _, err := c.Runs.Create(ctx, RunParams{Code: "1", MemoryMB: -2}); return err }},
		{"negative timeout", func() error { _, err := c.Runs.Create(ctx, RunParams{Code: "1", Timeout: -time.Second}); return err }},
		{"negative ttl", func() error {
			_, err := c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI}, TTL: -1})
			return err
		}},
		{"negative cpu", func() error {
			_, err := c.Sessions.Exec(ctx, "s", SessionExecParams{Cmd: "x", ExecOptions: ExecOptions{CPUPercent: -1}})
			return err
		}},
		{"negative limit", func() error { _, err := c.Workspaces.List(ctx, WorkspaceListParams{Limit: -1}); return err }},
		{"negative offset", func() error { _, err := c.Jails.List(ctx, JailListParams{Offset: -1}); return err }},
		{"negative audit limit", func() error { _, err := c.Audit.Recent(ctx, -5); return err }},
		{"nil context", func() error {
			//lint:ignore SA1012 checking that a nil context is rejected
			_, err := c.Public.Health(nil) //nolint:staticcheck
			return err
		}},
	}
	for _, tc := range cases {
		err := tc.call()
		if !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s: err = %v, want ErrInvalidParams", tc.name, err)
		}
		var apiErr *Error
		if errors.As(err, &apiErr) {
			t.Errorf("%s: invalid params must not be an *Error", tc.name)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests were sent for invalid params", n)
	}
}
