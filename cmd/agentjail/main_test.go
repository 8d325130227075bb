package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/internal/testserver"
)

// syncBuffer is an output stream a test can read while the CLI still writes to it.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{})} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.changed)
	b.changed = make(chan struct{})
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor blocks until the stream holds want, failing the test after a generous bound.
func (b *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		b.mu.Lock()
		has, changed := strings.Contains(b.buf.String(), want), b.changed
		b.mu.Unlock()
		if has {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("output never contained %q; got %q", want, b.String())
		}
	}
}

// session is one CLI invocation run in the background with a signal source the test
// controls.
type session struct {
	stdout, stderr *syncBuffer
	signals        chan os.Signal
	done           chan int
}

// start runs the CLI with args against the control plane at url; stdin is its input.
func start(t *testing.T, url string, stdin io.Reader, args ...string) *session {
	t.Helper()
	s := &session{stdout: newSyncBuffer(), stderr: newSyncBuffer(), signals: make(chan os.Signal, 2), done: make(chan int, 1)}
	getenv := func(k string) string {
		if k == "AGENTJAIL_URL" {
			return url
		}
		return ""
	}
	c := &cli{stdin: stdin, stdout: s.stdout, stderr: s.stderr, getenv: getenv, signals: s.signals, pollEvery: 10 * time.Millisecond}
	go func() { s.done <- c.main(args) }()
	return s
}

// wait returns the exit status, failing the test if the CLI does not end.
func (s *session) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-s.done:
		return code
	case <-time.After(60 * time.Second):
		t.Fatalf("the CLI did not exit; stdout %q, stderr %q", s.stdout.String(), s.stderr.String())
		return -1
	}
}

// result is the outcome of one finished invocation.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the CLI through run, as main does, and returns what it printed.
func runCLI(t *testing.T, url, stdin string, args ...string) result {
	t.Helper()
	return runEnv(t, map[string]string{"AGENTJAIL_URL": url}, stdin, args...)
}

func runEnv(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(stdin), &stdout, &stderr, func(k string) string { return env[k] })
	return result{code, stdout.String(), stderr.String()}
}

// check compares a result with the expected exit status and exact output.
func (r result) check(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || r.stdout != stdout || r.stderr != stderr {
		t.Errorf("got exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
			r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}

// newServer starts the embedded fake and an SDK client for it.
func newServer(t *testing.T, opts ...testserver.Option) (*testserver.Server, *agentjail.Client) {
	t.Helper()
	srv := testserver.Start(t, opts...)
	client, err := agentjail.NewClient(srv.URL(), agentjail.WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	return srv, client
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, testserver.WithAPIKeys("tok@acme:operator"))
	// Port 1 refuses connections, and unlike a port just freed, no listener a parallel
	// test starts on ":0" can be handed it.
	const refusedAddr = "127.0.0.1:1"
	refused := "http://" + refusedAddr
	refusedWithUser := "http://tok-user:s3cret-pass@" + refusedAddr
	refusedMasked := "http://xxxxx@" + refusedAddr

	tests := []struct {
		name string
		env  map[string]string
		args []string
		line string // the one line on stderr; "…" stands for text that varies by platform
	}{
		{"401 hint", map[string]string{"AGENTJAIL_URL": srv.URL(), "AGENTJAIL_API_KEY": "wrong-token"}, []string{"whoami"},
			"agentjail: 401: invalid api key; is AGENTJAIL_API_KEY set to the token part of token@tenant:role?"},
		{"401 hint for a pasted server entry", map[string]string{"AGENTJAIL_URL": srv.URL(), "AGENTJAIL_API_KEY": "tok@acme:operator"}, []string{"whoami"},
			"agentjail: 401: invalid api key (the API key contains '@': it looks like a server entry of the form token@tenant:role; " +
				"send only the token, the part before the '@'); is AGENTJAIL_API_KEY set to the token part of token@tenant:role?"},
		{"404", map[string]string{"AGENTJAIL_URL": srv.URL(), "AGENTJAIL_API_KEY": "tok"}, []string{"workspace", "delete", "wrk_nope"},
			"agentjail: 404: not found: workspace wrk_nope"},
		{"-url wins over the environment", map[string]string{"AGENTJAIL_URL": refused, "AGENTJAIL_API_KEY": "tok"}, []string{"-url", srv.URL(), "jail", "get", "7"},
			"agentjail: 404: not found: jail 7"},
		{"connection refused hint", map[string]string{"AGENTJAIL_URL": refused}, []string{"health"},
			`agentjail: Get "` + refused + `/healthz": dial tcp …; is the control plane at ` + refused + " running?"},
		{"connection refused hint masks user information", map[string]string{"AGENTJAIL_URL": refusedWithUser}, []string{"health"},
			`agentjail: Get "` + refusedMasked + `/healthz": dial tcp …; is the control plane at ` + refusedMasked + " running?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runEnv(t, tt.env, "", tt.args...)
			line, ok := strings.CutSuffix(r.stderr, "\n")
			matches := line == tt.line
			if head, tail, varies := strings.Cut(tt.line, "…"); varies {
				matches = len(line) > len(head)+len(tail) && strings.HasPrefix(line, head) && strings.HasSuffix(line, tail)
			}
			if r.code != 1 || r.stdout != "" || !ok || strings.Contains(line, "\n") || !matches {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and the one line %q", r.code, r.stdout, r.stderr, tt.line)
			}
		})
	}
}

// TestRetriesOnce checks that the CLI retries a failed call once, not the SDK's twice,
// so that a control plane that is down is reported quickly.
func TestRetriesOnce(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	r := runCLI(t, srv.URL, "", "health")
	if r.code != 1 || calls.Load() != 2 {
		t.Errorf("exit %d after %d calls (stderr %q); want 1 after 2", r.code, calls.Load(), r.stderr)
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{&agentjail.Error{StatusCode: 404, Code: agentjail.CodeNotFound, Message: "not found: session sess_1"}, "404: not found: session sess_1"},
		{&agentjail.Error{Code: agentjail.CodeNetwork, Message: "dial tcp: refused"}, "dial tcp: refused"},
		{errors.New("open x.py: no such file or directory"), "open x.py: no such file or directory"},
		{errors.New("agentjail: run failed: spawn:\r\nno such file\n"), "run failed: spawn: no such file"},
	}
	for _, tt := range tests {
		if got := errorText(tt.err); got != tt.want {
			t.Errorf("errorText(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if !isConnRefused(&os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}) || isConnRefused(context.Canceled) {
		t.Error("isConnRefused does not tell a refused connection from others")
	}
}

func TestJailExit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code     int
		timedOut bool
		want     int
	}{
		{0, false, 0}, {3, false, 3}, {255, false, 255}, {137, true, 124}, {0, true, 124}, {-1, false, 1}, {256, false, 1},
	}
	for _, tt := range tests {
		var got exitStatus
		if !errors.As(jailExit(tt.code, tt.timedOut), &got) || int(got) != tt.want {
			t.Errorf("jailExit(%d, %v) = %v, want %d", tt.code, tt.timedOut, got, tt.want)
		}
	}
}

// rfc is how listings show a time: RFC 3339, UTC, to the second.
func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// aligned renders rows the way the listings should look: each column as wide as its
// widest cell plus three spaces, the last one unpadded.
func aligned(rows ...[]string) string {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r[:len(r)-1] {
			widths[i] = max(widths[i], len(c)+3)
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r[:len(r)-1] {
			b.WriteString(c + strings.Repeat(" ", widths[i]-len(c)))
		}
		b.WriteString(r[len(r)-1] + "\n")
	}
	return b.String()
}
