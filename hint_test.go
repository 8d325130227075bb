package agentjail

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestSetupHints pins the hints added to an error whose likely cause is the client's
// set-up, and that no hint (nor anything else in the error) shows the API key.
func TestSetupHints(t *testing.T) {
	t.Parallel()
	const pasted = "aj_pasted_token@acme:admin"
	getSession := func(ctx context.Context, c *Client) error { _, err := c.Sessions.Get(ctx, "sess_1"); return err }
	health := func(ctx context.Context, c *Client) error { _, err := c.Public.Health(ctx); return err }
	cases := []struct {
		name     string
		prefix   string // appended to the server's URL
		key      string
		reply    http.HandlerFunc
		call     func(context.Context, *Client) error
		wantPath string
		want     string // the error text, with BASE for the server's URL
	}{
		{"base URL ending in /v1, 404", "/v1", "k", textReply(404, ""), getSession, "/v1/v1/sessions/sess_1",
			"agentjail 404: Not Found (the base URL BASE/v1 ends in /v1, which the SDK adds to every route itself: use BASE)"},
		{"base URL ending in /v1/, 404", "/v1/", "k", textReply(404, ""), getSession, "/v1/v1/sessions/sess_1",
			"agentjail 404: Not Found (the base URL BASE/v1 ends in /v1, which the SDK adds to every route itself: use BASE)"},
		{"prefix ending in /v1, public call answered 401", "/api/v1", "", textReply(401, "missing api key"), health, "/api/v1/healthz",
			"agentjail 401: missing api key (the base URL BASE/api/v1 ends in /v1, which the SDK adds to every route itself: use BASE/api)"},
		{"base URL ending in /v1, 401 on a guarded call: the key is the likely cause", "/v1", "k", textReply(401, "invalid api key"), getSession, "/v1/v1/sessions/sess_1",
			"agentjail 401: invalid api key"},
		{"no /v1, 404", "", "k", jsonReply(404, `{"error":"not found: session sess_1"}`), getSession, "/v1/sessions/sess_1",
			"agentjail 404: not found: session sess_1"},
		{"key in the server's form, 401", "", pasted, textReply(401, "invalid api key"), getSession, "/v1/sessions/sess_1",
			"agentjail 401: invalid api key (the API key contains '@': it looks like a server entry of the form token@tenant:role; send only the token, the part before the '@')"},
		{"key in the server's form, 403", "", pasted, textReply(403, "forbidden"), getSession, "/v1/sessions/sess_1",
			"agentjail 403: forbidden"},
		{"key in the server's form, public call answered 401", "", pasted, textReply(401, "missing api key"), health, "/healthz",
			"agentjail 401: missing api key"},
		{"plain key, 401", "", "aj_plain_token", textReply(401, "invalid api key"), getSession, "/v1/sessions/sess_1",
			"agentjail 401: invalid api key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, tc.reply)
			c := testClient(t, srv.URL+tc.prefix, WithAPIKey(tc.key), WithMaxRetries(0))
			err := tc.call(context.Background(), c)
			if err == nil {
				t.Fatal("no error")
			}
			if got := srv.last(t).Path; got != tc.wantPath {
				t.Fatalf("requested %s, want %s", got, tc.wantPath)
			}
			want := strings.ReplaceAll(tc.want, "BASE", srv.URL)
			if got := err.Error(); got != want {
				t.Fatalf("error\n got %s\nwant %s", got, want)
			}
			// The token part of every key long enough to be recognised.
			if token, _, _ := strings.Cut(tc.key, "@"); len(token) >= 8 {
				for _, text := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
					if strings.Contains(text, token) {
						t.Fatalf("error shows the key: %s", text)
					}
				}
			}
		})
	}
}

// TestPrefixEndingInV1Works: a hint is only a hint; a control plane mounted under a
// prefix that ends in /v1 is reached like any other.
func TestPrefixEndingInV1Works(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, jsonReply(200, "[]"))
	c := testClient(t, srv.URL+"/api/v1/")
	if _, err := c.Credentials.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := srv.last(t).Path; got != "/api/v1/v1/credentials" {
		t.Fatalf("requested %s", got)
	}
}
