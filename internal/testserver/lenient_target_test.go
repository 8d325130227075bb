package testserver

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Pipelined requests on one connection: stray "%"s in paths reach the handlers as the real
// server reads them, while bodies (fixed-length and chunked) and queries pass untouched.
func TestStrayPercentInPath(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A body line that looks like a request line must not be touched.
	body := `{"service":"openai",` + "\r\n" + `"secret":"GET /a%zz HTTP/1.1"}`
	chunked := `{"service":"github","secret":"%zz"}`
	requests := []string{
		"GET /v1/workspaces/%zz HTTP/1.1\r\nHost: localhost\r\n\r\n",
		"POST /v1/credentials HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body,
		"POST /v1/credentials HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"5;ext=1\r\n" + chunked[:5] + "\r\n" + strconv.FormatInt(int64(len(chunked)-5), 16) + "\r\n" + chunked[5:] + "\r\n0\r\nX-Trailer: 1\r\n\r\n",
		"GET /v1/snapshots/50%-off%2 HTTP/1.1\r\nHost: localhost\r\n\r\n",
		"GET /v1/workspaces/ok%41 HTTP/1.1\r\nHost: localhost\r\n\r\n",
		"GET /v1/jails?limit=%zz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
	}
	if _, err := io.WriteString(conn, strings.Join(requests, "")); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status int
		body   string
	}{
		{404, `{"error":"not found: workspace %zz"}`},
		{200, ""},
		{200, ""},
		{404, `{"error":"not found: snapshot 50%-off%2"}`},
		{404, `{"error":"not found: workspace okA"}`},
		{400, "Failed to deserialize query string: invalid digit found in string"},
	}
	br := bufio.NewReader(conn)
	for i, w := range want {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != w.status || (w.body != "" && string(b) != w.body) {
			t.Fatalf("response %d: %d %s, want %d %s", i, resp.StatusCode, b, w.status, w.body)
		}
	}
	// The bodies arrived byte for byte: their fingerprints are of the secrets sent.
	var creds []struct {
		Service     string `json:"service"`
		Fingerprint string `json:"fingerprint"`
	}
	apiCall(t, srv, "", "GET", "/v1/credentials", nil).wantJSON(t, 200, &creds)
	got := map[string]string{}
	for _, c := range creds {
		got[c.Service] = c.Fingerprint
	}
	if got["openai"] != fingerprint("GET /a%zz HTTP/1.1") || got["github"] != fingerprint("%zz") {
		t.Fatalf("credentials %+v", creds)
	}
}

// TestFixRequestTargetLeavesOddLines: a request line without a target and version is left as it is
// for net/http to refuse.
func TestFixRequestTargetLeavesOddLines(t *testing.T) {
	t.Parallel()
	for _, line := range []string{"GET", "GET /a%zz", ""} {
		if got := string(fixRequestTarget([]byte(line))); got != line {
			t.Errorf("fixRequestTarget(%q) = %q", line, got)
		}
	}
	if got := string(fixRequestTarget([]byte("GET /a%zz?b=%z HTTP/1.1"))); got != "GET /a%25zz?b=%z HTTP/1.1" {
		t.Errorf("fixRequestTarget = %q", got)
	}
}
