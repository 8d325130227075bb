package main

import (
	"io"
	"os"
	"testing"
)

// TestInterruptWhileReading checks that one signal ends a command waiting for standard
// input that never comes, with exit status 130.
func TestInterruptWhileReading(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	for _, args := range [][]string{{"run", "-lang", "bash", "-"}, {"credential", "put", "openai"}} {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			stdin, w := io.Pipe()
			t.Cleanup(func() { w.Close() })
			s := start(t, srv.URL(), stdin, args...)
			s.signals <- os.Interrupt
			result{s.wait(t), s.stdout.String(), s.stderr.String()}.check(t, 130, "", "")
		})
	}
}
