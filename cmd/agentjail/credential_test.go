package main

import (
	"context"
	"strings"
	"testing"

	agentjail "github.com/agentjail/agentjail-go"
)

func TestCredentials(t *testing.T) {
	t.Parallel()
	srv, client := newServer(t)
	url := srv.URL()
	runCLI(t, url, "", "credential", "list").check(t, 0, "SERVICE   TENANT   FINGERPRINT   ADDED   UPDATED\n", "")

	// The secret comes from stdin; the newline a shell adds is not part of it.
	runCLI(t, url, "  sk-live-123\n", "credential", "put", "openai").check(t, 0, "", "")
	runCLI(t, url, "", "credential", "put", "anthropic").check(t, 1, "", "agentjail: no secret on standard input\n")
	runCLI(t, url, strings.Repeat("x", 64<<10+1), "credential", "put", "anthropic").check(t, 1, "",
		"agentjail: the secret on standard input is longer than 64 KiB\n")
	r := runCLI(t, url, "sk-live-123", "credential", "put", "nosuchservice")
	if r.code != 1 || strings.Contains(r.stderr, "sk-live") {
		t.Errorf("unknown service: exit %d, stderr %q", r.code, r.stderr)
	}

	creds, err := client.Credentials.List(context.Background())
	if err != nil || len(creds) != 1 {
		t.Fatalf("credentials: %+v, %v", creds, err)
	}
	c := creds[0]
	want := aligned([]string{"SERVICE", "TENANT", "FINGERPRINT", "ADDED", "UPDATED"},
		[]string{"openai", "dev", c.Fingerprint, rfc(c.AddedAt), rfc(c.UpdatedAt)})
	runCLI(t, url, "", "credential", "ls").check(t, 0, want, "")
	if r := runCLI(t, url, "", "credential", "list", "-json"); r.code != 0 || !strings.Contains(r.stdout, `"fingerprint":"`+c.Fingerprint+`"`) {
		t.Errorf("credential list -json: exit %d, %q", r.code, r.stdout)
	}

	// The fingerprint identifies the secret without the whitespace around it.
	same, err := client.Credentials.Put(context.Background(), agentjail.CredentialPutParams{Service: agentjail.ServiceGitHub, Secret: "sk-live-123"})
	if err != nil || same.Fingerprint != c.Fingerprint {
		t.Errorf("fingerprint of the trimmed secret: %+v, %v; the CLI stored %s", same, err, c.Fingerprint)
	}
	runCLI(t, url, "", "credential", "delete", "github").check(t, 0, "", "")

	runCLI(t, url, "", "credential", "delete", "openai").check(t, 0, "", "")
	runCLI(t, url, "", "credential", "list", "-json").check(t, 0, "[]\n", "")
	runCLI(t, url, "", "credential", "delete", "openai").check(t, 1, "", "agentjail: 404: not found: credential openai\n")
}
