package main

import (
	"os"
	"strings"
	"testing"

	"github.com/agentjail/agentjail-go/agentjailtest"
	"github.com/agentjail/agentjail-go/examples/internal/exampleenv"
)

// TestMain lets the test binary play the agent: run starts os.Executable() as the child.
func TestMain(m *testing.M) {
	if os.Getenv(agentModeEnv) == "1" {
		os.Exit(agent(os.Stdout))
	}
	os.Exit(m.Run())
}

func TestRunEmbedded(t *testing.T) {
	exampleenv.Check(t, run,
		"embedded fake control plane", "NOT in a sandbox",
		"stored the OpenAI key with the control plane",
		"agent | my OPENAI_API_KEY is phm_", "(phantom token: true)",
		"-> 200 OK",
		"upstream saw Authorization: Bearer sk-demo", "the real key",
		"session closed",
		"-> 401 Unauthorized: unknown phantom token",
		"the token is dead")
}

// TestRunRemote takes the $AGENTJAIL_URL path: a separately started fake stands in for
// a real control plane, and the key to store comes from $OPENAI_API_KEY.
func TestRunRemote(t *testing.T) {
	up := exampleenv.NewUpstream(`{"data":[]}`)
	t.Cleanup(up.Close)
	srv := agentjailtest.NewServer(t, agentjailtest.WithUpstream("openai", up.URL()))
	t.Setenv("AGENTJAIL_URL", srv.URL())
	t.Setenv("AGENTJAIL_API_KEY", "")
	t.Setenv("OPENAI_API_KEY", "sk-remote-test-key")
	out := exampleenv.Run(t, run)
	exampleenv.ContainsInOrder(t, out, "stored the OpenAI key with the control plane", "-> 200 OK", "OpenAI accepted the request", "the token is dead")
	if got := up.Authorizations(); len(got) != 1 || got[0] != "Bearer sk-remote-test-key" {
		t.Errorf("upstream saw %d requests; want exactly one carrying the stored key", len(got))
	}
	for _, bad := range []string{"embedded", "sk-remote-test-key"} {
		if strings.Contains(out, bad) {
			t.Errorf("output contains %q", bad)
		}
	}
}
