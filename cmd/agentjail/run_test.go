package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/internal/testserver"
)

// writeScript writes code to name in a fresh directory and returns its path.
func writeScript(t *testing.T, name, code string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunStreamsLive(t *testing.T) {
	t.Parallel()
	// The job waits for a file the test creates on this host, which no jail can see: the
	// fake runs it as a host process.
	srv, _ := newServer(t, testserver.WithIsolation(testserver.IsolationNone))
	release := filepath.Join(t.TempDir(), "release")
	// The job prints, then waits for the test to create release; the test sees the
	// first lines while the job is still running.
	script := writeScript(t, "job.sh", `printf '  first line\n'
echo '    indented on stderr' >&2
until [ -e '`+release+`' ]; do sleep 0.01; done
printf '\tsecond\n\n  trailing spaces  \n'
printf 'no final newline'
exit 7
`)
	s := start(t, srv.URL(), nil, "run", script)
	s.stdout.waitFor(t, "  first line\n")
	s.stderr.waitFor(t, "    indented on stderr\n")
	select {
	case code := <-s.done:
		t.Fatalf("the CLI exited (%d) before the job could end", code)
	default:
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	result{s.wait(t), s.stdout.String(), s.stderr.String()}.check(t, 7,
		"  first line\n\tsecond\n\n  trailing spaces  \nno final newline\n", "    indented on stderr\n")
}

func TestRunExitStatus(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	tests := []struct {
		name           string
		args           []string
		stdin          string
		code           int
		stdout, stderr string
	}{
		{"success", []string{"run", "-lang", "bash", "-"}, "echo ok", 0, "ok\n", ""},
		{"exit code", []string{"run", "-lang", "bash", "-"}, "echo bad >&2; exit 42", 42, "", "bad\n"},
		{"timeout", []string{"run", "-lang", "bash", "-timeout", "1s", "-"}, "echo started; exec sleep 60", 124, "started\n", ""},
		// The script is PID 1 of its jail, which ignores its own SIGTERM: a child killed by the
		// signal passes its status, 128+15, on as the script's (bash's "Terminated" silenced).
		{"killed by a signal", []string{"run", "-lang", "bash", "-"}, "{ /bin/sh -c 'kill -TERM $$'; } 2>/dev/null", 143, "", ""},
		{"json", []string{"run", "-lang", "bash", "-json", "-"}, "printf '  a\\nb'; exit 5", 5, "", ""},
		{"git is not streamed", []string{"run", "-lang", "bash", "-git", "http://example.com/r.git#main", "-"}, "echo never", 1, "",
			"agentjail: 400: bad request: git.repo must be https:// (max 512 bytes)\n"},
		{"missing file", []string{"run", "/nonexistent/job.sh"}, "", 1, "",
			"agentjail: open /nonexistent/job.sh: no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, srv.URL(), tt.stdin, tt.args...)
			if tt.name == "json" {
				var res agentjail.ExecResult
				if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Stdout != "  a\nb" || res.ExitCode != 5 {
					t.Errorf("stdout %q is not the run's result (%v)", r.stdout, err)
				}
				r.stdout = ""
			}
			r.check(t, tt.code, tt.stdout, tt.stderr)
		})
	}
}

func TestRunLanguages(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	tests := []struct {
		file, bin, code string
	}{
		{"job.sh", "sh", `echo "  from sh"`},
		{"job.py", "python3", `print("  from python")`},
		{"job.js", "node", `console.log("  from node")`},
		{"job.mjs", "node", `console.log("  from node")`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			if _, err := exec.LookPath(tt.bin); err != nil {
				t.Skipf("%s is not installed for the fake to run", tt.bin)
			}
			want := "  from " + strings.TrimSuffix(tt.bin, "3") + "\n"
			runCLI(t, srv.URL(), "", "run", writeScript(t, tt.file, tt.code)).check(t, 0, want, "")
		})
	}
}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"stdin needs -lang", []string{"run", "-"}, "-lang is required when the code comes from standard input"},
		{"unknown extension", []string{"run", "job.rb"}, "cannot tell the language of job.rb from its extension: pass -lang"},
		{"bad -lang", []string{"run", "-lang", "ruby", "job.rb"}, `invalid value "ruby" for flag -lang: want bash, python or javascript`},
		{"bad -network", []string{"run", "-network", "all", "job.sh"}, `-network "all": want none, loopback or allow:HOST[,HOST...]`},
		{"empty allowlist", []string{"run", "-network", "allow:", "job.sh"}, `-network "allow:": want none, loopback or allow:HOST[,HOST...]`},
		{"bad -seccomp", []string{"run", "-seccomp", "off", "job.sh"}, `invalid value "off" for flag -seccomp: want standard or strict`},
		{"negative -cpu", []string{"run", "-cpu", "-5", "job.sh"}, "-timeout, -memory, -cpu and -pids must not be negative (-memory -1 means no limit)"},
		{"two files", []string{"run", "a.sh", "b.sh"}, `unexpected argument "b.sh"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runEnv(t, map[string]string{"AGENTJAIL_URL": "http://127.0.0.1:1"}, "", tt.args...)
			if r.code != 2 || !strings.HasPrefix(r.stderr, "agentjail: "+tt.want+"\n\nUsage: agentjail run [flags] FILE|-\n") {
				t.Errorf("exit %d, stderr %q; want 2 and %q with the usage", r.code, r.stderr, tt.want)
			}
		})
	}
}

// TestRunSettings checks that every jail flag reaches the server, as the ledger
// records it.
func TestRunSettings(t *testing.T) {
	t.Parallel()
	srv, client := newServer(t)
	runCLI(t, srv.URL(), "true", "run", "-lang", "bash", "-timeout", "90s", "-memory", "256", "-cpu", "50", "-pids", "10",
		"-network", "allow:example.com,*.example.org", "-seccomp", "strict", "-").check(t, 0, "", "")
	list, err := client.Jails.List(context.Background(), agentjail.JailListParams{Kind: agentjail.JailKindStream})
	if err != nil || len(list.Rows) != 1 || list.Rows[0].Config == nil {
		t.Fatalf("ledger: %+v, %v", list, err)
	}
	got, _ := json.Marshal(list.Rows[0].Config)
	want := `{"network_mode":"allowlist","network_domains":["example.com","*.example.org"],"seccomp":"strict",` +
		`"memory_mb":256,"timeout_secs":90,"cpu_percent":50,"max_pids":10}`
	if string(got) != want {
		t.Errorf("the jail ran with %s, want %s", got, want)
	}
}

// TestRunInterrupt interrupts a streamed run: the CLI exits 130 at once and the server
// kills the job, leaving no running jail.
func TestRunInterrupt(t *testing.T) {
	t.Parallel()
	srv, client := newServer(t)
	script := writeScript(t, "job.sh", "echo ready\nexec sleep 600\n")
	s := start(t, srv.URL(), nil, "run", script)
	s.stdout.waitFor(t, "ready\n")
	s.signals <- os.Interrupt
	result{s.wait(t), s.stdout.String(), s.stderr.String()}.check(t, 130, "ready\n", "")

	waitNoRunningJail(t, client, 1)
}

// waitNoRunningJail waits until the server has noticed the closed streams: no
// streamed jail is running and no execution is active, and the newest killed ones
// ended with exit code 137. The server does this on its own schedule, so the test asks
// until it has.
func waitNoRunningJail(t *testing.T, client *agentjail.Client, killed int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		list, err := client.Jails.List(ctx, agentjail.JailListParams{Kind: agentjail.JailKindStream})
		if err != nil {
			t.Fatalf("a job is still running: %v", err)
		}
		stats, err := client.Public.Stats(ctx)
		if err != nil {
			t.Fatalf("a job is still running: %v", err)
		}
		if len(list.Rows) < killed {
			t.Fatalf("%d streamed jails in the ledger, want at least %d", len(list.Rows), killed)
		}
		if stats.ActiveExecs == 0 && !slices.ContainsFunc(list.Rows, func(j agentjail.Jail) bool { return j.Status == agentjail.JailRunning }) {
			for _, j := range list.Rows[:killed] {
				if j.ExitCode == nil || *j.ExitCode != 137 {
					t.Errorf("jail %d ended with %v, want 137 (killed)", j.ID, j.ExitCode)
				}
			}
			return
		}
	}
}

// TestSecondSignal checks that a second signal ends a command that is stuck even after
// the first: here a run whose output nobody reads, as when a pager is left paused.
func TestSecondSignal(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	stuck := &stuckWriter{entered: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() { close(stuck.release) })
	signals := make(chan os.Signal, 2)
	c := &cli{stdin: strings.NewReader("echo hi\n"), stdout: stuck, stderr: io.Discard,
		getenv: func(string) string { return srv.URL() }, signals: signals}
	done := make(chan int, 1)
	go func() { done <- c.main([]string{"run", "-lang", "bash", "-"}) }()
	<-stuck.entered
	signals <- os.Interrupt
	signals <- os.Interrupt
	select {
	case code := <-done:
		if code != 130 {
			t.Errorf("exit %d, want 130", code)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the CLI did not exit after two signals")
	}
}

// stuckWriter blocks every write until release is closed; entered is closed by the first.
type stuckWriter struct {
	once             sync.Once
	entered, release chan struct{}
}

func (w *stuckWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	return len(p), nil
}

// TestRunStreamEnds covers the ends of a stream the fake never sends, from a server
// that answers /v1/runs/stream with a fixed body.
func TestRunStreamEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		body           string
		code           int
		stdout, stderr string
	}{
		{"error event", "event: started\ndata: {\"pid\":1}\n\nevent: stdout\ndata: partial\n\n" +
			"event: error\ndata: {\"message\":\"spawn failed: no such file\"}\n\n", 1, "partial\n", "agentjail: run failed: spawn failed: no such file\n"},
		{"cut before the end", "event: started\ndata: {\"pid\":1}\n\nevent: stderr\ndata:   x\n\n", 1, "",
			"  x\nagentjail: run stream ended before a completed or error event: unexpected EOF\n"},
		{"oom kill keeps the code", "event: completed\ndata: {\"exit_code\":137,\"oom_killed\":true}\n\n", 137, "", ""},
		{"empty lines are lines", "event: stdout\ndata:\n\nevent: stdout\ndata: \n\nevent: completed\ndata: {\"exit_code\":0}\n\n", 0, "\n\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/runs/stream" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			runCLI(t, srv.URL, "true", "run", "-lang", "bash", "-").check(t, tt.code, tt.stdout, tt.stderr)
		})
	}
}

// TestRunGit checks that a run with -git goes to the unstreamed route with the
// repository and ref, and prints the output it returns when it ends.
func TestRunGit(t *testing.T) {
	t.Parallel()
	sent := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Git json.RawMessage }
		if r.Method != http.MethodPost || r.URL.Path != "/v1/runs" || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.NotFound(w, r)
			return
		}
		sent <- string(body.Git)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"stdout":"  out\nlast","stderr":"  err\n","exit_code":3,"duration_ms":5,"timed_out":false,"oom_killed":false}`)
	}))
	t.Cleanup(srv.Close)
	runCLI(t, srv.URL, "ls", "run", "-lang", "bash", "-git", "https://example.com/r.git#v1", "-").check(t, 3, "  out\nlast", "  err\n")
	if got, want := <-sent, `{"repo":"https://example.com/r.git","ref":"v1"}`; got != want {
		t.Errorf("git sent as %s, want %s", got, want)
	}
}
