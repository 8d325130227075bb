package agentjailtest

import (
	"log/slog"
	"time"

	"github.com/agentjail/agentjail-go/internal/testserver"
)

// Option configures NewServer and New. The zero Option does nothing.
type Option struct {
	apply   testserver.Option
	apiKeys []string // also kept here: Server.Client authenticates with the first
}

// WithAPIKeys turns authentication on with the given keys, each written
// "token@tenant:role" like the real server's AGENTJAIL_API_KEY entries, where
// tenant matches [a-z0-9][a-z0-9_-]{0,63} and role is "admin" (sees every
// tenant) or "operator" (sees its own). Clients send only the token. The
// server fails to start on a malformed key. Without this option (or with no
// keys) authentication is off and every caller is the admin of tenant "dev".
func WithAPIKeys(keys ...string) Option {
	return Option{apply: testserver.WithAPIKeys(keys...), apiKeys: keys}
}

// WithCredential stores secret as the real upstream key of service
// ("openai", "anthropic", "github" or "stripe") for tenant ("dev" when
// authentication is off), the way the real server seeds OPENAI_API_KEY and
// friends: sessions of that tenant can use it through the phantom proxy, but
// it is not a credential record, so Credentials.List does not show it.
func WithCredential(tenant, service, secret string) Option {
	return Option{apply: testserver.WithCredential(tenant, service, secret)}
}

// WithUpstream sets the base URL (http or https, e.g. an httptest.Server's)
// that the phantom proxy forwards service's requests to, with the real key in
// place of the phantom token. The defaults are the real providers, so set it
// in tests: https://api.openai.com, https://api.anthropic.com,
// https://api.github.com and https://api.stripe.com.
func WithUpstream(service, baseURL string) Option {
	return Option{apply: testserver.WithUpstream(service, baseURL)}
}

// WithStateDir keeps all on-disk state (jail directories, workspaces,
// snapshots) under dir, which is created if needed and left in place by
// Close. By default the server uses a fresh temporary directory and removes
// it on Close.
func WithStateDir(dir string) Option {
	return Option{apply: testserver.WithStateDir(dir)}
}

// WithSnapshotPoolDir turns on incremental snapshots, as the real server's
// AGENTJAIL_SNAPSHOT_POOL_DIR does: file contents are stored once in dir
// under their hash and each snapshot is a manifest. The directory is created
// if needed and left in place by Close. By default snapshots are full copies.
func WithSnapshotPoolDir(dir string) Option {
	return Option{apply: testserver.WithSnapshotPoolDir(dir)}
}

// WithMaxConcurrent sets how many executions may run at once (default 16);
// more are refused with 400 "bad request: too many concurrent executions".
// The server fails to start if n is not positive.
func WithMaxConcurrent(n int) Option {
	return Option{apply: testserver.WithMaxConcurrent(n)}
}

// WithLogger sends the server's logs to l. By default nothing is logged.
// Logs never contain secrets, API keys or phantom tokens.
func WithLogger(l *slog.Logger) Option {
	return Option{apply: testserver.WithLogger(l)}
}

// WithControlAddr sets the control plane's listen address. The default is
// 127.0.0.1:0, a free loopback port. Anything but a loopback address lets
// other machines run code on this one.
func WithControlAddr(addr string) Option {
	return Option{apply: testserver.WithControlAddr(addr)}
}

// WithProxyAddr sets the phantom proxy's listen address. The default is
// 127.0.0.1:0, a free loopback port.
func WithProxyAddr(addr string) Option {
	return Option{apply: testserver.WithProxyAddr(addr)}
}

// WithProxyBaseURL sets the proxy URL written into session env maps (the
// real server's PROXY_BASE_URL), for when sandboxed code reaches the proxy
// through another address. By default it is ProxyURL.
func WithProxyBaseURL(u string) Option {
	return Option{apply: testserver.WithProxyBaseURL(u)}
}

// WithGateway turns on the gateway, which routes HTTP requests by their Host
// header to the workspace that declares that host in its domains, as the
// real server's AGENTJAIL_GATEWAY_ADDR does: to the domain's backend_url, or
// for a vm_port domain to that port on 127.0.0.1 while an allowlist
// workspace exec runs (the fake's processes share the host's network). addr
// is an IP literal and port such as "127.0.0.1:8080"; "" means a free
// loopback port. The server fails to start on any other address. The gateway
// has no authentication and no Host guard, so keep it on loopback. Its URL is
// Server.GatewayURL.
func WithGateway(addr string) Option {
	return Option{apply: testserver.WithGateway(addr)}
}

// WithIdleCheckInterval sets how often the idle reaper runs, as the real
// server's AGENTJAIL_IDLE_CHECK_INTERVAL_SECS does (default 30 s; zero or
// less turns it off). Each pass pauses every workspace whose last exec (or
// creation) is more than its idle_timeout_secs ago: its files go into an
// "auto:<workspace id>" snapshot, its directory is emptied and it gets
// paused_at; its next exec restores the files first. idle_timeout_secs counts
// whole seconds, so the quickest pause comes about one second plus d after
// the last exec.
func WithIdleCheckInterval(d time.Duration) Option {
	return Option{apply: testserver.WithIdleCheckInterval(d)}
}

// WithSnapshotMaxAge turns on snapshot garbage collection with an age limit,
// as the real server's AGENTJAIL_SNAPSHOT_MAX_AGE_SECS does: each pass
// deletes, among the 500 newest snapshots of all tenants, those created more
// than d ago. Settings report d in whole seconds, rounded up.
func WithSnapshotMaxAge(d time.Duration) Option {
	return Option{apply: testserver.WithSnapshotMaxAge(d)}
}

// WithSnapshotMaxCount turns on snapshot garbage collection with a count
// limit, as the real server's AGENTJAIL_SNAPSHOT_MAX_COUNT does: when more
// than n of the 500 newest snapshots exist, each pass deletes the oldest
// surplus among them, whatever their name or workspace. n = 0 deletes every
// snapshot a pass sees; a negative n is ignored.
func WithSnapshotMaxCount(n int) Option {
	return Option{apply: testserver.WithSnapshotMaxCount(n)}
}

// WithSnapshotGCTick sets how often garbage collection passes run, as the
// real server's AGENTJAIL_SNAPSHOT_GC_TICK_SECS does (default 60 s; zero or
// less means 1 s). Passes run only when WithSnapshotMaxAge or
// WithSnapshotMaxCount is given, the first one tick after the server starts.
// A tick under a second is allowed here, so tests can watch a pass quickly.
func WithSnapshotGCTick(d time.Duration) Option {
	return Option{apply: testserver.WithSnapshotGCTick(d)}
}

// WithHostClones makes workspace creation clone its git seed in host mode,
// like the real server with AGENTJAIL_CLONE_MODE=host: the git found on
// /usr/local/bin:/usr/bin:/bin is used and its absence answers 500, where
// the default (jail mode) runs /usr/bin/git and answers 400 "bad request: git
// clone failed: …" without it. Either way the clone runs on this host.
func WithHostClones() Option {
	return Option{apply: testserver.WithHostClones()}
}

// Isolation says how the fake runs the code your tests send it.
type Isolation string

const (
	// IsolationAuto, the default, jails every execution where Linux namespaces
	// are available and runs host processes elsewhere.
	IsolationAuto Isolation = "auto"
	// IsolationNamespaces jails every execution as the real server does: a
	// read-only /workspace, a writable /output, the working directory
	// /workspace, no PATH lookup for cmd, and the request's network mode. The
	// server fails to start where that is not possible.
	IsolationNamespaces Isolation = "namespaces"
	// IsolationNone runs every execution as a plain host process of the
	// current user, in its workspace directory, with this host's files and
	// network.
	IsolationNone Isolation = "none"
)

// WithIsolation chooses how submitted code runs; see Isolation. Without it
// the server reads $AGENTJAIL_TESTSERVER_ISOLATION ("auto", "namespaces" or
// "none"), else uses IsolationAuto. The server fails to start on an unknown
// mode.
func WithIsolation(mode Isolation) Option {
	return Option{apply: testserver.WithIsolation(testserver.Isolation(mode))}
}
