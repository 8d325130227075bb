package testserver

import (
	"strings"
	"testing"
)

// TestAuthentication covers how the Authorization header is read: "Bearer " (exact case) is
// stripped, the rest trimmed, a bare token accepted, and a missing or non-ASCII header is
// "missing api key" in plain text.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	checkFrontDoor(t, tenancyServer(t), []frontDoorCase{
		{name: "missing key", method: "GET", path: "/v1/whoami", status: 401, body: "missing api key", plain: true},
		{name: "unknown key", method: "GET", path: "/v1/whoami", opts: []wireOpt{wireKey("nope")}, status: 401, body: "invalid api key", plain: true},
		{name: "lower-case bearer is part of the token", method: "GET", path: "/v1/whoami", opts: []wireOpt{wireHeader("Authorization", "bearer "+adminKey)}, status: 401, body: "invalid api key", plain: true},
		{name: "bare token accepted", method: "GET", path: "/v1/whoami", opts: []wireOpt{wireHeader("Authorization", adminKey)}, status: 200, jsonReply: true},
		{name: "token is trimmed", method: "GET", path: "/v1/whoami", opts: []wireOpt{wireHeader("Authorization", "Bearer   "+adminKey+"  ")}, status: 200, jsonReply: true},
		{name: "non-ascii header is missing", method: "GET", path: "/v1/whoami", opts: []wireOpt{wireHeader("Authorization", "Bearer \xe9")}, status: 401, body: "missing api key", plain: true},
	})
}

func TestAuthOffIsDevAdmin(t *testing.T) {
	t.Parallel()
	s := Start(t)
	var who map[string]string
	wireDo(t, "GET", s.URL()+"/v1/whoami", "").wantJSON(t, 200, &who)
	if who["tenant"] != "dev" || who["role"] != "admin" {
		t.Fatalf("whoami = %v", who)
	}
	// With auth off every key is ignored, even a bogus one.
	wireDo(t, "GET", s.URL()+"/v1/whoami", "", wireKey("whatever")).wantJSON(t, 200, nil)
	wireDo(t, "GET", s.URL()+"/nope", "").wantEmpty(t, 404)
}

func TestParseAPIKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		entry string
		ok    bool
	}{
		{name: "admin", entry: "s3cr3t@acme:admin", ok: true},
		{name: "operator", entry: "s3cr3t@acme-1_x:operator", ok: true},
		{name: "token may contain a colon", entry: "s3cr3t:b@acme:admin", ok: true},
		{name: "no at", entry: "aj_integration_test_s3cr3t"},
		{name: "empty token", entry: "@acme:admin"},
		{name: "token with space", entry: "s3cr3t x@acme:admin"},
		{name: "no role", entry: "s3cr3t@acme"},
		{name: "role with suffix", entry: "s3cr3t@acme:admin:x"},
		{name: "upper-case tenant", entry: "s3cr3t@Acme:admin"},
		{name: "tenant starts with dash", entry: "s3cr3t@-acme:admin"},
		{name: "empty tenant", entry: "s3cr3t@:admin"},
		{name: "tenant too long", entry: "s3cr3t@" + strings.Repeat("a", 65) + ":admin"},
		{name: "tenant at max length", entry: "s3cr3t@" + strings.Repeat("a", 64) + ":admin", ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ParseAPIKey(tt.entry)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseAPIKey(%q) = %v", tt.entry, err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
}
