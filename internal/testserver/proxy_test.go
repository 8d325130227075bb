package testserver

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestProxyKeySwap: for every service the proxy replaces the phantom token with the tenant's
// real key in that service's header and forwards to its upstream.
func TestProxyKeySwap(t *testing.T) {
	t.Parallel()
	up, seen := recordingUpstream(t)
	s := Start(t,
		WithCredential("dev", "openai", "sk-real-openai"), WithCredential("dev", "anthropic", "sk-ant-real"),
		WithCredential("dev", "github", "ghp-real"), WithCredential("dev", "stripe", "sk_live_real"),
		WithUpstream("openai", up.URL), WithUpstream("anthropic", up.URL+"/"),
		WithUpstream("github", up.URL), WithUpstream("stripe", up.URL))
	sess := createSession(t, s, "", "openai", "anthropic", "github", "stripe")

	tests := []struct {
		name       string
		url        string // relative to the env base URL var
		baseVar    string
		tokenVar   string
		tokenStyle string // bearer, bare, x-api-key, upper
		header     map[string]string
		wantPath   string
		wantQuery  string
		wantAuth   string
		wantXKey   string
		wantAVer   string
	}{
		{name: "openai bearer", baseVar: "OPENAI_BASE_URL", tokenVar: "OPENAI_API_KEY", tokenStyle: "bearer", url: "/chat/completions?stream=true&x=%2F", wantPath: "/v1/chat/completions", wantQuery: "stream=true&x=%2F", wantAuth: "Bearer sk-real-openai"},
		{name: "openai bare token", baseVar: "OPENAI_BASE_URL", tokenVar: "OPENAI_API_KEY", tokenStyle: "bare", url: "/models", wantPath: "/v1/models", wantAuth: "Bearer sk-real-openai"},
		{name: "openai upper-case hex with spaces", baseVar: "OPENAI_BASE_URL", tokenVar: "OPENAI_API_KEY", tokenStyle: "upper", url: "/models", wantPath: "/v1/models", wantAuth: "Bearer sk-real-openai"},
		{name: "openai token in x-api-key", baseVar: "OPENAI_BASE_URL", tokenVar: "OPENAI_API_KEY", tokenStyle: "x-api-key", url: "/models", wantPath: "/v1/models", wantAuth: "Bearer sk-real-openai"},
		{name: "anthropic x-api-key", baseVar: "ANTHROPIC_BASE_URL", tokenVar: "ANTHROPIC_API_KEY", tokenStyle: "x-api-key", url: "/v1/messages", wantPath: "/v1/messages", wantXKey: "sk-ant-real", wantAVer: "2023-06-01"},
		{name: "anthropic bearer, own version kept", baseVar: "ANTHROPIC_BASE_URL", tokenVar: "ANTHROPIC_API_KEY", tokenStyle: "bearer", header: map[string]string{"anthropic-version": "2024-10-22"}, url: "/v1/messages", wantPath: "/v1/messages", wantXKey: "sk-ant-real", wantAVer: "2024-10-22"},
		{name: "github", baseVar: "GITHUB_API_URL", tokenVar: "GITHUB_TOKEN", tokenStyle: "bearer", url: "/repos/a/b", wantPath: "/repos/a/b", wantAuth: "Bearer ghp-real"},
		{name: "stripe", baseVar: "STRIPE_API_BASE", tokenVar: "STRIPE_API_KEY", tokenStyle: "bearer", url: "/v1/charges", wantPath: "/v1/charges", wantAuth: "Bearer sk_live_real"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Sequential: each row reads the newest audit row.
			tok := sess.Env[tt.tokenVar]
			var opts []wireOpt
			switch tt.tokenStyle {
			case "bearer":
				opts = append(opts, wireKey(tok))
			case "bare":
				opts = append(opts, wireHeader("Authorization", tok))
			case "upper":
				opts = append(opts, wireHeader("Authorization", "  Bearer phm_"+strings.ToUpper(strings.TrimPrefix(tok, "phm_"))+" "))
			case "x-api-key":
				opts = append(opts, wireHeader("x-api-key", tok))
			}
			for k, v := range tt.header {
				opts = append(opts, wireHeader(k, v))
			}
			// Like the real proxy, only a fixed list of hop-by-hop names is dropped, not the
			// names a Connection header lists.
			opts = append(opts, wireHeader("X-Client", "kept"), wireHeader("Connection", "X-Listed-Hop"), wireHeader("X-Listed-Hop", "kept"))
			r := wireDo(t, "POST", sess.Env[tt.baseVar]+tt.url, `{"model":"m"}`, opts...)
			if r.status != 201 || r.body != "upstream says hi" || r.header.Get("X-Upstream") != "yes" || r.header.Get("X-Hop") != "passes" || r.header.Get("Connection") == "X-Hop" {
				t.Fatalf("proxy answered %d %q %v", r.status, r.body, r.header)
			}
			got := <-seen
			if got.method != "POST" || got.path != tt.wantPath || got.query != tt.wantQuery || got.body != `{"model":"m"}` {
				t.Fatalf("upstream saw %s %s?%s %q", got.method, got.path, got.query, got.body)
			}
			if got.header.Get("Authorization") != tt.wantAuth || got.header.Get("X-Api-Key") != tt.wantXKey || got.header.Get("Anthropic-Version") != tt.wantAVer {
				t.Fatalf("upstream auth headers: Authorization=%q x-api-key=%q anthropic-version=%q", got.header.Get("Authorization"), got.header.Get("X-Api-Key"), got.header.Get("Anthropic-Version"))
			}
			if got.header.Get("X-Client") != "kept" || got.header.Get("X-Listed-Hop") != "kept" || got.header.Get("Connection") != "" {
				t.Fatalf("upstream headers %v", got.header)
			}
			for k, vs := range got.header {
				for _, v := range vs {
					if strings.Contains(strings.ToLower(v), "phm_") {
						t.Fatalf("phantom token reached the upstream in %s", k)
					}
				}
			}
			row := latestAudit(t, s)
			svc := strings.ToLower(strings.SplitN(tt.tokenVar, "_", 2)[0])
			if row.SessionID != sess.ID || row.Service != svc || row.Method != "POST" || row.Path != tt.wantPath || row.Status != 201 || row.RejectReason != nil || row.UpstreamMS == nil {
				t.Fatalf("audit row %+v", row)
			}
		})
	}
}

func TestProxyRejections(t *testing.T) {
	t.Parallel()
	const zeroToken = "phm_0000000000000000000000000000000000000000000000000000000000000000"
	tests := []struct {
		name      string
		opts      []Option
		session   string                                      // POST /v1/sessions body; "" for none
		prep      func(t *testing.T, s *Server, sess session) // after the session exists
		path      string
		token     func(sess session) string // "" sends no token
		status    int
		body      string
		bodyPref  bool
		reason    string
		auditSess bool // row carries the session id
		auditSvc  string
		auditPath string
	}{
		{name: "empty service", session: `{"services":["openai"]}`, path: "/v1//x", token: openaiToken, status: 404, body: "unknown service", reason: reasonUnknownService, auditSess: true, auditSvc: "openai", auditPath: "/x"},
		{name: "no token", path: "/v1/openai/v1/models", status: 401, body: "missing phantom token", reason: reasonNoToken, auditPath: "/v1/models"},
		{name: "unknown token", path: "/v1/openai/v1/models", token: func(session) string { return zeroToken }, status: 401, body: "unknown phantom token", reason: reasonUnknownToken, auditPath: "/v1/models"},
		{name: "malformed token", path: "/v1/openai/v1/models", token: func(session) string { return "hello" }, status: 401, body: "missing phantom token", reason: reasonNoToken, auditPath: "/v1/models"},
		{name: "unknown service", session: `{"services":["openai"]}`, path: "/v1/gitlab/api", token: openaiToken, status: 404, body: "unknown service", reason: reasonUnknownService, auditSess: true, auditSvc: "openai", auditPath: "/api"},
		{name: "wrong service", session: `{"services":["openai"]}`, path: "/v1/anthropic/v1/messages", token: openaiToken, status: 403, body: "token not valid for this service", reason: reasonWrongService, auditSess: true, auditSvc: "openai", auditPath: "/v1/messages"},
		{name: "scope denied", session: `{"services":["openai"],"scopes":{"openai":["/v1/chat/*","/v1/embeddings"]}}`, path: "/v1/openai/v1/models", token: openaiToken, status: 403, body: "path not in scope", reason: reasonScopeDenied, auditSess: true, auditSvc: "openai", auditPath: "/v1/models"},
		{name: "scope exact match needs the whole path", session: `{"services":["openai"],"scopes":{"openai":["/v1/embeddings"]}}`, path: "/v1/openai/v1/embeddings/x", token: openaiToken, status: 403, body: "path not in scope", reason: reasonScopeDenied, auditSess: true, auditSvc: "openai", auditPath: "/v1/embeddings/x"},
		{name: "expired token", session: `{"services":["openai"],"ttl_secs":0}`, path: "/v1/openai/v1/models", token: openaiToken, status: 401, body: "unknown phantom token", reason: reasonUnknownToken, auditPath: "/v1/models"},
		{
			name: "revoked by closing the session", session: `{"services":["openai"]}`, path: "/v1/openai/v1/models", token: openaiToken,
			prep: func(t *testing.T, s *Server, sess session) {
				r := wireDo(t, "DELETE", s.URL()+"/v1/sessions/"+sess.ID, "")
				if r.status != 204 {
					t.Fatalf("close: %d", r.status)
				}
			},
			status: 401, body: "unknown phantom token", reason: reasonUnknownToken, auditPath: "/v1/models",
		},
		{
			name: "credential deleted after the session", opts: []Option{}, session: `{"services":["github"]}`, path: "/v1/github/user", token: func(s session) string { return s.Env["GITHUB_TOKEN"] },
			prep: func(t *testing.T, s *Server, sess session) {
				if r := wireDo(t, "DELETE", s.URL()+"/v1/credentials/github", ""); r.status != 204 {
					t.Fatalf("delete credential: %d %s", r.status, r.body)
				}
			},
			status: 502, body: "upstream key not configured", reason: reasonNoUpstreamKey, auditSess: true, auditSvc: "github", auditPath: "/user",
		},
		{name: "upstream down", opts: []Option{WithUpstream("openai", "http://127.0.0.1:1")}, session: `{"services":["openai"]}`, path: "/v1/openai/v1/models", token: openaiToken, status: 502, body: "upstream: ", bodyPref: true, reason: reasonUpstreamError, auditSess: true, auditSvc: "openai", auditPath: "/v1/models"},
		{name: "upstream password masked", opts: []Option{WithUpstream("openai", "http://u:s3cr3t@127.0.0.1:1")}, session: `{"services":["openai"]}`, path: "/v1/openai/v1/models", token: openaiToken, status: 502, body: "upstream: error sending request for url (http://u:xxxxx@127.0.0.1:1/v1/models)", reason: reasonUpstreamError, auditSess: true, auditSvc: "openai", auditPath: "/v1/models"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := append([]Option{WithCredential("dev", "openai", "sk-o")}, tt.opts...)
			s := Start(t, opts...)
			// github gets a real credential record so it can be deleted.
			wireDo(t, "POST", s.URL()+"/v1/credentials", `{"service":"github","secret":"ghp"}`).wantJSON(t, 200, nil)
			var sess session
			if tt.session != "" {
				wireDo(t, "POST", s.URL()+"/v1/sessions", tt.session).wantJSON(t, 201, &sess)
			}
			if tt.prep != nil {
				tt.prep(t, s, sess)
			}
			var ropts []wireOpt
			if tt.token != nil {
				ropts = append(ropts, wireKey(tt.token(sess)))
			}
			r := wireDo(t, "GET", s.ProxyURL()+tt.path, "", ropts...)
			if tt.bodyPref {
				r.wantPlainPrefix(t, tt.status, tt.body)
			} else {
				r.wantPlain(t, tt.status, tt.body)
			}
			row := latestAudit(t, s)
			wantSess := ""
			if tt.auditSess {
				wantSess = sess.ID
			}
			if row.RejectReason == nil || *row.RejectReason != tt.reason || row.Status != tt.status || row.SessionID != wantSess ||
				row.Service != tt.auditSvc || row.Path != tt.auditPath || row.Method != "GET" || row.UpstreamMS != nil {
				t.Fatalf("audit row %+v (reason %v)", row, deref(row.RejectReason))
			}
		})
	}
}

func openaiToken(s session) string { return s.Env["OPENAI_API_KEY"] }

// TestProxyForwardsWithoutRestPathOrByAPIKeyHeader covers the forwarded requests whose token
// or path are not the plain case: an unusable Authorization value falls back to x-api-key, and a
// service with nothing after it forwards "/". Their audit rows carry no reject reason.
func TestProxyForwardsWithoutRestPathOrByAPIKeyHeader(t *testing.T) {
	t.Parallel()
	up, seen := recordingUpstream(t)
	s := Start(t, WithCredential("dev", "openai", "sk-o"), WithUpstream("openai", up.URL))
	sess := createSession(t, s, "", "openai")
	tok := sess.Env["OPENAI_API_KEY"]
	tests := []struct {
		name      string
		path      string
		headers   map[string]string
		auditPath string
		upPath    string // path the upstream saw
	}{
		{name: "malformed Authorization falls back to x-api-key", path: "/v1/openai/v1/models", headers: map[string]string{"Authorization": "Bearer sk-junk", "X-Api-Key": tok}, auditPath: "/v1/models", upPath: "/v1/models"},
		{name: "service without a trailing path forwards /", path: "/v1/openai", headers: map[string]string{"Authorization": "Bearer " + tok}, auditPath: "/", upPath: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []wireOpt
			for k, v := range tt.headers {
				opts = append(opts, wireHeader(k, v))
			}
			r := wireDo(t, "GET", s.ProxyURL()+tt.path, "", opts...)
			if r.status != 201 || r.body != "upstream says hi" {
				t.Fatalf("got %d %q, want the upstream's answer", r.status, r.body)
			}
			if got := <-seen; got.path != tt.upPath {
				t.Fatalf("upstream saw path %q, want %q", got.path, tt.upPath)
			}
			row := latestAudit(t, s)
			if row.RejectReason != nil || row.Status != 201 || row.SessionID != sess.ID || row.Service != "openai" || row.Path != tt.auditPath {
				t.Fatalf("audit row %+v (reason %s)", row, deref(row.RejectReason))
			}
		})
	}
}

// TestProxyFallbackIsNotAudited: paths outside /v1/<service> never reach the proxy handler, so
// they leave no audit row.
func TestProxyFallbackIsNotAudited(t *testing.T) {
	t.Parallel()
	s := Start(t)
	tests := []struct {
		name, method, path string
	}{
		{name: "outside /v1", method: "GET", path: "/nope"},
		{name: "outside /v1 with another method", method: "PUT", path: "/v2/openai/x"},
		{name: "bare /v1/", method: "GET", path: "/v1/"},
		{name: "bare /v1", method: "POST", path: "/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, before := auditIDs(t, s, "?limit=0")
			wireDo(t, tt.method, s.ProxyURL()+tt.path, "").wantPlain(t, 404, "route not found")
			if _, after := auditIDs(t, s, "?limit=0"); after != before {
				t.Fatalf("audit total went from %d to %d; the router fallback writes no row", before, after)
			}
		})
	}
}

func TestProxyAdminDevFallbackTrap(t *testing.T) {
	t.Parallel()
	up, seen := recordingUpstream(t)
	s := Start(t, WithAPIKeys(adminKey+"@acme:admin"), WithCredential("dev", "openai", "sk-dev"), WithUpstream("openai", up.URL))
	sess := createSession(t, s, adminKey, "openai")
	wireDo(t, "GET", sess.Env["OPENAI_BASE_URL"]+"/models", "", wireKey(sess.Env["OPENAI_API_KEY"])).wantPlain(t, 502, "upstream key not configured")
	select {
	case r := <-seen:
		t.Fatalf("upstream was called: %+v", r)
	default:
	}
}

func TestProxyStreamsResponse(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: second\n\n")
	}))
	t.Cleanup(up.Close)
	t.Cleanup(unblock) // runs before up.Close
	s := Start(t, WithCredential("dev", "openai", "sk"), WithUpstream("openai", up.URL))
	sess := createSession(t, s, "", "openai")

	req, _ := http.NewRequest("POST", sess.Env["OPENAI_BASE_URL"]+"/chat/completions", strings.NewReader(`{"stream":true}`))
	req.Header.Set("Authorization", "Bearer "+sess.Env["OPENAI_API_KEY"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	// The first event arrives while the upstream is still blocked.
	line, err := br.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	unblock()
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "\ndata: second\n\n" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

func TestProxyHealthz(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, m := range []string{"GET", "POST"} {
		wireDo(t, m, s.ProxyURL()+"/healthz", "").wantPlain(t, 200, "ok")
	}
	if ids, total := auditIDs(t, s, ""); total != 0 {
		t.Fatalf("healthz was audited: rows %v, total %d", ids, total)
	}
}

func TestScopeAllows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		globs []string
		path  string
		want  bool
	}{
		{name: "no globs", path: "/anything", want: true},
		{name: "prefix", globs: []string{"/v1/chat/*"}, path: "/v1/chat/completions", want: true},
		{name: "prefix needs the slash", globs: []string{"/v1/chat/*"}, path: "/v1/chat", want: false},
		{name: "star alone", globs: []string{"*"}, path: "/x", want: true},
		{name: "exact", globs: []string{"/v1/models"}, path: "/v1/models", want: true},
		{name: "exact is not prefix", globs: []string{"/v1/models"}, path: "/v1/models/x", want: false},
		{name: "inner star is literal", globs: []string{"/v1/*/x"}, path: "/v1/a/x", want: false},
		{name: "any of several", globs: []string{"/a", "/b*"}, path: "/bc", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := scopeAllows(tt.globs, tt.path); got != tt.want {
				t.Fatalf("scopeAllows(%v, %q) = %v", tt.globs, tt.path, got)
			}
		})
	}
}

func TestSplitProxyPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, service, rest string
		ok                        bool
	}{
		{name: "normal", path: "/v1/openai/v1/chat", service: "openai", rest: "/v1/chat", ok: true},
		{name: "trailing slash", path: "/v1/github/", service: "github", rest: "/", ok: true},
		{name: "service only", path: "/v1/github", service: "github", rest: "/", ok: true},
		{name: "no v1", path: "/openai/x"},
		{name: "bare v1", path: "/v1/"},
		{name: "empty service", path: "/v1//x", service: "", rest: "/x", ok: true},
		{name: "root", path: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc, rest, ok := splitProxyPath(tt.path)
			if ok != tt.ok || svc != tt.service || rest != tt.rest {
				t.Fatalf("splitProxyPath(%q) = %q %q %v", tt.path, svc, rest, ok)
			}
		})
	}
}

// TestConcurrentSessionsAndProxy drives the stores from many goroutines at
// once; run with -race it checks the locking, and the audit total checks
// that no row is lost.
func TestConcurrentSessionsAndProxy(t *testing.T) {
	t.Parallel()
	up, seen := recordingUpstream(t)
	s := Start(t, WithCredential("dev", "openai", "sk"), WithUpstream("openai", up.URL))
	const workers = 12
	// work creates a session, uses it once through the proxy and deletes it.
	work := func() error {
		r, err := apiCallErr(s, "", "POST", "/v1/sessions", map[string]any{"services": []string{"openai"}})
		if err != nil {
			return err
		}
		var sess session
		if err := json.Unmarshal([]byte(r.body), &sess); err != nil || r.status != 201 {
			return fmt.Errorf("create: %d %s", r.status, r.body)
		}
		if r, err = wireDoErr("GET", sess.Env["OPENAI_BASE_URL"]+"/models", "", wireKey(openaiToken(sess))); err != nil || r.status != 201 {
			return fmt.Errorf("proxy: %d %v", r.status, err)
		}
		if r, err = apiCallErr(s, "", "DELETE", "/v1/sessions/"+sess.ID, nil); err != nil || r.status != 204 {
			return fmt.Errorf("delete: %d %v", r.status, err)
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := work(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for i := 0; i < workers; i++ {
		<-seen
	}
	ids, total := auditIDs(t, s, "")
	if st := statsOf(t, s); total != workers || len(ids) != workers || st.Sessions != 0 {
		t.Fatalf("audit total %d rows %d, sessions left %d", total, len(ids), st.Sessions)
	}
	for i, id := range ids {
		if id != uint64(workers-1-i) {
			t.Fatalf("row %d has id %d: ids must be dense and newest first", i, id)
		}
	}
}

// TestNormalizeToken: a phantom token is phm_ and 64 hex digits in either case, returned lower
// case; anything else is not a token.
func TestNormalizeToken(t *testing.T) {
	t.Parallel()
	hex := strings.Repeat("aB3", 21) + "f"
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{raw: "phm_" + hex, want: "phm_" + strings.ToLower(hex), ok: true},
		{raw: "phm_" + hex[:63]},
		{raw: "phm_" + hex + "0"},
		{raw: "phm_" + hex[:63] + "g"},
		{raw: "PHM_" + hex},
		{raw: ""},
	}
	for _, tt := range tests {
		if got, ok := normalizeToken(tt.raw); got != tt.want || ok != tt.ok {
			t.Errorf("normalizeToken(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}
