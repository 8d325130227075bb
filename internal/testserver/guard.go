package testserver

import (
	"net"
	"strings"
)

// hostGuard rejects requests whose Host header names anything but the
// listener itself, localhost or a loopback IP, so a web page cannot reach the
// server through DNS rebinding.
type hostGuard struct {
	listenHost string // bound IP, lower case
	anyIP      bool   // bound to an unspecified address: any IP literal is fine
	extra      []string
}

func newHostGuard(addr net.Addr) hostGuard {
	g := hostGuard{}
	if ta, ok := addr.(*net.TCPAddr); ok {
		g.listenHost = ta.IP.String()
		g.anyIP = ta.IP.IsUnspecified()
	}
	return g
}

func (g hostGuard) allowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if host == "" {
		return false
	}
	if host == "localhost" || host == g.listenHost {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLoopback() || ip.String() == g.listenHost || g.anyIP {
			return true
		}
	}
	for _, e := range g.extra {
		if host == e {
			return true
		}
	}
	return false
}

// hostRejected is the body of the Host-guard refusal (status 403).
const hostRejected = "forbidden: host not allowed"
