package testserver

// The gateway: a hostname-routed reverse proxy for workspace domains, like the real server's
// (AGENTJAIL_GATEWAY_ADDR). Every request, whatever its method and path, is matched by its Host
// (cut at the first ":", trimmed, lower case) against the domains of every tenant's live
// workspaces, and forwarded to that domain's backend_url, or for a vm_port domain to the port
// on this host while an allowlist workspace exec is in flight there (the fake's processes share
// the host's network, so 127.0.0.1 stands in for the jail's address). There is no auth and no
// Host guard: routing by Host is the point. Redirects are not followed, the request body is
// read whole (at most 10 MiB) and so is the answer. Errors are plain text ending in "\n".

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// gatewayBodyLimit is the largest request body the gateway forwards.
const gatewayBodyLimit = 10 << 20

// gatewayDrop are the headers the gateway forwards in neither direction. "Trailers" is not a
// real header name, so a Trailer header passes, as in the real gateway.
var gatewayDrop = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailers", "Transfer-Encoding", "Upgrade", "Host"}

// newGatewayClient is the gateway's client: no redirects followed, no timeouts, HTTP/1.1, no
// environment proxies, no transparent gzip.
func newGatewayClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        100,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// WithGateway turns on the gateway, listening on addr, an IP literal and port such as
// "127.0.0.1:8080" or "[::1]:8080" (like the real server's AGENTJAIL_GATEWAY_ADDR; anything
// else makes New fail). "" means a free loopback port. If the address cannot be bound the
// server logs it and runs without a gateway, as the real one does; /v1/config still reports
// the address. GatewayURL returns the listener's URL.
func WithGateway(addr string) Option {
	return func(c *config) {
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		c.gatewayAddr = addr
	}
}

// ParseSocketAddr reports whether s is a socket address the real server accepts for
// AGENTJAIL_GATEWAY_ADDR: an IPv4 literal and port, or a bracketed IPv6 literal and port.
func ParseSocketAddr(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || port == "" || strings.Contains(host, "%") {
		return false
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return false
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	bracketed := strings.HasPrefix(s, "[")
	return bracketed == strings.Contains(host, ":")
}

// startGateway binds the gateway listener; a bind failure is logged, not returned.
func (s *Server) startGateway(addr string) {
	s.gatewayAddr = addr
	ln, err := listenTCP(addr)
	if err != nil {
		s.log.Error("gateway listener ended", "addr", addr, "err", err)
		return
	}
	s.gatewayLn = ln
	s.gatewaySrv = &http.Server{
		Handler:           http.HandlerFunc(s.serveGateway),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          s.ctlSrv.ErrorLog,
		ConnState:         s.fresh.track,
		BaseContext:       s.relayBase,
	}
	s.gatewayClient = newGatewayClient()
	s.serve(s.gatewaySrv, ln)
}

// GatewayURL returns the gateway's base URL, e.g. http://127.0.0.1:41236, or "" when the
// gateway is off or could not listen.
func (s *Server) GatewayURL() string {
	if s.gatewayLn == nil {
		return ""
	}
	return "http://" + s.gatewayLn.Addr().String()
}

// gatewayBindAddr is /v1/config's gateway.bind_addr: the listening address, or the configured
// one when the listener could not be bound; "" when the gateway is off.
func (s *Server) gatewayBindAddr() string {
	if s.gatewayLn != nil {
		return s.gatewayLn.Addr().String()
	}
	return s.gatewayAddr
}

func gatewayError(w http.ResponseWriter, status int, msg string) {
	writePlain(w, status, "gateway: "+msg+"\n")
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	host, ok := gatewayHost(r)
	if !ok {
		gatewayError(w, http.StatusBadRequest, "bad request: missing Host header")
		return
	}
	ws, dom, ok := s.exec.ws.byDomain(host)
	if !ok {
		gatewayError(w, http.StatusNotFound, "no workspace declares host "+host)
		return
	}
	target, errStatus, errMsg := s.gatewayTarget(ws, dom, r)
	if errStatus != 0 {
		gatewayError(w, errStatus, errMsg)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, gatewayBodyLimit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			gatewayError(w, http.StatusBadRequest, "bad request: body read: length limit exceeded")
			return
		}
		gatewayError(w, http.StatusBadRequest, "bad request: body read: "+err.Error())
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
	if err != nil {
		gatewayError(w, http.StatusBadGateway, "upstream failed: builder error")
		return
	}
	out.ContentLength = int64(len(body))
	if len(body) == 0 {
		out.Body = http.NoBody
	}
	copyHeaderExcept(out.Header, r.Header, append(gatewayDrop, "Content-Length"), false)
	out.Header.Add("X-Forwarded-Host", host)
	clientDefaults(out.Header)
	resp, err := s.gatewayClient.Do(out)
	if err != nil {
		gatewayError(w, http.StatusBadGateway, fmt.Sprintf("upstream failed: error sending request for url (%s)", out.URL.Redacted()))
		return
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		gatewayError(w, http.StatusBadGateway, "upstream failed: upstream read: error decoding response body")
		return
	}
	copyHeaderExcept(w.Header(), resp.Header, gatewayDrop, true)
	if _, ok := w.Header()["Content-Type"]; !ok {
		w.Header()["Content-Type"] = nil // no sniffed type the backend did not send
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// gatewayHost is the routing key of r: its Host header cut at the first ":", trimmed and lower
// case; false when it is missing, empty or not visible ASCII.
func gatewayHost(r *http.Request) (string, bool) {
	if !visibleASCII(r.Host) {
		return "", false
	}
	h, _, _ := strings.Cut(r.Host, ":")
	h = strings.TrimSpace(h)
	if h == "" {
		return "", false
	}
	return strings.ToLower(h), true
}

// gatewayTarget is the URL r goes to for domain d of workspace ws; a non-zero status is the
// gateway's refusal with its message.
func (s *Server) gatewayTarget(ws workspace, d workspaceDomain, r *http.Request) (target string, status int, msg string) {
	pathQuery := r.RequestURI
	if !strings.HasPrefix(pathQuery, "/") {
		pathQuery = r.URL.RequestURI()
	}
	if err := d.validate(); err != nil {
		return "", http.StatusBadGateway, "upstream failed: invalid workspace domain: " + err.Error()
	}
	if d.BackendURL != nil {
		return strings.TrimRight(*d.BackendURL, "/") + pathQuery, 0, ""
	}
	port := *d.VMPort
	if !s.exec.ws.allowlistLive(ws.ID) {
		return "", http.StatusServiceUnavailable, fmt.Sprintf("no live jail for workspace %s on vm_port %d\nstart a workspace exec that binds :%d before retrying", ws.ID, port, port)
	}
	return fmt.Sprintf("http://127.0.0.1:%d%s", port, pathQuery), 0, ""
}

// byDomain finds the live workspace, of any tenant, that declares host (compared ignoring
// ASCII case) and that domain. With several, the oldest wins.
func (st *workspaceStore) byDomain(host string) (workspace, workspaceDomain, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, en := range st.rows {
		if en.ws.DeletedAt != nil {
			continue
		}
		for _, d := range en.ws.Domains {
			if equalFoldASCII(d.Domain, host) {
				return en.ws, d, true
			}
		}
	}
	return workspace{}, workspaceDomain{}, false
}

// equalFoldASCII reports whether a and b are equal ignoring ASCII case only; other bytes must
// match exactly.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	lower := func(c byte) byte {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// allowlistLive reports whether a workspace exec with allowlist networking is in flight in
// workspace id: only then does the real server know a jail address for vm_port domains.
func (st *workspaceStore) allowlistLive(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	en, ok := st.byID[id]
	return ok && en.liveAllowlist
}
