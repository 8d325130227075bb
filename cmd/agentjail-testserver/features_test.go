package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// The GC and idle-reaper variables are read like the real server's: trimmed, an optional "+",
// blank or unparsable meaning unset (and the default).
func TestRunBackgroundSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		gc   string
		idle string
	}{
		{name: "defaults", env: map[string]string{}, gc: `{"max_age_secs":null,"max_count":null,"tick_secs":60}`, idle: "30"},
		{name: "set", env: map[string]string{
			"AGENTJAIL_SNAPSHOT_MAX_AGE_SECS": " 3600 ", "AGENTJAIL_SNAPSHOT_MAX_COUNT": "+20",
			"AGENTJAIL_SNAPSHOT_GC_TICK_SECS": "0", "AGENTJAIL_IDLE_CHECK_INTERVAL_SECS": "0",
		}, gc: `{"max_age_secs":3600,"max_count":20,"tick_secs":0}`, idle: "0"},
		{name: "unparsable is unset", env: map[string]string{
			"AGENTJAIL_SNAPSHOT_MAX_AGE_SECS": "1h", "AGENTJAIL_SNAPSHOT_MAX_COUNT": "-1",
			"AGENTJAIL_SNAPSHOT_GC_TICK_SECS": "  ", "AGENTJAIL_IDLE_CHECK_INTERVAL_SECS": "5s",
		}, gc: `{"max_age_secs":null,"max_count":null,"tick_secs":60}`, idle: "30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0"}
			for k, v := range tt.env {
				env[k] = v
			}
			rn := startRun(t, env)
			var cfg struct {
				Persistence struct {
					IdleCheckSecs json.RawMessage `json:"idle_check_secs"`
				} `json:"persistence"`
				Snapshots struct {
					GC json.RawMessage `json:"gc"`
				} `json:"snapshots"`
			}
			decode(t, call(t, "GET", rn.ctl+"/v1/config", "", ""), 200, &cfg)
			if string(cfg.Snapshots.GC) != tt.gc || string(cfg.Persistence.IdleCheckSecs) != tt.idle {
				t.Fatalf("gc %s idle %s, want %s %s", cfg.Snapshots.GC, cfg.Persistence.IdleCheckSecs, tt.gc, tt.idle)
			}
		})
	}
}

func TestRunJSONLogs(t *testing.T) {
	t.Parallel()
	rn := startRun(t, map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0", "LOG_FORMAT": "json"})
	for _, line := range strings.Split(strings.TrimSpace(rn.logText()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
	}
	if r := call(t, "GET", rn.ctl+"/healthz", "", ""); r.status != 200 {
		t.Fatalf("healthz %d", r.status)
	}
}

// AGENTJAIL_GATEWAY_ADDR starts the gateway when it is an IP literal and port, and is
// silently ignored otherwise, like the real server's.
func TestRunGatewayAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, addr string
		on         bool
	}{
		{"IP and port", "127.0.0.1:0", true},
		{"unset", "", false},
		{"host name is ignored", "localhost:0", false},
		{"port only is ignored", ":0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rn := startRun(t, map[string]string{"CTL_ADDR": "127.0.0.1:0", "PROXY_ADDR": "127.0.0.1:0", "AGENTJAIL_GATEWAY_ADDR": tt.addr})
			var cfg struct {
				Gateway *struct {
					BindAddr string `json:"bind_addr"`
				} `json:"gateway"`
			}
			decode(t, call(t, "GET", rn.ctl+"/v1/config", "", ""), 200, &cfg)
			if (cfg.Gateway != nil) != tt.on {
				t.Fatalf("gateway %+v, want on %v", cfg.Gateway, tt.on)
			}
			if strings.Contains(rn.logText(), "gateway") != tt.on {
				t.Fatalf("logs mention the gateway: %v, want %v:\n%s", !tt.on, tt.on, rn.logText())
			}
			if !tt.on {
				return
			}
			r := call(t, "GET", "http://"+cfg.Gateway.BindAddr+"/", "", "")
			if want := "gateway: no workspace declares host 127.0.0.1\n"; r.status != 404 || r.body != want {
				t.Fatalf("gateway answered %d %q, want 404 %q", r.status, r.body, want)
			}
		})
	}
}
