//go:build unix

package testserver

import (
	"fmt"
	"strings"
	"testing"
)

// TestJailLedger covers the ledger routes: tenancy, paging with the echoed limit, the status,
// kind and q filters, and the shape of one row.
func TestJailLedger(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAPIKeys("adm@acme:admin", "op@acme:operator", "other@beta:operator"))
	for _, c := range []struct{ key, lang, code string }{
		{"op", "sh", "echo one"},
		{"op", "bash", "exit 2"},
		{"other", "sh", "echo Needle"},
	} {
		apiCall(t, srv, c.key, "POST", "/v1/runs", map[string]any{"language": c.lang, "code": c.code}).wantJSON(t, 201, nil)
	}
	type page struct {
		Rows   []jailRecord `json:"rows"`
		Total  uint64       `json:"total"`
		Limit  uint64       `json:"limit"`
		Offset uint64       `json:"offset"`
	}
	tests := []struct {
		name      string
		key, q    string
		wantIDs   []int64
		wantTotal uint64
		wantLimit uint64
	}{
		{name: "admin sees all newest first", key: "adm", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 50},
		{name: "operator sees own tenant", key: "op", wantIDs: []int64{1, 0}, wantTotal: 2, wantLimit: 50},
		{name: "other tenant", key: "other", wantIDs: []int64{2}, wantTotal: 1, wantLimit: 50},
		{name: "limit and offset", key: "adm", q: "?limit=1&offset=1", wantIDs: []int64{1}, wantTotal: 3, wantLimit: 1},
		{name: "limit 0 echoed, one row returned", key: "adm", q: "?limit=0", wantIDs: []int64{2}, wantTotal: 3, wantLimit: 0},
		{name: "limit above 500 echoed clamped", key: "adm", q: "?limit=900", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 500},
		{name: "offset past end", key: "adm", q: "?offset=10", wantIDs: nil, wantTotal: 3, wantLimit: 50},
		{name: "kind filter", key: "adm", q: "?kind=run", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 50},
		{name: "kind filter without match", key: "adm", q: "?kind=fork", wantIDs: nil, wantTotal: 0, wantLimit: 50},
		{name: "unknown kind ignored", key: "adm", q: "?kind=nope", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 50},
		{name: "status filter", key: "adm", q: "?status=completed", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 50},
		{name: "status error", key: "adm", q: "?status=error", wantIDs: nil, wantTotal: 0, wantLimit: 50},
		{name: "unknown status ignored", key: "adm", q: "?status=bogus", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 50},
		{name: "q on label, case-insensitive", key: "adm", q: "?q=BASH", wantIDs: []int64{1}, wantTotal: 1, wantLimit: 50},
		{name: "blank q is no filter", key: "adm", q: "?q=%20%20", wantIDs: []int64{2, 1, 0}, wantTotal: 3, wantLimit: 50},
		{name: "q is not trimmed: surrounding space is part of the needle", key: "adm", q: "?q=%20sh", wantIDs: nil, wantTotal: 0, wantLimit: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p page
			apiCall(t, srv, tt.key, "GET", "/v1/jails"+tt.q, nil).wantJSON(t, 200, &p)
			var ids []int64
			for _, r := range p.Rows {
				ids = append(ids, r.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.wantIDs) || p.Total != tt.wantTotal || p.Limit != tt.wantLimit {
				t.Fatalf("ids %v total %d limit %d, want %v %d %d", ids, p.Total, p.Limit, tt.wantIDs, tt.wantTotal, tt.wantLimit)
			}
		})
	}

	var rec map[string]any
	apiCall(t, srv, "op", "GET", "/v1/jails/1", nil).wantJSON(t, 200, &rec)
	if rec["exit_code"] != float64(2) || rec["label"] != "bash" || rec["kind"] != "run" || rec["session_id"] != nil || rec["stdout"] != "" {
		t.Fatalf("jail 1 = %v", rec)
	}
	cfg, _ := rec["config"].(map[string]any)
	if _, ok := cfg["network_domains"]; ok || cfg["git_repo"] != nil {
		t.Fatalf("config keys not omitted: %v", cfg)
	}
	for _, k := range []string{"ended_at", "duration_ms", "memory_peak_bytes", "parent_id", "error", "timed_out"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	apiCall(t, srv, "op", "GET", "/v1/jails/2", nil).wantError(t, 404, "not found: jail 2")
	apiCall(t, srv, "op", "GET", "/v1/jails/99", nil).wantError(t, 404, "not found: jail 99")
	apiCall(t, srv, "op", "GET", "/v1/jails/abc", nil).wantError(t, 400, "bad request: invalid id")
	apiCall(t, srv, "op", "GET", "/v1/jails?limit=abc", nil).wantPlainPrefix(t, 400, "Failed to deserialize query string: ")
}

func TestLedgerTextCap(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", ledgerCap) // 2 bytes each
	got := *ledgerText(long)
	if !strings.HasSuffix(got, "… (truncated)") || len(got) != ledgerCap+len("… (truncated)") {
		t.Fatalf("len %d suffix %q", len(got), tail(got))
	}
	if s := *ledgerText("short"); s != "short" {
		t.Fatalf("short = %q", s)
	}
}

// TestLedgerKeepsNewestRows: the real in-memory ledger is a ring buffer of 2 000 rows. Older
// rows disappear (404) while ids keep counting.
func TestLedgerKeepsNewestRows(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.exec.jails.mu.Lock()
	s.exec.jails.cap = 2
	s.exec.jails.mu.Unlock()
	for i := 0; i < 3; i++ {
		wireDo(t, "POST", s.URL()+"/v1/runs", `{"language":"sh","code":"true"}`).wantJSON(t, 201, nil)
	}
	var jails struct {
		Rows  []jailRecord `json:"rows"`
		Total uint64       `json:"total"`
	}
	wireDo(t, "GET", s.URL()+"/v1/jails", "").wantJSON(t, 200, &jails)
	tests := []struct {
		name      string
		got, want string
	}{
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

// TestLedgerSearch: q matches a row's label, session id or error, ignoring case, among the rows
// the caller may see; an empty ledger lists nothing.
func TestLedgerSearch(t *testing.T) {
	t.Parallel()
	st := &jailStore{cap: jailCapacity}
	if rows, total := st.list(devScope, jailFilter{limit: 50}); len(rows) != 0 || total != 0 {
		t.Fatalf("empty ledger lists %v %d", rows, total)
	}
	if st.rowLocked(0) != nil {
		t.Fatal("empty ledger has row 0")
	}
	st.open(newJail{tenant: "dev", kind: "run", label: "Nightly-Build"})
	st.open(newJail{tenant: "dev", kind: "exec", label: "exec", sessionID: "sess_ABC"})
	failed := st.open(newJail{tenant: "dev", kind: "run", label: "run"})
	st.fail(failed, "Disk Full")
	st.open(newJail{tenant: "other", kind: "run", label: "nightly-other"})
	tests := []struct {
		q    string
		sc   scope
		want string // labels, newest first
	}{
		{q: "nightly", sc: devScope, want: "nightly-other Nightly-Build"},
		{q: "NIGHTLY", sc: scope{tenant: "dev", role: roleOperator}, want: "Nightly-Build"},
		{q: "sess_abc", sc: devScope, want: "exec"},
		{q: "disk full", sc: devScope, want: "run"},
		{q: "nothing", sc: devScope, want: ""},
	}
	for _, tt := range tests {
		rows, _ := st.list(tt.sc, jailFilter{limit: 50, q: tt.q})
		var labels []string
		for _, r := range rows {
			labels = append(labels, r.Label)
		}
		if got := strings.Join(labels, " "); got != tt.want {
			t.Errorf("q=%q as %v: %q, want %q", tt.q, tt.sc, got, tt.want)
		}
	}
}
