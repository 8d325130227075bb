package exampleenv

import (
	"bytes"
	"context"
	"errors"
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
	out := Run(t, run)
	ContainsInOrder(t, out, want...)
	return out
}

// Run runs an example's run function with the environment as the test has set it, and
// fails t unless it succeeds within a minute. It returns the output.
func Run(t *testing.T, run func(context.Context, io.Writer) error) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	return out.String()
}

// CheckInterrupted runs an example's run function against the embedded fake, cancels its
// context as Ctrl-C would as soon as the output contains marker, and fails t unless run
// then returns an error matching context.Canceled within a minute. It returns the
// output. It uses t.Setenv, so the calling test must not be parallel.
func CheckInterrupted(t *testing.T, run func(context.Context, io.Writer) error, marker string) string {
	t.Helper()
	t.Setenv("AGENTJAIL_URL", "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx, interrupt := context.WithCancel(ctx)
	out := &interrupter{marker: marker, cancel: interrupt}
	if err := run(ctx, out); !errors.Is(err, context.Canceled) {
		t.Fatalf("run() = %v, want an error matching context.Canceled\n%s", err, out.buf.String())
	}
	return out.buf.String()
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

// interrupter is an output writer that cancels a context as soon as the output contains
// a marker, the way Ctrl-C would at that moment. Use it from one goroutine.
type interrupter struct {
	marker string
	cancel context.CancelFunc
	buf    bytes.Buffer
}

// Write records p and cancels when the marker has appeared.
func (w *interrupter) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.marker) {
		w.cancel()
	}
	return n, err
}
