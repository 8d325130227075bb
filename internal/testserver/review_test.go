package testserver

// Fidelity checks added in review: each table row pins a behaviour of the real server (WIRE.md and
// the upstream source it cites) that the fake once got wrong.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// auditTotal is the global audit row count.
func auditTotal(t *testing.T, s *Server) uint64 {
	t.Helper()
	var page auditPage
	wireDo(t, "GET", s.URL()+"/v1/audit?limit=0", "").wantJSON(t, 200, &page)
	return page.Total
}

func TestReviewProxyFallbackIsNotAudited(t *testing.T) {
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
			before := auditTotal(t, s)
			wireDo(t, tt.method, s.ProxyURL()+tt.path, "").wantPlain(t, 404, "route not found")
			if after := auditTotal(t, s); after != before {
				t.Fatalf("audit total went from %d to %d; the router fallback writes no row", before, after)
			}
		})
	}
}

func TestReviewProxyTokenAndServiceRows(t *testing.T) {
	t.Parallel()
	up, seen := recordingUpstream(t)
	s := Start(t, WithCredential("dev", "openai", "sk-o"), WithUpstream("openai", up.URL))
	var sess session
	wireDo(t, "POST", s.URL()+"/v1/sessions", `{"services":["openai"]}`).wantJSON(t, 201, &sess)
	tok := sess.Env["OPENAI_API_KEY"]
	tests := []struct {
		name      string
		path      string
		headers   map[string]string
		status    int
		body      string
		reason    string // "" means forwarded
		auditSess bool
		auditSvc  string
		auditPath string
		upPath    string // path the upstream saw, when forwarded
	}{
		{name: "no token: no service in the row", path: "/v1/openai/v1/models", status: 401, body: "missing phantom token", reason: reasonNoToken, auditPath: "/v1/models"},
		{name: "malformed Authorization counts as no token", path: "/v1/openai/v1/models", headers: map[string]string{"Authorization": "Bearer sk-real-looking"}, status: 401, body: "missing phantom token", reason: reasonNoToken, auditPath: "/v1/models"},
		{name: "unknown well-formed token: no service in the row", path: "/v1/openai/v1/models", headers: map[string]string{"Authorization": "Bearer phm_" + strings.Repeat("ab", 32)}, status: 401, body: "unknown phantom token", reason: reasonUnknownToken, auditPath: "/v1/models"},
		{name: "malformed Authorization falls back to x-api-key", path: "/v1/openai/v1/models", headers: map[string]string{"Authorization": "Bearer sk-junk", "X-Api-Key": tok}, status: 201, body: "upstream says hi", auditSess: true, auditSvc: "openai", auditPath: "/v1/models", upPath: "/v1/models"},
		{name: "unknown service answers its own text and names the token's service", path: "/v1/gitlab/api", headers: map[string]string{"Authorization": "Bearer " + tok}, status: 404, body: "unknown service", reason: reasonUnknownService, auditSess: true, auditSvc: "openai", auditPath: "/api"},
		{name: "empty service segment is an unknown service", path: "/v1//x", headers: map[string]string{"Authorization": "Bearer " + tok}, status: 404, body: "unknown service", reason: reasonUnknownService, auditSess: true, auditSvc: "openai", auditPath: "/x"},
		{name: "wrong service row names the token's service", path: "/v1/github/user", headers: map[string]string{"Authorization": "Bearer " + tok}, status: 403, body: "token not valid for this service", reason: reasonWrongService, auditSess: true, auditSvc: "openai", auditPath: "/user"},
		{name: "service without a trailing path forwards /", path: "/v1/openai", headers: map[string]string{"Authorization": "Bearer " + tok}, status: 201, body: "upstream says hi", auditSess: true, auditSvc: "openai", auditPath: "/", upPath: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []wireOpt
			for k, v := range tt.headers {
				opts = append(opts, wireHeader(k, v))
			}
			r := wireDo(t, "GET", s.ProxyURL()+tt.path, "", opts...)
			if r.status != tt.status || r.body != tt.body {
				t.Fatalf("got %d %q, want %d %q", r.status, r.body, tt.status, tt.body)
			}
			if tt.reason == "" {
				if got := <-seen; got.path != tt.upPath {
					t.Fatalf("upstream saw path %q, want %q", got.path, tt.upPath)
				}
			} else if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Fatalf("content type %q", ct)
			}
			row := latestAudit(t, s)
			wantSess := ""
			if tt.auditSess {
				wantSess = sess.ID
			}
			wantReason := tt.reason
			if wantReason == "" {
				wantReason = "<nil>"
			}
			if deref(row.RejectReason) != wantReason ||
				row.Status != tt.status || row.SessionID != wantSess || row.Service != tt.auditSvc || row.Path != tt.auditPath {
				t.Fatalf("audit row %+v (reason %s)", row, deref(row.RejectReason))
			}
		})
	}
}

func TestReviewListLimitEchoIsCapped(t *testing.T) {
	t.Parallel()
	s := Start(t)
	tests := []struct {
		name, route, query string
		wantLimit          uint64
	}{
		{name: "jails over 500", route: "/v1/jails", query: "?limit=9999", wantLimit: 500},
		{name: "workspaces over 500", route: "/v1/workspaces", query: "?limit=501", wantLimit: 500},
		{name: "snapshots over 500", route: "/v1/snapshots", query: "?limit=18446744073709551615", wantLimit: 500},
		{name: "zero is echoed as zero", route: "/v1/jails", query: "?limit=0", wantLimit: 0},
		{name: "default", route: "/v1/workspaces", wantLimit: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var page struct {
				Limit uint64 `json:"limit"`
			}
			wireDo(t, "GET", s.URL()+tt.route+tt.query, "").wantJSON(t, 200, &page)
			if page.Limit != tt.wantLimit {
				t.Fatalf("limit %d, want %d", page.Limit, tt.wantLimit)
			}
		})
	}
}

func TestReviewJailsQueryIsNotTrimmed(t *testing.T) {
	t.Parallel()
	s := Start(t)
	wireDo(t, "POST", s.URL()+"/v1/runs", `{"language":"sh","code":"true"}`).wantJSON(t, 201, nil)
	tests := []struct {
		name, q   string
		wantTotal uint64
	}{
		{name: "plain", q: "sh", wantTotal: 1},
		{name: "upper case", q: "SH", wantTotal: 1},
		{name: "blank is no filter", q: "   ", wantTotal: 1},
		{name: "surrounding space is part of the needle", q: " sh", wantTotal: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var page struct {
				Total uint64 `json:"total"`
			}
			wireDo(t, "GET", s.URL()+"/v1/jails?q="+url.QueryEscape(tt.q), "").wantJSON(t, 200, &page)
			if page.Total != tt.wantTotal {
				t.Fatalf("q=%q: total %d, want %d", tt.q, page.Total, tt.wantTotal)
			}
		})
	}
}

func TestReviewFromSnapshotKeepsParentTenant(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t)
	var ws workspace
	wireDo(t, "POST", s.URL()+"/v1/workspaces", `{}`, wireKey(opBetaKey)).wantJSON(t, 201, &ws)
	var snap snapshotRecord
	wireDo(t, "POST", s.URL()+"/v1/workspaces/"+ws.ID+"/snapshot", `{}`, wireKey(opBetaKey)).wantJSON(t, 201, &snap)
	body, _ := json.Marshal(map[string]string{"snapshot_id": snap.ID, "parent_workspace_id": ws.ID})
	tests := []struct {
		name, key string
	}{
		{name: "admin of another tenant", key: adminKey},
		{name: "owner", key: opBetaKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got workspace
			wireDo(t, "POST", s.URL()+"/v1/workspaces/from-snapshot", string(body), wireKey(tt.key)).wantJSON(t, 201, &got)
			if got.TenantID != "beta" {
				t.Fatalf("restored workspace tenant %q, want the parent's %q", got.TenantID, "beta")
			}
			// And the owner can see it.
			wireDo(t, "GET", s.URL()+"/v1/workspaces/"+got.ID, "", wireKey(opBetaKey)).wantJSON(t, 200, nil)
		})
	}
}

func TestReviewExplicitNullIsA422(t *testing.T) {
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
	// Absent keys still take their defaults.
	var res execResponse
	wireDo(t, "POST", s.URL()+"/v1/runs", `{"code":"echo hi","language":"sh"}`).wantJSON(t, 201, &res)
	if res.Stdout != "hi\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
	wireDo(t, "POST", s.URL()+"/v1/sessions/sess_missing/exec", `{"cmd":"true"}`).wantError(t, 404, "not found: session sess_missing")
}

// The real server builds /v1/stats and the SSE stats/completed payloads with serde_json's json!
// macro; without serde_json's preserve_order feature (not enabled in its Cargo.lock) that map
// sorts its keys, so the bytes on the wire are in alphabetical key order.
func TestReviewJSONMacroKeyOrder(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.exec.setStreamTimings(time.Hour, time.Hour)
	stream := func(t *testing.T) string {
		r := wireDo(t, "POST", s.URL()+"/v1/runs/stream", `{"language":"sh","code":"exit 4"}`)
		if r.status != 200 {
			t.Fatalf("stream: %d %s", r.status, r.body)
		}
		return r.body[strings.LastIndex(r.body, "event: completed"):]
	}
	rec := httptest.NewRecorder()
	newSSEWriter(rec).json("stats", streamStatsOf(execStats{MemoryPeakBytes: 1, MemoryCurrentBytes: 2, CPUUsageUsec: 3, IOReadBytes: 4, IOWriteBytes: 5, PidsCurrent: 6}))
	tests := []struct {
		name string
		got  func(t *testing.T) string
		want *regexp.Regexp
	}{
		{
			name: "stats route",
			got:  func(t *testing.T) string { return wireDo(t, "GET", s.URL()+"/v1/stats", "").body },
			want: regexp.MustCompile(`^\{"active_execs":\d+,"credentials":0,"sessions":0,"total_execs":\d+\}$`),
		},
		{
			name: "stats event",
			got:  func(t *testing.T) string { return rec.Body.String() },
			want: regexp.MustCompile(`^event: stats\ndata: \{"cpu_usage_usec":3,"io_read_bytes":4,"io_write_bytes":5,"memory_current_bytes":2,"memory_peak_bytes":1,"pids_current":6\}\n\n$`),
		},
		{
			name: "completed event",
			got:  stream,
			want: regexp.MustCompile(`^event: completed\ndata: \{"cpu_usage_usec":\d+,"duration_ms":[1-9]\d*,"exit_code":4,"memory_current_bytes":\d+,"memory_peak_bytes":\d+,"oom_killed":false,"pids_current":\d+,"timed_out":false\}\n\n$`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.got(t); !tt.want.MatchString(got) {
				t.Fatalf("got %q, want %s", got, tt.want)
			}
		})
	}
}

func TestReviewNullBodyIsA422(t *testing.T) {
	t.Parallel()
	s := Start(t)
	var ws workspace
	wireDo(t, "POST", s.URL()+"/v1/workspaces", `{}`).wantJSON(t, 201, &ws)
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

func TestReviewWorkspaceExecLedgerHasNoGit(t *testing.T) {
	t.Parallel()
	s := Start(t)
	var ws workspace
	wireDo(t, "POST", s.URL()+"/v1/workspaces", `{}`).wantJSON(t, 201, &ws)
	// Give the workspace a git seed without cloning anything.
	st := s.exec.ws
	st.mu.Lock()
	repo, ref := "https://example.invalid/demo.git", "main"
	st.byID[ws.ID].ws.GitRepo, st.byID[ws.ID].ws.GitRef = &repo, &ref
	st.mu.Unlock()
	wireDo(t, "POST", s.URL()+"/v1/workspaces/"+ws.ID+"/exec", `{"cmd":"/bin/true"}`).wantJSON(t, 200, nil)
	var page struct {
		Rows []map[string]json.RawMessage `json:"rows"`
	}
	wireDo(t, "GET", s.URL()+"/v1/jails?kind=workspace", "").wantJSON(t, 200, &page)
	if len(page.Rows) != 1 {
		t.Fatalf("rows %v", page.Rows)
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(page.Rows[0]["config"], &cfg); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, key string }{{name: "repo", key: "git_repo"}, {name: "ref", key: "git_ref"}} {
		t.Run(tt.name, func(t *testing.T) {
			if v, ok := cfg[tt.key]; ok {
				t.Fatalf("config has %s = %s; the real server omits it for workspace execs", tt.key, v)
			}
		})
	}
}

// The real in-memory stores are ring buffers: 10 000 audit rows and 2 000 ledger rows. Older rows
// disappear; ids and the audit total keep counting.
func TestReviewStoresAreBounded(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.audit.mu.Lock()
	s.audit.cap = 3
	s.audit.mu.Unlock()
	s.exec.jails.mu.Lock()
	s.exec.jails.cap = 2
	s.exec.jails.mu.Unlock()
	for i := 0; i < 5; i++ {
		wireDo(t, "GET", s.ProxyURL()+"/v1/openai/x", "").wantPlain(t, 401, "missing phantom token")
	}
	for i := 0; i < 3; i++ {
		wireDo(t, "POST", s.URL()+"/v1/runs", `{"language":"sh","code":"true"}`).wantJSON(t, 201, nil)
	}
	ids, total := auditIDs(t, s, "")
	var jails struct {
		Rows  []jailRecord `json:"rows"`
		Total uint64       `json:"total"`
	}
	wireDo(t, "GET", s.URL()+"/v1/jails", "").wantJSON(t, 200, &jails)
	tests := []struct {
		name      string
		got, want string
	}{
		{name: "audit keeps the newest rows", got: fmt.Sprint(ids), want: "[4 3 2]"},
		{name: "audit total counts every row", got: fmt.Sprint(total), want: "5"},
		{name: "ledger keeps the newest rows", got: fmt.Sprint(len(jails.Rows), jails.Total, jails.Rows[0].ID), want: "2 2 2"},
		{name: "evicted ledger row is gone", got: fmt.Sprint(wireDo(t, "GET", s.URL()+"/v1/jails/0", "").status), want: "404"},
		{name: "retained ledger row", got: fmt.Sprint(wireDo(t, "GET", s.URL()+"/v1/jails/1", "").status), want: "200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
}

// A client that dialed a connection and never used it (Go's transport does this under concurrent
// requests) must not stall Close: http.Server.Shutdown alone waits for such connections.
func TestReviewCloseIgnoresUnusedConnections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		proxy bool
	}{
		{name: "control plane"},
		{name: "proxy", proxy: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			base := s.URL()
			if tt.proxy {
				base = s.ProxyURL()
			}
			c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// The same listener answering a later connection has accepted this one: connections
			// are accepted in order. Any answer will do.
			wireDo(t, "GET", base+"/healthz", "")
			start := time.Now()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("Close took %v with an idle fresh connection open", d)
			}
		})
	}
}

// The real Query extractor keeps a malformed escape or a ';' as part of the value (and so fails
// to parse it as a number) where net/url drops the whole pair.
func TestReviewQueryParsingIsLenientLikeFormURLEncoded(t *testing.T) {
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

// Incremental manifests list regular files only (the real engine skips symlinks at capture),
// sorted by the full path string.
func TestReviewIncrementalManifest(t *testing.T) {
	t.Parallel()
	s := Start(t, WithSnapshotPoolDir(t.TempDir()))
	var ws workspace
	wireDo(t, "POST", s.URL()+"/v1/workspaces", `{}`).wantJSON(t, 201, &ws)
	script := `mkdir -p a && printf x > a/b && printf yy > a.txt && ln -s a.txt link && chmod 755 a.txt`
	body, _ := json.Marshal(map[string]any{"cmd": "/bin/sh", "args": []string{"-c", script}})
	wireDo(t, "POST", s.URL()+"/v1/workspaces/"+ws.ID+"/exec", string(body)).wantJSON(t, 200, nil)
	var snap snapshotRecord
	wireDo(t, "POST", s.URL()+"/v1/workspaces/"+ws.ID+"/snapshot", `{}`).wantJSON(t, 201, &snap)
	var m struct {
		Kind    string          `json:"kind"`
		Entries []manifestEntry `json:"entries"`
	}
	wireDo(t, "GET", s.URL()+"/v1/snapshots/"+snap.ID+"/manifest", "").wantJSON(t, 200, &m)
	var got []string
	for _, e := range m.Entries {
		got = append(got, fmt.Sprintf("%s %o %d", e.Path, e.Mode, e.Size))
	}
	tests := []struct {
		name, got, want string
	}{
		{name: "kind", got: m.Kind, want: "incremental"},
		{name: "entries", got: strings.Join(got, ","), want: "a.txt 100755 2,a/b 100644 1"},
		{name: "size_bytes", got: fmt.Sprint(snap.SizeBytes), want: "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// Classic snapshots, restores and workspace forks copy regular files only, like the real engine's
// copy_dir_with: a symlink in the workspace does not survive.
func TestReviewCopiesSkipSymlinks(t *testing.T) {
	t.Parallel()
	s := Start(t)
	var ws workspace
	wireDo(t, "POST", s.URL()+"/v1/workspaces", `{}`).wantJSON(t, 201, &ws)
	exec := func(t *testing.T, id, script string) string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"cmd": "/bin/sh", "args": []string{"-c", script}})
		var res execResponse
		wireDo(t, "POST", s.URL()+"/v1/workspaces/"+id+"/exec", string(body)).wantJSON(t, 200, &res)
		return res.Stdout
	}
	exec(t, ws.ID, "printf data > f && ln -s f link && ln -s /etc/hostname outside")
	var snap snapshotRecord
	wireDo(t, "POST", s.URL()+"/v1/workspaces/"+ws.ID+"/snapshot", `{}`).wantJSON(t, 201, &snap)
	var restored workspace
	body, _ := json.Marshal(map[string]string{"snapshot_id": snap.ID, "parent_workspace_id": ws.ID})
	wireDo(t, "POST", s.URL()+"/v1/workspaces/from-snapshot", string(body)).wantJSON(t, 201, &restored)
	var fork forkWorkspaceResponse
	wireDo(t, "POST", s.URL()+"/v1/workspaces/"+ws.ID+"/fork", `{"count":1}`).wantJSON(t, 201, &fork)
	tests := []struct {
		name, id string
	}{
		{name: "restored from a classic snapshot", id: restored.ID},
		{name: "workspace fork", id: fork.Forks[0].ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exec(t, tt.id, "ls -A"); got != "f\n" {
				t.Fatalf("files %q, want only the regular file", got)
			}
		})
	}
	if snap.SizeBytes != 4 {
		t.Fatalf("size_bytes %d, want 4", snap.SizeBytes)
	}
}

func TestReviewInvalidUTF8BodyIsA400(t *testing.T) {
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

// In the multi-repo form the real server validates an entry's directory before its URL and ref.
func TestReviewGitReposCheckDirFirst(t *testing.T) {
	t.Parallel()
	s := Start(t)
	tests := []struct {
		name, git, want string
	}{
		{name: "bad dir and bad url", git: `{"repos":[{"repo":"http://x/a","dir":".hidden"}]}`, want: "bad request: git.repos.dir must not contain slashes or leading `.`: \".hidden\""},
		{name: "empty default dir and bad ref", git: `{"repos":[{"repo":"https://x/","ref":"-x"}]}`, want: `bad request: git.repos.dir invalid: ""`},
		{name: "good dir, bad url", git: `{"repos":[{"repo":"http://x/a","dir":"a"}]}`, want: "bad request: git.repo must be https:// (max 512 bytes)"},
		{name: "good dir, bad ref", git: `{"repos":[{"repo":"https://x/a","ref":"-x"}]}`, want: "bad request: git.ref must not start with `-`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wireDo(t, "POST", s.URL()+"/v1/runs", `{"language":"sh","code":"true","git":`+tt.git+`}`).wantError(t, 400, tt.want)
		})
	}
}

// serde_json writes U+2028 and U+2029 as themselves; encoding/json escapes them.
func TestReviewLineSeparatorsAreNotEscaped(t *testing.T) {
	t.Parallel()
	s := Start(t)
	tests := []struct {
		name, code, want string
	}{
		{name: "line and paragraph separators", code: `printf '\342\200\250\342\200\251'`, want: `{"stdout":"` + "\u2028\u2029" + `",`},
		{name: "literal backslash-u text stays escaped", code: `printf '%s' '\u2028'`, want: `{"stdout":"\\u2028",`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, _ := json.Marshal(map[string]string{"language": "sh", "code": tt.code})
			r := wireDo(t, "POST", s.URL()+"/v1/runs", string(body))
			if r.status != 201 || !strings.HasPrefix(r.body, tt.want) {
				t.Fatalf("got %d %q, want prefix %q", r.status, r.body, tt.want)
			}
		})
	}
	t.Run("unit", func(t *testing.T) {
		in := []byte(`"a\u2028b\\u2029c\\\u2029d\n"`)
		want := "\"a\u2028b\\\\u2029c\\\\\u2029d\\n\""
		if got := string(unescapeLineSeparators(in)); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

// A spawn failure is a masked 500 everywhere, but only the run route has opened its ledger row by
// then: the real stream route records its row after the process started.
func TestReviewSpawnFailureLedger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path string
		wantRows   int
	}{
		{name: "run leaves an error row", path: "/v1/runs", wantRows: 1},
		{name: "stream leaves no row", path: "/v1/runs/stream", wantRows: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Start(t)
			s.exec.run.close() // every later spawn fails
			wireDo(t, "POST", s.URL()+tt.path, `{"language":"sh","code":"true"}`).wantError(t, 500, "internal server error")
			var page struct {
				Rows []jailRecord `json:"rows"`
			}
			wireDo(t, "GET", s.URL()+"/v1/jails", "").wantJSON(t, 200, &page)
			if len(page.Rows) != tt.wantRows {
				t.Fatalf("rows %+v, want %d", page.Rows, tt.wantRows)
			}
			if tt.wantRows == 1 && (page.Rows[0].Status != "error" || page.Rows[0].Error == nil) {
				t.Fatalf("row %+v", page.Rows[0])
			}
		})
	}
}

func TestReviewTokenExpiresAtItsInstant(t *testing.T) {
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
