package agentjailtest_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/agentjailtest"
)

// WithGateway serves workspace domains by Host, and the settings report it.
func TestWithGateway(t *testing.T) {
	t.Parallel()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "preview of "+r.URL.RequestURI()+" for "+r.Header.Get("X-Forwarded-Host"))
	}))
	t.Cleanup(backend.Close)
	ctx := context.Background()
	srv := agentjailtest.NewServer(t, agentjailtest.WithGateway(""))
	client := srv.Client()
	if _, err := client.Workspaces.Create(ctx, agentjail.WorkspaceCreateParams{
		Domains: []agentjail.WorkspaceDomain{{Domain: "app.test", BackendURL: backend.URL + "/site"}},
	}); err != nil {
		t.Fatal(err)
	}
	get := func(host string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.GatewayURL()+"/index.html?v=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := get("App.test:8080"); code != 200 || body != "preview of /site/index.html?v=1 for app.test" {
		t.Fatalf("gateway answered %d %q", code, body)
	}
	if code, body := get("other.test"); code != 404 || body != "gateway: no workspace declares host other.test\n" {
		t.Fatalf("unknown host answered %d %q", code, body)
	}
	settings, err := client.Settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if settings.Gateway == nil || "http://"+settings.Gateway.BindAddr != srv.GatewayURL() {
		t.Fatalf("settings gateway %+v, URL %q", settings.Gateway, srv.GatewayURL())
	}

	// Off by default.
	plain := agentjailtest.NewServer(t)
	if plain.GatewayURL() != "" {
		t.Fatalf("gateway without WithGateway: %q", plain.GatewayURL())
	}
	if _, err := agentjailtest.New(agentjailtest.WithGateway("localhost:0")); err == nil || !strings.Contains(err.Error(), "gateway") {
		t.Fatalf("New with a host-name gateway: %v", err)
	}
}

// The background options reach the server: its settings report them as the real server
// reports its environment.
func TestBackgroundOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     []agentjailtest.Option
		maxAge   int64 // -1: no limit
		maxCount int64 // -1: no limit
		tick     int64
		idle     int64
	}{
		{name: "defaults", maxAge: -1, maxCount: -1, tick: 60, idle: 30},
		{name: "set", opts: []agentjailtest.Option{
			agentjailtest.WithSnapshotMaxAge(90 * time.Second), agentjailtest.WithSnapshotMaxCount(3),
			agentjailtest.WithSnapshotGCTick(1500 * time.Millisecond), agentjailtest.WithIdleCheckInterval(0),
		}, maxAge: 90, maxCount: 3, tick: 2, idle: 0},
		{name: "negative count ignored", opts: []agentjailtest.Option{
			agentjailtest.WithSnapshotMaxCount(-1), agentjailtest.WithIdleCheckInterval(10 * time.Millisecond),
		}, maxAge: -1, maxCount: -1, tick: 60, idle: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := agentjailtest.NewServer(t, tt.opts...)
			s, err := srv.Client().Settings.Get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			gc := s.Snapshots.GC
			orNone := func(p *int64) int64 {
				if p == nil {
					return -1
				}
				return *p
			}
			if gc == nil || orNone(gc.MaxAgeSecs) != tt.maxAge || orNone(gc.MaxCount) != tt.maxCount || gc.TickSecs != tt.tick || s.Persistence.IdleCheckSecs != tt.idle {
				t.Fatalf("gc %+v, idle_check_secs %d", gc, s.Persistence.IdleCheckSecs)
			}
		})
	}
}

// The listen, proxy, logging and snapshot-pool options reach the server: each changes what
// a user of the server can observe.
func TestServerOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("WithProxyAddr", func(t *testing.T) {
		t.Parallel()
		srv := agentjailtest.NewServer(t, agentjailtest.WithProxyAddr("127.0.0.1:0"))
		if u := srv.ProxyURL(); !strings.HasPrefix(u, "http://127.0.0.1:") || u == srv.URL() {
			t.Fatalf("ProxyURL %q (control %q)", u, srv.URL())
		}
		resp, err := http.Get(srv.ProxyURL() + "/v1/openai/models")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("proxy without a phantom token answered %d, want 401", resp.StatusCode)
		}
	})
	t.Run("WithProxyBaseURL", func(t *testing.T) {
		t.Parallel()
		srv := agentjailtest.NewServer(t, agentjailtest.WithProxyBaseURL("http://proxy.internal:9000"),
			agentjailtest.WithCredential("dev", "openai", "sk-test"))
		sess, err := srv.Client().Sessions.Create(ctx, agentjail.SessionCreateParams{Services: []agentjail.Service{agentjail.ServiceOpenAI}})
		if err != nil {
			t.Fatal(err)
		}
		if got := sess.Env["OPENAI_BASE_URL"]; !strings.HasPrefix(got, "http://proxy.internal:9000/") {
			t.Fatalf("OPENAI_BASE_URL = %q, want it under the configured proxy URL", got)
		}
	})
	t.Run("WithLogger", func(t *testing.T) {
		t.Parallel()
		var logs strings.Builder
		srv := agentjailtest.NewServer(t, agentjailtest.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err := srv.Close(); err != nil { // Close waits for the server, so logs is no longer written
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "submitted code runs") {
			t.Fatalf("logs do not say how code runs:\n%s", logs.String())
		}
	})
	t.Run("WithSnapshotPoolDir", func(t *testing.T) {
		t.Parallel()
		pool := t.TempDir()
		client := agentjailtest.NewServer(t, agentjailtest.WithSnapshotPoolDir(pool)).Client()
		ws, err := client.Workspaces.Create(ctx, agentjail.WorkspaceCreateParams{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Workspaces.Exec(ctx, ws.ID, agentjail.WorkspaceExecParams{Cmd: "/bin/sh", Args: []string{"-c", "echo kept > f.txt"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Snapshots.Create(ctx, ws.ID, agentjail.SnapshotCreateParams{}); err != nil {
			t.Fatal(err)
		}
		var blobs int
		if err := filepath.WalkDir(pool, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				blobs++
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if blobs == 0 {
			t.Fatal("a snapshot stored nothing in the pool directory")
		}
	})
}

// withFuncs lists the exported With… functions declared in the non-test files of dir.
func withFuncs(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "With") {
				names = append(names, fn.Name.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// Every option of the internal fake has a public twin of the same name, so users can reach
// everything the fake can do.
func TestEveryInternalOptionHasAPublicTwin(t *testing.T) {
	t.Parallel()
	internal := withFuncs(t, filepath.Join("..", "internal", "testserver"))
	public := withFuncs(t, ".")
	if len(internal) == 0 {
		t.Fatal("found no options in internal/testserver")
	}
	for _, name := range internal {
		if !slices.Contains(public, name) {
			t.Errorf("internal/testserver.%s has no public twin in agentjailtest", name)
		}
	}
}
