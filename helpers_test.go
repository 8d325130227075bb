package agentjail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentjail/agentjail-go/internal/testserver"
)

// TestMain runs the package's tests and then checks that they left no goroutine behind:
// no timer, body reader, connection or retry goroutine may outlive its call, and every
// test closes the servers and streams it started.
func TestMain(m *testing.M) {
	before := len(goroutines())
	code := m.Run()
	if code == 0 {
		if err := goroutinesSettle(before, 10*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// goroutines returns the stack of every goroutine but the ones that live as long as the
// process by design: os/signal's loop, which the fuzzing engine starts.
func goroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "os/signal.loop") {
			out = append(out, g)
		}
	}
	return out
}

// goroutinesSettle waits (bounded) until at most want goroutines run, and otherwise
// returns an error listing them. Polling is the only way to observe goroutines that are
// exiting on their own, such as a closed connection's read loop.
func goroutinesSettle(want int, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		gs := goroutines()
		if len(gs) <= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutine leak: %d goroutines after the tests, %d before:\n%s", len(gs), want, strings.Join(gs, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// apiCall is one SDK call and exactly what must reach the server for it.
type apiCall struct {
	name       string
	method     string
	path       string // escaped, as sent
	query      string // exact raw query; "" = none
	body       string // the exact JSON body; "" = no body at all
	idempotent bool   // safe to repeat: retried on every transient failure
	public     bool   // sent without the API key
	stream     bool   // asks for text/event-stream
	reply      string // a 2xx body the call accepts; "" = 204 No Content
	call       func(ctx context.Context, c *Client) (any, error)
	check      func(t *testing.T, got any) // what the reply decodes to; nil = not checked
}

// sdkCalls is every call of the SDK, one row per route: the request, wire, retry,
// failure and fuzz tests range over it, so a new endpoint is one new row. Bodies hold
// characters JSON encoders like to escape, so that sent bytes are compared exactly.
func sdkCalls() []apiCall {
	return []apiCall{
		{name: "Credentials.List", method: "GET", path: "/v1/credentials", idempotent: true, reply: "[" + fixtureCredential + "]",
			call: func(ctx context.Context, c *Client) (any, error) { return c.Credentials.List(ctx) }},
		{name: "Credentials.Put", method: "POST", path: "/v1/credentials", body: `{"service":"openai","secret":"sk-real"}`, reply: fixtureCredential,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credentials.Put(ctx, CredentialPutParams{Service: ServiceOpenAI, Secret: "sk-real"})
			}},
		{name: "Credentials.Delete", method: "DELETE", path: "/v1/credentials/openai", idempotent: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Credentials.Delete(ctx, ServiceOpenAI)
			}},

		{name: "Sessions.Create", method: "POST", path: "/v1/sessions", body: `{"services":["openai"],"ttl_secs":600}`, reply: fixtureSession,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI}, TTL: 600 * time.Second})
			}},
		{name: "Sessions.List", method: "GET", path: "/v1/sessions", idempotent: true, reply: "[" + fixtureSession + "]",
			call: func(ctx context.Context, c *Client) (any, error) { return c.Sessions.List(ctx) }},
		{name: "Sessions.Get", method: "GET", path: "/v1/sessions/sess_abc", idempotent: true, reply: fixtureSession,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Sessions.Get(ctx, "sess_abc") }},
		{name: "Sessions.Close", method: "DELETE", path: "/v1/sessions/sess_abc", idempotent: true,
			call: func(ctx context.Context, c *Client) (any, error) { return nil, c.Sessions.Close(ctx, "sess_abc") }},
		{name: "Sessions.Exec", method: "POST", path: "/v1/sessions/sess_1/exec", body: `{"cmd":"echo","args":["<héllo & ✓>","\u2028"]}`, reply: fixtureExec,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Exec(ctx, "sess_1", SessionExecParams{Cmd: "echo", Args: []string{"<héllo & ✓>", "\u2028"}})
			}},

		{name: "Runs.Create", method: "POST", path: "/v1/runs", body: `{"code":"console.log(1)","language":"javascript","timeout_secs":30}`, reply: fixtureExec,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Create(ctx, RunParams{Code: "console.log(1)", Language: LanguageJavaScript, Timeout: 30 * time.Second})
			}},
		{name: "Runs.Fork", method: "POST", path: "/v1/runs/fork", body: `{"parent_code":"p","child_code":"c"}`, reply: fixtureFork,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Fork(ctx, ForkParams{ParentCode: "p", ChildCode: "c"})
			}},
		{name: "Runs.Stream", method: "POST", path: "/v1/runs/stream", body: `{"code":"x"}`, stream: true, reply: "event: completed\ndata: {\"exit_code\":0}\n\n",
			call: func(ctx context.Context, c *Client) (any, error) {
				s, err := c.Runs.Stream(ctx, RunParams{Code: "x"})
				if err != nil {
					return nil, err
				}
				return s, s.Close()
			}},

		{name: "Workspaces.Create", method: "POST", path: "/v1/workspaces", body: `{"label":"ci","memory_mb":512}`, reply: fixtureWorkspace,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Create(ctx, WorkspaceCreateParams{Label: "ci", MemoryMB: 512})
			}},
		{name: "Workspaces.List", method: "GET", path: "/v1/workspaces", query: "limit=10&offset=20&q=ci", idempotent: true,
			reply: `{"rows":[` + fixtureWorkspace + `],"total":21,"limit":10,"offset":20}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.List(ctx, WorkspaceListParams{Limit: 10, Offset: 20, Query: "ci"})
			}},
		{name: "Workspaces.Get", method: "GET", path: "/v1/workspaces/wrk_abc", idempotent: true, reply: fixtureWorkspace,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Workspaces.Get(ctx, "wrk_abc") }},
		{name: "Workspaces.Update", method: "PATCH", path: "/v1/workspaces/wrk_abc", body: `{"label":"ci <&>"}`, reply: fixtureWorkspace,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Update(ctx, "wrk_abc", WorkspaceUpdateParams{Label: "ci <&>"})
			}},
		{name: "Workspaces.Delete", method: "DELETE", path: "/v1/workspaces/wrk_abc", idempotent: true,
			call: func(ctx context.Context, c *Client) (any, error) { return nil, c.Workspaces.Delete(ctx, "wrk_abc") }},
		{name: "Workspaces.Exec", method: "POST", path: "/v1/workspaces/wrk_abc/exec", body: `{"cmd":"ls","env":[["A","1"]]}`, reply: fixtureExec,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Exec(ctx, "wrk_abc", WorkspaceExecParams{Cmd: "ls", Env: map[string]string{"A": "1"}})
			}},
		{name: "Workspaces.Fork", method: "POST", path: "/v1/workspaces/wrk_abc/fork", body: `{"count":3,"label":"agents"}`,
			reply: `{"parent":` + fixtureWorkspace + `,"forks":[{"id":"wrk_f0"}],"snapshot_id":"snap_origin"}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Workspaces.Fork(ctx, "wrk_abc", WorkspaceForkParams{Count: 3, Label: "agents"})
			}},

		{name: "Snapshots.Create", method: "POST", path: "/v1/workspaces/wrk_abc/snapshot", body: `{"name":"baseline"}`, reply: fixtureSnapshot,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Snapshots.Create(ctx, "wrk_abc", SnapshotCreateParams{Name: "baseline"})
			}},
		{name: "Snapshots.List", method: "GET", path: "/v1/snapshots", query: "workspace_id=wrk_abc", idempotent: true,
			reply: `{"rows":[` + fixtureSnapshot + `],"total":1,"limit":50,"offset":0}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Snapshots.List(ctx, SnapshotListParams{WorkspaceID: "wrk_abc"})
			}},
		{name: "Snapshots.Get", method: "GET", path: "/v1/snapshots/snap_xyz", idempotent: true, reply: fixtureSnapshot,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Get(ctx, "snap_xyz") }},
		{name: "Snapshots.Manifest", method: "GET", path: "/v1/snapshots/snap_xyz/manifest", idempotent: true, reply: `{"kind":"classic","entries":[]}`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Manifest(ctx, "snap_xyz") }},
		{name: "Snapshots.Delete", method: "DELETE", path: "/v1/snapshots/snap_xyz", idempotent: true,
			call: func(ctx context.Context, c *Client) (any, error) { return nil, c.Snapshots.Delete(ctx, "snap_xyz") }},
		{name: "Snapshots.CreateWorkspaceFrom", method: "POST", path: "/v1/workspaces/from-snapshot",
			body: `{"snapshot_id":"snap_xyz","parent_workspace_id":"wrk_parent","label":"recovered"}`, reply: fixtureWorkspace,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Snapshots.CreateWorkspaceFrom(ctx, "snap_xyz", CreateWorkspaceFromParams{ParentWorkspaceID: "wrk_parent", Label: "recovered"})
			}},

		{name: "Audit.Recent", method: "GET", path: "/v1/audit", query: "limit=50", idempotent: true, reply: `{"rows":[],"total":0}`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Audit.Recent(ctx, 50) }},

		{name: "Jails.List", method: "GET", path: "/v1/jails", query: "kind=run", idempotent: true,
			reply: `{"rows":[` + fixtureJail + `],"total":1,"limit":50,"offset":0}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Jails.List(ctx, JailListParams{Kind: JailKindRun})
			}},
		{name: "Jails.Get", method: "GET", path: "/v1/jails/42", idempotent: true, reply: fixtureJail,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Jails.Get(ctx, 42) }},

		{name: "Public.Health", method: "GET", path: "/healthz", idempotent: true, public: true, reply: `"ok"`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Public.Health(ctx) }},
		{name: "Public.Stats", method: "GET", path: "/v1/stats", idempotent: true, public: true,
			reply: `{"active_execs":2,"total_execs":9,"sessions":3,"credentials":4}`,
			call:  func(ctx context.Context, c *Client) (any, error) { return c.Public.Stats(ctx) }},

		{name: "Settings.Get", method: "GET", path: "/v1/config", idempotent: true, reply: fixtureConfigOperator,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Settings.Get(ctx) }},
		{name: "Settings.Whoami", method: "GET", path: "/v1/whoami", idempotent: true, reply: `{"tenant":"acme","role":"operator"}`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Settings.Whoami(ctx) }},
		{name: "Settings.Flavors", method: "GET", path: "/v1/flavors", idempotent: true, reply: `[{"name":"node"}]`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Settings.Flavors(ctx) }},
	}
}

// oneCallPerMethod returns the first row of sdkCalls for each HTTP method, for the
// failure tests whose outcome depends on the method alone.
func oneCallPerMethod() []apiCall {
	seen := map[string]bool{}
	var out []apiCall
	for _, c := range sdkCalls() {
		if !seen[c.method] && !c.stream {
			seen[c.method] = true
			out = append(out, c)
		}
	}
	return out
}

// replyByRoute answers each request with the reply of its row in calls, found by method
// and path: one server for calls of many kinds.
func replyByRoute(calls []apiCall) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, c := range calls {
			if c.method == r.Method && c.path == r.URL.EscapedPath() {
				okReply(c.reply)(w, r)
				return
			}
		}
		jsonReply(404, `{"error":"not found"}`)(w, r)
	}
}

// checkCalls makes each call against a server that answers its reply and checks that
// exactly its request went out, and what the reply decoded to where check is set.
func checkCalls(t *testing.T, calls []apiCall) {
	t.Helper()
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, okReply(tc.reply))
			got, err := tc.call(context.Background(), testClient(t, srv.URL))
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			checkRequest(t, srv.last(t), tc)
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

// checkRequest checks that req is exactly the request of tc, with the SDK's headers.
func checkRequest(t *testing.T, req recordedRequest, tc apiCall) {
	t.Helper()
	if req.Method != tc.method || req.Path != tc.path || req.RawQuery != tc.query {
		t.Fatalf("sent %s %s?%s, want %s %s?%s", req.Method, req.Path, req.RawQuery, tc.method, tc.path, tc.query)
	}
	accept := "application/json"
	if tc.stream {
		accept = "text/event-stream"
	}
	if got := req.Header.Get("Accept"); got != accept {
		t.Errorf("Accept = %q, want %q", got, accept)
	}
	if got, ok := req.Header["Authorization"]; ok == tc.public || ok && got[0] != "Bearer k" {
		t.Errorf("Authorization = %q on a route that is public: %v", got, tc.public)
	}
	if tc.body == "" {
		if len(req.Body) != 0 || req.Header.Get("Content-Type") != "" {
			t.Errorf("unexpected body %q (Content-Type %q)", req.Body, req.Header.Get("Content-Type"))
		}
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if string(req.Body) != tc.body {
		t.Errorf("body = %s\nwant   %s", req.Body, tc.body)
	}
}

// invalidCall is a call the SDK must refuse with ErrInvalidParams before sending anything.
type invalidCall struct {
	name string
	call func(ctx context.Context, c *Client) error
}

// checkInvalid makes each call and checks that it fails with ErrInvalidParams, which is
// not an *Error, and that no request was sent.
func checkInvalid(t *testing.T, calls []invalidCall) {
	t.Helper()
	srv := newRecorder(t, nil)
	c := testClient(t, srv.URL)
	for _, tc := range calls {
		err := tc.call(context.Background(), c)
		if !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s: err = %v, want ErrInvalidParams", tc.name, err)
		}
		if errors.As(err, new(*Error)) {
			t.Errorf("%s: invalid params must not be an *Error", tc.name)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests were sent for invalid params", n)
	}
}

// testClient returns a client for url with the key "k", fast retries and no environment
// influence.
func testClient(t *testing.T, url string, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(url, append([]Option{WithAPIKey("k")}, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	c.retryBase = time.Millisecond
	c.retryCap = 5 * time.Millisecond
	return c
}

// asError returns err as *Error or fails the test.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want an *Error", err, err)
	}
	return e
}

// assertJSON compares two JSON documents semantically.
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("request body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("body = %s\nwant   %s", bytes.TrimSpace(got), want)
	}
}

// Replies shaped like the real server's: every key it always sends, null where it sends
// null (a workspace's unset git_repo, a running jail's exit_code), and keys left out
// where it omits them (host paths and bind addresses for operators).
const (
	fixtureCredential = `{"tenant_id":"acme","service":"openai","added_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05.123456Z","fingerprint":"cbf29ce484222325"}`

	fixtureSession = `{"id":"sess_abc","created_at":"2026-01-02T03:04:05.5Z","expires_at":null,"services":["openai"],` +
		`"env":{"OPENAI_API_KEY":"phm_0123","OPENAI_BASE_URL":"http://127.0.0.1:8443/v1/openai/v1"}}`

	fixtureExec = `{"stdout":"hi\n","stderr":"","exit_code":0,"duration_ms":12,"timed_out":false,"oom_killed":false}`

	fixtureExecStats = `{"stdout":"","stderr":"","exit_code":137,"duration_ms":18446744073709551615,"timed_out":true,"oom_killed":false,` +
		`"stats":{"memory_peak_bytes":1048576,"memory_current_bytes":0,"cpu_usage_usec":2500,"io_read_bytes":1,"io_write_bytes":2,"pids_current":0}}`

	fixtureFork = `{"parent":{"stdout":"p","stderr":"","exit_code":0,"duration_ms":5,"timed_out":false,"oom_killed":false},` +
		`"child":{"stdout":"c","stderr":"","exit_code":0,"duration_ms":3,"timed_out":false,"oom_killed":false},` +
		`"children":[{"stdout":"c","stderr":"","exit_code":0,"duration_ms":3,"timed_out":false,"oom_killed":false}],` +
		`"fork":{"clone_ms":1,"files_cloned":2,"files_cow":2,"bytes_cloned":10,"method":"reflink","was_frozen":true},` +
		`"forks":[{"clone_ms":1,"files_cloned":2,"files_cow":2,"bytes_cloned":10,"method":"reflink","was_frozen":true}]}`

	fixtureWorkspace = `{"id":"wrk_abc","tenant_id":"acme","created_at":"2026-01-02T03:04:05Z","deleted_at":null,` +
		`"source_dir":"","output_dir":"","config":{"memory_mb":512,"timeout_secs":300,"cpu_percent":100,"max_pids":64,` +
		`"network_mode":"none","network_domains":[],"seccomp":"standard","idle_timeout_secs":90,"flavors":["node"]},` +
		`"git_repo":null,"git_ref":null,"label":"ci","domains":[{"domain":"a.local","vm_port":3000}],` +
		`"last_exec_at":null,"paused_at":null,"auto_snapshot":null}`

	fixtureSnapshot = `{"id":"snap_xyz","tenant_id":"acme","workspace_id":"wrk_abc","name":"baseline",` +
		`"created_at":"2026-01-02T03:04:05Z","path":"/var/lib/agentjail/snapshots/snap_xyz","size_bytes":12345}`

	fixtureJail = `{"id":0,"tenant_id":"acme","kind":"fork","started_at":"2026-01-02T03:04:05Z","ended_at":null,"status":"running",` +
		`"session_id":null,"label":"js · child 2","parent_id":7,"exit_code":null,"duration_ms":null,"timed_out":null,"oom_killed":null,` +
		`"memory_peak_bytes":null,"memory_current_bytes":null,"cpu_usage_usec":null,"io_read_bytes":null,"io_write_bytes":null,` +
		`"pids_current":null,"stdout":null,"stderr":null,"error":null,` +
		`"config":{"network_mode":"none","seccomp":"standard","memory_mb":512,"timeout_secs":300,"cpu_percent":100,"max_pids":64}}`

	fixtureConfigOperator = `{"proxy":{"base_url":"http://127.0.0.1:8443","providers":[{"service_id":"openai","upstream_base":"https://api.openai.com","request_prefix":"/v1/openai/"}]},` +
		`"control_plane":{},"gateway":null,"exec":{"default_memory_mb":512,"default_timeout_secs":300,"max_concurrent":16},` +
		`"persistence":{"idle_check_secs":30},"snapshots":{"gc":{"max_age_secs":null,"max_count":null,"tick_secs":60}}}`

	fixtureConfigAdmin = `{"proxy":{"base_url":"http://127.0.0.1:8443","bind_addr":"127.0.0.1:8443","providers":[]},` +
		`"control_plane":{"bind_addr":"127.0.0.1:7000"},"gateway":{"bind_addr":"0.0.0.0:80"},"exec":null,` +
		`"persistence":{"state_dir":"/var/lib/agentjail","snapshot_pool_dir":"/pool","idle_check_secs":30},` +
		`"snapshots":{"gc":{"max_age_secs":86400,"max_count":10,"tick_secs":60}}}`
)

// The API keys of the fake control plane's tenants in a stack.
const (
	adminKey    = "adm_token"
	operatorKey = "op_token"
	otherKey    = "other_token"
)

// stack is the fake control plane, the upstreams its phantom proxy forwards to, and an
// SDK client for tenant acme.
type stack struct {
	srv       *testserver.Server
	openai    *upstream
	anthropic *upstream
	client    *Client
}

// newStack starts a fake control plane with three tenants (admin dev, operators acme and
// globex), acme's openai and anthropic keys, and upstreams that record what reached them.
// It skips the test unless every program in bins is installed.
func newStack(t *testing.T, bins ...string) *stack {
	t.Helper()
	need(t, bins...)
	st := &stack{openai: newUpstream(t), anthropic: newUpstream(t)}
	st.srv = testserver.Start(t,
		testserver.WithAPIKeys(adminKey+"@dev:admin", operatorKey+"@acme:operator", otherKey+"@globex:operator"),
		testserver.WithCredential("acme", "openai", "sk-real-openai"),
		testserver.WithCredential("acme", "anthropic", "sk-ant-real"),
		testserver.WithUpstream("openai", st.openai.URL),
		testserver.WithUpstream("anthropic", st.anthropic.URL),
	)
	st.client = st.clientFor(t, operatorKey)
	return st
}

// clientFor returns a client of the stack's control plane with the given key.
func (st *stack) clientFor(t *testing.T, key string) *Client {
	t.Helper()
	c, err := NewClient(st.srv.URL(), WithAPIKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

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

// last returns the headers and path of the latest request the upstream saw.
func (u *upstream) last(t *testing.T) (http.Header, string) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		t.Fatal("the upstream saw no request")
	}
	return u.seen[len(u.seen)-1], u.path[len(u.path)-1]
}

// openaiSession creates a session with a phantom token for openai, with scopes if given.
func openaiSession(t *testing.T, c *Client, scopes ...string) *Session {
	t.Helper()
	p := SessionCreateParams{Services: []Service{ServiceOpenAI}}
	if scopes != nil {
		p.Scopes = map[Service][]string{ServiceOpenAI: scopes}
	}
	sess, err := c.Sessions.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// proxyCall calls the phantom proxy the way a sandbox would and returns the status.
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

// need skips the test unless every program in bins is installed.
func need(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s not installed", b)
		}
	}
}
