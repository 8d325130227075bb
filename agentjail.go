package agentjail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
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
	shown string       // base with any userinfo password redacted, for printing
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

// Option configures a Client in NewClient.
type Option func(*clientOptions) error

type clientOptions struct {
	apiKey     *string
	httpClient *http.Client
	userAgent  string
	headers    http.Header
	maxRetries int
	logger     *slog.Logger
}

// WithAPIKey sets the API key sent as "Authorization: Bearer <key>" on every guarded
// route. It overrides $AGENTJAIL_API_KEY; an explicit "" sends no key at all. Keys are
// written "token@tenant:role" on the server side; only the token part is sent.
func WithAPIKey(key string) Option {
	return func(o *clientOptions) error {
		if !printableKey(key) {
			return errors.New("agentjail: API key contains whitespace or non-printable characters")
		}
		o.apiKey = &key
		return nil
	}
}

// printableKey reports whether key is printable ASCII without spaces, as a bearer token
// in a header must be.
func printableKey(key string) bool {
	for _, r := range key {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}

// WithHTTPClient makes the Client send its requests through hc. hc is never modified:
// the Client uses a shallow copy whose redirect policy additionally drops the API key
// on a redirect to another host or to plain http. Note that hc.Timeout, if set, bounds
// every call, including runs that may legitimately take up to an hour.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *clientOptions) error {
		if hc == nil {
			return errors.New("agentjail: WithHTTPClient: nil *http.Client")
		}
		o.httpClient = hc
		return nil
	}
}

// WithUserAgent appends ua to the SDK's User-Agent,
// "agentjail-go/<Version> (go<version>; <os>/<arch>)". NewClient fails if ua contains
// control characters other than tab.
func WithUserAgent(ua string) Option {
	return func(o *clientOptions) error {
		if !validHeaderValue(ua) {
			return errors.New("agentjail: WithUserAgent: control characters in the user agent")
		}
		o.userAgent = strings.TrimSpace(ua)
		return nil
	}
}

// validHeaderName reports whether name is an HTTP token (RFC 9110 §5.1).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		b := name[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether net/http would send v as a header value: no control
// characters other than horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// WithHeader adds a header to every request. The headers the SDK manages itself
// (Authorization, Accept, Content-Type, User-Agent) cannot be set this way; use
// WithAPIKey and WithUserAgent instead. NewClient fails if key is not an HTTP token or
// value contains control characters other than tab.
func WithHeader(key, value string) Option {
	return func(o *clientOptions) error {
		k := http.CanonicalHeaderKey(strings.TrimSpace(key))
		switch k {
		case "":
			return errors.New("agentjail: WithHeader: empty header name")
		case "Authorization", "Accept", "Content-Type", "User-Agent", "Content-Length", "Host":
			return fmt.Errorf("agentjail: WithHeader: %s is managed by the SDK", k)
		}
		if !validHeaderName(k) || !validHeaderValue(value) {
			return fmt.Errorf("agentjail: WithHeader: invalid header name %q or control characters in its value", k)
		}
		if o.headers == nil {
			o.headers = make(http.Header)
		}
		o.headers.Add(k, value)
		return nil
	}
}

// WithMaxRetries sets how many times a failed request may be retried (default 2, so at
// most 3 attempts; 0 disables retries). Only failures that are safe to repeat are
// retried: see the package documentation for the exact policy.
func WithMaxRetries(n int) Option {
	return func(o *clientOptions) error {
		if n < 0 {
			return fmt.Errorf("agentjail: WithMaxRetries: negative count %d", n)
		}
		o.maxRetries = n
		return nil
	}
}

// WithLogger makes the Client log one debug record per HTTP attempt (method, path,
// status, attempt, duration) and a warning per retry. Headers and bodies are never
// logged. A nil logger, the default, logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(o *clientOptions) error {
		o.logger = l
		return nil
	}
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
		shown:      redactedURL(base),
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

// guardRedirects returns a copy of hc (or a new default client) whose redirect policy
// strips the Authorization header, and the WithHeader headers (which may carry secrets
// too), whenever a redirect leaves the original host or downgrades to http; net/http
// alone would forward Authorization to subdomains and every other header anywhere.
func guardRedirects(hc *http.Client, custom http.Header) *http.Client {
	var out http.Client
	if hc != nil {
		out = *hc
	} else {
		out.Transport = defaultTransport()
	}
	next := out.CheckRedirect
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if req.URL.Host != first.Host || (first.Scheme == "https" && req.URL.Scheme != "https") {
			req.Header.Del("Authorization")
			for k := range custom {
				req.Header.Del(k)
			}
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return &redirectError{fmt.Errorf("redirect to unsupported scheme %q", req.URL.Scheme)}
		}
		if next != nil {
			err := next(req, via)
			if err != nil && !errors.Is(err, http.ErrUseLastResponse) {
				return &redirectError{err}
			}
			return err
		}
		if len(via) >= 10 {
			return &redirectError{errors.New("stopped after 10 redirects")}
		}
		return nil
	}
	return &out
}

// redirectError marks a redirect refused by the redirect policy (a loop, another
// scheme, or the caller's CheckRedirect): asking again would be refused again.
type redirectError struct{ err error }

// Error returns the refused redirect's reason.
func (e *redirectError) Error() string { return e.err.Error() }

// Unwrap returns the redirect policy's own error.
func (e *redirectError) Unwrap() error { return e.err }

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

// idPath builds prefix + escaped id + suffix. It rejects the IDs that would change the
// meaning of the path (empty, "." and "..") with ErrInvalidParams before any I/O.
func idPath(prefix, what, id, suffix string) (string, error) {
	if err := checkID(what, id); err != nil {
		return "", err
	}
	return prefix + url.PathEscape(id) + suffix, nil
}

// checkID refuses an ID that is empty or would change the path it is escaped into.
func checkID(what, id string) error {
	if id == "" || id == "." || id == ".." {
		return invalidf("%s ID %q is not valid", what, id)
	}
	return nil
}

// ctxCheck rejects a nil context before any work is done.
func ctxCheck(ctx context.Context) error {
	if ctx == nil {
		return invalidf("nil context")
	}
	return nil
}

// call describes one API request for the request helper.
type call struct {
	method string
	path   string     // escaped path below the base URL, e.g. "/v1/sessions/sess_1"
	query  url.Values // nil or only the parameters that are set
	body   any        // JSON request body; POST and PATCH send {} when nil
	public bool       // no Authorization header (/healthz, /v1/stats)
	stream bool       // Accept text/event-stream; the 2xx response is handed back unread
	secret string     // a secret the body carries, kept out of every error like the API key
}

// contextError reports that the caller's context ended the call: it matches
// context.Canceled or context.DeadlineExceeded, never ErrNetwork.
func (r call) contextError(err error) error {
	return fmt.Errorf("agentjail: %s %s: %w", r.method, r.path, err)
}

// do sends c with the retry policy and decodes a 2xx JSON body into out (out may be nil:
// the body is then ignored; otherwise an empty or null body is an error). Every service method goes through here.
func (c *Client) do(ctx context.Context, r call, out any) error {
	_, _, err := c.send(ctx, r, out)
	return err
}

// doJSON is do for the common case: it returns the decoded 2xx body as a new *T.
func doJSON[T any](ctx context.Context, c *Client, r call) (*T, error) {
	var out T
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// send is do for callers that need the response itself (streams) and the number of
// attempts it took. For a stream, the returned response's body is open and belongs to
// the caller.
func (c *Client) send(ctx context.Context, r call, out any) (*http.Response, int, error) {
	if err := ctxCheck(ctx); err != nil {
		return nil, 0, err
	}
	var body []byte
	if r.body != nil || r.method == http.MethodPost || r.method == http.MethodPatch {
		var err error
		if body, err = encodeBody(r.body); err != nil {
			return nil, 0, err
		}
	}
	target := c.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		resp, status, err := c.attempt(ctx, r, target, body, out)
		c.logAttempt(ctx, r, status, attempt, time.Since(start))
		if err == nil {
			return resp, attempt, nil
		}
		apiErr, ok := err.(*Error)
		if !ok { // context errors and the like end the call as they are
			return nil, attempt, err
		}
		apiErr.Attempts = attempt
		if attempt > c.maxRetries || !c.retryable(r, apiErr) {
			return nil, attempt, apiErr
		}
		wait := c.backoff(attempt, apiErr.retryAfter)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return nil, attempt, apiErr // the next attempt could not start before the deadline
		}
		if c.logger != nil {
			c.logger.LogAttrs(ctx, slog.LevelWarn, "agentjail: retrying request",
				slog.String("method", r.method), slog.String("path", r.path),
				slog.Int("attempt", attempt), slog.Int("status", apiErr.StatusCode),
				slog.Duration("wait", wait))
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, attempt, fmt.Errorf("%w (after %d attempts, last error: %s)",
				r.contextError(err), attempt, apiErr.Error())
		}
	}
}

// attempt makes one HTTP request and reports the status it got (0 for none). It returns
// a *Error for anything the retry policy may look at, and a plain wrapped error when the
// context ended.
func (c *Client) attempt(ctx context.Context, r call, target string, body []byte, out any) (*http.Response, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return nil, 0, invalidf("building request: %v", err)
	}
	for k, v := range c.headers {
		req.Header[k] = v[:len(v):len(v)] // full slice: an append elsewhere cannot write into ours
	}
	req.Header["User-Agent"] = c.userAgent
	if r.stream {
		req.Header["Accept"] = mediaSSE
	} else {
		req.Header["Accept"] = mediaJSON
	}
	if body != nil {
		req.Header["Content-Type"] = mediaJSON
	}
	if c.auth != nil && !r.public {
		req.Header["Authorization"] = c.auth()
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, 0, r.contextError(ctxErr)
		}
		return nil, 0, networkError(err, c.secrets(r)...)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Read a little more than is kept, so that a secret cut by the limit is still
		// recognised and scrubbed. A body cut short keeps its status: the policy decides
		// on that; a body cut by the context ends the call with the context's error.
		b, err := io.ReadAll(io.LimitReader(resp.Body, int64(maxErrorBody+scrubMargin)))
		discard(resp.Body)
		if ctxErr := ctx.Err(); err != nil && ctxErr != nil {
			return nil, resp.StatusCode, r.contextError(ctxErr)
		}
		return nil, resp.StatusCode, c.statusError(r, resp, b)
	}
	if r.stream {
		return resp, resp.StatusCode, nil
	}
	defer discard(resp.Body)
	if err := decodeBody(resp.Body, out); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, resp.StatusCode, r.contextError(ctxErr)
		}
		var cut *bodyReadError
		if errors.As(err, &cut) {
			return nil, resp.StatusCode, networkError(cut.err, c.secrets(r)...)
		}
		return nil, resp.StatusCode, &Error{StatusCode: resp.StatusCode, Code: CodeUnknown,
			Message: truncate(scrubString("malformed response body: "+err.Error(), c.secrets(r)...)), err: err}
	}
	return nil, resp.StatusCode, nil
}

// secrets returns what must never appear in an error of r: the API key and the secret
// its body carries, if any (a server or proxy may echo either back).
func (c *Client) secrets(r call) []string {
	return []string{c.apiKey(), r.secret}
}

// Header values shared by every request (never modified).
var (
	mediaJSON = []string{"application/json"}
	mediaSSE  = []string{"text/event-stream"}
)

// encodeBody renders a request body once, so that every attempt sends the same bytes.
func encodeBody(v any) ([]byte, error) {
	if v == nil {
		return []byte("{}"), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, invalidf("encoding request body: %v", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// bodyReadError marks a failure to read the response body (as opposed to bad JSON in it).
type bodyReadError struct{ err error }

// Error returns the read error's text.
func (e *bodyReadError) Error() string { return e.err.Error() }

// Unwrap returns the transport's read error.
func (e *bodyReadError) Unwrap() error { return e.err }

// trackingReader counts the bytes read from the body, and remembers its first byte that
// is not JSON whitespace, whether it ended, and its first read error other than io.EOF.
type trackingReader struct {
	r     io.Reader
	n     int64
	first byte
	eof   bool
	err   error
}

// Read reads from the body, keeping count.
func (t *trackingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.n += int64(n)
	for i := 0; t.first == 0 && i < n; i++ {
		if !isJSONSpace(p[i]) {
			t.first = p[i]
		}
	}
	switch {
	case err == io.EOF:
		t.eof = true
	case err != nil && t.err == nil:
		t.err = err
	}
	return n, err
}

// decodeBody decodes a 2xx body into out, streaming. A body that is empty or JSON null is
// an error: out would keep a zero value that looks real.
// When out is a *[]byte it receives the raw body (at most maxErrorBody bytes).
func decodeBody(body io.Reader, out any) error {
	if out == nil {
		return nil
	}
	tr := trackingReader{r: body}
	if raw, ok := out.(*[]byte); ok {
		b, err := io.ReadAll(io.LimitReader(&tr, maxErrorBody))
		if err != nil {
			return &bodyReadError{err}
		}
		*raw = b
		return nil
	}
	dec := json.NewDecoder(&tr)
	err := dec.Decode(out)
	switch {
	case tr.err != nil:
		return &bodyReadError{tr.err}
	case err == io.EOF, err == nil && tr.first == 'n':
		// An empty body, or null, would leave out as a zero value that looks real.
		return errNoValue
	case err != nil:
		return err
	}
	// Only JSON whitespace may follow the value, or the body was not one JSON document (two
	// of them, or a proxy's page appended). The decoder has usually seen the end of the body
	// already, so only what it buffered is looked at, without copying. Otherwise at most
	// maxTrailing more bytes are read, and a read error there is ignored: the value itself
	// was complete.
	if tr.n > dec.InputOffset() {
		if _, err := io.Copy(whitespaceOnly{}, dec.Buffered()); err != nil {
			return err
		}
	}
	if !tr.eof {
		_, err := io.CopyBuffer(whitespaceOnly{}, io.LimitReader(body, maxTrailing), make([]byte, 512))
		if errors.Is(err, errTrailingData) {
			return err
		}
	}
	return nil
}

// maxTrailing bounds how much of the body after a decoded JSON value is inspected.
const maxTrailing = 64 << 10

// errTrailingData reports a 2xx body with more than one JSON value in it.
var errTrailingData = errors.New("unexpected data after the JSON value")

// errNoValue reports a 2xx body that is empty or JSON null where a value was expected.
var errNoValue = errors.New("no JSON value (an empty body or null)")

// isJSONSpace reports whether b is one of the four whitespace bytes JSON allows.
func isJSONSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r'
}

// whitespaceOnly is a writer that accepts JSON whitespace and fails on anything else.
type whitespaceOnly struct{}

// Write returns errTrailingData if p holds anything but JSON whitespace.
func (whitespaceOnly) Write(p []byte) (int, error) {
	for _, b := range p {
		if !isJSONSpace(b) {
			return 0, errTrailingData
		}
	}
	return len(p), nil
}

// discard drains a bounded amount of an unwanted body so the connection can be reused,
// then closes it.
func discard(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 256<<10)
	_ = body.Close()
}

// retryable applies the retry policy. GET, HEAD and DELETE are retried on transport
// failures and 408, 429, 502, 503, 504. POST and PATCH may start code or create
// resources, so they are retried only when the server provably did not act: the
// connection was never established, or the answer was 429 or 503.
func (c *Client) retryable(r call, e *Error) bool {
	idempotent := r.method == http.MethodGet || r.method == http.MethodHead || r.method == http.MethodDelete
	if e.StatusCode == 0 {
		if e.err == nil || isTLSError(e.err) || isPolicyError(e.err) {
			return false
		}
		return idempotent || neverConnected(e.err)
	}
	switch e.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case http.StatusRequestTimeout, http.StatusBadGateway, http.StatusGatewayTimeout:
		return idempotent
	}
	return false
}

// neverConnected reports whether err happened before a connection existed (refused,
// unreachable, DNS), so no byte of the request reached the server.
func neverConnected(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// isTLSError reports certificate and handshake failures, which retrying cannot fix: a
// bad or untrusted certificate, a TLS alert from the server, or a server that answers
// plain HTTP on an https URL.
func isTLSError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		header   tls.RecordHeaderError
		alert    tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.Is(err, http.ErrSchemeMismatch)
}

// isPolicyError reports a failure that the same request would meet again: a redirect
// refused by the redirect policy.
func isPolicyError(err error) bool {
	var redirect *redirectError
	return errors.As(err, &redirect)
}

// backoff returns the wait before the next attempt: retryBase·2^(attempt-1) with equal
// jitter, or the server's Retry-After, never more than retryCap.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, c.retryCap)
	}
	d := c.retryBase << (attempt - 1)
	if d > c.retryCap || d <= 0 {
		d = c.retryCap
	}
	half := d / 2
	return half + rand.N(half+1)
}

// sleep waits for d or until ctx is done, releasing its timer either way. A wait that
// ends at or after ctx's deadline reports context.DeadlineExceeded even if ctx's own
// timer has not fired yet, so that no attempt starts past the deadline.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
			return context.DeadlineExceeded
		}
		return ctx.Err()
	}
}

// logAttempt writes the per-attempt debug record: never headers or bodies.
func (c *Client) logAttempt(ctx context.Context, r call, status, attempt int, took time.Duration) {
	if c.logger == nil || !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "agentjail: request",
		slog.String("method", r.method), slog.String("path", r.path),
		slog.Int("status", status), slog.Int("attempt", attempt), slog.Duration("duration", took))
}
