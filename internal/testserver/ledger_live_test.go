//go:build unix

package testserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"
)

// A running jail's ledger row shows its output so far and a stats sample while it runs; the
// end fields stay null until it completes. Streams and fork parents get stats only.
func TestLiveLedgerRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		start      func(t *testing.T, srv *Server, code string)
		withOutput bool
	}{
		{name: "run", withOutput: true, start: func(t *testing.T, srv *Server, code string) {
			asyncCall(srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": code})
		}},
		{name: "workspace exec", withOutput: true, start: func(t *testing.T, srv *Server, code string) {
			ws := createWS(t, srv, "", map[string]any{})
			asyncCall(srv, "", "POST", "/v1/workspaces/"+ws.ID+"/exec", map[string]any{"cmd": "/bin/sh", "args": []string{"-c", code}})
		}},
		{name: "stream", withOutput: false, start: func(t *testing.T, srv *Server, code string) {
			body, _ := json.Marshal(map[string]any{"language": "sh", "code": code})
			resp := openStream(t, context.Background(), srv, string(body))
			go io.Copy(io.Discard, resp.Body)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t)
			srv.exec.setStreamTimings(time.Hour, 5*time.Millisecond)
			gate := newFifoGate(t, srv)
			tt.start(t, srv, "echo early; echo warn >&2; "+gate.script())
			gate.waitUp(t, nil)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rec, err := srv.exec.jails.awaitRow(ctx, 0, func(r jailRecord) bool {
				if r.PidsCurrent == nil {
					return false
				}
				return !tt.withOutput || (r.Stdout != nil && *r.Stdout == "early\n" && r.Stderr != nil && *r.Stderr == "warn\n")
			})
			if err != nil {
				t.Fatalf("row never showed the running process: %v", err)
			}
			if rec.Status != jailStatusRunning || rec.EndedAt != nil || rec.ExitCode != nil || rec.DurationMs != nil || rec.TimedOut != nil || rec.MemoryPeakBytes == nil {
				t.Fatalf("running row %+v", rec)
			}
			if !tt.withOutput && (rec.Stdout != nil || rec.Stderr != nil) {
				t.Fatalf("row without live output has %v %v", rec.Stdout, rec.Stderr)
			}
			gate.release(t)
			rec = awaitJailEnded(t, srv, 0)
			want := "early\nreleased\n"
			if !tt.withOutput {
				want = ""
			}
			if rec.Status != jailStatusCompleted || rec.Stdout == nil || *rec.Stdout != want {
				t.Fatalf("completed row %+v (stdout %q)", rec, strOrEmpty(rec.Stdout))
			}
		})
	}
}

// TestAwaitRowEnds: waiting on a row that was evicted fails at once, and a wait on a row that
// never satisfies the condition ends with its context.
func TestAwaitRowEnds(t *testing.T) {
	t.Parallel()
	st := &jailStore{cap: 1}
	first := st.open(newJail{tenant: "dev", kind: "run"})
	second := st.open(newJail{tenant: "dev", kind: "run"}) // evicts the first
	if _, err := st.awaitEnded(context.Background(), first); err == nil || err.Error() != "jail row no longer retained" {
		t.Errorf("evicted row: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.awaitEnded(ctx, second); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}
