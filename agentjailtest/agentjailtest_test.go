package agentjailtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/agentjailtest"
)

// wantLog fails t unless the server's request log is exactly want.
func wantLog(t *testing.T, srv *agentjailtest.Server, want ...agentjailtest.Request) {
	t.Helper()
	if got := srv.Requests(); !slices.Equal(got, want) {
		t.Fatalf("request log:\n got %+v\nwant %+v", got, want)
	}
}

func TestNewServerAndClient(t *testing.T) {
	t.Parallel()
	srv := agentjailtest.NewServer(t)
	ctx := context.Background()
	res, err := srv.Client().Runs.Create(ctx, agentjail.RunParams{Language: agentjail.LanguageBash, Code: "echo hello"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "hello\n" || res.ExitCode != 0 {
		t.Fatalf("got %+v", res)
	}
	wantLog(t, srv, agentjailtest.Request{Method: "POST", Path: "/v1/runs", Status: 201})
	if fi, err := os.Stat(srv.StateDir()); err != nil || !fi.IsDir() {
		t.Fatalf("state dir %q: %v", srv.StateDir(), err)
	}
}

func TestClientAuthentication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		opts     []agentjailtest.Option
		client   []agentjail.Option
		tenant   string
		role     agentjail.Role
		wantCode agentjail.ErrorCode
	}{
		{name: "auth off", tenant: "dev", role: agentjail.RoleAdmin},
		{name: "first key", opts: []agentjailtest.Option{agentjailtest.WithAPIKeys("tok-a@acme:admin", "tok-b@beta:operator")}, tenant: "acme", role: agentjail.RoleAdmin},
		{name: "first key across options", opts: []agentjailtest.Option{agentjailtest.WithAPIKeys(" tok-b@beta:operator"), agentjailtest.WithAPIKeys("tok-a@acme:admin")}, tenant: "beta", role: agentjail.RoleOperator},
		{name: "client options come after", opts: []agentjailtest.Option{agentjailtest.WithAPIKeys("tok-a@acme:admin", "tok-b@beta:operator")}, client: []agentjail.Option{agentjail.WithAPIKey("tok-b")}, tenant: "beta", role: agentjail.RoleOperator},
		{name: "wrong key", opts: []agentjailtest.Option{agentjailtest.WithAPIKeys("tok-a@acme:admin")}, client: []agentjail.Option{agentjail.WithAPIKey("nope")}, wantCode: agentjail.CodeUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := agentjailtest.NewServer(t, tt.opts...)
			id, err := srv.Client(tt.client...).Settings.Whoami(ctx)
			var e *agentjail.Error
			switch {
			case tt.wantCode != "":
				if !errors.As(err, &e) || e.Code != tt.wantCode {
					t.Fatalf("got %v, want code %s", err, tt.wantCode)
				}
			case err != nil:
				t.Fatal(err)
			case id.Tenant != tt.tenant || id.Role != tt.role:
				t.Fatalf("got %+v, want %s %s", id, tt.tenant, tt.role)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for _, opt := range []agentjailtest.Option{
		agentjailtest.WithAPIKeys("no-tenant"),
		agentjailtest.WithMaxConcurrent(0),
		agentjailtest.WithUpstream("openai", "ftp://example.com"),
		agentjailtest.WithCredential("dev", "nosuchservice", "sk"),
		agentjailtest.WithControlAddr("256.0.0.1:0"),
		agentjailtest.WithIsolation("sandbox"),
	} {
		if srv, err := agentjailtest.New(opt); err == nil {
			srv.Close()
			t.Errorf("option %+v accepted", opt)
		}
	}
	srv, err := agentjailtest.New(agentjailtest.Option{})
	if err != nil {
		t.Fatalf("the zero Option: %v", err)
	}
	srv.Close()
}

// WithIsolation reaches the fake, and Isolation reports the mode in effect.
func TestWithIsolation(t *testing.T) {
	t.Parallel()
	srv := agentjailtest.NewServer(t, agentjailtest.WithIsolation(agentjailtest.IsolationNone))
	if got := srv.Isolation(); got != agentjailtest.IsolationNone {
		t.Fatalf("Isolation() = %q, want none", got)
	}
	res, err := srv.Client().Runs.Create(context.Background(), agentjail.RunParams{Language: agentjail.LanguageBash, Code: "pwd"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout == "/workspace\n" {
		t.Fatalf("a host process ran in %q", res.Stdout)
	}
	if got := agentjailtest.NewServer(t).Isolation(); got != agentjailtest.IsolationNamespaces && got != agentjailtest.IsolationNone {
		t.Fatalf("default Isolation() = %q", got)
	}
}

// TestClientPanicsOnInvalidOption: an invalid option is a programming error that panics
// with the option's problem, never with the key the client was given.
func TestClientPanicsOnInvalidOption(t *testing.T) {
	t.Parallel()
	const token = "tok-never-in-a-panic"
	srv := agentjailtest.NewServer(t, agentjailtest.WithAPIKeys(token+"@acme:admin"))
	for _, opt := range []agentjail.Option{agentjail.WithMaxRetries(-1), agentjail.WithAPIKey("two words " + token)} {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.HasPrefix(msg, "agentjailtest: Client: agentjail: ") || strings.Contains(msg, token) {
					t.Errorf("panic %q; want the option's problem without the key", msg)
				}
			}()
			srv.Client(opt)
		}()
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	t.Parallel()
	srv, err := agentjailtest.New(agentjailtest.WithStateDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	client := srv.Client(agentjail.WithMaxRetries(0))
	for range 2 {
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Public.Health(context.Background()); !errors.Is(err, agentjail.ErrNetwork) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := os.Stat(srv.StateDir()); err != nil {
		t.Fatalf("Close removed the directory WithStateDir chose: %v", err)
	}
}

// TestRetriesShowInTheLog checks that the SDK's retry policy is visible in the request
// log: what was retried, and that a call the server may have acted on was not.
func TestRetriesShowInTheLog(t *testing.T) {
	t.Parallel()
	whoami := func(ctx context.Context, c *agentjail.Client) error {
		_, err := c.Settings.Whoami(ctx)
		return err
	}
	createSession := func(ctx context.Context, c *agentjail.Client) error {
		_, err := c.Sessions.Create(ctx, agentjail.SessionCreateParams{Services: []agentjail.Service{agentjail.ServiceOpenAI}})
		return err
	}
	get := func(status int) agentjailtest.Request {
		return agentjailtest.Request{Method: "GET", Path: "/v1/whoami", Status: status}
	}
	post := func(status int) agentjailtest.Request {
		return agentjailtest.Request{Method: "POST", Path: "/v1/sessions", Status: status}
	}
	tests := []struct {
		name    string
		fault   agentjailtest.Fault
		call    func(context.Context, *agentjail.Client) error
		wantErr error // nil: the call succeeds
		want    []agentjailtest.Request
		minWait time.Duration
	}{
		{name: "503 on a GET is retried", fault: agentjailtest.Fault{Method: "GET", Path: "/v1/whoami", Status: 503},
			call: whoami, want: []agentjailtest.Request{get(503), get(200)}},
		{name: "a dropped GET is retried", fault: agentjailtest.Fault{Path: "/v1/whoami", Drop: true},
			call: whoami, want: []agentjailtest.Request{get(0), get(200)}},
		{name: "429 on a POST is retried after Retry-After, rounded up to 1s", fault: agentjailtest.Fault{Method: "POST", Path: "/v1/sessions", Status: 429, RetryAfter: 900 * time.Millisecond},
			call: createSession, want: []agentjailtest.Request{post(429), post(201)}, minWait: time.Second},
		{name: "500 on a POST is not retried", fault: agentjailtest.Fault{Method: "POST", Path: "/v1/sessions"},
			call: createSession, wantErr: agentjail.ErrServerError, want: []agentjailtest.Request{post(500)}},
		{name: "a dropped POST is not retried", fault: agentjailtest.Fault{Method: "POST", Path: "/v1/sessions", Drop: true},
			call: createSession, wantErr: agentjail.ErrNetwork, want: []agentjailtest.Request{post(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := agentjailtest.NewServer(t, agentjailtest.WithCredential("dev", "openai", "sk-test"))
			srv.InjectFault(tt.fault)
			start := time.Now()
			err := tt.call(context.Background(), srv.Client())
			took := time.Since(start)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			// Without Retry-After the first wait is at most 500 ms.
			if took < tt.minWait {
				t.Fatalf("retried after %v, before the server's Retry-After", took)
			}
			wantLog(t, srv, tt.want...)
		})
	}
}

// TestDroppedRunRanNothing drops a run after the server read it: the SDK must not send
// it again, and the server must not have run it.
func TestDroppedRunRanNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := agentjailtest.NewServer(t)
	client := srv.Client()
	marker := t.TempDir() + "/ran"
	srv.InjectFault(agentjailtest.Fault{Method: "POST", Path: "/v1/runs", Drop: true})
	_, err := client.Runs.Create(ctx, agentjail.RunParams{Language: agentjail.LanguageBash, Code: "touch " + marker})
	if !errors.Is(err, agentjail.ErrNetwork) {
		t.Fatalf("got %v, want a network error", err)
	}
	wantLog(t, srv, agentjailtest.Request{Method: "POST", Path: "/v1/runs", Status: 0})
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the dropped run's code ran: %v", err)
	}
	stats, err := client.Public.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := client.Jails.List(ctx, agentjail.JailListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if stats.TotalExecs != 0 || ledger.Total != 0 {
		t.Fatalf("a dropped run left traces: %+v, %d ledger rows", stats, ledger.Total)
	}
}

func TestFaultTimesAndClearFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := agentjailtest.NewServer(t)
	client := srv.Client(agentjail.WithMaxRetries(0))
	whoami := agentjailtest.Request{Method: "GET", Path: "/v1/whoami"}
	status := func(code int) agentjailtest.Request { r := whoami; r.Status = code; return r }

	srv.InjectFault(agentjailtest.Fault{Path: "/v1/whoami", Status: 503, Times: 2})
	srv.InjectFault(agentjailtest.Fault{Path: "/v1/whoami", Status: 502, Times: -1})
	for _, want := range []int{503, 503, 502, 502, 502} {
		var e *agentjail.Error
		if _, err := client.Settings.Whoami(ctx); !errors.As(err, &e) || e.StatusCode != want {
			t.Fatalf("got %v, want %d", err, want)
		}
	}
	srv.ClearFaults()
	if _, err := client.Settings.Whoami(ctx); err != nil {
		t.Fatal(err)
	}
	wantLog(t, srv, status(503), status(503), status(502), status(502), status(502), status(200))
}

func TestFaultPrefix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := agentjailtest.NewServer(t, agentjailtest.WithCredential("dev", "openai", "sk-test"))
	client := srv.Client(agentjail.WithMaxRetries(0))
	sess, err := client.Sessions.Create(ctx, agentjail.SessionCreateParams{Services: []agentjail.Service{agentjail.ServiceOpenAI}})
	if err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(agentjailtest.Fault{Path: "/v1/sessions/*", Status: 503, Times: -1})
	if _, err := client.Sessions.List(ctx); err != nil {
		t.Fatalf("the list path is not under the prefix: %v", err)
	}
	if _, err := client.Sessions.Get(ctx, sess.ID); !errors.Is(err, agentjail.ErrServerError) {
		t.Fatalf("Get: %v, want a 503", err)
	}
	if err := client.Sessions.Close(ctx, sess.ID); !errors.Is(err, agentjail.ErrServerError) {
		t.Fatalf("Close: %v, want a 503", err)
	}
	if _, err := client.Sessions.Get(ctx, "sess_other"); !errors.Is(err, agentjail.ErrServerError) {
		t.Fatalf("Get of another ID: %v, want a 503", err)
	}
	// The faulted Close closed nothing.
	srv.ClearFaults()
	if _, err := client.Sessions.Get(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
}

// TestFaultsAndRequestsDuringTraffic changes faults and reads the log while clients
// call the server; run it with -race. It is the one concurrency test of the fault
// rules and the request log, driven through the public API users call.
func TestFaultsAndRequestsDuringTraffic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := agentjailtest.NewServer(t)
	client := srv.Client(agentjail.WithMaxRetries(0))
	const workers, calls = 4, 30
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				_, err := client.Settings.Whoami(ctx)
				if err != nil && !errors.Is(err, agentjail.ErrServerError) && !errors.Is(err, agentjail.ErrRateLimited) {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range calls {
		if i%2 == 0 {
			srv.InjectFault(agentjailtest.Fault{Path: "/v1/*", Status: 503})
		} else {
			srv.InjectFault(agentjailtest.Fault{Method: "GET", Status: 429, Times: 2})
		}
		for _, r := range srv.Requests() {
			if r.Path != "/v1/whoami" {
				t.Errorf("logged %+v", r)
			}
		}
		if i%10 == 9 {
			srv.ClearFaults()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	log := srv.Requests()
	if len(log) != workers*calls {
		t.Fatalf("logged %d requests, want %d", len(log), workers*calls)
	}
	for _, r := range log {
		if r.Status != 200 && r.Status != 503 && r.Status != 429 {
			t.Fatalf("logged %+v", r)
		}
	}
}

// TestRequestsKeepsTheLast10000 sends one more request than the log keeps.
func TestRequestsKeepsTheLast10000(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 10,001 requests")
	}
	t.Parallel()
	srv := agentjailtest.NewServer(t)
	const total, kept, workers = 10_001, 10_000, 4
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	t.Cleanup(hc.CloseIdleConnections)
	get := func(i int) error {
		resp, err := hc.Get(fmt.Sprintf("%s/healthz?n=%d", srv.URL(), i))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	// The first request is answered before the others start, so it is the one forgotten.
	if err := get(0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := get(i); err != nil {
					errs <- err
					for range next {
						// Keep the sender from blocking.
					}
					return
				}
			}
		}()
	}
	for i := 1; i < total; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	log := srv.Requests()
	if len(log) != kept {
		t.Fatalf("the log holds %d requests, want %d", len(log), kept)
	}
	seen := map[string]bool{}
	for _, r := range log {
		if r.Path != "/healthz" || r.Status != 200 {
			t.Fatalf("logged %+v", r)
		}
		seen[r.Query] = true
	}
	if seen["n=0"] || len(seen) != kept {
		t.Fatalf("kept n=0: %v; %d distinct requests", seen["n=0"], len(seen))
	}
}
