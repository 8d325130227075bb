package main

import (
	"net"
	"strings"
	"testing"
)

// TestRunSkipsMalformedAPIKeyWhenAsked pins the opt-in to the real server's handling: with
// AGENTJAIL_TESTSERVER_SKIP_MALFORMED_KEYS=1 a malformed entry is skipped with a warning
// that names its position but not its token, and the good entries still authenticate.
func TestRunSkipsMalformedAPIKeyWhenAsked(t *testing.T) {
	t.Parallel()
	rn := startRun(t, map[string]string{
		"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0",
		"AGENTJAIL_API_KEY":  "bare_skipped_secret_9,good_tok@acme:admin",
		skipMalformedKeysEnv: "1",
	})
	if r := call(t, "GET", rn.ctl+"/v1/whoami", "bare_skipped_secret_9", ""); r.status != 401 {
		t.Errorf("skipped entry's token: status %d, want 401", r.status)
	}
	if r := call(t, "GET", rn.ctl+"/v1/whoami", "good_tok", ""); r.status != 200 {
		t.Errorf("good entry's token: status %d, want 200", r.status)
	}
	logs := rn.logs.String()
	if !strings.Contains(logs, "skipping an entry as the real server does") || !strings.Contains(logs, "entry 1 of 2 is malformed") {
		t.Errorf("no skip warning in the logs: %s", logs)
	}
	if strings.Contains(logs, "bare_skipped_secret_9") {
		t.Errorf("the skipped token is in the logs: %s", logs)
	}
}

// TestRunRefusesMalformedAPIKey pins the fail-closed start: one malformed entry stops
// the start-up (the real server would skip it, possibly leaving authentication off),
// naming the entry's position and never its token, before anything is logged or bound.
func TestRunRefusesMalformedAPIKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		value   string
		want    []string
		secrets []string
	}{
		{"a bare token, the client's form", "aj_bare_secret_1", []string{"entry 1 of 1 is malformed (api key must look like token@tenant:role)"}, []string{"aj_bare_secret_1"}},
		{"a bad entry after a good one", "k1@acme:admin, sk_second_secret_2@acme", []string{"entry 2 of 2 is malformed"}, []string{"sk_second_secret_2"}},
		{"an upper-case tenant", "tok_third_secret_3@Acme:admin", []string{"entry 1 of 1 is malformed (api key tenant must match"}, []string{"tok_third_secret_3"}},
		{"an unknown role, counting empty entries", "k1@acme:admin,,tok_fourth_secret_4@acme:root", []string{"entry 3 of 3 is malformed (api key role must be admin or operator)"}, []string{"tok_fourth_secret_4"}},
		{"whitespace in the token", "tok fifth_secret_5@acme:admin", []string{"entry 1 of 1 is malformed (api key token must be non-empty without whitespace)"}, []string{"fifth_secret_5"}},
		{"every bad entry is named", "bad_sixth_secret_6,k@acme:admin,bad_seventh_secret_7", []string{"entry 1 of 3 is malformed", "entry 3 of 3 is malformed"}, []string{"bad_sixth_secret_6", "bad_seventh_secret_7"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0", "AGENTJAIL_API_KEY": tc.value}
			err := runRefused(t, env)
			if err == nil {
				t.Fatal("run started with a malformed AGENTJAIL_API_KEY")
			}
			if exitCode(err) != 2 {
				t.Errorf("exit code %d, want 2", exitCode(err))
			}
			msg := err.Error()
			for _, w := range append([]string{"AGENTJAIL_API_KEY: ", "token@tenant:role", "Refusing to start"}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q: %s", w, msg)
				}
			}
			for _, secret := range tc.secrets {
				if strings.Contains(msg, secret) {
					t.Errorf("error contains the token %q: %s", secret, msg)
				}
			}
		})
	}
}

// TestRunListenFailure pins the message for an address that cannot be used: it names
// the variable to change and its value, and nothing (not even the authentication
// warning) is printed before it.
func TestRunListenFailure(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	busy := taken.Addr().String()
	// A port nothing listens on, for the case of both variables naming it.
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	same := free.Addr().String()
	free.Close()

	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"control port taken", map[string]string{"CTL_ADDR": busy, "PROXY_ADDR": "127.0.0.1:0"},
			"cannot listen on CTL_ADDR=" + busy + ": "},
		{"proxy port taken", map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": busy},
			"cannot listen on PROXY_ADDR=" + busy + ": "},
		{"both on one port", map[string]string{"CTL_ADDR": same, "PROXY_ADDR": same},
			"cannot listen on PROXY_ADDR=" + same + ": "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := runRefused(t, tc.env)
			if err == nil {
				t.Fatal("run started")
			}
			name, _, _ := strings.Cut(strings.TrimPrefix(tc.want, "cannot listen on "), "=")
			if msg := err.Error(); !strings.HasPrefix(msg, tc.want) || !strings.Contains(msg, "set "+name+" to a free address") {
				t.Errorf("error %q, want it to start %q and say to set %s", msg, tc.want, name)
			}
			if tc.env["CTL_ADDR"] == tc.env["PROXY_ADDR"] && !strings.Contains(err.Error(), "different from CTL_ADDR") {
				t.Errorf("error %q does not say the addresses must differ", err)
			}
			if exitCode(err) != 1 {
				t.Errorf("exit code %d, want 1", exitCode(err))
			}
		})
	}
}

// CTL_ADDR and PROXY_ADDR must be an IP literal and port, as the real server parses them; any
// other value stops the start-up before anything listens.
func TestRunRefusesListenAddressNotIPAndPort(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, ctl, proxy, want string }{
		{"host name", "localhost:0", "127.0.0.1:0", `parsing CTL_ADDR: "localhost:0"`},
		{"every interface without an IP", ":0", "127.0.0.1:0", `parsing CTL_ADDR: ":0"`},
		{"not an IP", "256.1.1.1:1", "127.0.0.1:0", `parsing CTL_ADDR: "256.1.1.1:1"`},
		{"proxy host name", "127.0.0.1:0", "localhost:0", `parsing PROXY_ADDR: "localhost:0"`},
		{"proxy port only", "127.0.0.1:0", "8443", `parsing PROXY_ADDR: "8443"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := runRefused(t, map[string]string{"CTL_ADDR": tt.ctl, "PROXY_ADDR": tt.proxy})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || exitCode(err) != 2 {
				t.Fatalf("run: %v (exit %d), want an error starting %s and exit 2", err, exitCode(err), tt.want)
			}
		})
	}
}

// A whitespace-only upstream key is no key, as in the real server.
func TestRunIgnoresBlankSeededKey(t *testing.T) {
	t.Parallel()
	rn := startRun(t, map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0", "OPENAI_API_KEY": " \t ", "GITHUB_TOKEN": "ghp-real"})
	r := call(t, "POST", rn.ctl+"/v1/sessions", "", `{"services":["openai"]}`)
	if want := `{"error":"bad request: no credential configured for service openai (tenant dev)"}`; r.status != 400 || r.body != want {
		t.Fatalf("session with a blank key: %d %q, want 400 %q", r.status, r.body, want)
	}
	var sess sessionJSON
	decode(t, call(t, "POST", rn.ctl+"/v1/sessions", "", `{"services":["github"]}`), 201, &sess)
}
