package agentjail

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestNewClientRejectsBadInput(t *testing.T) {
	t.Setenv("AGENTJAIL_URL", "")
	t.Setenv("AGENTJAIL_API_KEY", "")
	cases := []struct {
		name string
		url  string
		opts []Option
	}{
		{"empty url and env", "", nil},
		{"no scheme", "api.example.com", nil},
		{"ftp scheme", "ftp://api.example.com", nil},
		{"unparsable", "http://[::1", nil},
		{"no host", "http://", nil},
		{"query", "http://api/?x=1", nil},
		{"fragment", "http://api/#x", nil},
		{"nil http client", "http://api", []Option{WithHTTPClient(nil)}},
		{"negative retries", "http://api", []Option{WithMaxRetries(-1)}},
		{"key with space", "http://api", []Option{WithAPIKey("a b")}},
		{"key with newline", "http://api", []Option{WithAPIKey("a\nb")}},
		{"empty header name", "http://api", []Option{WithHeader("", "x")}},
		{"managed header", "http://api", []Option{WithHeader("authorization", "x")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.url, tc.opts...)
			if err == nil || c != nil {
				t.Fatalf("NewClient(%q) = %v, %v; want an error", tc.url, c, err)
			}
			if strings.Contains(err.Error(), "a b") {
				t.Fatalf("error echoes the key: %v", err)
			}
		})
	}
}

func TestBaseURLForms(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, jsonReply(200, "[]"))
	cases := []struct {
		name string
		base string
		want string
	}{
		{"trailing slashes dropped", srv.URL + "///", "/v1/credentials"},
		{"prefix kept", srv.URL + "/agentjail", "/agentjail/v1/credentials"},
		{"prefix with trailing slash", srv.URL + "/agentjail/", "/agentjail/v1/credentials"},
		{"escaped prefix kept", srv.URL + "/a%2Fb/", "/a%2Fb/v1/credentials"},
	}
	for _, tc := range cases {
		c := testClient(t, tc.base)
		if _, err := c.Credentials.List(context.Background()); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		reqs := srv.requests()
		if got := reqs[len(reqs)-1].Path; got != tc.want {
			t.Errorf("%s: path = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEnvironmentFallbacks(t *testing.T) {
	srv := newRecorder(t, jsonReply(200, "[]"))
	t.Setenv("AGENTJAIL_URL", srv.URL+"/")
	t.Setenv("AGENTJAIL_API_KEY", "envkey")

	c, err := NewClient("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Credentials.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := srv.requests()[0].Header.Get("Authorization"); got != "Bearer envkey" {
		t.Fatalf("Authorization = %q, want the env key", got)
	}

	explicit, err := NewClient("", WithAPIKey("optkey"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := explicit.Credentials.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := srv.requests()[1].Header.Get("Authorization"); got != "Bearer optkey" {
		t.Fatalf("Authorization = %q, want the option to win", got)
	}

	none, err := NewClient("", WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Credentials.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.requests()[2].Header["Authorization"]; ok {
		t.Fatal("WithAPIKey(\"\") must send no Authorization header")
	}

	t.Setenv("AGENTJAIL_API_KEY", "bad key")
	if _, err := NewClient(""); err == nil || strings.Contains(err.Error(), "bad key") {
		t.Fatalf("a malformed env key must be rejected without echoing it, got %v", err)
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, nil)
	ctx := context.Background()

	c := testClient(t, srv.URL, WithUserAgent("ci-bot/2"), WithHeader("x-trace", "abc"))
	_, _ = c.Settings.Whoami(ctx)
	_, _ = c.Public.Stats(ctx)
	_, _ = c.Public.Health(ctx)
	_, _ = c.Sessions.Create(ctx, SessionCreateParams{})

	noKey, err := NewClient(srv.URL, WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = noKey.Settings.Whoami(ctx)

	reqs := srv.requests()
	wantUA := fmt.Sprintf("agentjail-go/%s (%s; %s/%s) ci-bot/2", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for i, r := range reqs[:4] {
		if got := r.Header.Get("User-Agent"); got != wantUA {
			t.Errorf("request %d User-Agent = %q, want %q", i, got, wantUA)
		}
		if got := r.Header.Get("X-Trace"); got != "abc" {
			t.Errorf("request %d X-Trace = %q", i, got)
		}
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer k" {
		t.Errorf("guarded route Authorization = %q", got)
	}
	for _, r := range reqs[1:3] {
		if _, ok := r.Header["Authorization"]; ok {
			t.Errorf("public route %s carried Authorization", r.Path)
		}
	}
	if got := reqs[3].Header.Get("Content-Type"); got != "application/json" || string(reqs[3].Body) != "{}" {
		t.Errorf("POST without fields: Content-Type %q body %q", got, reqs[3].Body)
	}
	if _, ok := reqs[4].Header["Authorization"]; ok {
		t.Error("no key configured, but an Authorization header was sent")
	}
}

func TestHTTPClientNotMutated(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, jsonReply(200, "[]"))
	mine := &http.Client{Transport: http.DefaultTransport}
	before := *mine
	c := testClient(t, srv.URL, WithHTTPClient(mine))
	if _, err := c.Credentials.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if mine.CheckRedirect != nil || mine.Transport != before.Transport || mine.Timeout != before.Timeout || mine.Jar != before.Jar {
		t.Fatal("the caller's *http.Client was modified")
	}
	if c.hc.Transport != mine.Transport {
		t.Fatal("the caller's transport is not used")
	}
}

func TestDefaultTransport(t *testing.T) {
	t.Parallel()
	c, err := NewClient("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := c.hc.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("default transport is %T", c.hc.Transport)
	}
	if tr == http.DefaultTransport {
		t.Fatal("http.DefaultTransport itself must not be used (it would be shared and mutable)")
	}
	if tr.Proxy == nil || tr.ResponseHeaderTimeout != 0 || c.hc.Timeout != 0 || tr.MaxIdleConnsPerHost < 16 {
		t.Fatalf("transport: proxy set %v, header timeout %v, client timeout %v, idle/host %d",
			tr.Proxy != nil, tr.ResponseHeaderTimeout, c.hc.Timeout, tr.MaxIdleConnsPerHost)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	const key = "sk-very-secret-key"
	c, err := NewClient("http://127.0.0.1:1", WithAPIKey(key))
	if err != nil {
		t.Fatal(err)
	}
	params := CredentialPutParams{Service: ServiceOpenAI, Secret: "sk-upstream-secret"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, v := range []any{c, *c, params, &params, c.Credentials, c.Sessions} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, key) || strings.Contains(out, "sk-upstream-secret") ||
				strings.Contains(out, fmt.Sprintf("%x", key)) {
				t.Errorf("%s of %T leaks a secret: %s", verb, v, out)
			}
		}
	}
}

func TestLoggerRecordsAttemptsWithoutSecrets(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, jsonReply(503, `{"error":"busy"}`))
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := testClient(t, srv.URL, WithAPIKey("sk-secret-key"), WithLogger(log))
	_, err := c.Credentials.Put(context.Background(), CredentialPutParams{Service: ServiceOpenAI, Secret: "sk-upstream"})
	if err == nil {
		t.Fatal("want an error")
	}
	out := buf.String()
	if strings.Count(out, "level=DEBUG") != 3 || strings.Count(out, "level=WARN") != 2 {
		t.Fatalf("want 3 debug records and 2 retry warnings, got:\n%s", out)
	}
	if !strings.Contains(out, "status=503") || !strings.Contains(out, "path=/v1/credentials") || !strings.Contains(out, "attempt=3") {
		t.Fatalf("records lack method/path/status/attempt:\n%s", out)
	}
	if strings.Contains(out, "sk-secret-key") || strings.Contains(out, "sk-upstream") {
		t.Fatalf("log leaks a secret:\n%s", out)
	}
}

func TestEnviron(t *testing.T) {
	t.Parallel()
	s := &Session{Env: map[string]string{"OPENAI_BASE_URL": "http://p/v1/openai/v1", "ANTHROPIC_API_KEY": "phm_a", "OPENAI_API_KEY": "phm_o=x"}}
	want := []string{"ANTHROPIC_API_KEY=phm_a", "OPENAI_API_KEY=phm_o=x", "OPENAI_BASE_URL=http://p/v1/openai/v1"}
	if got := s.Environ(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Environ() = %q, want %q", got, want)
	}
	if got := (&Session{}).Environ(); len(got) != 0 {
		t.Fatalf("empty env gave %q", got)
	}
}

func TestCredentialSecretNeverLogged(t *testing.T) {
	t.Parallel()
	p := CredentialPutParams{Service: ServiceOpenAI, Secret: "sk-upstream-secret"}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		slog.New(h).Info("put", "params", p, "ptr", &p, slog.Any("any", p))
	}
	if out := buf.String(); strings.Contains(out, "sk-upstream-secret") || !strings.Contains(out, "openai") {
		t.Fatalf("log output: %s", out)
	}
}

func TestBaseURLPasswordNeverPrinted(t *testing.T) {
	t.Parallel()
	c, err := NewClient("https://user:hunter2-password@api.example/agentjail")
	if err != nil {
		t.Fatal(err)
	}
	var nilClient *Client
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{c, *c, c.String(), c.GoString(), nilClient} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, "hunter2") {
				t.Errorf("%s of %T leaks the URL password: %s", verb, v, out)
			}
		}
	}
}

func TestCustomHeadersDroppedOnCrossHostRedirect(t *testing.T) {
	t.Parallel()
	other := newRecorder(t, jsonReply(200, "[]"))
	home := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/credentials" {
			http.Redirect(w, r, "/v1/moved", http.StatusFound) // same host: headers stay
			return
		}
		http.Redirect(w, r, other.URL+"/v1/credentials", http.StatusFound)
	})
	c := testClient(t, home.URL, WithHeader("X-Tenant-Token", "tt-secret"))
	if _, err := c.Credentials.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := home.requests()[1].Header.Get("X-Tenant-Token"); got != "tt-secret" {
		t.Fatalf("same-host redirect lost the custom header: %q", got)
	}
	h := other.last(t).Header
	if h.Get("X-Tenant-Token") != "" || h.Get("Authorization") != "" {
		t.Fatalf("the other host received %v", h)
	}
}
