// Command quickstart shows the phantom-token swap, agentjail's core idea: an agent
// process gets a phm_ token and a proxy URL instead of the real API key, the phantom
// proxy swaps the real key in on the way to the provider, and closing the session kills
// the token.
//
//	go run ./examples/quickstart
//
// Without $AGENTJAIL_URL it starts the embedded fake control plane and a local stand-in
// for the OpenAI API, so nothing leaves this machine. With $AGENTJAIL_URL (and
// $AGENTJAIL_API_KEY) it uses that control plane and the real OpenAI API: it stores
// $OPENAI_API_KEY as the tenant's OpenAI credential if there is none yet (and deletes it
// again at the end), otherwise it relies on the key the server already has; the agent
// lists models, which costs nothing.
//
// The "agent" is this same program started again as a child process with the session's
// environment, standing in for your Python or Node agent.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/agentjailtest"
	"github.com/agentjail/agentjail-go/examples/internal/exampleenv"
)

// agentModeEnv switches this program into agent mode (the child process).
const agentModeEnv = "QUICKSTART_AGENT_MODE"

func main() {
	if os.Getenv(agentModeEnv) == "1" {
		os.Exit(agent(os.Stdout))
	}
	// run returns its error instead of exiting, so its deferred clean-ups always run
	// (closing the session is what revokes the tokens); Main exits only afterwards.
	exampleenv.Main("quickstart", run)
}

func run(ctx context.Context, out io.Writer) error {
	// Embedded mode: the proxy forwards OpenAI traffic to a local stand-in that records
	// the Authorization header it receives.
	upstream := exampleenv.NewUpstream(`{"object":"list","data":[{"id":"gpt-stand-in","object":"model"}]}`)
	defer upstream.Close()
	env, err := exampleenv.Connect(out, agentjailtest.WithUpstream("openai", upstream.URL()))
	if err != nil {
		return err
	}
	defer env.Close()
	client := env.Client

	// 1. Store the real key. The control plane keeps it; nothing below ever sees it again.
	realKey, cleanupCred, err := putCredential(ctx, out, env)
	if err != nil {
		return err
	}
	defer cleanupCred()

	// 2. Mint a session: one phantom token per service, valid for ten minutes.
	sess, err := client.Sessions.Create(ctx, agentjail.SessionCreateParams{
		Services: []agentjail.Service{agentjail.ServiceOpenAI},
		TTL:      10 * time.Minute,
	})
	if errors.Is(err, agentjail.ErrBadRequest) && realKey == "" && !env.Embedded() {
		return fmt.Errorf("creating the session: %w (set OPENAI_API_KEY to the real key to store)", err)
	}
	if err != nil {
		return fmt.Errorf("creating the session: %w", err)
	}
	closed := false
	defer func() {
		if !closed {
			cctx, cancel := exampleenv.Cleanup(ctx)
			defer cancel()
			_ = client.Sessions.Close(cctx, sess.ID)
		}
	}()
	fmt.Fprintf(out, "session %s: the agent gets OPENAI_API_KEY=%s and OPENAI_BASE_URL=%s\n",
		sess.ID, exampleenv.Mask(sess.Env["OPENAI_API_KEY"]), sess.Env["OPENAI_BASE_URL"])

	// 3. Start the agent with the session's variables. They come last, so they override a
	// real OPENAI_API_KEY this process may have in its own environment.
	code, said, err := startAgent(ctx, out, sess)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("the agent's call through the phantom proxy failed (exit %d)", code)
	}
	if !strings.Contains(said, "(phantom token: true)") || (realKey != "" && strings.Contains(said, realKey)) {
		return errors.New("the agent was not given a phantom token")
	}
	if env.Embedded() {
		seen := upstream.Authorizations()
		if len(seen) == 0 {
			return errors.New("the stand-in upstream received no request")
		}
		last := seen[len(seen)-1]
		if last != "Bearer "+realKey {
			return errors.New("the upstream did not receive the real key")
		}
		fmt.Fprintf(out, "upstream saw Authorization: Bearer %s, the real key; the agent only ever had a phm_ token\n",
			exampleenv.Mask(realKey))
	} else {
		fmt.Fprintln(out, "OpenAI accepted the request: the proxy swapped in the real key; the agent only ever had a phm_ token")
	}

	// 4. Close the session: its tokens are revoked at once.
	if err := client.Sessions.Close(ctx, sess.ID); err != nil {
		return fmt.Errorf("closing the session: %w", err)
	}
	closed = true
	fmt.Fprintln(out, "session closed; running the agent again with the same token:")
	code, _, err = startAgent(ctx, out, sess)
	if err != nil {
		return err
	}
	if code != exitUnauthorized {
		return fmt.Errorf("after Close the proxy should answer 401, the agent exited %d", code)
	}
	fmt.Fprintln(out, "the token is dead: the proxy answers 401")
	return nil
}

// putCredential stores the OpenAI key and returns it with a clean-up function. Embedded,
// the key is made up. Against a real control plane, $OPENAI_API_KEY is stored (and
// deleted again by the clean-up) unless the tenant already has an OpenAI credential;
// without $OPENAI_API_KEY the server's own key is used, if it has one.
func putCredential(ctx context.Context, out io.Writer, env *exampleenv.Env) (string, func(), error) {
	client := env.Client
	noop := func() {}
	var secret string
	if env.Embedded() {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		secret = "sk-demo-" + hex.EncodeToString(b)
	} else {
		secret = os.Getenv("OPENAI_API_KEY")
		if secret == "" {
			fmt.Fprintln(out, "OPENAI_API_KEY is not set: using the OpenAI key the control plane already has")
			return "", noop, nil
		}
		creds, err := client.Credentials.List(ctx)
		if err != nil {
			return "", noop, fmt.Errorf("listing credentials: %w", err)
		}
		if slices.ContainsFunc(creds, func(c agentjail.Credential) bool { return c.Service == agentjail.ServiceOpenAI }) {
			fmt.Fprintln(out, "using the OpenAI credential already stored on the control plane")
			return "", noop, nil
		}
	}
	cred, err := client.Credentials.Put(ctx, agentjail.CredentialPutParams{Service: agentjail.ServiceOpenAI, Secret: secret})
	if err != nil {
		return "", noop, fmt.Errorf("storing the credential: %w", err)
	}
	fmt.Fprintf(out, "stored the OpenAI key with the control plane (fingerprint %s)\n", cred.Fingerprint)
	return secret, func() {
		cctx, cancel := exampleenv.Cleanup(ctx)
		defer cancel()
		if err := client.Credentials.Delete(cctx, agentjail.ServiceOpenAI); err != nil {
			fmt.Fprintf(out, "warning: deleting the credential: %v\n", err)
		}
	}, nil
}

// startAgent runs this program in agent mode with the session's environment, prints its
// output indented, and returns its exit code and output.
func startAgent(ctx context.Context, out io.Writer, sess *agentjail.Session) (int, string, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, "", err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), agentModeEnv+"=1")
	cmd.Env = append(cmd.Env, sess.Environ()...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err = cmd.Run()
	for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		fmt.Fprintln(out, "  agent |", line)
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), buf.String(), nil
	case err != nil:
		return 0, "", fmt.Errorf("starting the agent: %w", err)
	}
	return 0, buf.String(), nil
}

// exitUnauthorized is the agent's exit code when the proxy answers 401.
const exitUnauthorized = 3

// agent is the child process: an ordinary program that calls the OpenAI API with
// whatever OPENAI_API_KEY and OPENAI_BASE_URL it was given, unaware of agentjail.
func agent(out io.Writer) int {
	token, base := os.Getenv("OPENAI_API_KEY"), os.Getenv("OPENAI_BASE_URL")
	fmt.Fprintf(out, "my OPENAI_API_KEY is %s (phantom token: %v)\n", exampleenv.Mask(token), strings.HasPrefix(token, "phm_"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/models", nil)
	if err != nil {
		fmt.Fprintln(out, "error:", err)
		return 1
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(out, "error:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	fmt.Fprintf(out, "GET $OPENAI_BASE_URL/models -> %s: %s\n", resp.Status, strings.TrimSpace(string(body)))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return exitUnauthorized
	case resp.StatusCode >= 300:
		return 1
	}
	return 0
}
