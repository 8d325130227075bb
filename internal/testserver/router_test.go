package testserver

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRouting covers the front door: public routes need no key; every other path, unknown
// ones included, is authenticated first; then an unknown path is an empty 404 and a known path
// with the wrong method an empty 405 with Allow; a static segment beats a parameter; HEAD is
// served by GET; CORS preflights are not answered and no CORS header is ever sent.
func TestRouting(t *testing.T) {
	t.Parallel()
	checkFrontDoor(t, tenancyServer(t), []frontDoorCase{
		{name: "healthz is public", method: "GET", path: "/healthz", status: 200, body: "ok", plain: true},
		{name: "stats is public", method: "GET", path: "/v1/stats", status: 200, jsonReply: true},
		{name: "public wrong method is 405 without auth", method: "POST", path: "/healthz", status: 405, allow: []string{"GET", "HEAD"}},
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
	})
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

// TestRouteTableRejectsBadRows: the table is fixed at compile time, so a malformed, duplicate or
// mixed row is a programming error that must fail at start-up.
func TestRouteTableRejectsBadRows(t *testing.T) {
	t.Parallel()
	h := func(http.ResponseWriter, *http.Request, scope) error { return nil }
	tests := []struct {
		name   string
		routes []route
	}{
		{name: "no method", routes: []route{{guarded, "", "/x", h}}},
		{name: "relative path", routes: []route{{guarded, http.MethodGet, "x", h}}},
		{name: "no handler", routes: []route{{guarded, http.MethodGet, "/x", nil}}},
		{name: "duplicate", routes: []route{{guarded, http.MethodGet, "/x", h}, {guarded, http.MethodGet, "/x", h}}},
		{name: "public and guarded on one path", routes: []route{{public, http.MethodGet, "/x", h}, {guarded, http.MethodPost, "/x", h}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Fatal("newRouteTable accepted the table")
				}
			}()
			newRouteTable(tt.routes)
		})
	}
}

// TestRouteTableMatch: a path matches the route whose static segments win first, parameters are
// unescaped, and a path that is not absolute or has a malformed escape matches nothing.
func TestRouteTableMatch(t *testing.T) {
	t.Parallel()
	h := func(http.ResponseWriter, *http.Request, scope) error { return nil }
	table := newRouteTable([]route{
		{guarded, http.MethodGet, "/v1/things/{id}", h},
		{guarded, http.MethodGet, "/v1/things/{id}/parts", h},
		{guarded, http.MethodGet, "/v1/things/search", h},
		{guarded, http.MethodGet, "/v1/{kind}/search/all", h},
	})
	tests := []struct {
		path, want, id string
		ok             bool
	}{
		{path: "/v1/things/a%20b", want: "/v1/things/{id}", id: "a b", ok: true},
		{path: "/v1/things/search", want: "/v1/things/search", ok: true},
		{path: "/v1/things/x/parts", want: "/v1/things/{id}/parts", id: "x", ok: true},
		{path: "/v1/things/search/all", want: "/v1/{kind}/search/all", ok: true},
		{path: "/v1/things/%zz"},
		{path: "/v1/things/"},
		{path: "v1/things/x"},
		{path: "*"},
	}
	for _, tt := range tests {
		p, params, ok := table.match(tt.path)
		if ok != tt.ok {
			t.Errorf("match(%q) ok = %v, want %v", tt.path, ok, tt.ok)
			continue
		}
		if ok && (p.path != tt.want || params["id"] != tt.id) {
			t.Errorf("match(%q) = %s %v, want %s id %q", tt.path, p.path, params, tt.want, tt.id)
		}
	}
}
