package testserver

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"
)

// Sessions: phantom tokens per service and the env map a sandbox gets, which
// names each service's key and base-URL variables. The proxy resolves tokens
// through this store. A session exec runs a command with that env map.

// maxExpiry is the latest timestamp RFC 3339 can render; absurd ttl_secs
// values are clamped to it instead of overflowing as the real server does.
var maxExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// session is one stored session; its JSON is the wire SessionView.
type session struct {
	ID        string            `json:"id"`
	CreatedAt time.Time         `json:"created_at"`
	ExpiresAt *time.Time        `json:"expires_at"`
	Services  []string          `json:"services"`
	Env       map[string]string `json:"env"`

	tenant string
	tokens []string
}

// phantomToken is what the proxy knows about a token it may accept.
type phantomToken struct {
	sessionID string
	tenant    string
	service   string
	scopes    []string // empty: unrestricted
	expiresAt *time.Time
}

// expired reports whether the token is dead at time at: from its expiry
// instant on, like the real token store (now >= expires_at).
func (t *phantomToken) expired(at time.Time) bool {
	return t.expiresAt != nil && !at.Before(*t.expiresAt)
}

type sessionStore struct {
	mu     sync.Mutex
	order  []*session // creation order
	byID   map[string]*session
	tokens map[string]*phantomToken
}

func newSessionStore() *sessionStore {
	return &sessionStore{byID: map[string]*session{}, tokens: map[string]*phantomToken{}}
}

func (st *sessionStore) add(sess *session, toks map[string]*phantomToken) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.order = append(st.order, sess)
	st.byID[sess.ID] = sess
	for tok, pt := range toks {
		st.tokens[tok] = pt
	}
}

// view returns a copy of a session visible to sc.
func (st *sessionStore) view(id string, sc scope) (session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	sess, ok := st.byID[id]
	if !ok || !sc.canSee(sess.tenant) {
		return session{}, false
	}
	return sess.copy(), true
}

func (sess *session) copy() session {
	c := *sess
	c.Services = append([]string(nil), sess.Services...)
	c.Env = make(map[string]string, len(sess.Env))
	for k, v := range sess.Env {
		c.Env[k] = v
	}
	c.tokens = nil
	return c
}

// list returns the sessions visible to sc, newest first.
func (st *sessionStore) list(sc scope) []session {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := []session{}
	for i := len(st.order) - 1; i >= 0; i-- {
		if sc.canSee(st.order[i].tenant) {
			out = append(out, st.order[i].copy())
		}
	}
	return out
}

// remove deletes a session visible to sc and revokes all of its tokens.
func (st *sessionStore) remove(id string, sc scope) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	sess, ok := st.byID[id]
	if !ok || !sc.canSee(sess.tenant) {
		return false
	}
	delete(st.byID, id)
	for _, tok := range sess.tokens {
		delete(st.tokens, tok)
	}
	for i, o := range st.order {
		if o == sess {
			st.order = append(st.order[:i], st.order[i+1:]...)
			break
		}
	}
	return true
}

// lookupToken returns the live token record; expired tokens are unknown.
func (st *sessionStore) lookupToken(tok string) (phantomToken, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	pt, ok := st.tokens[tok]
	if !ok || pt.expired(now()) {
		return phantomToken{}, false
	}
	return *pt, true
}

// idsOfTenant returns the ids of the tenant's existing sessions.
func (st *sessionStore) idsOfTenant(tenant string) map[string]bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	ids := map[string]bool{}
	for _, s := range st.order {
		if s.tenant == tenant {
			ids[s.ID] = true
		}
	}
	return ids
}

func (st *sessionStore) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.order)
}

// sessionEnv returns the env map (copy) and expiry of a session visible to
// sc, or errNotFound("session %s", id).
func (s *Server) sessionEnv(id string, sc scope) (env map[string]string, expiresAt *time.Time, err error) {
	sess, ok := s.sessions.view(id, sc)
	if !ok {
		return nil, nil, errNotFound("session %s", id)
	}
	return sess.Env, sess.ExpiresAt, nil
}

// randomHex returns n random bytes as lowercase hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("testserver: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// envFor returns the key and base-URL variables of a service and the URL, the proxy base plus
// the service's path.
func (s *Server) envFor(service string) (keyVar, urlVar, urlVal string) {
	i := slices.IndexFunc(services, func(svc upstreamService) bool { return svc.id == service })
	svc := services[i]
	return svc.keyVar, svc.urlVar, s.proxyBaseURL + svc.urlPath
}

type createSessionRequest struct {
	Services seq[serviceID]         `json:"services"`
	TTLSecs  *uint64                `json:"ttl_secs"`
	Scopes   map[string]seq[string] `json:"scopes"`
}

func (s *Server) handleCreateSession(w http.ResponseWriter, r *http.Request, sc scope) error {
	var req createSessionRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if len(req.Services) == 0 {
		return errBadRequest("services must contain at least one entry")
	}
	for _, svc := range req.Services {
		_, own := s.keys.get(sc.tenant, string(svc))
		_, dev := s.keys.get("dev", string(svc))
		if !own && !(sc.isAdmin() && dev) {
			return errBadRequest("no credential configured for service %s (tenant %s)", svc, sc.tenant)
		}
	}
	for _, k := range serviceIDs { // fixed order keeps the error deterministic
		if _, ok := req.Scopes[k]; ok && !slices.Contains(req.Services, serviceID(k)) {
			return errBadRequest("scope for service %s but it is not in services", k)
		}
	}

	created := now()
	var expires *time.Time
	if req.TTLSecs != nil {
		e := maxExpiry
		if *req.TTLSecs < uint64(maxExpiry.Unix()-created.Unix()) {
			e = time.Unix(created.Unix()+int64(*req.TTLSecs), int64(created.Nanosecond())).UTC()
		}
		expires = &e
	}
	sess := &session{
		ID:        newID("sess_"),
		CreatedAt: created,
		ExpiresAt: expires,
		Services:  []string{},
		Env:       map[string]string{},
		tenant:    sc.tenant,
	}
	toks := map[string]*phantomToken{}
	for _, svc := range req.Services {
		tok := "phm_" + randomHex(32)
		toks[tok] = &phantomToken{
			sessionID: sess.ID,
			tenant:    sc.tenant,
			service:   string(svc),
			scopes:    append([]string(nil), req.Scopes[string(svc)]...),
			expiresAt: expires,
		}
		sess.tokens = append(sess.tokens, tok)
		sess.Services = append(sess.Services, string(svc))
		keyVar, urlVar, urlVal := s.envFor(string(svc))
		sess.Env[keyVar] = tok
		sess.Env[urlVar] = urlVal
	}
	s.sessions.add(sess, toks)
	writeJSON(w, http.StatusCreated, sess.copy())
	return nil
}

func (s *Server) handleListSessions(w http.ResponseWriter, r *http.Request, sc scope) error {
	writeJSON(w, http.StatusOK, s.sessions.list(sc))
	return nil
}

func (s *Server) handleGetSession(w http.ResponseWriter, r *http.Request, sc scope) error {
	return writeByPathID(w, r, sc, "session", s.sessions.view)
}

func (s *Server) handleDeleteSession(w http.ResponseWriter, r *http.Request, sc scope) error {
	id := r.PathValue("id")
	if !s.sessions.remove(id, sc) {
		return errNotFound("session %s", id)
	}
	writeEmpty(w, http.StatusNoContent)
	return nil
}

type sessionExecRequest struct {
	commandRequest
	execOptions
}

// handleExecSession runs cmd with the session's env map (and PATH) in a fresh scratch
// directory; an expired session is a 400.
func (s *Server) handleExecSession(w http.ResponseWriter, r *http.Request, sc scope) error {
	var req sessionExecRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	env, expires, err := s.sessionEnv(id, sc)
	if err != nil {
		return err
	}
	if expires != nil && expires.Before(time.Now()) {
		return errBadRequest("session expired")
	}
	js := req.defaultSettings(req.TimeoutSecs, req.MemoryMB)
	e := s.exec
	pm, ok := e.run.tryAcquire()
	if !ok {
		return errTooManyExecs()
	}
	defer pm.release()
	if err := js.validate(); err != nil {
		return err
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	procEnv := []string{"PATH=" + jailPath}
	for _, k := range keys {
		procEnv = append(procEnv, k+"="+env[k])
	}
	dirs, err := e.newScratch()
	if err != nil {
		return errInternal(err)
	}
	defer dirs.remove()
	res, err := e.runJail(r.Context(), newJail{tenant: sc.tenant, kind: "exec", label: *req.Cmd, sessionID: id, config: js.snapshot()}, js,
		procSpec{argv: req.argv(), dir: dirs.workspace, output: dirs.output, env: procEnv, timeout: js.timeout()}, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, responseOf(res))
	return nil
}
