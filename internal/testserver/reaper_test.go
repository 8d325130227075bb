//go:build unix

package testserver

import (
	"cmp"
	"context"
	"os"
	"testing"
	"time"
)

// getWS fetches workspace id through the API.
func getWS(t *testing.T, srv *Server, id string) workspace {
	t.Helper()
	var ws workspace
	apiCall(t, srv, "", "GET", "/v1/workspaces/"+id, nil).wantJSON(t, 200, &ws)
	return ws
}

// autoSnapshots lists the snapshots named auto:<id>.
func autoSnapshots(t *testing.T, srv *Server, id string) []snapshotRecord {
	t.Helper()
	var page struct {
		Rows []snapshotRecord `json:"rows"`
	}
	apiCall(t, srv, "", "GET", "/v1/snapshots?workspace_id="+id, nil).wantJSON(t, 200, &page)
	var out []snapshotRecord
	for _, r := range page.Rows {
		if strOrEmpty(r.Name) == "auto:"+id {
			out = append(out, r)
		}
	}
	return out
}

func TestIdleReaperPausesAndExecResumes(t *testing.T) {
	t.Parallel()
	for _, pool := range []bool{false, true} {
		name := "classic"
		if pool {
			name = "pool"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := []Option{WithIdleCheckInterval(0)} // passes are run by hand
			if pool {
				opts = append(opts, WithSnapshotPoolDir(t.TempDir()))
			}
			srv := Start(t, opts...)
			ws := createWS(t, srv, "", map[string]any{"idle_timeout_secs": 60})
			wsExec(t, srv, "", ws.ID, "/bin/sh", "-c", "mkdir -p sub && echo kept > sub/f.txt && echo top > a.txt")
			never := createWS(t, srv, "", map[string]any{})
			later := createWS(t, srv, "", map[string]any{"idle_timeout_secs": 60})
			wsExec(t, srv, "", later.ID, "/bin/true")
			laterAt := *getWS(t, srv, later.ID).LastExecAt

			// Exactly one timeout after later's last exec start: only strictly older activity counts.
			if n, ok := srv.exec.reapIdle(laterAt.Add(60 * time.Second)); n != 1 || !ok {
				t.Fatalf("pass paused %d, want 1 (ok %v)", n, ok)
			}
			if got := getWS(t, srv, later.ID); got.PausedAt != nil {
				t.Fatalf("workspace idle for exactly its timeout was paused: %+v", got)
			}
			paused := getWS(t, srv, ws.ID)
			snaps := autoSnapshots(t, srv, ws.ID)
			if paused.PausedAt == nil || paused.AutoSnapshot == nil || len(snaps) != 1 || snaps[0].ID != *paused.AutoSnapshot || snaps[0].SizeBytes != 9 || snaps[0].TenantID != "dev" {
				t.Fatalf("paused workspace %+v, auto snapshots %+v", paused, snaps)
			}
			if entries, err := os.ReadDir(ws.SourceDir); err != nil || len(entries) != 0 {
				t.Fatalf("source_dir after pause: %v %v", entries, err)
			}
			// Paused workspaces and those without a timeout are skipped by later passes.
			if n, _ := srv.exec.reapIdle(now().Add(time.Hour)); n != 1 || getWS(t, srv, never.ID).PausedAt != nil {
				t.Fatalf("later pass paused %d, want only the other workspace", n)
			}

			// The next exec restores the files; the pause marks go, the auto snapshot stays.
			if out := wsExec(t, srv, "", ws.ID, "/bin/cat", "sub/f.txt", "a.txt"); out.Stdout != "kept\ntop\n" {
				t.Fatalf("exec after resume: %+v", out)
			}
			if got := getWS(t, srv, ws.ID); got.PausedAt != nil || got.AutoSnapshot != nil || len(autoSnapshots(t, srv, ws.ID)) != 1 {
				t.Fatalf("resumed workspace %+v", got)
			}

			// With its auto snapshot gone, a workspace runs on its empty directory and stays
			// paused, and the reaper never pauses it again.
			lost := getWS(t, srv, later.ID)
			apiCall(t, srv, "", "DELETE", "/v1/snapshots/"+*lost.AutoSnapshot, nil).wantEmpty(t, 204)
			if out := wsExec(t, srv, "", later.ID, "/bin/sh", "-c", "ls -A | wc -l"); out.Stdout != "0\n" {
				t.Fatalf("exec with a lost snapshot: %+v", out)
			}
			srv.exec.reapIdle(now().Add(10 * time.Hour))
			if got := getWS(t, srv, later.ID); got.PausedAt == nil || len(autoSnapshots(t, srv, later.ID)) != 0 {
				t.Fatalf("workspace with a lost snapshot %+v", got)
			}
		})
	}
}

func TestIdleCutoffOverflow(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		name   string
		secs   uint64
		unit   time.Duration
		want   time.Time
		wantOK bool
	}{
		{name: "shorter unit", secs: 3, unit: time.Millisecond, want: at.Add(-3 * time.Millisecond), wantOK: true},
		{name: "shorter unit overflowing a duration stops the reaper", secs: 1 << 62, unit: time.Millisecond, wantOK: false},
		{name: "one minute", secs: 60, want: at.Add(-time.Minute), wantOK: true},
		{name: "u64 max wraps to -1: one second ahead", secs: 1<<64 - 1, want: at.Add(time.Second), wantOK: true},
		{name: "past year -9999 stops the reaper", secs: 4e11, wantOK: false},
		{name: "wrapped far into the future stops the reaper", secs: 1 << 63, wantOK: false},
	}
	for _, tt := range tests {
		unit := cmp.Or(tt.unit, time.Second)
		got, ok := idleCutoff(at, tt.secs, unit)
		if ok != tt.wantOK || (ok && !got.Equal(tt.want)) {
			t.Errorf("%s: idleCutoff = %v %v, want %v %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

// The reaper runs on its own: with a short interval a workspace pauses without any call.
func TestIdleReaperRunsInTheBackground(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithIdleCheckInterval(5*time.Millisecond))
	srv.exec.setIdleTimeoutUnit(time.Millisecond)
	var cfg struct {
		Persistence struct {
			IdleCheckSecs uint64 `json:"idle_check_secs"`
		} `json:"persistence"`
	}
	apiCall(t, srv, "", "GET", "/v1/config", nil).wantJSON(t, 200, &cfg)
	if cfg.Persistence.IdleCheckSecs != 1 {
		t.Fatalf("idle_check_secs = %d, want 1 (5 ms rounded up)", cfg.Persistence.IdleCheckSecs)
	}
	ws := createWS(t, srv, "", map[string]any{"idle_timeout_secs": 20})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		next := srv.bg.ran()
		if getWS(t, srv, ws.ID).PausedAt != nil {
			break
		}
		select {
		case <-next:
		case <-ctx.Done():
			t.Fatal("workspace never paused")
		}
	}
	if snaps := autoSnapshots(t, srv, ws.ID); len(snaps) != 1 {
		t.Fatalf("auto snapshots %+v", snaps)
	}
}
