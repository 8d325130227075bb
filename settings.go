package agentjail

import (
	"context"
	"net/http"
)

// Role is the role of an API key.
type Role string

// The roles. Admins see every tenant; operators only their own.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
)

// Identity is who the API key belongs to.
type Identity struct {
	Tenant string `json:"tenant"`
	Role   Role   `json:"role"`
}

// Flavor is a runtime flavor a workspace may be created with.
type Flavor struct {
	Name string `json:"name"`
}

// ServerSettings mirrors GET /v1/config. Pointer fields are nil when the server leaves
// the key out, which it does for host paths and bind addresses when the caller is an
// operator.
type ServerSettings struct {
	Proxy        ProxySettings        `json:"proxy"`
	ControlPlane ControlPlaneSettings `json:"control_plane"`
	Gateway      *GatewaySettings     `json:"gateway"` // nil for operators or without a gateway
	Exec         *ExecSettings        `json:"exec"`
	Persistence  PersistenceSettings  `json:"persistence"`
	Snapshots    SnapshotSettings     `json:"snapshots"`
}

// ProxySettings describe the phantom proxy.
type ProxySettings struct {
	BaseURL   string             `json:"base_url"`
	BindAddr  *string            `json:"bind_addr,omitempty"`
	Providers []ProviderSettings `json:"providers"`
}

// ProviderSettings describe one upstream the proxy forwards to.
type ProviderSettings struct {
	ServiceID     string `json:"service_id"`
	UpstreamBase  string `json:"upstream_base"`
	RequestPrefix string `json:"request_prefix"`
}

// ControlPlaneSettings describe the control-plane listener.
type ControlPlaneSettings struct {
	BindAddr *string `json:"bind_addr,omitempty"`
}

// GatewaySettings describe the workspace gateway.
type GatewaySettings struct {
	BindAddr string `json:"bind_addr"`
}

// ExecSettings are the execution defaults.
type ExecSettings struct {
	DefaultMemoryMB    int64 `json:"default_memory_mb"`
	DefaultTimeoutSecs int64 `json:"default_timeout_secs"`
	MaxConcurrent      int64 `json:"max_concurrent"`
}

// PersistenceSettings describe where state is kept.
type PersistenceSettings struct {
	StateDir        *string `json:"state_dir,omitempty"`
	SnapshotPoolDir *string `json:"snapshot_pool_dir,omitempty"`
	IdleCheckSecs   int64   `json:"idle_check_secs"`
}

// SnapshotSettings describe snapshot garbage collection.
type SnapshotSettings struct {
	GC *SnapshotGCSettings `json:"gc"`
}

// SnapshotGCSettings are the snapshot GC limits; nil limits are disabled.
type SnapshotGCSettings struct {
	MaxAgeSecs *int64 `json:"max_age_secs"`
	MaxCount   *int64 `json:"max_count"`
	TickSecs   int64  `json:"tick_secs"`
}

// SettingsService reads the server's configuration and the caller's identity.
type SettingsService struct{ c *Client }

// Get returns the server configuration (GET /v1/config).
func (s *SettingsService) Get(ctx context.Context) (*ServerSettings, error) {
	return doJSON[ServerSettings](ctx, s.c, call{method: http.MethodGet, path: "/v1/config"})
}

// Whoami returns the tenant and role of the API key (GET /v1/whoami). With auth
// disabled on the server it is tenant "dev", role admin.
func (s *SettingsService) Whoami(ctx context.Context) (*Identity, error) {
	return doJSON[Identity](ctx, s.c, call{method: http.MethodGet, path: "/v1/whoami"})
}

// Flavors returns the runtime flavors installed on the server, sorted by name.
func (s *SettingsService) Flavors(ctx context.Context) ([]Flavor, error) {
	var out []Flavor
	if err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/flavors"}, &out); err != nil {
		return nil, err
	}
	return out, nil
}
