package agentjail

import (
	"context"
	"testing"
)

// TestSettingsRequests: the configuration decodes whether the server leaves out an
// operator's host paths and bind addresses or sends them all to an admin.
func TestSettingsRequests(t *testing.T) {
	t.Parallel()
	checkCalls(t, []apiCall{
		{name: "settings get operator omits keys", reply: fixtureConfigOperator,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Settings.Get(ctx) },
			method: "GET", path: "/v1/config",
			check: func(t *testing.T, got any) {
				s := got.(*ServerSettings)
				if len(s.Proxy.Providers) != 1 || s.Proxy.Providers[0].ServiceID != "openai" || s.Exec.DefaultMemoryMB != 512 ||
					s.Gateway != nil || s.Proxy.BindAddr != nil || s.ControlPlane.BindAddr != nil || s.Persistence.StateDir != nil ||
					s.Persistence.SnapshotPoolDir != nil || s.Snapshots.GC.MaxAgeSecs != nil || s.Snapshots.GC.TickSecs != 60 {
					t.Fatalf("got %+v", s)
				}
			}},
		{name: "settings get admin has every key", reply: fixtureConfigAdmin,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Settings.Get(ctx) },
			method: "GET", path: "/v1/config",
			check: func(t *testing.T, got any) {
				s := got.(*ServerSettings)
				if *s.Proxy.BindAddr != "127.0.0.1:8443" || *s.ControlPlane.BindAddr != "127.0.0.1:7000" || s.Gateway.BindAddr != "0.0.0.0:80" ||
					s.Exec != nil || *s.Persistence.StateDir != "/var/lib/agentjail" || *s.Snapshots.GC.MaxCount != 10 {
					t.Fatalf("got %+v", s)
				}
			}},
		{name: "settings whoami", reply: `{"tenant":"acme","role":"operator"}`,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Settings.Whoami(ctx) },
			method: "GET", path: "/v1/whoami",
			check: func(t *testing.T, got any) {
				if id := *got.(*Identity); id != (Identity{"acme", RoleOperator}) {
					t.Fatalf("got %+v", id)
				}
			}},
		{name: "settings flavors", reply: `[{"name":"node"},{"name":"python"}]`,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Settings.Flavors(ctx) },
			method: "GET", path: "/v1/flavors",
			check: func(t *testing.T, got any) {
				if f := got.([]Flavor); len(f) != 2 || f[1].Name != "python" {
					t.Fatalf("got %+v", f)
				}
			}},
	})
}

// TestSettingsFlow: against the fake control plane, whoami names each key's tenant and
// role, operators get the host paths left out of the configuration, and flavors list.
func TestSettingsFlow(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	ctx := context.Background()
	acme, admin := st.client, st.clientFor(t, adminKey)
	for _, tc := range []struct {
		c    *Client
		want Identity
	}{{acme, Identity{Tenant: "acme", Role: RoleOperator}}, {admin, Identity{Tenant: "dev", Role: RoleAdmin}}} {
		if id, err := tc.c.Settings.Whoami(ctx); err != nil || *id != tc.want {
			t.Fatalf("whoami %+v %v", id, err)
		}
	}
	opCfg, err := acme.Settings.Get(ctx)
	if err != nil || opCfg.Persistence.StateDir != nil || opCfg.Gateway != nil || opCfg.Exec == nil {
		t.Fatalf("operator config %+v %v", opCfg, err)
	}
	adCfg, err := admin.Settings.Get(ctx)
	if err != nil || adCfg.Persistence.StateDir == nil {
		t.Fatalf("admin config %+v %v", adCfg, err)
	}
	if f, err := acme.Settings.Flavors(ctx); err != nil || f == nil {
		t.Fatalf("flavors %v %v", f, err)
	}
}
