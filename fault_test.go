package agentjail

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The fault-injection suite: scripted servers that fail in every way the network and the
// control plane can, and the exact behaviour of the request helper for each.

// faultMethod is one SDK call per HTTP method, for the retry-policy tables.
type faultMethod struct {
	name       string
	idempotent bool   // GET and DELETE: retried on every transient failure
	ok         string // a 2xx body the call accepts
	call       func(context.Context, *Client) error
}

// faultMethods returns one call per method the SDK uses. The POST body holds characters
// that JSON encoders like to escape, so that replayed bodies are compared byte for byte.
func faultMethods() []faultMethod {
	return []faultMethod{
		{"GET", true, fixtureSession, func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Get(ctx, "sess_1")
			return err
		}},
		{"DELETE", true, "", func(ctx context.Context, c *Client) error {
			return c.Sessions.Close(ctx, "sess_1")
		}},
		{"POST", false, fixtureExec, func(ctx context.Context, c *Client) error {
			_, err := c.Sessions.Exec(ctx, "sess_1", SessionExecParams{Cmd: "echo", Args: []string{"<héllo & ✓>", "\u2028"}})
			return err
		}},
		{"PATCH", false, fixtureWorkspace, func(ctx context.Context, c *Client) error {
			_, err := c.Workspaces.Update(ctx, "wrk_1", WorkspaceUpdateParams{Label: "ci <&>"})
			return err
		}},
	}
}

// faultStatus answers code with a JSON error body and, if set, a Retry-After header.
func faultStatus(code int, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		jsonReply(code, `{"error":"e`+strconv.Itoa(code)+`"}`)(w, r)
	}
}

// faultClosing wraps h so that the server closes the connection after the response: the
// next attempt then dials afresh, which keeps net/http's own transparent retry of a
// GET on a reused connection out of the attempt counts.
func faultClosing(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		h(w, r)
	}
}

// faultRaw answers with raw, whatever it is, in place of an HTTP response, and closes the
// connection.
func faultRaw(raw string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		_, _ = buf.WriteString(raw)
		_ = buf.Flush()
	}
}

// faultDrop closes the connection after reading the request, before any response byte.
var faultDrop = faultRaw("")

// faultGarbage answers with bytes that are not an HTTP response, then closes.
var faultGarbage = faultRaw("SSH-2.0-OpenSSH_9.6\r\n\x00\x01garbage\r\n\r\n")

// faultCut writes a response that announces declared bytes of body, sends only partial, and
// closes the connection.
func faultCut(code, declared int, partial string) http.HandlerFunc {
	return faultRaw(fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		code, http.StatusText(code), declared, partial))
}

// faultCutChunked is faultCut for a chunked body: the terminating chunk never comes.
func faultCutChunked(partial string) http.HandlerFunc {
	return faultRaw(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n",
		len(partial), partial))
}

func faultOK(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if body == "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		jsonReply(http.StatusOK, body)(w, r)
	}
}

// faultRefusedURL returns a loopback URL where nothing listens.
func faultRefusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// faultAsError returns err as *Error or fails the test.
func faultAsError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want an *Error", err, err)
	}
	return e
}

// TestFaultRetryAfter extends TestRetryMatrix: every retried status, with Retry-After in
// seconds, as an HTTP date, far beyond the cap and unparsable, counting attempts per
// method and measuring the waits on the server's clock.
func TestFaultRetryAfter(t *testing.T) {
	t.Parallel()
	const retryCap = 50 * time.Millisecond
	hints := []struct {
		name   string
		value  func() string
		honour bool // the wait between attempts must be the (clamped) hint
	}{
		{"none", func() string { return "" }, false},
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
			for _, m := range faultMethods() {
				t.Run(fmt.Sprintf("%s_%d_%s", m.name, st.code, h.name), func(t *testing.T) {
					t.Parallel()
					srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { faultStatus(st.code, h.value())(w, r) })
					c := testClient(t, srv.URL)
					c.retryCap = retryCap
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					start := time.Now()
					e := faultAsError(t, m.call(ctx, c))
					want := st.unsafe
					if m.idempotent {
						want = st.safe
					}
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

// TestFaultConnectionDropped: the server reads the request and then closes the
// connection, resets it, or answers something that is not HTTP. The request may have
// run, so only GET and DELETE are retried.
func TestFaultConnectionDropped(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name string
		h    http.HandlerFunc
	}{{"closed", faultDrop}, {"reset", faultReset}, {"garbage", faultGarbage}}
	for _, m := range faultMethods() {
		for _, f := range faults {
			t.Run(m.name+"_"+f.name+"_always", func(t *testing.T) {
				t.Parallel()
				srv := newRecorder(t, f.h)
				e := faultAsError(t, m.call(context.Background(), testClient(t, srv.URL)))
				want := 1
				if m.idempotent {
					want = 3
				}
				if n := len(srv.requests()); e.Code != CodeNetwork || e.StatusCode != 0 || e.Attempts != want || n != want {
					t.Fatalf("code %s status %d Attempts %d requests %d; want NETWORK after %d", e.Code, e.StatusCode, e.Attempts, n, want)
				}
				if errors.Unwrap(e) == nil || !errors.Is(e, ErrNetwork) {
					t.Fatalf("the transport error is not reachable: %#v", e)
				}
			})
			t.Run(m.name+"_"+f.name+"_then_ok", func(t *testing.T) {
				t.Parallel()
				srv := newRecorder(t, f.h, faultOK(m.ok))
				err := m.call(context.Background(), testClient(t, srv.URL))
				n := len(srv.requests())
				if m.idempotent {
					if err != nil || n != 2 {
						t.Fatalf("err %v after %d requests; want success on the second", err, n)
					}
					return
				}
				if e := faultAsError(t, err); e.Attempts != 1 || n != 1 {
					t.Fatalf("Attempts %d, %d requests: a failed %s must not be repeated", e.Attempts, n, m.name)
				}
			})
		}
	}
}

// faultReset aborts the connection with a TCP RST after reading the request.
func faultReset(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	conn.Close()
}

// TestFaultNeverConnected: a refused connection or a failed lookup proves the server did
// nothing, so every method is retried, POST and PATCH included.
func TestFaultNeverConnected(t *testing.T) {
	t.Parallel()
	dnsFail := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network,
				Err: &net.DNSError{Err: "no such host", Name: "api.invalid", IsNotFound: true}}
		},
	}}
	for _, m := range faultMethods() {
		for _, tc := range []struct {
			name string
			url  string
			opts []Option
		}{
			{"refused", faultRefusedURL(t), nil},
			{"dns", "http://api.invalid", []Option{WithHTTPClient(dnsFail)}},
		} {
			t.Run(m.name+"_"+tc.name, func(t *testing.T) {
				t.Parallel()
				e := faultAsError(t, m.call(context.Background(), testClient(t, tc.url, tc.opts...)))
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

// TestFaultBodyCutShort: a 2xx whose body ends before its Content-Length (or before the
// last chunk), or whose gzip encoding is corrupt, is a network failure: retried for GET,
// never for POST or PATCH, and after the last attempt a CodeNetwork *Error that unwraps
// to the cause (io.ErrUnexpectedEOF, gzip.ErrHeader).
func TestFaultBodyCutShort(t *testing.T) {
	t.Parallel()
	for _, m := range faultMethods() {
		if m.ok == "" {
			continue // DELETE decodes nothing: the status is the whole answer
		}
		for _, tc := range []struct {
			name  string
			h     http.HandlerFunc
			cause error
		}{
			{"content_length", faultCut(200, len(m.ok)+100, m.ok[:len(m.ok)/2]), io.ErrUnexpectedEOF},
			{"chunked", faultCutChunked(m.ok[:len(m.ok)/2]), io.ErrUnexpectedEOF},
			{"corrupt_gzip", func(w http.ResponseWriter, r *http.Request) {
				if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
					panic("the transport did not ask for gzip")
				}
				w.Header().Set("Content-Encoding", "gzip")
				jsonReply(200, m.ok)(w, r) // not gzip at all
			}, gzip.ErrHeader},
		} {
			t.Run(m.name+"_"+tc.name, func(t *testing.T) {
				t.Parallel()
				srv := newRecorder(t, tc.h)
				e := faultAsError(t, m.call(context.Background(), testClient(t, srv.URL)))
				want := 1
				if m.idempotent {
					want = 3
				}
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
		srv := newRecorder(t, faultCut(200, 500, `{"id":"se`), faultOK(fixtureSession))
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
			srv := newRecorder(t, faultCut(tc.code, 4096, `{"error":"half`))
			_, err := testClient(t, srv.URL).Sessions.Get(context.Background(), "sess_1")
			e := faultAsError(t, err)
			if e.StatusCode != tc.code || e.Attempts != tc.tries || string(e.Body) != `{"error":"half` {
				t.Fatalf("status %d Attempts %d body %q", e.StatusCode, e.Attempts, e.Body)
			}
		})
	}
}

// TestFaultBodiesReplayed: every attempt of a retried request carries the same bytes and
// the same headers.
func TestFaultBodiesReplayed(t *testing.T) {
	t.Parallel()
	for _, m := range faultMethods() {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, faultStatus(503, ""), faultStatus(429, ""), faultOK(m.ok))
			if err := m.call(context.Background(), testClient(t, srv.URL)); err != nil {
				t.Fatal(err)
			}
			reqs := srv.requests()
			if len(reqs) != 3 {
				t.Fatalf("%d requests", len(reqs))
			}
			for i, r := range reqs {
				if r.Method != m.name {
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
			switch m.name {
			case "POST":
				if want := `{"cmd":"echo","args":["<héllo & ✓>","\u2028"]}`; string(reqs[0].Body) != want {
					t.Fatalf("body = %s, want %s", reqs[0].Body, want)
				}
			case "PATCH":
				if want := `{"label":"ci <&>"}`; string(reqs[0].Body) != want {
					t.Fatalf("body = %s, want %s", reqs[0].Body, want)
				}
			default:
				if len(reqs[0].Body) != 0 {
					t.Fatalf("%s sent a body %q", m.name, reqs[0].Body)
				}
			}
		})
	}
}

// TestFaultConnectionReuse: discarded responses are drained and closed, so retries and
// later calls reuse the pooled connection instead of dialing again.
func TestFaultConnectionReuse(t *testing.T) {
	t.Parallel()
	big := `{"error":"` + strings.Repeat("b", 100<<10) + `"}` // more than Error.Body keeps
	var trailing strings.Builder
	trailing.WriteString(fixtureSession)
	trailing.WriteString(strings.Repeat(" ", 32<<10)) // unread by the JSON decoder
	cases := []struct {
		name   string
		script []http.HandlerFunc // per call: the server cycles through it
		ok     bool
	}{
		{"503_then_200", []http.HandlerFunc{faultStatus(503, ""), faultOK(fixtureSession)}, true},
		{"429_retry_after_0_then_200", []http.HandlerFunc{faultStatus(429, "0"), faultOK(fixtureSession)}, true},
		{"100_KiB_404", []http.HandlerFunc{jsonReply(404, big)}, false},
		{"200_with_trailing_bytes", []http.HandlerFunc{jsonReply(200, trailing.String())}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, faultCycle(tc.script...))
			c := testClient(t, srv.URL)
			const calls = 20
			for i := 0; i < calls; i++ {
				_, err := c.Sessions.Get(context.Background(), "sess_1")
				if (err == nil) != tc.ok {
					t.Fatalf("call %d: err = %v", i, err)
				}
			}
			want := calls
			if tc.ok {
				want = calls * len(tc.script)
			}
			if got := len(srv.requests()); got != want {
				t.Fatalf("%d requests, want %d", got, want)
			}
			if conns := srv.conns.Load(); conns > 2 {
				t.Fatalf("%d connections for %d sequential calls: responses are not drained and closed", conns, calls)
			}
		})
	}
}

// faultMemTransport serves requests in memory, for redirect cases whose hosts cannot exist on
// loopback (same host with another scheme, subdomains).
type faultMemTransport struct {
	mu     sync.Mutex
	seen   []*http.Request
	handle func(r *http.Request) *http.Response
}

func (m *faultMemTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	m.mu.Lock()
	m.seen = append(m.seen, r)
	m.mu.Unlock()
	resp := m.handle(r)
	resp.Request = r
	return resp, nil
}

func faultMemResponse(code int, header http.Header, body string) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

// TestFaultRedirectsKeepKeyHome: the key follows a redirect only to the same scheme,
// host and port. net/http alone would send it to a subdomain, to another port and over
// a downgrade to plain http.
func TestFaultRedirectsKeepKeyHome(t *testing.T) {
	t.Parallel()
	const key = "sk-redirect-key-0123456789"
	scan := func(t *testing.T, r recordedRequest) {
		t.Helper()
		for k, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, key) {
					t.Fatalf("the other host received the key in %s", k)
				}
			}
		}
		if bytes.Contains(r.Body, []byte(key)) {
			t.Fatal("the other host received the key in the body")
		}
	}

	t.Run("same_host_keeps_key", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/v1/sessions/sess_2", http.StatusFound)
		}, faultOK(fixtureSession))
		c := testClient(t, srv.URL, WithAPIKey(key))
		if _, err := c.Sessions.Get(context.Background(), "sess_1"); err != nil {
			t.Fatal(err)
		}
		reqs := srv.requests()
		if len(reqs) != 2 || reqs[1].Path != "/v1/sessions/sess_2" || reqs[1].Header.Get("Authorization") != "Bearer "+key {
			t.Fatalf("redirect on the same host lost the key: %d requests", len(reqs))
		}
	})

	for _, tc := range []struct {
		name     string
		code     int
		call     func(*Client) error
		hostname string // how the other server is addressed
	}{
		{"other_port_127", http.StatusFound, func(c *Client) error { _, err := c.Sessions.Get(context.Background(), "s"); return err }, "127.0.0.1"},
		{"other_host_localhost", http.StatusMovedPermanently, func(c *Client) error { _, err := c.Sessions.Get(context.Background(), "s"); return err }, "localhost"},
		{"POST_307_other_port", http.StatusTemporaryRedirect, func(c *Client) error {
			_, err := c.Sessions.Exec(context.Background(), "s", SessionExecParams{Cmd: "id"})
			return err
		}, "127.0.0.1"},
		{"POST_308_other_port", http.StatusPermanentRedirect, func(c *Client) error {
			_, err := c.Sessions.Exec(context.Background(), "s", SessionExecParams{Cmd: "id"})
			return err
		}, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			other := newRecorder(t, faultOK(`{"id":"s"}`))
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(other.URL, "http://"))
			target := "http://" + net.JoinHostPort(tc.hostname, port)
			srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target+r.URL.Path, tc.code)
			})
			c := testClient(t, srv.URL, WithAPIKey(key))
			if err := tc.call(c); err != nil {
				t.Fatal(err)
			}
			got := other.requests()
			if len(got) != 1 {
				t.Fatalf("the other server saw %d requests", len(got))
			}
			if _, ok := got[0].Header["Authorization"]; ok {
				t.Fatal("Authorization crossed to another host")
			}
			scan(t, got[0])
			if tc.code >= 307 && string(got[0].Body) != `{"cmd":"id"}` {
				t.Fatalf("the redirected POST lost its body: %q", got[0].Body)
			}
		})
	}

	// Hosts that cannot be told apart on loopback: an in-memory transport plays them.
	for _, tc := range []struct {
		name, from, to string
		keep           bool
	}{
		{"https_to_http_same_host", "https://api.example", "http://api.example/v1/whoami", false},
		{"subdomain", "https://api.example", "https://evil.api.example/v1/whoami", false},
		{"same_name_other_port", "https://api.example", "https://api.example:8443/v1/whoami", false},
		{"other_domain", "https://api.example", "https://api.example.evil/v1/whoami", false},
		{"same_origin_absolute", "https://api.example", "https://api.example/v2/whoami", true},
		{"http_to_https_same_host", "http://api.example", "https://api.example/v1/whoami", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mt := &faultMemTransport{handle: func(r *http.Request) *http.Response {
				if r.URL.String() == tc.to {
					return faultMemResponse(200, http.Header{"Content-Type": {"application/json"}}, `{"tenant":"t","role":"admin"}`)
				}
				return faultMemResponse(302, http.Header{"Location": {tc.to}}, "")
			}}
			c := testClient(t, tc.from, WithAPIKey(key), WithHTTPClient(&http.Client{Transport: mt}))
			if _, err := c.Settings.Whoami(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(mt.seen) != 2 {
				t.Fatalf("%d requests", len(mt.seen))
			}
			if got := mt.seen[1].Header.Get("Authorization"); (got == "Bearer "+key) != tc.keep || (!tc.keep && got != "") {
				t.Fatalf("Authorization after redirect to %s = %q, keep=%v", tc.to, got, tc.keep)
			}
		})
	}

	t.Run("redirect_loop_not_retried", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		})
		_, err := testClient(t, srv.URL).Sessions.Get(context.Background(), "sess_1")
		e := faultAsError(t, err)
		if n := len(srv.requests()); e.Attempts != 1 || n != 10 {
			t.Fatalf("Attempts %d, %d requests; want one attempt: the request and 9 redirects, the 10th refused", e.Attempts, n)
		}
	})
	t.Run("redirect_to_other_scheme_not_retried", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "ftp://127.0.0.1/x", http.StatusFound)
		})
		_, err := testClient(t, srv.URL).Sessions.Get(context.Background(), "sess_1")
		e := faultAsError(t, err)
		if n := len(srv.requests()); e.Attempts != 1 || n != 1 {
			t.Fatalf("Attempts %d, %d requests", e.Attempts, n)
		}
	})
}

// faultCountingConn counts the bytes the client read from the server.
type faultCountingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c faultCountingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestFaultHugeErrorBody: a 10 MiB error body is cut to 64 KiB in Body and 1 KiB in
// Message, and the client reads only a bounded prefix of it off the wire.
func TestFaultHugeErrorBody(t *testing.T) {
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
				return faultCountingConn{conn, &read}, nil
			}}
			t.Cleanup(tr.CloseIdleConnections)
			c := testClient(t, srv.URL, WithHTTPClient(&http.Client{Transport: tr}))
			start := time.Now()
			_, err := c.Sessions.Get(context.Background(), "sess_1")
			took := time.Since(start)
			e := faultAsError(t, err)
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

// TestFaultCancellation: a done context ends the call at once, in every phase, with an
// error matching the context's error and never ErrNetwork.
func TestFaultCancellation(t *testing.T) {
	t.Parallel()
	t.Run("already_cancelled", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, faultOK(fixtureSession))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := testClient(t, srv.URL).Sessions.Get(ctx, "sess_1")
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrNetwork) || srv.conns.Load() != 0 {
			t.Fatalf("err %v, %d connections", err, srv.conns.Load())
		}
	})
	t.Run("deadline_already_passed", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, faultOK(fixtureSession))
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
			mt := &faultMemTransport{handle: func(r *http.Request) *http.Response {
				resp := faultMemResponse(code, http.Header{"Content-Type": {"application/json"}}, "")
				resp.ContentLength = -1
				resp.Body = &faultStallBody{ctx: r.Context(), first: `{"error":"part`, reading: reading}
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

	// Cancelling during a long backoff returns within 100 ms (TestCancelDuringBackoff),
	// for every method that retries, with context.Canceled and the attempts made.
	for _, m := range faultMethods() {
		t.Run("backoff_"+m.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, faultStatus(503, "5"))
			retrying := make(chan struct{}, 1)
			c := testClient(t, srv.URL, WithLogger(slog.New(faultSignalHandler{slog.LevelWarn, retrying})))
			c.retryCap = 10 * time.Second
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- m.call(ctx, c) }()
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
			srv := newRecorder(t, faultStatus(503, ""))
			tr := &http.Transport{}
			t.Cleanup(tr.CloseIdleConnections)
			var mu sync.Mutex
			var starts []time.Time
			timed := faultRoundTrip(func(r *http.Request) (*http.Response, error) {
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
		srv := newRecorder(t, faultStatus(429, "2"))
		c := testClient(t, srv.URL)
		c.retryCap = 10 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Sessions.Exec(ctx, "sess_1", SessionExecParams{Cmd: "id"})
		e := faultAsError(t, err)
		if e.StatusCode != 429 || e.Attempts != 1 || time.Since(start) > 300*time.Millisecond {
			t.Fatalf("status %d Attempts %d after %v; want the 429 at once", e.StatusCode, e.Attempts, time.Since(start))
		}
	})
}

// faultStallBody returns first, then blocks until its context is done.
type faultStallBody struct {
	ctx     context.Context
	first   string
	reading chan struct{} // closed when the first read that blocks starts
	sent    bool
	blocked bool
}

func (b *faultStallBody) Read(p []byte) (int, error) {
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

func (b *faultStallBody) Close() error { return nil }

// faultSignalHandler is a slog.Handler that sends on ch (without blocking) for every record
// at level or above: a synchronisation point inside the request helper.
type faultSignalHandler struct {
	level slog.Level
	ch    chan struct{}
}

func (h faultSignalHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h faultSignalHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h faultSignalHandler) WithGroup(string) slog.Handler                { return h }
func (h faultSignalHandler) Handle(context.Context, slog.Record) error {
	select {
	case h.ch <- struct{}{}:
	default:
	}
	return nil
}

// faultLateContext is a context whose deadline has passed but whose timer has not fired
// yet: Done is still open. A real context is in that state for a moment after every
// deadline.
type faultLateContext struct{ context.Context }

func (faultLateContext) Deadline() (time.Time, bool) { return time.Now().Add(-time.Microsecond), true }

// TestFaultSleepHonoursPassedDeadline: a backoff wait that ends at or after the
// deadline reports it, even before the context notices, so no attempt starts late.
func TestFaultSleepHonoursPassedDeadline(t *testing.T) {
	t.Parallel()
	if err := sleep(faultLateContext{context.Background()}, time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("sleep past the deadline = %v, want context.DeadlineExceeded", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if err := sleep(ctx, time.Millisecond); err != nil {
		t.Fatalf("sleep within the deadline = %v", err)
	}
}

// TestFaultExhaustion: after the last attempt the error is the last failure itself, with
// its status, message, body and the attempt count; never an opaque "gave up".
func TestFaultExhaustion(t *testing.T) {
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
		{"drop_drop_503", []http.HandlerFunc{faultDrop, faultDrop, faultClosing(faultStatus(503, ""))}, 503, "e503"},
		{"503_503_drop", []http.HandlerFunc{faultClosing(faultStatus(503, "")), faultClosing(faultStatus(502, "")), faultDrop}, 0, ""},
		{"503_then_404", []http.HandlerFunc{faultClosing(faultStatus(503, "")), faultClosing(faultStatus(404, ""))}, 404, "e404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, tc.script...)
			_, err := testClient(t, srv.URL).Sessions.Get(context.Background(), "sess_1")
			e := faultAsError(t, err)
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
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		_, err := testClient(t, faultRefusedURL(t)).Sessions.Exec(context.Background(), "sess_1", SessionExecParams{Cmd: "id"})
		e := faultAsError(t, err)
		var op *net.OpError
		if e.Code != CodeNetwork || e.Attempts != 3 || !errors.As(err, &op) || !errors.Is(err, ErrNetwork) {
			t.Fatalf("err = %#v", err)
		}
	})
}

// TestFaultTLS: certificate and handshake failures are not transient: one attempt, and
// the cause stays reachable.
func TestFaultTLS(t *testing.T) {
	t.Parallel()
	for _, m := range faultMethods() {
		t.Run("untrusted_"+m.name, func(t *testing.T) {
			t.Parallel()
			srv := startRecorder(t, true, faultOK(m.ok))
			e := faultAsError(t, m.call(context.Background(), testClient(t, srv.URL)))
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
		srv := startRecorder(t, true, faultOK(fixtureSession))
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "https://"))
		// The test certificate names example.com, 127.0.0.1 and ::1, not localhost.
		c := testClient(t, "https://localhost:"+port, WithHTTPClient(srv.Client()))
		_, err := c.Sessions.Get(context.Background(), "sess_1")
		e := faultAsError(t, err)
		var host x509.HostnameError
		if e.Attempts != 1 || !errors.As(e, &host) {
			t.Fatalf("Attempts %d err %v", e.Attempts, e)
		}
	})
	t.Run("https_client_plain_server", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, faultOK(fixtureSession))
		c := testClient(t, strings.Replace(srv.URL, "http://", "https://", 1))
		_, err := c.Sessions.Get(context.Background(), "sess_1")
		e := faultAsError(t, err)
		if e.Attempts != 1 || !errors.Is(e, http.ErrSchemeMismatch) {
			t.Fatalf("Attempts %d err %v", e.Attempts, e)
		}
	})
	t.Run("trusted_works", func(t *testing.T) {
		t.Parallel()
		srv := startRecorder(t, true, faultOK(fixtureSession))
		c := testClient(t, srv.URL, WithHTTPClient(srv.Client()))
		if _, err := c.Sessions.Get(context.Background(), "sess_1"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFaultHeaderValuesNotShared: a transport or redirect policy that appends to a
// request header must not write into the Client's WithHeader values, which every
// concurrent request shares (run under -race).
func TestFaultHeaderValuesNotShared(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, faultOK(fixtureSession))
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	appender := faultRoundTrip(func(r *http.Request) (*http.Response, error) {
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

type faultRoundTrip func(*http.Request) (*http.Response, error)

func (f faultRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestFaultErrorIsOneLine: a proxy's multi-line HTML page cannot inject lines into the
// caller's logs through Error(); Message keeps the text as sent.
func TestFaultErrorIsOneLine(t *testing.T) {
	t.Parallel()
	page := "<html>\r\n<body>\n\tBad gateway\x1b[31m\n</body>\n</html>\n"
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(400)
		_, _ = io.WriteString(w, page)
	})
	_, err := testClient(t, srv.URL).Sessions.Get(context.Background(), "sess_1")
	e := faultAsError(t, err)
	if e.Message != strings.TrimSpace(page) {
		t.Fatalf("Message = %q", e.Message)
	}
	if strings.ContainsAny(e.Error(), "\r\n\t\x1b") {
		t.Fatalf("Error() = %q spans lines or carries control characters", e.Error())
	}
	if want := "agentjail 400: <html> <body> Bad gateway [31m </body> </html>"; e.Error() != want {
		t.Fatalf("Error() = %q, want %q", e.Error(), want)
	}
}

// TestFaultSecrets makes a client with a distinctive key fail in every way and scans
// every text it produces, error texts in every formatting verb and the debug log in
// both slog formats, for the key and for a credential secret.
func TestFaultSecrets(t *testing.T) {
	t.Parallel()
	const key = "sk-live-Fault7Key-0123456789abcdef"
	const secret = "upstream-Secret-Value-42-xyz"
	forbidden := []string{key, secret, fmt.Sprintf("%x", key), fmt.Sprintf("%X", key), fmt.Sprintf("%x", secret)}
	check := func(t *testing.T, what, text string) {
		t.Helper()
		for _, f := range forbidden {
			if strings.Contains(text, f) {
				t.Errorf("%s leaks a secret: %.200q", what, text)
			}
		}
		// A key cut in two by a length limit must not survive as a long prefix either.
		if strings.Contains(text, key[:16]) || strings.Contains(text, secret[:16]) {
			t.Errorf("%s leaks the start of a secret: %.200q", what, text)
		}
	}
	escapedKey := `\u00` + fmt.Sprintf("%02x", key[0]) + key[1:] // the key, JSON-escaped
	echo := func(code int, contentType string, body func(r *http.Request, reqBody []byte) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body(r, b))
		}
	}
	auth := func(r *http.Request) string { return r.Header.Get("Authorization") }
	scenarios := []struct {
		name   string
		script []http.HandlerFunc
		url    func(t *testing.T, srv *recorder) string // nil: the server's URL
		cancel bool                                     // cancel during the retry wait
	}{
		{name: "401_json_echo", script: []http.HandlerFunc{echo(401, "application/json", func(r *http.Request, _ []byte) string {
			return `{"error":"invalid api key: ` + auth(r) + `"}`
		})}},
		{name: "401_text_echo", script: []http.HandlerFunc{echo(401, "text/plain", func(r *http.Request, _ []byte) string {
			return "invalid api key " + auth(r) + "\n"
		})}},
		{name: "401_json_escaped_echo", script: []http.HandlerFunc{echo(401, "application/json", func(*http.Request, []byte) string {
			return `{"error":"key ` + escapedKey + ` rejected"}`
		})}},
		{name: "400_key_across_64KiB", script: []http.HandlerFunc{echo(400, "text/plain", func(r *http.Request, _ []byte) string {
			return strings.Repeat("x", maxErrorBody-len("Bearer ")-20) + auth(r) + strings.Repeat("y", 100)
		})}},
		{name: "401_key_across_1KiB_message", script: []http.HandlerFunc{echo(401, "application/json", func(r *http.Request, _ []byte) string {
			return `{"error":"` + strings.Repeat("m", maxErrorMessage-len("Bearer ")-20) + auth(r) + `"}`
		})}},
		{name: "422_echoes_request_body", script: []http.HandlerFunc{echo(422, "text/plain", func(_ *http.Request, b []byte) string {
			return "Failed to deserialize the JSON body: " + string(b)
		})}},
		{name: "400_json_echoes_request_body", script: []http.HandlerFunc{echo(400, "application/json", func(_ *http.Request, b []byte) string {
			quoted, _ := json.Marshal("bad body " + string(b))
			return `{"error":` + string(quoted) + `}`
		})}},
		{name: "500", script: []http.HandlerFunc{faultStatus(500, "")}},
		{name: "503_exhausted", script: []http.HandlerFunc{faultStatus(503, "")}},
		{name: "2xx_echo_in_time_field", script: []http.HandlerFunc{echo(200, "application/json", func(r *http.Request, _ []byte) string {
			return `{"tenant_id":"t","added_at":"` + auth(r) + `"}`
		})}},
		{name: "2xx_echo_secret_in_number_field", script: []http.HandlerFunc{echo(200, "application/json", func(_ *http.Request, b []byte) string {
			return `{"tenant_id":"t","fingerprint":` + string(b) + `}`
		})}},
		{name: "dropped", script: []http.HandlerFunc{faultDrop}},
		{name: "body_cut", script: []http.HandlerFunc{faultCut(200, 4096, `{"tenant_id":"`)}},
		{name: "refused", script: []http.HandlerFunc{faultDrop}, url: func(t *testing.T, _ *recorder) string { return faultRefusedURL(t) }},
		{name: "tls_untrusted", script: nil},
		{name: "cancel_in_backoff", script: []http.HandlerFunc{faultStatus(503, "5")}, cancel: true},
		{name: "redirect_to_other_host", script: nil},
	}
	for _, format := range []string{"text", "json"} {
		for _, sc := range scenarios {
			t.Run(format+"_"+sc.name, func(t *testing.T) {
				t.Parallel()
				var srv *recorder
				switch sc.name {
				case "tls_untrusted":
					srv = startRecorder(t, true, faultOK(fixtureCredential))
				case "redirect_to_other_host":
					other := newRecorder(t, echo(401, "text/plain", func(r *http.Request, _ []byte) string { return "got " + auth(r) }))
					srv = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
						http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
					})
					t.Cleanup(func() {
						for _, r := range other.requests() {
							for k, vs := range r.Header {
								check(t, "header "+k+" at the other host", strings.Join(vs, ","))
							}
						}
					})
				default:
					srv = newRecorder(t, sc.script...)
				}
				base := srv.URL
				if sc.url != nil {
					base = sc.url(t, srv)
				}
				var logs bytes.Buffer
				opts := &slog.HandlerOptions{Level: slog.LevelDebug}
				var h slog.Handler = slog.NewTextHandler(&logs, opts)
				if format == "json" {
					h = slog.NewJSONHandler(&logs, opts)
				}
				retrying := make(chan struct{}, 1)
				if sc.cancel {
					h = faultFanout{h, faultSignalHandler{slog.LevelWarn, retrying}}
				}
				c := testClient(t, base, WithAPIKey(key), WithLogger(slog.New(h)))
				if sc.cancel {
					c.retryCap = 10 * time.Second
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				params := CredentialPutParams{Service: ServiceOpenAI, Secret: secret}
				done := make(chan error, 1)
				go func() {
					_, err := c.Credentials.Put(ctx, params)
					done <- err
				}()
				if sc.cancel {
					<-retrying
					cancel()
				}
				err := <-done
				if err == nil {
					t.Fatal("want an error")
				}
				texts := map[string]string{"Error()": err.Error(), "log": logs.String()}
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
					texts["error "+verb] = fmt.Sprintf(verb, err)
				}
				var e *Error
				if errors.As(err, &e) {
					texts["Message"] = e.Message
					texts["Body"] = string(e.Body)
					texts["GoString"] = e.GoString()
					texts["*Error value %+v"] = fmt.Sprintf("%+v", *e)
					texts["*Error value %#v"] = fmt.Sprintf("%#v", *e)
				}
				for what, text := range texts {
					check(t, what, text)
				}
				if !strings.Contains(logs.String(), "/v1/credentials") {
					t.Fatalf("no log records:\n%s", logs.String())
				}
			})
		}
	}

	// The client, its services and every params and result type, alone and nested, in
	// every verb.
	c, err := NewClient("http://127.0.0.1:1", WithAPIKey(key), WithHeader("X-Trace", "t"))
	if err != nil {
		t.Fatal(err)
	}
	params := CredentialPutParams{Service: ServiceOpenAI, Secret: secret}
	values := []any{
		c, *c, c.Credentials, *c.Credentials, c.Credentials.ForTenant("acme"), c.Sessions, c.Runs, c.Workspaces,
		c.Snapshots, c.Audit, c.Jails, c.Public, c.Settings,
		params, &params, []CredentialPutParams{params}, map[string]CredentialPutParams{"p": params},
		struct{ P CredentialPutParams }{params}, struct{ P *CredentialPutParams }{&params},
		struct{ C *Client }{c}, []*Client{c},
		RunParams{Code: "x"}, ForkParams{}, SessionCreateParams{}, SessionExecParams{}, WorkspaceCreateParams{},
		WorkspaceListParams{}, WorkspaceUpdateParams{}, WorkspaceExecParams{Env: map[string]string{"K": "V"}},
		WorkspaceForkParams{}, SnapshotCreateParams{}, SnapshotListParams{}, CreateWorkspaceFromParams{}, JailListParams{},
		Credential{}, Session{}, ExecResult{}, ForkResult{}, Workspace{}, WorkspaceList{}, WorkspaceForkResult{},
		Snapshot{}, SnapshotList{}, SnapshotManifest{}, AuditList{}, Jail{}, JailList{}, PublicStats{},
		ServerSettings{}, Identity{}, Flavor{},
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for _, v := range values {
			check(t, fmt.Sprintf("%s of %T", verb, v), fmt.Sprintf(verb, v))
		}
	}
	var logs bytes.Buffer
	text := slog.New(slog.NewTextHandler(&logs, nil))
	text.Info("values", "client", c, "params", params, "credentials", c.Credentials)
	check(t, "slog text of the client and params", logs.String())
	logs.Reset()
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("values", "client", c, "credentials", c.Credentials)
	check(t, "slog JSON of the client", logs.String())
}

// faultFanout sends every record to each handler.
type faultFanout []slog.Handler

func (f faultFanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f faultFanout) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f faultFanout) WithAttrs(as []slog.Attr) slog.Handler { return f }
func (f faultFanout) WithGroup(string) slog.Handler         { return f }
