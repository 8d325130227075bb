package agentjail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// TestEnvironmentFallbacks: $AGENTJAIL_URL and $AGENTJAIL_API_KEY apply when NewClient is
// given neither, WithAPIKey wins over the environment, and WithAPIKey("") sends no key.
func TestEnvironmentFallbacks(t *testing.T) {
	srv := newRecorder(t, jsonReply(200, "[]"))
	t.Setenv("AGENTJAIL_URL", srv.URL+"/")
	t.Setenv("AGENTJAIL_API_KEY", "envkey")

	for i, tc := range []struct {
		name string
		opts []Option
		auth []string // the Authorization values sent; nil = none
	}{
		{"key from the environment", nil, []string{"Bearer envkey"}},
		{"the option wins", []Option{WithAPIKey("optkey")}, []string{"Bearer optkey"}},
		{"an empty key sends none", []Option{WithAPIKey("")}, nil},
	} {
		c, err := NewClient("", tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Credentials.List(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := srv.requests()[i].Header["Authorization"]; !reflect.DeepEqual(got, tc.auth) {
			t.Fatalf("%s: Authorization = %q, want %q", tc.name, got, tc.auth)
		}
	}

	t.Setenv("AGENTJAIL_API_KEY", "bad key")
	if _, err := NewClient(""); err == nil || strings.Contains(err.Error(), "bad key") {
		t.Fatalf("a malformed env key must be rejected without echoing it, got %v", err)
	}
}

// TestDefaultTransport: a private clone of http.DefaultTransport, with no timeouts and a
// pool large enough for bursts.
func TestDefaultTransport(t *testing.T) {
	t.Parallel()
	c, err := NewClient("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := c.hc.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("default transport is %T", c.hc.Transport)
	}
	if tr == http.DefaultTransport {
		t.Fatal("http.DefaultTransport itself must not be used (it would be shared and mutable)")
	}
	if tr.Proxy == nil || tr.ResponseHeaderTimeout != 0 || c.hc.Timeout != 0 || tr.MaxIdleConnsPerHost < 16 {
		t.Fatalf("transport: proxy set %v, header timeout %v, client timeout %v, idle/host %d",
			tr.Proxy != nil, tr.ResponseHeaderTimeout, c.hc.Timeout, tr.MaxIdleConnsPerHost)
	}
}

// TestClientNeverShowsSecrets: the client, its services and every params and result type,
// alone and nested, in every formatting verb and both slog handlers (params as a value, a
// pointer and slog.Any), show neither the API key nor a credential secret, not even their
// start; the params' service still shows in the logs.
func TestClientNeverShowsSecrets(t *testing.T) {
	t.Parallel()
	const key = "sk-live-Secret7Key-0123456789abcdef"
	const secret = "upstream-Secret-Value-42-xyz"
	check := func(t *testing.T, what, text string) {
		t.Helper()
		for _, f := range []string{key, secret, fmt.Sprintf("%x", key), fmt.Sprintf("%X", key), fmt.Sprintf("%x", secret)} {
			if strings.Contains(text, f) {
				t.Errorf("%s leaks a secret: %.200q", what, text)
			}
		}
		if strings.Contains(text, key[:16]) || strings.Contains(text, secret[:16]) {
			t.Errorf("%s leaks the start of a secret: %.200q", what, text)
		}
	}
	c, err := NewClient("http://127.0.0.1:1", WithAPIKey(key), WithHeader("X-Trace", "t"))
	if err != nil {
		t.Fatal(err)
	}
	params := CredentialPutParams{Service: ServiceOpenAI, Secret: secret}
	values := []any{
		c, *c, c.Credentials, *c.Credentials, c.Credentials.ForTenant("acme"), c.Sessions, c.Runs, c.Workspaces,
		c.Snapshots, c.Audit, c.Jails, c.Public, c.Settings,
		params, &params, []CredentialPutParams{params}, map[string]CredentialPutParams{"p": params},
		struct{ P CredentialPutParams }{params}, struct{ P *CredentialPutParams }{&params},
		struct{ C *Client }{c}, []*Client{c},
		RunParams{Code: "x"}, ForkParams{}, SessionCreateParams{}, SessionExecParams{}, WorkspaceCreateParams{},
		WorkspaceListParams{}, WorkspaceUpdateParams{}, WorkspaceExecParams{Env: map[string]string{"K": "V"}},
		WorkspaceForkParams{}, SnapshotCreateParams{}, SnapshotListParams{}, CreateWorkspaceFromParams{}, JailListParams{},
		Credential{}, Session{}, ExecResult{}, ForkResult{}, Workspace{}, WorkspaceList{}, WorkspaceForkResult{},
		Snapshot{}, SnapshotList{}, SnapshotManifest{}, AuditList{}, Jail{}, JailList{}, PublicStats{},
		ServerSettings{}, Identity{}, Flavor{},
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for _, v := range values {
			check(t, fmt.Sprintf("%s of %T", verb, v), fmt.Sprintf(verb, v))
		}
	}
	for name, handler := range map[string]func(io.Writer) slog.Handler{
		"text": func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
		"JSON": func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
	} {
		var logs bytes.Buffer
		slog.New(handler(&logs)).Info("values", "client", c, "credentials", c.Credentials,
			"params", params, "ptr", &params, slog.Any("any", params))
		check(t, "slog "+name+" of the client and params", logs.String())
		if !strings.Contains(logs.String(), string(ServiceOpenAI)) {
			t.Errorf("slog %s of the params lost the service: %s", name, logs.String())
		}
	}
}

// newMixedServer starts a recorder that answers from the request alone, so that every
// result can be checked exactly by the goroutine that asked. IDs choose the behaviour by
// prefix:
//
//	GET    /v1/sessions/{id}       missing-… 404, flaky-… 503 once then 200, down-… always 503
//	POST   /v1/sessions/{id}/exec  busy-… 503 once then 200; stdout echoes the args
//	DELETE /v1/sessions/{id}       gone-… 404, else 204
//	POST   /v1/credentials         the fingerprint echoes the secret's length and service
//
// "Once" counts the requests recorded for the method and path, this one included.
func newMixedServer(t *testing.T) *recorder {
	var s *recorder
	count := func(r *http.Request) int { return s.count(r.Method + " " + r.URL.EscapedPath()) }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, n := r.PathValue("id"), count(r)
		switch {
		case strings.HasPrefix(id, "missing-"):
			jsonReply(404, `{"error":"not found: session `+id+`"}`)(w, r)
		case strings.HasPrefix(id, "down-"), strings.HasPrefix(id, "flaky-") && n == 1:
			jsonReply(503, `{"error":"busy"}`)(w, r)
		default:
			jsonReply(200, `{"id":"`+id+`","created_at":"2026-01-02T03:04:05Z","services":[],"env":{"K":"`+id+`"}}`)(w, r)
		}
	})
	mux.HandleFunc("POST /v1/sessions/{id}/exec", func(w http.ResponseWriter, r *http.Request) {
		id, n := r.PathValue("id"), count(r)
		var in struct {
			Cmd  string   `json:"cmd"`
			Args []string `json:"args"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			jsonReply(400, `{"error":"bad body"}`)(w, r)
			return
		}
		if strings.HasPrefix(id, "busy-") && n == 1 {
			jsonReply(503, `{"error":"busy"}`)(w, r)
			return
		}
		out, _ := json.Marshal(ExecResult{Stdout: in.Cmd + " " + strings.Join(in.Args, " "), ExitCode: len(in.Args)})
		jsonReply(200, string(out))(w, r)
	})
	mux.HandleFunc("DELETE /v1/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		count(r)
		if strings.HasPrefix(r.PathValue("id"), "gone-") {
			jsonReply(404, `{"error":"not found"}`)(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1/credentials", func(w http.ResponseWriter, r *http.Request) {
		count(r)
		var in CredentialPutParams
		if err := json.NewDecoder(r.Body).Decode(&struct {
			Service *Service `json:"service"`
			Secret  *string  `json:"secret"`
		}{&in.Service, &in.Secret}); err != nil {
			jsonReply(400, `{"error":"bad body"}`)(w, r)
			return
		}
		jsonReply(201, fmt.Sprintf(`{"tenant_id":"t","service":%q,"fingerprint":"%016x"}`, in.Service, len(in.Secret)))(w, r)
	})
	s = newRecorder(t, mux.ServeHTTP)
	return s
}

// TestClientConcurrentUse runs 100 goroutines of mixed calls (GET, POST, DELETE; successes,
// 404s, retried 503s and exhausted 503s) through one Client, checks every result
// exactly, and then checks the server's request counts: each call was retried exactly as
// the policy says, no more. Run it under -race.
func TestClientConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := newMixedServer(t)
	c := testClient(t, srv.URL)
	ctx := context.Background()
	const goroutines = 100
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fail := func(format string, a ...any) { t.Errorf("goroutine %d: "+format, append([]any{g}, a...)...) }

			id := fmt.Sprintf("sess-%d", g)
			if s, err := c.Sessions.Get(ctx, id); err != nil || s.ID != id || s.Env["K"] != id {
				fail("get %s: %v, %v", id, s, err)
			}
			if s, err := c.Sessions.Get(ctx, "flaky-"+id); err != nil || s.ID != "flaky-"+id {
				fail("flaky get: %v, %v", s, err)
			}
			_, err := c.Sessions.Get(ctx, "missing-"+id)
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != 404 || e.Attempts != 1 || e.Message != "not found: session missing-"+id {
				fail("missing get: %v", err)
			}
			if g%4 == 0 { // fewer of the exhausted ones: each costs 3 attempts
				_, err = c.Sessions.Get(ctx, "down-"+id)
				if !errors.As(err, &e) || e.StatusCode != 503 || e.Attempts != 3 {
					fail("down get: %v", err)
				}
			}
			args := []string{id, strings.Repeat("x", g)}
			res, err := c.Sessions.Exec(ctx, "busy-"+id, SessionExecParams{Cmd: "echo", Args: args})
			if err != nil || res.Stdout != "echo "+strings.Join(args, " ") || res.ExitCode != 2 {
				fail("exec: %+v, %v", res, err)
			}
			if err := c.Sessions.Close(ctx, id); err != nil {
				fail("close: %v", err)
			}
			if err := c.Sessions.Close(ctx, "gone-"+id); !errors.Is(err, ErrNotFound) {
				fail("close gone: %v", err)
			}
			secret := strings.Repeat("s", g+1)
			cred, err := c.Credentials.Put(ctx, CredentialPutParams{Service: ServiceGitHub, Secret: secret})
			if err != nil || cred.Service != ServiceGitHub || cred.Fingerprint != fmt.Sprintf("%016x", len(secret)) {
				fail("put: %+v, %v", cred, err)
			}
		}()
	}
	wg.Wait()

	for g := 0; g < goroutines; g++ {
		id := fmt.Sprintf("sess-%d", g)
		want := map[string]int{
			"GET /v1/sessions/" + id:                 1,
			"GET /v1/sessions/flaky-" + id:           2,
			"GET /v1/sessions/missing-" + id:         1,
			"POST /v1/sessions/busy-" + id + "/exec": 2,
			"DELETE /v1/sessions/" + id:              1,
			"DELETE /v1/sessions/gone-" + id:         1,
		}
		if g%4 == 0 {
			want["GET /v1/sessions/down-"+id] = 3
		}
		for key, n := range want {
			if got := srv.count(key); got != n {
				t.Errorf("%s: %d requests, want %d", key, got, n)
			}
		}
	}
	if got := srv.count("POST /v1/credentials"); got != goroutines {
		t.Errorf("POST /v1/credentials: %d requests, want %d", got, goroutines)
	}
}
