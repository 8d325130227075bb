package agentjail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Fuzzing of the response decoding of every result type, through the real request
// helper with an in-memory transport (no network, so it runs fast):
//
//	go test -run '^$' -fuzz '^FuzzDecodeSuccess$' -fuzztime 60s .
//	go test -run '^$' -fuzz '^FuzzDecodeError$' -fuzztime 60s .
//
// The seed corpus is in testdata/fuzz/FuzzDecode*/ and runs with every go test.

// fuzzKey is the API key of the fuzzed client. Bodies may contain the placeholder
// "KEY", which the transport replaces with the real key, as a server echoing it would.
const fuzzKey = "sk-fuzz-Key-0123456789"

// fuzzTransport answers every request with one canned response.
type fuzzTransport struct {
	status int
	header http.Header
	body   []byte
}

func (ft fuzzTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: ft.status, Status: http.StatusText(ft.status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: ft.header.Clone(), Body: io.NopCloser(bytes.NewReader(ft.body)),
		ContentLength: -1, Request: r,
	}, nil
}

// fuzzCall is one SDK method and its result.
type fuzzCall struct {
	name string
	call func(ctx context.Context, c *Client) (any, error)
}

// fuzzCalls lists every method that decodes a response, plus the ones that decode
// nothing (DELETE), whose error path is shared.
func fuzzCalls() []fuzzCall {
	return []fuzzCall{
		{"Credentials.List", func(ctx context.Context, c *Client) (any, error) { return c.Credentials.List(ctx) }},
		{"Credentials.Put", func(ctx context.Context, c *Client) (any, error) {
			return c.Credentials.Put(ctx, CredentialPutParams{Service: ServiceOpenAI, Secret: "fuzz-Secret-value"})
		}},
		{"Credentials.Delete", func(ctx context.Context, c *Client) (any, error) {
			return nil, c.Credentials.Delete(ctx, ServiceOpenAI)
		}},
		{"Sessions.Create", func(ctx context.Context, c *Client) (any, error) {
			return c.Sessions.Create(ctx, SessionCreateParams{})
		}},
		{"Sessions.List", func(ctx context.Context, c *Client) (any, error) { return c.Sessions.List(ctx) }},
		{"Sessions.Get", func(ctx context.Context, c *Client) (any, error) { return c.Sessions.Get(ctx, "s") }},
		{"Sessions.Exec", func(ctx context.Context, c *Client) (any, error) {
			return c.Sessions.Exec(ctx, "s", SessionExecParams{Cmd: "id"})
		}},
		{"Sessions.Close", func(ctx context.Context, c *Client) (any, error) { return nil, c.Sessions.Close(ctx, "s") }},
		{"Runs.Create", func(ctx context.Context, c *Client) (any, error) { return c.Runs.Create(ctx, RunParams{Code: "1"}) }},
		{"Runs.Fork", func(ctx context.Context, c *Client) (any, error) {
			return c.Runs.Fork(ctx, ForkParams{ParentCode: "p", ChildCode: "c"})
		}},
		{"Workspaces.Create", func(ctx context.Context, c *Client) (any, error) {
			return c.Workspaces.Create(ctx, WorkspaceCreateParams{})
		}},
		{"Workspaces.List", func(ctx context.Context, c *Client) (any, error) {
			return c.Workspaces.List(ctx, WorkspaceListParams{})
		}},
		{"Workspaces.Get", func(ctx context.Context, c *Client) (any, error) { return c.Workspaces.Get(ctx, "w") }},
		{"Workspaces.Update", func(ctx context.Context, c *Client) (any, error) {
			return c.Workspaces.Update(ctx, "w", WorkspaceUpdateParams{Label: "l"})
		}},
		{"Workspaces.Exec", func(ctx context.Context, c *Client) (any, error) {
			return c.Workspaces.Exec(ctx, "w", WorkspaceExecParams{Cmd: "id"})
		}},
		{"Workspaces.Fork", func(ctx context.Context, c *Client) (any, error) {
			return c.Workspaces.Fork(ctx, "w", WorkspaceForkParams{Count: 1})
		}},
		{"Workspaces.Delete", func(ctx context.Context, c *Client) (any, error) { return nil, c.Workspaces.Delete(ctx, "w") }},
		{"Snapshots.Create", func(ctx context.Context, c *Client) (any, error) {
			return c.Snapshots.Create(ctx, "w", SnapshotCreateParams{})
		}},
		{"Snapshots.List", func(ctx context.Context, c *Client) (any, error) {
			return c.Snapshots.List(ctx, SnapshotListParams{})
		}},
		{"Snapshots.Get", func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Get(ctx, "n") }},
		{"Snapshots.Manifest", func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Manifest(ctx, "n") }},
		{"Snapshots.CreateWorkspaceFrom", func(ctx context.Context, c *Client) (any, error) {
			return c.Snapshots.CreateWorkspaceFrom(ctx, "n", CreateWorkspaceFromParams{ParentWorkspaceID: "w"})
		}},
		{"Snapshots.Delete", func(ctx context.Context, c *Client) (any, error) { return nil, c.Snapshots.Delete(ctx, "n") }},
		{"Audit.Recent", func(ctx context.Context, c *Client) (any, error) { return c.Audit.Recent(ctx, 0) }},
		{"Jails.List", func(ctx context.Context, c *Client) (any, error) { return c.Jails.List(ctx, JailListParams{}) }},
		{"Jails.Get", func(ctx context.Context, c *Client) (any, error) { return c.Jails.Get(ctx, 1) }},
		{"Public.Health", func(ctx context.Context, c *Client) (any, error) { return c.Public.Health(ctx) }},
		{"Public.Stats", func(ctx context.Context, c *Client) (any, error) { return c.Public.Stats(ctx) }},
		{"Settings.Get", func(ctx context.Context, c *Client) (any, error) { return c.Settings.Get(ctx) }},
		{"Settings.Whoami", func(ctx context.Context, c *Client) (any, error) { return c.Settings.Whoami(ctx) }},
		{"Settings.Flavors", func(ctx context.Context, c *Client) (any, error) { return c.Settings.Flavors(ctx) }},
	}
}

// fuzzClient returns a client whose every request gets ft's response. Retries are off:
// each call must make exactly one attempt.
func fuzzClient(t *testing.T, ft fuzzTransport) *Client {
	c, err := NewClient("http://fuzz.invalid", WithAPIKey(fuzzKey), WithMaxRetries(0),
		WithHTTPClient(&http.Client{Transport: ft}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fuzzIsZero reports whether a result is absent: a nil pointer or slice, or "".
func fuzzIsZero(v any) bool {
	if v == nil {
		return true
	}
	return reflect.ValueOf(v).IsZero()
}

// checkFuzzError holds for every error the helper returns for a response.
func checkFuzzError(t *testing.T, name string, err error, status int) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || err != error(e) {
		t.Fatalf("%s: err = %v (%T), want an *Error", name, err, err)
	}
	if e.StatusCode != status || e.Attempts != 1 {
		t.Fatalf("%s: StatusCode %d Attempts %d, want %d and 1", name, e.StatusCode, e.Attempts, status)
	}
	if len(e.Message) > maxErrorMessage || len(e.Body) > maxErrorBody {
		t.Fatalf("%s: Message %d bytes, Body %d bytes", name, len(e.Message), len(e.Body))
	}
	text := e.Error()
	if strings.ContainsAny(text, "\r\n") || strings.Contains(text, fuzzKey) || strings.Contains(e.Message, fuzzKey) ||
		bytes.Contains(e.Body, []byte(fuzzKey)) || strings.Contains(e.GoString(), fuzzKey) {
		t.Fatalf("%s: Error() %q is not one line or leaks the key", name, text)
	}
	return e
}

// fuzzSuccessSeeds are realistic 2xx bodies; hostile ones are in testdata.
var fuzzSuccessSeeds = []string{
	fixtureCredential, fixtureSession, fixtureExec, fixtureExecStats, fixtureFork, fixtureWorkspace,
	fixtureSnapshot, fixtureJail, fixtureConfigOperator, fixtureConfigAdmin,
	"[" + fixtureSession + "]", `{"rows":[` + fixtureJail + `],"total":1,"limit":50,"offset":0}`,
}

// FuzzDecodeSuccess feeds arbitrary bytes as a 2xx JSON body to every method: each
// returns a value and no error, or no value and an *Error (CodeUnknown, one attempt);
// it never panics and never leaks the key.
func FuzzDecodeSuccess(f *testing.F) {
	for _, s := range fuzzSuccessSeeds {
		f.Add([]byte(s))
	}
	calls := fuzzCalls()
	f.Fuzz(func(t *testing.T, body []byte) {
		body = bytes.ReplaceAll(body, []byte("KEY"), []byte(fuzzKey))
		c := fuzzClient(t, fuzzTransport{status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: body})
		for _, fc := range calls {
			v, err := fc.call(context.Background(), c)
			if err == nil {
				if reflect.ValueOf(v).Kind() == reflect.Pointer && fuzzIsZero(v) {
					t.Fatalf("%s: nil result without an error", fc.name)
				}
				continue
			}
			if !fuzzIsZero(v) {
				t.Fatalf("%s: a result (%v) and an error (%v)", fc.name, v, err)
			}
			if e := checkFuzzError(t, fc.name, err, 200); e.Code != CodeUnknown {
				t.Fatalf("%s: Code %s for a malformed 2xx", fc.name, e.Code)
			}
		}
	})
}

// FuzzDecodeError feeds arbitrary bytes as a non-2xx body, with any Content-Type and
// Retry-After, to every method: the result is always an *Error with the status and its
// code, bounded Body and Message, a one-line Error() without the key, and a retry wait
// within the cap.
func FuzzDecodeError(f *testing.F) {
	f.Add(uint16(404), "application/json", "", []byte(`{"error":"not found: session sess_1"}`))
	f.Add(uint16(401), "text/plain; charset=utf-8", "", []byte("invalid api key"))
	f.Add(uint16(503), "application/json", "1", []byte(`{"error":"busy"}`))
	calls := fuzzCalls()
	f.Fuzz(func(t *testing.T, status uint16, contentType, retryAfter string, body []byte) {
		code := int(status)
		if code < 100 || code > 599 {
			code = 100 + code%500
		}
		if code >= 200 && code <= 299 {
			code += 100
		}
		body = bytes.ReplaceAll(body, []byte("KEY"), []byte(fuzzKey))
		header := http.Header{"Content-Type": {contentType}, "Retry-After": {retryAfter}}
		c := fuzzClient(t, fuzzTransport{status: code, header: header, body: body})
		c.retryCap = 8 * time.Second
		for _, fc := range calls {
			v, err := fc.call(context.Background(), c)
			if !fuzzIsZero(v) {
				t.Fatalf("%s: a result %v for status %d", fc.name, v, code)
			}
			e := checkFuzzError(t, fc.name, err, code)
			if e.Code != codeForStatus(code) {
				t.Fatalf("%s: Code %s for status %d", fc.name, e.Code, code)
			}
			if e.Message == "" {
				t.Fatalf("%s: empty Message", fc.name)
			}
			if !bytes.Contains(body, []byte(fuzzKey)) && !bytes.HasPrefix(body, e.Body) {
				t.Fatalf("%s: Body is not a prefix of the response body", fc.name)
			}
			if e.retryAfter < 0 {
				t.Fatalf("%s: negative Retry-After %v from %q", fc.name, e.retryAfter, retryAfter)
			}
			if d := c.backoff(1, e.retryAfter); d <= 0 || d > c.retryCap {
				t.Fatalf("%s: wait %v from Retry-After %q, cap %v", fc.name, d, retryAfter, c.retryCap)
			}
		}
	})
}
