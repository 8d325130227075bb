package agentjail_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"

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

// BenchmarkRunStreamFake streams fakeStreamLines lines from a real process through the
// embedded fake (loopback HTTP) into Runs.Stream.
func BenchmarkRunStreamFake(b *testing.B) {
	if _, err := exec.LookPath("awk"); err != nil {
		b.Skip("awk not installed")
	}
	srv := testserver.Start(b)
	c, err := agentjail.NewClient(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
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

// BenchmarkRunStreamFakeFromMemory parses the very bytes the fake sent for the same job,
// replayed from memory: the ceiling BenchmarkRunStreamFake is compared with.
func BenchmarkRunStreamFakeFromMemory(b *testing.B) {
	if _, err := exec.LookPath("awk"); err != nil {
		b.Skip("awk not installed")
	}
	srv := testserver.Start(b)
	body := `{"language":"bash","code":` + strconv.Quote(fakeStreamCode) + `}`
	resp, err := http.Post(srv.URL()+"/v1/runs/stream", "application/json", strings.NewReader(body))
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
	ctx := context.Background()
	b.SetBytes(int64(fakeStreamOutput))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := c.Runs.Stream(ctx, agentjail.RunParams{Code: "x"})
		if err != nil {
			b.Fatal(err)
		}
		drainStream(b, s)
	}
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
