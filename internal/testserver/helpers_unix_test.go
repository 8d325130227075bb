//go:build unix

package testserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fifoGate is a pair of named pipes a test process uses to say it is running (it writes to up)
// and to wait for the test's permission to finish (it reads go). No sleeps involved.
type fifoGate struct {
	up, goPath string
}

// The pipes live in a host directory srv shares with its jails, at the same path.
func newFifoGate(t *testing.T, srv *Server) fifoGate {
	t.Helper()
	dir := t.TempDir()
	if srv.jail != nil {
		srv.jail.share(dir)
	}
	g := fifoGate{up: filepath.Join(dir, "up"), goPath: filepath.Join(dir, "go")}
	for _, p := range []string{g.up, g.goPath} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// script is the shell code of a gated process.
func (g fifoGate) script() string {
	return fmt.Sprintf("echo up > %s; read x < %s; echo released", g.up, g.goPath)
}

// waitUp blocks until the gated process announced itself. When early is not nil and its request
// finishes first, the test fails with that response instead of hanging.
func (g fifoGate) waitUp(t *testing.T, early <-chan asyncResult) {
	t.Helper()
	type read struct {
		b   []byte
		err error
	}
	got := make(chan read, 1)
	go func() {
		b, err := os.ReadFile(g.up)
		got <- read{b, err}
	}()
	select {
	case r := <-got:
		if r.err != nil || strings.TrimSpace(string(r.b)) != "up" {
			t.Fatalf("gate: %q %v", r.b, r.err)
		}
	case res := <-early:
		// Unblock the reader, which is still waiting for a writer.
		if f, err := os.OpenFile(g.up, os.O_RDWR, 0); err == nil {
			f.Close()
		}
		t.Fatalf("request finished before its process was up: %+v %s", res.err, res.resp.body)
	}
}

// release lets the gated process finish.
func (g fifoGate) release(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(g.goPath, []byte("go\n"), 0o600); err != nil {
		t.Fatalf("gate release: %v", err)
	}
}
