package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// running is one run() in the background.
type running struct {
	ctl, proxy string
	stdout     lockedBuffer
	logs       lockedBuffer
}

func (r *running) logText() string { return r.logs.String() }

// lockedBuffer is a strings.Builder safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// readyRe is the whole ready line.
var readyRe = regexp.MustCompile(`^agentjail-testserver: listening control=(http://[^ :]+:[1-9][0-9]*) proxy=(http://[^ :]+:[1-9][0-9]*)$`)

// startRun runs the command's main logic with env and waits for the ready line on its
// stdout. Cleanup cancels it, checks it shut down cleanly and that stdout held nothing
// but that one line.
func startRun(t *testing.T, env map[string]string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	rn := &running{}
	ready := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			rn.stdout.Write([]byte(sc.Text() + "\n"))
			select {
			case ready <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, pr)
	}()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, func(k string) string { return env[k] }, pw, &rn.logs)
		pw.Close()
	}()
	select {
	case line := <-ready:
		m := readyRe.FindStringSubmatch(line)
		if m == nil {
			cancel()
			t.Fatalf("stdout line %q is not the ready line", line)
		}
		rn.ctl, rn.proxy = m[1], m[2]
	case err := <-errc:
		cancel()
		t.Fatalf("run exited early: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run returned %v after cancel", err)
		}
		<-scanned
		if lines := strings.Count(rn.stdout.String(), "\n"); lines != 1 {
			t.Errorf("stdout has %d lines, want only the ready line:\n%s", lines, rn.stdout.String())
		}
	})
	return rn
}

// runRefused runs the command's main logic with env, expecting it to refuse to start,
// and returns its error. It fails t if anything reached stdout or the logs first. The
// context is already cancelled, so a run that wrongly starts returns at once instead of
// serving.
func runRefused(t *testing.T, env map[string]string) error {
	t.Helper()
	var stdout, logs strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, func(k string) string { return env[k] }, &stdout, &logs)
	if stdout.Len() != 0 || logs.Len() != 0 {
		t.Errorf("output before refusing: stdout %q, logs %q", stdout.String(), logs.String())
	}
	return err
}

type resp struct {
	status int
	body   string
}

func call(t *testing.T, method, url, auth, body string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(b)}
}

func decode(t *testing.T, r resp, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d body %q, want %d", r.status, r.body, status)
	}
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

type sessionJSON struct {
	ID       string            `json:"id"`
	Services []string          `json:"services"`
	Env      map[string]string `json:"env"`
}

type auditJSON struct {
	Rows  []map[string]any `json:"rows"`
	Total uint64           `json:"total"`
}
