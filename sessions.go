package agentjail

import (
	"context"
	"net/http"
	"sort"
	"time"
)

// Session is a set of phantom tokens, one per service, to hand to a sandbox. Env holds
// the variables to inject: e.g. OPENAI_API_KEY=phm_… and OPENAI_BASE_URL pointing at the
// phantom proxy, which swaps in the real key.
type Session struct {
	ID        string            `json:"id"`         // "sess_" + 24 lowercase hex characters
	CreatedAt time.Time         `json:"created_at"` // when Create minted it
	ExpiresAt *time.Time        `json:"expires_at"` // nil when the session never expires
	Services  []Service         `json:"services"`   // services with a phantom token, as requested
	Env       map[string]string `json:"env"`        // variables to inject; the values hold live phantom tokens
}

// Environ returns the session's Env as "KEY=value" strings sorted by key, ready to
// append to exec.Cmd.Env.
func (s *Session) Environ() []string {
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + s.Env[k]
	}
	return out
}

// SessionCreateParams are the arguments of SessionsService.Create.
type SessionCreateParams struct {
	// Services to mint phantom tokens for; each needs a stored credential.
	Services []Service
	// Scopes restricts, per service, the upstream paths a token may call: exact paths, or
	// prefixes ending in "*" (e.g. "/repos/acme/*"). No entry means unrestricted.
	Scopes map[Service][]string
	// TTL is the tokens' lifetime, sent in whole seconds rounded up; 0 means no expiry.
	TTL time.Duration
}

func (p SessionCreateParams) body() (any, error) {
	if err := durations(p.TTL); err != nil {
		return nil, err
	}
	// A nil list is sent as [] (unrestricted): the server answers null with a 422.
	var scopes map[Service][]string
	if len(p.Scopes) > 0 {
		scopes = make(map[Service][]string, len(p.Scopes))
		for svc, globs := range p.Scopes {
			if globs == nil {
				globs = []string{}
			}
			scopes[svc] = globs
		}
	}
	return struct {
		Services []Service            `json:"services,omitempty"`
		Scopes   map[Service][]string `json:"scopes,omitempty"`
		TTLSecs  int64                `json:"ttl_secs,omitempty"`
	}{p.Services, scopes, seconds(p.TTL)}, nil
}

// SessionExecParams are the arguments of SessionsService.Exec.
type SessionExecParams struct {
	Cmd     string        // executable's full path, e.g. "/bin/ls": run directly, with no shell and no PATH lookup
	Args    []string      // its arguments
	Timeout time.Duration // sent in whole seconds rounded up; 0 = server default (300 s), clamped to 1 h
	// MemoryMB is the memory limit in MiB; 0 = server default (512), MemoryUnlimited = none.
	MemoryMB int
	ExecOptions
}

func (p SessionExecParams) body() (any, error) {
	lim, err := limits(p.MemoryMB, p.Timeout, &p.ExecOptions)
	if err != nil {
		return nil, err
	}
	return struct {
		Cmd  string   `json:"cmd"`
		Args []string `json:"args,omitempty"`
		jailLimits
		ExecOptions
	}{p.Cmd, p.Args, lim, p.ExecOptions}, nil
}

// SessionsService creates and manages phantom-token sessions (/v1/sessions).
type SessionsService struct{ c *Client }

// Create mints a session with one phantom token per service. It returns an error
// matching ErrBadRequest when Services is empty, a service has no stored credential, or
// a scope names a service not in Services.
func (s *SessionsService) Create(ctx context.Context, p SessionCreateParams) (*Session, error) {
	return doJSON[Session](ctx, s.c, call{method: http.MethodPost, path: path("/v1/sessions"), body: p})
}

// List returns the sessions visible to the caller, newest first. Their Env maps contain
// live phantom tokens.
func (s *SessionsService) List(ctx context.Context) ([]Session, error) {
	return doSlice[Session](ctx, s.c, call{method: http.MethodGet, path: path("/v1/sessions")})
}

// Get returns the session with the given ID, including expired ones. It returns an error
// matching ErrNotFound if the session does not exist, was closed, or belongs to another
// tenant.
func (s *SessionsService) Get(ctx context.Context, id string) (*Session, error) {
	return doJSON[Session](ctx, s.c, call{method: http.MethodGet, path: path("/v1/sessions", id)})
}

// Close deletes the session and revokes its tokens: the proxy answers 401 to them
// afterwards. Closing an unknown or already closed session returns an error matching
// ErrNotFound.
func (s *SessionsService) Close(ctx context.Context, id string) error {
	return s.c.do(ctx, call{method: http.MethodDelete, path: path("/v1/sessions", id)}, nil)
}

// Exec runs a command in a fresh jail with the session's phantom env and waits for it.
// The call lasts as long as the command (up to its Timeout, at most an hour): bound it
// with ctx, not with an HTTP client timeout. It returns an error matching ErrBadRequest
// when the session has expired or the server is at its concurrency limit.
func (s *SessionsService) Exec(ctx context.Context, id string, p SessionExecParams) (*ExecResult, error) {
	return doJSON[ExecResult](ctx, s.c, call{method: http.MethodPost, path: path("/v1/sessions", id, "exec"), body: p})
}
