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

  CTL_ADDR              control plane listen address, an IP literal and port
                        (default 127.0.0.1:7000; port 0 picks a free port; a
                        host name stops the start-up, as in the real server)
  PROXY_ADDR            phantom proxy listen address, likewise (default
                        127.0.0.1:8443)
  PROXY_BASE_URL        proxy URL written into session env maps
                        (default http://<PROXY_ADDR>)
  AGENTJAIL_API_KEY     comma-separated keys, each token@tenant:role with role
                        admin or operator; clients send only the token. A
                        malformed entry stops the start-up (the real server
                        skips it, which can leave authentication off). Unset
                        or empty means authentication is OFF (every caller is
                        the admin of tenant "dev")
  AGENTJAIL_TESTSERVER_SKIP_MALFORMED_KEYS
                        1 skips malformed AGENTJAIL_API_KEY entries with a
                        warning, as the real server does, instead of refusing
                        to start (for harnesses that pass a bare token)
  OPENAI_API_KEY, ANTHROPIC_API_KEY, GITHUB_TOKEN, STRIPE_API_KEY
                        real upstream keys, seeded for tenant "dev"
  AGENTJAIL_STATE_DIR   directory for jails, workspaces, snapshots and flavors
                        (default: a temporary directory removed on exit)
  AGENTJAIL_SNAPSHOT_POOL_DIR
                        turns on incremental (content-addressed) snapshots
                        stored in this directory (default: full copies)
  AGENTJAIL_SNAPSHOT_MAX_AGE_SECS, AGENTJAIL_SNAPSHOT_MAX_COUNT
                        snapshot garbage collection limits (default: none)
  AGENTJAIL_SNAPSHOT_GC_TICK_SECS
                        seconds between GC passes (default 60)
  AGENTJAIL_IDLE_CHECK_INTERVAL_SECS
                        seconds between idle-workspace checks; 0 turns
                        auto-pause off (default 30)
  AGENTJAIL_GATEWAY_ADDR
                        IP:port for the gateway, which routes HTTP by Host to
                        workspace domains (default: no gateway; anything but
                        an IP literal and port is ignored)
  AGENTJAIL_CLONE_MODE  host: workspace git seeds clone in host mode (the git
                        on the jail PATH; 500 without one) instead of jail
                        mode (/usr/bin/git; 400 without it). Read at start-up
  LOG_FORMAT            json: JSON log lines (default: text)
  AGENTJAIL_TESTSERVER_ISOLATION
                        auto (default: jails where Linux namespaces allow,
                        host processes elsewhere), namespaces (jails or
                        refuse to start) or none (host processes)
  AGENTJAIL_UPSTREAM_<SERVICE>
                        where the proxy forwards a service, e.g.
                        AGENTJAIL_UPSTREAM_OPENAI=http://127.0.0.1:9999
                        (defaults: the real provider APIs)

Requests to the control plane or proxy whose Host header is not localhost, a
loopback IP or the listen address are refused with 403 (the gateway routes by
Host, so it has no such guard); no CORS headers are sent.

When both listeners are up it prints one line on stdout (logs go to stderr):

  agentjail-testserver: listening control=http://HOST:PORT proxy=http://HOST:PORT

It exits 2 when the configuration is invalid, 1 when it cannot start for
another reason (such as a port in use). Stop it with SIGINT or SIGTERM.

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
	if err := run(ctx, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "agentjail-testserver:", err)
		os.Exit(exitCode(err))
	}
}

// readyPrefix starts the one line printed on stdout once both listeners are up.
const readyPrefix = "agentjail-testserver: listening"

// run starts the server from the environment read through getenv, prints the ready
// line to stdout, logs to logs, and serves until ctx is cancelled. Nothing is logged
// before the configuration has been accepted and both listeners are up.
func run(ctx context.Context, getenv func(string) string, stdout, logs io.Writer) error {
	log := slog.New(logHandler(getenv, logs))
	keys, bad := apiKeys(getenv("AGENTJAIL_API_KEY"))
	skipBad := strings.TrimSpace(getenv(skipMalformedKeysEnv)) == "1"
	if len(bad) > 0 && !skipBad {
		return malformedKeysError(bad)
	}
	ctlAddr := envOr(getenv, "CTL_ADDR", "127.0.0.1:7000")
	proxyAddr := envOr(getenv, "PROXY_ADDR", "127.0.0.1:8443")
	if err := checkListenAddrs(ctlAddr, proxyAddr); err != nil {
		return err
	}
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
	if len(keys) > 0 {
		opts = append(opts, testserver.WithAPIKeys(keys...))
	}
	for _, k := range seededKeys {
		// Like the real server: a whitespace-only value is no key; any other is kept as given.
		if v := getenv(k.env); strings.TrimSpace(v) != "" {
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
	features, warnings := featureOptions(getenv)
	opts = append(opts, features...)
	isolation := testserver.Isolation(strings.ToLower(strings.TrimSpace(getenv(testserver.IsolationEnv))))
	switch isolation {
	case "":
		isolation = testserver.IsolationAuto
	case testserver.IsolationAuto, testserver.IsolationNamespaces, testserver.IsolationNone:
	default:
		return &configError{fmt.Sprintf("%s: unknown isolation %q (want auto, namespaces or none)", testserver.IsolationEnv, string(isolation))}
	}
	opts = append(opts, testserver.WithIsolation(isolation))

	srv, err := testserver.New(opts...)
	if err != nil {
		return listenError(err, ctlAddr, proxyAddr)
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	for _, b := range bad {
		log.Warn("AGENTJAIL_API_KEY: skipping an entry as the real server does (" + skipMalformedKeysEnv + "=1): " + b)
	}
	if len(keys) == 0 {
		log.Warn("AUTHENTICATION IS DISABLED: AGENTJAIL_API_KEY has no entry; every caller is the admin of tenant \"dev\"")
	}
	log.Warn("agentjail-testserver started: "+notSandbox,
		"control_url", srv.URL(), "proxy_url", srv.ProxyURL(), "state_dir", srv.StateDir(), "isolation", string(srv.Isolation()))
	if u := srv.GatewayURL(); u != "" {
		log.Info("gateway listening", "gateway_url", u)
	}
	fmt.Fprintf(stdout, "%s control=%s proxy=%s\n", readyPrefix, srv.URL(), srv.ProxyURL())
	<-ctx.Done()
	log.Info("shutting down")
	return srv.Close()
}
