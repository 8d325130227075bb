package agentjail

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Service names an upstream API whose real key the control plane keeps.
type Service string

// The services the phantom proxy supports.
const (
	ServiceOpenAI    Service = "openai"
	ServiceAnthropic Service = "anthropic"
	ServiceGitHub    Service = "github"
	ServiceStripe    Service = "stripe"
)

// Credential describes a stored upstream key. The secret itself is never returned.
type Credential struct {
	TenantID    string    `json:"tenant_id"`   // tenant that owns the key
	Service     Service   `json:"service"`     // upstream the key is for
	AddedAt     time.Time `json:"added_at"`    // first stored; kept when the key is rotated
	UpdatedAt   time.Time `json:"updated_at"`  // time of the last Put
	Fingerprint string    `json:"fingerprint"` // 16 hex characters identifying the secret
}

// CredentialPutParams are the arguments of CredentialsService.Put. Printing the value
// with any fmt verb hides Secret.
type CredentialPutParams struct {
	Service Service `json:"service"` // the upstream the key is for
	Secret  string  `json:"secret"`  // the real upstream key; sent as is, never logged
}

func (p CredentialPutParams) body() (any, error) { return p, nil }

// Format prints the params with Secret redacted.
func (p CredentialPutParams) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "{Service:%s Secret:[REDACTED]}", p.Service)
}

// LogValue logs the params with Secret redacted, whatever the slog handler (the JSON
// handler would otherwise marshal the secret).
func (p CredentialPutParams) LogValue() slog.Value {
	return slog.GroupValue(slog.String("service", string(p.Service)), slog.String("secret", "[REDACTED]"))
}

// CredentialsService manages the real upstream keys of a tenant
// (/v1/credentials). Operators manage their own tenant's keys; admins may target
// another tenant with ForTenant.
type CredentialsService struct {
	c      *Client
	tenant string
}

// ForTenant returns a copy of the service whose calls add ?tenant=<tenant>. For an
// admin key, Put and Delete then act on that tenant and List shows only it; an operator
// naming another tenant gets ErrNotFound from Put and Delete. "" means no tenant
// parameter: the caller's own tenant (List shows every tenant to admins).
func (s *CredentialsService) ForTenant(tenant string) *CredentialsService {
	return &CredentialsService{c: s.c, tenant: tenant}
}

// query is the tenant parameter every call of the service carries.
func (s *CredentialsService) query() (url.Values, error) {
	if s.tenant == "" {
		return nil, nil
	}
	return url.Values{"tenant": {s.tenant}}, nil
}

// List returns the credentials visible to the caller, sorted by tenant then service.
func (s *CredentialsService) List(ctx context.Context) ([]Credential, error) {
	return doSlice[Credential](ctx, s.c, call{method: http.MethodGet, path: path("/v1/credentials"), query: s})
}

// Put stores or rotates the real key of p.Service. The server answers ErrBadRequest for
// an empty or blank Secret and for an unknown service.
func (s *CredentialsService) Put(ctx context.Context, p CredentialPutParams) (*Credential, error) {
	return doJSON[Credential](ctx, s.c, call{method: http.MethodPost, path: path("/v1/credentials"), query: s, body: p, secret: p.Secret})
}

// Delete removes the key of service. Phantom tokens already issued stay valid but the
// proxy answers them 502 until a key is put again. It returns an error matching
// ErrNotFound when there is no such credential.
func (s *CredentialsService) Delete(ctx context.Context, service Service) error {
	return s.c.do(ctx, call{method: http.MethodDelete, path: path("/v1/credentials", string(service)), query: s}, nil)
}
