//go:build unix

package testserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestExecOptionsValidation covers the ExecOptions checks: network and seccomp shapes (422) and
// the allowlist rules (400), applied when a jail is built.
func TestExecOptionsValidation(t *testing.T) {
	t.Parallel()
	checkRejections(t, Start(t), "/v1/runs", []rejection{
		{name: "network as bare string", body: `{"code":"x","network":"none"}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "unknown network mode", body: `{"code":"x","network":{"mode":"x"}}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: unknown variant `x`, expected one of `none`, `loopback`, `allowlist` at line 1 column 35"},
		{name: "seccomp disabled", body: `{"code":"x","seccomp":"disabled"}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "negative timeout", body: `{"code":"x","timeout_secs":-1}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: "},
		{name: "empty allowlist", body: `{"code":"x","language":"sh","network":{"mode":"allowlist"}}`, status: 400, msg: "bad request: allowlist must contain at least one domain"},
		{name: "too many domains", body: `{"code":"x","language":"sh","network":{"mode":"allowlist","domains":[` + strings.Repeat(`"a.com",`, 32) + `"b.com"]}}`, status: 400, msg: "bad request: allowlist limited to 32 domains"},
		{name: "domain with space", body: `{"code":"x","language":"sh","network":{"mode":"allowlist","domains":["a b"]}}`, status: 400, msg: `bad request: invalid domain: "a b"`},
		{name: "empty domain", body: `{"code":"x","language":"sh","network":{"mode":"allowlist","domains":[""]}}`, status: 400, msg: `bad request: invalid domain: ""`},
		{name: "domain too long", body: `{"code":"x","language":"sh","network":{"mode":"allowlist","domains":["` + strings.Repeat("a", 254) + `"]}}`, status: 400, msg: `bad request: invalid domain: "` + strings.Repeat("a", 254) + `"`},
		{name: "domain with escapes", body: `{"code":"x","language":"sh","network":{"mode":"allowlist","domains":["a\t\"\\\n\r\u0001é"]}}`, status: 400, msg: `bad request: invalid domain: "a\t\"\\\n\r\u{1}é"`},
		{name: "domain with scheme", body: `{"code":"x","language":"sh","network":{"mode":"allowlist","domains":["https://a.com"]}}`, status: 400, msg: `bad request: domain must not include scheme: "https://a.com"`},
	})
	// A session exec validates its settings the same way before it runs anything.
	srv := Start(t, WithCredential("dev", "github", "x"))
	sessID := createSession(t, srv, "", "github").ID
	checkRejections(t, srv, "/v1/sessions/"+sessID+"/exec", []rejection{
		{name: "session exec with an empty allowlist", body: `{"cmd":"true","network":{"mode":"allowlist"}}`, status: 400, msg: "bad request: allowlist must contain at least one domain"},
	})
}

// TestExecOptionsClamps: timeout, memory, CPU and PID values are clamped to the real server's
// bounds, and the ledger's config snapshot shows what was applied.
func TestExecOptionsClamps(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	tests := []struct {
		name string
		body map[string]any
		want jailConfigSnapshot
	}{
		{name: "defaults", body: map[string]any{},
			want: jailConfigSnapshot{NetworkMode: "none", Seccomp: "standard", MemoryMB: 512, TimeoutSecs: 300, CPUPercent: 100, MaxPids: 64}},
		{name: "lower bounds", body: map[string]any{"timeout_secs": 0, "memory_mb": 0, "cpu_percent": 0, "max_pids": 0},
			want: jailConfigSnapshot{NetworkMode: "none", Seccomp: "standard", MemoryMB: 0, TimeoutSecs: 1, CPUPercent: 1, MaxPids: 1}},
		{name: "upper bounds", body: map[string]any{"timeout_secs": 99999, "memory_mb": 99999, "cpu_percent": 9999, "max_pids": 5000, "seccomp": "strict"},
			want: jailConfigSnapshot{NetworkMode: "none", Seccomp: "strict", MemoryMB: 8192, TimeoutSecs: 3600, CPUPercent: 800, MaxPids: 1024}},
		{name: "allowlist recorded", body: map[string]any{"network": map[string]any{"mode": "allowlist", "domains": []string{"api.openai.com"}}},
			want: jailConfigSnapshot{NetworkMode: "allowlist", NetworkDomains: []string{"api.openai.com"}, Seccomp: "standard", MemoryMB: 512, TimeoutSecs: 300, CPUPercent: 100, MaxPids: 64}},
		{name: "loopback", body: map[string]any{"network": map[string]any{"mode": "loopback", "domains": []string{"ignored"}}},
			want: jailConfigSnapshot{NetworkMode: "loopback", Seccomp: "standard", MemoryMB: 512, TimeoutSecs: 300, CPUPercent: 100, MaxPids: 64}},
	}
	t.Run("runs", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				tt.body["code"] = "true"
				tt.body["language"] = "sh"
				apiCall(t, srv, "", "POST", "/v1/runs", tt.body).wantJSON(t, http.StatusCreated, nil)
			})
		}
	})
	// The ledger's config snapshot shows what the server applied.
	var page struct {
		Rows []json.RawMessage `json:"rows"`
	}
	apiCall(t, srv, "", "GET", "/v1/jails", nil).wantJSON(t, 200, &page)
	var got []string
	for _, raw := range page.Rows {
		var row struct {
			Config json.RawMessage `json:"config"`
		}
		_ = json.Unmarshal(raw, &row)
		got = append(got, string(row.Config))
	}
	for _, tt := range tests {
		want, _ := json.Marshal(tt.want)
		found := false
		for _, g := range got {
			found = found || g == string(want)
		}
		if !found {
			t.Errorf("%s: no ledger config %s among %q", tt.name, want, got)
		}
	}
}
