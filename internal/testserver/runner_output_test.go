//go:build unix

package testserver

import (
	"bytes"
	"io"
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
			readLines(strings.NewReader(tt.in), tt.limit, func(l []byte) { got = append(got, string(l)) }, nil)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("lines = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadLinesBeyondBuffer(t *testing.T) {
	t.Parallel()
	// A line longer than the read buffer (64 KiB) but under the limit arrives whole.
	line := bytes.Repeat([]byte("y"), 200<<10)
	var got [][]byte
	readLines(bytes.NewReader(append(append([]byte{}, line...), '\n')), streamLineCap, func(l []byte) {
		got = append(got, append([]byte(nil), l...))
	}, nil)
	if len(got) != 1 || !bytes.Equal(got[0], line) {
		t.Fatalf("got %d lines, first %d bytes; want one line of %d", len(got), len(got[0]), len(line))
	}
}

// pieces is a reader that returns one piece per Read.
type pieces []string

func (p *pieces) Read(b []byte) (int, error) {
	if len(*p) == 0 {
		return 0, io.EOF
	}
	n := copy(b, (*p)[0])
	if n == len((*p)[0]) {
		*p = (*p)[1:]
	} else {
		(*p)[0] = (*p)[0][n:]
	}
	return n, nil
}

func TestReadLinesIdleBetweenReads(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("z", 150<<10)
	tests := []struct {
		name  string
		in    pieces
		limit int
		want  string // lines, and "~" for each idle call
	}{
		{name: "idle after the lines of each read and at the end", in: pieces{"a\nb", "c\n", "d\ne\n"}, limit: 10, want: "a ~ bc ~ d e ~ ~"},
		{name: "a line split over reads", in: pieces{"ab", "cd", "ef\n"}, limit: 10, want: "~ ~ abcdef ~ ~"},
		{name: "a long line split over reads is cut", in: pieces{"xxxx", "yyyy\n", "next"}, limit: 6, want: "~ xxxxyy ~ ~ next ~"},
		{name: "a cut line longer than the buffer", in: pieces{big + "\nnext\n"}, limit: 100 << 10, want: "~ ~ " + strings.Repeat("z", 100<<10) + " next ~ ~"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			readLines(&tt.in, tt.limit, func(l []byte) { got = append(got, string(l)) }, func() { got = append(got, "~") })
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("got %.80q, want %.80q", g, tt.want)
			}
		})
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
