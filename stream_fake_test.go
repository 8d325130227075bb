//go:build unix

package agentjail

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/agentjail/agentjail-go/internal/testserver"
)

// fakeStreamLines is how many lines the throughput job prints; each is fakeStreamLine
// plus its newline, 100 bytes, so the job's output is 6.5 MB.
const (
	fakeStreamLines = 1 << 16
	fakeStreamLine  = "2026-11-25T21:04:11.123Z INFO  worker-07 processed item 000042 in 3.2 ms (queue depth 17, ok)......"
)

// hostAwk is the path of awk with its symbolic links resolved: a jail of the fake sees the
// host's /usr and /bin but not /etc, where awk's alternatives link usually points.
func hostAwk(tb testing.TB) string {
	p, err := exec.LookPath("awk")
	if err != nil {
		tb.Skip("awk not installed")
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	return p
}

// awkPrint is shell code printing line n times with awk: one process writing through stdio's
// usual 4 KiB buffer, like most programs writing to a pipe.
func awkPrint(awk string, n int, line string) string {
	return awk + " 'BEGIN { for (i = 0; i < " + strconv.Itoa(n) + "; i++) print \"" + line + "\" }'"
}

// fakeStreamOutput is the job's output size in bytes; both throughput benchmarks report it
// as their bytes per operation, so their MB/s compare directly.
const fakeStreamOutput = fakeStreamLines * (len(fakeStreamLine) + 1)

// drainStream reads s to its end and fails unless it saw every line and a zero exit.
func drainStream(tb testing.TB, s *RunStream) {
	lines, exit := 0, -1
	for s.Next() {
		switch ev := s.Event().(type) {
		case StdoutEvent:
			if len(ev.Line) != len(fakeStreamLine) {
				tb.Fatalf("line %d is %q", lines, ev.Line)
			}
			lines++
		case CompletedEvent:
			exit = ev.ExitCode
		}
	}
	if s.Err() != nil || lines != fakeStreamLines || exit != 0 {
		tb.Fatalf("%d lines, exit %d, err %v", lines, exit, s.Err())
	}
}

// benchStreams measures Runs.Stream on c running the throughput job, in bytes of job output.
func benchStreams(b *testing.B, c *Client) {
	ctx := context.Background()
	code := awkPrint(hostAwk(b), fakeStreamLines, fakeStreamLine)
	b.SetBytes(int64(fakeStreamOutput))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := c.Runs.Stream(ctx, RunParams{Language: LanguageBash, Code: code})
		if err != nil {
			b.Fatal(err)
		}
		drainStream(b, s)
	}
}

// fakeForStreams starts the fake for the throughput benchmarks with the given isolation,
// skipping where it is not available.
func fakeForStreams(b *testing.B, iso testserver.Isolation) *testserver.Server {
	hostAwk(b)
	srv, err := testserver.New(testserver.WithIsolation(iso))
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	return srv
}

// BenchmarkRunStreamFake streams fakeStreamLines lines from a real process through the
// embedded fake (loopback HTTP) into Runs.Stream: "host" runs the job as a host process,
// "jail" in the fake's Linux jail, which adds the jail's set-up to every stream.
func BenchmarkRunStreamFake(b *testing.B) {
	for _, tt := range []struct {
		name string
		iso  testserver.Isolation
	}{
		{name: "host", iso: testserver.IsolationNone},
		{name: "jail", iso: testserver.IsolationNamespaces},
	} {
		b.Run(tt.name, func(b *testing.B) {
			c, err := NewClient(fakeForStreams(b, tt.iso).URL())
			if err != nil {
				b.Fatal(err)
			}
			benchStreams(b, c)
		})
	}
}

// BenchmarkRunStreamFakeFromMemory parses the very bytes the fake sent for the same job,
// replayed from memory: the ceiling BenchmarkRunStreamFake is compared with.
func BenchmarkRunStreamFakeFromMemory(b *testing.B) {
	srv := fakeForStreams(b, testserver.IsolationNone)
	body, _ := json.Marshal(map[string]string{"language": "bash", "code": awkPrint(hostAwk(b), fakeStreamLines, fakeStreamLine)})
	resp, err := http.Post(srv.URL()+"/v1/runs/stream", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	wire, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewClient("http://agentjail.invalid", WithHTTPClient(&http.Client{
		Transport: cannedTransport{status: 200, header: http.Header{"Content-Type": {"text/event-stream"}}, body: wire}}))
	if err != nil {
		b.Fatal(err)
	}
	benchStreams(b, c)
}

// TestRunStreamFakeLineLatency: a line a job prints while it keeps running reaches Runs.Stream
// at once, not with later output or the end of the job. The job prints (after a burst, in the
// second case) the time as its last line and sleeps 2 s; the line must arrive within 100 ms of
// that time.
func TestRunStreamFakeLineLatency(t *testing.T) {
	// Not parallel: the bound is on time, and the other tests would compete for the CPU.
	need(t, "sh", "date", "sleep")
	if out, err := exec.Command("date", "+%s%N").Output(); err != nil || !isDigits(bytes.TrimSpace(out)) {
		t.Skip("date cannot print nanoseconds")
	}
	srv := testserver.Start(t)
	c, err := NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, before string // shell code run before the last line
		lines        int    // lines it prints
	}{
		{name: "single line", before: "", lines: 0},
		{name: "line right after a burst", before: awkPrint(hostAwk(t), 1000, "burst") + ";", lines: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := c.Runs.Stream(context.Background(), RunParams{Language: LanguageBash,
				Code: tt.before + " date +%s%N; sleep 2"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()                  // ends the job without waiting for its sleep
			for n := 0; n <= tt.lines; n++ { // started, then the burst
				if !s.Next() {
					t.Fatalf("stream ended after %d events: %v", n, s.Err())
				}
			}
			if !s.Next() {
				t.Fatalf("stream ended: %v", s.Err())
			}
			arrived := time.Now()
			ev, ok := s.Event().(StdoutEvent)
			ns, err := strconv.ParseInt(ev.Line, 10, 64)
			if !ok || err != nil {
				t.Fatalf("event %#v, want the time in nanoseconds", s.Event())
			}
			took := arrived.Sub(time.Unix(0, ns))
			if took > 100*time.Millisecond {
				t.Fatalf("the last line arrived %v after the job printed it; want within 100ms", took)
			}
			t.Logf("the last line arrived %v after the job printed it", took)
		})
	}
}

// isDigits reports whether b is a non-empty run of ASCII digits.
func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
