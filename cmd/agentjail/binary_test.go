package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

// goBuild builds the package in dir into a fresh directory and returns the binary.
func goBuild(t *testing.T, dir, name string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not available")
	}
	out := filepath.Join(t.TempDir(), name)
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	if b, err := exec.Command(goBin, "build", "-o", out, dir).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, b)
	}
	return out
}

// controlURL matches the address the standalone fake reports: its machine-readable
// ready line, or the control_url of its start-up log line.
var controlURL = regexp.MustCompile(`(?:listening control=|control_url=)(http://[^\s"]+)`)

// startStandalone runs the built agentjail-testserver on free ports with an API key
// and returns its control plane URL.
func startStandalone(t *testing.T, bin, key string) string {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "CTL_ADDR=127.0.0.1:0", "PROXY_ADDR=127.0.0.1:0",
		"AGENTJAIL_API_KEY=" + key, "AGENTJAIL_STATE_DIR=" + t.TempDir()}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	found := make(chan string, 1)
	go func() {
		defer close(exited)
		defer cmd.Wait()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := controlURL.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		close(found)
	}()
	select {
	case url, ok := <-found:
		if !ok {
			t.Fatal("agentjail-testserver exited without reporting its address")
		}
		return url
	case <-time.After(60 * time.Second):
		t.Fatal("agentjail-testserver did not report its address")
		return ""
	}
}

// TestBinary runs the built CLI against the built standalone fake, as a CI job would.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	if runtime.GOOS == "windows" {
		t.Skip("interrupts a process with SIGINT and SIGTERM")
	}
	t.Parallel()
	cli := goBuild(t, ".", "agentjail")
	url := startStandalone(t, goBuild(t, "../agentjail-testserver", "agentjail-testserver"), "s3cret@dev:admin")
	env := []string{"PATH=" + os.Getenv("PATH"), "AGENTJAIL_URL=" + url, "AGENTJAIL_API_KEY=s3cret"}
	script := writeScript(t, "check.sh", "echo '  checking'\necho '  warning' >&2\nexit 3\n")

	tests := []struct {
		name           string
		env            []string
		args           []string
		code           int
		stdout, stderr string
		prefix         bool // stdout and stderr are only how the output starts
	}{
		{"run fails the job with the script's code", env, []string{"run", script}, 3, "  checking\n", "  warning\n", false},
		{"whoami", env, []string{"whoami"}, 0, "tenant   dev\nrole     admin\n", "", false},
		{"-url instead of the environment", []string{"AGENTJAIL_API_KEY=s3cret"}, []string{"-url", url, "health"}, 0, "ok\n", "", false},
		{"wrong key", []string{"AGENTJAIL_URL=" + url, "AGENTJAIL_API_KEY=wrong-token"}, []string{"jail", "ls"}, 1, "",
			"agentjail: 401: invalid api key; is AGENTJAIL_API_KEY set to the token part of token@tenant:role?\n", false},
		{"-json is one line when piped", env, []string{"whoami", "-json"}, 0, "{\"tenant\":\"dev\",\"role\":\"admin\"}\n", "", false},
		{"no URL", []string{"AGENTJAIL_API_KEY=s3cret"}, []string{"health"}, 2, "",
			"agentjail: no control plane URL: set AGENTJAIL_URL or pass -url\n\nUsage: agentjail [-url URL] COMMAND [flags] [args]\n", true},
		// Without Stdin the process reads the null device, a device that is not a terminal.
		{"credential put from the null device", env, []string{"credential", "put", "openai"}, 1, "", "agentjail: no secret on standard input\n", false},
		{"usage", env, []string{"run"}, 2, "", "agentjail: missing arguments\n\nUsage: agentjail run [flags] FILE|-\n", true},
		{"help", nil, []string{"help", "run"}, 0, "Usage: agentjail run [flags] FILE|-\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(cli, tt.args...)
			cmd.Env = tt.env
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			code := 0
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			got := result{code, stdout.String(), stderr.String()}
			if tt.prefix {
				got.stdout = got.stdout[:min(len(got.stdout), len(tt.stdout))]
				got.stderr = got.stderr[:min(len(got.stderr), len(tt.stderr))]
			}
			got.check(t, tt.code, tt.stdout, tt.stderr)
		})
	}

	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(cli, "run", "-lang", "bash", "-")
			cmd.Env = env
			cmd.Stdin = strings.NewReader("echo ready\nexec sleep 600\n")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(out).ReadString('\n')
			if line != "ready\n" {
				cmd.Process.Kill()
				t.Fatalf("first line %q (%v)", line, err)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, out)
			var exit *exec.ExitError
			if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 130 {
				t.Errorf("after %v: %v, want exit status 130", sig, err)
			}
		})
	}
	client, err := agentjail.NewClient(url, agentjail.WithAPIKey("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	waitNoRunningJail(t, client, 2)
}
