package agentjail

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The recording server and the ways it can answer: every reply a control plane, a proxy
// or a broken network can give, as an http.HandlerFunc to script it with.

// recordedRequest is what the recording server saw of one request.
type recordedRequest struct {
	At       time.Time
	Method   string
	Path     string // escaped, as sent
	RawQuery string
	Header   http.Header
	Body     []byte
}

// recorder is an httptest server that records every request, after reading it whole, and
// answers the n-th (from 0) with script[n], repeating the last entry; a nil or missing
// entry answers 200 with "{}". It counts the connections it accepted.
type recorder struct {
	*httptest.Server
	conns atomic.Int32 // connections accepted (http.StateNew)
	mu    sync.Mutex
	reqs  []recordedRequest
}

// newRecorder starts a recording server over plain HTTP.
func newRecorder(t testing.TB, script ...http.HandlerFunc) *recorder {
	t.Helper()
	return startRecorder(t, false, script...)
}

// startRecorder starts a recording server, over TLS when useTLS is set.
func startRecorder(t testing.TB, useTLS bool, script ...http.HandlerFunc) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		n := len(rec.reqs)
		rec.reqs = append(rec.reqs, recordedRequest{time.Now(), r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body)) // the script may read it again
		var reply http.HandlerFunc
		if len(script) > 0 {
			reply = script[min(n, len(script)-1)]
		}
		if reply == nil {
			reply = jsonReply(http.StatusOK, "{}")
		}
		reply(w, r)
	}))
	rec.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rec.conns.Add(1)
		}
	}
	rec.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshake failures are expected
	// A handler stuck writing to a body the client abandoned gives up, so that a leak
	// is reported by the test instead of hanging srv.Close.
	rec.Config.WriteTimeout = 5 * time.Second
	if useTLS {
		rec.StartTLS()
	} else {
		rec.Start()
	}
	t.Cleanup(rec.Close)
	return rec
}

// requests returns a copy of what was recorded so far.
func (r *recorder) requests() []recordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedRequest(nil), r.reqs...)
}

// count returns how many recorded requests have key, "METHOD /escaped/path".
func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, req := range r.reqs {
		if req.Method+" "+req.Path == key {
			n++
		}
	}
	return n
}

// last returns the only recorded request, failing unless exactly one was made.
func (r *recorder) last(t *testing.T) recordedRequest {
	t.Helper()
	reqs := r.requests()
	if len(reqs) != 1 {
		t.Fatalf("want exactly 1 request, got %d", len(reqs))
	}
	return reqs[0]
}

// jsonReply answers status with body as application/json.
func jsonReply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// textReply answers status with body as text/plain.
func textReply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// okReply answers 200 with body, or 204 without one when body is "".
func okReply(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if body == "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		jsonReply(http.StatusOK, body)(w, r)
	}
}

// statusReply answers code with the JSON error body {"error":"e<code>"} and, if set, a
// Retry-After header.
func statusReply(code int, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		jsonReply(code, `{"error":"e`+strconv.Itoa(code)+`"}`)(w, r)
	}
}

// closingReply wraps h so that the server closes the connection after the response: the
// next attempt then dials afresh, which keeps net/http's own transparent retry of a
// GET on a reused connection out of the attempt counts.
func closingReply(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		h(w, r)
	}
}

// cycleReply answers the n-th request with handlers[n % len(handlers)].
func cycleReply(handlers ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	next := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handlers[next%len(handlers)]
		next++
		mu.Unlock()
		h(w, r)
	}
}

// rawReply answers with raw, whatever it is, in place of an HTTP response, and closes the
// connection.
func rawReply(raw string) http.HandlerFunc {
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

// dropReply closes the connection after reading the request, before any response byte.
var dropReply = rawReply("")

// garbageReply answers with bytes that are not an HTTP response, then closes.
var garbageReply = rawReply("SSH-2.0-OpenSSH_9.6\r\n\x00\x01garbage\r\n\r\n")

// resetReply aborts the connection with a TCP RST after reading the request.
func resetReply(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	conn.Close()
}

// cutReply writes a response that announces declared bytes of body, sends only partial,
// and closes the connection.
func cutReply(code, declared int, partial string) http.HandlerFunc {
	return rawReply(fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		code, http.StatusText(code), declared, partial))
}

// cutChunkedReply is cutReply for a chunked body: the terminating chunk never comes.
func cutChunkedReply(partial string) http.HandlerFunc {
	return rawReply(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n",
		len(partial), partial))
}

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

// refusedAddr is a loopback address where nothing listens. It names port 1: the kernel
// never hands out a port below 1024 for a ":0" listener, so no server started by a
// parallel test can take it, as it could a port just freed.
const refusedAddr = "127.0.0.1:1"

// refusedURL is the base URL of refusedAddr.
const refusedURL = "http://" + refusedAddr

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// memTransport serves requests in memory, for hosts that cannot exist on loopback (the
// same host with another scheme, subdomains) and for bodies that stall on demand.
type memTransport struct {
	mu     sync.Mutex
	seen   []*http.Request
	handle func(r *http.Request) *http.Response
}

// RoundTrip records r and answers it with handle.
func (m *memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
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

// memResponse builds an in-memory response with a known length.
func memResponse(code int, header http.Header, body string) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

// cannedTransport answers every request with one response, in memory.
type cannedTransport struct {
	status int
	header http.Header
	body   []byte
}

// RoundTrip drains the request and returns the canned response.
func (ct cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: ct.status, Status: http.StatusText(ct.status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: ct.header.Clone(), Body: io.NopCloser(bytes.NewReader(ct.body)),
		ContentLength: -1, Request: r,
	}, nil
}

// signalHandler is a slog.Handler that sends on ch (without blocking) for every record
// at level or above: a synchronisation point inside the request helper, whose retry
// warning is logged just before it starts to wait.
type signalHandler struct {
	level slog.Level
	ch    chan struct{}
}

func (h signalHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h signalHandler) WithGroup(string) slog.Handler                { return h }
func (h signalHandler) Handle(context.Context, slog.Record) error {
	select {
	case h.ch <- struct{}{}:
	default:
	}
	return nil
}

// retrySignal returns a logger that signals on the returned channel whenever the client
// is about to wait before retrying.
func retrySignal() (*slog.Logger, chan struct{}) {
	ch := make(chan struct{}, 1)
	return slog.New(signalHandler{slog.LevelWarn, ch}), ch
}
