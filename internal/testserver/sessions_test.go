//go:build unix

package testserver

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	sessionIDRe = regexp.MustCompile(`^sess_[0-9a-f]{24}$`)
	tokenRe     = regexp.MustCompile(`^phm_[0-9a-f]{64}$`)
)

func TestSessionCreateValidation(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t,
		WithCredential("beta", "openai", "sk-beta"),
		WithCredential("dev", "github", "ghp-dev"))
	tests := []struct {
		name   string
		key    string
		body   string
		status int
		err    string
	}{
		{name: "no services", key: opBetaKey, body: `{}`, status: 400, err: "bad request: services must contain at least one entry"},
		{name: "empty services", key: opBetaKey, body: `{"services":[]}`, status: 400, err: "bad request: services must contain at least one entry"},
		{name: "no credential", key: opBetaKey, body: `{"services":["openai","stripe"]}`, status: 400, err: "bad request: no credential configured for service stripe (tenant beta)"},
		{name: "operator gets no dev fallback", key: opBetaKey, body: `{"services":["github"]}`, status: 400, err: "bad request: no credential configured for service github (tenant beta)"},
		{name: "other operator has no key", key: opGamKey, body: `{"services":["openai"]}`, status: 400, err: "bad request: no credential configured for service openai (tenant gamma)"},
		{name: "credential check before scope check", key: opGamKey, body: `{"services":["openai"],"scopes":{"github":["/x"]}}`, status: 400, err: "bad request: no credential configured for service openai (tenant gamma)"},
		{name: "scope for unlisted service", key: opBetaKey, body: `{"services":["openai"],"scopes":{"github":["/x"]}}`, status: 400, err: "bad request: scope for service github but it is not in services"},
		{name: "admin dev fallback", key: adminKey, body: `{"services":["github"]}`, status: 201},
		{name: "operator with own key", key: opBetaKey, body: `{"services":["openai"],"scopes":{"openai":["/v1/chat/*"]}}`, status: 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := wireDo(t, "POST", s.URL()+"/v1/sessions", tt.body, wireKey(tt.key))
			if tt.status == 201 {
				r.wantJSON(t, 201, nil)
				return
			}
			r.wantError(t, tt.status, tt.err)
		})
	}
}

func TestSessionShapeAndEnv(t *testing.T) {
	t.Parallel()
	s := Start(t,
		WithProxyBaseURL("http://proxy.test:8443/"),
		WithCredential("dev", "openai", "a"), WithCredential("dev", "anthropic", "b"),
		WithCredential("dev", "github", "c"), WithCredential("dev", "stripe", "d"))
	r := wireDo(t, "POST", s.URL()+"/v1/sessions", `{"services":["openai","anthropic","github","stripe"]}`)
	var raw map[string]json.RawMessage
	r.wantJSON(t, 201, &raw)
	if len(raw) != 5 {
		t.Fatalf("keys %v, want id created_at expires_at services env", raw)
	}
	if string(raw["expires_at"]) != "null" {
		t.Fatalf("expires_at = %s, want null without ttl", raw["expires_at"])
	}
	var sess session
	r.wantJSON(t, 201, &sess)
	if !sessionIDRe.MatchString(sess.ID) {
		t.Fatalf("id %q", sess.ID)
	}
	if !slices.Equal(sess.Services, []string{"openai", "anthropic", "github", "stripe"}) {
		t.Fatalf("services %v", sess.Services)
	}
	wantURLs := map[string]string{
		"OPENAI_BASE_URL":    "http://proxy.test:8443/v1/openai/v1",
		"ANTHROPIC_BASE_URL": "http://proxy.test:8443/v1/anthropic",
		"GITHUB_API_URL":     "http://proxy.test:8443/v1/github",
		"STRIPE_API_BASE":    "http://proxy.test:8443/v1/stripe",
	}
	tokens := map[string]bool{}
	for _, k := range []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "STRIPE_API_KEY"} {
		if !tokenRe.MatchString(sess.Env[k]) {
			t.Fatalf("%s = %q", k, sess.Env[k])
		}
		tokens[sess.Env[k]] = true
	}
	if len(tokens) != 4 {
		t.Fatal("tokens are not distinct")
	}
	for k, v := range wantURLs {
		if sess.Env[k] != v {
			t.Fatalf("%s = %q, want %q", k, sess.Env[k], v)
		}
	}
	if len(sess.Env) != 8 {
		t.Fatalf("env has %d entries: %v", len(sess.Env), sess.Env)
	}
	// Get returns the same view, live tokens included.
	var got session
	wireDo(t, "GET", s.URL()+"/v1/sessions/"+sess.ID, "").wantJSON(t, 200, &got)
	if got.ID != sess.ID || got.Env["OPENAI_API_KEY"] != sess.Env["OPENAI_API_KEY"] || !got.CreatedAt.Equal(sess.CreatedAt) {
		t.Fatalf("get = %+v, create = %+v", got, sess)
	}
}

func TestSessionDefaultProxyBaseURL(t *testing.T) {
	t.Parallel()
	s := Start(t, WithCredential("dev", "openai", "a"))
	sess := createSession(t, s, "", "openai", "openai")
	if sess.Env["OPENAI_BASE_URL"] != s.ProxyURL()+"/v1/openai/v1" {
		t.Fatalf("OPENAI_BASE_URL = %q, proxy %s", sess.Env["OPENAI_BASE_URL"], s.ProxyURL())
	}
	// Duplicates mint a token each; the later one wins the env key, and both
	// stay valid at the proxy.
	if !slices.Equal(sess.Services, []string{"openai", "openai"}) || len(sess.Env) != 2 {
		t.Fatalf("session %+v", sess)
	}
	s.sessions.mu.Lock()
	toks := append([]string(nil), s.sessions.byID[sess.ID].tokens...)
	s.sessions.mu.Unlock()
	if len(toks) != 2 || toks[1] != sess.Env["OPENAI_API_KEY"] {
		t.Fatalf("tokens %v", toks)
	}
	for _, tok := range toks {
		if _, ok := s.sessions.lookupToken(tok); !ok {
			t.Fatalf("token %d not live", len(tok))
		}
	}
}

func TestSessionTTL(t *testing.T) {
	t.Parallel()
	s := Start(t, WithCredential("dev", "openai", "a"))
	tests := []struct {
		name string
		ttl  string
		want func(created, expires time.Time) bool
	}{
		{name: "zero is already expired", ttl: "0", want: func(c, e time.Time) bool { return e.Equal(c) }},
		{name: "an hour", ttl: "3600", want: func(c, e time.Time) bool { return e.Equal(c.Add(time.Hour)) }},
		{name: "absurd values are clamped", ttl: "18446744073709551615", want: func(c, e time.Time) bool { return e.Equal(maxExpiry) }},
		{name: "just past year 9999", ttl: "300000000000", want: func(c, e time.Time) bool { return e.Equal(maxExpiry) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sess session
			wireDo(t, "POST", s.URL()+"/v1/sessions", `{"services":["openai"],"ttl_secs":`+tt.ttl+`}`).wantJSON(t, 201, &sess)
			if sess.ExpiresAt == nil || !tt.want(sess.CreatedAt, *sess.ExpiresAt) {
				t.Fatalf("created %v expires %v", sess.CreatedAt, sess.ExpiresAt)
			}
		})
	}
	// An expired session is still listed and returned by Get.
	var sess session
	wireDo(t, "POST", s.URL()+"/v1/sessions", `{"services":["openai"],"ttl_secs":0}`).wantJSON(t, 201, &sess)
	wireDo(t, "GET", s.URL()+"/v1/sessions/"+sess.ID, "").wantJSON(t, 200, nil)
	if _, exp, err := s.sessionEnv(sess.ID, devScope); err != nil || exp == nil {
		t.Fatalf("sessionEnv: %v %v", exp, err)
	}
}

func TestSessionTenancyListGetDelete(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t,
		WithCredential("acme", "openai", "x"), WithCredential("beta", "openai", "y"), WithCredential("gamma", "openai", "z"))
	create := func(key string) string { return createSession(t, s, key, "openai").ID }
	b1 := create(opBetaKey)
	g1 := create(opGamKey)
	b2 := create(opBetaKey)
	a1 := create(adminKey)

	ids := func(key string) []string {
		t.Helper()
		var list []session
		wireDo(t, "GET", s.URL()+"/v1/sessions", "", wireKey(key)).wantJSON(t, 200, &list)
		var out []string
		for _, x := range list {
			out = append(out, x.ID)
		}
		return out
	}
	lists := []struct {
		name, key string
		want      []string
	}{
		{name: "admin sees all, newest first", key: adminKey, want: []string{a1, b2, g1, b1}},
		{name: "operator beta", key: opBetaKey, want: []string{b2, b1}},
		{name: "operator gamma", key: opGamKey, want: []string{g1}},
	}
	for _, tt := range lists {
		if got := ids(tt.key); !slices.Equal(got, tt.want) {
			t.Fatalf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}

	steps := []struct {
		name, method, key, id string
		status                int
	}{
		{name: "cross-tenant get is 404", method: "GET", key: opGamKey, id: b1, status: 404},
		{name: "cross-tenant delete is 404", method: "DELETE", key: opGamKey, id: b1, status: 404},
		{name: "admin gets any tenant", method: "GET", key: adminKey, id: g1, status: 200},
		{name: "missing id", method: "GET", key: adminKey, id: "sess_000000000000000000000000", status: 404},
		{name: "owner deletes", method: "DELETE", key: opBetaKey, id: b1, status: 204},
		{name: "second delete", method: "DELETE", key: opBetaKey, id: b1, status: 404},
		{name: "get after delete", method: "GET", key: opBetaKey, id: b1, status: 404},
		{name: "admin deletes any tenant", method: "DELETE", key: adminKey, id: g1, status: 204},
	}
	for _, st := range steps {
		r := wireDo(t, st.method, s.URL()+"/v1/sessions/"+st.id, "", wireKey(st.key))
		switch st.status {
		case 404:
			r.wantError(t, 404, "not found: session "+st.id)
		case 204:
			if r.status != 204 || r.body != "" {
				t.Fatalf("%s: got %d %q", st.name, r.status, r.body)
			}
		default:
			r.wantJSON(t, st.status, nil)
		}
	}
	if got := ids(adminKey); !slices.Equal(got, []string{a1, b2}) {
		t.Fatalf("after deletes: %v", got)
	}
	if _, _, err := s.sessionEnv(b2, scope{tenant: "gamma", role: roleOperator}); err == nil {
		t.Fatal("sessionEnv let another tenant see the session")
	}
	env, _, err := s.sessionEnv(b2, scope{tenant: "beta", role: roleOperator})
	if err != nil || !tokenRe.MatchString(env["OPENAI_API_KEY"]) {
		t.Fatalf("sessionEnv = %v, %v", env, err)
	}
	env["OPENAI_API_KEY"] = "mutated"
	if again, _, _ := s.sessionEnv(b2, devScope); again["OPENAI_API_KEY"] == "mutated" {
		t.Fatal("sessionEnv returned the stored map, not a copy")
	}
}

func TestSessionExec(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithCredential("dev", "openai", "sk-real"))
	sessID := createSession(t, srv, "", "openai").ID
	var out execResponse
	apiCall(t, srv, "", "POST", "/v1/sessions/"+sessID+"/exec", map[string]any{
		"cmd": "/bin/sh", "args": []string{"-c", `echo "$OPENAI_API_KEY"; echo "$PATH"`},
	}).wantJSON(t, http.StatusOK, &out)
	lines := strings.Split(out.Stdout, "\n")
	if !strings.HasPrefix(lines[0], "phm_") || lines[1] != jailPath || out.ExitCode != 0 {
		t.Fatalf("got %+v", out)
	}
	// Arguments reach the program as sent, with no shell involved.
	apiCall(t, srv, "", "POST", "/v1/sessions/"+sessID+"/exec", map[string]any{"cmd": "/bin/echo", "args": []string{"$HOME", "a b"}}).wantJSON(t, 200, &out)
	if out.Stdout != "$HOME a b\n" {
		t.Fatalf("echo stdout = %q", out.Stdout)
	}
	apiCall(t, srv, "", "POST", "/v1/sessions/sess_000000000000000000000000/exec", map[string]any{"cmd": "true"}).
		wantError(t, 404, "not found: session sess_000000000000000000000000")
	var expired struct {
		ID string `json:"id"`
	}
	apiCall(t, srv, "", "POST", "/v1/sessions", map[string]any{"services": []string{"openai"}, "ttl_secs": 0}).wantJSON(t, 201, &expired)
	apiCall(t, srv, "", "POST", "/v1/sessions/"+expired.ID+"/exec", map[string]any{"cmd": "true"}).
		wantError(t, 400, "bad request: session expired")
	// No PATH lookup: a bare name that is not in /workspace cannot be executed, which is exit
	// code 127, not a server error.
	apiCall(t, srv, "", "POST", "/v1/sessions/"+sessID+"/exec", map[string]any{"cmd": "echo"}).wantJSON(t, 200, &out)
	if want := "exec failed: failed to execute command: No such file or directory (os error 2)\n"; out.ExitCode != 127 || out.Stderr != want {
		t.Fatalf("bare echo = %+v, want exit 127 and %q", out, want)
	}

	var page struct {
		Rows []jailRecord `json:"rows"`
	}
	apiCall(t, srv, "", "GET", "/v1/jails?kind=exec", nil).wantJSON(t, 200, &page)
	if len(page.Rows) != 3 || page.Rows[0].Label != "echo" || page.Rows[0].Status != "completed" || page.Rows[1].Label != "/bin/echo" || strOrEmpty(page.Rows[1].SessionID) != sessID {
		t.Fatalf("ledger rows = %+v", page.Rows)
	}
}

// TestTokenExpiresAtItsInstant: a token is dead from its expiry instant on (now >= expires_at).
func TestTokenExpiresAtItsInstant(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{name: "before", now: at.Add(-time.Nanosecond), want: false},
		{name: "at the instant", now: at, want: true},
		{name: "after", now: at.Add(time.Nanosecond), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok := phantomToken{expiresAt: &at}
			if got := tok.expired(tt.now); got != tt.want {
				t.Fatalf("expired(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}
