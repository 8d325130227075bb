package main

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

func TestJailList(t *testing.T) {
	t.Parallel()
	srv, client := newServer(t)
	ctx := context.Background()
	url := srv.URL()
	if _, err := client.Runs.Create(ctx, agentjail.RunParams{Code: "echo out; exit 2", Language: agentjail.LanguageBash}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Runs.Create(ctx, agentjail.RunParams{Code: "exec sleep 60", Language: agentjail.LanguageBash, Timeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	runCLI(t, url, "echo streamed", "run", "-lang", "bash", "-").check(t, 0, "streamed\n", "")
	list, err := client.Jails.List(ctx, agentjail.JailListParams{})
	if err != nil || len(list.Rows) != 3 {
		t.Fatalf("ledger: %+v, %v", list, err)
	}
	header := []string{"ID", "KIND", "STATUS", "EXIT", "DURATION", "STARTED", "LABEL"}
	rowOf := func(j agentjail.Jail) []string {
		exit := strconv.Itoa(*j.ExitCode)
		if *j.TimedOut {
			exit += " (timed out)"
		}
		return []string{strconv.FormatInt(j.ID, 10), string(j.Kind), string(j.Status), exit,
			(time.Duration(*j.DurationMS) * time.Millisecond).String(), rfc(j.StartedAt), j.Label}
	}
	stream, timedOut, failed := rowOf(list.Rows[0]), rowOf(list.Rows[1]), rowOf(list.Rows[2])
	if timedOut[3] != "137 (timed out)" || failed[3] != "2" || stream[1] != "stream" {
		t.Fatalf("unexpected ledger rows %v %v %v", stream, timedOut, failed)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"all", []string{"jail", "list"}, aligned(header, stream, timedOut, failed)},
		{"alias and limit", []string{"jail", "ls", "-limit", "2"}, aligned(header, stream, timedOut)},
		{"kind", []string{"jail", "list", "-kind", "run"}, aligned(header, timedOut, failed)},
		{"status", []string{"jail", "list", "-status", "running"}, aligned(header)},
		{"query", []string{"jail", "list", "-q", "nothing matches this"}, aligned(header)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runCLI(t, url, "", tt.args...).check(t, 0, tt.want, "")
		})
	}

	r := runCLI(t, url, "", "jail", "list", "-json", "-limit", "0")
	var rows []agentjail.Jail
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 3 || rows[2].ID != list.Rows[2].ID {
		t.Errorf("jail list -json: exit %d, %q (%v)", r.code, r.stdout, err)
	}
}

func TestJailGet(t *testing.T) {
	t.Parallel()
	srv, client := newServer(t)
	ctx := context.Background()
	url := srv.URL()
	if _, err := client.Runs.Create(ctx, agentjail.RunParams{Code: "echo '  out'; exit 2", Language: agentjail.LanguageBash}); err != nil {
		t.Fatal(err)
	}
	j, err := client.Jails.Get(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, url, "", "jail", "get", "0")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("jail get: exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	got := map[string]string{}
	col := -1
	for _, line := range lines {
		key, _, _ := strings.Cut(line, " ")
		value := strings.TrimLeft(line[len(key):], " ")
		if c := len(line) - len(value); col == -1 {
			col = c
		} else if c != col {
			t.Errorf("line %q: the value does not start in column %d", line, col)
		}
		got[key] = value
	}
	want := map[string]string{
		"id": "0", "tenant_id": "dev", "kind": "run", "status": "completed", "exit_code": "2", "timed_out": "false",
		"session_id": "-", "parent_id": "-", "label": "bash", "stdout": `"  out\n"`, "stderr": "-",
		"started_at": rfc(j.StartedAt), "config.timeout_secs": "300", "config.network_mode": "none",
		"error": "-",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("jail get: %s is %q, want %q", k, got[k], v)
		}
	}
	if peak := got["memory_peak_bytes"]; !strings.HasSuffix(peak, "iB") && !strings.HasSuffix(peak, " B") {
		t.Errorf("memory_peak_bytes %q is not a human-readable size", peak)
	}

	r = runCLI(t, url, "", "jail", "get", "-json", "0")
	var back agentjail.Jail
	if err := json.Unmarshal([]byte(r.stdout), &back); err != nil || back.ID != 0 || back.Stdout == nil || *back.Stdout != "  out\n" {
		t.Errorf("jail get -json: exit %d, %q (%v)", r.code, r.stdout, err)
	}
	runCLI(t, url, "", "jail", "get", "99").check(t, 1, "", "agentjail: 404: not found: jail 99\n")
}

func TestDurationText(t *testing.T) {
	t.Parallel()
	for ms, want := range map[int64]string{0: "0s", 1500: "1.5s", 3_600_000: "1h0m0s", math.MaxInt64: "9223372036854775807ms"} {
		if got := durationText(ms); got != want {
			t.Errorf("durationText(%d) = %q, want %q", ms, got, want)
		}
	}
}
