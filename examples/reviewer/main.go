// Command reviewer is a CI review bot: it runs lint, tests and an AI review inside a jail
// through a session exec, so the review script can call the model with a phantom token
// while the real key stays with the control plane, then decides APPROVE or
// REQUEST_CHANGES from the result.
//
//	go run ./examples/reviewer
//
// With the embedded fake, the model is a local stand-in that always approves, and the
// script needs python3 on this host. Against $AGENTJAIL_URL the tenant needs an OpenAI
// credential, and the review makes one small real chat-completion request.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/agentjailtest"
	"github.com/agentjail/agentjail-go/examples/internal/exampleenv"
)

func main() { exampleenv.Main("reviewer", run) }

// pipeline runs inside the jail. The lint and test steps stand in for "npm ci && npm
// test"; the review step calls the model through the phantom proxy with whatever
// OPENAI_API_KEY and OPENAI_BASE_URL the session put in its environment.
const pipeline = `set -e
echo "lint: 0 problems"
echo "test: 12 passed, 0 failed"
echo "review: using OPENAI_API_KEY=${OPENAI_API_KEY%"${OPENAI_API_KEY#????????}"}…"
python3 - <<'PY'
import json, os, urllib.request
body = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content":
        "Review this diff and answer APPROVE or REQUEST_CHANGES with one reason:\n"
        "-    return a - b\n+    return a + b  # add() subtracted"}],
}
# A plain-http proxy URL is the embedded fake's listener on this host's loopback: call it
# directly rather than through the jail's CONNECT-only allowlist proxy.
base = os.environ["OPENAI_BASE_URL"]
if base.startswith("http://"):
    urllib.request.install_opener(urllib.request.build_opener(urllib.request.ProxyHandler({})))
req = urllib.request.Request(
    base + "/chat/completions",
    data=json.dumps(body).encode(),
    headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"],
             "Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=60) as resp:
    answer = json.load(resp)["choices"][0]["message"]["content"]
print("review: " + " ".join(answer.split()))
PY`

func run(ctx context.Context, out io.Writer) error {
	model := exampleenv.NewUpstream(`{"object":"chat.completion","choices":[{"index":0,"message":` +
		`{"role":"assistant","content":"APPROVE: the fix is small and the tests cover it."}}]}`)
	defer model.Close()
	env, err := exampleenv.Connect(out,
		agentjailtest.WithUpstream("openai", model.URL()),
		agentjailtest.WithCredential("dev", "openai", "sk-demo-reviewer-key"))
	if err != nil {
		return err
	}
	defer env.Close()
	if !env.CanRun("python3") {
		return errors.New("the review step needs python3, which is not installed on this host")
	}
	client := env.Client

	sess, err := client.Sessions.Create(ctx, agentjail.SessionCreateParams{
		Services: []agentjail.Service{agentjail.ServiceOpenAI},
		TTL:      15 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("creating the session: %w", err)
	}
	defer func() {
		cctx, cancel := exampleenv.Cleanup(ctx)
		defer cancel()
		_ = client.Sessions.Close(cctx, sess.ID)
	}()

	res, err := client.Sessions.Exec(ctx, sess.ID, agentjail.SessionExecParams{
		Cmd:      "/bin/sh", // executed as given: no PATH lookup
		Args:     []string{"-c", pipeline},
		Timeout:  5 * time.Minute,
		MemoryMB: 2048,
		// The review reaches the model only through the phantom proxy, so the allowlist names
		// the proxy's host. Against a real server that host must be a public https name
		// (PROXY_BASE_URL), tunnelled by the jail's allowlist proxy: no network mode lets a
		// jail reach a proxy on the server's loopback. The embedded fake's proxy is plain
		// http on loopback; its allowlist jails share the host's network, so the script's
		// direct call gets through there. seccomp stays standard: strict forbids sockets.
		ExecOptions: agentjail.ExecOptions{
			Network: agentjail.NetworkAllowlist(proxyHost(sess.Env["OPENAI_BASE_URL"]), "registry.npmjs.org"),
			Seccomp: agentjail.SeccompStandard,
		},
	})
	if err != nil {
		return fmt.Errorf("running the pipeline: %w", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		fmt.Fprintln(out, "  jail |", line)
	}
	var peak int64
	if res.Stats != nil {
		peak = res.Stats.MemoryPeakBytes
	}
	fmt.Fprintf(out, "pipeline exit %d in %d ms, memory peak %.1f MiB\n", res.ExitCode, res.DurationMS, float64(peak)/(1<<20))

	decision := "REQUEST_CHANGES"
	if res.ExitCode == 0 && !res.TimedOut && strings.Contains(res.Stdout, "review: APPROVE") {
		decision = "APPROVE"
	}
	fmt.Fprintln(out, "decision:", decision)
	if res.ExitCode != 0 {
		fmt.Fprintf(out, "stderr:\n%s\n", strings.TrimSpace(res.Stderr))
	}
	return nil
}

// proxyHost is the host name of the session's proxy base URL.
func proxyHost(base string) string {
	if u, err := url.Parse(base); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "api.openai.com"
}
