//go:build unix

package testserver

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// gatewayDo sends one request to srv's gateway with the given Host and returns the answer,
// without following redirects.
func gatewayDo(t *testing.T, srv *Server, method, host, path, body string, header http.Header) wireResp {
	t.Helper()
	req, err := http.NewRequest(method, srv.GatewayURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, vs := range header {
		req.Header[k] = vs
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return wireResp{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func TestGatewayRoutesByHost(t *testing.T) {
	t.Parallel()
	backend, seen := recordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/moved" {
			w.Header().Set("Location", "/api/elsewhere")
			w.WriteHeader(http.StatusFound)
			return
		}
		w.Header().Add("X-Multi", "first")
		w.Header().Add("X-Multi", "last")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "from backend")
	})
	srv := Start(t, WithGateway(""), WithAPIKeys("adm@acme:admin", "op@beta:operator"))
	createWS(t, srv, "op", map[string]any{"domains": []map[string]any{
		{"domain": "App.Example.test", "backend_url": backend.URL + "/api/"},
		{"domain": "down.test", "backend_url": "http://127.0.0.1:1"},
		{"domain": "down-auth.test", "backend_url": "http://user:s3cr3t@127.0.0.1:1"},
		{"domain": "port.test", "vm_port": 3000},
	}})
	gone := createWS(t, srv, "op", map[string]any{"domains": []map[string]any{{"domain": "gone.test", "backend_url": backend.URL}}})
	apiCall(t, srv, "op", "DELETE", "/v1/workspaces/"+gone.ID, nil).wantEmpty(t, 204)
	portWS := ""
	{
		var page struct {
			Rows []workspace `json:"rows"`
		}
		apiCall(t, srv, "op", "GET", "/v1/workspaces", nil).wantJSON(t, 200, &page)
		portWS = page.Rows[0].ID
	}

	// The Host decides, whatever its case and port; the path and query follow the backend's
	// own path, the method and body go along, and the answer comes back as the backend gave it.
	r := gatewayDo(t, srv, "POST", "app.EXAMPLE.test:9999", "/x?y=1", "payload",
		http.Header{"X-Forwarded-Host": {"client.example"}, "Keep-Alive": {"timeout=1"}, "X-Client": {"a", "b"}, "User-Agent": nil})
	got := <-seen
	if r.status != 202 || r.body != "from backend" || r.header.Get("X-Multi") != "last" || len(r.header.Values("X-Multi")) != 1 || r.header.Get("Keep-Alive") != "" {
		t.Fatalf("gateway answered %d %q %v", r.status, r.body, r.header)
	}
	if got.method != "POST" || got.target() != "/api/x?y=1" || got.body != "payload" {
		t.Fatalf("backend saw %s %s %q", got.method, got.target(), got.body)
	}
	if fh := got.header.Values("X-Forwarded-Host"); len(fh) != 2 || fh[0] != "client.example" || fh[1] != "app.example.test" {
		t.Fatalf("X-Forwarded-Host %q", fh)
	}
	if got.header.Get("Keep-Alive") != "" || strings.Join(got.header.Values("X-Client"), ",") != "a,b" || got.header.Get("Accept") != "*/*" || len(got.header.Values("User-Agent")) != 0 {
		t.Fatalf("backend headers %v", got.header)
	}
	// Redirects reach the client unfollowed.
	if r := gatewayDo(t, srv, "GET", "app.example.test", "/moved", "", nil); r.status != 302 || r.header.Get("Location") != "/api/elsewhere" {
		t.Fatalf("redirect answered %d %v", r.status, r.header)
	}
	<-seen

	tests := []struct {
		name, host, path string
		body             string
		status           int
		want             string
	}{
		{name: "unknown host", host: "nope.test", path: "/", status: 404, want: "gateway: no workspace declares host nope.test\n"},
		{name: "deleted workspace", host: "gone.test", path: "/", status: 404, want: "gateway: no workspace declares host gone.test\n"},
		{name: "an IPv6 literal never matches", host: "[::1]:80", path: "/", status: 404, want: "gateway: no workspace declares host [\n"},
		{name: "backend down", host: "down.test", path: "/p?q", status: 502, want: "gateway: upstream failed: error sending request for url (http://127.0.0.1:1/p?q)\n"},
		{name: "backend password masked", host: "down-auth.test", path: "/p", status: 502, want: "gateway: upstream failed: error sending request for url (http://user:xxxxx@127.0.0.1:1/p)\n"},
		{name: "vm_port without a live exec", host: "port.test", path: "/", status: 503,
			want: fmt.Sprintf("gateway: no live jail for workspace %s on vm_port 3000\nstart a workspace exec that binds :3000 before retrying\n", portWS)},
		{name: "body over 10 MiB", host: "app.example.test", path: "/", body: strings.Repeat("x", gatewayBodyLimit+1), status: 400, want: "gateway: bad request: body read: length limit exceeded\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gatewayDo(t, srv, "POST", tt.host, tt.path, tt.body, nil).wantPlain(t, tt.status, tt.want)
		})
	}

	// Without a Host header (HTTP/1.0) the gateway cannot route.
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.GatewayURL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || string(b) != "gateway: bad request: missing Host header\n" {
		t.Fatalf("no Host: %d %q", resp.StatusCode, b)
	}

	// /v1/config reports the gateway to admins only.
	var cfg map[string]json.RawMessage
	apiCall(t, srv, "adm", "GET", "/v1/config", nil).wantJSON(t, 200, &cfg)
	if want := `{"bind_addr":"` + strings.TrimPrefix(srv.GatewayURL(), "http://") + `"}`; string(cfg["gateway"]) != want {
		t.Fatalf("admin gateway %s, want %s", cfg["gateway"], want)
	}
	apiCall(t, srv, "op", "GET", "/v1/config", nil).wantJSON(t, 200, &cfg)
	if string(cfg["gateway"]) != "null" {
		t.Fatalf("operator gateway %s", cfg["gateway"])
	}
}

// A vm_port domain reaches the port while an allowlist workspace exec is in flight, and only then.
func TestGatewayVMPort(t *testing.T) {
	t.Parallel()
	devServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "dev server "+r.URL.Path)
	}))
	t.Cleanup(devServer.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(devServer.URL, "http://"))
	srv := Start(t, WithGateway("127.0.0.1:0"))
	ws := createWS(t, srv, "", map[string]any{
		"network": map[string]any{"mode": "allowlist", "domains": []string{"example.com"}},
		"domains": []map[string]any{{"domain": "preview.test", "vm_port": json.Number(port)}},
	})
	gate := newFifoGate(t, srv)
	done := asyncCall(srv, "", "POST", "/v1/workspaces/"+ws.ID+"/exec", map[string]any{"cmd": "/bin/sh", "args": []string{"-c", gate.script()}})
	gate.waitUp(t, done)
	gatewayDo(t, srv, "GET", "preview.test", "/index.html", "", nil).wantPlain(t, 200, "dev server /index.html")
	gate.release(t)
	await(t, done).wantJSON(t, 200, nil)
	r := gatewayDo(t, srv, "GET", "preview.test", "/", "", nil)
	if r.status != 503 {
		t.Fatalf("after the exec: %d %q", r.status, r.body)
	}
}

func TestGatewayAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		ok   bool
	}{
		{"0.0.0.0:8080", true}, {"127.0.0.1:0", true}, {"[::]:8080", true}, {"[::1]:80", true},
		{"localhost:8080", false}, {":8080", false}, {"8080", false}, {"[127.0.0.1]:80", false},
		{"::1:80", false}, {"127.0.0.1", false}, {"127.0.0.1:65536", false}, {" 127.0.0.1:80", false},
	}
	for _, tt := range tests {
		if got := ParseSocketAddr(tt.addr); got != tt.ok {
			t.Errorf("ParseSocketAddr(%q) = %v, want %v", tt.addr, got, tt.ok)
		}
	}
	if _, err := New(WithGateway("localhost:1")); err == nil {
		t.Error("New accepted a gateway host name")
	}
	// Off by default: /v1/config says null and there is no URL.
	srv := Start(t)
	var cfg map[string]json.RawMessage
	apiCall(t, srv, "", "GET", "/v1/config", nil).wantJSON(t, 200, &cfg)
	if string(cfg["gateway"]) != "null" || srv.GatewayURL() != "" {
		t.Fatalf("gateway %s url %q", cfg["gateway"], srv.GatewayURL())
	}

	// An address that cannot be bound leaves the server up without a gateway, and
	// /v1/config still reports the configured address.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	busy := Start(t, WithGateway(taken.Addr().String()))
	apiCall(t, busy, "", "GET", "/v1/config", nil).wantJSON(t, 200, &cfg)
	if want := `{"bind_addr":"` + taken.Addr().String() + `"}`; string(cfg["gateway"]) != want || busy.GatewayURL() != "" {
		t.Fatalf("gateway on a taken port: %s url %q, want %s and no URL", cfg["gateway"], busy.GatewayURL(), want)
	}
}

// TestGatewayHost: the routing key is the Host cut at its port, trimmed and lower case; a Host
// that is empty or not visible ASCII (a tab aside) routes nowhere.
func TestGatewayHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host, want string
		ok         bool
	}{
		{"App.Example.test:8080", "app.example.test", true},
		{" spaced.test\t", "spaced.test", true},
		{"", "", false},
		{":80", "", false},
		{"bad\x01.test", "", false},
		{"caf\xc3\xa9.test", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = tt.host
		if got, ok := gatewayHost(r); got != tt.want || ok != tt.ok {
			t.Errorf("gatewayHost(%q) = %q, %v; want %q, %v", tt.host, got, ok, tt.want, tt.ok)
		}
	}
}
