package testserver

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestAuditPagingAndShape: rows come newest first with ids from 0; limit defaults to 100, is
// clamped at 1000 rather than rejected, and total counts every row ever recorded.
func TestAuditPagingAndShape(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for i := 0; i < 5; i++ {
		wireDo(t, "PUT", s.ProxyURL()+fmt.Sprintf("/v1/openai/bad%d", i), "").wantPlain(t, 401, "missing phantom token")
	}
	tests := []struct {
		name  string
		query string
		want  []uint64
	}{
		{name: "default limit, newest first, ids from 0", want: []uint64{4, 3, 2, 1, 0}},
		{name: "limit", query: "?limit=2", want: []uint64{4, 3}},
		{name: "limit zero", query: "?limit=0", want: []uint64{}},
		{name: "huge limit is clamped, not rejected", query: "?limit=99999999999", want: []uint64{4, 3, 2, 1, 0}},
		{name: "unknown params ignored", query: "?offset=3&tenant=x", want: []uint64{4, 3, 2, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ids, total := auditIDs(t, s, tt.query)
			if fmt.Sprint(ids) != fmt.Sprint(tt.want) || total != 5 {
				t.Fatalf("ids %v total %d, want %v total 5", ids, total, tt.want)
			}
		})
	}
	// Exact key set of a row, with nulls rather than omissions.
	r := wireDo(t, "GET", s.URL()+"/v1/audit?limit=1", "")
	var raw struct {
		Rows  []map[string]json.RawMessage `json:"rows"`
		Total json.RawMessage              `json:"total"`
	}
	r.wantJSON(t, 200, &raw)
	row := raw.Rows[0]
	want := map[string]string{
		"id": "4", "session_id": `""`, "service": `""`, "method": `"PUT"`, "path": `"/bad4"`,
		"status": "401", "reject_reason": `"no_token"`, "upstream_ms": "null",
	}
	if len(row) != 9 {
		t.Fatalf("row keys %v", row)
	}
	for k, v := range want {
		if string(row[k]) != v {
			t.Fatalf("%s = %s, want %s", k, row[k], v)
		}
	}
	var at string
	if err := json.Unmarshal(row["at"], &at); err != nil || !rfc3339Z.MatchString(at) {
		t.Fatalf("at = %s", row["at"])
	}
}

func TestAuditOperatorFiltering(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t, WithCredential("beta", "openai", "b"), WithCredential("gamma", "openai", "g"))
	beta, gamma := createSession(t, s, opBetaKey, "openai"), createSession(t, s, opGamKey, "openai")
	// wrong_service rejects carry the session id and need no upstream.
	hit := func(sess session) {
		t.Helper()
		wireDo(t, "GET", s.ProxyURL()+"/v1/github/user", "", wireKey(sess.Env["OPENAI_API_KEY"])).wantPlain(t, 403, "token not valid for this service")
	}
	wireDo(t, "GET", s.ProxyURL()+"/v1/openai/x", "").wantPlain(t, 401, "missing phantom token") // id 0, pre-auth
	hit(beta)                                                                                    // 1
	hit(gamma)                                                                                   // 2
	hit(beta)                                                                                    // 3

	views := []struct {
		name, key, query string
		want             []uint64
	}{
		{name: "admin sees everything", key: adminKey, want: []uint64{3, 2, 1, 0}},
		{name: "beta sees its session's rows", key: opBetaKey, want: []uint64{3, 1}},
		{name: "gamma sees its session's rows", key: opGamKey, want: []uint64{2}},
		{name: "operator limit", key: opBetaKey, query: "?limit=1", want: []uint64{3}},
	}
	for _, v := range views {
		ids, total := auditIDs(t, s, v.query, wireKey(v.key))
		if fmt.Sprint(ids) != fmt.Sprint(v.want) || total != 4 {
			t.Fatalf("%s: ids %v total %d, want %v and the global total 4", v.name, ids, total, v.want)
		}
	}

	// Rows of a deleted session disappear for the operator.
	if r := wireDo(t, "DELETE", s.URL()+"/v1/sessions/"+beta.ID, "", wireKey(opBetaKey)); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if ids, total := auditIDs(t, s, "", wireKey(opBetaKey)); len(ids) != 0 || total != 4 {
		t.Fatalf("after delete: %v total %d", ids, total)
	}
}

func TestAuditOperatorWindow(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t, WithCredential("beta", "openai", "b"), WithCredential("gamma", "openai", "g"))
	beta, gamma := createSession(t, s, opBetaKey, "openai"), createSession(t, s, opGamKey, "openai")
	wireDo(t, "GET", s.ProxyURL()+"/v1/github/x", "", wireKey(beta.Env["OPENAI_API_KEY"])) // id 0: beta
	for i := 0; i < 8; i++ {                                                               // ids 1..8: gamma
		wireDo(t, "GET", s.ProxyURL()+"/v1/github/x", "", wireKey(gamma.Env["OPENAI_API_KEY"]))
	}
	tests := []struct {
		query string
		want  []uint64
	}{
		{query: "?limit=2", want: []uint64{}},  // window of 8 rows holds only gamma's
		{query: "?limit=3", want: []uint64{0}}, // window of 12 reaches row 0
	}
	for _, tt := range tests {
		ids, total := auditIDs(t, s, tt.query, wireKey(opBetaKey))
		if fmt.Sprint(ids) != fmt.Sprint(tt.want) || total != 9 {
			t.Fatalf("%s: ids %v total %d, want %v total 9", tt.query, ids, total, tt.want)
		}
	}
}

// TestAuditKeepsNewestRows: the real in-memory audit store is a ring buffer of 10 000 rows.
// Older rows disappear; ids and the total keep counting.
func TestAuditKeepsNewestRows(t *testing.T) {
	t.Parallel()
	a := &auditLog{cap: 3}
	for range 5 {
		a.append(auditRow{})
	}
	rows, total := a.recent(10)
	var ids []uint64
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	if fmt.Sprint(ids) != "[4 3 2]" || total != 5 {
		t.Fatalf("ids %v total %d, want the newest rows [4 3 2] and every row counted (5)", ids, total)
	}
}
