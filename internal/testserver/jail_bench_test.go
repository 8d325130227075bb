//go:build unix

package testserver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRunnerTrue is the cost of one execution of /bin/true from start to reaped, as a host
// process and in a jail (whose network modes differ by a network namespace), so the difference is
// the jail's set-up: re-executing this binary, namespaces, mounts, pivot_root, dropping
// privileges. Back to back, each execution waits for the inside half started after the previous
// one; the -warm cases time executions that follow a 20 ms pause, as an agent's calls do, and so
// find it started and waiting for its spec.
func BenchmarkRunnerTrue(b *testing.B) {
	root := b.TempDir()
	ws, out := filepath.Join(root, "ws"), filepath.Join(root, "out")
	for _, d := range []string{ws, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	cases := []struct {
		name       string
		jail, warm bool
		network    string
	}{
		{"host", false, false, "none"},
		{"jail-none", true, false, "none"},
		{"jail-loopback", true, false, "loopback"},
		{"jail-allowlist", true, false, "allowlist"},
		{"jail-none-warm", true, true, "none"},
		{"jail-allowlist-warm", true, true, "allowlist"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var j *jailer
			if c.jail {
				var err error
				if j, err = newJailer(filepath.Join(root, "jailroot")); err != nil {
					b.Skipf("jails unavailable: %v", err)
				}
			}
			r := newRunner(1, j) // its close also ends j's children started ahead of time
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
				if c.warm {
					b.StopTimer()
					time.Sleep(20 * time.Millisecond) // the pause being modelled, not a wait for an event
					b.StartTimer()
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
