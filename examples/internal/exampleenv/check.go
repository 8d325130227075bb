package exampleenv

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// Check runs an example's run function the way `go run` would with no $AGENTJAIL_URL,
// that is against the embedded fake, and fails t unless it succeeds within a minute and
// its output contains every string in want, in order. It returns the output.
// It uses t.Setenv, so the calling test must not be parallel.
func Check(t *testing.T, run func(context.Context, io.Writer) error, want ...string) string {
	t.Helper()
	t.Setenv("AGENTJAIL_URL", "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	ContainsInOrder(t, out.String(), want...)
	return out.String()
}

// ContainsInOrder fails t unless got contains every string in want, each after the
// previous one.
func ContainsInOrder(t *testing.T, got string, want ...string) {
	t.Helper()
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("output lacks %q (in order)\noutput:\n%s", w, got)
		}
		rest = rest[i+len(w):]
	}
}

// Interrupter is an output writer that cancels a context as soon as the output contains
// a marker, the way Ctrl-C would at that moment. Use it from one goroutine.
type Interrupter struct {
	marker string
	cancel context.CancelFunc
	buf    bytes.Buffer
}

// InterruptOn returns an Interrupter that calls cancel once marker has been written.
func InterruptOn(marker string, cancel context.CancelFunc) *Interrupter {
	return &Interrupter{marker: marker, cancel: cancel}
}

// Write records p and cancels when the marker has appeared.
func (w *Interrupter) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.marker) {
		w.cancel()
	}
	return n, err
}

// String returns everything written so far.
func (w *Interrupter) String() string { return w.buf.String() }
