package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// running is one run() in the background.
type running struct {
	ctl, proxy string
	stdout     lockedBuffer
	logs       lockedBuffer
}

func (r *running) logText() string { return r.logs.String() }

// lockedBuffer is a strings.Builder safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// readyRe is the whole ready line.
var readyRe = regexp.MustCompile(`^agentjail-testserver: listening control=(http://[^ :]+:[1-9][0-9]*) proxy=(http://[^ :]+:[1-9][0-9]*)$`)

// startRun runs the command's main logic with env and waits for the ready line on its
// stdout. Cleanup cancels it, checks it shut down cleanly and that stdout held nothing
// but that one line.
func startRun(t *testing.T, env map[string]string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	rn := &running{}
	ready := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			rn.stdout.Write([]byte(sc.Text() + "\n"))
			select {
			case ready <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, pr)
	}()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, func(k string) string { return env[k] }, pw, &rn.logs)
		pw.Close()
	}()
	select {
	case line := <-ready:
		m := readyRe.FindStringSubmatch(line)
		if m == nil {
			cancel()
			t.Fatalf("stdout line %q is not the ready line", line)
		}
		rn.ctl, rn.proxy = m[1], m[2]
	case err := <-errc:
		cancel()
		t.Fatalf("run exited early: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run returned %v after cancel", err)
		}
		<-scanned
		if lines := strings.Count(rn.stdout.String(), "\n"); lines != 1 {
			t.Errorf("stdout has %d lines, want only the ready line:\n%s", lines, rn.stdout.String())
		}
	})
	return rn
}

type resp struct {
	status int
	body   string
}

func call(t *testing.T, method, url, auth, body string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(b)}
}

func decode(t *testing.T, r resp, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d body %q, want %d", r.status, r.body, status)
	}
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

type sessionJSON struct {
	ID       string            `json:"id"`
	Services []string          `json:"services"`
	Env      map[string]string `json:"env"`
}

type auditJSON struct {
	Rows  []map[string]any `json:"rows"`
	Total uint64           `json:"total"`
}

// TestIntegrationSuiteFlows replays flows 1–10 of the upstream project's
// TypeScript integration suite with that suite's environment (suiteEnv),
// except that the OpenAI upstream is a local recorder instead of the internet.
func TestIntegrationSuiteFlows(t *testing.T) {
	t.Parallel()
	seen := make(chan http.Header, 8)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"choices":[]}`)
	}))
	t.Cleanup(up.Close)
	const apiKey = "aj_integration_test"
	env := suiteEnv(apiKey)
	env["AGENTJAIL_UPSTREAM_OPENAI"] = up.URL
	rn := startRun(t, env)
	ctl := rn.ctl
	_, proxyPort, _ := strings.Cut(strings.TrimPrefix(rn.proxy, "http://"), ":")

	// 1. healthz
	if r := call(t, "GET", ctl+"/healthz", "", ""); r.status != 200 || r.body != "ok" {
		t.Fatalf("flow 1: %+v", r)
	}
	// 2. create a session
	var sess sessionJSON
	decode(t, call(t, "POST", ctl+"/v1/sessions", apiKey, `{"services":["openai"]}`), 201, &sess)
	if !strings.HasPrefix(sess.ID, "sess_") || len(sess.Services) != 1 || sess.Services[0] != "openai" ||
		!strings.HasPrefix(sess.Env["OPENAI_API_KEY"], "phm_") || !strings.Contains(sess.Env["OPENAI_BASE_URL"], proxyPort) {
		t.Fatalf("flow 2: %+v", sess)
	}
	// 3. list
	var list []sessionJSON
	decode(t, call(t, "GET", ctl+"/v1/sessions", apiKey, ""), 200, &list)
	if len(list) < 1 {
		t.Fatal("flow 3: empty list")
	}
	// 4. get
	var got sessionJSON
	decode(t, call(t, "GET", ctl+"/v1/sessions/"+sess.ID, apiKey, ""), 200, &got)
	if got.ID != sess.ID || got.Env["OPENAI_API_KEY"] != sess.Env["OPENAI_API_KEY"] {
		t.Fatalf("flow 4: %+v", got)
	}
	// 5. a sandbox call through the proxy, then the audit log
	tok := sess.Env["OPENAI_API_KEY"]
	if r := call(t, "POST", sess.Env["OPENAI_BASE_URL"]+"/chat/completions", tok, `{"model":"gpt"}`); r.status != 200 {
		t.Fatalf("flow 5 proxy: %+v", r)
	}
	if h := <-seen; h.Get("Authorization") != "Bearer sk-real-openai" {
		t.Fatalf("flow 5: upstream got Authorization %q", h.Get("Authorization"))
	}
	var audit auditJSON
	decode(t, call(t, "GET", ctl+"/v1/audit?limit=10", apiKey, ""), 200, &audit)
	if audit.Total == 0 || len(audit.Rows) == 0 || audit.Rows[0]["service"] != "openai" || audit.Rows[0]["session_id"] != sess.ID {
		t.Fatalf("flow 5 audit: %+v", audit)
	}
	// 6. close, then the proxy refuses the token
	if r := call(t, "DELETE", ctl+"/v1/sessions/"+sess.ID, apiKey, ""); r.status != 204 {
		t.Fatalf("flow 6 close: %+v", r)
	}
	if r := call(t, "POST", sess.Env["OPENAI_BASE_URL"]+"/chat/completions", tok, `{}`); r.status != 401 || r.body != "unknown phantom token" {
		t.Fatalf("flow 6: %+v", r)
	}
	// 7. get after close
	if r := call(t, "GET", ctl+"/v1/sessions/"+sess.ID, apiKey, ""); r.status != 404 {
		t.Fatalf("flow 7: %+v", r)
	}
	// 8. credential CRUD with stripe
	var rec map[string]any
	decode(t, call(t, "POST", ctl+"/v1/credentials", apiKey, `{"service":"stripe","secret":"sk_test_x"}`), 200, &rec)
	if rec["service"] != "stripe" || rec["fingerprint"] == "" {
		t.Fatalf("flow 8 put: %v", rec)
	}
	hasStripe := func() bool {
		var recs []map[string]any
		decode(t, call(t, "GET", ctl+"/v1/credentials", apiKey, ""), 200, &recs)
		for _, r := range recs {
			if r["service"] == "stripe" {
				return true
			}
		}
		return false
	}
	if !hasStripe() {
		t.Fatal("flow 8: stripe not listed")
	}
	if r := call(t, "DELETE", ctl+"/v1/credentials/stripe", apiKey, ""); r.status != 204 {
		t.Fatalf("flow 8 delete: %+v", r)
	}
	if hasStripe() {
		t.Fatal("flow 8: stripe still listed")
	}
	// 9. two services, two tokens
	var two sessionJSON
	decode(t, call(t, "POST", ctl+"/v1/sessions", apiKey, `{"services":["openai","anthropic"]}`), 201, &two)
	if two.Env["OPENAI_API_KEY"] == two.Env["ANTHROPIC_API_KEY"] || !strings.HasPrefix(two.Env["ANTHROPIC_API_KEY"], "phm_") ||
		!strings.Contains(two.Env["OPENAI_BASE_URL"], "/v1/openai") || !strings.Contains(two.Env["ANTHROPIC_BASE_URL"], "/v1/anthropic") {
		t.Fatalf("flow 9: %+v", two)
	}
	if r := call(t, "DELETE", ctl+"/v1/sessions/"+two.ID, apiKey, ""); r.status != 204 {
		t.Fatalf("flow 9 close: %+v", r)
	}
	// 10. audit without a limit
	decode(t, call(t, "GET", ctl+"/v1/audit", apiKey, ""), 200, &audit)
	if audit.Total == 0 {
		t.Fatal("flow 10: total 0")
	}
	for _, k := range []string{"service", "method", "status"} {
		if _, ok := audit.Rows[0][k]; !ok {
			t.Fatalf("flow 10: row lacks %s: %v", k, audit.Rows[0])
		}
	}

	logs := rn.logText()
	// As against the real server, the suite's bare token leaves authentication off.
	if !strings.Contains(logs, "NOT a sandbox") || !strings.Contains(logs, "AUTHENTICATION IS DISABLED") {
		t.Fatalf("logs:\n%s", logs)
	}
	for _, secret := range []string{apiKey, "sk-real-openai", "sk-ant-real-anthropic", tok} {
		if strings.Contains(logs, secret) {
			t.Fatalf("logs contain a secret %q", secret)
		}
	}
}

func TestRunConfiguration(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	pool := filepath.Join(t.TempDir(), "pool")
	rn := startRun(t, map[string]string{
		"CTL_ADDR":                    "127.0.0.1:0",
		"PROXY_ADDR":                  "127.0.0.1:0",
		"PROXY_BASE_URL":              "http://127.0.0.1:18555",
		"AGENTJAIL_API_KEY":           " k1@acme:admin,,k2@beta:operator ",
		"GITHUB_TOKEN":                "ghp-real",
		"STRIPE_API_KEY":              "sk-stripe",
		"AGENTJAIL_STATE_DIR":         state,
		"AGENTJAIL_SNAPSHOT_POOL_DIR": pool,
	})
	tests := []struct {
		name   string
		method string
		path   string
		key    string
		body   string
		status int
		want   string
	}{
		{name: "auth is on", method: "GET", path: "/v1/whoami", status: 401, want: "missing api key"},
		{name: "first valid key", method: "GET", path: "/v1/whoami", key: "k1", status: 200, want: `{"tenant":"acme","role":"admin"}`},
		{name: "second valid key", method: "GET", path: "/v1/whoami", key: "k2", status: 200, want: `{"tenant":"beta","role":"operator"}`},
		{name: "unknown token", method: "GET", path: "/v1/whoami", key: "k3", status: 401, want: "invalid api key"},
		{name: "the whole entry is not a token", method: "GET", path: "/v1/whoami", key: "k1@acme:admin", status: 401, want: "invalid api key"},
		{name: "env keys are seeded under dev, so an operator has none", method: "POST", path: "/v1/sessions", key: "k2", body: `{"services":["github"]}`, status: 400, want: `{"error":"bad request: no credential configured for service github (tenant beta)"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := call(t, tt.method, rn.ctl+tt.path, tt.key, tt.body)
			if r.status != tt.status || r.body != tt.want {
				t.Fatalf("got %d %q, want %d %q", r.status, r.body, tt.status, tt.want)
			}
		})
	}
	var sess sessionJSON
	decode(t, call(t, "POST", rn.ctl+"/v1/sessions", "k1", `{"services":["github","stripe"]}`), 201, &sess)
	if sess.Env["GITHUB_API_URL"] != "http://127.0.0.1:18555/v1/github" {
		t.Fatalf("PROXY_BASE_URL not used: %v", sess.Env)
	}
	var cfg struct {
		Persistence struct {
			StateDir        string `json:"state_dir"`
			SnapshotPoolDir string `json:"snapshot_pool_dir"`
		} `json:"persistence"`
	}
	decode(t, call(t, "GET", rn.ctl+"/v1/config", "k1", ""), 200, &cfg)
	if cfg.Persistence.StateDir != state || cfg.Persistence.SnapshotPoolDir != pool {
		t.Fatalf("persistence %+v, want state dir %q and pool %q", cfg.Persistence, state, pool)
	}
	if strings.Contains(rn.logText(), "AUTHENTICATION IS DISABLED") {
		t.Fatalf("logs:\n%s", rn.logText())
	}
}

func TestUsageWarns(t *testing.T) {
	t.Parallel()
	for _, want := range []string{"NOT a sandbox", "CTL_ADDR", "PROXY_ADDR", "PROXY_BASE_URL", "AGENTJAIL_API_KEY", "AGENTJAIL_STATE_DIR", "AGENTJAIL_SNAPSHOT_POOL_DIR", "AGENTJAIL_UPSTREAM_", "SIGTERM"} {
		if !strings.Contains(usage, want) {
			t.Fatalf("usage lacks %q", want)
		}
	}
}

// TestIntegrationSuiteExecFlows replays flows 11–14 of the upstream suite
// (the Linux-only ones): session exec with the phantom env, runs and a
// timeout.
func TestIntegrationSuiteExecFlows(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("needs /bin/sh")
	}
	const apiKey = "aj_integration_test"
	rn := startRun(t, suiteEnv(apiKey))
	var sess sessionJSON
	decode(t, call(t, "POST", rn.ctl+"/v1/sessions", apiKey, `{"services":["openai"]}`), 201, &sess)
	type execResult struct {
		Stdout     string `json:"stdout"`
		ExitCode   int    `json:"exit_code"`
		DurationMS uint64 `json:"duration_ms"`
		TimedOut   bool   `json:"timed_out"`
		OOMKilled  bool   `json:"oom_killed"`
	}
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		check  func(r execResult) bool
	}{
		{
			name: "11 session exec", path: "/v1/sessions/" + sess.ID + "/exec", status: 200,
			body: `{"cmd":"/bin/sh","args":["-c","echo hello-from-sdk"]}`,
			check: func(r execResult) bool {
				return r.ExitCode == 0 && strings.Contains(r.Stdout, "hello-from-sdk") && !r.TimedOut && !r.OOMKilled && r.DurationMS > 0
			},
		},
		{
			name: "12 phantom env is injected", path: "/v1/sessions/" + sess.ID + "/exec", status: 200,
			body:  `{"cmd":"/bin/sh","args":["-c","echo $OPENAI_API_KEY"]}`,
			check: func(r execResult) bool { return strings.HasPrefix(r.Stdout, "phm_") },
		},
		{
			name: "13 run", path: "/v1/runs", status: 201,
			body:  `{"code":"echo run-from-sdk","language":"bash"}`,
			check: func(r execResult) bool { return r.ExitCode == 0 && strings.Contains(r.Stdout, "run-from-sdk") },
		},
		{
			name: "14 timeout", path: "/v1/runs", status: 201,
			body:  `{"code":"sleep 60","language":"bash","timeout_secs":2}`,
			check: func(r execResult) bool { return r.TimedOut },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var res execResult
			decode(t, call(t, "POST", rn.ctl+tt.path, apiKey, tt.body), tt.status, &res)
			if !tt.check(res) {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// suiteEnv is the environment the upstream project's TypeScript integration suite gives the
// server, on free loopback ports. That suite sets AGENTJAIL_API_KEY to the bare token, which
// the real server skips as malformed (so it runs with authentication off); this command
// refuses such a key unless AGENTJAIL_TESTSERVER_SKIP_MALFORMED_KEYS=1, which a harness
// running that suite sets, as here.
func suiteEnv(apiKey string) map[string]string {
	return map[string]string{
		"CTL_ADDR":           "127.0.0.1:0",
		"PROXY_ADDR":         "127.0.0.1:0",
		"AGENTJAIL_API_KEY":  apiKey,
		skipMalformedKeysEnv: "1",
		"OPENAI_API_KEY":     "sk-real-openai",
		"ANTHROPIC_API_KEY":  "sk-ant-real-anthropic",
		"RUST_LOG":           "warn",
	}
}

// TestRunSkipsMalformedAPIKeyWhenAsked pins the opt-in to the real server's handling: with
// AGENTJAIL_TESTSERVER_SKIP_MALFORMED_KEYS=1 a malformed entry is skipped with a warning
// that names its position but not its token, and the good entries still authenticate.
func TestRunSkipsMalformedAPIKeyWhenAsked(t *testing.T) {
	t.Parallel()
	rn := startRun(t, map[string]string{
		"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0",
		"AGENTJAIL_API_KEY":  "bare_skipped_secret_9,good_tok@acme:admin",
		skipMalformedKeysEnv: "1",
	})
	if r := call(t, "GET", rn.ctl+"/v1/whoami", "bare_skipped_secret_9", ""); r.status != 401 {
		t.Errorf("skipped entry's token: status %d, want 401", r.status)
	}
	if r := call(t, "GET", rn.ctl+"/v1/whoami", "good_tok", ""); r.status != 200 {
		t.Errorf("good entry's token: status %d, want 200", r.status)
	}
	logs := rn.logs.String()
	if !strings.Contains(logs, "skipping an entry as the real server does") || !strings.Contains(logs, "entry 1 of 2 is malformed") {
		t.Errorf("no skip warning in the logs: %s", logs)
	}
	if strings.Contains(logs, "bare_skipped_secret_9") {
		t.Errorf("the skipped token is in the logs: %s", logs)
	}
}

// TestRunRefusesMalformedAPIKey pins the fail-closed start: one malformed entry stops
// the start-up (the real server would skip it, possibly leaving authentication off),
// naming the entry's position and never its token, before anything is logged or bound.
func TestRunRefusesMalformedAPIKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		value   string
		want    []string
		secrets []string
	}{
		{"a bare token, the client's form", "aj_bare_secret_1", []string{"entry 1 of 1 is malformed (api key must look like token@tenant:role)"}, []string{"aj_bare_secret_1"}},
		{"a bad entry after a good one", "k1@acme:admin, sk_second_secret_2@acme", []string{"entry 2 of 2 is malformed"}, []string{"sk_second_secret_2"}},
		{"an upper-case tenant", "tok_third_secret_3@Acme:admin", []string{"entry 1 of 1 is malformed (api key tenant must match"}, []string{"tok_third_secret_3"}},
		{"an unknown role, counting empty entries", "k1@acme:admin,,tok_fourth_secret_4@acme:root", []string{"entry 3 of 3 is malformed (api key role must be admin or operator)"}, []string{"tok_fourth_secret_4"}},
		{"whitespace in the token", "tok fifth_secret_5@acme:admin", []string{"entry 1 of 1 is malformed (api key token must be non-empty without whitespace)"}, []string{"fifth_secret_5"}},
		{"every bad entry is named", "bad_sixth_secret_6,k@acme:admin,bad_seventh_secret_7", []string{"entry 1 of 3 is malformed", "entry 3 of 3 is malformed"}, []string{"bad_sixth_secret_6", "bad_seventh_secret_7"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0", "AGENTJAIL_API_KEY": tc.value}
			var stdout, logs strings.Builder
			err := run(context.Background(), func(k string) string { return env[k] }, &stdout, &logs)
			if err == nil {
				t.Fatal("run started with a malformed AGENTJAIL_API_KEY")
			}
			if exitCode(err) != 2 {
				t.Errorf("exit code %d, want 2", exitCode(err))
			}
			msg := err.Error()
			for _, w := range append([]string{"AGENTJAIL_API_KEY: ", "token@tenant:role", "Refusing to start"}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q: %s", w, msg)
				}
			}
			for _, secret := range tc.secrets {
				if strings.Contains(msg, secret) {
					t.Errorf("error contains the token %q: %s", secret, msg)
				}
			}
			if stdout.Len() != 0 || logs.Len() != 0 {
				t.Errorf("output before refusing: stdout %q, logs %q", stdout.String(), logs.String())
			}
		})
	}
}

// TestMainExitStatus runs the built command: a malformed key exits 2 with the message
// on stderr and nothing on stdout.
func TestMainExitStatus(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "CTL_ADDR=127.0.0.1:0", "PROXY_ADDR=127.0.0.1:0",
		"AGENTJAIL_API_KEY=aj_main_secret")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2\nstderr: %s", err, stderr.String())
	}
	want := "agentjail-testserver: AGENTJAIL_API_KEY: entry 1 of 1 is malformed"
	if stdout.Len() != 0 || !strings.HasPrefix(stderr.String(), want) || strings.Contains(stderr.String(), "aj_main_secret") {
		t.Fatalf("stdout %q\nstderr %q\nwant stderr starting %q without the token", stdout.String(), stderr.String(), want)
	}
}

// runMainEnv makes the test binary run main instead of the tests.
const runMainEnv = "AGENTJAIL_TESTSERVER_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Args = os.Args[:1]
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunReadyLine pins the one stdout line a script waits for: printed once both
// listeners serve, after the warnings, with the ports port 0 picked.
func TestRunReadyLine(t *testing.T) {
	t.Parallel()
	rn := startRun(t, map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0"})
	if r := call(t, "GET", rn.ctl+"/healthz", "", ""); r.status != 200 || r.body != "ok" {
		t.Fatalf("control plane at the ready line's URL: %+v", r)
	}
	if r := call(t, "GET", rn.proxy+"/v1/openai/models", "", ""); r.status != 401 {
		t.Fatalf("proxy at the ready line's URL: %+v", r)
	}
	if rn.ctl == rn.proxy {
		t.Fatalf("one URL for both listeners: %s", rn.ctl)
	}
	logs := rn.logText()
	for _, want := range []string{"AUTHENTICATION IS DISABLED", "NOT a sandbox"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("logs lack %q:\n%s", want, logs)
		}
	}
}

// TestRunListenFailure pins the message for an address that cannot be used: it names
// the variable to change and its value, and nothing (not even the authentication
// warning) is printed before it.
func TestRunListenFailure(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	busy := taken.Addr().String()
	// A port nothing listens on, for the case of both variables naming it.
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	same := free.Addr().String()
	free.Close()

	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"control port taken", map[string]string{"CTL_ADDR": busy, "PROXY_ADDR": "127.0.0.1:0"},
			"cannot listen on CTL_ADDR=" + busy + ": "},
		{"proxy port taken", map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": busy},
			"cannot listen on PROXY_ADDR=" + busy + ": "},
		{"both on one port", map[string]string{"CTL_ADDR": same, "PROXY_ADDR": same},
			"cannot listen on PROXY_ADDR=" + same + ": "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, logs strings.Builder
			err := run(context.Background(), func(k string) string { return tc.env[k] }, &stdout, &logs)
			if err == nil {
				t.Fatal("run started")
			}
			name, _, _ := strings.Cut(strings.TrimPrefix(tc.want, "cannot listen on "), "=")
			if msg := err.Error(); !strings.HasPrefix(msg, tc.want) || !strings.Contains(msg, "set "+name+" to a free address") {
				t.Errorf("error %q, want it to start %q and say to set %s", msg, tc.want, name)
			}
			if tc.env["CTL_ADDR"] == tc.env["PROXY_ADDR"] && !strings.Contains(err.Error(), "different from CTL_ADDR") {
				t.Errorf("error %q does not say the addresses must differ", err)
			}
			if exitCode(err) != 1 {
				t.Errorf("exit code %d, want 1", exitCode(err))
			}
			if stdout.Len() != 0 || logs.Len() != 0 {
				t.Errorf("output before failing: stdout %q, logs %q", stdout.String(), logs.String())
			}
		})
	}
}

// The GC and idle-reaper variables are read like the real server's: trimmed, an optional "+",
// blank or unparsable meaning unset (and the default).
func TestRunBackgroundSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		gc   string
		idle string
	}{
		{name: "defaults", env: map[string]string{}, gc: `{"max_age_secs":null,"max_count":null,"tick_secs":60}`, idle: "30"},
		{name: "set", env: map[string]string{
			"AGENTJAIL_SNAPSHOT_MAX_AGE_SECS": " 3600 ", "AGENTJAIL_SNAPSHOT_MAX_COUNT": "+20",
			"AGENTJAIL_SNAPSHOT_GC_TICK_SECS": "0", "AGENTJAIL_IDLE_CHECK_INTERVAL_SECS": "0",
		}, gc: `{"max_age_secs":3600,"max_count":20,"tick_secs":0}`, idle: "0"},
		{name: "unparsable is unset", env: map[string]string{
			"AGENTJAIL_SNAPSHOT_MAX_AGE_SECS": "1h", "AGENTJAIL_SNAPSHOT_MAX_COUNT": "-1",
			"AGENTJAIL_SNAPSHOT_GC_TICK_SECS": "  ", "AGENTJAIL_IDLE_CHECK_INTERVAL_SECS": "5s",
		}, gc: `{"max_age_secs":null,"max_count":null,"tick_secs":60}`, idle: "30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0"}
			for k, v := range tt.env {
				env[k] = v
			}
			rn := startRun(t, env)
			var cfg struct {
				Persistence struct {
					IdleCheckSecs json.RawMessage `json:"idle_check_secs"`
				} `json:"persistence"`
				Snapshots struct {
					GC json.RawMessage `json:"gc"`
				} `json:"snapshots"`
			}
			decode(t, call(t, "GET", rn.ctl+"/v1/config", "", ""), 200, &cfg)
			if string(cfg.Snapshots.GC) != tt.gc || string(cfg.Persistence.IdleCheckSecs) != tt.idle {
				t.Fatalf("gc %s idle %s, want %s %s", cfg.Snapshots.GC, cfg.Persistence.IdleCheckSecs, tt.gc, tt.idle)
			}
		})
	}
}

func TestRunJSONLogs(t *testing.T) {
	t.Parallel()
	rn := startRun(t, map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0", "LOG_FORMAT": "json"})
	for _, line := range strings.Split(strings.TrimSpace(rn.logText()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
	}
	if r := call(t, "GET", rn.ctl+"/healthz", "", ""); r.status != 200 {
		t.Fatalf("healthz %d", r.status)
	}
}

// CTL_ADDR and PROXY_ADDR must be an IP literal and port, as the real server parses them; any
// other value stops the start-up before anything listens.
func TestRunRefusesListenAddressNotIPAndPort(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, ctl, proxy, want string }{
		{"host name", "localhost:0", "127.0.0.1:0", `parsing CTL_ADDR: "localhost:0"`},
		{"every interface without an IP", ":0", "127.0.0.1:0", `parsing CTL_ADDR: ":0"`},
		{"not an IP", "256.1.1.1:1", "127.0.0.1:0", `parsing CTL_ADDR: "256.1.1.1:1"`},
		{"proxy host name", "127.0.0.1:0", "localhost:0", `parsing PROXY_ADDR: "localhost:0"`},
		{"proxy port only", "127.0.0.1:0", "8443", `parsing PROXY_ADDR: "8443"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CTL_ADDR": tt.ctl, "PROXY_ADDR": tt.proxy}
			var stdout, logs strings.Builder
			// Already cancelled: a run that wrongly starts returns at once instead of serving.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := run(ctx, func(k string) string { return env[k] }, &stdout, &logs)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || exitCode(err) != 2 {
				t.Fatalf("run: %v (exit %d), want an error starting %s and exit 2", err, exitCode(err), tt.want)
			}
			if stdout.Len() != 0 || logs.Len() != 0 {
				t.Errorf("output before failing: stdout %q, logs %q", stdout.String(), logs.String())
			}
		})
	}
}

// AGENTJAIL_GATEWAY_ADDR starts the gateway when it is an IP literal and port, and is
// silently ignored otherwise, like the real server's.
func TestRunGatewayAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, addr string
		on         bool
	}{
		{"IP and port", "127.0.0.1:0", true},
		{"unset", "", false},
		{"host name is ignored", "localhost:0", false},
		{"port only is ignored", ":0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rn := startRun(t, map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0", "AGENTJAIL_GATEWAY_ADDR": tt.addr})
			var cfg struct {
				Gateway *struct {
					BindAddr string `json:"bind_addr"`
				} `json:"gateway"`
			}
			decode(t, call(t, "GET", rn.ctl+"/v1/config", "", ""), 200, &cfg)
			if (cfg.Gateway != nil) != tt.on {
				t.Fatalf("gateway %+v, want on %v", cfg.Gateway, tt.on)
			}
			if strings.Contains(rn.logText(), "gateway") != tt.on {
				t.Fatalf("logs mention the gateway: %v, want %v:\n%s", !tt.on, tt.on, rn.logText())
			}
			if !tt.on {
				return
			}
			r := call(t, "GET", "http://"+cfg.Gateway.BindAddr+"/", "", "")
			if want := "gateway: no workspace declares host 127.0.0.1\n"; r.status != 404 || r.body != want {
				t.Fatalf("gateway answered %d %q, want 404 %q", r.status, r.body, want)
			}
		})
	}
}

// A whitespace-only upstream key is no key, as in the real server.
func TestRunIgnoresBlankSeededKey(t *testing.T) {
	t.Parallel()
	rn := startRun(t, map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0", "OPENAI_API_KEY": " \t ", "GITHUB_TOKEN": "ghp-real"})
	r := call(t, "POST", rn.ctl+"/v1/sessions", "", `{"services":["openai"]}`)
	if want := `{"error":"bad request: no credential configured for service openai (tenant dev)"}`; r.status != 400 || r.body != want {
		t.Fatalf("session with a blank key: %d %q, want 400 %q", r.status, r.body, want)
	}
	var sess sessionJSON
	decode(t, call(t, "POST", rn.ctl+"/v1/sessions", "", `{"services":["github"]}`), 201, &sess)
}
