package agentjail

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

const fiveFrames = "event: started\ndata: {\"pid\":1234}\n\n" +
	"event: stdout\ndata: hello\n\n" +
	"event: stdout\ndata: world\n\n" +
	"event: stderr\ndata: warn\n\n" +
	"event: completed\ndata: {\"exit_code\":0,\"duration_ms\":12,\"timed_out\":false,\"oom_killed\":false,\"memory_peak_bytes\":100,\"cpu_usage_usec\":5}\n\n"

// collect drains a stream with Next.
func collect(s *RunStream) []StreamEvent {
	var out []StreamEvent
	for s.Next() {
		out = append(out, s.Event())
	}
	return out
}

func TestStreamFiveFrames(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, sseReply([]string{fiveFrames}, nil))
	c := testClient(t, srv.URL)
	s, err := c.Runs.Stream(context.Background(), RunParams{Code: "x", Language: LanguageBash, Timeout: 5 * time.Second,
		ExecOptions: ExecOptions{Network: NetworkNone(), CPUPercent: 50}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := collect(s)
	want := []StreamEvent{
		StartedEvent{PID: 1234}, StdoutEvent{"hello"}, StdoutEvent{"world"}, StderrEvent{"warn"},
		CompletedEvent{DurationMS: 12, MemoryPeakBytes: 100, CPUUsageUsec: 5},
	}
	if !reflect.DeepEqual(got, want) || s.Err() != nil {
		t.Fatalf("events %#v err %v\nwant %#v", got, s.Err(), want)
	}
	if s.Next() {
		t.Fatal("Next after the terminal event")
	}
	req := srv.last(t)
	if req.Method != "POST" || req.Path != "/v1/runs/stream" || req.Header.Get("Accept") != "text/event-stream" ||
		req.Header.Get("Content-Type") != "application/json" || req.Header.Get("Authorization") != "Bearer k" {
		t.Fatalf("request %s %s headers %v", req.Method, req.Path, req.Header)
	}
	assertJSON(t, req.Body, `{"code":"x","language":"bash","timeout_secs":5,"network":{"mode":"none"},"cpu_percent":50}`)
}

func TestStreamEvents(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		chunks  []string
		want    []StreamEvent
		wantErr func(error) bool
	}{
		{"indentation and empty lines kept",
			[]string{"event: stdout\ndata:   indented\n\nevent: stdout\ndata:\n\nevent: stdout\ndata: \ttab\n\nevent: stdout\ndata:no-space\n\n" +
				"event: completed\ndata: {\"exit_code\":3}\n\n"},
			[]StreamEvent{StdoutEvent{"  indented"}, StdoutEvent{""}, StdoutEvent{"\ttab"}, StdoutEvent{"no-space"}, CompletedEvent{ExitCode: 3}}, nil},
		{"keep-alives, unknown events and comments skipped",
			[]string{":\n\n: comment\n\nevent: progress\ndata: 50\n\ndata: untyped\n\nevent: stats\ndata: {\"memory_peak_bytes\":7,\"pids_current\":2}\n\n:\n\n" +
				"event: error\ndata: {\"message\":\"engine: boom\"}\n\n"},
			[]StreamEvent{StatsEvent{ResourceStats{MemoryPeakBytes: 7, PIDsCurrent: 2}}, ErrorEvent{"engine: boom"}}, nil},
		{"CRLF and CR framing, frames split across writes",
			[]string{"event: std", "out\r", "\ndata: a\r\n\r", "\nevent: stdout\rdata: b\r\r", "event: completed\r\ndata: {\"exit_code\":0}\r\n", "\r\n"},
			[]StreamEvent{StdoutEvent{"a"}, StdoutEvent{"b"}, CompletedEvent{}}, nil},
		{"nothing read after the terminal event",
			[]string{"event: completed\ndata: {\"exit_code\":1}\n\nevent: stdout\ndata: late\n\n"},
			[]StreamEvent{CompletedEvent{ExitCode: 1}}, nil},
		{"EOF before the terminal event",
			[]string{"event: started\ndata: {\"pid\":1}\n\nevent: stdout\ndata: partial\n\nevent: stdout\ndata: cut"},
			[]StreamEvent{StartedEvent{1}, StdoutEvent{"partial"}},
			func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) && errors.Is(err, ErrNetwork) }},
		{"empty body",
			nil, nil,
			func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"malformed known event is an error",
			[]string{"event: stdout\ndata: ok\n\nevent: completed\ndata: {\"exit_code\":\"zero\"}\n\n"},
			[]StreamEvent{StdoutEvent{"ok"}},
			func(err error) bool {
				var e *Error
				return errors.As(err, &e) && e.Code == CodeUnknown && strings.Contains(e.Message, "completed")
			}},
		{"malformed error event is not dropped",
			[]string{"event: error\ndata: engine exploded\n\n"},
			nil,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "malformed error event") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, sseReply(tc.chunks, nil))
			c := testClient(t, srv.URL)
			s, err := c.Runs.Stream(context.Background(), RunParams{Code: "x"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if ev := s.Event(); ev != nil {
				t.Fatalf("Event() before Next = %#v, want nil", ev)
			}
			got := collect(s)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events %#v\nwant   %#v", got, tc.want)
			}
			if tc.wantErr == nil && s.Err() != nil || tc.wantErr != nil && !tc.wantErr(s.Err()) {
				t.Fatalf("Err() = %v", s.Err())
			}
			// After the end: the terminal event stays; after a failure there is none.
			var last StreamEvent
			if tc.wantErr == nil {
				last = tc.want[len(tc.want)-1]
			}
			if s.Next() || !reflect.DeepEqual(s.Event(), last) {
				t.Fatalf("after the end Event() = %#v, want %#v", s.Event(), last)
			}
		})
	}
}

func TestStreamHTTPErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		reply http.HandlerFunc
		code  ErrorCode
		msg   string
	}{
		{"concurrency limit", jsonReply(400, `{"error":"bad request: too many concurrent executions"}`), CodeBadRequest, "bad request: too many concurrent executions"},
		{"unsupported language", jsonReply(400, `{"error":"bad request: unsupported language: cobol"}`), CodeBadRequest, "bad request: unsupported language: cobol"},
		{"plain text 401", textReply(401, "invalid api key"), CodeUnauthorized, "invalid api key"},
		{"masked 500", jsonReply(500, `{"error":"internal server error"}`), CodeServerError, "internal server error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, tc.reply)
			c := testClient(t, srv.URL)
			s, err := c.Runs.Stream(context.Background(), RunParams{Code: "x"})
			var e *Error
			if s != nil || !errors.As(err, &e) || e.Code != tc.code || e.Message != tc.msg {
				t.Fatalf("got %v, %v", s, err)
			}
			if n := len(srv.requests()); n != 1 {
				t.Fatalf("%d requests: a stream POST must not be retried on %d", n, e.StatusCode)
			}
		})
	}
}

// TestStreamCancelAndClose: cancelling the context, Close and breaking out of All each
// end the request on the server, not just Next.
func TestStreamCancelAndClose(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	defer close(hold)
	// The server holds each stream open until the client goes away, and says so on gone:
	// cancel, Close and breaking out of All must end the request itself, not just Next.
	gone := make(chan struct{}, 3)
	held := sseReply([]string{"event: started\ndata: {\"pid\":1}\n\n"}, hold)
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		held(w, r)
		gone <- struct{}{}
	})
	c := testClient(t, srv.URL)
	awaitGone := func(t *testing.T) {
		t.Helper()
		select {
		case <-gone:
		case <-time.After(5 * time.Second):
			t.Fatal("the server still holds the request open")
		}
	}

	t.Run("cancel ends the request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		s, err := c.Runs.Stream(ctx, RunParams{Code: "x"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !s.Next() {
			t.Fatalf("first event: %v", s.Err())
		}
		// Cancelling alone, with no call to Next, ends the request: the stream's request
		// lives in the caller's context.
		cancel()
		awaitGone(t)
		if s.Next() || !errors.Is(s.Err(), context.Canceled) || errors.Is(s.Err(), ErrNetwork) || s.Event() != nil {
			t.Fatalf("Next after cancel: Err %v, Event %#v", s.Err(), s.Event())
		}
	})

	t.Run("Close from another goroutine unblocks Next", func(t *testing.T) {
		s, err := c.Runs.Stream(context.Background(), RunParams{Code: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if !s.Next() {
			t.Fatal(s.Err())
		}
		done := make(chan bool)
		go func() { done <- s.Next() }()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case more := <-done:
			if more || s.Err() != nil || s.Event() != nil {
				t.Fatalf("Next %v, Err %v, Event %#v", more, s.Err(), s.Event())
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Next still blocked after Close")
		}
		awaitGone(t)
		_ = s.Close() // idempotent
		if s.Next() {
			t.Fatal("Next after Close")
		}
	})

	t.Run("All stops and closes on break", func(t *testing.T) {
		s, err := c.Runs.Stream(context.Background(), RunParams{Code: "x"})
		if err != nil {
			t.Fatal(err)
		}
		for ev, err := range s.All() {
			if err != nil || ev.Type() != EventStarted {
				t.Fatalf("got %v, %v", ev, err)
			}
			break
		}
		awaitGone(t)
		if !s.closed.Load() || s.Next() {
			t.Fatal("All did not close the stream on break")
		}
	})
}

func TestStreamAllContinuesFromPosition(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, sseReply([]string{fiveFrames}, nil))
	c := testClient(t, srv.URL)
	s, err := c.Runs.Stream(context.Background(), RunParams{Code: "x"})
	if err != nil {
		t.Fatal(err)
	}
	s.Next() // started
	s.Next() // hello
	var lines []string
	for ev, err := range s.All() {
		if err != nil {
			t.Fatal(err)
		}
		switch ev := ev.(type) {
		case StdoutEvent:
			lines = append(lines, ev.Line)
		case StderrEvent:
			lines = append(lines, "err:"+ev.Line)
		case CompletedEvent:
			lines = append(lines, "done")
		}
	}
	if want := []string{"world", "err:warn", "done"}; !reflect.DeepEqual(lines, want) {
		t.Fatalf("got %q, want %q", lines, want)
	}
}

// TestStreamStopsAfterCloseOrCancel: events already buffered are not handed out
// once the caller closed the stream or cancelled its context.
func TestStreamStopsAfterCloseOrCancel(t *testing.T) {
	t.Parallel()
	frames := "event: started\ndata: {\"pid\":1}\n\n" +
		"event: stdout\ndata: a\n\n" +
		"event: stdout\ndata: b\n\n"
	cases := []struct {
		name    string
		stop    func(s *RunStream, cancel context.CancelFunc)
		wantErr error // nil: Err must be nil
	}{
		{"close", func(s *RunStream, _ context.CancelFunc) { _ = s.Close() }, nil},
		{"cancel", func(_ *RunStream, cancel context.CancelFunc) { cancel() }, context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hold := make(chan struct{})
			t.Cleanup(func() { close(hold) })
			srv := newRecorder(t, sseReply([]string{frames}, hold))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s, err := testClient(t, srv.URL).Runs.Stream(ctx, RunParams{Code: "x"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !s.Next() {
				t.Fatalf("first Next failed: %v", s.Err())
			}
			tc.stop(s, cancel)
			if s.Next() {
				t.Fatalf("Next after %s returned event %#v", tc.name, s.Event())
			}
			switch err := s.Err(); {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Err() = %v, want nil", err)
			case tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || errors.Is(err, ErrNetwork)):
				t.Fatalf("Err() = %v, want %v and not ErrNetwork", err, tc.wantErr)
			}
		})
	}
}

// TestStreamErrorAttempts: an *Error ending a stream counts the one request made.
func TestStreamErrorAttempts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		frames string
		busy   int // leading 503 answers, each retried
		is     error
	}{
		{"eof before terminal", "event: started\ndata: {\"pid\":1}\n\n", 0, io.ErrUnexpectedEOF},
		{"malformed completed", "event: completed\ndata: {\"exit_code\":\"x\"}\n\n", 0, nil},
		{"eof after a retried 503", "event: started\ndata: {\"pid\":1}\n\n", 1, io.ErrUnexpectedEOF},
		{"malformed after two 503s", "event: started\ndata: []\n\n", 2, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			script := make([]http.HandlerFunc, tc.busy, tc.busy+1)
			for i := range script {
				script[i] = statusReply(503, "")
			}
			srv := newRecorder(t, append(script, sseReply([]string{tc.frames}, nil))...)
			s, err := testClient(t, srv.URL).Runs.Stream(context.Background(), RunParams{Code: "x"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for s.Next() {
			}
			var e *Error
			if !errors.As(s.Err(), &e) {
				t.Fatalf("Err() = %v, want *Error", s.Err())
			}
			if want := tc.busy + 1; e.Attempts != want || len(srv.requests()) != want {
				t.Fatalf("Attempts = %d after %d requests, want %d", e.Attempts, len(srv.requests()), want)
			}
			if tc.is != nil && !errors.Is(e, tc.is) {
				t.Fatalf("Err() = %v, want %v", e, tc.is)
			}
		})
	}
}

// TestStreamEnds: how a run stream ends. The terminal event releases the request at
// once, even if the server keeps the connection open; an overflowing duration saturates;
// a line over 16 MiB is ErrEventTooLarge, not a network failure.
func TestStreamEnds(t *testing.T) {
	t.Parallel()
	t.Run("completed releases the request", func(t *testing.T) {
		t.Parallel()
		hold := make(chan struct{})
		defer close(hold)
		gone := make(chan struct{})
		held := sseReply([]string{"event: completed\ndata: {\"exit_code\":0,\"duration_ms\":18446744073709551615,\"timed_out\":false,\"oom_killed\":false}\n\n"}, hold)
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			held(w, r)
			close(gone)
		})
		s, err := testClient(t, srv.URL).Runs.Stream(context.Background(), RunParams{Code: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if !s.Next() {
			t.Fatal(s.Err())
		}
		ev, ok := s.Event().(CompletedEvent)
		if !ok || ev.DurationMS != math.MaxInt64 {
			t.Fatalf("got %#v, want a completed event with duration saturated at math.MaxInt64", s.Event())
		}
		if s.Next() || s.Err() != nil {
			t.Fatalf("Next after completed: Err %v", s.Err())
		}
		select { // no Close: the terminal event alone must let the request go
		case <-gone:
		case <-time.After(5 * time.Second):
			t.Fatal("the server still holds the request after the completed event")
		}
	})
	t.Run("oversized line", func(t *testing.T) {
		t.Parallel()
		huge := "event: stdout\ndata: " + strings.Repeat("x", maxEventSize+1) + "\n\n"
		srv := newRecorder(t, sseReply([]string{huge}, nil))
		s, err := testClient(t, srv.URL).Runs.Stream(context.Background(), RunParams{Code: "x"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Next() || !errors.Is(s.Err(), ErrEventTooLarge) || errors.Is(s.Err(), ErrNetwork) {
			t.Fatalf("Err %v, want ErrEventTooLarge and not a network error", s.Err())
		}
	})
}

// streamFrame is the output event of the benchmark streams: a typical indented log line.
const streamFrame = "event: stdout\ndata:     at handler (/srv/app/lib/worker.js:128:17) processing item 42\n\n"

// newEventBody generates a run stream of n stdout events and a completed event, without
// holding it in memory.
func newEventBody(n int) io.ReadCloser {
	return io.NopCloser(io.MultiReader(
		&sseCycleReader{tmpl: []byte(streamFrame), left: int64(n) * int64(len(streamFrame))},
		strings.NewReader("event: completed\ndata: {\"exit_code\":0,\"duration_ms\":5}\n\n")))
}

// streamTransport answers every request with a run stream of n events, in memory.
type streamTransport struct{ n int }

func (s streamTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: newEventBody(s.n), Request: r}, nil
}

func streamClient(tb testing.TB, events int) *Client {
	c, err := NewClient("http://agentjail.invalid", WithHTTPClient(&http.Client{Transport: streamTransport{events}}))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func BenchmarkRunStream(b *testing.B) {
	const events = 10000
	c := streamClient(b, events)
	b.SetBytes(int64(events * len(streamFrame)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s, err := c.Runs.Stream(context.Background(), RunParams{Code: "x"})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for s.Next() {
			n++
		}
		if s.Err() != nil || n != events+1 {
			b.Fatalf("%d events, %v", n, s.Err())
		}
	}
}

// TestRunStreamAllocs pins Runs.Stream at two allocations per output event: the line's
// string and the typed event in the StreamEvent interface.
func TestRunStreamAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	s, err := streamClient(t, 1<<20).Runs.Stream(context.Background(), RunParams{Code: "x"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 100 { // warm the reader's buffers
		s.Next()
	}
	got := testing.AllocsPerRun(5000, func() {
		if !s.Next() {
			t.Fatalf("stream ended early: %v", s.Err())
		}
	})
	if got > 2 {
		t.Errorf("%.2f allocations per event, want at most 2", got)
	}
}

// liveHeap collects garbage and returns the bytes still allocated, leaving the rest of
// the statistics in ms.
func liveHeap(ms *runtime.MemStats) uint64 {
	runtime.GC()
	runtime.ReadMemStats(ms)
	return ms.HeapAlloc
}

// TestStreamGiBFlatMemory streams 1 GiB of events (64 MiB under -race) through
// Runs.Stream and checks that the memory the stream retains does not grow by 8 MiB: the
// live heap is sampled after a forced collection eight times along the way, so garbage
// the collector has simply not reached yet is not counted.
func TestStreamGiBFlatMemory(t *testing.T) {
	frame := len(streamFrame)
	total := 1 << 30
	if raceEnabled || testing.Short() {
		total = 64 << 20
	}
	events := total / frame
	c := streamClient(t, events)
	var ms runtime.MemStats
	live := func() int64 { return int64(liveHeap(&ms)) }
	before := live()
	s, err := c.Runs.Stream(context.Background(), RunParams{Code: "x"})
	if err != nil {
		t.Fatal(err)
	}
	// Eight samples whatever the size (64 MiB under -race is fewer than 2^20 events),
	// and one at the end.
	n, peak, every := 0, before, max(events/8, 1)
	for s.Next() {
		n++
		if n%every == 0 {
			peak = max(peak, live())
		}
	}
	peak = max(peak, live())
	if s.Err() != nil || n != events+1 {
		t.Fatalf("%d events, %v", n, s.Err())
	}
	if growth := peak - before; growth > 8<<20 {
		t.Fatalf("retained heap grew by %d KiB while streaming %d MiB", growth>>10, total>>20)
	} else {
		t.Logf("retained heap growth %d KiB over %d MiB streamed", growth>>10, total>>20)
	}
}

// TestStreamFlow: against the fake control plane, a streamed run's lines arrive in
// order with their indentation, tabs and empty lines, then its exit code.
func TestStreamFlow(t *testing.T) {
	t.Parallel()
	c, ctx := newStack(t, "sh").client, context.Background()

	s, err := c.Runs.Stream(ctx, RunParams{Language: LanguageBash,
		Code: "echo top; echo '    indented'; printf '\\tTab\\n'; echo; echo oops >&2; exit 3"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr []string
	var done *CompletedEvent
	started := false
	for ev, err := range s.All() {
		if err != nil {
			t.Fatal(err)
		}
		switch ev := ev.(type) {
		case StartedEvent:
			started = ev.PID > 0
		case StdoutEvent:
			stdout = append(stdout, ev.Line)
		case StderrEvent:
			stderr = append(stderr, ev.Line)
		case CompletedEvent:
			done = &ev
		}
	}
	if !started || !reflect.DeepEqual(stdout, []string{"top", "    indented", "\tTab", ""}) || !reflect.DeepEqual(stderr, []string{"oops"}) ||
		done == nil || done.ExitCode != 3 {
		t.Fatalf("started %v stdout %q stderr %q done %+v", started, stdout, stderr, done)
	}
}
