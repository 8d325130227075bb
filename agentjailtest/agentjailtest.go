// Package agentjailtest runs a fake agentjail control plane and phantom proxy
// inside your tests, so code that calls agentjail through this SDK can be
// tested with no real server. The fake is NOT a sandbox: code sent to runs,
// execs, forks, streams and workspaces runs as real processes on this host. On
// Linux it runs them in a light jail that shows them what a real jail shows
// (see WithIsolation), which is for fidelity, not security; elsewhere they
// are ordinary processes of the current user, with its files and network.
// Send it only code you would run yourself, and never expose it to other
// machines.
//
// The fake speaks the real server's HTTP API faithfully and keeps real state:
// sessions hand out phm_ phantom tokens that the proxy swaps for the real key,
// runs execute and land in the jail ledger, workspaces and snapshots are
// directories on disk. Start one per test with NewServer and talk to it with
// the client it gives you:
//
//	func TestDeploy(t *testing.T) {
//		srv := agentjailtest.NewServer(t) // closed when the test ends
//		res, err := srv.Client().Runs.Create(ctx, agentjail.RunParams{
//			Language: agentjail.LanguageBash,
//			Code:     "echo hi",
//		})
//		…
//	}
//
// To test how your code copes with a misbehaving server, InjectFault makes
// chosen requests fail (a status such as 429 or 503, or a connection dropped
// after the request was read) without any side effect, and Requests lists
// what your code sent, retries included.
//
// Because it runs code, the fake listens on loopback ports by default, sends
// no CORS headers, refuses requests whose Host header is not a loopback name
// or address, and never logs secrets. Timeouts are enforced, and in a jail
// network modes and seccomp profiles too (allowlist through a CONNECT proxy,
// without blocking direct connections); resource limits are accepted but not
// enforced.
package agentjailtest

import (
	"fmt"
	"strings"
	"testing"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/internal/testserver"
)

// Server is a running fake control plane plus phantom proxy. Its methods are
// safe for concurrent use.
type Server struct {
	srv      *testserver.Server
	apiToken string // token of the first WithAPIKeys entry; "" when auth is off
}

// NewServer starts a fake control plane and phantom proxy on free loopback
// ports and closes it when tb's test (and its subtests) end. It fails tb if
// the server cannot start, e.g. on a malformed option.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := New(opts...)
	if err != nil {
		tb.Fatalf("agentjailtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("agentjailtest: close: %v", err)
		}
	})
	return s
}

// New is NewServer for code without a testing.TB, such as TestMain or a
// development server: it returns an error instead of failing a test, and the
// caller must call Close.
func New(opts ...Option) (*Server, error) {
	var tsOpts []testserver.Option
	var keys []string
	for _, o := range opts {
		if o.apply != nil {
			tsOpts = append(tsOpts, o.apply)
		}
		keys = append(keys, o.apiKeys...)
	}
	srv, err := testserver.New(tsOpts...)
	if err != nil {
		return nil, err
	}
	s := &Server{srv: srv}
	if len(keys) > 0 {
		s.apiToken, _, _ = strings.Cut(strings.TrimSpace(keys[0]), "@")
	}
	return s, nil
}

// URL returns the control plane's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.srv.URL() }

// ProxyURL returns the phantom proxy's base URL. Session env maps point
// sandboxed code at it (as OPENAI_BASE_URL and friends) unless
// WithProxyBaseURL says otherwise.
func (s *Server) ProxyURL() string { return s.srv.ProxyURL() }

// GatewayURL returns the gateway's base URL, e.g. http://127.0.0.1:41236, or
// "" without WithGateway or when its address could not be bound. Send
// requests there with the Host header of a workspace domain.
func (s *Server) GatewayURL() string { return s.srv.GatewayURL() }

// Isolation reports how the server runs submitted code: IsolationNamespaces
// or IsolationNone.
func (s *Server) Isolation() Isolation { return Isolation(s.srv.Isolation()) }

// StateDir returns the absolute directory holding the server's jail
// directories, workspaces and snapshots.
func (s *Server) StateDir() string { return s.srv.StateDir() }

// Close stops the listeners (the gateway's too), kills every process the
// server started and waits for them, ends proxy and gateway requests still
// waiting on an upstream (they are answered 502), stops the background
// tasks, and removes the state directory unless WithStateDir chose it. It is
// safe to call more than once; later calls return the first result.
func (s *Server) Close() error { return s.srv.Close() }

// Client returns an SDK client for this server, authenticated with the token
// of the first WithAPIKeys entry, or sending no key when authentication is off
// ($AGENTJAIL_URL and $AGENTJAIL_API_KEY are never consulted). opts are
// applied after, so they can override the key or add retries, headers or a
// logger. It panics on an invalid option, a programming error, as
// httptest.NewServer panics when it cannot listen.
func (s *Server) Client(opts ...agentjail.Option) *agentjail.Client {
	all := append([]agentjail.Option{agentjail.WithAPIKey(s.apiToken)}, opts...)
	c, err := agentjail.NewClient(s.URL(), all...)
	if err != nil {
		panic(fmt.Sprintf("agentjailtest: Client: %v", err))
	}
	return c
}
