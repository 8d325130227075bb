package agentjail

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

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

// TestErrorResponses drives credentials.put into every kind of error reply (TS 5–14,
// Python 4–13) with retries off and checks the resulting *Error.
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

func TestSuccessBodies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		reply   http.HandlerFunc
		wantErr bool
		status  int // of the error, when wantErr
	}{
		{"201 decodes", jsonReply(201, fixtureSession), false, 0},
		// No value where one is expected: a zero Session would look real.
		{"204 no body", jsonReply(204, ""), true, 204},
		{"200 empty body", jsonReply(200, ""), true, 200},
		{"200 null", jsonReply(200, "null"), true, 200},
		{"unknown fields ignored", jsonReply(200, `{"id":"sess_1","future":{"x":[1,2]},"env":{}}`), false, 0},
		{"truncated json", jsonReply(200, `{"id":"sess_1","env":{`), true, 200},
		{"wrong type", jsonReply(200, `{"id":42}`), true, 200},
		{"html", textReply(200, "<html>proxy login</html>"), true, 200},
		{"array for object", jsonReply(200, `[1,2]`), true, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, tc.reply)
			c := testClient(t, srv.URL)
			s, err := c.Sessions.Get(context.Background(), "sess_1")
			if tc.wantErr {
				var e *Error
				if !errors.As(err, &e) || e.Code != CodeUnknown || e.StatusCode != tc.status || s != nil {
					t.Fatalf("got %v, %v; want an *Error with CodeUnknown", s, err)
				}
				if n := len(srv.requests()); n != 1 {
					t.Fatalf("a malformed 2xx must not be retried, got %d requests", n)
				}
				return
			}
			if err != nil || s == nil {
				t.Fatalf("got %v, %v", s, err)
			}
		})
	}
}

func TestNetworkErrors(t *testing.T) {
	t.Parallel()
	c := testClient(t, faultRefusedURL(t), WithMaxRetries(1))
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

func TestContextErrorsAreNotNetworkErrors(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := testClient(t, srv.URL)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Sessions.List(ctx); done <- err }()
	<-arrived
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrNetwork) {
		t.Fatalf("cancel: err = %v", err)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	_, err = c.Sessions.List(dctx)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNetwork) {
		t.Fatalf("deadline: err = %v", err)
	}
}
