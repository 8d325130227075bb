package testserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Helpers shared by the fake's tests: raw HTTP requests and exact response checks, the tenancy
// keys, workspace and audit shortcuts, a recording upstream, and the table runners for
// front-door cases and refused bodies.

// wireResp is a response as it came off the wire.
type wireResp struct {
	status int
	header http.Header
	body   string
}

// wireOpt changes a request before wireDo sends it.
type wireOpt func(*http.Request)

// wireKey sends "Authorization: Bearer <k>".
func wireKey(k string) wireOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+k) }
}

// wireHeader sets header k to v.
func wireHeader(k, v string) wireOpt {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// wireHost sends h as the Host header.
func wireHost(h string) wireOpt { return func(r *http.Request) { r.Host = h } }

// wireDo sends one request; a non-empty body gets Content-Type
// application/json unless an option overrides it.
func wireDo(t *testing.T, method, url, body string, opts ...wireOpt) wireResp {
	t.Helper()
	r, err := wireDoErr(method, url, body, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wireDoErr is wireDo for goroutines other than the test's own.
func wireDoErr(method, url, body string, opts ...wireOpt) (wireResp, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return wireResp{}, fmt.Errorf("new request: %w", err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return wireResp{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return wireResp{}, fmt.Errorf("%s %s: read body: %w", method, url, err)
	}
	return wireResp{status: resp.StatusCode, header: resp.Header, body: string(b)}, nil
}

// wantPlain checks a plain-text response exactly.
func (r wireResp) wantPlain(t *testing.T, status int, body string) {
	t.Helper()
	if r.status != status || r.body != body || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("got %d %q (%s), want %d %q (text/plain)", r.status, r.body, r.header.Get("Content-Type"), status, body)
	}
}

// wantPlainPrefix checks a plain-text response by prefix.
func (r wireResp) wantPlainPrefix(t *testing.T, status int, prefix string) {
	t.Helper()
	if r.status != status || !strings.HasPrefix(r.body, prefix) || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("got %d %q (%s), want %d %q… (text/plain)", r.status, r.body, r.header.Get("Content-Type"), status, prefix)
	}
}

// wantError checks a JSON error envelope exactly.
func (r wireResp) wantError(t *testing.T, status int, msg string) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // serde writes <, > and & as they are
	_ = enc.Encode(map[string]string{"error": msg})
	want := strings.TrimSuffix(buf.String(), "\n")
	if r.status != status || r.body != want || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %s (%s), want %d %s (application/json)", r.status, r.body, r.header.Get("Content-Type"), status, want)
	}
}

// wantEmpty checks a status with an empty body and no content type.
func (r wireResp) wantEmpty(t *testing.T, status int) {
	t.Helper()
	if r.status != status || r.body != "" || r.header.Get("Content-Type") != "" {
		t.Fatalf("got %d %q (%s), want %d with an empty body", r.status, r.body, r.header.Get("Content-Type"), status)
	}
}

// wantJSON checks the status and content type and decodes the body into v.
func (r wireResp) wantJSON(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q (%s), want %d application/json", r.status, r.body, r.header.Get("Content-Type"), status)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.body), v); err != nil {
			t.Fatalf("decode %q: %v", r.body, err)
		}
	}
}

// API keys of tenancyServer: an admin of tenant acme and operators of beta and gamma.
const (
	adminKey  = "adm-token"
	opBetaKey = "op-beta-token"
	opGamKey  = "op-gamma-token"
)

// tenancyServer starts a server with authentication on and the three keys above.
func tenancyServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	base := []Option{WithAPIKeys(adminKey+"@acme:admin", opBetaKey+"@beta:operator", opGamKey+"@gamma:operator")}
	return Start(t, append(base, opts...)...)
}

// apiCall sends one request to srv with key (none when ""); body is JSON-encoded unless it
// is a string (sent raw) or nil.
func apiCall(t *testing.T, srv *Server, key, method, path string, body any) wireResp {
	t.Helper()
	r, err := apiCallErr(srv, key, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// apiCallErr is apiCall for goroutines other than the test's own.
func apiCallErr(srv *Server, key, method, path string, body any) (wireResp, error) {
	raw, ok := body.(string)
	if !ok && body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return wireResp{}, err
		}
		raw = string(b)
	}
	var opts []wireOpt
	if key != "" {
		opts = append(opts, wireKey(key))
	}
	return wireDoErr(method, srv.URL()+path, raw, opts...)
}

// asyncCall sends a request from another goroutine; receive the result with await.
func asyncCall(srv *Server, key, method, path string, body any) <-chan asyncResult {
	ch := make(chan asyncResult, 1)
	go func() {
		r, err := apiCallErr(srv, key, method, path, body)
		ch <- asyncResult{r, err}
	}()
	return ch
}

// asyncResult is the outcome of an asyncCall.
type asyncResult struct {
	resp wireResp
	err  error
}

// await returns the response of an asyncCall, failing the test on a transport error.
func await(t *testing.T, ch <-chan asyncResult) wireResp {
	t.Helper()
	res := <-ch
	if res.err != nil {
		t.Fatal(res.err)
	}
	return res.resp
}

// createWS creates a workspace from body as the holder of key.
func createWS(t *testing.T, srv *Server, key string, body map[string]any) workspace {
	t.Helper()
	var ws workspace
	apiCall(t, srv, key, "POST", "/v1/workspaces", body).wantJSON(t, 201, &ws)
	return ws
}

// createSession creates a session for services as the holder of key (the default tenant when "").
func createSession(t *testing.T, srv *Server, key string, services ...string) session {
	t.Helper()
	var sess session
	apiCall(t, srv, key, "POST", "/v1/sessions", map[string]any{"services": services}).wantJSON(t, 201, &sess)
	return sess
}

// wsExec runs cmd args in workspace id and returns the decoded response.
func wsExec(t *testing.T, srv *Server, key, id string, args ...string) execResponse {
	t.Helper()
	var out execResponse
	apiCall(t, srv, key, "POST", "/v1/workspaces/"+id+"/exec", map[string]any{"cmd": args[0], "args": args[1:]}).wantJSON(t, 200, &out)
	return out
}

// rfc3339Z matches a UTC timestamp as the server renders it: RFC 3339, Z, no trailing zeros.
var rfc3339Z = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$`)

// tail is the end of s, for failure messages about long strings.
func tail(s string) string {
	if len(s) > 12 {
		return s[len(s)-12:]
	}
	return s
}

// deref is *p, or "<nil>".
func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// statsOf returns GET /v1/stats.
func statsOf(t *testing.T, s *Server) statsView {
	t.Helper()
	var st statsView
	wireDo(t, "GET", s.URL()+"/v1/stats", "").wantJSON(t, 200, &st)
	return st
}

// auditIDs lists the ids of GET /v1/audit<query> and the total it reports.
func auditIDs(t *testing.T, s *Server, query string, opts ...wireOpt) ([]uint64, uint64) {
	t.Helper()
	var page auditPage
	wireDo(t, "GET", s.URL()+"/v1/audit"+query, "", opts...).wantJSON(t, 200, &page)
	ids := []uint64{}
	for _, r := range page.Rows {
		ids = append(ids, r.ID)
	}
	return ids, page.Total
}

// latestAudit returns the newest audit row.
func latestAudit(t *testing.T, s *Server) auditRow {
	t.Helper()
	var page auditPage
	wireDo(t, "GET", s.URL()+"/v1/audit?limit=1", "").wantJSON(t, 200, &page)
	if len(page.Rows) != 1 {
		t.Fatalf("audit rows %v", page.Rows)
	}
	return page.Rows[0]
}

// seenRequest is what a recording server received.
type seenRequest struct {
	method, path, query string
	header              http.Header
	body                string
}

// target is the escaped path and the query, as the request line carried them.
func (r seenRequest) target() string {
	if r.query == "" {
		return r.path
	}
	return r.path + "?" + r.query
}

// recordingServer reports every request it gets (up to 64 unread) on the returned channel,
// then lets answer reply to it.
func recordingServer(t *testing.T, answer http.HandlerFunc) (*httptest.Server, <-chan seenRequest) {
	t.Helper()
	seen := make(chan seenRequest, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- seenRequest{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone(), body: string(b)}
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

// recordingUpstream answers 201 "upstream says hi" with an X-Upstream header
// and reports every request it gets.
func recordingUpstream(t *testing.T) (*httptest.Server, <-chan seenRequest) {
	t.Helper()
	return recordingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Upstream", "yes")
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "passes")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "upstream says hi")
	})
}

// frontDoorCase is one request to the control plane's front door (Host guard, auth, router)
// and the answer it must get.
type frontDoorCase struct {
	name      string
	method    string
	path      string
	opts      []wireOpt
	status    int
	body      string // exact; empty means an empty body
	plain     bool   // text/plain body
	allow     []string
	jsonReply bool
}

// checkFrontDoor sends every case, with a foreign Origin, to s and checks the answer, the Allow
// header when the case names one, and that no CORS header is sent.
func checkFrontDoor(t *testing.T, s *Server, tests []frontDoorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := wireDo(t, tt.method, s.URL()+tt.path, "", append(tt.opts, wireHeader("Origin", "https://evil.example"))...)
			switch {
			case tt.plain:
				r.wantPlain(t, tt.status, tt.body)
			case tt.jsonReply:
				r.wantJSON(t, tt.status, nil)
			case tt.method == "HEAD":
				if r.status != tt.status || r.body != "" {
					t.Fatalf("got %d %q", r.status, r.body)
				}
			default:
				r.wantEmpty(t, tt.status)
			}
			if tt.allow != nil {
				got := strings.Split(r.header.Get("Allow"), ",")
				sort.Strings(got)
				if strings.Join(got, ",") != strings.Join(tt.allow, ",") {
					t.Fatalf("Allow = %q, want the methods %v", r.header.Get("Allow"), tt.allow)
				}
			}
			for k := range r.header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Fatalf("CORS header %s sent", k)
				}
			}
		})
	}
}

// rejection is a request body a route must refuse: with a JSON error message, or, when msg is
// "", a plain-text body starting with prefix.
type rejection struct {
	name   string
	body   string
	status int
	msg    string
	prefix string
}

// checkRejections posts every body to path on srv and checks the refusal.
func checkRejections(t *testing.T, srv *Server, path string, tests []rejection) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := apiCall(t, srv, "", "POST", path, tt.body)
			if tt.msg != "" {
				r.wantError(t, tt.status, tt.msg)
				return
			}
			r.wantPlainPrefix(t, tt.status, tt.prefix)
		})
	}
}
