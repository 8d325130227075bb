package testserver

import (
	"slices"
	"testing"
	"time"
)

// TestFingerprintIsFNV1a64: a credential's fingerprint is the 64-bit FNV-1a hash of its secret
// as 16 lowercase hex digits.
func TestFingerprintIsFNV1a64(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, secret, want string
	}{
		{name: "empty", secret: "", want: "cbf29ce484222325"},
		{name: "a", secret: "a", want: "af63dc4c8601ec8c"},
		{name: "foobar", secret: "foobar", want: "85944171f73967e8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := fingerprint(tt.secret); got != tt.want {
				t.Fatalf("fingerprint(%q) = %s, want %s", tt.secret, got, tt.want)
			}
		})
	}
}

func TestCredentialPutAndTenancy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		key        string
		query      string
		body       string
		status     int
		err        string // JSON error message when status is not 200
		wantTenant string
	}{
		{name: "operator own tenant", key: opBetaKey, body: `{"service":"openai","secret":"a"}`, status: 200, wantTenant: "beta"},
		{name: "operator names own tenant", key: opBetaKey, query: "?tenant=beta", body: `{"service":"github","secret":"a"}`, status: 200, wantTenant: "beta"},
		{name: "operator foreign tenant", key: opBetaKey, query: "?tenant=gamma", body: `{"service":"openai","secret":"a"}`, status: 404, err: "not found: not found"},
		{name: "tenant check before secret check", key: opBetaKey, query: "?tenant=gamma", body: `{"service":"openai","secret":"  "}`, status: 404, err: "not found: not found"},
		{name: "operator empty tenant param", key: opBetaKey, query: "?tenant=", body: `{"service":"openai","secret":"a"}`, status: 404, err: "not found: not found"},
		{name: "blank secret", key: opBetaKey, body: `{"service":"openai","secret":" \t\n"}`, status: 400, err: "bad request: secret must be non-empty"},
		{name: "empty secret", key: adminKey, body: `{"service":"openai","secret":""}`, status: 400, err: "bad request: secret must be non-empty"},
		{name: "admin own tenant", key: adminKey, body: `{"service":"stripe","secret":"a"}`, status: 200, wantTenant: "acme"},
		{name: "admin any tenant", key: adminKey, query: "?tenant=zeta", body: `{"service":"stripe","secret":"a"}`, status: 200, wantTenant: "zeta"},
		{name: "admin empty tenant is not validated", key: adminKey, query: "?tenant=", body: `{"service":"stripe","secret":"a"}`, status: 200, wantTenant: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tenancyServer(t)
			r := wireDo(t, "POST", s.URL()+"/v1/credentials"+tt.query, tt.body, wireKey(tt.key))
			if tt.status != 200 {
				r.wantError(t, tt.status, tt.err)
				return
			}
			var rec map[string]any
			r.wantJSON(t, 200, &rec)
			if rec["tenant_id"] != tt.wantTenant || rec["fingerprint"] != fingerprint("a") {
				t.Fatalf("record = %v", rec)
			}
			if len(rec) != 5 {
				t.Fatalf("record has keys %v, want exactly tenant_id service added_at updated_at fingerprint", rec)
			}
			for _, k := range []string{"added_at", "updated_at"} {
				if ts, _ := rec[k].(string); !rfc3339Z.MatchString(ts) {
					t.Fatalf("%s = %v, not RFC 3339 UTC", k, rec[k])
				}
			}
		})
	}
}

func TestCredentialListDeleteAndStats(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t, WithCredential("beta", "anthropic", "seeded"))
	put := func(key, query, svc string) {
		t.Helper()
		wireDo(t, "POST", s.URL()+"/v1/credentials"+query, `{"service":"`+svc+`","secret":"x"}`, wireKey(key)).wantJSON(t, 200, nil)
	}
	put(opGamKey, "", "stripe")
	put(opBetaKey, "", "openai")
	put(adminKey, "", "github")
	put(opBetaKey, "", "github")

	list := func(key, query string) []string {
		t.Helper()
		var recs []credentialRecord
		wireDo(t, "GET", s.URL()+"/v1/credentials"+query, "", wireKey(key)).wantJSON(t, 200, &recs)
		var out []string
		for _, r := range recs {
			out = append(out, r.TenantID+"/"+r.Service)
		}
		return out
	}
	lists := []struct {
		name, key, query string
		want             []string
	}{
		{name: "admin sees all sorted", key: adminKey, want: []string{"acme/github", "beta/github", "beta/openai", "gamma/stripe"}},
		{name: "admin filter", key: adminKey, query: "?tenant=beta", want: []string{"beta/github", "beta/openai"}},
		{name: "admin filter nobody", key: adminKey, query: "?tenant=nobody", want: nil},
		{name: "operator own only", key: opBetaKey, want: []string{"beta/github", "beta/openai"}},
		{name: "operator tenant param ignored", key: opBetaKey, query: "?tenant=gamma", want: []string{"beta/github", "beta/openai"}},
	}
	for _, tt := range lists {
		if got := list(tt.key, tt.query); !slices.Equal(got, tt.want) {
			t.Fatalf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	// Seeded keys are neither listed nor counted.
	if st := statsOf(t, s); st.Credentials != 4 {
		t.Fatalf("stats credentials = %d, want 4", st.Credentials)
	}

	deletes := []struct {
		name, key, path string
		status          int
		err             string
	}{
		{name: "operator foreign tenant", key: opBetaKey, path: "/v1/credentials/openai?tenant=gamma", status: 404, err: "not found: not found"},
		{name: "tenant check before service check", key: opBetaKey, path: "/v1/credentials/nope?tenant=gamma", status: 404, err: "not found: not found"},
		{name: "unknown service is case-sensitive", key: opBetaKey, path: "/v1/credentials/OpenAI", status: 400, err: "bad request: unknown service OpenAI"},
		{name: "no record", key: opBetaKey, path: "/v1/credentials/stripe", status: 404, err: "not found: credential stripe"},
		{name: "seeded key has no record", key: opBetaKey, path: "/v1/credentials/anthropic", status: 404, err: "not found: credential anthropic"},
		{name: "operator deletes own", key: opBetaKey, path: "/v1/credentials/openai", status: 204},
		{name: "second delete", key: opBetaKey, path: "/v1/credentials/openai", status: 404, err: "not found: credential openai"},
		{name: "admin deletes for another tenant", key: adminKey, path: "/v1/credentials/stripe?tenant=gamma", status: 204},
	}
	for _, tt := range deletes {
		r := wireDo(t, "DELETE", s.URL()+tt.path, "", wireKey(tt.key))
		if tt.status == 204 {
			if r.status != 204 || r.body != "" {
				t.Fatalf("%s: got %d %q", tt.name, r.status, r.body)
			}
			continue
		}
		r.wantError(t, tt.status, tt.err)
	}
	if got := list(adminKey, ""); !slices.Equal(got, []string{"acme/github", "beta/github"}) {
		t.Fatalf("after deletes: %v", got)
	}
	if _, ok := s.keys.get("beta", "openai"); ok {
		t.Fatal("deleted credential's secret still in the key store")
	}
	if _, ok := s.keys.get("beta", "anthropic"); !ok {
		t.Fatal("seeded key lost")
	}
}

func TestCredentialUpsertKeepsAddedAt(t *testing.T) {
	t.Parallel()
	s := Start(t)
	var first, second credentialRecord
	wireDo(t, "POST", s.URL()+"/v1/credentials", `{"service":"openai","secret":"one"}`).wantJSON(t, 200, &first)
	wireDo(t, "POST", s.URL()+"/v1/credentials", `{"service":"openai","secret":" two "}`).wantJSON(t, 200, &second)
	if !second.AddedAt.Equal(first.AddedAt) || second.UpdatedAt.Before(first.UpdatedAt) {
		t.Fatalf("first %+v, second %+v", first, second)
	}
	if second.Fingerprint != fingerprint(" two ") {
		t.Fatalf("fingerprint %s: the secret must be stored untrimmed", second.Fingerprint)
	}
	if got, _ := s.keys.get("dev", "openai"); got != " two " {
		t.Fatalf("key store has %q", got)
	}
	if second.UpdatedAt.Location() != time.UTC {
		t.Fatal("timestamps are not UTC")
	}
}
