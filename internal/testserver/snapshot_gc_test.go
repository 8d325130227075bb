//go:build unix

package testserver

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// snapshotIDs lists every snapshot id, newest first.
func snapshotIDs(t *testing.T, srv *Server) []string {
	t.Helper()
	var page struct {
		Rows []snapshotRecord `json:"rows"`
	}
	apiCall(t, srv, "", "GET", "/v1/snapshots?limit=500", nil).wantJSON(t, 200, &page)
	var ids []string
	for _, r := range page.Rows {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestSnapshotGCEvictsByAgeAndCount(t *testing.T) {
	t.Parallel()
	dur := func(d time.Duration) *time.Duration { return &d }
	count := func(n int) *int { return &n }
	tests := []struct {
		name   string
		policy snapshotGC
		cutAt  int   // the pass runs max age after the creation of snapshot cutAt
		want   []int // indexes of the snapshots left, newest first
	}{
		{name: "no limits", policy: snapshotGC{}, want: []int{4, 3, 2, 1, 0}},
		{name: "age: strictly older than the cutoff", policy: snapshotGC{maxAge: dur(time.Hour)}, cutAt: 2, want: []int{4, 3, 2}},
		{name: "count keeps the newest", policy: snapshotGC{maxCount: count(2)}, want: []int{4, 3}},
		{name: "count above the total keeps all", policy: snapshotGC{maxCount: count(5)}, want: []int{4, 3, 2, 1, 0}},
		{name: "count 0 evicts everything", policy: snapshotGC{maxCount: count(0)}, want: nil},
		{name: "age and count together", policy: snapshotGC{maxAge: dur(time.Hour), maxCount: count(4)}, cutAt: 1, want: []int{4, 3, 2, 1}},
		{name: "the union of both is evicted", policy: snapshotGC{maxAge: dur(time.Hour), maxCount: count(4)}, cutAt: 3, want: []int{4, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool := t.TempDir()
			srv := Start(t, WithSnapshotPoolDir(pool))
			ws := createWS(t, srv, "", map[string]any{})
			wsExec(t, srv, "", ws.ID, "/bin/sh", "-c", "echo data > f.txt")
			// Named, fork-origin and auto snapshots all count.
			var snaps []snapshotRecord
			for i := 0; i < 5; i++ {
				name := "auto:" + ws.ID
				if i%2 == 0 {
					name = "manual"
				}
				rec, err := srv.exec.captureSnapshot(getWS(t, srv, ws.ID), &name)
				if err != nil {
					t.Fatal(err)
				}
				snaps = append(snaps, rec)
			}
			at := now()
			if tt.policy.maxAge != nil {
				at = snaps[tt.cutAt].CreatedAt.Add(*tt.policy.maxAge)
			}
			evicted := srv.exec.collectSnapshots(tt.policy, at)
			var want []string
			for _, i := range tt.want {
				want = append(want, snaps[i].ID)
			}
			got := snapshotIDs(t, srv)
			if evicted != 5-len(want) || len(got) != len(want) {
				t.Fatalf("evicted %d, left %v, want %v", evicted, got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("left %v, want %v", got, want)
				}
			}
			for _, s := range snaps {
				_, err := os.Stat(s.Path)
				if kept := slices.Contains(want, s.ID); kept != (err == nil) {
					t.Fatalf("snapshot %s kept %v, directory stat %v", s.ID, kept, err)
				}
			}
			if blobs, _ := filepath.Glob(filepath.Join(pool, "*", "*")); len(blobs) == 0 {
				t.Fatal("pool blobs were removed")
			}
		})
	}
}

// Only the 500 newest snapshots are looked at, so a count limit evicts among those only.
func TestSnapshotGCWindow(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	base := now()
	gone := filepath.Join(t.TempDir(), "gone")
	st := srv.exec.snaps
	st.mu.Lock()
	for i := 0; i < gcWindow+3; i++ {
		st.rows = append(st.rows, snapshotRecord{ID: newID("snap_"), TenantID: "dev", CreatedAt: base.Add(time.Duration(i) * time.Second), Path: gone})
	}
	oldest := st.rows[0].ID
	st.mu.Unlock()
	limit := gcWindow - 1
	if n := srv.exec.collectSnapshots(snapshotGC{maxCount: &limit}, base); n != 1 {
		t.Fatalf("evicted %d, want 1", n)
	}
	if _, ok := st.get(oldest, devScope); !ok {
		t.Fatal("a snapshot outside the 500 newest was evicted")
	}
}

func TestSnapshotGCRunsInTheBackground(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithSnapshotMaxCount(1), WithSnapshotMaxAge(90*time.Second), WithSnapshotGCTick(5*time.Millisecond))
	var cfg struct {
		Snapshots struct {
			GC json.RawMessage `json:"gc"`
		} `json:"snapshots"`
	}
	apiCall(t, srv, "", "GET", "/v1/config", nil).wantJSON(t, 200, &cfg)
	if got := string(cfg.Snapshots.GC); got != `{"max_age_secs":90,"max_count":1,"tick_secs":1}` {
		t.Fatalf("snapshots.gc = %s", got)
	}
	ws := createWS(t, srv, "", map[string]any{})
	var newest snapshotRecord
	for i := 0; i < 3; i++ {
		apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/snapshot", map[string]any{}).wantJSON(t, 201, &newest)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		next := srv.bg.ran()
		if ids := snapshotIDs(t, srv); len(ids) == 1 {
			if ids[0] != newest.ID {
				t.Fatalf("kept %s, want the newest %s", ids[0], newest.ID)
			}
			return
		}
		select {
		case <-next:
		case <-ctx.Done():
			t.Fatalf("snapshots left: %v", snapshotIDs(t, srv))
		}
	}
}

// TestSnapshotGCTick: passes run every second unless a positive tick is given, and /v1/config
// reports durations in whole seconds rounded up.
func TestSnapshotGCTick(t *testing.T) {
	t.Parallel()
	intervals := []struct{ tick, want time.Duration }{
		{0, time.Second}, {-time.Second, time.Second}, {250 * time.Millisecond, 250 * time.Millisecond},
	}
	for _, tt := range intervals {
		if got := (snapshotGC{tick: tt.tick}).interval(); got != tt.want {
			t.Errorf("interval with tick %v = %v, want %v", tt.tick, got, tt.want)
		}
	}
	secs := []struct {
		d    time.Duration
		want uint64
	}{
		{-time.Second, 0}, {0, 0}, {time.Nanosecond, 1}, {1500 * time.Millisecond, 2}, {2 * time.Second, 2},
	}
	for _, tt := range secs {
		if got := ceilSecs(tt.d); got != tt.want {
			t.Errorf("ceilSecs(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}
