package testserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Shared helpers of the platform tests: raw HTTP with exact bodies.

type wireResp struct {
	status int
	header http.Header
	body   string
}

type wireOpt func(*http.Request)

// wireKey sends "Authorization: Bearer <k>".
func wireKey(k string) wireOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+k) }
}

func wireHeader(k, v string) wireOpt {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

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

// wantStatusOrError is wantError, or only a status check when msg is "" (a 422 whose serde
// text the fake does not reproduce word for word).
func (r wireResp) wantStatusOrError(t *testing.T, status int, msg string) {
	t.Helper()
	if msg != "" {
		r.wantError(t, status, msg)
	} else if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.body, status)
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

// Keys used across the platform tests.
const (
	adminKey  = "adm-token"
	opBetaKey = "op-beta-token"
	opGamKey  = "op-gamma-token"
)

func tenancyServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	base := []Option{WithAPIKeys(adminKey+"@acme:admin", opBetaKey+"@beta:operator", opGamKey+"@gamma:operator")}
	return Start(t, append(base, opts...)...)
}

func TestAuthAndRouting(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t)
	tests := []struct {
		name      string
		method    string
		path      string
		opts      []wireOpt
		status    int
		body      string // exact; empty means an empty body
		plain     bool   // text/plain body
		allow     []string
		jsonReply bool
	}{
		{name: "healthz is public", method: "GET", path: "/healthz", status: 200, body: "ok", plain: true},
		{name: "stats is public", method: "GET", path: "/v1/stats", status: 200, jsonReply: true},
		{name: "public wrong method is 405 without auth", method: "POST", path: "/healthz", status: 405, allow: []string{"GET", "HEAD"}},
		{name: "missing key", method: "GET", path: "/v1/whoami", status: 401, body: "missing api key", plain: true},
		{name: "unknown key", method: "GET", path: "/v1/whoami", opts: []wireOpt{wireKey("nope")}, status: 401, body: "invalid api key", plain: true},
		{name: "lower-case bearer is part of the token", method: "GET", path: "/v1/whoami", opts: []wireOpt{wireHeader("Authorization", "bearer "+adminKey)}, status: 401, body: "invalid api key", plain: true},
		{name: "bare token accepted", method: "GET", path: "/v1/whoami", opts: []wireOpt{wireHeader("Authorization", adminKey)}, status: 200, jsonReply: true},
		{name: "token is trimmed", method: "GET", path: "/v1/whoami", opts: []wireOpt{wireHeader("Authorization", "Bearer   "+adminKey+"  ")}, status: 200, jsonReply: true},
		{name: "non-ascii header is missing", method: "GET", path: "/v1/whoami", opts: []wireOpt{wireHeader("Authorization", "Bearer \xe9")}, status: 401, body: "missing api key", plain: true},
		{name: "unknown path needs auth", method: "GET", path: "/nope", status: 401, body: "missing api key", plain: true},
		{name: "unknown path with key is empty 404", method: "GET", path: "/nope", opts: []wireOpt{wireKey(adminKey)}, status: 404},
		{name: "root with key", method: "GET", path: "/", opts: []wireOpt{wireKey(adminKey)}, status: 404},
		{name: "trailing slash is unknown", method: "GET", path: "/v1/sessions/", opts: []wireOpt{wireKey(adminKey)}, status: 404},
		{name: "trailing slash without key", method: "GET", path: "/v1/sessions/", status: 401, body: "missing api key", plain: true},
		{name: "wrong method needs auth first", method: "PUT", path: "/v1/sessions", status: 401, body: "missing api key", plain: true},
		{name: "wrong method with key", method: "PUT", path: "/v1/sessions", opts: []wireOpt{wireKey(adminKey)}, status: 405, allow: []string{"GET", "HEAD", "POST"}},
		{name: "wrong method on a param route", method: "POST", path: "/v1/sessions/sess_x", opts: []wireOpt{wireKey(adminKey)}, status: 405, allow: []string{"DELETE", "GET", "HEAD"}},
		{name: "static segment beats a parameter", method: "GET", path: "/v1/workspaces/from-snapshot", opts: []wireOpt{wireKey(adminKey)}, status: 405, allow: []string{"POST"}},
		{name: "head is served by get", method: "HEAD", path: "/v1/whoami", opts: []wireOpt{wireKey(adminKey)}, status: 200},
		{name: "head on healthz", method: "HEAD", path: "/healthz", status: 200},
		{name: "options preflight is not answered", method: "OPTIONS", path: "/v1/sessions", opts: []wireOpt{wireHeader("Origin", "https://evil.example"), wireHeader("Access-Control-Request-Method", "POST")}, status: 401, body: "missing api key", plain: true},
		{name: "options with key is 405", method: "OPTIONS", path: "/v1/sessions", opts: []wireOpt{wireKey(adminKey), wireHeader("Origin", "https://evil.example"), wireHeader("Access-Control-Request-Method", "POST")}, status: 405, allow: []string{"GET", "HEAD", "POST"}},
	}
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

func TestAuthOffIsDevAdmin(t *testing.T) {
	t.Parallel()
	s := Start(t)
	var who map[string]string
	wireDo(t, "GET", s.URL()+"/v1/whoami", "").wantJSON(t, 200, &who)
	if who["tenant"] != "dev" || who["role"] != "admin" {
		t.Fatalf("whoami = %v", who)
	}
	// With auth off every key is ignored, even a bogus one.
	wireDo(t, "GET", s.URL()+"/v1/whoami", "", wireKey("whatever")).wantJSON(t, 200, nil)
	wireDo(t, "GET", s.URL()+"/nope", "").wantEmpty(t, 404)
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t)
	big := strings.Repeat("x", maxBodyBytes+1)
	tests := []struct {
		name    string
		key     string
		chunked bool
		path    string
		status  int
		body    string
	}{
		{name: "auth runs before the limit", path: "/v1/credentials", status: 401, body: "missing api key"},
		{name: "content-length over the limit", key: adminKey, path: "/v1/credentials", status: 413, body: "length limit exceeded"},
		{name: "limit applies to unknown paths too", key: adminKey, path: "/nope", status: 413, body: "length limit exceeded"},
		{name: "chunked over the limit", key: adminKey, chunked: true, path: "/v1/credentials", status: 413, body: "Failed to buffer the request body: length limit exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			payload := `{"service":"openai","secret":"` + big + `"}`
			req, err := http.NewRequest("POST", s.URL()+tt.path, io.MultiReader(strings.NewReader(payload)))
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = int64(len(payload))
			if tt.chunked {
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			wireResp{status: resp.StatusCode, header: resp.Header, body: string(b)}.wantPlain(t, tt.status, tt.body)
		})
	}
	// Exactly at the limit is fine (and then fails on the JSON shape).
	envelope := len(`{"service":"openai","secret":""}`)
	body := `{"service":"openai","secret":"` + strings.Repeat("y", maxBodyBytes-envelope) + `"}`
	if len(body) != maxBodyBytes {
		t.Fatalf("test body is %d bytes", len(body))
	}
	var rec credentialRecord
	wireDo(t, "POST", s.URL()+"/v1/credentials", body, wireKey(adminKey)).wantJSON(t, 200, &rec)
}

func TestExtractorRejections(t *testing.T) {
	t.Parallel()
	s := Start(t)
	tests := []struct {
		name   string
		method string
		path   string
		ct     string
		body   string
		status int
		prefix string
	}{
		{name: "no content type", method: "POST", path: "/v1/credentials", body: `{"service":"openai","secret":"x"}`, status: 415, prefix: "Expected request with `Content-Type: application/json`"},
		{name: "text content type", method: "POST", path: "/v1/credentials", ct: "text/plain", body: `{}`, status: 415, prefix: "Expected request with `Content-Type: application/json`"},
		{name: "empty body", method: "POST", path: "/v1/sessions", ct: "application/json", status: 400, prefix: "Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 0"},
		{name: "broken json", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":`, status: 400, prefix: "Failed to parse the request body as JSON: "},
		{name: "trailing garbage", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{} x`, status: 400, prefix: "Failed to parse the request body as JSON: "},
		{name: "unknown enum", method: "POST", path: "/v1/credentials", ct: "application/json", body: `{"service":"nope","secret":"x"}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "missing field", method: "POST", path: "/v1/credentials", ct: "application/json", body: `{"secret":"x"}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: missing field `service`"},
		{name: "wrong type", method: "POST", path: "/v1/credentials", ct: "application/json", body: `{"service":"openai","secret":5}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: secret: invalid type: number, expected a string at line 1 column 30"},
		{name: "truncated json", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"a":`, status: 400, prefix: "Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 5"},
		{name: "array instead of object", method: "POST", path: "/v1/sessions", ct: "application/json", body: `[]`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "negative ttl", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":["openai"],"ttl_secs":-1}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "fractional ttl", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":["openai"],"ttl_secs":1.5}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "bad scope key", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":["openai"],"scopes":{"nope":[]}}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "null services", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":null}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: services: invalid type: null"},
		{name: "null scopes", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":["openai"],"scopes":null}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: scopes: invalid type: null"},
		{name: "null glob list", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":["openai"],"scopes":{"openai":null}}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: scopes.openai: invalid type: null"},
		{name: "glob of the wrong type", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":["openai"],"scopes":{"openai":[1]}}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "null service", method: "POST", path: "/v1/credentials", ct: "application/json", body: `{"service":null,"secret":"x"}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "query not a number", method: "GET", path: "/v1/audit?limit=abc", status: 400, prefix: "Failed to deserialize query string: "},
		{name: "query negative", method: "GET", path: "/v1/audit?limit=-1", status: 400, prefix: "Failed to deserialize query string: "},
		{name: "query repeated", method: "GET", path: "/v1/audit?limit=1&limit=2", status: 400, prefix: "Failed to deserialize query string: "},
		{name: "repeated tenant", method: "GET", path: "/v1/credentials?tenant=a&tenant=b", status: 400, prefix: "Failed to deserialize query string: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []wireOpt
			if tt.ct != "" {
				opts = append(opts, wireHeader("Content-Type", tt.ct))
			}
			r := wireDo(t, tt.method, s.URL()+tt.path, tt.body, opts...)
			if tt.ct == "" && tt.body != "" {
				// wireDo defaulted the content type; resend without one.
				req, _ := http.NewRequest(tt.method, s.URL()+tt.path, strings.NewReader(tt.body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				r = wireResp{status: resp.StatusCode, header: resp.Header, body: string(b)}
			}
			r.wantPlainPrefix(t, tt.status, tt.prefix)
		})
	}
}

func TestJSONContentTypeVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ct   string
		want bool
	}{
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON", true},
		{"application/vnd.api+json", true},
		{"application/jsonx", false},
		{"text/json", false},
		{"", false},
		{"garbage;;", false},
	}
	for _, tt := range tests {
		t.Run(tt.ct, func(t *testing.T) {
			t.Parallel()
			if got := isJSONContentType(tt.ct); got != tt.want {
				t.Fatalf("isJSONContentType(%q) = %v", tt.ct, got)
			}
		})
	}
}

func TestInternalErrorsAreMasked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
	}{
		{name: "plain error", err: errors.New("secret path /etc/x")},
		{name: "errInternal", err: errInternal(errors.New("disk on fire"))},
		{name: "nil cause", err: errInternal(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			writeError(rec, tt.err)
			if rec.Code != 500 || rec.Body.String() != `{"error":"internal server error"}` || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %q", rec.Code, rec.Body.String())
			}
		})
	}
	rec := httptest.NewRecorder()
	writeError(rec, errConflict("busy %d", 1))
	if rec.Code != 409 || rec.Body.String() != `{"error":"conflict: busy 1"}` {
		t.Fatalf("conflict: got %d %q", rec.Code, rec.Body.String())
	}
}

func TestHostGuard(t *testing.T) {
	t.Parallel()
	s := Start(t, WithProxyBaseURL("http://sandbox-gw.internal:9999/"))
	_, ctlPort, _ := net.SplitHostPort(strings.TrimPrefix(s.URL(), "http://"))
	tests := []struct {
		name  string
		base  string
		host  string
		allow bool
	}{
		{name: "listen address", base: s.URL(), host: strings.TrimPrefix(s.URL(), "http://"), allow: true},
		{name: "localhost with port", base: s.URL(), host: "localhost:" + ctlPort, allow: true},
		{name: "localhost upper case", base: s.URL(), host: "LOCALHOST", allow: true},
		{name: "other loopback ip", base: s.URL(), host: "127.0.0.2:80", allow: true},
		{name: "ipv6 loopback", base: s.URL(), host: "[::1]:" + ctlPort, allow: true},
		{name: "rebinding name", base: s.URL(), host: "evil.example:" + ctlPort},
		{name: "localhost lookalike", base: s.URL(), host: "localhost.evil.example"},
		{name: "lan ip", base: s.URL(), host: "192.168.1.10"},
		{name: "proxy accepts its base url host", base: s.ProxyURL(), host: "sandbox-gw.internal:9999", allow: true},
		{name: "proxy rejects other names", base: s.ProxyURL(), host: "evil.example"},
		{name: "control does not accept the proxy base host", base: s.URL(), host: "sandbox-gw.internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := wireDo(t, "GET", tt.base+"/healthz", "", wireHost(tt.host))
			if tt.allow {
				r.wantPlain(t, 200, "ok")
			} else {
				r.wantPlain(t, 403, hostRejected)
			}
		})
	}
}

func TestNewOptionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []Option
	}{
		{name: "malformed key", opts: []Option{WithAPIKeys("s3cr3t-no-tenant")}},
		{name: "bad role", opts: []Option{WithAPIKeys("t@acme:root")}},
		{name: "unknown credential service", opts: []Option{WithCredential("dev", "gitlab", "x")}},
		{name: "unknown upstream service", opts: []Option{WithUpstream("gitlab", "http://127.0.0.1:1")}},
		{name: "upstream not http", opts: []Option{WithUpstream("openai", "ftp://x")}},
		{name: "zero concurrency", opts: []Option{WithMaxConcurrent(0)}},
		{name: "busy address", opts: []Option{WithControlAddr("256.0.0.1:0")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tt.opts...)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error mentions the key: %v", err)
			}
		})
	}
}

func TestParseAPIKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		entry string
		ok    bool
	}{
		{name: "admin", entry: "s3cr3t@acme:admin", ok: true},
		{name: "operator", entry: "s3cr3t@acme-1_x:operator", ok: true},
		{name: "token may contain a colon", entry: "s3cr3t:b@acme:admin", ok: true},
		{name: "no at", entry: "aj_integration_test_s3cr3t"},
		{name: "empty token", entry: "@acme:admin"},
		{name: "token with space", entry: "s3cr3t x@acme:admin"},
		{name: "no role", entry: "s3cr3t@acme"},
		{name: "role with suffix", entry: "s3cr3t@acme:admin:x"},
		{name: "upper-case tenant", entry: "s3cr3t@Acme:admin"},
		{name: "tenant starts with dash", entry: "s3cr3t@-acme:admin"},
		{name: "empty tenant", entry: "s3cr3t@:admin"},
		{name: "tenant too long", entry: "s3cr3t@" + strings.Repeat("a", 65) + ":admin"},
		{name: "tenant at max length", entry: "s3cr3t@" + strings.Repeat("a", 64) + ":admin", ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ParseAPIKey(tt.entry)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseAPIKey(%q) = %v", tt.entry, err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
}

func TestCloseAndStateDir(t *testing.T) {
	t.Parallel()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	dir := s.StateDir()
	if !filepath.IsAbs(dir) {
		t.Fatalf("state dir %q is not absolute", dir)
	}
	url := s.URL()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temp state dir survived Close: %v", err)
	}
	if resp, err := http.Get(url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("server still answers after Close")
	}

	keep := filepath.Join(t.TempDir(), "state")
	s2, err := New(WithStateDir(keep))
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("given state dir removed: %v", err)
	}
}

func TestLogsNeverContainSecrets(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	s := Start(t,
		WithLogger(slogTo(&buf)),
		WithAPIKeys(adminKey+"@acme:admin"),
		WithCredential("acme", "openai", "sk-seeded-secret"),
		WithUpstream("openai", "http://127.0.0.1:1"))
	wireDo(t, "POST", s.URL()+"/v1/credentials", `{"service":"github","secret":"ghp-posted-secret"}`, wireKey(adminKey)).wantJSON(t, 200, nil)
	var sess session
	wireDo(t, "POST", s.URL()+"/v1/sessions", `{"services":["openai"]}`, wireKey(adminKey)).wantJSON(t, 201, &sess)
	tok := sess.Env["OPENAI_API_KEY"]
	wireDo(t, "GET", s.ProxyURL()+"/v1/openai/v1/models", "", wireKey(tok))
	wireDo(t, "GET", s.URL()+"/v1/whoami", "", wireKey("wrong-key"))
	// An exec whose scratch directory cannot be made (a file stands where the directory of
	// every jail's scratch space goes) is a 500, which is logged: the one request here that
	// must leave a log line, so that the scan below has something to look at.
	if err := os.WriteFile(filepath.Join(s.StateDir(), "jails"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wireDo(t, "POST", s.URL()+"/v1/sessions/"+sess.ID+"/exec", `{"cmd":"/bin/true"}`, wireKey(adminKey)).wantJSON(t, 500, nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	logs := buf.String()
	if !strings.Contains(logs, "request failed") {
		t.Fatalf("the failed exec was not logged, so the scan proves nothing:\n%s", logs)
	}
	for _, secret := range []string{adminKey, "sk-seeded-secret", "ghp-posted-secret", tok, "wrong-key"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestStartRegistersCleanup(t *testing.T) {
	t.Parallel()
	var url string
	t.Run("inner", func(t *testing.T) {
		url = Start(t).URL()
		wireDo(t, "GET", url+"/healthz", "").wantPlain(t, 200, "ok")
	})
	if resp, err := http.Get(url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("server outlived its test")
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// slogTo logs everything, debug included, as text to w.
func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
