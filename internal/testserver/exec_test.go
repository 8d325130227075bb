//go:build unix

package testserver

import (
	"net/http"
	"os"
	"testing"
)

// TestConcurrencyLimit: every route that runs code shares one limit of concurrent executions;
// over it each is refused with 400, and stats count the running one.
func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithMaxConcurrent(1))
	ws := createWS(t, srv, "", map[string]any{})
	gate := newFifoGate(t, srv)
	done := asyncCall(srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": gate.script()})
	gate.waitUp(t, done)
	const msg = "bad request: too many concurrent executions"
	apiCall(t, srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": "true"}).wantError(t, 400, msg)
	apiCall(t, srv, "", "POST", "/v1/runs/stream", map[string]any{"language": "sh", "code": "true"}).wantError(t, 400, msg)
	apiCall(t, srv, "", "POST", "/v1/runs/fork", map[string]any{"language": "sh", "parent_code": "true", "child_code": "true"}).wantError(t, 400, msg)
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/exec", map[string]any{"cmd": "true"}).wantError(t, 400, msg)
	if st := statsOf(t, srv); st.ActiveExecs != 1 {
		t.Errorf("active_execs = %d, want 1", st.ActiveExecs)
	}
	gate.release(t)
	var out execResponse
	await(t, done).wantJSON(t, http.StatusCreated, &out)
	if out.Stdout != "released\n" {
		t.Fatalf("held run = %+v", out)
	}
	apiCall(t, srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": "true"}).wantJSON(t, 201, nil)
}

// Close kills what is still running; the in-flight request still gets its answer.
func TestCloseKillsRunningExecs(t *testing.T) {
	t.Parallel()
	srv := Start(t) // closed early below; Start's cleanup closes it again, which is a no-op
	gate := newFifoGate(t, srv)
	done := asyncCall(srv, "", "POST", "/v1/runs", map[string]any{"language": "sh", "code": gate.script()})
	gate.waitUp(t, done)
	state := srv.StateDir()
	if err := srv.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	var out execResponse
	await(t, done).wantJSON(t, http.StatusCreated, &out)
	if out.ExitCode != 137 || out.TimedOut {
		t.Fatalf("killed run = %+v", out)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("state dir left behind: %v", err)
	}
}
