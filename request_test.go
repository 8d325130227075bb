package agentjail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSDKCallsSendTheirRequest: every call of the SDK sends exactly its method, escaped
// path, query, headers and JSON body, and accepts its reply.
func TestSDKCallsSendTheirRequest(t *testing.T) {
	t.Parallel()
	checkCalls(t, sdkCalls())
}

// TestNilContext: a nil context is refused before any I/O, streams included.
func TestNilContext(t *testing.T) {
	t.Parallel()
	checkInvalid(t, []invalidCall{
		{"call", func(context.Context, *Client) error {
			//lint:ignore SA1012 checking that a nil context is rejected
			_, err := testClient(t, "http://127.0.0.1:1").Public.Health(nil) //nolint:staticcheck
			return err
		}},
		{"stream", func(context.Context, *Client) error {
			//lint:ignore SA1012 checking that a nil context is rejected
			_, err := testClient(t, "http://127.0.0.1:1").Runs.Stream(nil, RunParams{Code: "x"}) //nolint:staticcheck
			return err
		}},
	})
}

// TestRequestHeaders: every request carries the User-Agent with WithUserAgent's suffix
// and the WithHeader headers; the key goes only to guarded routes, and only when one is
// configured; a POST without fields sends {} as JSON.
func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, nil)
	ctx := context.Background()

	c := testClient(t, srv.URL, WithUserAgent("ci-bot/2"), WithHeader("x-trace", "abc"))
	_, _ = c.Settings.Whoami(ctx)
	_, _ = c.Public.Stats(ctx)
	_, _ = c.Public.Health(ctx)
	_, _ = c.Sessions.Create(ctx, SessionCreateParams{})

	noKey, err := NewClient(srv.URL, WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = noKey.Settings.Whoami(ctx)

	reqs := srv.requests()
	wantUA := fmt.Sprintf("agentjail-go/%s (%s; %s/%s) ci-bot/2", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for i, r := range reqs[:4] {
		if got := r.Header.Get("User-Agent"); got != wantUA {
			t.Errorf("request %d User-Agent = %q, want %q", i, got, wantUA)
		}
		if got := r.Header.Get("X-Trace"); got != "abc" {
			t.Errorf("request %d X-Trace = %q", i, got)
		}
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer k" {
		t.Errorf("guarded route Authorization = %q", got)
	}
	for _, r := range reqs[1:3] {
		if _, ok := r.Header["Authorization"]; ok {
			t.Errorf("public route %s carried Authorization", r.Path)
		}
	}
	if got := reqs[3].Header.Get("Content-Type"); got != "application/json" || string(reqs[3].Body) != "{}" {
		t.Errorf("POST without fields: Content-Type %q body %q", got, reqs[3].Body)
	}
	if _, ok := reqs[4].Header["Authorization"]; ok {
		t.Error("no key configured, but an Authorization header was sent")
	}
}

// TestRequestLog: one debug record per attempt and one warning per retry, with method,
// path, status and attempt, and never the key or the body's secret.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, jsonReply(503, `{"error":"busy"}`))
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := testClient(t, srv.URL, WithAPIKey("sk-secret-key"), WithLogger(log))
	_, err := c.Credentials.Put(context.Background(), CredentialPutParams{Service: ServiceOpenAI, Secret: "sk-upstream"})
	if err == nil {
		t.Fatal("want an error")
	}
	out := buf.String()
	if strings.Count(out, "level=DEBUG") != 3 || strings.Count(out, "level=WARN") != 2 {
		t.Fatalf("want 3 debug records and 2 retry warnings, got:\n%s", out)
	}
	if !strings.Contains(out, "status=503") || !strings.Contains(out, "path=/v1/credentials") || !strings.Contains(out, "attempt=3") {
		t.Fatalf("records lack method/path/status/attempt:\n%s", out)
	}
	if strings.Contains(out, "sk-secret-key") || strings.Contains(out, "sk-upstream") {
		t.Fatalf("log leaks a secret:\n%s", out)
	}
}

// TestHeaderValuesNotShared: a transport or redirect policy that appends to a
// request header must not write into the Client's WithHeader values, which every
// concurrent request shares (run under -race).
func TestHeaderValuesNotShared(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, okReply(fixtureSession))
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	appender := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r.Header.Add("X-Multi", "added-by-transport")
		return tr.RoundTrip(r)
	})
	c := testClient(t, srv.URL, WithHeader("X-Multi", "a"), WithHeader("X-Multi", "b"), WithHeader("X-Multi", "c"),
		WithHTTPClient(&http.Client{Transport: appender}))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				if _, err := c.Sessions.Get(context.Background(), "sess_1"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := c.headers["X-Multi"]
	if len(got) != 3 || cap(got) == len(got) {
		t.Fatalf("the client's header values are %q with capacity %d: want 3 values and spare room an append could write into", got, cap(got))
	}
	// Each request got a full slice (len == cap), so the transport's Add copied it
	// instead of writing into the client's spare room.
	for _, v := range got[len(got):cap(got)] {
		if v != "" {
			t.Fatalf("a request appended %q into the client's header values", v)
		}
	}
	for _, r := range srv.requests() {
		if got := r.Header.Values("X-Multi"); strings.Join(got, ",") != "a,b,c,added-by-transport" {
			t.Fatalf("X-Multi = %q", got)
		}
	}
}

// countingConn counts the bytes the client read from the server.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestHugeErrorBody: a 10 MiB error body is cut to 64 KiB in Body and 1 KiB in
// Message, and the client reads only a bounded prefix of it off the wire.
func TestHugeErrorBody(t *testing.T) {
	t.Parallel()
	const size = 10 << 20
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	huge := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", strconv.Itoa(size))
			w.WriteHeader(code)
			for written := 0; written < size; written += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return // the client hung up: expected
				}
			}
		}
	}
	for _, tc := range []struct {
		name     string
		code     int
		attempts int
	}{{"400", 400, 1}, {"503_retried", 503, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, huge(tc.code))
			var read atomic.Int64
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return countingConn{conn, &read}, nil
			}}
			t.Cleanup(tr.CloseIdleConnections)
			c := testClient(t, srv.URL, WithHTTPClient(&http.Client{Transport: tr}))
			start := time.Now()
			_, err := c.Sessions.Get(context.Background(), "sess_1")
			took := time.Since(start)
			e := asError(t, err)
			if e.StatusCode != tc.code || e.Attempts != tc.attempts {
				t.Fatalf("status %d Attempts %d", e.StatusCode, e.Attempts)
			}
			if len(e.Body) != maxErrorBody || e.Message != strings.Repeat("x", maxErrorMessage-len("…"))+"…" {
				t.Fatalf("Body %d bytes, Message %d bytes", len(e.Body), len(e.Message))
			}
			if limit := int64(tc.attempts) * (1 << 20); read.Load() > limit {
				t.Fatalf("the client read %d bytes off the wire for %d attempts; want at most %d", read.Load(), tc.attempts, limit)
			}
			if took > 5*time.Second {
				t.Fatalf("took %v", took)
			}
		})
	}
}

// TestCancellation: a done context ends the call at once, before it starts or while it
// reads the body, with an error matching the context's error and never ErrNetwork. (While
// the server holds the request, see TestCallsReleaseResources; during the retry wait,
// TestRetryCancelledOrOutOfTime.)
func TestCancellation(t *testing.T) {
	t.Parallel()
	t.Run("already_cancelled", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, okReply(fixtureSession))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := testClient(t, srv.URL).Sessions.Get(ctx, "sess_1")
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrNetwork) || srv.conns.Load() != 0 {
			t.Fatalf("err %v, %d connections", err, srv.conns.Load())
		}
	})
	t.Run("deadline_already_passed", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, okReply(fixtureSession))
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := testClient(t, srv.URL).Sessions.Get(ctx, "sess_1")
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNetwork) || srv.conns.Load() != 0 {
			t.Fatalf("err %v, %d connections", err, srv.conns.Load())
		}
	})

	// The response headers arrived and the body stalls: the body read ends with the
	// context, whatever the status, and the call reports the context's error.
	for _, code := range []int{200, 500, 503, 404} {
		t.Run(fmt.Sprintf("while_reading_%d_body", code), func(t *testing.T) {
			t.Parallel()
			reading := make(chan struct{})
			mt := &memTransport{handle: func(r *http.Request) *http.Response {
				resp := memResponse(code, http.Header{"Content-Type": {"application/json"}}, "")
				resp.ContentLength = -1
				resp.Body = &stallBody{ctx: r.Context(), first: `{"error":"part`, reading: reading}
				return resp
			}}
			c := testClient(t, "http://api.example", WithHTTPClient(&http.Client{Transport: mt}))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { _, err := c.Sessions.Get(ctx, "sess_1"); done <- err }()
			<-reading
			at := time.Now()
			cancel()
			err := <-done
			if took := time.Since(at); took > 100*time.Millisecond {
				t.Errorf("returned %v after cancel", took)
			}
			if !errors.Is(err, context.Canceled) || errors.Is(err, ErrNetwork) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if len(mt.seen) != 1 {
				t.Fatalf("%d requests", len(mt.seen))
			}
		})
	}
}

// stallBody returns first, then blocks until its context is done.
type stallBody struct {
	ctx     context.Context
	first   string
	reading chan struct{} // closed when the first read that blocks starts
	sent    bool
	blocked bool
}

func (b *stallBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, b.first), nil
	}
	if !b.blocked {
		b.blocked = true
		close(b.reading)
	}
	<-b.ctx.Done()
	return 0, b.ctx.Err()
}

func (b *stallBody) Close() error { return nil }

// bodyOnly passes a handler's body through to w but not its header or status.
type bodyOnly struct{ http.ResponseWriter }

func (bodyOnly) Header() http.Header { return http.Header{} }
func (bodyOnly) WriteHeader(int)     {}

// TestCallsReleaseResources drives every call of the SDK in turn through each way a
// request can fail, against a fresh server and client per scenario, then closes them:
// TestMain then checks that no timer, body reader, connection or retry goroutine outlived
// its call.
func TestCallsReleaseResources(t *testing.T) {
	t.Parallel()
	calls := sdkCalls()
	rounds := 2
	if raceEnabled {
		rounds = 1
	}
	// each makes every call rounds times, in table order, and checks each outcome.
	each := func(c *Client, check func(m apiCall, err error)) {
		for range rounds {
			for _, m := range calls {
				check(m, callErr(context.Background(), c, m))
			}
		}
	}
	want := func(t *testing.T, target error) func(m apiCall, err error) {
		return func(m apiCall, err error) {
			ended := errors.Is(target, context.Canceled) || errors.Is(target, context.DeadlineExceeded)
			if target == nil && err != nil || target != nil && !errors.Is(err, target) || ended && errors.Is(err, ErrNetwork) {
				t.Errorf("%s: err = %v, want %v", m.name, err, target)
			}
		}
	}
	// cancelEach starts every call in turn, cancels it when reached signals, and checks
	// that it ended with context.Canceled.
	cancelEach := func(c *Client, reached <-chan struct{}) {
		for _, m := range calls {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- callErr(ctx, c, m) }()
			<-reached
			cancel()
			want(t, context.Canceled)(m, <-done)
		}
	}
	arrived := make(chan struct{}, 1)
	cases := []struct {
		name   string
		script []http.HandlerFunc
		tls    bool
		run    func(t *testing.T, c *Client, srv *recorder)
	}{
		{name: "retries_then_success", script: []http.HandlerFunc{cycleReply(statusReply(503, ""), statusReply(429, "0"), replyByRoute(calls))},
			run: func(t *testing.T, c *Client, srv *recorder) {
				each(c, want(t, nil))
				if got := len(srv.requests()); got != 3*rounds*len(calls) {
					t.Fatalf("%d requests for %d calls", got, rounds*len(calls))
				}
			}},
		{name: "retries_exhausted", script: []http.HandlerFunc{statusReply(503, "")},
			run: func(t *testing.T, c *Client, srv *recorder) { each(c, want(t, ErrServerError)) }},
		// The wait (30 s) outlives TestMain's patience: anything tied to it that is not
		// released on cancellation shows up.
		{name: "cancel_during_backoff", script: []http.HandlerFunc{statusReply(503, "30")},
			run: func(t *testing.T, c *Client, srv *recorder) {
				var retrying chan struct{}
				c.logger, retrying = retrySignal()
				c.retryCap = time.Minute
				cancelEach(c, retrying)
			}},
		{name: "cancel_during_request", script: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			<-r.Context().Done()
		}},
			run: func(t *testing.T, c *Client, srv *recorder) { cancelEach(c, arrived) }},
		{name: "deadlines", script: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}},
			run: func(t *testing.T, c *Client, srv *recorder) {
				for _, m := range calls {
					ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
					err := callErr(ctx, c, m)
					cancel()
					want(t, context.DeadlineExceeded)(m, err)
				}
			}},
		{name: "dropped_connections", script: []http.HandlerFunc{dropReply},
			run: func(t *testing.T, c *Client, srv *recorder) { each(c, want(t, ErrNetwork)) }},
		// A call that decodes its reply fails on the cut body; the others never read it.
		{name: "bodies_cut_short", script: []http.HandlerFunc{cutReply(200, 1000, `{"id":`)},
			run: func(t *testing.T, c *Client, srv *recorder) {
				each(c, func(m apiCall, err error) {
					if m.reply != "" && !m.stream {
						want(t, ErrNetwork)(m, err)
					}
				})
			}},
		// Bodies larger than the drain limit, after a complete reply or as an error: only
		// Close frees their connections.
		{name: "huge_bodies", script: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.Method == http.MethodGet {
				w.WriteHeader(200)
				replyByRoute(calls)(bodyOnly{w}, r)
			} else {
				w.WriteHeader(500)
			}
			pad := bytes.Repeat([]byte(" "), 64<<10)
			for i := 0; i < 160; i++ { // 10 MiB
				if _, err := w.Write(pad); err != nil {
					return
				}
			}
		}},
			run: func(t *testing.T, c *Client, srv *recorder) {
				for _, m := range calls {
					target := ErrServerError
					if m.method == http.MethodGet {
						target = nil
					}
					want(t, target)(m, callErr(context.Background(), c, m))
				}
			}},
		{name: "tls_failures", tls: true, script: []http.HandlerFunc{replyByRoute(calls)},
			run: func(t *testing.T, c *Client, srv *recorder) { each(c, want(t, ErrNetwork)) }},
		{name: "many_concurrent_calls", script: []http.HandlerFunc{replyByRoute(calls)},
			run: func(t *testing.T, c *Client, srv *recorder) {
				var wg sync.WaitGroup
				for g := 0; g < 20; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						each(c, want(t, nil))
					}()
				}
				wg.Wait()
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startRecorder(t, tc.tls, tc.script...)
			c := testClient(t, srv.URL)
			tc.run(t, c, srv)
			c.hc.CloseIdleConnections()
			srv.Close()
		})
	}
	t.Run("refused", func(t *testing.T) {
		c := testClient(t, refusedURL)
		each(c, want(t, ErrNetwork))
		c.hc.CloseIdleConnections()
	})
}

// TestMaskURLError: the URL of a *url.Error loses its user information; any other error
// is left alone.
func TestMaskURLError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want string
	}{
		{&url.Error{Op: "Get", URL: "http://tok:pw@host/v1/x", Err: io.EOF}, `Get "http://xxxxx@host/v1/x": EOF`},
		{&url.Error{Op: "parse", URL: "http://tok@host/%zz", Err: io.EOF}, `parse "http://xxxxx@host/%zz": EOF`},
		{&url.Error{Op: "Get", URL: "http://host/v1/x", Err: io.EOF}, `Get "http://host/v1/x": EOF`},
		{errors.New("tok@host"), "tok@host"},
	}
	for _, tc := range cases {
		if got := maskURLError(tc.err).Error(); got != tc.want {
			t.Errorf("maskURLError(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
