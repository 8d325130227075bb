package agentjail

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"
)

// recordedRequest is what the recording server saw of one request.
type recordedRequest struct {
	Method   string
	Path     string // escaped, as sent
	RawQuery string
	Header   http.Header
	Body     []byte
}

// recorder is an httptest server that records every request and answers with reply.
type recorder struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []recordedRequest
	reply http.HandlerFunc
}

// newRecorder starts a recording server; reply may be nil (200 with "{}").
func newRecorder(t *testing.T, reply http.HandlerFunc) *recorder {
	t.Helper()
	rec := &recorder{reply: reply}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recordedRequest{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
		rec.mu.Unlock()
		if rec.reply == nil {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "{}")
			return
		}
		rec.reply(w, r)
	}))
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
