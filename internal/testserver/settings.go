package testserver

import (
	"net/http"
	"os"
	"path/filepath"
	"sort"
)

// Settings: the server's configuration as the caller may see it, the caller's own identity,
// and the flavors installed under the state directory.

// The /v1/config document. Keys tagged omitempty are omitted (never null)
// for operators, as the real server's skip_serializing_if does.
type configView struct {
	Proxy        proxySettings        `json:"proxy"`
	ControlPlane controlPlaneSettings `json:"control_plane"`
	Gateway      *gatewaySettings     `json:"gateway"`
	Exec         *execSettings        `json:"exec"`
	Persistence  persistenceSettings  `json:"persistence"`
	Snapshots    snapshotSettings     `json:"snapshots"`
}

type proxySettings struct {
	BaseURL   string             `json:"base_url"`
	BindAddr  string             `json:"bind_addr,omitempty"`
	Providers []providerSettings `json:"providers"`
}

type providerSettings struct {
	ServiceID     string `json:"service_id"`
	UpstreamBase  string `json:"upstream_base"`
	RequestPrefix string `json:"request_prefix"`
}

type gatewaySettings struct {
	BindAddr string `json:"bind_addr"`
}

type controlPlaneSettings struct {
	BindAddr string `json:"bind_addr,omitempty"`
}

type execSettings struct {
	DefaultMemoryMB    uint64 `json:"default_memory_mb"`
	DefaultTimeoutSecs uint64 `json:"default_timeout_secs"`
	MaxConcurrent      int    `json:"max_concurrent"`
}

type persistenceSettings struct {
	StateDir        string `json:"state_dir,omitempty"`
	SnapshotPoolDir string `json:"snapshot_pool_dir,omitempty"`
	IdleCheckSecs   uint64 `json:"idle_check_secs"`
}

type snapshotSettings struct {
	GC *gcSettings `json:"gc"`
}

type gcSettings struct {
	MaxAgeSecs *uint64 `json:"max_age_secs"`
	MaxCount   *uint64 `json:"max_count"`
	TickSecs   uint64  `json:"tick_secs"`
}

func (s *Server) handleGetConfig(w http.ResponseWriter, r *http.Request, sc scope) error {
	v := configView{
		Proxy: proxySettings{BaseURL: s.proxyBaseURL, Providers: []providerSettings{}},
		Exec: &execSettings{
			DefaultMemoryMB:    512,
			DefaultTimeoutSecs: 300,
			MaxConcurrent:      s.maxConcurrent,
		},
		Persistence: persistenceSettings{IdleCheckSecs: ceilSecs(s.idleCheck)},
		Snapshots:   snapshotSettings{GC: s.gc.settings()},
	}
	for _, svc := range serviceIDs {
		v.Proxy.Providers = append(v.Proxy.Providers, providerSettings{
			ServiceID:     svc,
			UpstreamBase:  s.upstreams[svc],
			RequestPrefix: "/v1/" + svc + "/",
		})
	}
	if sc.isAdmin() {
		if s.gatewayAddr != "" {
			v.Gateway = &gatewaySettings{BindAddr: s.gatewayBindAddr()}
		}
		v.Proxy.BindAddr = s.proxyLn.Addr().String()
		v.ControlPlane.BindAddr = s.ctlLn.Addr().String()
		v.Persistence.StateDir = s.stateDir
		v.Persistence.SnapshotPoolDir = s.exec.snapshotPoolDir()
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request, sc scope) error {
	writeJSON(w, http.StatusOK, struct {
		Tenant string `json:"tenant"`
		Role   string `json:"role"`
	}{sc.tenant, sc.role})
	return nil
}

type flavorView struct {
	Name string `json:"name"`
}

func (s *Server) handleListFlavors(w http.ResponseWriter, r *http.Request, _ scope) error {
	out := []flavorView{}
	for _, name := range s.flavorNames() {
		out = append(out, flavorView{Name: name})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// flavorsDir is where flavors live: one directory (or symlink) per flavor.
func (s *Server) flavorsDir() string { return filepath.Join(s.stateDir, "flavors") }

// flavorNames rescans the flavors directory; names are sorted.
func (s *Server) flavorNames() []string {
	entries, err := os.ReadDir(s.flavorsDir())
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if s.flavorExists(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// flavorExists reports whether $stateDir/flavors/<name> is a directory or a
// symlink and name matches [a-z0-9][a-z0-9_-]{0,31}.
func (s *Server) flavorExists(name string) bool {
	if !validName(name, 32) {
		return false
	}
	fi, err := os.Lstat(filepath.Join(s.flavorsDir(), name))
	if err != nil {
		return false
	}
	return fi.IsDir() || fi.Mode()&os.ModeSymlink != 0
}
