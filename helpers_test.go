package agentjail

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

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

// last returns the only recorded request, failing unless exactly one was made.
func (r *recorder) last(t *testing.T) recordedRequest {
	t.Helper()
	reqs := r.requests()
	if len(reqs) != 1 {
		t.Fatalf("want exactly 1 request, got %d", len(reqs))
	}
	return reqs[0]
}

// testClient returns a client for srv with fast retries and no environment influence.
func testClient(t *testing.T, url string, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(url, append([]Option{WithAPIKey("k")}, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	c.retryBase = time.Millisecond
	c.retryCap = 5 * time.Millisecond
	return c
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

// assertJSON compares two JSON documents semantically.
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("request body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("body = %s\nwant   %s", bytes.TrimSpace(got), want)
	}
}
