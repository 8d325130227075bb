package testserver

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Credentials: the phantom key store (real upstream secrets per tenant and
// service) and the credential records the API lists. A record carries a
// fingerprint of its secret, never the secret itself.

// upstreamService is one upstream service: the real provider it forwards to by default and the
// env variables a session gets for it, whose URL is the proxy base plus urlPath.
type upstreamService struct {
	id, defaultBase         string
	keyVar, urlVar, urlPath string
}

// services are the upstream services, in the order the server lists them. openai's URL keeps a
// trailing /v1, as its clients expect the version in the base URL.
var services = []upstreamService{
	{"openai", "https://api.openai.com", "OPENAI_API_KEY", "OPENAI_BASE_URL", "/v1/openai/v1"},
	{"anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "/v1/anthropic"},
	{"github", "https://api.github.com", "GITHUB_TOKEN", "GITHUB_API_URL", "/v1/github"},
	{"stripe", "https://api.stripe.com", "STRIPE_API_KEY", "STRIPE_API_BASE", "/v1/stripe"},
}

// serviceIDs are the ids of services, in the same order.
var serviceIDs = func() []string {
	ids := make([]string, len(services))
	for i, svc := range services {
		ids[i] = svc.id
	}
	return ids
}()

// validService reports whether s is one of the services the server knows.
func validService(s string) bool { return slices.Contains(serviceIDs, s) }

// serviceID is a service name in a request body, one of serviceIDs.
type serviceID string

func (s *serviceID) UnmarshalJSON(b []byte) error { return unmarshalUnitVariant(b, (*string)(s)) }

// keyStore holds the real upstream secrets the proxy injects.
type keyStore struct {
	mu   sync.RWMutex
	keys map[[2]string]string // (tenant, service) → secret
}

func newKeyStore() *keyStore { return &keyStore{keys: map[[2]string]string{}} }

func (k *keyStore) set(tenant, service, secret string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[[2]string{tenant, service}] = secret
}

func (k *keyStore) get(tenant, service string) (string, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	v, ok := k.keys[[2]string{tenant, service}]
	return v, ok
}

func (k *keyStore) remove(tenant, service string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.keys, [2]string{tenant, service})
}

// credentialRecord is the wire CredentialRecord; the secret is never in it.
type credentialRecord struct {
	TenantID    string    `json:"tenant_id"`
	Service     string    `json:"service"`
	AddedAt     time.Time `json:"added_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Fingerprint string    `json:"fingerprint"`
}

type credentialStore struct {
	mu   sync.Mutex
	recs map[[2]string]credentialRecord
}

func newCredentialStore() *credentialStore {
	return &credentialStore{recs: map[[2]string]credentialRecord{}}
}

// upsert keeps added_at of an existing record and refreshes the rest.
func (c *credentialStore) upsert(tenant, service, secret string) credentialRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := now()
	k := [2]string{tenant, service}
	rec, ok := c.recs[k]
	if !ok {
		rec = credentialRecord{TenantID: tenant, Service: service, AddedAt: now}
	}
	rec.UpdatedAt = now
	rec.Fingerprint = fingerprint(secret)
	c.recs[k] = rec
	return rec
}

func (c *credentialStore) remove(tenant, service string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]string{tenant, service}
	_, ok := c.recs[k]
	delete(c.recs, k)
	return ok
}

// list returns the records passing keep, sorted by (tenant_id, service).
func (c *credentialStore) list(keep func(credentialRecord) bool) []credentialRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []credentialRecord{}
	for _, r := range c.recs {
		if keep(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].TenantID != out[j].TenantID {
			return out[i].TenantID < out[j].TenantID
		}
		return out[i].Service < out[j].Service
	})
	return out
}

func (c *credentialStore) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs)
}

// fingerprint is the 64-bit FNV-1a hash of the secret as 16 lowercase hex.
func fingerprint(secret string) string {
	const offset, prime = 0xcbf29ce484222325, 0x100000001b3
	var h uint64 = offset
	for i := 0; i < len(secret); i++ {
		h ^= uint64(secret[i])
		h *= prime
	}
	return fmt.Sprintf("%016x", h)
}

// now is the server clock: UTC, so timestamps render with a Z.
func now() time.Time { return time.Now().UTC() }

// targetTenant applies the ?tenant= rule of the writing credential routes:
// without it the caller's own tenant; admins may name any tenant, operators
// only their own (any other is a 404 that does not reveal the tenant).
func targetTenant(r *http.Request, sc scope) (string, error) {
	t, present, err := queryString(r, "tenant")
	if err != nil {
		return "", err
	}
	if !present {
		return sc.tenant, nil
	}
	if sc.isAdmin() {
		return t, nil
	}
	if t != sc.tenant {
		return "", errNotFound("not found")
	}
	return sc.tenant, nil
}

type putCredentialRequest struct {
	Service *serviceID `json:"service"`
	Secret  *string    `json:"secret"`
}

func (s *Server) handlePutCredential(w http.ResponseWriter, r *http.Request, sc scope) error {
	// Extractor order: the query string is parsed before the body.
	if _, _, err := queryString(r, "tenant"); err != nil {
		return err
	}
	var req putCredentialRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	tenant, err := targetTenant(r, sc)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*req.Secret) == "" {
		return errBadRequest("secret must be non-empty")
	}
	svc := string(*req.Service)
	rec := s.creds.upsert(tenant, svc, *req.Secret)
	s.keys.set(tenant, svc, *req.Secret)
	writeJSON(w, http.StatusOK, rec)
	return nil
}

func (s *Server) handleListCredentials(w http.ResponseWriter, r *http.Request, sc scope) error {
	filter, present, err := queryString(r, "tenant")
	if err != nil {
		return err
	}
	keep := func(c credentialRecord) bool { return c.TenantID == sc.tenant }
	if sc.isAdmin() {
		keep = func(c credentialRecord) bool { return !present || c.TenantID == filter }
	}
	writeJSON(w, http.StatusOK, s.creds.list(keep))
	return nil
}

func (s *Server) handleDeleteCredential(w http.ResponseWriter, r *http.Request, sc scope) error {
	tenant, err := targetTenant(r, sc)
	if err != nil {
		return err
	}
	svc := r.PathValue("service")
	if !validService(svc) {
		return errBadRequest("unknown service %s", svc)
	}
	if !s.creds.remove(tenant, svc) {
		return errNotFound("credential %s", svc)
	}
	s.keys.remove(tenant, svc)
	writeEmpty(w, http.StatusNoContent)
	return nil
}
