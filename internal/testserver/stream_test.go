//go:build unix

package testserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// openStream starts POST /v1/runs/stream and returns the response with its body unread.
func openStream(t *testing.T, ctx context.Context, srv *Server, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "POST", srv.URL()+"/v1/runs/stream", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

var (
	startedFrame   = regexp.MustCompile(`^event: started\ndata: \{"pid":[1-9][0-9]*\}\n\n`)
	completedFrame = regexp.MustCompile(`event: completed\ndata: \{"cpu_usage_usec":[0-9]+,"duration_ms":[1-9][0-9]*,"exit_code":(-?[0-9]+),"memory_current_bytes":[0-9]+,"memory_peak_bytes":[0-9]+,"oom_killed":false,"pids_current":[0-9]+,"timed_out":(true|false)\}\n\n$`)
)

func TestStreamFraming(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	srv.exec.setStreamTimings(time.Hour, time.Hour) // no keep-alive or stats frames in the way
	tests := []struct {
		name     string
		body     string
		wantMid  string // frames between started and completed
		wantExit string
		timedOut string
	}{
		{
			name:     "stdout lines: plain, empty, indented, bare CR, CRLF, unterminated",
			body:     `{"language":"bash","code":"printf 'hello world\\n\\n  indented\\n10%%\\r20%%\\ncrlf\\r\\nlast'"}`,
			wantMid:  "event: stdout\ndata: hello world\n\nevent: stdout\ndata: \n\nevent: stdout\ndata:   indented\n\nevent: stdout\ndata: 10%\uFFFD20%\n\nevent: stdout\ndata: crlf\n\nevent: stdout\ndata: last\n\n",
			wantExit: "0", timedOut: "false",
		},
		{
			name:     "stderr and exit code",
			body:     `{"language":"sh","code":"echo oops >&2; exit 3"}`,
			wantMid:  "event: stderr\ndata: oops\n\n",
			wantExit: "3", timedOut: "false",
		},
		{
			name:     "python, unicode and invalid UTF-8",
			body:     `{"language":"python","code":"import sys\nsys.stdout.buffer.write(b'caf\\xc3\\xa9 \\xff\\n')"}`,
			wantMid:  "event: stdout\ndata: café \uFFFD\n\n",
			wantExit: "0", timedOut: "false",
		},
		{
			name:     "timeout kills the group and completes",
			body:     `{"language":"sh","timeout_secs":1,"code":"echo a; sleep 60 & sleep 60"}`,
			wantMid:  "event: stdout\ndata: a\n\n",
			wantExit: "137", timedOut: "true",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := openStream(t, context.Background(), srv, tt.body)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-cache" {
				t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
			}
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body := string(raw)
			start := startedFrame.FindString(body)
			end := completedFrame.FindStringSubmatch(body)
			if start == "" || end == nil {
				t.Fatalf("framing wrong: %q", body)
			}
			if mid := body[len(start) : len(body)-len(end[0])]; mid != tt.wantMid {
				t.Errorf("frames\n%q\nwant\n%q", mid, tt.wantMid)
			}
			if end[1] != tt.wantExit || end[2] != tt.timedOut {
				t.Errorf("completed exit %s timed_out %s, want %s %s", end[1], end[2], tt.wantExit, tt.timedOut)
			}
		})
	}
}

func TestStreamKeepAliveStatsAndDisconnect(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	srv.exec.setStreamTimings(20*time.Millisecond, 30*time.Millisecond)
	gate := newFifoGate(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body, _ := json.Marshal(map[string]any{"language": "sh", "code": gate.script()})
	resp := openStream(t, ctx, srv, string(body))
	br := bufio.NewReader(resp.Body)
	frame := func() string {
		t.Helper()
		var sb strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read frame: %v (so far %q)", err, sb.String())
			}
			sb.WriteString(line)
			if line == "\n" {
				return sb.String()
			}
		}
	}
	if f := frame(); !startedFrame.MatchString(f) {
		t.Fatalf("first frame %q", f)
	}
	gate.waitUp(t, nil)
	sawKeepAlive, sawStats := false, false
	for !sawKeepAlive || !sawStats {
		switch f := frame(); {
		case f == ":\n\n":
			sawKeepAlive = true
		case strings.HasPrefix(f, "event: stats\ndata: {\"cpu_usage_usec\":"):
			var st execStats
			if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimPrefix(f, "event: stats\ndata: "), "\n\n")), &st); err != nil {
				t.Fatalf("stats frame %q: %v", f, err)
			}
			sawStats = true
		default:
			t.Fatalf("unexpected frame %q", f)
		}
	}
	// Going away kills the process; the ledger row is completed, not left running.
	cancel()
	resp.Body.Close()
	rec := awaitJailEnded(t, srv, 0)
	if rec.Status != "completed" || rec.Kind != "stream" || rec.ExitCode == nil || *rec.ExitCode != 137 {
		t.Fatalf("row = %+v", rec)
	}
}

// A client that stops reading and goes away while the process floods output must not wedge the
// server: the process is killed and its ledger row completed.
func TestStreamDisconnectDuringFlood(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := openStream(t, ctx, srv, `{"language":"sh","code":"while :; do echo flood; done"}`)
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 20; i++ {
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	resp.Body.Close()
	rec := awaitJailEnded(t, srv, 0)
	if rec.Status != "completed" || rec.ExitCode == nil || *rec.ExitCode != 137 {
		t.Fatalf("row = %+v", rec)
	}
}

// awaitJailEnded waits up to a minute for ledger row id to stop running and returns it.
func awaitJailEnded(t *testing.T, srv *Server, id int64) jailRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec, err := srv.exec.jails.awaitEnded(ctx, id)
	if err != nil {
		t.Fatalf("ledger row %d never ended: %v", id, err)
	}
	return rec
}

// streamLine is the 99-byte line the volume tests print, 100 bytes with its newline.
const streamLine = "2026-11-25T21:04:11.123Z INFO  worker-07 processed item 000042 in 3.2 ms (queue depth 17, ok)......"

// awkLines is shell code printing n copies of streamLine through stdio, like most programs.
// It names awk by its resolved path: a jail sees the host's /usr and /bin but not /etc, where
// awk's alternatives link usually points.
func awkLines(t *testing.T, n int) string {
	t.Helper()
	awk, err := exec.LookPath("awk")
	if err != nil {
		t.Skip("awk not installed")
	}
	if real, err := filepath.EvalSymlinks(awk); err == nil {
		awk = real
	}
	return fmt.Sprintf(`%s 'BEGIN { for (i = 0; i < %d; i++) print "%s" }'`, awk, n, streamLine)
}

// liveHeap collects garbage and returns the bytes still allocated.
func liveHeap() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// readLineFrames reads a stream's frames to its end. Every stdout event must carry
// streamLine; every nth of them calls sample (when n > 0). It returns how many stdout events
// arrived and the completed event's exit code.
func readLineFrames(t *testing.T, br *bufio.Reader, every int, sample func()) (lines int, exit string) {
	t.Helper()
	next := func() string {
		b, err := br.ReadSlice('\n')
		if err != nil {
			t.Fatalf("after %d lines: %v", lines, err)
		}
		return string(b)
	}
	data := "data: " + streamLine + "\n"
	for {
		switch ev := next(); ev {
		case "event: stdout\n":
			if d := next(); d != data {
				t.Fatalf("line %d is %q", lines, d)
			}
			lines++
			if every > 0 && lines%every == 0 {
				sample()
			}
		case "event: completed\n":
			m := completedFrame.FindStringSubmatch(ev + next() + next())
			if m == nil {
				t.Fatal("malformed completed event")
			}
			return lines, m[1]
		case "event: started\n", "event: stats\n":
			next()
		case ":\n":
			continue
		default:
			t.Fatalf("unexpected %q after %d lines", ev, lines)
		}
		if blank := next(); blank != "\n" {
			t.Fatalf("frame not ended by a blank line: %q", blank)
		}
	}
}

// TestStreamGiBFlatHeap streams 1 GiB of ordinary lines (64 MiB under -short or -race) to a
// client that keeps up: the fake's retained heap, sampled after a forced collection eight
// times along the way, must not grow by 4 MiB.
func TestStreamGiBFlatHeap(t *testing.T) {
	// Not parallel: it measures the heap.
	total := 1 << 30
	if testing.Short() || raceEnabled {
		total = 64 << 20
	}
	lines := total / (len(streamLine) + 1)
	srv := Start(t)
	before := liveHeap()
	peak := before
	body, _ := json.Marshal(map[string]any{"language": "sh", "code": awkLines(t, lines)})
	resp := openStream(t, context.Background(), srv, string(body))
	got, exit := readLineFrames(t, bufio.NewReaderSize(resp.Body, 64<<10), lines/8, func() { peak = max(peak, liveHeap()) })
	if got != lines || exit != "0" {
		t.Fatalf("%d lines of %d, exit %s", got, lines, exit)
	}
	if grown := peak - before; grown > 4<<20 {
		t.Fatalf("retained heap grew by %d KiB while streaming %d MiB", grown>>10, total>>20)
	} else {
		t.Logf("retained heap growth %d KiB over %d MiB streamed", grown>>10, total>>20)
	}
}

// openStalledStream opens a stream through a connection whose receive buffer is kept small, so
// a client that stops reading soon stalls the server's writes.
func openStalledStream(t *testing.T, srv *Server, body string) *http.Response {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(64 << 10)
		}
		return c, err
	}}
	t.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequest("POST", srv.URL()+"/v1/runs/stream", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestStreamSlowClientStallsTheJob: a client that stops reading makes the job wait instead of
// the fake buffering its output. The stream's pipe readers must come to wait for room while
// the job still has most of its output to print, without the fake's heap growing; once the
// client reads again, every line arrives.
func TestStreamSlowClientStallsTheJob(t *testing.T) {
	// Not parallel: it measures the heap.
	srv := Start(t)
	srv.exec.setStreamTimings(time.Hour, time.Hour)
	waiting := make(chan struct{}, 1)
	srv.exec.setOutboxHook(func(ob *outbox) { ob.blocked = func() { notify(waiting) } })
	shared := t.TempDir()
	if srv.jail != nil {
		srv.jail.share(shared)
	}
	finished := filepath.Join(shared, "finished")
	// 32 MiB: far more than the pipe, the outbox and the socket buffers (the client's receive
	// buffer is kept small) hold together.
	lines := 32 << 20 / (len(streamLine) + 1)
	body, _ := json.Marshal(map[string]any{"language": "sh", "code": awkLines(t, lines) + " && : > " + finished})
	before := liveHeap()
	resp := openStalledStream(t, srv, string(body))
	br := bufio.NewReaderSize(resp.Body, 4<<10)
	if ev, _ := br.ReadString('\n'); ev != "event: started\n" {
		t.Fatalf("first line %q", ev)
	}
	// The client reads nothing more until the fake's readers wait for room.
	select {
	case <-waiting:
	case <-time.After(time.Minute):
		t.Fatal("the fake's pipe readers never waited: it buffers what the client does not read")
	}
	grown := liveHeap() - before
	if _, err := os.Stat(finished); err == nil {
		t.Fatal("the job finished while the client read nothing: its output was buffered")
	}
	if grown > 4<<20 {
		t.Fatalf("heap grew by %d KiB while the client read nothing", grown>>10)
	}
	t.Logf("heap growth %d KiB with the client stalled", grown>>10)
	if _, err := br.ReadString('\n'); err != nil { // the rest of the started frame
		t.Fatal(err)
	}
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	got, exit := readLineFrames(t, br, 0, nil)
	if got != lines || exit != "0" {
		t.Fatalf("%d lines of %d, exit %s", got, lines, exit)
	}
	if _, err := os.Stat(finished); err != nil {
		t.Fatalf("the job did not finish: %v", err)
	}
}

// TestStreamStatsEventKeyOrder: the real server builds the stats and completed payloads with
// serde_json's json! macro, whose map sorts its keys (no preserve_order feature), so the bytes on
// the wire are in alphabetical key order. The completed event's order is checked by
// completedFrame in TestStreamFraming.
func TestStreamStatsEventKeyOrder(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	newSSEWriter(rec).json("stats", streamStatsOf(execStats{MemoryPeakBytes: 1, MemoryCurrentBytes: 2, CPUUsageUsec: 3, IOReadBytes: 4, IOWriteBytes: 5, PidsCurrent: 6}))
	const want = "event: stats\ndata: {\"cpu_usage_usec\":3,\"io_read_bytes\":4,\"io_write_bytes\":5,\"memory_current_bytes\":2,\"memory_peak_bytes\":1,\"pids_current\":6}\n\n"
	if got := rec.Body.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// A stream refused before it starts is a JSON error (a bad git seed is not even looked at) and
// does not count in total_execs; a stream counts once its process runs, and its ledger row
// keeps "" for the output its client already received.
func TestStreamCountersAndLedgerRow(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	total := func() uint64 {
		t.Helper()
		return statsOf(t, srv).TotalExecs
	}
	for _, tt := range []struct{ body, msg string }{
		{`{"code":"echo x","language":"cobol"}`, "bad request: unsupported language: cobol"},
		{`{"code":"echo x","language":"sh","network":{"mode":"allowlist","domains":[]}}`, "bad request: allowlist must contain at least one domain"},
		{`{"code":"x","network":{"mode":"allowlist","domains":[]}}`, "bad request: allowlist must contain at least one domain"},
		{`{"code":"x","language":"cobol","git":{"repo":"http://bad"}}`, "bad request: unsupported language: cobol"},
	} {
		apiCall(t, srv, "", "POST", "/v1/runs/stream", tt.body).wantError(t, 400, tt.msg)
	}
	if got := total(); got != 0 {
		t.Fatalf("total_execs after refused streams = %d, want 0", got)
	}
	// A run refused after taking its slot is counted, like the real server's.
	apiCall(t, srv, "", "POST", "/v1/runs", `{"code":"x","language":"cobol"}`).wantError(t, 400, "bad request: unsupported language: cobol")
	if got := total(); got != 1 {
		t.Fatalf("total_execs after a refused run = %d, want 1", got)
	}
	resp := openStream(t, context.Background(), srv, `{"language":"sh","code":"echo out; echo err >&2"}`)
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	if got := total(); got != 2 {
		t.Fatalf("total_execs after a stream = %d, want 2", got)
	}
	rec := awaitJailEnded(t, srv, 0)
	if rec.Kind != "stream" || rec.Stdout == nil || *rec.Stdout != "" || rec.Stderr == nil || *rec.Stderr != "" {
		t.Fatalf("stream row = %+v", rec)
	}
}

// TestCloseWithStalledStreamClient: Close returns even while a stream's client has stopped
// reading and the job's output fills every buffer in between, with the pipe readers waiting
// for room that the client will never make.
func TestCloseWithStalledStreamClient(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	srv.exec.setStreamTimings(time.Hour, time.Hour)
	waiting := make(chan struct{}, 1)
	srv.exec.setOutboxHook(func(ob *outbox) { ob.blocked = func() { notify(waiting) } })
	body, _ := json.Marshal(map[string]any{"language": "sh", "code": awkLines(t, 64<<20/(len(streamLine)+1))})
	resp := openStalledStream(t, srv, string(body))
	if ev, _ := bufio.NewReader(resp.Body).ReadString('\n'); ev != "event: started\n" {
		t.Fatalf("first line %q", ev)
	}
	select {
	case <-waiting:
	case <-time.After(time.Minute):
		t.Fatal("the stream's pipe readers never waited for room")
	}
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close hangs while a stream's client does not read")
	}
}
