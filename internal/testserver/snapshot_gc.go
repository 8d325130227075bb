package testserver

// Snapshot garbage collection, as the real server's AGENTJAIL_SNAPSHOT_MAX_AGE_SECS,
// AGENTJAIL_SNAPSHOT_MAX_COUNT and AGENTJAIL_SNAPSHOT_GC_TICK_SECS set it up: when an age or a
// count limit is set, every tick looks at the 500 newest snapshots of all tenants and evicts
// those older than the age limit plus, when there are more than the count limit, the oldest
// surplus. Named, auto: and fork-origin: snapshots count alike; evicting an auto: snapshot
// strands its paused workspace, as in the real server. Pool blobs stay.

import (
	"os"
	"time"
)

const (
	// gcWindow is how many of the newest snapshots one pass considers.
	gcWindow = 500
	// defaultGCTick is the pass interval when none is configured.
	defaultGCTick = 60 * time.Second
)

// snapshotGC is the collection policy. A nil limit is unset.
type snapshotGC struct {
	maxAge   *time.Duration
	maxCount *int
	tick     time.Duration // as configured; a pass runs every max(tick, 1 s)
}

func (g snapshotGC) enabled() bool { return g.maxAge != nil || g.maxCount != nil }

// interval is how often passes run. A zero tick means one second, as in the real sweeper; a
// shorter positive tick (only an embedding test can ask for one) is used as given.
func (g snapshotGC) interval() time.Duration {
	if g.tick <= 0 {
		return time.Second
	}
	return g.tick
}

// settings is the /v1/config snapshots.gc object, reported even when collection is off.
func (g snapshotGC) settings() *gcSettings {
	out := &gcSettings{TickSecs: ceilSecs(g.tick)}
	if g.maxAge != nil {
		v := ceilSecs(*g.maxAge)
		out.MaxAgeSecs = &v
	}
	if g.maxCount != nil {
		v := uint64(*g.maxCount)
		out.MaxCount = &v
	}
	return out
}

// ceilSecs is d in whole seconds, rounded up, and 0 for negative d.
func ceilSecs(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64((d + time.Second - 1) / time.Second)
}

// collectSnapshots runs one pass of policy g at instant now and returns how many snapshots it
// evicted.
func (e *execEngine) collectSnapshots(g snapshotGC, now time.Time) int {
	st := e.snaps
	rows := st.matching(func(snapshotRecord) bool { return true })
	sortNewestFirst(rows, func(r snapshotRecord) time.Time { return r.CreatedAt })
	if len(rows) > gcWindow {
		rows = rows[:gcWindow]
	}
	evict := map[string]snapshotRecord{}
	if g.maxAge != nil {
		cutoff := now.Add(-*g.maxAge)
		for _, r := range rows {
			if r.CreatedAt.Before(cutoff) {
				evict[r.ID] = r
			}
		}
	}
	if g.maxCount != nil && len(rows) > *g.maxCount {
		for _, r := range rows[*g.maxCount:] {
			evict[r.ID] = r
		}
	}
	for _, r := range evict {
		if err := os.RemoveAll(r.Path); err != nil {
			e.s.log.Warn("snapshot gc: remove directory", "snapshot", r.ID, "err", err)
		}
		st.remove(r.ID)
	}
	if len(evict) > 0 {
		e.s.log.Info("snapshot gc sweep", "deleted", len(evict))
	}
	return len(evict)
}
