package agentjail

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestBaseURLErrorTexts pins what NewClient says about a bad base URL: where it came
// from, the value (user information masked), and what is wrong with it. No text contains
// the API key or a password from the URL.
func TestBaseURLErrorTexts(t *testing.T) {
	const key = "aj-key-never-shown"
	t.Setenv("AGENTJAIL_API_KEY", key)
	cases := []struct {
		name     string
		arg, env string
		want     string
	}{
		{"env without a scheme", "", "localhost:7000",
			`agentjail: $AGENTJAIL_URL="localhost:7000": missing http:// or https://`},
		{"argument without a scheme", "localhost:7000", "http://ignored",
			`agentjail: base URL "localhost:7000": missing http:// or https://`},
		{"env, IP without a scheme", "", " 127.0.0.1:7000 ",
			`agentjail: $AGENTJAIL_URL="127.0.0.1:7000": missing http:// or https://`},
		{"env, another scheme", "", "ftp://api.example.com",
			`agentjail: $AGENTJAIL_URL="ftp://api.example.com": the scheme must be http or https, not "ftp"`},
		{"env, unparsable", "", "http://[::1",
			`agentjail: $AGENTJAIL_URL="http://[::1": missing ']' in host`},
		{"env, no host", "", "http://",
			`agentjail: $AGENTJAIL_URL="http://": no host`},
		{"argument with a query", "http://api/?x=1", "",
			`agentjail: base URL "http://api/?x=1": a query or fragment is not allowed`},
		{"argument with a fragment", "http://api/#top", "",
			`agentjail: base URL "http://api/#top": a query or fragment is not allowed`},
		{"argument with an empty query", "http://host/prefix/?", "",
			`agentjail: base URL "http://host/prefix/?": a query or fragment is not allowed`},
		{"password masked", "", "https://user:s3cret-pass@host:7000/?q",
			`agentjail: $AGENTJAIL_URL="https://xxxxx@host:7000/?q": a query or fragment is not allowed`},
		{"password masked when unparsable", "", "https://user:s3cret-pass@[::1",
			`agentjail: $AGENTJAIL_URL="https://xxxxx@[::1": missing ']' in host`},
		{"token as user name masked without a scheme", "", "s3cret-pass@localhost:7000/x@y",
			`agentjail: $AGENTJAIL_URL="xxxxx@localhost:7000/x@y": missing http:// or https://`},
		{"nothing at all", "", "  ",
			`agentjail: no base URL: pass one to NewClient or set $AGENTJAIL_URL`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AGENTJAIL_URL", tc.env)
			c, err := NewClient(tc.arg)
			if err == nil || c != nil {
				t.Fatalf("NewClient(%q) with $AGENTJAIL_URL=%q = %v, %v; want an error", tc.arg, tc.env, c, err)
			}
			if got := err.Error(); got != tc.want {
				t.Fatalf("error\n got %s\nwant %s", got, tc.want)
			}
			for _, secret := range []string{key, "s3cret-pass"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error contains %q: %v", secret, err)
				}
			}
		})
	}
}

// TestMaskUserinfo: the user information of a URL, parsable or not, is masked whole.
func TestMaskUserinfo(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"http://host:7000/v1":          "http://host:7000/v1",
		"http://u:p@host/a@b":          "http://xxxxx@host/a@b",
		"http://u@p@host?x=@":          "http://xxxxx@host?x=@",
		"u:p@host":                     "xxxxx@host",
		"host/path@x":                  "host/path@x",
		"":                             "",
		"https://[::1]:7000/#frag@x":   "https://[::1]:7000/#frag@x",
		"https://tok@[::1]:7000/#frag": "https://xxxxx@[::1]:7000/#frag",
	}
	for in, want := range cases {
		if got := maskUserinfo(in); got != want {
			t.Errorf("maskUserinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBaseURLForms: trailing slashes are dropped and a path prefix, escaped or not, is kept.
func TestBaseURLForms(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, jsonReply(200, "[]"))
	cases := []struct {
		name string
		base string
		want string
	}{
		{"trailing slashes dropped", srv.URL + "///", "/v1/credentials"},
		{"prefix kept", srv.URL + "/agentjail", "/agentjail/v1/credentials"},
		{"prefix with trailing slash", srv.URL + "/agentjail/", "/agentjail/v1/credentials"},
		{"escaped prefix kept", srv.URL + "/a%2Fb/", "/a%2Fb/v1/credentials"},
	}
	for _, tc := range cases {
		c := testClient(t, tc.base)
		if _, err := c.Credentials.List(context.Background()); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		reqs := srv.requests()
		if got := reqs[len(reqs)-1].Path; got != tc.want {
			t.Errorf("%s: path = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestBaseURLUserinfoNeverPrinted: the user information of a base URL (a user name can
// be a token as well as a password can) is masked however the client is printed, nil
// included, and in the error of a request that never reached the server.
func TestBaseURLUserinfoNeverPrinted(t *testing.T) {
	t.Parallel()
	const user, password = "tok-user-name", "hunter2-password"
	addr := refusedAddr
	c, err := NewClient("http://"+user+":"+password+"@"+addr+"/agentjail", WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	_, callErr := c.Public.Health(context.Background())
	if callErr == nil || !strings.Contains(callErr.Error(), "http://xxxxx@"+addr+"/agentjail/") {
		t.Fatalf("Health on a closed port: %v; want a network error naming the masked URL", callErr)
	}
	var nilClient *Client
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{c, *c, c.String(), c.GoString(), nilClient, callErr} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, password) || strings.Contains(out, user) {
				t.Errorf("%s of %T leaks the URL user information: %s", verb, v, out)
			}
		}
	}
}
