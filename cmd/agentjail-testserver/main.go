// Command agentjail-testserver runs the Go fake of the agentjail control
// plane and phantom proxy as a local development server, configured through
// the same environment variables as the real agentjail-server.
//
// WARNING: it is NOT a sandbox. Submitted code runs as real processes on this
// host: in a light jail on Linux, as ordinary subprocesses of the current user
// elsewhere. See -help.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/agentjail/agentjail-go/internal/testserver"
)

const notSandbox = "it runs submitted code as real subprocesses on this host and is NOT a sandbox"

const usage = `agentjail-testserver: a local fake of the agentjail control plane and phantom proxy.

WARNING: ` + notSandbox + `.
Code sent to /v1/runs, session and workspace execs, forks and streams runs on
Linux in a light jail that shows it what a real jail shows (read-only
/workspace, /output, no network by default), which is for fidelity, not
security; elsewhere it runs as the current user, with this machine's files and
network. Only use it with code you would run yourself, and keep it on loopback.

It speaks the same HTTP API as agentjail-server and is configured the same way:

  CTL_ADDR              control plane listen address (default 127.0.0.1:7000)
  PROXY_ADDR            phantom proxy listen address (default 127.0.0.1:8443)
  PROXY_BASE_URL        proxy URL written into session env maps
                        (default http://<PROXY_ADDR>)
  AGENTJAIL_API_KEY     comma-separated keys, each token@tenant:role with role
                        admin or operator; malformed entries are skipped with a
                        warning; none means authentication is OFF (every caller
                        is the admin of tenant "dev")
  OPENAI_API_KEY, ANTHROPIC_API_KEY, GITHUB_TOKEN, STRIPE_API_KEY
                        real upstream keys, seeded for tenant "dev"
  AGENTJAIL_STATE_DIR   directory for jails, workspaces, snapshots and flavors
                        (default: a temporary directory removed on exit)
  AGENTJAIL_SNAPSHOT_POOL_DIR
                        turns on incremental (content-addressed) snapshots
                        stored in this directory (default: full copies)
  AGENTJAIL_TESTSERVER_ISOLATION
                        auto (default: jails where Linux namespaces allow,
                        host processes elsewhere), namespaces (jails or
                        refuse to start) or none (host processes)
  AGENTJAIL_UPSTREAM_<SERVICE>
                        where the proxy forwards a service, e.g.
                        AGENTJAIL_UPSTREAM_OPENAI=http://127.0.0.1:9999
                        (defaults: the real provider APIs)

Requests whose Host header is not localhost, a loopback IP or the listen
address are refused with 403; no CORS headers are sent.
Stop it with SIGINT or SIGTERM.

Usage: agentjail-testserver [-help]
`

func main() {
	flag.Usage = func() { fmt.Fprint(flag.CommandLine.Output(), usage) }
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one kills the process at once.
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "agentjail-testserver:", err)
		os.Exit(1)
	}
}

// seededKeys maps the environment variables holding real upstream keys to
// their services; all are seeded under tenant "dev" like the real server.
var seededKeys = []struct{ env, service string }{
	{"OPENAI_API_KEY", "openai"},
	{"ANTHROPIC_API_KEY", "anthropic"},
	{"GITHUB_TOKEN", "github"},
	{"STRIPE_API_KEY", "stripe"},
}

// run starts the server from the environment read through getenv, logs to
// out, and serves until ctx is cancelled.
func run(ctx context.Context, getenv func(string) string, out io.Writer) error {
	log := slog.New(slog.NewTextHandler(out, nil))
	ctlAddr := envOr(getenv, "CTL_ADDR", "127.0.0.1:7000")
	proxyAddr := envOr(getenv, "PROXY_ADDR", "127.0.0.1:8443")
	opts := []testserver.Option{
		testserver.WithControlAddr(ctlAddr),
		testserver.WithProxyAddr(proxyAddr),
		testserver.WithLogger(log),
	}
	if base := strings.TrimSpace(getenv("PROXY_BASE_URL")); base != "" {
		opts = append(opts, testserver.WithProxyBaseURL(base))
	} else if _, port, err := net.SplitHostPort(proxyAddr); err == nil && port != "0" {
		opts = append(opts, testserver.WithProxyBaseURL("http://"+proxyAddr))
	}

	var keys []string
	for i, entry := range strings.Split(getenv("AGENTJAIL_API_KEY"), ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if err := testserver.ParseAPIKey(entry); err != nil {
			// The reason never includes the token itself.
			log.Warn("skipping malformed AGENTJAIL_API_KEY entry", "entry", i+1, "reason", err.Error())
			continue
		}
		keys = append(keys, entry)
	}
	if len(keys) == 0 {
		log.Warn("AUTHENTICATION IS DISABLED: no valid AGENTJAIL_API_KEY entry; every caller is the admin of tenant \"dev\"")
	} else {
		opts = append(opts, testserver.WithAPIKeys(keys...))
	}

	for _, k := range seededKeys {
		if v := getenv(k.env); v != "" {
			opts = append(opts, testserver.WithCredential("dev", k.service, v))
		}
	}
	for _, svc := range []string{"openai", "anthropic", "github", "stripe"} {
		if u := strings.TrimSpace(getenv("AGENTJAIL_UPSTREAM_" + strings.ToUpper(svc))); u != "" {
			opts = append(opts, testserver.WithUpstream(svc, u))
		}
	}
	if dir := strings.TrimSpace(getenv("AGENTJAIL_STATE_DIR")); dir != "" {
		opts = append(opts, testserver.WithStateDir(dir))
	}
	if dir := strings.TrimSpace(getenv("AGENTJAIL_SNAPSHOT_POOL_DIR")); dir != "" {
		opts = append(opts, testserver.WithSnapshotPoolDir(dir))
	}
	isolation := strings.ToLower(strings.TrimSpace(getenv(testserver.IsolationEnv)))
	if isolation == "" {
		isolation = string(testserver.IsolationAuto)
	}
	opts = append(opts, testserver.WithIsolation(testserver.Isolation(isolation)))

	srv, err := testserver.New(opts...)
	if err != nil {
		return err
	}
	log.Warn("agentjail-testserver started: "+notSandbox,
		"control_url", srv.URL(), "proxy_url", srv.ProxyURL(), "state_dir", srv.StateDir(), "isolation", string(srv.Isolation()))
	<-ctx.Done()
	log.Info("shutting down")
	return srv.Close()
}

func envOr(getenv func(string) string, key, def string) string {
	if v := strings.TrimSpace(getenv(key)); v != "" {
		return v
	}
	return def
}
