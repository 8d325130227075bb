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
	"testing/iotest"
)

// TestDecodeSuccessBodies: a 2xx body decodes when it is one JSON value, unknown fields
// and trailing whitespace included; anything else (no value, null, truncated or wrong
// JSON, a proxy's page, a second document) is an *Error with CodeUnknown and the status,
// made once and not retried.
func TestDecodeSuccessBodies(t *testing.T) {
	t.Parallel()
	const sess = `{"id":"sess_1","created_at":"2026-01-02T03:04:05Z","expires_at":null,"services":[],"env":{}}`
	cases := []struct {
		name    string
		reply   http.HandlerFunc
		wantErr bool
		status  int // of the error, when wantErr
	}{
		{"201 decodes", jsonReply(201, sess), false, 0},
		{"unknown fields ignored", jsonReply(200, `{"id":"sess_1","future":{"x":[1,2]},"env":{}}`), false, 0},
		{"trailing whitespace", jsonReply(200, sess+"\n \t\r\n"), false, 0},
		{"whitespace past the decoder's buffer", jsonReply(200, sess+strings.Repeat(" ", 20000)), false, 0},
		// No value where one is expected: a zero Session would look real.
		{"204 no body", jsonReply(204, ""), true, 204},
		{"200 empty body", jsonReply(200, ""), true, 200},
		{"json null", jsonReply(200, "null"), true, 200},
		{"json null in whitespace", jsonReply(200, " \r\n\tnull\n"), true, 200},
		{"truncated json", jsonReply(200, `{"id":"sess_1","env":{`), true, 200},
		{"wrong type", jsonReply(200, `{"id":42}`), true, 200},
		{"html", textReply(200, "<html>proxy login</html>"), true, 200},
		{"array for object", jsonReply(200, `[1,2]`), true, 200},
		{"html after json", jsonReply(200, sess+"<html>proxy</html>"), true, 200},
		{"two documents", jsonReply(200, sess+sess), true, 200},
		{"trailing bracket", jsonReply(200, sess+"}"), true, 200},
		{"garbage past the decoder's buffer", jsonReply(200, sess+strings.Repeat(" ", 20000)+"x"), true, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, tc.reply)
			s, err := testClient(t, srv.URL).Sessions.Get(context.Background(), "sess_1")
			if !tc.wantErr {
				if err != nil || s == nil || s.ID != "sess_1" {
					t.Fatalf("got %+v, %v", s, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeUnknown || e.StatusCode != tc.status || s != nil {
				t.Fatalf("got %+v, %v; want an *Error with CodeUnknown", s, err)
			}
			if n := len(srv.requests()); n != 1 {
				t.Fatalf("a malformed 2xx must not be retried, got %d requests", n)
			}
		})
	}
}

// TestDecodeBodyTrailingDataAnyReader: the check after the value holds however the body
// delivers its end: with the last bytes, in a later empty read, or one byte at a time.
func TestDecodeBodyTrailingDataAnyReader(t *testing.T) {
	t.Parallel()
	readers := map[string]func(string) io.Reader{
		"eof-with-data":  func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
		"eof-separately": func(s string) io.Reader { return strings.NewReader(s) },
		"one-byte-reads": func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half-reads":     func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
	}
	bodies := []struct {
		body   string
		wantOK bool
	}{
		{`{"id":"a"}`, true},
		{`{"id":"a"}` + "\n", true},
		{`{"id":"a"} ` + strings.Repeat("\r\n", 600), true},
		{`{"id":"a"}x`, false},
		{`{"id":"a"}` + "\n" + `{"id":"b"}`, false},
		{`{"id":"a"}` + strings.Repeat(" ", 5000) + "]", false},
	}
	for name, reader := range readers {
		for _, none := range []string{" null ", "", " \r\n"} {
			var v struct{ ID string }
			if err := decodeBody(reader(none), &v); !errors.Is(err, errNoValue) {
				t.Errorf("%s: body %q gave %v, want errNoValue", name, none, err)
			}
		}
		for _, b := range bodies {
			var out struct {
				ID string `json:"id"`
			}
			err := decodeBody(reader(b.body), &out)
			if b.wantOK && (err != nil || out.ID != "a") {
				t.Errorf("%s %.30q: got %+v, %v; want id a", name, b.body, out, err)
			}
			if !b.wantOK && !errors.Is(err, errTrailingData) {
				t.Errorf("%s %.30q: got %v, want errTrailingData", name, b.body, err)
			}
		}
	}
}

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

// fuzzClient returns a client whose every request gets ft's response. Retries are off:
// each call must make exactly one attempt.
func fuzzClient(t *testing.T, ft cannedTransport) *Client {
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
	calls := sdkCalls()
	f.Fuzz(func(t *testing.T, body []byte) {
		body = bytes.ReplaceAll(body, []byte("KEY"), []byte(fuzzKey))
		c := fuzzClient(t, cannedTransport{status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: body})
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

// TestConnectionReuse: discarded responses are drained and closed, so retries and
// later calls reuse the pooled connection instead of dialing again.
func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	big := `{"error":"` + strings.Repeat("b", 100<<10) + `"}` // more than Error.Body keeps
	var trailing strings.Builder
	trailing.WriteString(fixtureSession)
	trailing.WriteString(strings.Repeat(" ", 32<<10)) // unread by the JSON decoder
	cases := []struct {
		name   string
		script []http.HandlerFunc // per call: the server cycles through it
		ok     bool
	}{
		{"503_then_200", []http.HandlerFunc{statusReply(503, ""), okReply(fixtureSession)}, true},
		{"429_retry_after_0_then_200", []http.HandlerFunc{statusReply(429, "0"), okReply(fixtureSession)}, true},
		{"100_KiB_404", []http.HandlerFunc{jsonReply(404, big)}, false},
		{"200_with_trailing_bytes", []http.HandlerFunc{jsonReply(200, trailing.String())}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, cycleReply(tc.script...))
			c := testClient(t, srv.URL)
			const calls = 20
			for i := 0; i < calls; i++ {
				_, err := c.Sessions.Get(context.Background(), "sess_1")
				if (err == nil) != tc.ok {
					t.Fatalf("call %d: err = %v", i, err)
				}
			}
			want := calls
			if tc.ok {
				want = calls * len(tc.script)
			}
			if got := len(srv.requests()); got != want {
				t.Fatalf("%d requests, want %d", got, want)
			}
			if conns := srv.conns.Load(); conns > 2 {
				t.Fatalf("%d connections for %d sequential calls: responses are not drained and closed", conns, calls)
			}
		})
	}
}
