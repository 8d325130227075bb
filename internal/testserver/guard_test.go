package testserver

import (
	"net"
	"strings"
	"testing"
)

// TestHostGuard: only requests whose Host names the listener, localhost or a loopback IP (and,
// for the proxy, its base URL's host) get through; anything else is the plain-text 403.
func TestHostGuard(t *testing.T) {
	t.Parallel()
	s := Start(t, WithProxyBaseURL("http://sandbox-gw.internal:9999/"))
	_, ctlPort, _ := net.SplitHostPort(strings.TrimPrefix(s.URL(), "http://"))
	tests := []struct {
		name  string
		base  string
		host  string
		allow bool
	}{
		{name: "listen address", base: s.URL(), host: strings.TrimPrefix(s.URL(), "http://"), allow: true},
		{name: "localhost with port", base: s.URL(), host: "localhost:" + ctlPort, allow: true},
		{name: "localhost upper case", base: s.URL(), host: "LOCALHOST", allow: true},
		{name: "other loopback ip", base: s.URL(), host: "127.0.0.2:80", allow: true},
		{name: "ipv6 loopback", base: s.URL(), host: "[::1]:" + ctlPort, allow: true},
		{name: "rebinding name", base: s.URL(), host: "evil.example:" + ctlPort},
		{name: "localhost lookalike", base: s.URL(), host: "localhost.evil.example"},
		{name: "lan ip", base: s.URL(), host: "192.168.1.10"},
		{name: "empty bracketed host", base: s.URL(), host: "[]:" + ctlPort},
		{name: "proxy accepts its base url host", base: s.ProxyURL(), host: "sandbox-gw.internal:9999", allow: true},
		{name: "proxy rejects other names", base: s.ProxyURL(), host: "evil.example"},
		{name: "control does not accept the proxy base host", base: s.URL(), host: "sandbox-gw.internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := wireDo(t, "GET", tt.base+"/healthz", "", wireHost(tt.host))
			if tt.allow {
				r.wantPlain(t, 200, "ok")
			} else {
				r.wantPlain(t, 403, hostRejected)
			}
		})
	}
}
