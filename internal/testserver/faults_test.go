//go:build unix

package testserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func mustInject(t *testing.T, s *Server, faults ...Fault) {
	t.Helper()
	for _, f := range faults {
		if err := s.InjectFault(f); err != nil {
			t.Fatal(err)
		}
	}
}

// lastRequest returns the newest entry of the request log.
func lastRequest(t *testing.T, s *Server) Request {
	t.Helper()
	log := s.Requests()
	if len(log) == 0 {
		t.Fatal("the request log is empty")
	}
	return log[len(log)-1]
}

func TestFaultAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      Fault
		status     int
		body       string
		ctype      string
		retryAfter string
	}{
		{name: "503 in the error envelope", fault: Fault{Status: 503}, status: 503, body: `{"error":"service unavailable"}`, ctype: "application/json"},
		{name: "zero status is 500", fault: Fault{}, status: 500, body: `{"error":"internal server error"}`, ctype: "application/json"},
		{name: "429 with Retry-After rounded up", fault: Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, status: 429, body: `{"error":"too many requests"}`, ctype: "application/json", retryAfter: "2"},
		{name: "whole seconds stay", fault: Fault{Status: 429, RetryAfter: 3 * time.Second}, status: 429, body: `{"error":"too many requests"}`, ctype: "application/json", retryAfter: "3"},
		{name: "JSON body", fault: Fault{Status: 400, Body: `{"error":"bad request: nope"}`}, status: 400, body: `{"error":"bad request: nope"}`, ctype: "application/json"},
		{name: "plain body", fault: Fault{Status: 502, Body: "upstream sad"}, status: 502, body: "upstream sad", ctype: "text/plain; charset=utf-8"},
		{name: "a 200 with a broken body", fault: Fault{Status: 200, Body: "{"}, status: 200, body: "{", ctype: "text/plain; charset=utf-8"},
		// Larger than the connection's buffer, so it leaves before the fault handler returns.
		{name: "large body", fault: Fault{Status: 502, Body: strings.Repeat("x", 100<<10)}, status: 502, body: strings.Repeat("x", 100<<10), ctype: "text/plain; charset=utf-8"},
		{name: "unknown status", fault: Fault{Status: 599}, status: 599, body: `{"error":"status 599"}`, ctype: "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Start(t)
			tt.fault.Path = "/v1/whoami"
			mustInject(t, s, tt.fault)
			r := wireDo(t, "GET", s.URL()+"/v1/whoami", "")
			if r.status != tt.status || r.body != tt.body || r.header.Get("Content-Type") != tt.ctype || r.header.Get("Retry-After") != tt.retryAfter {
				t.Fatalf("got %d %q (%s, Retry-After %q), want %d %q (%s, Retry-After %q)",
					r.status, r.body, r.header.Get("Content-Type"), r.header.Get("Retry-After"), tt.status, tt.body, tt.ctype, tt.retryAfter)
			}
			if got := lastRequest(t, s); got.Status != tt.status {
				t.Fatalf("logged %+v, want status %d", got, tt.status)
			}
			// Used up: the next request is handled.
			wireDo(t, "GET", s.URL()+"/v1/whoami", "").wantJSON(t, 200, nil)
		})
	}
}

func TestFaultRejectsInvalidStatus(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, status := range []int{-1, 99, 100, 199, 600} {
		if err := s.InjectFault(Fault{Status: status}); err == nil {
			t.Errorf("status %d accepted", status)
		}
	}
	wireDo(t, "GET", s.URL()+"/v1/whoami", "").wantJSON(t, 200, nil)
}

func TestFaultMatching(t *testing.T) {
	t.Parallel()
	type req struct{ method, path string }
	tests := []struct {
		name   string
		faults []Fault
		reqs   []req
		want   []int // status of each request in turn
	}{
		{name: "exact path", faults: []Fault{{Path: "/v1/whoami", Status: 503}},
			reqs: []req{{"GET", "/v1/config"}, {"GET", "/v1/whoami"}, {"GET", "/v1/whoami"}}, want: []int{200, 503, 200}},
		{name: "exact path is not a prefix", faults: []Fault{{Path: "/v1/session", Status: 503}},
			reqs: []req{{"GET", "/v1/sessions"}}, want: []int{200}},
		{name: "method", faults: []Fault{{Method: "POST", Path: "/v1/sessions", Status: 503}},
			reqs: []req{{"GET", "/v1/sessions"}, {"POST", "/v1/sessions"}}, want: []int{200, 503}},
		{name: "method case does not matter", faults: []Fault{{Method: "get", Path: "/v1/sessions", Status: 503}},
			reqs: []req{{"GET", "/v1/sessions"}}, want: []int{503}},
		{name: "prefix", faults: []Fault{{Path: "/v1/sessions/*", Status: 503, Times: -1}},
			reqs: []req{{"GET", "/v1/sessions"}, {"GET", "/v1/sessions/sess_x"}, {"DELETE", "/v1/sessions/sess_y"}}, want: []int{200, 503, 503}},
		{name: "empty path and method match everything", faults: []Fault{{Status: 503, Times: 2}},
			reqs: []req{{"GET", "/healthz"}, {"PUT", "/nope"}, {"GET", "/healthz"}}, want: []int{503, 503, 200}},
		{name: "times counts down", faults: []Fault{{Path: "/healthz", Status: 503, Times: 3}},
			reqs: []req{{"GET", "/healthz"}, {"GET", "/healthz"}, {"GET", "/healthz"}, {"GET", "/healthz"}}, want: []int{503, 503, 503, 200}},
		{name: "forever", faults: []Fault{{Path: "/healthz", Status: 500, Times: -1}},
			reqs: []req{{"GET", "/healthz"}, {"GET", "/healthz"}, {"GET", "/healthz"}}, want: []int{500, 500, 500}},
		{name: "first match wins, then the next rule", faults: []Fault{{Path: "/healthz", Status: 429}, {Path: "/*", Status: 503}},
			reqs: []req{{"GET", "/healthz"}, {"GET", "/healthz"}, {"GET", "/healthz"}}, want: []int{429, 503, 200}},
		{name: "escaped path", faults: []Fault{{Path: "/v1/sessions/a%2Fb", Status: 503}},
			reqs: []req{{"GET", "/v1/sessions/a/b"}, {"GET", "/v1/sessions/a%2Fb"}}, want: []int{404, 503}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Start(t)
			mustInject(t, s, tt.faults...)
			for i, rq := range tt.reqs {
				if got := wireDo(t, rq.method, s.URL()+rq.path, "").status; got != tt.want[i] {
					t.Fatalf("request %d (%s %s): status %d, want %d", i+1, rq.method, rq.path, got, tt.want[i])
				}
			}
		})
	}
}

func TestClearFaults(t *testing.T) {
	t.Parallel()
	s := Start(t)
	mustInject(t, s, Fault{Path: "/healthz", Status: 503, Times: -1}, Fault{Status: 500})
	wireDo(t, "GET", s.URL()+"/healthz", "").wantError(t, 503, "service unavailable")
	s.ClearFaults()
	wireDo(t, "GET", s.URL()+"/healthz", "").wantPlain(t, 200, "ok")
	wireDo(t, "GET", s.URL()+"/v1/whoami", "").wantJSON(t, 200, nil)
}

// TestFaultHasNoSideEffect sends faulted requests that would otherwise run code, create
// a session and store a credential, and checks the server did none of it.
func TestFaultHasNoSideEffect(t *testing.T) {
	t.Parallel()
	s := Start(t)
	mustInject(t, s, Fault{Method: "POST", Path: "/v1/*", Status: 503, Times: -1})
	marker := t.TempDir() + "/ran"
	for _, c := range []struct{ path, body string }{
		{"/v1/runs", fmt.Sprintf(`{"language":"bash","code":"touch %s"}`, marker)},
		{"/v1/sessions", `{"services":["openai"]}`},
		{"/v1/credentials", `{"service":"openai","secret":"sk-x"}`},
		{"/v1/workspaces", `{}`},
	} {
		wireDo(t, "POST", s.URL()+c.path, c.body).wantError(t, 503, "service unavailable")
	}
	s.ClearFaults()
	if stats := statsOf(t, s); stats != (statsView{}) {
		t.Errorf("stats changed: %+v", stats)
	}
	for _, path := range []string{"/v1/jails", "/v1/workspaces"} {
		var page struct{ Total int }
		wireDo(t, "GET", s.URL()+path, "").wantJSON(t, 200, &page)
		if page.Total != 0 {
			t.Errorf("%s: %d rows", path, page.Total)
		}
	}
	var sessions []any
	wireDo(t, "GET", s.URL()+"/v1/sessions", "").wantJSON(t, 200, &sessions)
	if len(sessions) != 0 {
		t.Errorf("%d sessions", len(sessions))
	}
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the run's code ran: %v", err)
	}
}

// TestFaultComesAfterTheHostGuard checks that faults apply after the Host guard but
// before authentication.
func TestFaultComesAfterTheHostGuard(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t)
	mustInject(t, s, Fault{Path: "/v1/whoami", Status: 503})
	wireDo(t, "GET", s.URL()+"/v1/whoami", "", wireHost("evil.example")).wantPlain(t, 403, hostRejected)
	wireDo(t, "GET", s.URL()+"/v1/whoami", "").wantError(t, 503, "service unavailable")
	wireDo(t, "GET", s.URL()+"/v1/whoami", "").wantPlain(t, 401, "missing api key")
}

// rawRequest writes a raw HTTP/1.1 request on a new connection and returns everything
// the server sent before closing it.
func rawRequest(t *testing.T, s *Server, head string, body []byte) ([]byte, error) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		return nil, err
	}
	if _, err := conn.Write(body); err != nil {
		return nil, err
	}
	return io.ReadAll(conn)
}

func TestFaultDrop(t *testing.T) {
	t.Parallel()
	s := Start(t)
	mustInject(t, s, Fault{Method: "POST", Path: "/v1/runs", Drop: true})
	// Larger than the body limit and the connection's buffers: the server must read all
	// of it before closing, or the writes here would fail with a reset.
	body := []byte(`{"language":"bash","code":"echo hi","pad":"` + strings.Repeat("x", 3<<20) + `"}`)
	head := fmt.Sprintf("POST /v1/runs?x=1 HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		strings.TrimPrefix(s.URL(), "http://"), len(body))
	got, err := rawRequest(t, s, head, body)
	if err != nil {
		t.Fatalf("sending the request: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("the server answered %q", got)
	}
	if want := (Request{Method: "POST", Path: "/v1/runs", Query: "x=1"}); lastRequest(t, s) != want {
		t.Fatalf("logged %+v, want %+v", lastRequest(t, s), want)
	}
	if stats := statsOf(t, s); stats.TotalExecs != 0 {
		t.Fatalf("a dropped run executed: %+v", stats)
	}
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t)
	mustInject(t, s, Fault{Path: "/v1/config", Status: 503})
	calls := []struct {
		method, path string
		opts         []wireOpt
	}{
		{"GET", "/healthz", nil},
		{"GET", "/v1/whoami", nil},
		{"GET", "/v1/whoami", []wireOpt{wireKey(adminKey)}},
		{"GET", "/v1/jails?limit=2&status=ok", []wireOpt{wireKey(adminKey)}},
		{"GET", "/v1/sessions/sess%20x", []wireOpt{wireKey(adminKey)}},
		{"PUT", "/v1/sessions", []wireOpt{wireKey(adminKey)}},
		{"GET", "/v1/config", nil},
		{"GET", "/healthz", []wireOpt{wireHost("evil.example")}},
	}
	for _, c := range calls {
		wireDo(t, c.method, s.URL()+c.path, "", c.opts...)
	}
	// The proxy is not the control plane.
	if resp, err := http.Get(s.ProxyURL() + "/healthz"); err == nil {
		resp.Body.Close()
	}
	want := []Request{
		{Method: "GET", Path: "/healthz", Status: 200},
		{Method: "GET", Path: "/v1/whoami", Status: 401},
		{Method: "GET", Path: "/v1/whoami", Status: 200},
		{Method: "GET", Path: "/v1/jails", Query: "limit=2&status=ok", Status: 200},
		{Method: "GET", Path: "/v1/sessions/sess%20x", Status: 404},
		{Method: "PUT", Path: "/v1/sessions", Status: 405},
		{Method: "GET", Path: "/v1/config", Status: 503},
		{Method: "GET", Path: "/healthz", Status: 403},
	}
	got := s.Requests()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("request log:\n got %+v\nwant %+v", got, want)
	}
	got[0].Path = "/changed"
	if s.Requests()[0].Path != "/healthz" {
		t.Fatal("Requests returned the log itself, not a copy")
	}
}

func TestRequestLogIsBounded(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.tap.mu.Lock()
	s.tap.limit = 5
	s.tap.mu.Unlock()
	for i := range 12 {
		wireDo(t, "GET", fmt.Sprintf("%s/healthz?n=%d", s.URL(), i), "")
		log := s.Requests()
		if want := min(i+1, 5); len(log) != want {
			t.Fatalf("after %d requests the log has %d entries, want %d", i+1, len(log), want)
		}
		for j, r := range log {
			if want := fmt.Sprintf("n=%d", i+1-len(log)+j); r.Query != want || r.Status != 200 {
				t.Fatalf("after %d requests entry %d is %+v, want query %s and status 200", i+1, j, r, want)
			}
		}
	}
}

// TestRequestLogHasTheStatusBeforeTheAnswer checks that a client holding its answer
// finds the status in the log: here a stream whose process is still running.
func TestRequestLogHasTheStatusBeforeTheAnswer(t *testing.T) {
	t.Parallel()
	s := Start(t)
	openStream(t, context.Background(), s, `{"language":"bash","code":"sleep 60"}`)
	if got := lastRequest(t, s); got != (Request{Method: "POST", Path: "/v1/runs/stream", Status: 200}) {
		t.Fatalf("logged %+v while the stream runs", got)
	}
	// An answer larger than the connection's write buffer leaves before the handler returns.
	big := strings.Repeat("x", 64<<10)
	r := wireDo(t, "POST", s.URL()+"/v1/runs", fmt.Sprintf(`{"language":"bash","code":"echo %s"}`, big))
	if r.status != 201 || lastRequest(t, s).Status != 201 {
		t.Fatalf("got %d, logged %+v", r.status, lastRequest(t, s))
	}
}
