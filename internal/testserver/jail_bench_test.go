//go:build unix

package testserver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRunnerTrue is the cost of one execution of /bin/true from start to reaped, as a host
// process and in a jail (whose network modes differ by a network namespace), so the difference is
// the jail's set-up: re-executing this binary, namespaces, mounts, pivot_root, dropping
// privileges.
func BenchmarkRunnerTrue(b *testing.B) {
	root := b.TempDir()
	ws, out := filepath.Join(root, "ws"), filepath.Join(root, "out")
	for _, d := range []string{ws, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	j, jailErr := newJailer(filepath.Join(root, "jailroot"))
	cases := []struct {
		name    string
		jail    *jailer
		network string
	}{
		{"host", nil, "none"},
		{"jail-none", j, "none"},
		{"jail-loopback", j, "loopback"},
		{"jail-allowlist", j, "allowlist"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.name != "host" && jailErr != nil {
				b.Skipf("jails unavailable: %v", jailErr)
			}
			r := newRunner(1, c.jail)
			defer r.close()
			spec := procSpec{argv: []string{"/bin/true"}, dir: ws, output: out, network: c.network, env: []string{"PATH=" + jailPath}}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p, err := r.start(spec)
				if err != nil {
					b.Fatal(err)
				}
				if res := p.wait(); res.exitCode != 0 {
					b.Fatalf("exit %d: %s", res.exitCode, res.stderr)
				}
			}
		})
	}
}

// BenchmarkSessionExecTrue is one session exec of /bin/true over HTTP, end to end, per isolation.
func BenchmarkSessionExecTrue(b *testing.B) {
	for _, iso := range []Isolation{IsolationNone, IsolationNamespaces} {
		b.Run(string(iso), func(b *testing.B) {
			srv, err := New(WithIsolation(iso), WithCredential("dev", "openai", "sk"))
			if err != nil {
				b.Skipf("isolation %s: %v", iso, err)
			}
			defer srv.Close()
			var sess struct {
				ID string `json:"id"`
			}
			r, err := apiCallErr(srv, "", "POST", "/v1/sessions", map[string]any{"services": []string{"openai"}})
			if err != nil || r.status != 201 {
				b.Fatalf("session: %v %+v", err, r)
			}
			if err := json.Unmarshal([]byte(r.body), &sess); err != nil {
				b.Fatal(err)
			}
			path := "/v1/sessions/" + sess.ID + "/exec"
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := apiCallErr(srv, "", "POST", path, `{"cmd":"/bin/true"}`)
				if err != nil || r.status != 200 {
					b.Fatalf("exec: %v %+v", err, r)
				}
			}
		})
	}
}
