package testserver

// Routing of the control plane: path first, method second, like axum's
// matchit router, so a known path with the wrong method is a 405 with an
// Allow header and a static segment beats a parameter whatever the method.
// The routes themselves are the table in routes.go; handlers read path
// parameters with r.PathValue. http.ServeMux is not used because its own
// 404/405 bodies and method-first matching differ from the real server.

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// serveControl is the control plane's front door: the Host guard, then public
// routes; everything else, unknown paths included, is authenticated before
// the body limit applies, so an unauthenticated oversized request is a 401.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if !s.ctlHosts.allowed(r.Host) {
		writePlain(w, http.StatusForbidden, hostRejected)
		return
	}
	rt, params, ok := s.router.match(r.URL.EscapedPath())
	if ok && rt.access == public {
		s.dispatch(w, r, rt, params, devScope)
		return
	}
	sc, authed := s.authenticate(w, r)
	if !authed {
		return
	}
	if r.ContentLength > maxBodyBytes {
		writePlain(w, http.StatusRequestEntityTooLarge, "length limit exceeded")
		return
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxBodyBytes)
	if !ok {
		writeEmpty(w, http.StatusNotFound)
		return
	}
	s.dispatch(w, r, rt, params, sc)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, rt *pathRoute, params map[string]string, sc scope) {
	h, ok := rt.handler(r.Method)
	if !ok {
		w.Header().Set("Allow", rt.allow())
		writeEmpty(w, http.StatusMethodNotAllowed)
		return
	}
	for k, v := range params {
		r.SetPathValue(k, v)
	}
	r.Pattern = h.pattern
	if err := h.fn(w, r, sc); err != nil {
		var he *httpError
		if !errors.As(err, &he) || he.status >= 500 {
			s.log.Error("request failed", "method", r.Method, "route", h.pattern, "err", err)
		}
		writeError(w, err)
	}
}

// handlerFunc serves one route for an authenticated caller. A non-nil error
// is written with writeError; a handler that wrote its response returns nil.
type handlerFunc func(w http.ResponseWriter, r *http.Request, sc scope) error

// routeTable matches the path first and the method second, like axum: a
// known path with the wrong method is 405, and a static segment beats a
// parameter whatever the method.
type routeTable struct {
	paths []*pathRoute
}

type pathRoute struct {
	path    string
	segs    []string
	access  access
	methods []string // table order
	byVerb  map[string]methodHandler
}

type methodHandler struct {
	pattern string // "METHOD /path", logged with failures
	fn      handlerFunc
}

// newRouteTable builds the router for routes. It panics on a malformed or
// duplicate row, or on a path that mixes public and guarded methods: the
// table is fixed at compile time, so that is a programming error.
func newRouteTable(routes []route) *routeTable {
	t := &routeTable{}
	for _, rt := range routes {
		t.add(rt)
	}
	return t
}

func (t *routeTable) add(rt route) {
	pattern := rt.method + " " + rt.path
	if rt.method == "" || !strings.HasPrefix(rt.path, "/") || rt.handler == nil {
		panic("testserver: bad route " + pattern)
	}
	var pr *pathRoute
	for _, p := range t.paths {
		if p.path == rt.path {
			pr = p
		}
	}
	if pr == nil {
		pr = &pathRoute{path: rt.path, segs: strings.Split(rt.path[1:], "/"), access: rt.access, byVerb: map[string]methodHandler{}}
		t.paths = append(t.paths, pr)
	}
	if pr.access != rt.access {
		panic("testserver: route " + pattern + " mixes public and guarded methods")
	}
	if _, dup := pr.byVerb[rt.method]; dup {
		panic("testserver: duplicate route " + pattern)
	}
	pr.methods = append(pr.methods, rt.method)
	pr.byVerb[rt.method] = methodHandler{pattern: pattern, fn: rt.handler}
}

func (p *pathRoute) handler(method string) (methodHandler, bool) {
	h, ok := p.byVerb[method]
	if !ok && method == http.MethodHead {
		h, ok = p.byVerb[http.MethodGet]
	}
	return h, ok
}

// allow renders the Allow header the way axum does: "GET,HEAD,POST".
func (p *pathRoute) allow() string {
	var out []string
	for _, m := range p.methods {
		out = append(out, m)
		if m == http.MethodGet {
			if _, ok := p.byVerb[http.MethodHead]; !ok {
				out = append(out, http.MethodHead)
			}
		}
	}
	return strings.Join(out, ",")
}

// match finds the most specific route for an escaped request path and
// returns its decoded parameters.
func (t *routeTable) match(escapedPath string) (*pathRoute, map[string]string, bool) {
	if !strings.HasPrefix(escapedPath, "/") {
		return nil, nil, false
	}
	segs := strings.Split(escapedPath[1:], "/")
	var best *pathRoute
	var bestParams map[string]string
	for _, p := range t.paths {
		params, ok := p.matchSegs(segs)
		if !ok {
			continue
		}
		if best == nil || p.moreSpecific(best) {
			best, bestParams = p, params
		}
	}
	return best, bestParams, best != nil
}

func (p *pathRoute) matchSegs(segs []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, ps := range p.segs {
		if name, ok := strings.CutPrefix(ps, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			if i >= len(segs) || segs[i] == "" {
				return nil, false
			}
			v, err := url.PathUnescape(segs[i])
			if err != nil {
				return nil, false
			}
			params[name] = v
			continue
		}
		if i >= len(segs) || segs[i] != ps {
			return nil, false
		}
	}
	return params, len(segs) == len(p.segs)
}

// moreSpecific reports whether p beats q: at the first differing segment a
// static segment wins over a parameter.
func (p *pathRoute) moreSpecific(q *pathRoute) bool {
	for i := 0; i < len(p.segs) && i < len(q.segs); i++ {
		ps, qs := !strings.HasPrefix(p.segs[i], "{"), !strings.HasPrefix(q.segs[i], "{")
		if ps != qs {
			return ps
		}
	}
	return len(p.segs) > len(q.segs)
}
