package testserver

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"unicode"
)

// Roles a key can carry: an admin sees every tenant, an operator only its own.
const (
	roleAdmin    = "admin"
	roleOperator = "operator"
)

// scope is the tenant and role of the key that authenticated a request.
type scope struct{ tenant, role string }

// isAdmin reports whether the caller may see every tenant.
func (sc scope) isAdmin() bool { return sc.role == roleAdmin }

// canSee reports whether the caller may see rows of tenant.
func (sc scope) canSee(tenant string) bool { return sc.isAdmin() || sc.tenant == tenant }

// devScope is what every request runs as when no key is configured.
var devScope = scope{tenant: "dev", role: roleAdmin}

// apiKey is one parsed "token@tenant:role" entry.
type apiKey struct {
	token []byte
	scope scope
}

// ParseAPIKey checks one API key entry of the form token@tenant:role, the
// format of the real server's AGENTJAIL_API_KEY entries: the token is
// non-empty without whitespace or '@', the tenant matches
// [a-z0-9][a-z0-9_-]{0,63}, and the role is "admin" or "operator". The
// returned error never contains the token.
func ParseAPIKey(entry string) error {
	_, err := parseAPIKey(entry)
	return err
}

func parseAPIKey(entry string) (apiKey, error) {
	token, rest, ok := strings.Cut(entry, "@")
	if !ok {
		return apiKey{}, errors.New("api key must look like token@tenant:role")
	}
	tenant, role, ok := strings.Cut(rest, ":")
	if !ok {
		return apiKey{}, errors.New("api key must look like token@tenant:role")
	}
	if token == "" || strings.IndexFunc(token, unicode.IsSpace) >= 0 {
		return apiKey{}, errors.New("api key token must be non-empty without whitespace")
	}
	if !validTenant(tenant) {
		return apiKey{}, errors.New("api key tenant must match [a-z0-9][a-z0-9_-]{0,63}")
	}
	if role != roleAdmin && role != roleOperator {
		return apiKey{}, errors.New("api key role must be admin or operator")
	}
	return apiKey{token: []byte(token), scope: scope{tenant: tenant, role: role}}, nil
}

// validTenant reports whether t matches [a-z0-9][a-z0-9_-]{0,63}.
func validTenant(t string) bool {
	return validName(t, 64)
}

// validName reports whether s matches [a-z0-9][a-z0-9_-]{0,max-1}.
func validName(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// authenticate resolves the caller's scope from the Authorization header:
// "Bearer <token>" or the bare token, trimmed. On failure it writes the plain-text 401 and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (scope, bool) {
	if len(s.apiKeys) == 0 {
		return devScope, true
	}
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 || !visibleASCII(vals[0]) {
		writePlain(w, http.StatusUnauthorized, "missing api key")
		return scope{}, false
	}
	token := strings.TrimSpace(strings.TrimPrefix(vals[0], "Bearer "))
	var found scope
	matched := 0
	for _, k := range s.apiKeys {
		// Compare against every key so timing does not reveal which matched.
		if subtle.ConstantTimeCompare(k.token, []byte(token)) == 1 && matched == 0 {
			found = k.scope
			matched = 1
		}
	}
	if matched == 0 {
		writePlain(w, http.StatusUnauthorized, "invalid api key")
		return scope{}, false
	}
	return found, true
}

// visibleASCII mirrors http's HeaderValue::to_str: tab or 0x20..0x7e only.
func visibleASCII(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\t' && (c < 0x20 || c > 0x7e) {
			return false
		}
	}
	return true
}
