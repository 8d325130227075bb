package testserver

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func TestMatchesAllowlist(t *testing.T) {
	t.Parallel()
	patterns := []string{"API.openai.com", "*.example.com", "10.1.2.3"}
	tests := []struct {
		host string
		want bool
	}{
		{"api.openai.com", true},
		{"Api.OpenAI.Com", true},
		{"openai.com", false},
		{"evil-api.openai.com", false},
		{"example.com", true},
		{"a.b.example.com", true},
		{"notexample.com", false},
		{"example.com.evil.net", false},
		{"10.1.2.3", true},
		{"10.1.2.4", false},
	}
	for _, tt := range tests {
		if got := matchesAllowlist(patterns, tt.host); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestSplitConnectTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target string
		host   string
		port   uint16
		ok     bool
	}{
		{"example.com:8443", "example.com", 8443, true},
		{"example.com", "example.com", 443, true},
		{"[2001:db8::1]:444", "2001:db8::1", 444, true},
		{"[2001:db8::1]", "2001:db8::1", 443, true},
		{"2001:db8::1", "", 0, false},
		{"example.com:99999", "", 0, false},
		{"example.com:x", "", 0, false},
		{":443", "", 0, false},
		{"", "", 0, false},
		{"[::1]x", "", 0, false},
		{"[::1", "", 0, false},
	}
	for _, tt := range tests {
		host, port, ok := splitConnectTarget(tt.target)
		if host != tt.host || port != tt.port || ok != tt.ok {
			t.Errorf("%q: %q %d %v, want %q %d %v", tt.target, host, port, ok, tt.host, tt.port, tt.ok)
		}
	}
}

func TestPublicAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:4700::1111", true},
		{"127.0.0.1", false},
		{"::1", false},
		{"0.0.0.0", false},
		{"224.0.0.1", false},
		{"10.0.0.1", false},
		{"172.16.5.4", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"198.18.0.1", false},
		{"203.0.113.9", false},
		{"240.0.0.1", false},
		{"fe80::1", false},
		{"fd00::1", false},
		{"2001:db8::1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:93.184.216.34", true},
	}
	for _, tt := range tests {
		if got := publicAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.addr, got, tt.want)
		}
	}
}

// serveLoopback serves every connection to a new loopback listener with handle, which runs on
// its own goroutine; the connection is closed when handle returns.
func serveLoopback(t *testing.T, handle func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln
}

// proxyExchange sends request to the proxy and returns everything it answers until it closes.
func proxyExchange(t *testing.T, p *allowlistProxy, request string) string {
	t.Helper()
	c, err := net.Dial("tcp", p.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestAllowlistProxyAnswers(t *testing.T) {
	t.Parallel()
	// Port 1 on loopback refuses connections, and no ":0" listener of a parallel test can
	// be handed it: the proxy may dial it, and the dial fails.
	const closed = 1
	resolve := func(_ context.Context, host string) ([]netip.Addr, error) {
		if host == "private.test" {
			return []netip.Addr{netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("fe80::1")}, nil
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	permit := func(a netip.Addr) bool { return a.IsLoopback() || publicAddr(a) }
	p, err := startAllowlistProxy([]string{"listed.test", "private.test"}, permit, resolve)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)

	tests := []struct {
		name, request, wantPrefix string
	}{
		{"plain GET", "GET http://listed.test/ HTTP/1.1\r\nHost: listed.test\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n\r\n"},
		{"CONNECT without target", "CONNECT  HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n\r\n"},
		{"unlisted host", "CONNECT other.test:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 403 Forbidden\r\n\r\n"},
		{"private addresses only", "CONNECT private.test:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 403 Forbidden\r\n\r\n"},
		{"connect fails", "CONNECT listed.test:" + strconv.Itoa(closed) + " HTTP/1.1\r\n\r\n", "HTTP/1.1 502 Bad Gateway\r\n\r\n"},
		{"request line too long", "CONNECT " + strings.Repeat("a", proxyLineCap) + " HTTP/1.1\r\n\r\n", ""},
	}
	for _, tt := range tests {
		got := proxyExchange(t, p, tt.request)
		if !strings.HasPrefix(got, tt.wantPrefix) || (tt.wantPrefix == "" && got != "") {
			t.Errorf("%s: %q, want it to start %q", tt.name, got, tt.wantPrefix)
		}
		if strings.HasPrefix(tt.wantPrefix, "HTTP/1.1 4") && got != tt.wantPrefix {
			t.Errorf("%s: %q, want exactly %q", tt.name, got, tt.wantPrefix)
		}
	}
}

// A tunnel carries bytes both ways, including any the client sent right behind its request, and
// close cuts tunnels that are still open.
func TestAllowlistProxyTunnel(t *testing.T) {
	t.Parallel()
	echo := serveLoopback(t, func(c net.Conn) { io.Copy(c, c) })
	p, err := startAllowlistProxy([]string{"127.0.0.1"}, func(a netip.Addr) bool { return a.IsLoopback() }, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "CONNECT "+echo.Addr().String()+" HTTP/1.1\r\nHost: x\r\n\r\nearly\n")
	br := bufio.NewReader(c)
	status, _ := br.ReadString('\n')
	blank, _ := br.ReadString('\n')
	if status != "HTTP/1.1 200 Connection Established\r\n" || blank != "\r\n" {
		t.Fatalf("answer %q %q", status, blank)
	}
	io.WriteString(c, "late\n")
	for _, want := range []string{"early\n", "late\n"} {
		if got, err := br.ReadString('\n'); got != want {
			t.Fatalf("through the tunnel: %q %v, want %q", got, err, want)
		}
	}
	p.close()
	if _, err := br.ReadString('\n'); err == nil {
		t.Fatal("the tunnel is still open after close")
	}
}
