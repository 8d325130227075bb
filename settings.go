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
	Tenant string `json:"tenant"` // tenant ID of the key; "dev" when the server has auth disabled
	Role   Role   `json:"role"`   // RoleAdmin or RoleOperator
}

// Flavor is a runtime flavor a workspace may be created with.
type Flavor struct {
	Name string `json:"name"` // matches [a-z0-9][a-z0-9_-]{0,31}; pass it in WorkspaceCreateParams.Flavors
}

// ServerSettings mirrors GET /v1/config. Pointer fields are nil when the server leaves
// the key out, which it does for host paths and bind addresses when the caller is an
// operator.
type ServerSettings struct {
	Proxy        ProxySettings        `json:"proxy"`         // the phantom proxy that session env vars point at
	ControlPlane ControlPlaneSettings `json:"control_plane"` // the control-plane listener
	Gateway      *GatewaySettings     `json:"gateway"`       // nil for operators or without a gateway
	Exec         *ExecSettings        `json:"exec"`          // nil when the server sends null (the shipped server always sends it)
	Persistence  PersistenceSettings  `json:"persistence"`   // state locations and the idle-reaper interval
	Snapshots    SnapshotSettings     `json:"snapshots"`     // snapshot garbage collection
}

// ProxySettings describe the phantom proxy.
type ProxySettings struct {
	BaseURL   string             `json:"base_url"`            // base URL put in session env vars, without a trailing slash
	BindAddr  *string            `json:"bind_addr,omitempty"` // listen address; nil for operators or when unset
	Providers []ProviderSettings `json:"providers"`           // upstreams; empty on an embedded server without a platform
}

// ProviderSettings describe one upstream the proxy forwards to.
type ProviderSettings struct {
	ServiceID     string `json:"service_id"`     // e.g. "openai"
	UpstreamBase  string `json:"upstream_base"`  // e.g. "https://api.openai.com"
	RequestPrefix string `json:"request_prefix"` // proxy path routed to this upstream, e.g. "/v1/openai/"
}

// ControlPlaneSettings describe the control-plane listener.
type ControlPlaneSettings struct {
	BindAddr *string `json:"bind_addr,omitempty"` // listen address; nil for operators or when unset
}

// GatewaySettings describe the workspace gateway.
type GatewaySettings struct {
	BindAddr string `json:"bind_addr"` // listen address of the gateway
}

// ExecSettings are the execution defaults.
type ExecSettings struct {
	DefaultMemoryMB    int64 `json:"default_memory_mb"`    // memory limit in MiB when a request sets none (shipped: 512)
	DefaultTimeoutSecs int64 `json:"default_timeout_secs"` // timeout in seconds when a request sets none (shipped: 300)
	MaxConcurrent      int64 `json:"max_concurrent"`       // executions at once (shipped: 16); more fail with ErrBadRequest
}

// PersistenceSettings describe where state is kept.
type PersistenceSettings struct {
	StateDir        *string `json:"state_dir,omitempty"`         // host path; nil for operators or when unset
	SnapshotPoolDir *string `json:"snapshot_pool_dir,omitempty"` // host path of the content-addressed pool; nil for operators or when unset
	IdleCheckSecs   int64   `json:"idle_check_secs"`             // seconds between idle-reaper sweeps (shipped: 30; 0 when embedded)
}

// SnapshotSettings describe snapshot garbage collection.
type SnapshotSettings struct {
	GC *SnapshotGCSettings `json:"gc"` // nil on an embedded server without a platform; the shipped server always sends it
}

// SnapshotGCSettings are the snapshot GC limits; nil limits are disabled.
type SnapshotGCSettings struct {
	MaxAgeSecs *int64 `json:"max_age_secs"` // snapshots older than this many seconds are collected; nil = no age limit
	MaxCount   *int64 `json:"max_count"`    // most snapshots kept; nil = no count limit
	TickSecs   int64  `json:"tick_secs"`    // seconds between GC passes (shipped: 60)
}

// SettingsService reads the server's configuration and the caller's identity.
type SettingsService struct{ c *Client }

// Get returns the server configuration (GET /v1/config).
func (s *SettingsService) Get(ctx context.Context) (*ServerSettings, error) {
	return doJSON[ServerSettings](ctx, s.c, call{method: http.MethodGet, path: path("/v1/config")})
}

// Whoami returns the tenant and role of the API key (GET /v1/whoami). With auth
// disabled on the server it is tenant "dev", role admin.
func (s *SettingsService) Whoami(ctx context.Context) (*Identity, error) {
	return doJSON[Identity](ctx, s.c, call{method: http.MethodGet, path: path("/v1/whoami")})
}

// Flavors returns the runtime flavors installed on the server, sorted by name.
func (s *SettingsService) Flavors(ctx context.Context) ([]Flavor, error) {
	return doSlice[Flavor](ctx, s.c, call{method: http.MethodGet, path: path("/v1/flavors")})
}
