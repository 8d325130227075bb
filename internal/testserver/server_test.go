package testserver

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNewOptionErrors: New refuses bad options with an error that says which and never contains
// a key.
func TestNewOptionErrors(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []Option
		want string // prefix of the error
	}{
		{name: "malformed key", opts: []Option{WithAPIKeys("s3cr3t-no-tenant")}, want: "testserver: api key 1: api key must look like token@tenant:role"},
		{name: "bad role", opts: []Option{WithAPIKeys("t@acme:root")}, want: "testserver: api key 1: api key role must be admin or operator"},
		{name: "unknown credential service", opts: []Option{WithCredential("dev", "gitlab", "x")}, want: `testserver: credential for unknown service "gitlab"`},
		{name: "unknown upstream service", opts: []Option{WithUpstream("gitlab", "http://127.0.0.1:1")}, want: `testserver: upstream for unknown service "gitlab"`},
		{name: "upstream not http", opts: []Option{WithUpstream("openai", "ftp://x")}, want: "testserver: upstream for openai must be an http(s) URL"},
		{name: "zero concurrency", opts: []Option{WithMaxConcurrent(0)}, want: "testserver: max concurrent executions must be positive, got 0"},
		{name: "bad control address", opts: []Option{WithControlAddr("256.0.0.1:0")}, want: "testserver: control listener: "},
		{name: "bad proxy address", opts: []Option{WithProxyAddr("256.0.0.1:0")}, want: "testserver: proxy listener: "},
		{name: "state dir under a file", opts: []Option{WithStateDir(filepath.Join(file, "state"))}, want: "testserver: state dir: "},
		{name: "pool dir under a file", opts: []Option{WithSnapshotPoolDir(filepath.Join(file, "pool"))}, want: "testserver: snapshot pool dir: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tt.opts...)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want prefix %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error mentions the key: %v", err)
			}
		})
	}
}

// TestCloseAndStateDir: Close, even right after New, closes every listener (control plane,
// proxy, gateway) and removes a temporary state directory but never a given one.
func TestCloseAndStateDir(t *testing.T) {
	t.Parallel()
	s, err := New(WithGateway(""))
	if err != nil {
		t.Fatal(err)
	}
	dir := s.StateDir()
	if !filepath.IsAbs(dir) {
		t.Fatalf("state dir %q is not absolute", dir)
	}
	url := s.URL()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temp state dir survived Close: %v", err)
	}
	// The freed ports may already serve another test's listener: only this server's own request
	// log, and its own listeners, tell whether it still answers.
	logged := len(s.Requests())
	if resp, err := http.Get(url + "/healthz"); err == nil {
		resp.Body.Close()
	}
	if len(s.Requests()) != logged {
		t.Fatal("server still answers after Close")
	}
	for name, ln := range map[string]net.Listener{"control plane": s.ctlLn, "proxy": s.proxyLn, "gateway": s.gatewayLn} {
		if l, ok := ln.(lenientListener); ok {
			ln = l.Listener
		}
		tl := ln.(*net.TCPListener)
		_ = tl.SetDeadline(time.Now()) // an open listener's Accept fails with a timeout instead of waiting
		if _, err := tl.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s listener after Close: Accept = %v, want net.ErrClosed", name, err)
		}
	}

	keep := filepath.Join(t.TempDir(), "state")
	s2, err := New(WithStateDir(keep))
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("given state dir removed: %v", err)
	}
}

func TestLogsNeverContainSecrets(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	s := Start(t,
		WithLogger(slogTo(&buf)),
		WithAPIKeys(adminKey+"@acme:admin"),
		WithCredential("acme", "openai", "sk-seeded-secret"),
		WithUpstream("openai", "http://127.0.0.1:1"))
	wireDo(t, "POST", s.URL()+"/v1/credentials", `{"service":"github","secret":"ghp-posted-secret"}`, wireKey(adminKey)).wantJSON(t, 200, nil)
	sess := createSession(t, s, adminKey, "openai")
	tok := sess.Env["OPENAI_API_KEY"]
	wireDo(t, "GET", s.ProxyURL()+"/v1/openai/v1/models", "", wireKey(tok))
	wireDo(t, "GET", s.URL()+"/v1/whoami", "", wireKey("wrong-key"))
	// An exec whose scratch directory cannot be made (a file stands where the directory of
	// every jail's scratch space goes) is a 500, which is logged: the one request here that
	// must leave a log line, so that the scan below has something to look at.
	if err := os.WriteFile(filepath.Join(s.StateDir(), "jails"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wireDo(t, "POST", s.URL()+"/v1/sessions/"+sess.ID+"/exec", `{"cmd":"/bin/true"}`, wireKey(adminKey)).wantJSON(t, 500, nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	logs := buf.String()
	if !strings.Contains(logs, "request failed") {
		t.Fatalf("the failed exec was not logged, so the scan proves nothing:\n%s", logs)
	}
	for _, secret := range []string{adminKey, "sk-seeded-secret", "ghp-posted-secret", tok, "wrong-key"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestStartRegistersCleanup(t *testing.T) {
	t.Parallel()
	var url string
	t.Run("inner", func(t *testing.T) {
		url = Start(t).URL()
		wireDo(t, "GET", url+"/healthz", "").wantPlain(t, 200, "ok")
	})
	if resp, err := http.Get(url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("server outlived its test")
	}
}

// TestCloseIgnoresUnusedConnections: a client that dialed a connection and never used it (Go's
// transport does this under concurrent requests) must not stall Close; http.Server.Shutdown alone
// waits for such connections.
func TestCloseIgnoresUnusedConnections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		proxy bool
	}{
		{name: "control plane"},
		{name: "proxy", proxy: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			base := s.URL()
			if tt.proxy {
				base = s.ProxyURL()
			}
			c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// The same listener answering a later connection has accepted this one: connections
			// are accepted in order. Any answer will do.
			wireDo(t, "GET", base+"/healthz", "")
			start := time.Now()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("Close took %v with an idle fresh connection open", d)
			}
		})
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// slogTo logs everything, debug included, as text to w.
func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// An IPv4 listen address binds IPv4 only and reports itself as given, as the real server's
// bind addresses do in /v1/config.
func TestListenTCPKeepsTheAddressFamily(t *testing.T) {
	t.Parallel()
	tests := []struct{ addr, wantPrefix string }{
		{"0.0.0.0:0", "0.0.0.0:"},
		{"127.0.0.1:0", "127.0.0.1:"},
		{"[::1]:0", "[::1]:"},
	}
	for _, tt := range tests {
		ln, err := listenTCP(tt.addr)
		if err != nil {
			if strings.HasPrefix(tt.addr, "[") {
				continue // no IPv6 loopback on this host
			}
			t.Fatal(err)
		}
		got := ln.Addr().String()
		ln.Close()
		if !strings.HasPrefix(got, tt.wantPrefix) {
			t.Errorf("listenTCP(%q) listens on %s, want %s…", tt.addr, got, tt.wantPrefix)
		}
	}
}

// Close ends proxy and gateway requests that wait on a slow upstream: they are answered with
// the usual upstream failure, instead of holding Close until its grace period runs out and
// then losing their connection.
func TestCloseEndsRelayedRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// target sets up what the relayed request needs and returns its URL and options.
		target func(t *testing.T, s *Server, upstream string) (string, []wireOpt)
		prefix string
	}{
		{name: "proxy", prefix: "upstream: ", target: func(t *testing.T, s *Server, _ string) (string, []wireOpt) {
			sess := createSession(t, s, "", "openai")
			return sess.Env["OPENAI_BASE_URL"] + "/models", []wireOpt{wireKey(openaiToken(sess))}
		}},
		{name: "gateway", prefix: "gateway: upstream failed: ", target: func(t *testing.T, s *Server, upstream string) (string, []wireOpt) {
			createWS(t, s, "", map[string]any{"domains": []map[string]any{{"domain": "slow.test", "backend_url": upstream}}})
			return s.GatewayURL() + "/", []wireOpt{wireHost("slow.test")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			arrived := make(chan struct{}, 1)
			release := make(chan struct{})
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			t.Cleanup(slow.Close)
			t.Cleanup(func() { close(release) })
			s, err := New(WithGateway(""), WithCredential("dev", "openai", "sk-real"), WithUpstream("openai", slow.URL))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			url, opts := tt.target(t, s, slow.URL)
			done := make(chan asyncResult, 1)
			go func() {
				r, err := wireDoErr("GET", url, "", opts...)
				done <- asyncResult{r, err}
			}()
			select {
			case <-arrived:
			case res := <-done:
				t.Fatalf("answered before reaching the upstream: %+v", res)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			res := <-done
			if res.err != nil {
				t.Fatalf("the request lost its connection: %v", res.err)
			}
			res.resp.wantPlainPrefix(t, 502, tt.prefix)
		})
	}
}
