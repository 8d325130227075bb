package agentjail

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// callErr makes the call of row m and returns only its error.
func callErr(ctx context.Context, c *Client, m apiCall) error {
	_, err := m.call(ctx, c)
	return err
}

// attempts returns safe for a call that is safe to repeat (GET, DELETE) and unsafe for
// one that may have acted (POST, PATCH).
func attempts(m apiCall, safe, unsafe int) int {
	if m.idempotent {
		return safe
	}
	return unsafe
}

// TestRetryStatuses counts the attempts every call makes for each status: GET and DELETE
// are retried on 408, 429, 502, 503 and 504; POST and PATCH, which may have acted, only
// on 429 and 503; every attempt sends the same body, and the last status is returned.
func TestRetryStatuses(t *testing.T) {
	t.Parallel()
	statuses := []struct {
		code         int
		safe, unsafe int // attempts for GET/DELETE and for POST/PATCH
	}{
		{400, 1, 1}, {401, 1, 1}, {403, 1, 1}, {404, 1, 1}, {409, 1, 1}, {422, 1, 1},
		{408, 3, 1}, {429, 3, 3}, {500, 1, 1}, {501, 1, 1}, {502, 3, 1}, {503, 3, 3}, {504, 3, 1},
	}
	for _, m := range sdkCalls() {
		for _, st := range statuses {
			t.Run(m.name+"_"+strconv.Itoa(st.code), func(t *testing.T) {
				t.Parallel()
				srv := newRecorder(t, statusReply(st.code, ""))
				e := asError(t, callErr(context.Background(), testClient(t, srv.URL), m))
				if e.StatusCode != st.code || e.Message != "e"+strconv.Itoa(st.code) {
					t.Fatalf("err = %v", e)
				}
				want := attempts(m, st.safe, st.unsafe)
				reqs := srv.requests()
				if len(reqs) != want || e.Attempts != want {
					t.Fatalf("%d requests, Attempts %d; want %d", len(reqs), e.Attempts, want)
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

// TestRetryAfter: the retried statuses and some that are not, with Retry-After in
// seconds, as an HTTP date, far beyond the cap, in the past and unparsable, counting
// attempts per method and measuring the waits on the server's clock: a hint is honoured
// up to the cap, a useless one is ignored, and no hint makes a failure retryable.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	const retryCap = 50 * time.Millisecond
	hints := []struct {
		name   string
		value  func() string
		honour bool // the wait between attempts must be the (clamped) hint
	}{
		{"seconds", func() string { return "1" }, true},
		{"http_date", func() string { return time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat) }, true},
		{"one_hour_clamped", func() string { return "3600" }, true},
		{"past_date", func() string { return "Wed, 21 Oct 2015 07:28:00 GMT" }, false},
		{"garbage", func() string { return "soon" }, false},
	}
	statuses := []struct {
		code         int
		safe, unsafe int // attempts for GET/DELETE and for POST/PATCH
	}{
		{408, 3, 1}, {429, 3, 3}, {502, 3, 1}, {503, 3, 3}, {504, 3, 1},
		{500, 1, 1}, {409, 1, 1}, {400, 1, 1},
	}
	for _, st := range statuses {
		for _, h := range hints {
			for _, m := range oneCallPerMethod() {
				t.Run(fmt.Sprintf("%s_%d_%s", m.name, st.code, h.name), func(t *testing.T) {
					t.Parallel()
					srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { statusReply(st.code, h.value())(w, r) })
					c := testClient(t, srv.URL)
					c.retryCap = retryCap
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					start := time.Now()
					e := asError(t, callErr(ctx, c, m))
					want := attempts(m, st.safe, st.unsafe)
					reqs := srv.requests()
					if e.StatusCode != st.code || e.Attempts != want || len(reqs) != want {
						t.Fatalf("status %d, Attempts %d, %d requests; want %d attempts", e.StatusCode, e.Attempts, len(reqs), want)
					}
					for i := 1; i < len(reqs); i++ {
						gap := reqs[i].At.Sub(reqs[i-1].At)
						if h.honour && gap < retryCap {
							t.Errorf("wait before attempt %d was %v, want the Retry-After clamped to %v", i+1, gap, retryCap)
						}
					}
					if took := time.Since(start); took > 2*time.Second {
						t.Errorf("took %v: Retry-After was not clamped to the cap", took)
					}
				})
			}
		}
	}
}

// TestRetriedRequestsReplayed: every call retried after a 503 and a 429 succeeds on the
// third attempt, and every attempt carries the same method, bytes and headers.
func TestRetriedRequestsReplayed(t *testing.T) {
	t.Parallel()
	for _, m := range sdkCalls() {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, statusReply(503, ""), statusReply(429, ""), okReply(m.reply))
			if err := callErr(context.Background(), testClient(t, srv.URL), m); err != nil {
				t.Fatal(err)
			}
			reqs := srv.requests()
			if len(reqs) != 3 {
				t.Fatalf("%d requests", len(reqs))
			}
			for i, r := range reqs {
				if r.Method != m.method {
					t.Fatalf("attempt %d: method %s", i+1, r.Method)
				}
				if !bytes.Equal(r.Body, reqs[0].Body) {
					t.Fatalf("attempt %d body %q differs from %q", i+1, r.Body, reqs[0].Body)
				}
				for _, h := range []string{"Authorization", "Content-Type", "Content-Length", "User-Agent", "Accept"} {
					if got, want := r.Header.Get(h), reqs[0].Header.Get(h); got != want {
						t.Fatalf("attempt %d %s = %q, first attempt %q", i+1, h, got, want)
					}
				}
			}
			checkRequest(t, reqs[0], m)
		})
	}
}

// TestRetryConnectionDropped: the server reads the request and then closes the
// connection, resets it, or answers something that is not HTTP. The request may have
// run, so only GET and DELETE are retried.
func TestRetryConnectionDropped(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name string
		h    http.HandlerFunc
	}{{"closed", dropReply}, {"reset", resetReply}, {"garbage", garbageReply}}
	for _, m := range oneCallPerMethod() {
		for _, f := range faults {
			t.Run(m.name+"_"+f.name+"_always", func(t *testing.T) {
				t.Parallel()
				srv := newRecorder(t, f.h)
				e := asError(t, callErr(context.Background(), testClient(t, srv.URL), m))
				want := attempts(m, 3, 1)
				if n := len(srv.requests()); e.Code != CodeNetwork || e.StatusCode != 0 || e.Attempts != want || n != want {
					t.Fatalf("code %s status %d Attempts %d requests %d; want NETWORK after %d", e.Code, e.StatusCode, e.Attempts, n, want)
				}
				if errors.Unwrap(e) == nil || !errors.Is(e, ErrNetwork) {
					t.Fatalf("the transport error is not reachable: %#v", e)
				}
			})
			t.Run(m.name+"_"+f.name+"_then_ok", func(t *testing.T) {
				t.Parallel()
				srv := newRecorder(t, f.h, okReply(m.reply))
				err := callErr(context.Background(), testClient(t, srv.URL), m)
				n := len(srv.requests())
				if m.idempotent {
					if err != nil || n != 2 {
						t.Fatalf("err %v after %d requests; want success on the second", err, n)
					}
					return
				}
				if e := asError(t, err); e.Attempts != 1 || n != 1 {
					t.Fatalf("Attempts %d, %d requests: a failed %s must not be repeated", e.Attempts, n, m.name)
				}
			})
		}
	}
}

// TestRetryNeverConnected: a refused connection or a failed lookup proves the server did
// nothing, so every method is retried, POST and PATCH included.
func TestRetryNeverConnected(t *testing.T) {
	t.Parallel()
	dnsFail := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network,
				Err: &net.DNSError{Err: "no such host", Name: "api.invalid", IsNotFound: true}}
		},
	}}
	for _, m := range oneCallPerMethod() {
		for _, tc := range []struct {
			name string
			url  string
			opts []Option
		}{
			{"refused", refusedURL, nil},
			{"dns", "http://api.invalid", []Option{WithHTTPClient(dnsFail)}},
		} {
			t.Run(m.name+"_"+tc.name, func(t *testing.T) {
				t.Parallel()
				e := asError(t, callErr(context.Background(), testClient(t, tc.url, tc.opts...), m))
				if e.Code != CodeNetwork || e.Attempts != 3 {
					t.Fatalf("code %s Attempts %d; want NETWORK after 3 attempts", e.Code, e.Attempts)
				}
				var op *net.OpError
				if !errors.As(e, &op) || op.Op != "dial" {
					t.Fatalf("the dial error is not reachable: %v", e)
				}
			})
		}
	}
}

// TestRetryBodyCutShort: a 2xx whose body ends before its Content-Length (or before the
// last chunk), or whose gzip encoding is corrupt, is a network failure: retried for GET,
// never for POST or PATCH, and after the last attempt a CodeNetwork *Error that unwraps
// to the cause (io.ErrUnexpectedEOF, gzip.ErrHeader).
func TestRetryBodyCutShort(t *testing.T) {
	t.Parallel()
	for _, m := range oneCallPerMethod() {
		if m.reply == "" {
			continue // DELETE decodes nothing: the status is the whole answer
		}
		for _, tc := range []struct {
			name  string
			h     http.HandlerFunc
			cause error
		}{
			{"content_length", cutReply(200, len(m.reply)+100, m.reply[:len(m.reply)/2]), io.ErrUnexpectedEOF},
			{"chunked", cutChunkedReply(m.reply[:len(m.reply)/2]), io.ErrUnexpectedEOF},
			{"corrupt_gzip", func(w http.ResponseWriter, r *http.Request) {
				if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
					panic("the transport did not ask for gzip")
				}
				w.Header().Set("Content-Encoding", "gzip")
				jsonReply(200, m.reply)(w, r) // not gzip at all
			}, gzip.ErrHeader},
		} {
			t.Run(m.name+"_"+tc.name, func(t *testing.T) {
				t.Parallel()
				srv := newRecorder(t, tc.h)
				e := asError(t, callErr(context.Background(), testClient(t, srv.URL), m))
				want := attempts(m, 3, 1)
				if n := len(srv.requests()); e.Code != CodeNetwork || e.Attempts != want || n != want {
					t.Fatalf("code %s Attempts %d requests %d; want NETWORK after %d", e.Code, e.Attempts, n, want)
				}
				if !errors.Is(e, tc.cause) {
					t.Fatalf("err = %v, want it to match %v", e, tc.cause)
				}
			})
		}
	}
	t.Run("GET_cut_then_ok", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, cutReply(200, 500, `{"id":"se`), okReply(fixtureSession))
		s, err := testClient(t, srv.URL).Sessions.Get(context.Background(), "sess_1")
		if err != nil || s.ID != "sess_abc" || len(srv.requests()) != 2 {
			t.Fatalf("got %v, %v after %d requests", s, err, len(srv.requests()))
		}
	})
	// An error body cut short still carries its status: the policy decides on it.
	for _, tc := range []struct {
		name  string
		code  int
		tries int
	}{{"GET_503_body_cut", 503, 3}, {"GET_500_body_cut", 500, 1}, {"GET_404_body_cut", 404, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, cutReply(tc.code, 4096, `{"error":"half`))
			_, err := testClient(t, srv.URL).Sessions.Get(context.Background(), "sess_1")
			e := asError(t, err)
			if e.StatusCode != tc.code || e.Attempts != tc.tries || string(e.Body) != `{"error":"half` {
				t.Fatalf("status %d Attempts %d body %q", e.StatusCode, e.Attempts, e.Body)
			}
		})
	}
}

// TestRetryExhaustion: after the last attempt the error is the last failure itself, with
// its status, message, body and the attempt count; never an opaque "gave up".
func TestRetryExhaustion(t *testing.T) {
	t.Parallel()
	numbered := func(code int) http.HandlerFunc {
		var n atomic.Int32
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			jsonReply(code, fmt.Sprintf(`{"error":"busy %d"}`, n.Add(1)))(w, r)
		}
	}
	cases := []struct {
		name    string
		script  []http.HandlerFunc
		status  int
		message string
	}{
		{"503_three_times", []http.HandlerFunc{numbered(503)}, 503, "busy 3"},
		{"drop_drop_503", []http.HandlerFunc{dropReply, dropReply, closingReply(statusReply(503, ""))}, 503, "e503"},
		{"503_503_drop", []http.HandlerFunc{closingReply(statusReply(503, "")), closingReply(statusReply(502, "")), dropReply}, 0, ""},
		{"503_then_404", []http.HandlerFunc{closingReply(statusReply(503, "")), closingReply(statusReply(404, ""))}, 404, "e404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, tc.script...)
			_, err := testClient(t, srv.URL).Sessions.Get(context.Background(), "sess_1")
			e := asError(t, err)
			if n := len(srv.requests()); e.Attempts != n {
				t.Fatalf("Attempts %d, %d requests", e.Attempts, n)
			}
			if e.StatusCode != tc.status {
				t.Fatalf("status %d, want the last one, %d", e.StatusCode, tc.status)
			}
			if tc.status == 0 {
				if e.Code != CodeNetwork || errors.Unwrap(e) == nil {
					t.Fatalf("want the wrapped transport error, got %#v", e)
				}
			} else if e.Message != tc.message || !bytes.Contains(e.Body, []byte(tc.message)) {
				t.Fatalf("message %q body %q, want the last response's %q", e.Message, e.Body, tc.message)
			}
			if msg := strings.ToLower(e.Error()); strings.Contains(msg, "giving up") || strings.Contains(msg, "gave up") {
				t.Fatalf("opaque error %q", e.Error())
			}
		})
	}
}

// TestRetryTLS: certificate and handshake failures are not transient: one attempt, and
// the cause stays reachable.
func TestRetryTLS(t *testing.T) {
	t.Parallel()
	for _, m := range oneCallPerMethod() {
		t.Run("untrusted_"+m.name, func(t *testing.T) {
			t.Parallel()
			srv := startRecorder(t, true, okReply(m.reply))
			e := asError(t, callErr(context.Background(), testClient(t, srv.URL), m))
			var unknown x509.UnknownAuthorityError
			var verify *tls.CertificateVerificationError
			if e.Code != CodeNetwork || e.Attempts != 1 || !errors.As(e, &unknown) || !errors.As(e, &verify) {
				t.Fatalf("code %s Attempts %d err %v", e.Code, e.Attempts, e)
			}
			if n := srv.conns.Load(); n != 1 || len(srv.requests()) != 0 {
				t.Fatalf("%d connections, %d requests; want one failed handshake", n, len(srv.requests()))
			}
		})
	}
	t.Run("wrong_hostname", func(t *testing.T) {
		t.Parallel()
		srv := startRecorder(t, true, okReply(fixtureSession))
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "https://"))
		// The test certificate names example.com, 127.0.0.1 and ::1, not localhost.
		c := testClient(t, "https://localhost:"+port, WithHTTPClient(srv.Client()))
		_, err := c.Sessions.Get(context.Background(), "sess_1")
		e := asError(t, err)
		var host x509.HostnameError
		if e.Attempts != 1 || !errors.As(e, &host) {
			t.Fatalf("Attempts %d err %v", e.Attempts, e)
		}
	})
	t.Run("https_client_plain_server", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, okReply(fixtureSession))
		c := testClient(t, strings.Replace(srv.URL, "http://", "https://", 1))
		_, err := c.Sessions.Get(context.Background(), "sess_1")
		e := asError(t, err)
		if e.Attempts != 1 || !errors.Is(e, http.ErrSchemeMismatch) {
			t.Fatalf("Attempts %d err %v", e.Attempts, e)
		}
	})
	t.Run("trusted_works", func(t *testing.T) {
		t.Parallel()
		srv := startRecorder(t, true, okReply(fixtureSession))
		c := testClient(t, srv.URL, WithHTTPClient(srv.Client()))
		if _, err := c.Sessions.Get(context.Background(), "sess_1"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRetryCancelledOrOutOfTime: the retry wait ends with the caller's context, and the
// client never sleeps into a deadline it cannot meet nor starts an attempt after it.
func TestRetryCancelledOrOutOfTime(t *testing.T) {
	t.Parallel()
	// Cancelling during a long backoff returns within 100 ms, for every method, with
	// context.Canceled and the attempts made.
	for _, m := range oneCallPerMethod() {
		t.Run("backoff_"+m.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, statusReply(503, "5"))
			logger, retrying := retrySignal()
			c := testClient(t, srv.URL, WithLogger(logger))
			c.retryCap = 10 * time.Second
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- callErr(ctx, c, m) }()
			<-retrying // logged just before the 5 s wait
			at := time.Now()
			cancel()
			err := <-done
			if took := time.Since(at); took > 100*time.Millisecond {
				t.Errorf("returned %v after cancel", took)
			}
			if !errors.Is(err, context.Canceled) || errors.Is(err, ErrNetwork) || !strings.Contains(err.Error(), "after 1 attempts") {
				t.Fatalf("err = %v", err)
			}
			if n := len(srv.requests()); n != 1 {
				t.Fatalf("%d requests", n)
			}
		})
	}

	// The deadline case: the helper never sleeps into a deadline it cannot meet, and
	// never starts an attempt after it. Whatever the timing, no attempt starts after
	// the deadline (timed where the attempt starts: in the client's transport), and the
	// error is the last *Error or the deadline itself.
	for _, d := range []time.Duration{30, 60, 90, 120, 150, 200, 250} {
		d := d * time.Millisecond
		t.Run("deadline_"+d.String(), func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, statusReply(503, ""))
			tr := &http.Transport{}
			t.Cleanup(tr.CloseIdleConnections)
			var mu sync.Mutex
			var starts []time.Time
			timed := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				mu.Lock()
				starts = append(starts, time.Now())
				mu.Unlock()
				return tr.RoundTrip(r)
			})
			c := testClient(t, srv.URL, WithMaxRetries(10), WithHTTPClient(&http.Client{Transport: timed}))
			c.retryBase, c.retryCap = 20*time.Millisecond, 80*time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			deadline, _ := ctx.Deadline()
			start := time.Now()
			_, err := c.Sessions.List(ctx)
			if took := time.Since(start); took > d+300*time.Millisecond {
				t.Errorf("returned after %v with a %v deadline", took, d)
			}
			mu.Lock()
			defer mu.Unlock()
			for i, at := range starts {
				// 1 ms of slack: the time between the helper's last deadline check and
				// the transport, where a goroutine can be descheduled.
				if at.After(deadline.Add(time.Millisecond)) {
					t.Fatalf("attempt %d started %v after the deadline", i+1, at.Sub(deadline))
				}
			}
			var e *Error
			switch {
			case errors.As(err, &e):
				if e.StatusCode != 503 || e.Attempts != len(starts) {
					t.Fatalf("status %d Attempts %d, %d attempts started", e.StatusCode, e.Attempts, len(starts))
				}
			case errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrNetwork):
			default:
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("deadline_before_retry_after", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, statusReply(429, "2"))
		c := testClient(t, srv.URL)
		c.retryCap = 10 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Sessions.Exec(ctx, "sess_1", SessionExecParams{Cmd: "id"})
		e := asError(t, err)
		if e.StatusCode != 429 || e.Attempts != 1 || time.Since(start) > 300*time.Millisecond {
			t.Fatalf("status %d Attempts %d after %v; want the 429 at once", e.StatusCode, e.Attempts, time.Since(start))
		}
	})
}

// lateContext is a context whose deadline has passed but whose timer has not fired
// yet: Done is still open. A real context is in that state for a moment after every
// deadline.
type lateContext struct{ context.Context }

func (lateContext) Deadline() (time.Time, bool) { return time.Now().Add(-time.Microsecond), true }

// TestSleepHonoursPassedDeadline: a backoff wait that ends at or after the
// deadline reports it, even before the context notices, so no attempt starts late.
func TestSleepHonoursPassedDeadline(t *testing.T) {
	t.Parallel()
	if err := sleep(lateContext{context.Background()}, time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("sleep past the deadline = %v, want context.DeadlineExceeded", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if err := sleep(ctx, time.Millisecond); err != nil {
		t.Fatalf("sleep within the deadline = %v", err)
	}
}

// TestBackoff: exponential waits with equal jitter up to the cap, a Retry-After honoured
// up to the cap, and Retry-After parsed as seconds or an HTTP date.
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

// TestMaxRetriesZeroDisablesRetries: WithMaxRetries(0) makes one attempt only.
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
