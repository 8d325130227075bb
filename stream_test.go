package agentjail

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// sseReply writes chunks one by one, flushing after each, then ends the body unless
// hold is non-nil, in which case it waits for hold (or the client going away).
func sseReply(chunks []string, hold chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(200)
		f := w.(http.Flusher)
		for _, c := range chunks {
			_, _ = io.WriteString(w, c)
			f.Flush()
		}
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		}
	}
}

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

// TestStreamCancelAndClose is not parallel: it counts goroutines.
func TestStreamCancelAndClose(t *testing.T) {
	before := runtime.NumGoroutine()
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

	c.hc.CloseIdleConnections()
	leakWaitGoroutines(t, before+2)
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
