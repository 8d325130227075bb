package testserver

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// The phantom proxy: sandbox code calls P/v1/<service>/<rest>
// with a phm_ token; the proxy checks the token, its service and scopes,
// swaps in the tenant's real key and streams the upstream answer back. Every
// request under /v1/ leaves exactly one audit row.

// Audit reject reasons, written into reject_reason. The real proxy's "bad_path" is
// unreachable there too: only paths under /v1/<x> reach its handler, so the
// fake never writes it.
const (
	reasonNoToken        = "no_token"
	reasonUnknownToken   = "unknown_token"
	reasonUnknownService = "unknown_service"
	reasonWrongService   = "wrong_service"
	reasonScopeDenied    = "scope_denied"
	reasonNoUpstreamKey  = "no_upstream_key"
	reasonUpstreamError  = "upstream_error"
)

func (s *Server) serveProxy(w http.ResponseWriter, r *http.Request) {
	if !s.proxyHosts.allowed(r.Host) {
		writePlain(w, http.StatusForbidden, hostRejected)
		return
	}
	path := r.URL.EscapedPath()
	if path == "/healthz" {
		writePlain(w, http.StatusOK, "ok")
		return
	}
	// Like the real router: only /v1/<something> reaches the proxy handler
	// (and its audit log); everything else is the unaudited fallback.
	service, rest, ok := splitProxyPath(path)
	if !ok {
		writePlain(w, http.StatusNotFound, "route not found")
		return
	}
	row := auditRow{Method: r.Method, Path: rest}
	reject := func(status int, reason, body string) {
		row.Status = status
		row.RejectReason = &reason
		s.audit.append(row)
		writePlain(w, status, body)
	}
	tok, ok := phantomTokenFrom(r.Header)
	if !ok {
		reject(http.StatusUnauthorized, reasonNoToken, "missing phantom token")
		return
	}
	pt, ok := s.sessions.lookupToken(tok)
	if !ok {
		reject(http.StatusUnauthorized, reasonUnknownToken, "unknown phantom token")
		return
	}
	// From here on the row names the token's session and service, whatever
	// the path says.
	row.SessionID = pt.sessionID
	row.Service = pt.service
	switch {
	case !validService(service):
		reject(http.StatusNotFound, reasonUnknownService, "unknown service")
		return
	case pt.service != service:
		reject(http.StatusForbidden, reasonWrongService, "token not valid for this service")
		return
	case !scopeAllows(pt.scopes, rest):
		reject(http.StatusForbidden, reasonScopeDenied, "path not in scope")
		return
	}
	key, ok := s.keys.get(pt.tenant, service)
	if !ok {
		reject(http.StatusBadGateway, reasonNoUpstreamKey, "upstream key not configured")
		return
	}

	target := s.upstreams[service] + rest
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	var body io.Reader = r.Body
	if r.ContentLength == 0 {
		body = http.NoBody
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target, body)
	if err != nil {
		reject(http.StatusBadGateway, reasonUpstreamError, "upstream: "+err.Error())
		return
	}
	out.ContentLength = r.ContentLength
	copyHeaderExcept(out.Header, r.Header, proxyRequestDrop, false)
	injectKey(out.Header, service, key)
	clientDefaults(out.Header)

	start := time.Now()
	resp, err := s.sendUpstream(out)
	if err != nil {
		reject(http.StatusBadGateway, reasonUpstreamError, "upstream: "+err.Error())
		return
	}
	defer resp.Body.Close()
	ms := uint64(time.Since(start).Milliseconds())
	row.Status = resp.StatusCode
	row.UpstreamMS = &ms
	s.audit.append(row)

	copyHeaderExcept(w.Header(), resp.Header, proxyResponseDrop, true)
	w.WriteHeader(resp.StatusCode)
	streamBody(w, resp.Body)
}

// streamBody copies the upstream body, flushing after every read so
// server-sent events reach the sandbox as they arrive.
func streamBody(w http.ResponseWriter, body io.Reader) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if ferr := rc.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// splitProxyPath splits /v1/<service><rest> into service and rest, like the
// real proxy: rest keeps its leading slash and is "/" when the path has
// nothing after the service. ok is false for paths the real router sends to
// its fallback: anything not under /v1/, and /v1/ itself.
func splitProxyPath(path string) (service, rest string, ok bool) {
	after, found := strings.CutPrefix(path, "/v1/")
	if !found || after == "" {
		return "", "", false
	}
	if i := strings.IndexByte(after, '/'); i >= 0 {
		return after[:i], after[i:], true
	}
	return after, "/", true
}

// phantomTokenFrom reads a well-formed phantom token from Authorization
// (optional "Bearer ", surrounding whitespace), falling back to x-api-key
// when Authorization holds none, and returns it in canonical lower case.
func phantomTokenFrom(h http.Header) (string, bool) {
	for _, name := range []string{"Authorization", "X-Api-Key"} {
		vals := h.Values(name)
		if len(vals) == 0 {
			continue
		}
		v := strings.TrimSpace(vals[0])
		v = strings.TrimSpace(strings.TrimPrefix(v, "Bearer "))
		if tok, ok := normalizeToken(v); ok {
			return tok, true
		}
	}
	return "", false
}

// normalizeToken accepts phm_ + 64 hex digits in either case and returns
// the canonical lower-case form.
func normalizeToken(raw string) (string, bool) {
	hexPart, ok := strings.CutPrefix(raw, "phm_")
	if !ok || len(hexPart) != 64 {
		return "", false
	}
	for i := 0; i < len(hexPart); i++ {
		if !isHex(hexPart[i]) {
			return "", false
		}
	}
	return "phm_" + strings.ToLower(hexPart), true
}

// scopeAllows applies the session's globs to the path after /v1/<service>:
// a trailing * is a prefix match, anything else must match exactly, and no
// globs means unrestricted.
func scopeAllows(globs []string, path string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if prefix, ok := strings.CutSuffix(g, "*"); ok {
			if strings.HasPrefix(path, prefix) {
				return true
			}
		} else if g == path {
			return true
		}
	}
	return false
}

// injectKey puts the real key where the provider expects it.
func injectKey(h http.Header, service, key string) {
	if service == "anthropic" {
		h.Set("X-Api-Key", key)
		if h.Get("Anthropic-Version") == "" {
			h.Set("Anthropic-Version", "2023-06-01")
		}
		return
	}
	h.Set("Authorization", "Bearer "+key)
}
