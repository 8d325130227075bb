package agentjail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSessionsRequests: the TTL goes out in whole seconds rounded up, a scope's nil list
// as [] (the server answers null with a 422), exec options and memory as the server
// expects them, and the session ID escaped into the path.
func TestSessionsRequests(t *testing.T) {
	t.Parallel()
	checkCalls(t, []apiCall{
		{name: "sessions create with ttl", reply: fixtureSession,
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
		{name: "sessions create without ttl sends only services", reply: fixtureSession,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI}})
			},
			method: "POST", path: "/v1/sessions", body: `{"services":["openai"]}`},
		{name: "sessions create ttl rounds up to whole seconds", reply: fixtureSession,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI}, TTL: 1500 * time.Millisecond})
			},
			method: "POST", path: "/v1/sessions", body: `{"services":["openai"],"ttl_secs":2}`},
		{name: "sessions create with scopes", reply: fixtureSession,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceGitHub},
					Scopes: map[Service][]string{ServiceGitHub: {"/repos/foo/*"}}})
			},
			method: "POST", path: "/v1/sessions", body: `{"services":["github"],"scopes":{"github":["/repos/foo/*"]}}`},
		{name: "sessions create empty sends {}", reply: fixtureSession,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{})
			},
			method: "POST", path: "/v1/sessions", body: `{}`},
		{name: "sessions list", reply: "[" + fixtureSession + "]",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Sessions.List(ctx) },
			method: "GET", path: "/v1/sessions",
			check: func(t *testing.T, got any) {
				if l := got.([]Session); len(l) != 1 || l[0].Services[0] != ServiceOpenAI {
					t.Fatalf("got %+v", l)
				}
			}},
		{name: "sessions get", reply: fixtureSession,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Sessions.Get(ctx, "sess_abc") },
			method: "GET", path: "/v1/sessions/sess_abc",
			check: func(t *testing.T, got any) {
				s := got.(*Session)
				if !s.CreatedAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC)) {
					t.Fatalf("created_at = %v", s.CreatedAt)
				}
			}},
		{name: "sessions exec", reply: fixtureExec,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Exec(ctx, "sess_1", SessionExecParams{Cmd: "echo", Args: []string{"hi"}, Timeout: 10 * time.Second})
			},
			method: "POST", path: "/v1/sessions/sess_1/exec", body: `{"cmd":"echo","args":["hi"],"timeout_secs":10}`,
			check: func(t *testing.T, got any) {
				if r := got.(*ExecResult); r.Stdout != "hi\n" || r.ExitCode != 0 || r.Stats != nil {
					t.Fatalf("got %+v", r)
				}
			}},
		{name: "sessions exec forwards exec options", reply: fixtureExec,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Exec(ctx, "sess_1", SessionExecParams{Cmd: "node", Args: []string{"-e", "1+1"}, MemoryMB: 256,
					ExecOptions: ExecOptions{Network: NetworkLoopback(), Seccomp: SeccompStandard}})
			},
			method: "POST", path: "/v1/sessions/sess_1/exec",
			body: `{"cmd":"node","args":["-e","1+1"],"memory_mb":256,"network":{"mode":"loopback"},"seccomp":"standard"}`},
		{name: "sessions exec unlimited memory sends 0", reply: fixtureExec,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Exec(ctx, "sess_1", SessionExecParams{Cmd: "true", MemoryMB: MemoryUnlimited})
			},
			method: "POST", path: "/v1/sessions/sess_1/exec", body: `{"cmd":"true","memory_mb":0}`},

		{name: "sessions create sends a nil scope list as []", reply: fixtureSession,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI, ServiceGitHub},
					Scopes: map[Service][]string{ServiceOpenAI: nil, ServiceGitHub: {"/repos/a/*"}}})
			},
			method: "POST", path: "/v1/sessions", body: `{"services":["openai","github"],"scopes":{"github":["/repos/a/*"],"openai":[]}}`},
		{name: "sessions create huge ttl", reply: fixtureSession,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI}, TTL: hugeDuration})
			},
			method: "POST", path: "/v1/sessions", body: `{"services":["openai"],"ttl_secs":9223372037}`},
		{name: "sessions create leaves out an empty scope map", reply: fixtureSession,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI, ServiceGitHub}, Scopes: map[Service][]string{}})
			},
			method: "POST", path: "/v1/sessions", body: `{"services":["openai","github"]}`},
		{name: "session id escaped", reply: fixtureSession,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Sessions.Get(ctx, "a/b?c#d e%") },
			method: "GET", path: "/v1/sessions/a%2Fb%3Fc%23d%20e%25"},
	})
	checkInvalid(t, []invalidCall{
		{"empty session id", func(ctx context.Context, c *Client) error { _, err := c.Sessions.Get(ctx, ""); return err }},
		{"dot session id", func(ctx context.Context, c *Client) error { return c.Sessions.Close(ctx, ".") }},
		{"dotdot session id", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Exec(ctx, "..", SessionExecParams{Cmd: "x"})
			return err
		}},
		{"negative ttl", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI}, TTL: -1})
			return err
		}},
		{"negative cpu", func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Exec(ctx, "s", SessionExecParams{Cmd: "x", ExecOptions: ExecOptions{CPUPercent: -1}})
			return err
		}},
	})
}

// TestEnviron: Environ is "KEY=value" sorted by variable name, even when one name is a
// prefix of another followed by a byte below '=', and values keep their own '='.
func TestEnviron(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"phantom env", map[string]string{"OPENAI_BASE_URL": "http://p/v1/openai/v1", "ANTHROPIC_API_KEY": "phm_a", "OPENAI_API_KEY": "phm_o=x"},
			[]string{"ANTHROPIC_API_KEY=phm_a", "OPENAI_API_KEY=phm_o=x", "OPENAI_BASE_URL=http://p/v1/openai/v1"}},
		{"prefix then dash", map[string]string{"A": "1", "A-B": "2", "A0": "3"}, []string{"A=1", "A-B=2", "A0=3"}},
		{"values with equals", map[string]string{"K": "a=b", "K_": "c"}, []string{"K=a=b", "K_=c"}},
		{"empty", nil, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := (&Session{Env: tc.env}).Environ()
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Environ() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSessionsFlow: against the fake control plane, a session's phantom token reaches
// the upstream as the real key (x-api-key for anthropic), closing revokes it, scopes
// and tenants are enforced, and exec runs with the phantom env injected.
func TestSessionsFlow(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	c, ctx := st.client, context.Background()

	sess := openaiSession(t, c)
	token := sess.Env["OPENAI_API_KEY"]
	if !strings.HasPrefix(sess.ID, "sess_") || !reflect.DeepEqual(sess.Services, []Service{"openai"}) ||
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
	if code := proxyCall(t, "POST", sess.Env["OPENAI_BASE_URL"]+"/chat/completions", token); code != 200 {
		t.Fatalf("proxy status %d", code)
	}
	hdr, path := st.openai.last(t)
	if hdr.Get("Authorization") != "Bearer sk-real-openai" || strings.Contains(strings.Join(hdr.Values("Authorization"), ""), "phm_") ||
		path != "/v1/chat/completions" {
		t.Fatalf("upstream saw Authorization %q path %q", hdr.Get("Authorization"), path)
	}
	if err := c.Sessions.Close(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if code := proxyCall(t, "POST", sess.Env["OPENAI_BASE_URL"]+"/chat/completions", token); code != 401 {
		t.Fatalf("revoked token got %d, want 401", code)
	}
	if _, err := c.Sessions.Get(ctx, sess.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after close: %v", err)
	}
	if err := c.Sessions.Close(ctx, sess.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second close: %v", err)
	}

	two, err := c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI, ServiceAnthropic}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Sessions.Close(ctx, two.ID)
	if two.Env["OPENAI_API_KEY"] == two.Env["ANTHROPIC_API_KEY"] || !strings.Contains(two.Env["OPENAI_BASE_URL"], "/v1/openai") ||
		!strings.Contains(two.Env["ANTHROPIC_BASE_URL"], "/v1/anthropic") {
		t.Fatalf("two-service env %v", two.Env)
	}
	if code := proxyCall(t, "POST", two.Env["ANTHROPIC_BASE_URL"]+"/v1/messages", two.Env["ANTHROPIC_API_KEY"]); code != 200 {
		t.Fatalf("anthropic proxy %d", code)
	}
	if hdr, _ := st.anthropic.last(t); hdr.Get("X-Api-Key") != "sk-ant-real" || hdr.Get("Anthropic-Version") != "2023-06-01" || hdr.Get("Authorization") != "" {
		t.Fatalf("anthropic upstream headers %v", hdr)
	}

	// A scoped session: only /v1/models/* may pass the proxy.
	scoped, err := c.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI},
		Scopes: map[Service][]string{ServiceOpenAI: {"/v1/models/*"}}, TTL: time.Hour})
	if err != nil || scoped.ExpiresAt == nil {
		t.Fatalf("scoped session %+v %v", scoped, err)
	}
	base, scopedToken := scoped.Env["OPENAI_BASE_URL"], scoped.Env["OPENAI_API_KEY"]
	if code := proxyCall(t, "GET", base+"/models/gpt", scopedToken); code != 200 {
		t.Fatalf("in scope: %d", code)
	}
	if code := proxyCall(t, "POST", base+"/chat/completions", scopedToken); code != 403 {
		t.Fatalf("out of scope: %d", code)
	}
	// globex has no openai credential, and cannot see acme's session; an admin can.
	globex, admin := st.clientFor(t, otherKey), st.clientFor(t, adminKey)
	if _, err := globex.Sessions.Create(ctx, SessionCreateParams{Services: []Service{ServiceOpenAI}}); !errors.Is(err, ErrBadRequest) ||
		!strings.Contains(err.Error(), "no credential configured for service openai") {
		t.Fatalf("globex create: %v", err)
	}
	if _, err := globex.Sessions.Get(ctx, scoped.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cross-tenant get: %v", err)
	}
	if list, _ := globex.Sessions.List(ctx); len(list) != 0 {
		t.Fatalf("globex sees %d sessions", len(list))
	}
	if _, err := admin.Sessions.Get(ctx, scoped.ID); err != nil {
		t.Fatalf("admin sees every tenant: %v", err)
	}

	need(t, "sh")
	res, err := c.Sessions.Exec(ctx, two.ID, SessionExecParams{Cmd: "/bin/sh", Args: []string{"-c", "echo hello-from-sdk"}})
	if err != nil || res.ExitCode != 0 || !strings.Contains(res.Stdout, "hello-from-sdk") || res.TimedOut || res.OOMKilled || res.DurationMS <= 0 {
		t.Fatalf("exec %+v %v", res, err)
	}
	res, err = c.Sessions.Exec(ctx, two.ID, SessionExecParams{Cmd: "/bin/sh", Args: []string{"-c", "echo $OPENAI_API_KEY"}})
	if err != nil || !strings.HasPrefix(res.Stdout, "phm_") {
		t.Fatalf("exec env %+v %v", res, err)
	}
}

// sessionServer answers every request with fixtureSession, like GET /v1/sessions/{id}, and
// counts the connections opened to it.
func sessionServer(tb testing.TB) (*httptest.Server, *atomic.Int32) {
	body := []byte(fixtureSession)
	opened := new(atomic.Int32)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv, opened
}

// baselineGet is the hand-written standard-library call the SDK is measured against:
// the same request (auth and accept headers, escaped ID) decoded into the same type.
func baselineGet(ctx context.Context, hc *http.Client, base, key, id string) (*Session, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/sessions/"+id, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var s Session
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

func benchClients(tb testing.TB) (*Client, *http.Client, string) {
	srv, _ := sessionServer(tb)
	hc := &http.Client{Transport: defaultTransport()}
	c, err := NewClient(srv.URL, WithAPIKey("k"), WithHTTPClient(hc))
	if err != nil {
		tb.Fatal(err)
	}
	return c, hc, srv.URL
}

func BenchmarkSessionsGet(b *testing.B) {
	c, _, _ := benchClients(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := c.Sessions.Get(ctx, "sess_abc"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSessionsGetBaseline(b *testing.B) {
	_, hc, base := benchClients(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := baselineGet(ctx, hc, base, "k", "sess_abc"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSessionsGetAllocBudget pins the SDK's overhead. The budget is 10 allocations per call
// more than the hand-written baseline; the SDK currently makes none more, so the test allows
// two, to catch a regression long before the budget is spent (the trailing-data check once
// added five unnoticed).
func TestSessionsGetAllocBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	c, hc, base := benchClients(t)
	ctx := context.Background()
	sdk := testing.AllocsPerRun(200, func() {
		if _, err := c.Sessions.Get(ctx, "sess_abc"); err != nil {
			t.Fatal(err)
		}
	})
	hand := testing.AllocsPerRun(200, func() {
		if _, err := baselineGet(ctx, hc, base, "k", "sess_abc"); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("allocs per call: SDK %.0f, baseline %.0f", sdk, hand)
	if sdk > hand+2 {
		t.Fatalf("SDK allocates %.0f per call, baseline %.0f: more than 2 over it (budget +10)", sdk, hand)
	}
}

// burstWorkers is how many goroutines call at once in the burst test and benchmarks.
const burstWorkers = 64

// burst releases burstWorkers goroutines together, each making one call, and waits for
// them all.
func burst(tb testing.TB, call func(context.Context) error) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range burstWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := call(context.Background()); err != nil {
				tb.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
}

// TestBurstReusesConnections: 64 goroutines calling in bursts open no more
// connections than there are goroutines.
func TestBurstReusesConnections(t *testing.T) {
	t.Parallel()
	srv, opened := sessionServer(t)
	c := testClient(t, srv.URL)
	const bursts = 5
	for range bursts {
		burst(t, func(ctx context.Context) error {
			_, err := c.Sessions.Get(ctx, "sess_abc")
			return err
		})
	}
	// net/http puts a finished connection back in its pool on its own goroutine, just
	// after the caller has read the body, so on a loaded machine a call of the next burst
	// can occasionally dial before its predecessor's connection is back. An eighth more
	// allows for that; without reuse the bursts would open 5×64 = 320, and a transport that
	// keeps the standard two idle connections per host about 64 + 4×62 = 312.
	n := opened.Load()
	t.Logf("%d connections opened for %d goroutines over %d bursts", n, burstWorkers, bursts)
	if n > burstWorkers+burstWorkers/8 {
		t.Fatalf("%d connections opened for %d goroutines over %d bursts", n, burstWorkers, bursts)
	}
}

// BenchmarkSessionsGetBurst64 times bursts of 64 concurrent Sessions.Get calls through a
// client with the default options, and reports the connections opened over the whole run.
func BenchmarkSessionsGetBurst64(b *testing.B) {
	srv, opened := sessionServer(b)
	c, err := NewClient(srv.URL, WithAPIKey("k"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.hc.CloseIdleConnections) // leave no connections behind for later benchmarks
	b.ReportAllocs()
	for range b.N {
		burst(b, func(ctx context.Context) error {
			_, err := c.Sessions.Get(ctx, "sess_abc")
			return err
		})
	}
	b.ReportMetric(float64(opened.Load()), "conns")
}

// BenchmarkSessionsGetBurst64Baseline is the same bursts, hand-written with the best
// standard-library set-up: a transport that keeps 64 idle connections per host. (A zero
// http.Client keeps two, and opens thousands of connections here.)
func BenchmarkSessionsGetBurst64Baseline(b *testing.B) {
	srv, opened := sessionServer(b)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = burstWorkers
	hc := &http.Client{Transport: t}
	b.Cleanup(t.CloseIdleConnections)
	b.ReportAllocs()
	for range b.N {
		burst(b, func(ctx context.Context) error {
			_, err := baselineGet(ctx, hc, srv.URL, "k", "sess_abc")
			return err
		})
	}
	b.ReportMetric(float64(opened.Load()), "conns")
}
