package agentjail

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
)

// tenantHeader is a WithHeader header carrying a secret of its own.
const tenantHeader = "X-Tenant-Token"

// TestRedirectsKeepSecretsHome: the key and the WithHeader headers follow a redirect only
// to the same scheme, host and port. net/http alone would send Authorization to a
// subdomain, to another port and over a downgrade to plain http, and every other header
// anywhere. A redirect the policy refuses is not retried.
func TestRedirectsKeepSecretsHome(t *testing.T) {
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
		}, okReply(fixtureSession))
		c := testClient(t, srv.URL, WithAPIKey(key), WithHeader(tenantHeader, "tt-secret"))
		if _, err := c.Sessions.Get(context.Background(), "sess_1"); err != nil {
			t.Fatal(err)
		}
		reqs := srv.requests()
		if len(reqs) != 2 || reqs[1].Path != "/v1/sessions/sess_2" || reqs[1].Header.Get("Authorization") != "Bearer "+key ||
			reqs[1].Header.Get(tenantHeader) != "tt-secret" {
			t.Fatalf("redirect on the same host lost the key or the custom header: %d requests", len(reqs))
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
			other := newRecorder(t, okReply(`{"id":"s"}`))
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(other.URL, "http://"))
			target := "http://" + net.JoinHostPort(tc.hostname, port)
			srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target+r.URL.Path, tc.code)
			})
			c := testClient(t, srv.URL, WithAPIKey(key), WithHeader(tenantHeader, "tt-secret"))
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
			if v := got[0].Header.Get(tenantHeader); v != "" {
				t.Fatalf("the custom header crossed to another host: %q", v)
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
			mt := &memTransport{handle: func(r *http.Request) *http.Response {
				if r.URL.String() == tc.to {
					return memResponse(200, http.Header{"Content-Type": {"application/json"}}, `{"tenant":"t","role":"admin"}`)
				}
				return memResponse(302, http.Header{"Location": {tc.to}}, "")
			}}
			c := testClient(t, tc.from, WithAPIKey(key), WithHeader(tenantHeader, "tt-secret"), WithHTTPClient(&http.Client{Transport: mt}))
			if _, err := c.Settings.Whoami(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(mt.seen) != 2 {
				t.Fatalf("%d requests", len(mt.seen))
			}
			if got := mt.seen[1].Header.Get("Authorization"); (got == "Bearer "+key) != tc.keep || (!tc.keep && got != "") {
				t.Fatalf("Authorization after redirect to %s = %q, keep=%v", tc.to, got, tc.keep)
			}
			if got := mt.seen[1].Header.Get(tenantHeader); (got == "tt-secret") != tc.keep || (!tc.keep && got != "") {
				t.Fatalf("%s after redirect to %s = %q, keep=%v", tenantHeader, tc.to, got, tc.keep)
			}
		})
	}

	t.Run("redirect_loop_not_retried", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		})
		_, err := testClient(t, srv.URL).Sessions.Get(context.Background(), "sess_1")
		e := asError(t, err)
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
		e := asError(t, err)
		if n := len(srv.requests()); e.Attempts != 1 || n != 1 {
			t.Fatalf("Attempts %d, %d requests", e.Attempts, n)
		}
	})
}
