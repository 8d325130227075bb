package main

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(r) || isTerminal(null) || isTerminal(strings.NewReader("x")) {
		t.Error("a pipe, the null device or a reader counts as a terminal")
	}
	if runtime.GOOS != "linux" {
		return
	}
	// The master side of a new pseudo-terminal has terminal attributes.
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer pty.Close()
	if !isTerminal(pty) {
		t.Error("a pseudo-terminal does not count as a terminal")
	}
}
