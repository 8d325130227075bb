package agentjail

import (
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
