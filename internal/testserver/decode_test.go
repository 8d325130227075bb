package testserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestExtractorRejections: bodies and query strings are refused with the real extractors'
// statuses and plain-text bodies: 415 without a JSON content type, 400 for broken JSON, 422 for
// JSON of the wrong shape, 400 for a bad query string.
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
		{name: "unknown enum", method: "POST", path: "/v1/credentials", ct: "application/json", body: `{"service":"nope","secret":"x"}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: service: unknown variant `nope`, expected one of `openai`, `anthropic`, `github`, `stripe` at line 1 column 17"},
		{name: "missing field", method: "POST", path: "/v1/credentials", ct: "application/json", body: `{"secret":"x"}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: missing field `service`"},
		{name: "wrong type", method: "POST", path: "/v1/credentials", ct: "application/json", body: `{"service":"openai","secret":5}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: secret: invalid type: integer `5`, expected a string at line 1 column 30"},
		{name: "truncated json", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"a":`, status: 400, prefix: "Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 5"},
		{name: "array instead of object", method: "POST", path: "/v1/sessions", ct: "application/json", body: `[]`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "negative ttl", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":["openai"],"ttl_secs":-1}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "fractional ttl", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":["openai"],"ttl_secs":1.5}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "bad scope key", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":["openai"],"scopes":{"nope":[]}}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "null services", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":null}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: services: invalid type: null"},
		{name: "null scopes", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":["openai"],"scopes":null}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: scopes: invalid type: null"},
		{name: "null glob list", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":["openai"],"scopes":{"openai":null}}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: scopes.openai: invalid type: null"},
		{name: "glob of the wrong type", method: "POST", path: "/v1/sessions", ct: "application/json", body: `{"services":["openai"],"scopes":{"openai":[1]}}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "null service", method: "POST", path: "/v1/credentials", ct: "application/json", body: `{"service":null,"secret":"x"}`, status: 400, prefix: "Failed to parse the request body as JSON: service: expected value at line 1 column 12"},
		{name: "query not a number", method: "GET", path: "/v1/audit?limit=abc", status: 400, prefix: "Failed to deserialize query string: "},
		{name: "query negative", method: "GET", path: "/v1/audit?limit=-1", status: 400, prefix: "Failed to deserialize query string: "},
		{name: "query empty", method: "GET", path: "/v1/audit?limit=", status: 400, prefix: "Failed to deserialize query string: cannot parse integer from empty string"},
		{name: "query too large", method: "GET", path: "/v1/audit?limit=18446744073709551616", status: 400, prefix: "Failed to deserialize query string: number too large to fit in target type"},
		{name: "query not digits", method: "GET", path: "/v1/audit?limit=1x", status: 400, prefix: "Failed to deserialize query string: invalid digit found in string"},
		{name: "query repeated", method: "GET", path: "/v1/audit?limit=1&limit=2", status: 400, prefix: "Failed to deserialize query string: "},
		{name: "repeated workspace filter", method: "GET", path: "/v1/snapshots?workspace_id=a&workspace_id=b", status: 400, prefix: "Failed to deserialize query string: duplicate field `workspace_id`"},
		{name: "repeated snapshot search", method: "GET", path: "/v1/snapshots?q=a&q=b", status: 400, prefix: "Failed to deserialize query string: duplicate field `q`"},
		{name: "workspace limit not a number", method: "GET", path: "/v1/workspaces?limit=x", status: 400, prefix: "Failed to deserialize query string: invalid digit found in string"},
		{name: "repeated workspace search", method: "GET", path: "/v1/workspaces?q=a&q=b", status: 400, prefix: "Failed to deserialize query string: duplicate field `q`"},
		{name: "repeated jail status", method: "GET", path: "/v1/jails?status=running&status=error", status: 400, prefix: "Failed to deserialize query string: duplicate field `status`"},
		{name: "repeated tenant of a credential", method: "POST", path: "/v1/credentials?tenant=a&tenant=b", ct: "application/json", body: `{"service":"openai","secret":"x"}`, status: 400, prefix: "Failed to deserialize query string: duplicate field `tenant`"},
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
	// Like the real extractor, data after the first JSON value is ignored.
	wireDo(t, "POST", s.URL()+"/v1/credentials", `{"service":"openai","secret":"x"} trailing`).wantJSON(t, 200, nil)
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

// TestExplicitNullIsA422: a list or a defaulted string may be absent, but an explicit null is
// the wrong shape (serde's #[serde(default)] semantics), where encoding/json would accept it.
func TestExplicitNullIsA422(t *testing.T) {
	t.Parallel()
	s := Start(t)
	const prefix = "Failed to deserialize the JSON body into the target type: "
	tests := []struct {
		name, path, body string
	}{
		{name: "run language null", path: "/v1/runs", body: `{"code":"true","language":null}`},
		{name: "stream language null", path: "/v1/runs/stream", body: `{"code":"true","language":null}`},
		{name: "fork language null", path: "/v1/runs/fork", body: `{"parent_code":"true","child_code":"true","language":null}`},
		{name: "fork children null", path: "/v1/runs/fork", body: `{"parent_code":"true","child_code":"true","language":"sh","children":null}`},
		{name: "allowlist domains null", path: "/v1/runs", body: `{"code":"true","language":"sh","network":{"mode":"allowlist","domains":null}}`},
		{name: "git repos null", path: "/v1/runs", body: `{"code":"true","language":"sh","git":{"repo":"https://example.invalid/x","repos":null}}`},
		{name: "session exec args null", path: "/v1/sessions/sess_missing/exec", body: `{"cmd":"true","args":null}`},
		{name: "workspace exec args null", path: "/v1/workspaces/wrk_missing/exec", body: `{"cmd":"true","args":null}`},
		{name: "workspace exec env null", path: "/v1/workspaces/wrk_missing/exec", body: `{"cmd":"true","env":null}`},
		{name: "run language of the wrong type", path: "/v1/runs", body: `{"code":"true","language":7}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wireDo(t, "POST", s.URL()+tt.path, tt.body).wantPlainPrefix(t, 422, prefix)
		})
	}
}

// TestNullBodyIsA422: every body is a struct, so a null body is the wrong shape.
func TestNullBodyIsA422(t *testing.T) {
	t.Parallel()
	s := Start(t)
	ws := createWS(t, s, "", map[string]any{})
	tests := []struct {
		name, method, path string
	}{
		{name: "create workspace", method: "POST", path: "/v1/workspaces"},
		{name: "rename workspace", method: "PATCH", path: "/v1/workspaces/" + ws.ID},
		{name: "snapshot workspace", method: "POST", path: "/v1/workspaces/" + ws.ID + "/snapshot"},
		{name: "create session", method: "POST", path: "/v1/sessions"},
		{name: "run", method: "POST", path: "/v1/runs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wireDo(t, tt.method, s.URL()+tt.path, " null ").wantPlainPrefix(t, 422, "Failed to deserialize the JSON body into the target type: ")
		})
	}
}

// TestInvalidUTF8BodyIsA400: invalid UTF-8 is a JSON syntax error for serde, where
// encoding/json would substitute U+FFFD.
func TestInvalidUTF8BodyIsA400(t *testing.T) {
	t.Parallel()
	s := Start(t)
	tests := []struct {
		name, path, body string
	}{
		{name: "inside a string", path: "/v1/runs", body: "{\"code\":\"echo \xff\",\"language\":\"sh\"}"},
		{name: "session services", path: "/v1/sessions", body: "{\"services\":[\"open\xc3\"]}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wireDo(t, "POST", s.URL()+tt.path, tt.body).wantPlainPrefix(t, 400, "Failed to parse the request body as JSON: ")
		})
	}
}

// The real Query extractor keeps a malformed escape or a ';' as part of the value (and so fails
// to parse it as a number) where net/url drops the whole pair.
func TestQueryParsingIsLenientLikeFormURLEncoded(t *testing.T) {
	t.Parallel()
	s := Start(t)
	tests := []struct {
		name, query string
		status      int
		limit       uint64
	}{
		{name: "bad escape is kept and fails the number", query: "?limit=%zz", status: 400},
		{name: "semicolon is not a separator", query: "?limit=5;offset=1", status: 400},
		{name: "plus is a space", query: "?q=a+b&limit=7", status: 200, limit: 7},
		{name: "escaped digits decode", query: "?limit=%31%32", status: 200, limit: 12},
		{name: "empty pairs are skipped", query: "?&&limit=3&", status: 200, limit: 3},
		{name: "escapes in either case", query: "?limit=%3a&x=%3A%4a%4A", status: 400},
		{name: "upper-case escaped digits decode", query: "?%6Cimit=%34", status: 200, limit: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := wireDo(t, "GET", s.URL()+"/v1/jails"+tt.query, "")
			if tt.status != 200 {
				r.wantPlainPrefix(t, tt.status, "Failed to deserialize query string: ")
				return
			}
			var page struct {
				Limit uint64 `json:"limit"`
			}
			r.wantJSON(t, 200, &page)
			if page.Limit != tt.limit {
				t.Fatalf("limit %d, want %d", page.Limit, tt.limit)
			}
		})
	}
}

// jsonRequest is a POST with a JSON content type and body.
func jsonRequest(body io.Reader) *http.Request {
	r := httptest.NewRequest("POST", "/", body)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// decodeExecBody decodes body as a session exec request, failing t if it is refused.
func decodeExecBody(t *testing.T, body string) sessionExecRequest {
	t.Helper()
	var req sessionExecRequest
	if err := decodeBody(jsonRequest(strings.NewReader(body)), &req); err != nil {
		t.Fatalf("decodeBody(%s) = %v", body, err)
	}
	return req
}

// TestDecodeBodyIgnoresWhatSerdeIgnores: a key serde skips (any key that is not exactly a field's
// name) never reaches a field, though encoding/json alone would match it case-insensitively.
func TestDecodeBodyIgnoresWhatSerdeIgnores(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want string // cmd, then args
	}{
		{name: "upper-case duplicate of a required key", body: `{"cmd":"ls","CMD":5}`, want: "ls []"},
		{name: "title-case null of a required key", body: `{"cmd":"ls","Cmd":null}`, want: "ls []"},
		{name: "title-case list key", body: `{"cmd":"ls","Args":["-l"]}`, want: "ls []"},
		{name: "escaped key", body: `{"cmd":"ls","\u0041rgs":null}`, want: "ls []"},
		{name: "upper-case flattened key", body: `{"cmd":"ls","NETWORK":"x"}`, want: "ls []"},
		{name: "exact keys", body: `{"cmd":"ls","args":["-l"]}`, want: "ls [-l]"},
		{name: "escapes", body: `{"cmd":"\ud83d\ude00\u00e9\/","args":["\"\\\b\f\n\r\t"]}`, want: "😀é/ [\"\\\b\f\n\r\t]"},
		{name: "unknown keys of every kind", body: `{"x":1.5e3,"y":[true,false,null,{"z":-0}],"cmd":"ls"}`, want: "ls []"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := decodeExecBody(t, tt.body)
			if got := fmt.Sprint(*req.Cmd, " ", []string(req.Args)); got != tt.want {
				t.Errorf("decoded %q, want %q", got, tt.want)
			}
			if req.Network != nil {
				t.Errorf("network = %+v, want none", req.Network)
			}
		})
	}
}

// TestDecodeBodyStructAsList: serde also accepts a struct written as the list of its fields; the
// fake refuses that form as a type mismatch.
func TestDecodeBodyStructAsList(t *testing.T) {
	t.Parallel()
	s := Start(t)
	wireDo(t, "POST", s.URL()+"/v1/sessions", ` [["openai"]]`).wantPlainPrefix(t, 422,
		"Failed to deserialize the JSON body into the target type: invalid type: sequence, expected a struct at line 1 column 2")
}

// TestDecodeBodyWithoutShape: a request type without a serde shape is the fake's own bug: a 500.
func TestDecodeBodyWithoutShape(t *testing.T) {
	t.Parallel()
	var v struct{}
	var he *httpError
	if err := decodeBody(jsonRequest(strings.NewReader(`{}`)), &v); !errors.As(err, &he) || he.status != 500 {
		t.Fatalf("decodeBody = %v, want a 500", err)
	}
}

// TestDecodeBodyEnumForms: serde accepts a unit variant as its name or as {"name":null}, and an
// internally tagged enum with its tag as a name or an index, or as a list whose first element is
// the tag; each form decodes to the same settings.
func TestDecodeBodyEnumForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want string // network mode, domains, seccomp
	}{
		{name: "names", body: `{"cmd":"x","network":{"mode":"allowlist","domains":["a.com"]},"seccomp":"strict"}`, want: "allowlist [a.com] strict"},
		{name: "unit variant as a map", body: `{"cmd":"x","network":{"mode":"none"},"seccomp":{"standard":null}}`, want: "none [] standard"},
		{name: "tag as an index", body: `{"cmd":"x","network":{"mode":2,"domains":["b.com"]}}`, want: "allowlist [b.com] -"},
		{name: "tagged enum as a list", body: `{"cmd":"x","network":[1]}`, want: "loopback [] -"},
		{name: "domains of a unit variant are ignored", body: `{"cmd":"x","network":{"mode":"none","domains":["a.com"]}}`, want: "none [] -"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := decodeExecBody(t, tt.body)
			seccomp := "-"
			if req.Seccomp != nil {
				seccomp = string(*req.Seccomp)
			}
			if got := fmt.Sprint(req.Network.Mode, " ", req.Network.Domains, " ", seccomp); got != tt.want {
				t.Errorf("decoded %q, want %q", got, tt.want)
			}
		})
	}
	s := Start(t)
	wireDo(t, "POST", s.URL()+"/v1/credentials", `{"service":{"github":null},"secret":"x"}`).wantJSON(t, 200, nil)
	var creds []struct {
		Service string `json:"service"`
	}
	wireDo(t, "GET", s.URL()+"/v1/credentials", "").wantJSON(t, 200, &creds)
	if len(creds) != 1 || creds[0].Service != "github" {
		t.Errorf("credentials = %+v, want one for github", creds)
	}
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestDecodeBodyReadFailure: a body that cannot be read is a 400 naming the failure.
func TestDecodeBodyReadFailure(t *testing.T) {
	t.Parallel()
	var req createSnapshotRequest
	var he *httpError
	if err := decodeBody(jsonRequest(errReader{}), &req); !errors.As(err, &he) || he.status != 400 || !he.plain || he.msg != "Failed to buffer the request body: connection reset" {
		t.Fatalf("decodeBody = %#v", err)
	}
}

// TestLineCol: positions are serde's 1-based line and column of the byte before the offset
// (column 0 at the start of a line); an offset past the end is the end.
func TestLineCol(t *testing.T) {
	t.Parallel()
	data := []byte("ab\ncd")
	tests := []struct{ off, line, col int }{
		{0, 1, 0}, {1, 1, 1}, {2, 1, 2}, {3, 2, 0}, {5, 2, 2}, {99, 2, 2},
	}
	for _, tt := range tests {
		if line, col := lineCol(data, tt.off); line != tt.line || col != tt.col {
			t.Errorf("lineCol(%d) = %d:%d, want %d:%d", tt.off, line, col, tt.line, tt.col)
		}
	}
}

// FuzzDecodeBody sends any bytes as the JSON body of every request type the fake decodes. A body
// is refused with the real server's 400, 413 or 422, or decoded; it never panics and never ends
// in a 500, which would mean the serde check accepted what encoding/json then cannot decode.
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{"cmd":"/bin/ls","args":["-l"],"timeout_secs":5,"memory_mb":0,"network":{"mode":"allowlist","domains":["a.test"]},"seccomp":"strict","cpu_percent":50,"max_pids":8}`,
		`{"code":"print(1)","language":"python","git":{"repo":"https://x.test/r.git","ref":"main"}}`,
		`{"code":"x","git":{"repos":[{"repo":"https://x.test/a.git","dir":"a"}]}}`,
		`{"parent_code":"x","children":[{"code":"y"}],"fork_after_ms":10}`,
		`{"services":["openai","github"],"ttl_secs":60,"scopes":{"github":["/repos/*"]}}`,
		`{"service":"openai","secret":"sk"}`,
		`{"snapshot_id":"snap_1","parent_workspace_id":"wrk_1","label":"l"}`,
		`{"label":"w","domains":[{"domain":"a.test","vm_port":3000},{"domain":"b.test","backend_url":"http://127.0.0.1:1"}],"flavors":["node"],"idle_timeout_secs":1}`,
		`{"count":2,"label":"f"}`,
		`{"cmd":"x","env":[["K","V"]]}`,
		`{"CMD":"x","cmd":"y","Cmd":1}`,
		`{"cmd":"x","timeout_secs":18446744073709551616}`,
		`{"cmd":"x","timeout_secs":1e3}`,
		`{"cmd":"\ud800"}`,
		`{"name":null}`,
		`["x",[]]`,
		`null`,
		`{"cmd":"x"} trailing`,
		"",
	} {
		f.Add([]byte(seed))
	}
	types := make([]reflect.Type, 0, len(requestShapes))
	for t := range requestShapes {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return types[i].Name() < types[j].Name() })
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, typ := range types {
			r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			err := decodeBody(r, reflect.New(typ).Interface())
			var he *httpError
			switch {
			case err == nil:
			case !errors.As(err, &he):
				t.Fatalf("%s: body %q: %v, not an answer of the server", typ.Name(), body, err)
			case he.status >= 500:
				t.Fatalf("%s: body %q: %d: %v", typ.Name(), body, he.status, he.cause)
			}
		}
	})
}
