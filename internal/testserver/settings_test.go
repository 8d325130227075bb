package testserver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigOmitRules: /v1/config omits host addresses and paths for operators and never
// writes them as null.
func TestConfigOmitRules(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t, WithUpstream("openai", "http://127.0.0.1:9999/"), WithMaxConcurrent(7))
	get := func(key string) map[string]map[string]json.RawMessage {
		t.Helper()
		var top map[string]json.RawMessage
		wireDo(t, "GET", s.URL()+"/v1/config", "", wireKey(key)).wantJSON(t, 200, &top)
		out := map[string]map[string]json.RawMessage{}
		for k, v := range top {
			var m map[string]json.RawMessage
			if string(v) != "null" {
				if err := json.Unmarshal(v, &m); err != nil {
					t.Fatalf("%s: %v", k, err)
				}
			}
			out[k] = m
		}
		if len(top) != 6 || string(top["gateway"]) != "null" {
			t.Fatalf("top-level keys %v", top)
		}
		return out
	}
	admin, op := get(adminKey), get(opBetaKey)

	tests := []struct {
		name       string
		section    string
		key        string
		adminValue string // "" means omitted
		opValue    string
	}{
		{name: "proxy base url", section: "proxy", key: "base_url", adminValue: `"` + s.ProxyURL() + `"`, opValue: `"` + s.ProxyURL() + `"`},
		{name: "proxy bind addr", section: "proxy", key: "bind_addr", adminValue: `"` + s.proxyLn.Addr().String() + `"`},
		{name: "control plane bind addr", section: "control_plane", key: "bind_addr", adminValue: `"` + s.ctlLn.Addr().String() + `"`},
		{name: "state dir", section: "persistence", key: "state_dir", adminValue: mustJSON(t, s.StateDir())},
		{name: "no snapshot pool", section: "persistence", key: "snapshot_pool_dir"},
		{name: "idle check", section: "persistence", key: "idle_check_secs", adminValue: "30", opValue: "30"},
		{name: "exec memory", section: "exec", key: "default_memory_mb", adminValue: "512", opValue: "512"},
		{name: "exec timeout", section: "exec", key: "default_timeout_secs", adminValue: "300", opValue: "300"},
		{name: "exec concurrency", section: "exec", key: "max_concurrent", adminValue: "7", opValue: "7"},
		{name: "gc", section: "snapshots", key: "gc", adminValue: `{"max_age_secs":null,"max_count":null,"tick_secs":60}`, opValue: `{"max_age_secs":null,"max_count":null,"tick_secs":60}`},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			who  string
			doc  map[string]map[string]json.RawMessage
			want string
		}{{"admin", admin, tt.adminValue}, {"operator", op, tt.opValue}} {
			got, present := c.doc[tt.section][tt.key]
			switch {
			case c.want == "" && present:
				t.Fatalf("%s/%s: %s.%s = %s, want it omitted", tt.name, c.who, tt.section, tt.key, got)
			case c.want != "" && string(got) != c.want:
				t.Fatalf("%s/%s: %s.%s = %s, want %s", tt.name, c.who, tt.section, tt.key, got, c.want)
			}
		}
	}
	var providers []providerSettings
	if err := json.Unmarshal(op["proxy"]["providers"], &providers); err != nil {
		t.Fatal(err)
	}
	want := []providerSettings{
		{"openai", "http://127.0.0.1:9999", "/v1/openai/"},
		{"anthropic", "https://api.anthropic.com", "/v1/anthropic/"},
		{"github", "https://api.github.com", "/v1/github/"},
		{"stripe", "https://api.stripe.com", "/v1/stripe/"},
	}
	if len(providers) != len(want) {
		t.Fatalf("providers %v", providers)
	}
	for i := range want {
		if providers[i] != want[i] {
			t.Fatalf("provider %d = %+v, want %+v", i, providers[i], want[i])
		}
	}
}

func TestConfigSnapshotPool(t *testing.T) {
	t.Parallel()
	pool := filepath.Join(t.TempDir(), "pool")
	s := tenancyServer(t, WithSnapshotPoolDir(pool))
	tests := []struct {
		name, key string
		want      string // "" means omitted
	}{
		{name: "admin sees the pool", key: adminKey, want: pool},
		{name: "operator does not", key: opBetaKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cfg struct {
				Persistence map[string]json.RawMessage `json:"persistence"`
			}
			wireDo(t, "GET", s.URL()+"/v1/config", "", wireKey(tt.key)).wantJSON(t, 200, &cfg)
			got, present := cfg.Persistence["snapshot_pool_dir"]
			if tt.want == "" {
				if present {
					t.Fatalf("snapshot_pool_dir = %s, want it omitted", got)
				}
				return
			}
			if string(got) != mustJSON(t, tt.want) {
				t.Fatalf("snapshot_pool_dir = %s, want %q", got, tt.want)
			}
		})
	}
	if fi, err := os.Stat(pool); err != nil || !fi.IsDir() {
		t.Fatalf("pool dir not created: %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWhoami(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t)
	tests := []struct {
		name, key, want string
	}{
		{name: "admin", key: adminKey, want: `{"tenant":"acme","role":"admin"}`},
		{name: "operator", key: opGamKey, want: `{"tenant":"gamma","role":"operator"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := wireDo(t, "GET", s.URL()+"/v1/whoami", "", wireKey(tt.key))
			r.wantJSON(t, 200, nil)
			if r.body != tt.want {
				t.Fatalf("body %s, want %s", r.body, tt.want)
			}
		})
	}
}

func TestFlavors(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	s := tenancyServer(t, WithStateDir(state))
	list := func() string {
		t.Helper()
		r := wireDo(t, "GET", s.URL()+"/v1/flavors", "", wireKey(opBetaKey))
		r.wantJSON(t, 200, nil)
		return r.body
	}
	if got := list(); got != `[]` {
		t.Fatalf("no flavors dir: %s", got)
	}
	fl := filepath.Join(state, "flavors")
	target := t.TempDir()
	for _, d := range []string{"python", "node-20", "Bad", "_hidden", strings.Repeat("a", 33)} {
		if err := os.MkdirAll(filepath.Join(fl, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(target, filepath.Join(fl, "linked")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fl, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != `[{"name":"linked"},{"name":"node-20"},{"name":"python"}]` {
		t.Fatalf("flavors %s", got)
	}
	// Rescanned on every call.
	if err := os.Mkdir(filepath.Join(fl, "go_1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != `[{"name":"go_1"},{"name":"linked"},{"name":"node-20"},{"name":"python"}]` {
		t.Fatalf("after adding go_1: %s", got)
	}
	tests := []struct {
		name string
		want bool
	}{
		{"python", true}, {"linked", true}, {"go_1", true},
		{"file", false}, {"Bad", false}, {"missing", false}, {"../flavors", false}, {"", false},
		{strings.Repeat("a", 33), false},
	}
	for _, tt := range tests {
		if got := s.flavorExists(tt.name); got != tt.want {
			t.Fatalf("flavorExists(%q) = %v", tt.name, got)
		}
	}
}
