package agentjail_test

// These examples run against the embedded fake control plane of this repository
// (package agentjailtest), which `go test` starts on loopback ports. In your own code,
// point NewClient at your control plane instead. The fake runs submitted code on this
// host (in a light jail on Linux): it is NOT a sandbox.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/agentjailtest"
)

// exampleClient starts the embedded fake control plane on loopback (it runs code on
// this host, in a light jail on Linux: it is not a sandbox) and returns a client for it and a function
// that stops it. Against a real control plane, use
// agentjail.NewClient(url, agentjail.WithAPIKey(key)) instead.
func exampleClient(opts ...agentjailtest.Option) (*agentjail.Client, func()) {
	srv, err := agentjailtest.New(opts...)
	if err != nil {
		log.Fatal(err)
	}
	client, err := agentjail.NewClient(srv.URL())
	if err != nil {
		log.Fatal(err)
	}
	return client, func() { _ = srv.Close() }
}

func ExampleNewClient() {
	srv, err := agentjailtest.New()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	// An empty URL falls back to $AGENTJAIL_URL; the key comes from WithAPIKey or
	// $AGENTJAIL_API_KEY.
	client, err := agentjail.NewClient(srv.URL(),
		agentjail.WithAPIKey("dev-token"),
		agentjail.WithUserAgent("my-orchestrator/1.2"),
		agentjail.WithMaxRetries(3))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	health, err := client.Public.Health(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(health)
	// Output: ok
}

func ExampleCredentialsService_Put() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	// Putting the same service again rotates the key. The secret is never returned.
	cred, err := client.Credentials.Put(ctx, agentjail.CredentialPutParams{
		Service: agentjail.ServiceOpenAI,
		Secret:  "sk-real-key",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cred.TenantID, cred.Service, len(cred.Fingerprint), "hex digits of fingerprint")

	creds, err := client.Credentials.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(creds), "credential stored")
	// Output:
	// dev openai 16 hex digits of fingerprint
	// 1 credential stored
}

func ExampleSessionsService_Create() {
	client, stop := exampleClient(agentjailtest.WithCredential("dev", "openai", "sk-real-key"))
	defer stop()
	ctx := context.Background()

	sess, err := client.Sessions.Create(ctx, agentjail.SessionCreateParams{
		Services: []agentjail.Service{agentjail.ServiceOpenAI},
		TTL:      10 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Sessions.Close(ctx, sess.ID)

	fmt.Println(strings.HasPrefix(sess.Env["OPENAI_API_KEY"], "phm_"))
	fmt.Println(strings.HasSuffix(sess.Env["OPENAI_BASE_URL"], "/v1/openai/v1"))
	fmt.Println(sess.ExpiresAt.Sub(sess.CreatedAt))
	// Output:
	// true
	// true
	// 10m0s
}

func ExampleSession_Environ() {
	client, stop := exampleClient(
		agentjailtest.WithCredential("dev", "openai", "sk-real-key"),
		agentjailtest.WithProxyBaseURL("http://localhost:8443"))
	defer stop()
	ctx := context.Background()
	sess, err := client.Sessions.Create(ctx, agentjail.SessionCreateParams{
		Services: []agentjail.Service{agentjail.ServiceOpenAI},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Sessions.Close(ctx, sess.ID)

	// Start the agent with the phantom variables. They come last, so they override a
	// real OPENAI_API_KEY in this process's own environment.
	cmd := exec.CommandContext(ctx, "sh", "-c", `echo "${OPENAI_API_KEY%${OPENAI_API_KEY#phm_}}… $OPENAI_BASE_URL"`)
	cmd.Env = append(os.Environ(), sess.Environ()...)
	out, err := cmd.Output()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output: phm_… http://localhost:8443/v1/openai/v1
}

func ExampleRunsService_Create() {
	client, stop := exampleClient()
	defer stop()
	// Bound every call with a context: the client itself has no timeout.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	res, err := client.Runs.Create(ctx, agentjail.RunParams{
		Code:     `echo "6*7=$((6*7))"`,
		Language: agentjail.LanguageBash,
		Timeout:  30 * time.Second,
		MemoryMB: 256,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("exit %d: %s", res.ExitCode, res.Stdout)

	// Running out of time is a result, not an error.
	res, err = client.Runs.Create(ctx, agentjail.RunParams{
		Code:     "sleep 10",
		Language: agentjail.LanguageBash,
		Timeout:  time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("timed out:", res.TimedOut, "exit", res.ExitCode)
	// Output:
	// exit 0: 6*7=42
	// timed out: true exit 137
}

func ExampleRunsService_Stream() {
	client, stop := exampleClient()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	stream, err := client.Runs.Stream(ctx, agentjail.RunParams{
		Code:     "echo 'def main():'; echo '    return 42'; exit 3",
		Language: agentjail.LanguageBash,
	})
	if err != nil {
		log.Fatal(err) // a non-2xx status is reported here, before any event
	}
	defer stream.Close() // ends the run on the server if it is still going
	for stream.Next() {
		switch ev := stream.Event().(type) {
		case agentjail.StdoutEvent:
			fmt.Printf("stdout %q\n", ev.Line) // leading whitespace is kept
		case agentjail.StderrEvent:
			fmt.Printf("stderr %q\n", ev.Line)
		case agentjail.CompletedEvent:
			fmt.Println("exit", ev.ExitCode)
		case agentjail.ErrorEvent:
			fmt.Println("engine error:", ev.Message)
		}
	}
	// A stream cut before its completed or error event reports io.ErrUnexpectedEOF here.
	if err := stream.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// stdout "def main():"
	// stdout "    return 42"
	// exit 3
}

func ExampleWorkspacesService_Exec() {
	client, stop := exampleClient()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	ws, err := client.Workspaces.Create(ctx, agentjail.WorkspaceCreateParams{Label: "notes", MemoryMB: 256})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Workspaces.Delete(ctx, ws.ID)

	// Files persist between execs, which run in /workspace. cmd is executed as given, with
	// no PATH lookup, so the shell is named by its path.
	for _, script := range []string{`echo "$GREETING" > note.txt`, "cat note.txt"} {
		res, err := client.Workspaces.Exec(ctx, ws.ID, agentjail.WorkspaceExecParams{
			Cmd:  "/bin/sh",
			Args: []string{"-c", script},
			Env:  map[string]string{"GREETING": "hello from " + ws.Label},
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("exit %d %q\n", res.ExitCode, res.Stdout)
	}
	// Output:
	// exit 0 ""
	// exit 0 "hello from notes\n"
}

func ExampleSnapshotsService_Create() {
	client, stop := exampleClient()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sh := func(wsID, script string) string {
		res, err := client.Workspaces.Exec(ctx, wsID, agentjail.WorkspaceExecParams{Cmd: "/bin/sh", Args: []string{"-c", script}})
		if err != nil {
			log.Fatal(err)
		}
		return strings.TrimSpace(res.Stdout)
	}

	ws, err := client.Workspaces.Create(ctx, agentjail.WorkspaceCreateParams{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Workspaces.Delete(ctx, ws.ID)
	sh(ws.ID, "echo v1 > version.txt")

	snap, err := client.Snapshots.Create(ctx, ws.ID, agentjail.SnapshotCreateParams{Name: "v1"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Snapshots.Delete(ctx, snap.ID)
	sh(ws.ID, "echo v2 > version.txt")

	// Restore into a new workspace. The parent workspace is required by the server.
	restored, err := client.Snapshots.CreateWorkspaceFrom(ctx, snap.ID, agentjail.CreateWorkspaceFromParams{
		ParentWorkspaceID: ws.ID,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Workspaces.Delete(ctx, restored.ID)
	fmt.Println(snap.Name, "original:", sh(ws.ID, "cat version.txt"), "restored:", sh(restored.ID, "cat version.txt"))
	// Output: v1 original: v2 restored: v1
}

func ExampleAuditService_Recent() {
	// A stand-in for the OpenAI API, so nothing leaves this machine.
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data":[]}`)
	}))
	defer upstream.Close()
	client, stop := exampleClient(
		agentjailtest.WithCredential("dev", "openai", "sk-real-key"),
		agentjailtest.WithUpstream("openai", upstream.URL))
	defer stop()
	ctx := context.Background()
	sess, err := client.Sessions.Create(ctx, agentjail.SessionCreateParams{Services: []agentjail.Service{agentjail.ServiceOpenAI}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Sessions.Close(ctx, sess.ID)

	// What a sandboxed agent does with its session env: call the provider via the proxy.
	req, _ := http.NewRequest(http.MethodGet, sess.Env["OPENAI_BASE_URL"]+"/models", nil)
	req.Header.Set("Authorization", "Bearer "+sess.Env["OPENAI_API_KEY"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()

	audit, err := client.Audit.Recent(ctx, 20)
	if err != nil {
		log.Fatal(err)
	}
	for _, row := range audit.Rows {
		fmt.Println(row.Status, row.Method, row.Service, row.Path, row.SessionID == sess.ID, row.RejectReason == nil)
	}
	// Output: 200 GET openai /v1/models true true
}

func ExampleJailsService_List() {
	client, stop := exampleClient()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := client.Runs.Create(ctx, agentjail.RunParams{Code: "exit 4", Language: agentjail.LanguageBash}); err != nil {
		log.Fatal(err)
	}

	page, err := client.Jails.List(ctx, agentjail.JailListParams{Kind: agentjail.JailKindRun, Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, j := range page.Rows {
		fmt.Println(j.Kind, j.Status, j.Label, "exit", *j.ExitCode)
	}

	// All walks every page lazily; breaking out of the loop stops fetching.
	n := 0
	for _, err := range client.Jails.All(ctx, agentjail.JailListParams{Status: agentjail.JailCompleted}) {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Println(n, "completed jail")
	// Output:
	// run completed bash exit 4
	// 1 completed jail
}

func ExamplePublicService_Health() {
	client, stop := exampleClient()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// Health and Stats need no API key.
	health, err := client.Public.Health(ctx)
	if err != nil {
		log.Fatal("control plane not reachable: ", err)
	}
	stats, err := client.Public.Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(health, stats.ActiveExecs, "running")
	// Output: ok 0 running
}

func ExampleSettingsService_Whoami() {
	srv, err := agentjailtest.New(agentjailtest.WithAPIKeys("s3cr3t-token@acme:operator"))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()

	// Only the token part of "token@tenant:role" is sent.
	client, err := agentjail.NewClient(srv.URL(), agentjail.WithAPIKey("s3cr3t-token"))
	if err != nil {
		log.Fatal(err)
	}
	me, err := client.Settings.Whoami(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.Tenant, me.Role)

	wrong, err := agentjail.NewClient(srv.URL(), agentjail.WithAPIKey("not-the-token"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = wrong.Settings.Whoami(ctx)
	var apiErr *agentjail.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, errors.Is(err, agentjail.ErrUnauthorized))
	}
	// Output:
	// acme operator
	// 401 UNAUTHORIZED true
}
