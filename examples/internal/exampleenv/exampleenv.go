// Package exampleenv connects the example programs to a control plane: the one named by
// $AGENTJAIL_URL (with $AGENTJAIL_API_KEY) when it is set, otherwise a fake control plane
// started in-process with agentjailtest, so that every example runs on a laptop without a
// Linux jail host.
package exampleenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/agentjailtest"
)

// Env is a connected client plus, when running embedded, the fake serving it.
type Env struct {
	Client *agentjail.Client
	// Server is the embedded fake, or nil when the examples talk to $AGENTJAIL_URL.
	Server *agentjailtest.Server
}

// Embedded reports whether the client talks to the in-process fake.
func (e *Env) Embedded() bool { return e.Server != nil }

// Connect returns a client for $AGENTJAIL_URL when it is set. Otherwise it starts the
// embedded fake with opts, writes one line saying so to out, and returns a client for
// it. opts are ignored for a remote control plane. Close the Env when done.
func Connect(out io.Writer, opts ...agentjailtest.Option) (*Env, error) {
	if url := strings.TrimSpace(os.Getenv("AGENTJAIL_URL")); url != "" {
		c, err := agentjail.NewClient(url, agentjail.WithUserAgent("agentjail-examples"))
		if err != nil {
			return nil, err
		}
		return &Env{Client: c}, nil
	}
	srv, err := agentjailtest.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("starting the embedded fake control plane: %w", err)
	}
	// The fake runs with authentication off; its client sends no key, not even one left
	// in the environment for another server.
	c := srv.Client(agentjail.WithUserAgent("agentjail-examples"))
	fmt.Fprintf(out, "AGENTJAIL_URL is not set: using the embedded fake control plane at %s "+
		"(it runs code on this host, NOT in a sandbox)\n", srv.URL())
	return &Env{Client: c, Server: srv}, nil
}

// Close stops the embedded fake, if any, killing whatever it still runs.
func (e *Env) Close() error {
	if e.Server == nil {
		return nil
	}
	return e.Server.Close()
}

// Cleanup returns a context for clean-up calls: it outlives the cancellation of ctx
// (Ctrl-C must still delete what the example created) but is bounded in time.
func Cleanup(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// Main runs an example's run function with a context cancelled by Ctrl-C, writing to
// stdout, and exits non-zero with the program name and the error on failure.
func Main(name string, run func(ctx context.Context, out io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Stdout)
	stop()
	if err == nil {
		return
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "%s: interrupted\n", name)
		os.Exit(130)
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	if errors.Is(err, agentjail.ErrUnauthorized) {
		fmt.Fprintf(os.Stderr, "%s: set AGENTJAIL_API_KEY to a key the control plane accepts\n", name)
	}
	if errors.Is(err, agentjail.ErrNetwork) {
		fmt.Fprintf(os.Stderr, "%s: is the control plane at $AGENTJAIL_URL reachable?\n", name)
	}
	os.Exit(1)
}

// CanRun reports whether code needing the host binary bin (python3, node…) can run: always
// true against a real control plane, whose jails bring their own runtimes; with the
// embedded fake, code runs on this host, so bin must be on its PATH.
func (e *Env) CanRun(bin string) bool {
	if !e.Embedded() {
		return true
	}
	_, err := exec.LookPath(bin)
	return err == nil
}

// Upstream is a local stand-in for a provider API such as OpenAI. The embedded fake's
// phantom proxy forwards to it (agentjailtest.WithUpstream), so the examples can show what
// the provider receives without sending anything to the internet. It answers every
// request with reply as JSON and records the Authorization header of each.
type Upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	auth []string
}

// NewUpstream starts a stand-in upstream on a loopback port. Close it when done.
func NewUpstream(reply string) *Upstream {
	u := &Upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.auth = append(u.auth, r.Header.Get("Authorization"))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, reply)
	}))
	return u
}

// URL is the stand-in's base URL, for agentjailtest.WithUpstream.
func (u *Upstream) URL() string { return u.srv.URL }

// Authorizations returns the Authorization headers received so far, oldest first.
func (u *Upstream) Authorizations() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.auth...)
}

// Close stops the stand-in.
func (u *Upstream) Close() { u.srv.Close() }

// Mask shortens a secret for printing: its first 7 characters, then "…".
func Mask(secret string) string {
	if len(secret) <= 7 {
		return "…"
	}
	return secret[:7] + "…"
}
