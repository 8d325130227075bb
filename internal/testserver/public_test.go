package testserver

import (
	"testing"
)

// TestStatsCounts: /v1/stats needs no key and counts every session and credential record.
func TestStatsCounts(t *testing.T) {
	t.Parallel()
	s := Start(t, WithCredential("dev", "openai", "seeded"))
	wireDo(t, "POST", s.URL()+"/v1/credentials", `{"service":"github","secret":"x"}`).wantJSON(t, 200, nil)
	wireDo(t, "POST", s.URL()+"/v1/sessions", `{"services":["openai"],"ttl_secs":0}`).wantJSON(t, 201, nil)
	wireDo(t, "POST", s.URL()+"/v1/sessions", `{"services":["github"]}`).wantJSON(t, 201, nil)
	// Expired sessions count; seeded keys do not. The keys are in alphabetical order because the
	// real server builds the body with serde_json's json! macro, whose map sorts its keys.
	r := wireDo(t, "GET", s.URL()+"/v1/stats", "")
	r.wantJSON(t, 200, nil)
	if want := `{"active_execs":0,"credentials":1,"sessions":2,"total_execs":0}`; r.body != want {
		t.Fatalf("stats %s, want %s", r.body, want)
	}
}
