package agentjail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStatusToCode: each status maps to its ErrorCode and matches exactly its sentinel.
func TestStatusToCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status   int
		code     ErrorCode
		sentinel error
	}{
		{400, CodeBadRequest, ErrBadRequest},
		{401, CodeUnauthorized, ErrUnauthorized},
		{403, CodeForbidden, ErrForbidden},
		{404, CodeNotFound, ErrNotFound},
		{405, CodeBadRequest, ErrBadRequest},
		{408, CodeTimeout, ErrTimeout},
		{409, CodeConflict, ErrConflict},
		{413, CodeBadRequest, ErrBadRequest},
		{415, CodeBadRequest, ErrBadRequest},
		{422, CodeBadRequest, ErrBadRequest},
		{429, CodeRateLimited, ErrRateLimited},
		{500, CodeServerError, ErrServerError},
		{501, CodeServerError, ErrServerError},
		{502, CodeServerError, ErrServerError},
		{503, CodeServerError, ErrServerError},
		{504, CodeTimeout, ErrTimeout},
		{302, CodeUnknown, nil},
		{100, CodeUnknown, nil},
	}
	all := []error{ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrRateLimited, ErrTimeout, ErrServerError, ErrNetwork}
	for _, tc := range cases {
		if got := codeForStatus(tc.status); got != tc.code {
			t.Errorf("codeForStatus(%d) = %s, want %s", tc.status, got, tc.code)
		}
		err := error(&Error{StatusCode: tc.status, Code: codeForStatus(tc.status)})
		for _, s := range all {
			if got, want := errors.Is(err, s), s == tc.sentinel; got != want {
				t.Errorf("status %d: errors.Is(err, %v) = %v", tc.status, s, got)
			}
		}
	}
}

// TestErrorResponses drives Credentials.Put into every kind of error reply the server,
// its framework or a proxy gives, with retries off, and checks the resulting *Error.
func TestErrorResponses(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 10<<20)
	cases := []struct {
		name    string
		reply   http.HandlerFunc
		status  int
		code    ErrorCode
		message string
		bodyLen int
	}{
		{"json error field", jsonReply(400, `{"error":"bad request: bad secret"}`), 400, CodeBadRequest, "bad request: bad secret", 35},
		{"plain text 401 missing", textReply(401, "missing api key"), 401, CodeUnauthorized, "missing api key", 15},
		{"plain text 401 invalid", textReply(401, "invalid api key"), 401, CodeUnauthorized, "invalid api key", 15},
		{"axum 422", textReply(422, "Failed to deserialize the JSON body into the target type: missing field `secret`"), 422, CodeBadRequest,
			"Failed to deserialize the JSON body into the target type: missing field `secret`", 80},
		{"413 length limit", textReply(413, "length limit exceeded"), 413, CodeBadRequest, "length limit exceeded", 21},
		{"415", textReply(415, "Expected request with `Content-Type: application/json`"), 415, CodeBadRequest, "Expected request with `Content-Type: application/json`", 54},
		{"empty 404 body uses status text", jsonReply(404, ""), 404, CodeNotFound, "Not Found", 0},
		{"json without error field uses status text", jsonReply(409, `{"detail":"x"}`), 409, CodeConflict, "Conflict", 14},
		{"masked 500", jsonReply(500, `{"error":"internal server error"}`), 500, CodeServerError, "internal server error", 33},
		{"html 502 from a proxy", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = io.WriteString(w, "<html><body>Bad gateway</body></html>")
		}, 502, CodeServerError, "<html><body>Bad gateway</body></html>", 37},
		{"unknown status", jsonReply(599, ""), 599, CodeServerError, "status 599", 0},
		{"non-JSON body labelled JSON", jsonReply(502, "upstream connect error"), 502, CodeServerError, "upstream connect error", 22},
		{"10 MiB error body is capped", textReply(400, huge), 400, CodeBadRequest, huge[:maxErrorMessage-len("…")] + "…", maxErrorBody},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, tc.reply)
			c := testClient(t, srv.URL, WithMaxRetries(0))
			_, err := c.Credentials.Put(context.Background(), CredentialPutParams{Service: ServiceOpenAI, Secret: "sk-in-the-body"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.StatusCode != tc.status || e.Code != tc.code || e.Message != tc.message || len(e.Body) != tc.bodyLen || e.Attempts != 1 {
				t.Fatalf("got status %d code %s message %.60q body %d attempts %d", e.StatusCode, e.Code, e.Message, len(e.Body), e.Attempts)
			}
			if want := "agentjail " + strconv.Itoa(tc.status) + ": " + tc.message; e.Error() != want {
				t.Fatalf("Error() = %.80q, want %.80q", e.Error(), want)
			}
			if strings.Contains(e.Error(), "sk-in-the-body") || strings.Contains(e.Error(), "Bearer") {
				t.Fatal("Error() leaks the request")
			}
		})
	}
}

// TestErrorScrubsEchoedKey: a key the server echoes is replaced by [REDACTED] in every
// text of the *Error.
func TestErrorScrubsEchoedKey(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		_, _ = io.WriteString(w, `{"error":"key `+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+` rejected"}`)
	})
	c := testClient(t, srv.URL, WithAPIKey("sk-echoed-key"), WithMaxRetries(0))
	_, err := c.Settings.Whoami(context.Background())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	for _, s := range []string{e.Error(), e.Message, string(e.Body), e.GoString()} {
		if strings.Contains(s, "sk-echoed-key") {
			t.Fatalf("the API key leaked: %s", s)
		}
	}
	if e.Message != "key [REDACTED] rejected" {
		t.Fatalf("message = %q", e.Message)
	}
}

// TestNetworkErrors: a transport failure is a CodeNetwork *Error matching ErrNetwork,
// with the transport's error reachable and the attempts counted.
func TestNetworkErrors(t *testing.T) {
	t.Parallel()
	c := testClient(t, refusedURL, WithMaxRetries(1))
	_, err := c.Sessions.List(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeNetwork || e.StatusCode != 0 || e.Attempts != 2 {
		t.Fatalf("err = %#v, want a NETWORK *Error after 2 attempts", err)
	}
	if !errors.Is(err, ErrNetwork) {
		t.Fatal("errors.Is(err, ErrNetwork) = false")
	}
	var op *net.OpError
	if !errors.As(err, &op) || errors.Unwrap(e) == nil {
		t.Fatalf("the transport error is not reachable: %v", err)
	}
	if !strings.HasPrefix(e.Error(), "agentjail: ") {
		t.Fatalf("Error() = %q", e.Error())
	}
}

// TestErrorIsOneLine: a proxy's multi-line HTML page cannot inject lines into the
// caller's logs through Error(); Message keeps the text as sent.
func TestErrorIsOneLine(t *testing.T) {
	t.Parallel()
	page := "<html>\r\n<body>\n\tBad gateway\x1b[31m\n</body>\n</html>\n"
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(400)
		_, _ = io.WriteString(w, page)
	})
	_, err := testClient(t, srv.URL).Sessions.Get(context.Background(), "sess_1")
	e := asError(t, err)
	if e.Message != strings.TrimSpace(page) {
		t.Fatalf("Message = %q", e.Message)
	}
	if strings.ContainsAny(e.Error(), "\r\n\t\x1b") {
		t.Fatalf("Error() = %q spans lines or carries control characters", e.Error())
	}
	if want := "agentjail 400: <html> <body> Bad gateway [31m </body> </html>"; e.Error() != want {
		t.Fatalf("Error() = %q, want %q", e.Error(), want)
	}
}

// TestErrorsNeverCarrySecrets makes a client with a distinctive key fail in every way
// and scans every text it produces, error texts in every formatting verb and the debug
// log in both slog formats, for the key and for a credential secret.
func TestErrorsNeverCarrySecrets(t *testing.T) {
	t.Parallel()
	const key = "sk-live-Secret7Key-0123456789abcdef"
	const secret = "upstream-Secret-Value-42-xyz"
	forbidden := []string{key, secret, fmt.Sprintf("%x", key), fmt.Sprintf("%X", key), fmt.Sprintf("%x", secret)}
	check := func(t *testing.T, what, text string) {
		t.Helper()
		for _, f := range forbidden {
			if strings.Contains(text, f) {
				t.Errorf("%s leaks a secret: %.200q", what, text)
			}
		}
		// A key cut in two by a length limit must not survive as a long prefix either.
		if strings.Contains(text, key[:16]) || strings.Contains(text, secret[:16]) {
			t.Errorf("%s leaks the start of a secret: %.200q", what, text)
		}
	}
	escapedKey := `\u00` + fmt.Sprintf("%02x", key[0]) + key[1:] // the key, JSON-escaped
	echo := func(code int, contentType string, body func(r *http.Request, reqBody []byte) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body(r, b))
		}
	}
	auth := func(r *http.Request) string { return r.Header.Get("Authorization") }
	scenarios := []struct {
		name   string
		script []http.HandlerFunc
		url    func(t *testing.T, srv *recorder) string // nil: the server's URL
		cancel bool                                     // cancel during the retry wait
	}{
		{name: "401_json_echo", script: []http.HandlerFunc{echo(401, "application/json", func(r *http.Request, _ []byte) string {
			return `{"error":"invalid api key: ` + auth(r) + `"}`
		})}},
		{name: "401_text_echo", script: []http.HandlerFunc{echo(401, "text/plain", func(r *http.Request, _ []byte) string {
			return "invalid api key " + auth(r) + "\n"
		})}},
		{name: "401_json_escaped_echo", script: []http.HandlerFunc{echo(401, "application/json", func(*http.Request, []byte) string {
			return `{"error":"key ` + escapedKey + ` rejected"}`
		})}},
		{name: "400_key_across_64KiB", script: []http.HandlerFunc{echo(400, "text/plain", func(r *http.Request, _ []byte) string {
			return strings.Repeat("x", maxErrorBody-len("Bearer ")-20) + auth(r) + strings.Repeat("y", 100)
		})}},
		{name: "401_key_across_1KiB_message", script: []http.HandlerFunc{echo(401, "application/json", func(r *http.Request, _ []byte) string {
			return `{"error":"` + strings.Repeat("m", maxErrorMessage-len("Bearer ")-20) + auth(r) + `"}`
		})}},
		{name: "422_echoes_request_body", script: []http.HandlerFunc{echo(422, "text/plain", func(_ *http.Request, b []byte) string {
			return "Failed to deserialize the JSON body: " + string(b)
		})}},
		{name: "400_json_echoes_request_body", script: []http.HandlerFunc{echo(400, "application/json", func(_ *http.Request, b []byte) string {
			quoted, _ := json.Marshal("bad body " + string(b))
			return `{"error":` + string(quoted) + `}`
		})}},
		{name: "500", script: []http.HandlerFunc{statusReply(500, "")}},
		{name: "503_exhausted", script: []http.HandlerFunc{statusReply(503, "")}},
		{name: "2xx_echo_in_time_field", script: []http.HandlerFunc{echo(200, "application/json", func(r *http.Request, _ []byte) string {
			return `{"tenant_id":"t","added_at":"` + auth(r) + `"}`
		})}},
		{name: "2xx_echo_secret_in_number_field", script: []http.HandlerFunc{echo(200, "application/json", func(_ *http.Request, b []byte) string {
			return `{"tenant_id":"t","fingerprint":` + string(b) + `}`
		})}},
		{name: "dropped", script: []http.HandlerFunc{dropReply}},
		{name: "body_cut", script: []http.HandlerFunc{cutReply(200, 4096, `{"tenant_id":"`)}},
		{name: "refused", script: []http.HandlerFunc{dropReply}, url: func(t *testing.T, _ *recorder) string { return refusedURL }},
		{name: "tls_untrusted", script: nil},
		{name: "cancel_in_backoff", script: []http.HandlerFunc{statusReply(503, "5")}, cancel: true},
		{name: "redirect_to_other_host", script: nil},
	}
	for _, format := range []string{"text", "json"} {
		for _, sc := range scenarios {
			t.Run(format+"_"+sc.name, func(t *testing.T) {
				t.Parallel()
				var srv *recorder
				switch sc.name {
				case "tls_untrusted":
					srv = startRecorder(t, true, okReply(fixtureCredential))
				case "redirect_to_other_host":
					other := newRecorder(t, echo(401, "text/plain", func(r *http.Request, _ []byte) string { return "got " + auth(r) }))
					srv = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
						http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
					})
					t.Cleanup(func() {
						for _, r := range other.requests() {
							for k, vs := range r.Header {
								check(t, "header "+k+" at the other host", strings.Join(vs, ","))
							}
						}
					})
				default:
					srv = newRecorder(t, sc.script...)
				}
				base := srv.URL
				if sc.url != nil {
					base = sc.url(t, srv)
				}
				var logs bytes.Buffer
				opts := &slog.HandlerOptions{Level: slog.LevelDebug}
				var h slog.Handler = slog.NewTextHandler(&logs, opts)
				if format == "json" {
					h = slog.NewJSONHandler(&logs, opts)
				}
				retrying := make(chan struct{}, 1)
				if sc.cancel {
					h = fanout{h, signalHandler{slog.LevelWarn, retrying}}
				}
				c := testClient(t, base, WithAPIKey(key), WithLogger(slog.New(h)))
				if sc.cancel {
					c.retryCap = 10 * time.Second
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				params := CredentialPutParams{Service: ServiceOpenAI, Secret: secret}
				done := make(chan error, 1)
				go func() {
					_, err := c.Credentials.Put(ctx, params)
					done <- err
				}()
				if sc.cancel {
					<-retrying
					cancel()
				}
				err := <-done
				if err == nil {
					t.Fatal("want an error")
				}
				texts := map[string]string{"Error()": err.Error(), "log": logs.String()}
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
					texts["error "+verb] = fmt.Sprintf(verb, err)
				}
				var e *Error
				if errors.As(err, &e) {
					texts["Message"] = e.Message
					texts["Body"] = string(e.Body)
					texts["GoString"] = e.GoString()
					texts["*Error value %+v"] = fmt.Sprintf("%+v", *e)
					texts["*Error value %#v"] = fmt.Sprintf("%#v", *e)
				}
				for what, text := range texts {
					check(t, what, text)
				}
				if !strings.Contains(logs.String(), "/v1/credentials") {
					t.Fatalf("no log records:\n%s", logs.String())
				}
			})
		}
	}
}

// fanout sends every record to each handler.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler { return f }
func (f fanout) WithGroup(string) slog.Handler         { return f }

// FuzzDecodeError feeds arbitrary bytes as a non-2xx body, with any Content-Type and
// Retry-After, to every method: the result is always an *Error with the status and its
// code, bounded Body and Message, a one-line Error() without the key, and a retry wait
// within the cap.
func FuzzDecodeError(f *testing.F) {
	f.Add(uint16(404), "application/json", "", []byte(`{"error":"not found: session sess_1"}`))
	f.Add(uint16(401), "text/plain; charset=utf-8", "", []byte("invalid api key"))
	f.Add(uint16(503), "application/json", "1", []byte(`{"error":"busy"}`))
	calls := sdkCalls()
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
		c := fuzzClient(t, cannedTransport{status: code, header: header, body: body})
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

// TestServerErrorTexts: against the fake control plane, the server's refusals reach the
// caller as *Error values matching their sentinel, with the server's exact text.
func TestServerErrorTexts(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	c, ctx := st.client, context.Background()
	ws, err := c.Workspaces.Create(ctx, WorkspaceCreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := NewClient(st.srv.URL(), WithAPIKey("nope"))
	if err != nil {
		t.Fatal(err)
	}
	anon, err := NewClient(st.srv.URL(), WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		call func() error
		is   error
		msg  string
	}{
		{"invalid key", func() error {
			_, err := bad.Settings.Whoami(ctx)
			return err
		}, ErrUnauthorized, "agentjail 401: invalid api key"},
		{"missing key", func() error {
			_, err := anon.Sessions.List(ctx)
			return err
		}, ErrUnauthorized, "agentjail 401: missing api key"},
		{"unsupported language", func() error {
			_, err := c.Runs.Create(ctx, RunParams{Code: "x", Language: "cobol"})
			return err
		}, ErrBadRequest, "agentjail 400: bad request: unsupported language: cobol"},
		{"no services", func() error {
			_, err := c.Sessions.Create(ctx, SessionCreateParams{})
			return err
		}, ErrBadRequest, "agentjail 400: bad request: services must contain at least one entry"},
		{"empty secret", func() error {
			_, err := c.Credentials.Put(ctx, CredentialPutParams{Service: ServiceOpenAI, Secret: "  "})
			return err
		}, ErrBadRequest, "agentjail 400: bad request: secret must be non-empty"},
		{"unknown workspace", func() error {
			_, err := c.Workspaces.Get(ctx, "wrk_missing")
			return err
		}, ErrNotFound, "agentjail 404: not found: workspace wrk_missing"},
		{"restore without the right parent", func() error {
			_, err := c.Snapshots.CreateWorkspaceFrom(ctx, "snap_missing", CreateWorkspaceFromParams{ParentWorkspaceID: ws.ID})
			return err
		}, ErrNotFound, "agentjail 404: not found: snapshot snap_missing"},
		{"empty allowlist", func() error {
			_, err := c.Runs.Create(ctx, RunParams{Code: "1", ExecOptions: ExecOptions{Network: NetworkAllowlist()}})
			return err
		}, ErrBadRequest, "agentjail 400: bad request: allowlist must contain at least one domain"},
		{"http git repo", func() error {
			_, err := c.Runs.Create(ctx, RunParams{Code: "1", Git: &GitSeed{Repo: "http://x/y"}})
			return err
		}, ErrBadRequest, "agentjail 400: bad request: git.repo must be https:// (max 512 bytes)"},
		{"jail id not found", func() error {
			_, err := c.Jails.Get(ctx, 1<<40)
			return err
		}, ErrNotFound, "agentjail 404: not found: jail 1099511627776"},
	}
	for _, tc := range cases {
		err := tc.call()
		if !errors.Is(err, tc.is) || err.Error() != tc.msg {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.msg)
		}
	}
}

// TestErrorScrubsKeyEchoedInJSON: a key with characters JSON escapes is scrubbed from
// the raw body however the server's encoder escaped it, not only from the message.
func TestErrorScrubsKeyEchoedInJSON(t *testing.T) {
	t.Parallel()
	const key = `sk-<a>&"b"\c`
	for _, html := range []bool{false, true} {
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(html)
			_ = enc.Encode(map[string]string{"error": "key " + key + " rejected", "key": key})
		})
		c := testClient(t, srv.URL, WithAPIKey(key), WithMaxRetries(0))
		_, err := c.Settings.Whoami(context.Background())
		e := asError(t, err)
		if e.Message != "key [REDACTED] rejected" || !strings.Contains(string(e.Body), `"key":"[REDACTED]"`) {
			t.Errorf("escape HTML %v: message %q, body %s; want the key redacted in both", html, e.Message, e.Body)
		}
		for _, s := range []string{e.Error(), string(e.Body), e.GoString()} {
			if strings.Contains(s, "<a>") || strings.Contains(s, `\u003ca\u003e`) {
				t.Errorf("escape HTML %v: the API key leaked: %s", html, s)
			}
		}
	}
}
