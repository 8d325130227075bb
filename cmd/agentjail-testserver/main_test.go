package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

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
		"CTL_ADDR":                       "127.0.0.1:0",
		"PROXY_ADDR":                     "127.0.0.1:0",
		"PROXY_BASE_URL":                 "http://127.0.0.1:18555",
		"AGENTJAIL_API_KEY":              " k1@acme:admin,,k2@beta:operator ",
		"GITHUB_TOKEN":                   "ghp-real",
		"STRIPE_API_KEY":                 "sk-stripe",
		"AGENTJAIL_STATE_DIR":            state,
		"AGENTJAIL_SNAPSHOT_POOL_DIR":    pool,
		"AGENTJAIL_TESTSERVER_ISOLATION": " None ",
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
	if strings.Contains(rn.logText(), "AUTHENTICATION IS DISABLED") || !strings.Contains(rn.logText(), "isolation=none") {
		t.Fatalf("logs:\n%s", rn.logText())
	}
}

// An unknown isolation is a configuration error: exit 2, nothing logged or bound.
func TestRunFailsOnUnknownIsolation(t *testing.T) {
	t.Parallel()
	err := runRefused(t, map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0", "AGENTJAIL_TESTSERVER_ISOLATION": "chroot"})
	if err == nil || !strings.Contains(err.Error(), `AGENTJAIL_TESTSERVER_ISOLATION: unknown isolation "chroot"`) || exitCode(err) != 2 {
		t.Fatalf("run = %v, want exit 2 naming the unknown isolation", err)
	}
}

func TestUsageWarns(t *testing.T) {
	t.Parallel()
	for _, want := range []string{"NOT a sandbox", "CTL_ADDR", "PROXY_ADDR", "PROXY_BASE_URL", "AGENTJAIL_API_KEY", "AGENTJAIL_STATE_DIR", "AGENTJAIL_SNAPSHOT_POOL_DIR", "AGENTJAIL_TESTSERVER_ISOLATION", "AGENTJAIL_UPSTREAM_", "SIGTERM"} {
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
