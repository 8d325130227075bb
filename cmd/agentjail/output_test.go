package main

import (
	"bytes"
	"os/exec"
	"testing"
	"time"
)

func TestSizeText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {5 << 20, "5.0 MiB"},
		{3 << 30, "3.0 GiB"}, {1 << 62, "4.0 EiB"},
	}
	for _, tt := range tests {
		if got := sizeText(tt.n); got != tt.want {
			t.Errorf("sizeText(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestCell(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "-", "plain text": "plain text", "a\tb": `"a\tb"`, "line\n": `"line\n"`, "é": "é"} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "it's", "''", `$HOME "x" \n`, "a\nb", "`id`; rm -rf /"} {
		out, err := exec.Command("sh", "-c", "printf '%s' "+shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("sh read %s back as %q (%v), want %q", shellQuote(s), out, err, s)
		}
	}
}

func TestWriteFields(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	v := map[string]any{} // maps marshal sorted, which fixes the order for this test
	v["a_bytes"] = 2048
	v["b"] = map[string]any{"list": []string{"x", "y"}, "none": nil, "empty": []int{}, "objs": []map[string]int{{"n": 1}}}
	v["c_at"] = at
	v["d"] = "two\nlines"
	v["e"] = true
	var out bytes.Buffer
	if err := writeFields(&out, v); err != nil {
		t.Fatal(err)
	}
	want := "a_bytes      2.0 KiB\n" +
		"b.empty      -\n" +
		"b.list       x, y\n" +
		"b.none       -\n" +
		"b.objs.0.n   1\n" +
		"c_at         2026-01-02T03:04:05Z\n" +
		"d            \"two\\nlines\"\n" +
		"e            true\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestListingEmpty(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := listing[int](&out, true, nil, nil, nil); err != nil || out.String() != "[]\n" {
		t.Errorf("an empty JSON listing is %q (%v), want []", out.String(), err)
	}
}
