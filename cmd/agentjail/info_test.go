package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/internal/testserver"
)

func TestInfoCommands(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	operator, _ := newServer(t, testserver.WithAPIKeys("tok@acme:operator"))
	url := srv.URL()
	runCLI(t, url, "", "health").check(t, 0, "ok\n", "")
	runCLI(t, url, "", "whoami").check(t, 0, "tenant   dev\nrole     admin\n", "")
	runCLI(t, url, "", "whoami", "-json").check(t, 0, "{\"tenant\":\"dev\",\"role\":\"admin\"}\n", "")
	runEnv(t, map[string]string{"AGENTJAIL_URL": operator.URL(), "AGENTJAIL_API_KEY": "tok"}, "", "whoami").
		check(t, 0, "tenant   acme\nrole     operator\n", "")

	r := runCLI(t, url, "", "config")
	if r.code != 0 || !strings.Contains(r.stdout, "proxy.base_url ") || !strings.Contains(r.stdout, " "+srv.ProxyURL()+"\n") ||
		!strings.Contains(r.stdout, "\nproxy.providers.0.service_id ") || !strings.Contains(r.stdout, "\nexec.max_concurrent ") {
		t.Errorf("config: exit %d, stdout %q", r.code, r.stdout)
	}
	r = runCLI(t, url, "", "config", "-json")
	var settings agentjail.ServerSettings
	if err := json.Unmarshal([]byte(r.stdout), &settings); err != nil || settings.Proxy.BaseURL != srv.ProxyURL() {
		t.Errorf("config -json: exit %d, %q (%v)", r.code, r.stdout, err)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	// version needs no control plane.
	want := "agentjail " + agentjail.Version + " (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	runEnv(t, nil, "", "version").check(t, 0, want, "")
}
