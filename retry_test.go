package agentjail

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"
)

// TestRetryMatrix counts the attempts each method makes for each failure.
func TestRetryMatrix(t *testing.T) {
	t.Parallel()
	get := func(ctx context.Context, c *Client) error { _, err := c.Sessions.List(ctx); return err }
	del := func(ctx context.Context, c *Client) error { return c.Sessions.Close(ctx, "sess_1") }
	post := func(ctx context.Context, c *Client) error {
		_, err := c.Runs.Create(ctx, RunParams{Code: "1"})
		return err
	}
	patch := func(ctx context.Context, c *Client) error {
		_, err := c.Workspaces.Update(ctx, "wrk_1", WorkspaceUpdateParams{Label: "x"})
		return err
	}
	type method struct {
		name string
		call func(context.Context, *Client) error
	}
	idempotent := []method{{"GET", get}, {"DELETE", del}}
	unsafe := []method{{"POST", post}, {"PATCH", patch}}
	cases := []struct {
		status   int
		safe     int // attempts for GET/DELETE
		unsafe   int // attempts for POST/PATCH
		retryHdr string
	}{
		{400, 1, 1, ""}, {401, 1, 1, ""}, {403, 1, 1, ""}, {404, 1, 1, ""}, {409, 1, 1, ""}, {422, 1, 1, ""},
		{408, 3, 1, ""}, {429, 3, 3, ""}, {429, 3, 3, "1"}, {500, 1, 1, ""}, {501, 1, 1, ""},
		{502, 3, 1, ""}, {503, 3, 3, ""}, {503, 3, 3, "Wed, 21 Oct 2015 07:28:00 GMT"}, {504, 3, 1, ""},
	}
	for _, tc := range cases {
		for _, group := range []struct {
			methods []method
			want    int
		}{{idempotent, tc.safe}, {unsafe, tc.unsafe}} {
			for _, m := range group.methods {
				t.Run(m.name+"_"+strconv.Itoa(tc.status)+"_"+tc.retryHdr, func(t *testing.T) {
					t.Parallel()
					srv := newRecorder(t, faultStatus(tc.status, tc.retryHdr))
					c := testClient(t, srv.URL)
					err := m.call(context.Background(), c)
					var e *Error
					if !errors.As(err, &e) || e.StatusCode != tc.status || e.Message != "e"+strconv.Itoa(tc.status) {
						t.Fatalf("err = %v", err)
					}
					reqs := srv.requests()
					if len(reqs) != group.want || e.Attempts != group.want {
						t.Fatalf("%d requests, Attempts %d; want %d", len(reqs), e.Attempts, group.want)
					}
					for _, r := range reqs[1:] {
						if !bytes.Equal(r.Body, reqs[0].Body) {
							t.Fatalf("retry body %q differs from %q", r.Body, reqs[0].Body)
						}
					}
				})
			}
		}
	}
}

func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, faultStatus(503, ""), faultStatus(503, ""), jsonReply(201, fixtureExec))
	c := testClient(t, srv.URL)
	res, err := c.Runs.Create(context.Background(), RunParams{Code: "print(1)", Language: LanguagePython})
	if err != nil || res.Stdout != "hi\n" {
		t.Fatalf("got %v, %v", res, err)
	}
	reqs := srv.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d attempts", len(reqs))
	}
	for _, r := range reqs {
		assertJSON(t, r.Body, `{"code":"print(1)","language":"python"}`)
	}
}

func TestMaxRetriesZeroDisablesRetries(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, jsonReply(503, `{"error":"busy"}`))
	c := testClient(t, srv.URL, WithMaxRetries(0))
	_, err := c.Sessions.List(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Attempts != 1 || len(srv.requests()) != 1 {
		t.Fatalf("err %v, %d requests", err, len(srv.requests()))
	}
}

func TestPostRetriedOnlyWhenNeverConnected(t *testing.T) {
	t.Parallel()
	c := testClient(t, faultRefusedURL(t))
	_, err := c.Runs.Create(context.Background(), RunParams{Code: "1"})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeNetwork || e.Attempts != 3 {
		t.Fatalf("refused POST: err %v; want 3 attempts", err)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	c := &Client{retryBase: 500 * time.Millisecond, retryCap: 8 * time.Second}
	for attempt := 1; attempt <= 10; attempt++ {
		full := min(500*time.Millisecond<<(attempt-1), 8*time.Second)
		for i := 0; i < 50; i++ {
			if d := c.backoff(attempt, 0); d < full/2 || d > full {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
	if d := c.backoff(1, 3*time.Second); d != 3*time.Second {
		t.Fatalf("Retry-After 3s gave %v", d)
	}
	if d := c.backoff(1, time.Hour); d != 8*time.Second {
		t.Fatalf("Retry-After 1h must be clamped to the cap, got %v", d)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-3":                            0,
		"7":                             7 * time.Second,
		"abc":                           0,
		"99999999999":                   time.Hour,
		"Thu, 01 Jan 2026 00:00:05 GMT": 5 * time.Second,
		"Wed, 31 Dec 2025 23:00:00 GMT": 0,
	}
	for in, want := range cases {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, faultStatus(503, "5"))
	// The retry warning is logged just before the backoff starts: cancelling after it
	// cancels the wait, not the request.
	retrying := make(chan struct{}, 1)
	c := testClient(t, srv.URL, WithLogger(slog.New(faultSignalHandler{slog.LevelWarn, retrying})))
	c.retryCap = 10 * time.Second // honour the 5 s Retry-After
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Sessions.List(ctx); done <- err }()
	<-retrying
	start := time.Now()
	cancel()
	err := <-done
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Fatalf("cancellation during backoff took %v", took)
	}
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrNetwork) {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.requests()); n != 1 {
		t.Fatalf("%d attempts", n)
	}
}

func TestNoAttemptPastDeadline(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, faultStatus(503, "5"))
	c := testClient(t, srv.URL)
	c.retryCap = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.Sessions.List(ctx)
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 503 || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("err %v after %v; want the 503 at once, since the retry could not start before the deadline", err, time.Since(start))
	}
}
