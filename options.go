package agentjail

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

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
// route. It overrides $AGENTJAIL_API_KEY; an explicit "" sends no key at all. The server
// lists its keys as "token@tenant:role": pass only the token part. A key containing
// whitespace or non-printable characters makes NewClient fail.
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

// WithHeader adds a header to every request. The headers the SDK or net/http manage
// (Authorization, Accept, Content-Type, User-Agent, Content-Length, Host) cannot be set
// this way; use WithAPIKey and WithUserAgent instead. NewClient fails if key is not an
// HTTP token or value contains control characters other than tab.
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
