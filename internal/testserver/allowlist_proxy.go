package testserver

// The CONNECT proxy of network mode allowlist: one per execution, on the host's loopback, named
// in the program's HTTP_PROXY, HTTPS_PROXY, http_proxy and https_proxy. It follows the real
// engine's proxy: CONNECT only (anything else is 400), the host must match an allowlist pattern
// (403) and resolve to at least one public address (403), the first address that connects is
// tunnelled (200), and when none does the reply is 502 with the error. Every reply but a tunnel
// closes the connection. The jail shares the host's network in this mode, so connections that
// bypass the proxy are not blocked.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

const (
	// proxyLineCap is the longest request or header line the proxy reads; a longer one closes
	// the connection without a reply.
	proxyLineCap = 8192
	// proxyMaxHeaders is how many header lines are read after the request line.
	proxyMaxHeaders = 64
	// proxyDialTimeout bounds each connection attempt to a resolved address.
	proxyDialTimeout = 10 * time.Second
)

// allowlistProxy is one running proxy.
type allowlistProxy struct {
	ln       net.Listener
	patterns []string
	// resolve returns the addresses of host; permit says whether an address may be reached.
	resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	permit  func(netip.Addr) bool

	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// startAllowlistProxy listens on a free loopback port and serves patterns until close. permit
// (nil: public addresses only) and resolve (nil: the system resolver) are for tests.
func startAllowlistProxy(patterns []string, permit func(netip.Addr) bool, resolve func(context.Context, string) ([]netip.Addr, error)) (*allowlistProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if permit == nil {
		permit = publicAddr
	}
	if resolve == nil {
		resolve = lookupAddrs
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &allowlistProxy{
		ln: ln, patterns: patterns, resolve: resolve, permit: permit,
		ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{},
	}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// url is the value of the proxy variables.
func (p *allowlistProxy) url() string { return "http://" + p.ln.Addr().String() }

// env is the four proxy variables, in the real engine's order.
func (p *allowlistProxy) env() []string {
	u := p.url()
	return []string{"HTTP_PROXY=" + u, "HTTPS_PROXY=" + u, "http_proxy=" + u, "https_proxy=" + u}
}

// close stops the listener, cuts every open tunnel and waits for the handlers.
func (p *allowlistProxy) close() {
	p.cancel()
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// track adds or removes c from the connections close cuts; it refuses new ones once closing.
func (p *allowlistProxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !add {
		delete(p.conns, c)
		return true
	}
	if p.ctx.Err() != nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *allowlistProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c, true) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.track(c, false)
			defer c.Close()
			p.handle(c)
		}()
	}
}

// handle answers one client connection.
func (p *allowlistProxy) handle(c net.Conn) {
	br := bufio.NewReaderSize(c, proxyLineCap+2)
	line, ok := readProxyLine(br)
	if !ok {
		return
	}
	for i := 0; i < proxyMaxHeaders; i++ {
		h, ok := readProxyLine(br)
		if !ok {
			return
		}
		if h == "" {
			break
		}
	}
	method, rest, _ := strings.Cut(line, " ")
	target, _, _ := strings.Cut(rest, " ")
	host, port, ok := splitConnectTarget(target)
	if method != "CONNECT" || !ok {
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
		return
	}
	if !matchesAllowlist(p.patterns, host) {
		io.WriteString(c, "HTTP/1.1 403 Forbidden\r\n\r\n")
		return
	}
	addrs, err := p.resolve(p.ctx, host)
	var public []netip.Addr
	for _, a := range addrs {
		if p.permit(a.Unmap()) {
			public = append(public, a)
		}
	}
	if err != nil || len(public) == 0 {
		io.WriteString(c, "HTTP/1.1 403 Forbidden\r\n\r\n")
		return
	}
	var up net.Conn
	d := net.Dialer{Timeout: proxyDialTimeout}
	for _, a := range public {
		if up, err = d.DialContext(p.ctx, "tcp", netip.AddrPortFrom(a, port).String()); err == nil {
			break
		}
	}
	if up == nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n"+err.Error())
		return
	}
	if !p.track(up, true) {
		up.Close()
		return
	}
	defer p.track(up, false)
	defer up.Close()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		// Bytes the client sent after its request are already buffered in br.
		_, _ = io.Copy(up, br)
		if tc, ok := up.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		close(done)
	}()
	_, _ = io.Copy(c, up)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	<-done
}

// readProxyLine reads one CRLF- or LF-terminated line of at most proxyLineCap bytes.
func readProxyLine(br *bufio.Reader) (string, bool) {
	b, err := br.ReadSlice('\n')
	if err != nil || len(b) > proxyLineCap+1 {
		return "", false
	}
	return strings.TrimRight(string(b), "\r\n"), true
}

// splitConnectTarget parses host[:port] (IPv6 literals bracketed), the port defaulting to 443.
func splitConnectTarget(t string) (string, uint16, bool) {
	if t == "" {
		return "", 0, false
	}
	host, portStr := t, ""
	if strings.HasPrefix(t, "[") {
		end := strings.IndexByte(t, ']')
		if end < 0 {
			return "", 0, false
		}
		host, portStr = t[1:end], strings.TrimPrefix(t[end+1:], ":")
		if t[end+1:] != "" && !strings.HasPrefix(t[end+1:], ":") {
			return "", 0, false
		}
	} else if i := strings.LastIndexByte(t, ':'); i >= 0 {
		host, portStr = t[:i], t[i+1:]
		if strings.Contains(host, ":") {
			return "", 0, false // an IPv6 literal must be bracketed
		}
	}
	if host == "" {
		return "", 0, false
	}
	port := uint16(443)
	if portStr != "" {
		n, ok := parsePort(portStr)
		if !ok {
			return "", 0, false
		}
		port = n
	}
	return host, port, true
}

func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return uint16(n), n <= 65535
}

// matchesAllowlist reports whether host matches a pattern: exactly, ignoring case, or through
// "*.example.com", which covers example.com and every name under it.
func matchesAllowlist(patterns []string, host string) bool {
	host = strings.ToLower(host)
	for _, p := range patterns {
		p = strings.ToLower(p)
		if base, ok := strings.CutPrefix(p, "*."); ok {
			if host == base || strings.HasSuffix(host, "."+base) {
				return true
			}
		} else if host == p {
			return true
		}
	}
	return false
}

// lookupAddrs resolves host; an IP literal resolves to itself.
func lookupAddrs(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no addresses")
	}
	return addrs, err
}

// privatePrefixes are the ranges the proxy never connects to, besides loopback, unspecified and
// multicast addresses.
var privatePrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
		"192.0.0.0/24", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15", "240.0.0.0/4",
		"fe80::/10", "fc00::/7", "2001:db8::/32",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// publicAddr reports whether a (IPv4-mapped addresses unmapped) may be reached through the proxy.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() {
		return false
	}
	for _, p := range privatePrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
