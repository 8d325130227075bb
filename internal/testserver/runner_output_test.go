//go:build unix

package testserver

import (
	"bytes"
	"strings"
	"testing"
)

// TestCapBuffer: captured output is cut at outputCap bytes on a character boundary and marked
// with an ellipsis; invalid UTF-8 is replaced.
func TestCapBuffer(t *testing.T) {
	t.Parallel()
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name  string
		write []string
		want  string
	}{
		{name: "under the cap", write: []string{"hello"}, want: "hello"},
		{name: "exactly the cap", write: []string{a(outputCap)}, want: a(outputCap)},
		{name: "one byte over", write: []string{a(outputCap + 1)}, want: a(outputCap) + "…"},
		{name: "cut lands inside a 2-byte character", write: []string{a(outputCap-1) + "é" + "zz"}, want: a(outputCap-1) + "…"},
		{name: "cut lands inside a 4-byte character", write: []string{a(outputCap - 2), "😀", a(10)}, want: a(outputCap-2) + "…"},
		{name: "many small writes", write: []string{a(outputCap / 2), a(outputCap / 2), "x", a(100000)}, want: a(outputCap) + "…"},
		{name: "invalid UTF-8 is replaced", write: []string{"a\xffb"}, want: "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c capBuffer
			for _, w := range tt.write {
				c.WriteString(w)
			}
			if got := c.String(); got != tt.want {
				t.Errorf("got %d bytes ending %q, want %d bytes ending %q", len(got), tail(got), len(tt.want), tail(tt.want))
			}
		})
	}
}

func TestReadLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100)
	tests := []struct {
		name  string
		in    string
		limit int
		want  []string
	}{
		{name: "plain", in: "a\nb\n", limit: 10, want: []string{"a", "b"}},
		{name: "empty and indented lines", in: "a\n\n  b\n", limit: 10, want: []string{"a", "", "  b"}},
		{name: "one trailing CR removed", in: "a\r\nb\r\r\n", limit: 10, want: []string{"a", "b\r"}},
		{name: "bare CR kept inside", in: "10%\r20%\n", limit: 10, want: []string{"10%\r20%"}},
		{name: "last line without newline", in: "a\nlast", limit: 10, want: []string{"a", "last"}},
		{name: "long line truncated, rest discarded", in: long + "\nnext\n", limit: 10, want: []string{long[:10], "next"}},
		{name: "no output", in: "", limit: 10, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			readLines(strings.NewReader(tt.in), tt.limit, func(l []byte) { got = append(got, string(l)) })
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("lines = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadLinesBeyondBuffer(t *testing.T) {
	t.Parallel()
	// A line longer than the bufio buffer (64 KiB) but under the limit arrives whole.
	line := bytes.Repeat([]byte("y"), 200<<10)
	var got [][]byte
	readLines(bytes.NewReader(append(append([]byte{}, line...), '\n')), streamLineCap, func(l []byte) {
		got = append(got, append([]byte(nil), l...))
	})
	if len(got) != 1 || !bytes.Equal(got[0], line) {
		t.Fatalf("got %d lines, first %d bytes; want one line of %d", len(got), len(got[0]), len(line))
	}
}

func TestRunnerOutputCapEndToEnd(t *testing.T) {
	t.Parallel()
	r := testRunner(t, 1)
	// 16383 ASCII bytes then a 2-byte character straddling the cap.
	res := runSpec(t, r, procSpec{argv: []string{"/bin/sh", "-c", `head -c 16383 /dev/zero | tr '\0' a; printf 'é%.0s' $(seq 1 100)`}})
	want := strings.Repeat("a", outputCap-1) + "…"
	if res.stdout != want {
		t.Fatalf("stdout has %d bytes ending %q, want %d ending %q", len(res.stdout), tail(res.stdout), len(want), tail(want))
	}
}
