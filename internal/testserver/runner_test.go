//go:build unix

package testserver

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func testRunner(t *testing.T, max int) *runner {
	t.Helper()
	r := newRunner(max, nil)
	t.Cleanup(r.close)
	return r
}

func runSpec(t *testing.T, r *runner, spec procSpec) procResult {
	t.Helper()
	if spec.dir == "" {
		spec.dir = t.TempDir()
	}
	if spec.env == nil {
		spec.env = []string{"PATH=" + jailPath}
	}
	p, err := r.start(spec)
	if err != nil {
		t.Fatalf("start %v: %v", spec.argv, err)
	}
	return p.wait()
}

func TestRunnerWorkingDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "marker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	res := runSpec(t, testRunner(t, 1), procSpec{argv: []string{"/bin/sh", "-c", "pwd -P; ls"}, dir: dir})
	if res.stdout != want+"\nmarker\n" || res.exitCode != 0 {
		t.Fatalf("got %q (exit %d), want the directory %s holding only marker", res.stdout, res.exitCode, want)
	}
}

func TestRunnerResults(t *testing.T) {
	t.Parallel()
	r := testRunner(t, 16)
	tests := []struct {
		name       string
		argv       []string
		env        []string
		wantOut    string
		wantErr    string
		wantCode   int
		wantTimed  bool
		timeout    time.Duration
		maxElapsed time.Duration
	}{
		{name: "stdout and exit 0", argv: []string{"/bin/sh", "-c", "echo hi"}, wantOut: "hi\n"},
		{name: "stderr and exit code", argv: []string{"/bin/sh", "-c", "echo oops >&2; exit 3"}, wantErr: "oops\n", wantCode: 3},
		{name: "killed by signal is 128+sig", argv: []string{"/bin/sh", "-c", "kill -TERM $$"}, wantCode: 143},
		{name: "env is exactly what was given", argv: []string{"/bin/sh", "-c", `echo "$FOO:$HOME"`}, env: []string{"PATH=" + jailPath, "FOO=bar"}, wantOut: "bar:\n"},
		{
			name: "timeout kills a group whose grandchild holds the pipes",
			argv: []string{"/bin/sh", "-c", "sleep 120 & sleep 120"}, timeout: 300 * time.Millisecond,
			wantCode: 137, wantTimed: true, maxElapsed: time.Minute,
		},
		{
			name: "background child does not hold a finished command",
			argv: []string{"/bin/sh", "-c", "sleep 120 & echo done"}, timeout: 5 * time.Minute,
			wantOut: "done\n", maxElapsed: time.Minute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			began := time.Now()
			res := runSpec(t, r, procSpec{argv: tt.argv, env: tt.env, timeout: tt.timeout})
			if res.stdout != tt.wantOut || res.stderr != tt.wantErr {
				t.Errorf("output = %q / %q, want %q / %q", res.stdout, res.stderr, tt.wantOut, tt.wantErr)
			}
			if res.exitCode != tt.wantCode || res.timedOut != tt.wantTimed {
				t.Errorf("exit %d timed_out %v, want %d %v", res.exitCode, res.timedOut, tt.wantCode, tt.wantTimed)
			}
			if res.durationMs() == 0 {
				t.Error("duration_ms is 0")
			}
			if res.stats == nil || res.stats.MemoryPeakBytes == 0 {
				t.Errorf("stats = %+v, want rusage figures", res.stats)
			}
			if tt.maxElapsed > 0 && time.Since(began) > tt.maxElapsed {
				t.Errorf("took %v, want under %v", time.Since(began), tt.maxElapsed)
			}
		})
	}
}

// A program that cannot be executed is a result, as in a jail: exit 127 and the engine's message.
// There is no PATH lookup: a bare name is looked up in the working directory.
func TestRunnerExecFailure(t *testing.T) {
	t.Parallel()
	r := testRunner(t, 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plain"), []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, cmd, wantErr string
	}{
		{"missing", "/definitely/not/a-command-xyz", "No such file or directory (os error 2)"},
		{"bare name is not looked up in PATH", "sh", "No such file or directory (os error 2)"},
		{"not executable", "plain", "Permission denied (os error 13)"},
	}
	for _, tt := range tests {
		res := runSpec(t, r, procSpec{argv: []string{tt.cmd}, dir: dir})
		if want := "exec failed: failed to execute command: " + tt.wantErr + "\n"; res.exitCode != 127 || res.stderr != want {
			t.Errorf("%s: exit %d stderr %q, want 127 %q", tt.name, res.exitCode, res.stderr, want)
		}
	}
}

// recordSink keeps the lines of one stream and notes whether each was followed by idle.
type recordSink struct {
	lines     []string
	idleAfter bool // idle was called after the last line
}

func (s *recordSink) line(b []byte) { s.lines, s.idleAfter = append(s.lines, string(b)), false }
func (s *recordSink) idle()         { s.idleAfter = true }

func TestRunnerLineMode(t *testing.T) {
	t.Parallel()
	r := testRunner(t, 1)
	var mu sync.Mutex
	sinks := map[string]*recordSink{}
	res := runSpec(t, r, procSpec{
		argv: []string{"/bin/sh", "-c", `printf 'one\n\n  two\nbar\rcr\n\377\n'; printf 'err\n' >&2`},
		lines: func(stream string) lineSink {
			mu.Lock()
			defer mu.Unlock()
			sinks[stream] = &recordSink{}
			return sinks[stream]
		},
	})
	if res.exitCode != 0 {
		t.Fatalf("exit %d", res.exitCode)
	}
	out, errs := sinks["stdout"], sinks["stderr"]
	if got := strings.Join(out.lines, "|"); got != "one||  two|bar\rcr|\xff" || !out.idleAfter {
		t.Errorf("stdout lines = %q, idle after the last %v", out.lines, out.idleAfter)
	}
	if got := strings.Join(errs.lines, "|"); got != "err" || !errs.idleAfter {
		t.Errorf("stderr lines = %q, idle after the last %v", errs.lines, errs.idleAfter)
	}
	// The capture holds the lines as delivered, decoded as lossy UTF-8.
	if res.stdout != "one\n\n  two\nbar\rcr\n\uFFFD\n" || res.stderr != "err\n" {
		t.Errorf("captured stdout %q stderr %q", res.stdout, res.stderr)
	}
}

func TestRunnerConcurrencyLimit(t *testing.T) {
	t.Parallel()
	r := newRunner(2, nil)
	p1, ok1 := r.tryAcquire()
	p2, ok2 := r.tryAcquire()
	_, ok3 := r.tryAcquire()
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("acquire = %v %v %v, want true true false", ok1, ok2, ok3)
	}
	if a, tot := r.counts(); a != 2 || tot != 2 {
		t.Fatalf("counts = %d %d, want 2 2", a, tot)
	}
	p1.release()
	p1.release() // idempotent
	if _, ok := r.tryAcquire(); !ok {
		t.Fatal("acquire after release failed")
	}
	p2.release()
	if a, tot := r.counts(); a != 1 || tot != 3 {
		t.Fatalf("counts = %d %d, want 1 3", a, tot)
	}
}

func TestRunnerFreezeThawAndClose(t *testing.T) {
	t.Parallel()
	r := newRunner(1, nil)
	dir := t.TempDir()
	p, err := r.start(procSpec{argv: []string{"/bin/sleep", "30"}, dir: dir, env: []string{"PATH=" + jailPath}})
	if err != nil {
		t.Fatal(err)
	}
	if !p.freeze() {
		t.Fatal("freeze of a running process reported not running")
	}
	p.thaw()
	done := make(chan procResult, 1)
	go func() { done <- p.wait() }()
	r.close() // kills and waits
	res := <-done
	if res.exitCode != 137 || res.timedOut {
		t.Fatalf("after close: exit %d timed_out %v, want 137 false", res.exitCode, res.timedOut)
	}
	if p.freeze() {
		t.Fatal("freeze of a reaped process reported running")
	}
	if _, err := r.start(procSpec{argv: []string{"/bin/true"}, dir: dir, env: []string{"PATH=" + jailPath}}); err == nil {
		t.Fatal("start after close succeeded")
	}
}

// TestTvUsec: CPU time is whole microseconds; a negative time (never reported by a sane kernel)
// counts as zero.
func TestTvUsec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tv   syscall.Timeval
		want uint64
	}{
		{syscall.Timeval{Sec: 2, Usec: 5}, 2000005},
		{syscall.Timeval{}, 0},
		{syscall.Timeval{Sec: -1}, 0},
	}
	for _, tt := range tests {
		if got := tvUsec(tt.tv); got != tt.want {
			t.Errorf("tvUsec(%+v) = %d, want %d", tt.tv, got, tt.want)
		}
	}
}
