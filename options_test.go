package agentjail

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestOptionsReject: an option NewClient cannot honour is an error from NewClient, never
// a failure on every later call: a nil *http.Client, a negative retry count, a key or a
// header that net/http would refuse to send, or a header the SDK manages itself. The
// error never echoes the key.
func TestOptionsReject(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opt  Option
	}{
		{"nil http client", WithHTTPClient(nil)},
		{"negative retries", WithMaxRetries(-1)},
		{"key with space", WithAPIKey("a b")},
		{"key with newline", WithAPIKey("a\nb")},
		{"empty header name", WithHeader("", "x")},
		{"managed header", WithHeader("authorization", "x")},
		{"header value with newline", WithHeader("X-Trace", "a\r\nX-Evil: 1")},
		{"header value with NUL", WithHeader("X-Trace", "a\x00b")},
		{"header value with DEL", WithHeader("X-Trace", "a\x7fb")},
		{"header name with space", WithHeader("X Trace", "v")},
		{"header name with colon", WithHeader("X-Trace:", "v")},
		{"user agent with newline", WithUserAgent("bot/1\nX-Evil: 1")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, nil)
			c, err := NewClient(srv.URL, WithAPIKey(""), tc.opt)
			if err == nil {
				_, callErr := c.Settings.Whoami(context.Background())
				t.Fatalf("option accepted; a call then gives %v after %d requests", callErr, len(srv.requests()))
			}
			if c != nil || strings.Contains(err.Error(), "a b") {
				t.Fatalf("NewClient = %v, %v", c, err)
			}
		})
	}
}

// TestHTTPClientNotMutated: WithHTTPClient's client is used through a copy; the caller's
// own value, redirect policy included, is left as it was.
func TestHTTPClientNotMutated(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, jsonReply(200, "[]"))
	mine := &http.Client{Transport: http.DefaultTransport}
	before := *mine
	c := testClient(t, srv.URL, WithHTTPClient(mine))
	if _, err := c.Credentials.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if mine.CheckRedirect != nil || mine.Transport != before.Transport || mine.Timeout != before.Timeout || mine.Jar != before.Jar {
		t.Fatal("the caller's *http.Client was modified")
	}
	if c.hc.Transport != mine.Transport {
		t.Fatal("the caller's transport is not used")
	}
}
