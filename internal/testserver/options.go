package testserver

import (
	"log/slog"
	"time"
)

// Option configures New.
type Option func(*config)

type config struct {
	apiKeys       []string
	creds         []seedCredential
	upstreams     map[string]string
	stateDir      string
	poolDir       string
	proxyBaseURL  string
	ctlAddr       string
	proxyAddr     string
	maxConcurrent int
	log           *slog.Logger
	gc            snapshotGC
	idleCheck     time.Duration
	gatewayAddr   string
	hostClones    bool
	isolation     Isolation
}

type seedCredential struct{ tenant, service, secret string }

// WithAPIKeys turns authentication on with the given keys, each written
// token@tenant:role like the real server's AGENTJAIL_API_KEY entries (role
// "admin" or "operator"). New fails on a malformed key. Without this option
// (or with no keys) authentication is off and every caller is the admin of
// tenant "dev".
func WithAPIKeys(keys ...string) Option {
	return func(c *config) { c.apiKeys = append(c.apiKeys, keys...) }
}

// WithCredential stores secret as the real upstream key of service ("openai",
// "anthropic", "github" or "stripe") for tenant, the way the real server seeds
// OPENAI_API_KEY and friends: the key is usable by sessions and the proxy but
// is not a credential record, so GET /v1/credentials does not list it and
// /v1/stats does not count it.
func WithCredential(tenant, service, secret string) Option {
	return func(c *config) { c.creds = append(c.creds, seedCredential{tenant, service, secret}) }
}

// WithUpstream sets the base URL (http or https, e.g. an httptest server) the
// phantom proxy forwards service's requests to. The defaults are the real
// providers: https://api.openai.com, https://api.anthropic.com,
// https://api.github.com and https://api.stripe.com.
func WithUpstream(service, baseURL string) Option {
	return func(c *config) {
		if c.upstreams == nil {
			c.upstreams = map[string]string{}
		}
		c.upstreams[service] = baseURL
	}
}

// WithStateDir keeps all on-disk state (jail directories, workspaces,
// snapshots, flavors) under dir, which is created if needed and left in place
// by Close. By default the server uses a fresh temporary directory and
// removes it on Close.
func WithStateDir(dir string) Option {
	return func(c *config) { c.stateDir = dir }
}

// WithSnapshotPoolDir turns on incremental snapshots (the real server's
// AGENTJAIL_SNAPSHOT_POOL_DIR): file contents are stored once in dir under
// their hash and each snapshot is a manifest. The directory is created if
// needed and left in place by Close. By default snapshots are full copies.
func WithSnapshotPoolDir(dir string) Option {
	return func(c *config) { c.poolDir = dir }
}

// WithProxyBaseURL sets the proxy URL written into session env maps (the real
// server's PROXY_BASE_URL). By default it is the proxy listener's own URL.
func WithProxyBaseURL(u string) Option {
	return func(c *config) { c.proxyBaseURL = u }
}

// WithControlAddr sets the control plane listen address. The default is
// 127.0.0.1:0, a free loopback port. Anything but a loopback address lets
// other machines run code on this one.
func WithControlAddr(addr string) Option {
	return func(c *config) { c.ctlAddr = addr }
}

// WithProxyAddr sets the phantom proxy listen address. The default is
// 127.0.0.1:0, a free loopback port.
func WithProxyAddr(addr string) Option {
	return func(c *config) { c.proxyAddr = addr }
}

// WithMaxConcurrent sets how many executions may run at once; more are
// refused with 400 "too many concurrent executions". The default is 16.
func WithMaxConcurrent(n int) Option {
	return func(c *config) { c.maxConcurrent = n }
}

// WithLogger sends the server's logs to l. By default nothing is logged.
// Logs never contain secrets, API keys or phantom tokens.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.log = l }
}

// WithSnapshotMaxAge turns on snapshot garbage collection with an age limit (the real
// server's AGENTJAIL_SNAPSHOT_MAX_AGE_SECS): each pass evicts, among the 500 newest snapshots
// of all tenants, those created more than d ago. /v1/config reports d in whole seconds,
// rounded up.
func WithSnapshotMaxAge(d time.Duration) Option {
	return func(c *config) { c.gc.maxAge = &d }
}

// WithSnapshotMaxCount turns on snapshot garbage collection with a count limit (the real
// server's AGENTJAIL_SNAPSHOT_MAX_COUNT): when more than n of the 500 newest snapshots exist,
// each pass evicts the oldest surplus among them. n = 0 evicts every snapshot a pass reads; a
// negative n is ignored.
func WithSnapshotMaxCount(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.gc.maxCount = &n
		}
	}
}

// WithSnapshotGCTick sets how often garbage collection passes run (the real server's
// AGENTJAIL_SNAPSHOT_GC_TICK_SECS): the default is 60 s, zero or less means 1 s. Passes run
// only when an age or count limit is set; the first is one tick after New.
func WithSnapshotGCTick(d time.Duration) Option {
	return func(c *config) { c.gc.tick = max(d, 0) }
}

// WithIdleCheckInterval sets how often idle workspaces are paused (the real server's
// AGENTJAIL_IDLE_CHECK_INTERVAL_SECS): the default is 30 s and zero or less turns the idle
// reaper off. /v1/config reports it in whole seconds, rounded up.
func WithIdleCheckInterval(d time.Duration) Option {
	return func(c *config) { c.idleCheck = max(d, 0) }
}

// WithHostClones makes workspace creation clone its git seed in host mode, like the real
// server with AGENTJAIL_CLONE_MODE=host. The fake clones on the host either way; the mode only
// decides which git is used and how its absence is reported: host mode runs the git found on
// /usr/local/bin:/usr/bin:/bin and answers 500 without one, jail mode (the default) runs
// /usr/bin/git and answers 400 "bad request: git clone failed: …" without it. Runs and forks
// always clone in host mode.
func WithHostClones() Option {
	return func(c *config) { c.hostClones = true }
}
