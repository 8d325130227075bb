package agentjail

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"time"
)

// Version is the semantic version of this SDK. It is sent in the User-Agent header.
const Version = "0.1.0"

// Client talks to one agentjail control plane. Create it with NewClient; its exported
// fields are the services, one per resource. A Client is safe for concurrent use by
// multiple goroutines and should be reused: it keeps a pool of connections.
type Client struct {
	Credentials *CredentialsService // API credentials held by the control plane
	Sessions    *SessionsService    // phantom-token sessions and exec inside them
	Runs        *RunsService        // one-shot runs, live forks and streamed runs
	Workspaces  *WorkspacesService  // persistent workspaces
	Snapshots   *SnapshotsService   // snapshots of workspaces
	Audit       *AuditService       // the phantom proxy's audit log
	Jails       *JailsService       // the ledger of every jail run
	Public      *PublicService      // unauthenticated health and stats
	Settings    *SettingsService    // server configuration and identity

	base  string       // scheme://host[/prefix], no trailing slash
	shown string       // base with any user information masked, for printing
	hc    *http.Client // a copy of the caller's client (or ours) with the redirect guard
	// The key is only kept inside closures: fmt prints a func as an address, so no
	// formatting verb can reach it through the Client or a service's back-pointer.
	auth       func() []string // the Authorization value; nil when no key is configured
	apiKey     func() string   // the key, only to scrub it from error texts
	userAgent  []string
	headers    http.Header // WithHeader values, applied first
	maxRetries int
	logger     *slog.Logger
	retryBase  time.Duration // first backoff step; tests shorten it
	retryCap   time.Duration // longest single wait, Retry-After included
}

// NewClient returns a Client for the control plane at baseURL, e.g.
// "http://127.0.0.1:7000" or "https://host/agentjail" (a path prefix is kept, trailing
// slashes are dropped). An empty baseURL falls back to $AGENTJAIL_URL; the API key
// comes from WithAPIKey, else $AGENTJAIL_API_KEY, else none is sent.
//
// The default HTTP client has no overall timeout and no response-header timeout, because
// a run may take up to an hour before the server answers: bound each call with its
// context instead. NewClient returns an error for a missing, unparsable or non-http(s)
// URL and for an invalid option.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	o := clientOptions{maxRetries: 2}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	from := ""
	if baseURL == "" {
		baseURL, from = os.Getenv(urlEnv), "$"+urlEnv
	}
	base, err := parseBaseURL(baseURL, from)
	if err != nil {
		return nil, err
	}
	key := os.Getenv("AGENTJAIL_API_KEY")
	if o.apiKey != nil {
		key = *o.apiKey
	} else if !printableKey(key) {
		return nil, errors.New("agentjail: $AGENTJAIL_API_KEY contains whitespace or non-printable characters")
	}

	ua := fmt.Sprintf("agentjail-go/%s (%s; %s/%s)", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if o.userAgent != "" {
		ua += " " + o.userAgent
	}
	c := &Client{
		base:       base,
		shown:      maskUserinfo(base),
		hc:         guardRedirects(o.httpClient, o.headers),
		apiKey:     func() string { return key },
		userAgent:  []string{ua},
		headers:    o.headers,
		maxRetries: o.maxRetries,
		logger:     o.logger,
		retryBase:  500 * time.Millisecond,
		retryCap:   8 * time.Second,
	}
	if key != "" {
		value := []string{"Bearer " + key}
		c.auth = func() []string { return value }
	}
	c.Credentials = &CredentialsService{c: c}
	c.Sessions = &SessionsService{c: c}
	c.Runs = &RunsService{c: c}
	c.Workspaces = &WorkspacesService{c: c}
	c.Snapshots = &SnapshotsService{c: c}
	c.Audit = &AuditService{c: c}
	c.Jails = &JailsService{c: c}
	c.Public = &PublicService{c: c}
	c.Settings = &SettingsService{c: c}
	return c, nil
}

// defaultTransport is a clone of http.DefaultTransport (so proxy settings from the
// environment still apply) that keeps enough idle connections per host for bursts of
// concurrent calls. It sets no response-header timeout on purpose.
func defaultTransport() *http.Transport {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment}
	}
	t = t.Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return t
}

// Format prints the Client without its API key, whatever the verb.
func (c Client) Format(f fmt.State, verb rune) {
	key := "none"
	if c.auth != nil {
		key = "[REDACTED]"
	}
	fmt.Fprintf(f, "agentjail.Client{base: %s, apiKey: %s, maxRetries: %d}", c.shown, key, c.maxRetries)
}

// String describes the Client without its API key.
func (c *Client) String() string {
	if c == nil {
		return "agentjail.Client(nil)"
	}
	return fmt.Sprint(*c)
}

// GoString describes the Client without its API key.
func (c *Client) GoString() string { return c.String() }
