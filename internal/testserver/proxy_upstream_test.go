package testserver

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// redirectingUpstream serves /to/<status>/<n>/<final>: n redirects with the given status down to
// /to/<status>/0/<final>, which redirects to <final> (a path on this server or an absolute URL).
// /final answers 200 "done"; /cookies sets Set-Cookie twice; /gzip claims a gzip body that is
// not; /teapot answers 418 "teapot". Every request is recorded.
func redirectingUpstream(t *testing.T) (*httptest.Server, func() []seenRequest) {
	t.Helper()
	up, seen := recordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/final":
			io.WriteString(w, "done")
		case r.URL.Path == "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "application/octet-stream")
			io.WriteString(w, "not really gzip")
		case r.URL.Path == "/teapot":
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, "teapot")
		case r.URL.Path == "/cookies":
			w.Header().Add("Set-Cookie", "a=1")
			w.Header().Add("Set-Cookie", "b=2")
			w.Header().Add("X-Single", "one")
		case strings.HasPrefix(r.URL.Path, "/to/"):
			parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/to/"), "/", 3)
			status, _ := strconv.Atoi(parts[0])
			n, _ := strconv.Atoi(parts[1])
			next := "/" + parts[2]
			if strings.HasPrefix(parts[2], "http") {
				next = strings.Replace(parts[2], ":/", "://", 1)
			}
			if n > 0 {
				next = fmt.Sprintf("/to/%d/%d/%s", status, n-1, parts[2])
			}
			w.Header().Set("Location", next)
			w.WriteHeader(status)
		}
	})
	return up, func() []seenRequest {
		var out []seenRequest
		for {
			select {
			case h := <-seen:
				out = append(out, h)
			default:
				return out
			}
		}
	}
}

func TestProxyUpstreamClient(t *testing.T) {
	t.Parallel()
	up, hops := redirectingUpstream(t)
	other, otherHops := redirectingUpstream(t) // another port: another host for redirects
	s := Start(t, WithCredential("dev", "github", "ghp-real"), WithUpstream("github", up.URL))
	sess := createSession(t, s, "", "github")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, method, path string
		header             map[string]string
		status             int
		body               string
		wantHops           []string // "METHOD path" seen by the upstream, in order
		check              func(t *testing.T, resp *http.Response, seen []seenRequest)
	}{
		{name: "GET 302 is answered as is", method: "GET", path: "/to/302/0/final", status: 302, wantHops: []string{"GET /to/302/0/final"},
			check: func(t *testing.T, resp *http.Response, _ []seenRequest) {
				if loc := resp.Header.Get("Location"); loc != "/final" {
					t.Fatalf("Location %q, want /final", loc)
				}
			}},
		{name: "POST 302 becomes a bodiless GET", method: "POST", path: "/to/302/0/final", status: 200, body: "done",
			wantHops: []string{"POST /to/302/0/final", "GET /final"},
			check: func(t *testing.T, _ *http.Response, seen []seenRequest) {
				last := seen[len(seen)-1]
				if last.body != "" || last.header.Get("Content-Type") != "" || last.header.Get("Authorization") != "Bearer ghp-real" || last.header.Get("Referer") != up.URL+"/to/302/0/final" {
					t.Fatalf("followed hop %+v", last)
				}
			}},
		{name: "PUT 301 is answered as is", method: "PUT", path: "/to/301/0/final", status: 301, wantHops: []string{"PUT /to/301/0/final"}},
		{name: "303 is followed as GET", method: "DELETE", path: "/to/303/0/final", status: 200, body: "done", wantHops: []string{"DELETE /to/303/0/final", "GET /final"}},
		{name: "307 with the body still unsent is answered as is", method: "POST", path: "/to/307/0/final", status: 307, wantHops: []string{"POST /to/307/0/final"}},
		{name: "307 after a 303 is followed", method: "GET", path: "/to/303/0/to/307/0/final", status: 200, body: "done",
			wantHops: []string{"GET /to/303/0/to/307/0/final", "GET /to/307/0/final", "GET /final"}},
		{name: "ten redirects are followed", method: "GET", path: "/to/303/9/final", status: 200, body: "done"},
		{name: "eleven redirects are an upstream error", method: "GET", path: "/to/303/10/final", status: 502,
			body: "upstream: error following redirect for url (" + up.URL + "/to/303/0/final)"},
		{name: "a hop to another port drops the real key", method: "GET", path: "/to/303/0/" + strings.Replace(other.URL, "://", ":/", 1) + "/final", status: 200, body: "done",
			check: func(t *testing.T, _ *http.Response, _ []seenRequest) {
				got := otherHops()
				if len(got) != 1 || got[0].header.Get("Authorization") != "" || got[0].header.Get("Referer") == "" {
					t.Fatalf("other host saw %+v", got)
				}
			}},
		{name: "encoded bodies are not decoded", method: "GET", path: "/gzip", header: map[string]string{"Accept-Encoding": "gzip"}, status: 200, body: "not really gzip",
			check: func(t *testing.T, resp *http.Response, _ []seenRequest) {
				if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
					t.Fatalf("Content-Encoding %q, want gzip", ce)
				}
			}},
		{name: "error statuses pass through", method: "GET", path: "/teapot", status: 418, body: "teapot"},
		{name: "repeated response headers keep the last value", method: "GET", path: "/cookies", status: 200,
			check: func(t *testing.T, resp *http.Response, _ []seenRequest) {
				if v := resp.Header.Values("Set-Cookie"); len(v) != 1 || v[0] != "b=2" || resp.Header.Get("X-Single") != "one" {
					t.Fatalf("response headers %v", resp.Header)
				}
			}},
		{name: "accept */* and no user agent by default", method: "GET", path: "/final", status: 200, body: "done",
			check: func(t *testing.T, _ *http.Response, seen []seenRequest) {
				if h := seen[0].header; h.Get("Accept") != "*/*" || len(h.Values("User-Agent")) != 0 {
					t.Fatalf("upstream headers %v", h)
				}
			}},
		{name: "the client's accept and user agent are kept", method: "GET", path: "/final", header: map[string]string{"Accept": "text/plain", "User-Agent": "sandbox/1"}, status: 200, body: "done",
			check: func(t *testing.T, _ *http.Response, seen []seenRequest) {
				if h := seen[0].header; h.Get("Accept") != "text/plain" || h.Get("User-Agent") != "sandbox/1" {
					t.Fatalf("upstream headers %v", h)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Sequential: rows read the upstreams' request logs.
			var body io.Reader
			if tt.method == "POST" || tt.method == "PUT" {
				body = strings.NewReader(`{"x":1}`)
			}
			req, _ := http.NewRequest(tt.method, sess.Env["GITHUB_API_URL"]+tt.path, body)
			req.Header.Set("Authorization", "Bearer "+sess.Env["GITHUB_TOKEN"])
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header["User-Agent"] = nil // the sandbox sends none unless the row says so
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			seen := hops()
			if resp.StatusCode != tt.status || (tt.body != "" && string(b) != tt.body) {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, b, tt.status, tt.body)
			}
			if tt.wantHops != nil {
				var got []string
				for _, h := range seen {
					got = append(got, h.method+" "+h.target())
				}
				if strings.Join(got, "\n") != strings.Join(tt.wantHops, "\n") {
					t.Fatalf("upstream saw\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.wantHops, "\n"))
				}
			}
			if tt.check != nil {
				tt.check(t, resp, seen)
			}
		})
	}
}

// TestRedirectHopHeaders: a redirect crosses hosts when the host or the effective port changes
// (a missing port is the scheme's default); the Referer of a hop is the previous URL without
// credentials or fragment, and none from https to http.
func TestRedirectHopHeaders(t *testing.T) {
	t.Parallel()
	cross := []struct {
		prev, next string
		want       bool
	}{
		{"http://a.test/x", "http://A.test:80/y", false},
		{"https://a.test/x", "https://a.test:443/y", false},
		{"http://a.test/x", "https://a.test/y", true},
		{"http://a.test:8080/x", "http://a.test/y", true},
		{"http://a.test/x", "http://b.test/x", true},
	}
	for _, tt := range cross {
		prev, _ := url.Parse(tt.prev)
		next, _ := url.Parse(tt.next)
		if got := crossHost(prev, next); got != tt.want {
			t.Errorf("crossHost(%s, %s) = %v, want %v", tt.prev, tt.next, got, tt.want)
		}
	}
	ref := []struct {
		prev, next, want string
		ok               bool
	}{
		{"https://u:p@a.test/x?q=1#frag", "https://b.test/", "https://a.test/x?q=1", true},
		{"http://a.test/x", "https://b.test/", "http://a.test/x", true},
		{"https://a.test/x", "http://b.test/", "", false},
	}
	for _, tt := range ref {
		prev, _ := url.Parse(tt.prev)
		next, _ := url.Parse(tt.next)
		if got, ok := referer(prev, next); got != tt.want || ok != tt.ok {
			t.Errorf("referer(%s, %s) = %q, %v; want %q, %v", tt.prev, tt.next, got, ok, tt.want, tt.ok)
		}
	}
}
