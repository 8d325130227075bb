package agentjailtest_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/agentjailtest"
)

// In a test, start the server with srv := agentjailtest.NewServer(t), which closes it
// when the test ends. Examples have no *testing.T, so they use New and Close.
func Example() {
	srv, err := agentjailtest.New()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	// The code runs on this machine (in a light jail on Linux): the fake is not a sandbox.
	res, err := srv.Client().Runs.Create(context.Background(), agentjail.RunParams{
		Language: agentjail.LanguageBash,
		Code:     `echo "hello from the fake"`,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("exit %d: %s", res.ExitCode, res.Stdout)
	// Output: exit 0: hello from the fake
}

// A 503 fails the first GET; the SDK retries it, and the request log shows both
// attempts.
func ExampleServer_InjectFault() {
	srv, err := agentjailtest.New()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	srv.InjectFault(agentjailtest.Fault{Method: "GET", Path: "/v1/whoami", Status: 503})
	id, err := srv.Client().Settings.Whoami(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("whoami:", id.Tenant, id.Role)
	for _, r := range srv.Requests() {
		fmt.Println(r.Method, r.Path, r.Status)
	}
	// Output:
	// whoami: dev admin
	// GET /v1/whoami 503
	// GET /v1/whoami 200
}

// The request log holds every attempt, failed ones included, with its query.
func ExampleServer_Requests() {
	srv, err := agentjailtest.New(agentjailtest.WithAPIKeys("test-token@acme:admin"))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()

	client := srv.Client() // authenticated as acme's admin
	if _, err := client.Jails.List(ctx, agentjail.JailListParams{Limit: 5}); err != nil {
		log.Fatal(err)
	}
	_, err = client.Sessions.Get(ctx, "sess_missing")
	fmt.Println("missing session:", err != nil)
	_, err = srv.Client(agentjail.WithAPIKey("wrong")).Settings.Whoami(ctx)
	fmt.Println("wrong key:", err != nil)

	for _, r := range srv.Requests() {
		fmt.Printf("%s %s %q -> %d\n", r.Method, r.Path, r.Query, r.Status)
	}
	// Output:
	// missing session: true
	// wrong key: true
	// GET /v1/jails "limit=5" -> 200
	// GET /v1/sessions/sess_missing "" -> 404
	// GET /v1/whoami "" -> 401
}

// The phantom proxy forwards to an httptest server standing in for OpenAI: the upstream
// receives the real key, while the code in the session only ever holds a phm_ token.
func ExampleWithUpstream() {
	var mu sync.Mutex
	var seen []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[]}`)
	}))
	defer upstream.Close()

	srv, err := agentjailtest.New(
		agentjailtest.WithCredential("dev", "openai", "sk-real-key"),
		agentjailtest.WithUpstream("openai", upstream.URL))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	client := srv.Client()

	sess, err := client.Sessions.Create(ctx, agentjail.SessionCreateParams{
		Services: []agentjail.Service{agentjail.ServiceOpenAI},
	})
	if err != nil {
		log.Fatal(err)
	}
	// The agent calls $OPENAI_BASE_URL with $OPENAI_API_KEY, as OpenAI's own clients do.
	// The jail's default network is none, so the exec names the proxy's host in an
	// allowlist, as it must against a real server (whose proxy URL is then a public https
	// name). This fake's proxy is plain http on loopback, which allowlist jails here reach
	// directly (--noproxy), as they share the host's network.
	proxy, _ := url.Parse(sess.Env["OPENAI_BASE_URL"])
	res, err := client.Sessions.Exec(ctx, sess.ID, agentjail.SessionExecParams{
		Cmd: "/bin/sh", // executed as given: no PATH lookup
		Args: []string{"-c", `echo "my key starts ${OPENAI_API_KEY%%_*}_"
curl -s --noproxy '*' -H "Authorization: Bearer $OPENAI_API_KEY" "$OPENAI_BASE_URL/models"`},
		ExecOptions: agentjail.ExecOptions{Network: agentjail.NetworkAllowlist(proxy.Hostname())},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Stdout)
	mu.Lock()
	defer mu.Unlock()
	fmt.Println("upstream saw:", seen)
	// Output:
	// my key starts phm_
	// {"object":"list","data":[]}
	// upstream saw: [GET /v1/models Bearer sk-real-key]
}
