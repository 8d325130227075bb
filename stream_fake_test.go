//go:build unix

package agentjail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/internal/testserver"
)

// fakeStreamLines is how many lines the throughput job prints; each is fakeStreamLine
// plus its newline, 100 bytes, so the job's output is 6.5 MB.
const (
	fakeStreamLines = 1 << 16
	fakeStreamLine  = "2026-11-25T21:04:11.123Z INFO  worker-07 processed item 000042 in 3.2 ms (queue depth 17, ok)......"
)

// fakeStreamCode prints fakeStreamLines lines of fakeStreamLine from one process, through
// stdio's usual 4 KiB buffer, like most programs writing to a pipe.
var fakeStreamCode = "awk 'BEGIN { for (i = 0; i < " + strconv.Itoa(fakeStreamLines) + "; i++) print \"" + fakeStreamLine + "\" }'"

// fakeStreamOutput is the job's output size in bytes; both throughput benchmarks report it
// as their bytes per operation, so their MB/s compare directly.
const fakeStreamOutput = fakeStreamLines * (len(fakeStreamLine) + 1)

// drainStream reads s to its end and fails unless it saw every line and a zero exit.
func drainStream(tb testing.TB, s *agentjail.RunStream) {
	lines, exit := 0, -1
	for s.Next() {
		switch ev := s.Event().(type) {
		case agentjail.StdoutEvent:
			if len(ev.Line) != len(fakeStreamLine) {
				tb.Fatalf("line %d is %q", lines, ev.Line)
			}
			lines++
		case agentjail.CompletedEvent:
			exit = ev.ExitCode
		}
	}
	if s.Err() != nil || lines != fakeStreamLines || exit != 0 {
		tb.Fatalf("%d lines, exit %d, err %v", lines, exit, s.Err())
	}
}

// benchStreams measures Runs.Stream on c running the throughput job, in bytes of job output.
func benchStreams(b *testing.B, c *agentjail.Client) {
	ctx := context.Background()
	b.SetBytes(int64(fakeStreamOutput))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := c.Runs.Stream(ctx, agentjail.RunParams{Language: agentjail.LanguageBash, Code: fakeStreamCode})
		if err != nil {
			b.Fatal(err)
		}
		drainStream(b, s)
	}
}

// fakeForStreams starts the fake for the throughput benchmarks.
func fakeForStreams(b *testing.B) *testserver.Server {
	if _, err := exec.LookPath("awk"); err != nil {
		b.Skip("awk not installed")
	}
	return testserver.Start(b)
}

// BenchmarkRunStreamFake streams fakeStreamLines lines from a real process through the
// embedded fake (loopback HTTP) into Runs.Stream.
func BenchmarkRunStreamFake(b *testing.B) {
	c, err := agentjail.NewClient(fakeForStreams(b).URL())
	if err != nil {
		b.Fatal(err)
	}
	benchStreams(b, c)
}

// BenchmarkRunStreamFakeFromMemory parses the very bytes the fake sent for the same job,
// replayed from memory: the ceiling BenchmarkRunStreamFake is compared with.
func BenchmarkRunStreamFakeFromMemory(b *testing.B) {
	srv := fakeForStreams(b)
	body, _ := json.Marshal(map[string]string{"language": "bash", "code": fakeStreamCode})
	resp, err := http.Post(srv.URL()+"/v1/runs/stream", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	wire, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	c, err := agentjail.NewClient("http://agentjail.invalid", agentjail.WithHTTPClient(&http.Client{Transport: replayTransport(wire)}))
	if err != nil {
		b.Fatal(err)
	}
	benchStreams(b, c)
}

// replayTransport answers every request with the same event-stream body.
type replayTransport []byte

func (t replayTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(bytes.NewReader(t)), Request: r}, nil
}

// TestRunStreamFakeLineLatency: a line a job prints while it keeps running reaches Runs.Stream
// at once, not with later output or the end of the job. The job waits on a FIFO, prints (after
// a burst, in the second case) one last line and sleeps 2 s; that line must arrive within
// 100 ms of the test releasing the job.
func TestRunStreamFakeLineLatency(t *testing.T) {
	// Not parallel: the bound is on time, and the other tests would compete for the CPU.
	need(t, "sh", "awk")
	srv := testserver.Start(t)
	c, err := agentjail.NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, before string // shell code run between the release and the last line
		lines        int    // lines it prints
	}{
		{name: "single line", before: "", lines: 0},
		{name: "line right after a burst", before: `awk 'BEGIN { for (i = 0; i < 1000; i++) print "burst" }';`, lines: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gate := filepath.Join(t.TempDir(), "gate")
			if err := syscall.Mkfifo(gate, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := c.Runs.Stream(context.Background(), agentjail.RunParams{Language: agentjail.LanguageBash,
				Code: "read x < " + gate + "; " + tt.before + " echo last; sleep 2"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close() // ends the job without waiting for its sleep
			if !s.Next() || s.Event().Type() != agentjail.EventStarted {
				t.Fatalf("first event %v, %v", s.Event(), s.Err())
			}
			// Opening the FIFO waits until the job opened it too.
			f, err := os.OpenFile(gate, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			released := time.Now()
			if _, err := f.WriteString("go\n"); err != nil {
				t.Fatal(err)
			}
			f.Close()
			for n := 0; n < tt.lines; n++ {
				if !s.Next() {
					t.Fatalf("stream ended after %d lines: %v", n, s.Err())
				}
			}
			if !s.Next() {
				t.Fatalf("stream ended: %v", s.Err())
			}
			took := time.Since(released)
			if ev, ok := s.Event().(agentjail.StdoutEvent); !ok || ev.Line != "last" {
				t.Fatalf("event %#v, want the last line", s.Event())
			}
			if took > 100*time.Millisecond {
				t.Fatalf("the last line arrived %v after the job was released; want within 100ms", took)
			}
			t.Logf("the last line arrived %v after the job was released", took)
		})
	}
}
