package testserver

// The idle reaper: workspace auto-pause and auto-resume, as in the real server. Every check
// interval it looks at the 500 newest live workspaces of all tenants; one that is not paused,
// has a non-zero idle_timeout_secs and saw no exec start (nor its creation) for longer than that
// is paused: its source_dir is captured in an "auto:<workspace id>" snapshot, emptied, and the
// workspace gets paused_at and auto_snapshot. The next workspace exec restores the snapshot
// before it runs. Like the real reaper it ignores execs in flight, so one that outlives the idle
// timeout has its directory captured and emptied under it.

import (
	"os"
	"path/filepath"
	"time"
)

const (
	// defaultIdleCheck is the reaper interval when none is configured.
	defaultIdleCheck = 30 * time.Second
	// reaperWindow is how many of the newest workspaces one pass considers.
	reaperWindow = 500
	// Unix seconds of the first and last instants of years -9999 and 9999: the range of the real
	// server's date type. A cutoff outside it stops the real reaper for good.
	minCutoffUnix = -377705116800
	maxCutoffUnix = 253402300799
)

// idleCutoff is the instant before which a workspace's last activity makes it idle, for an
// idle_timeout_secs of secs counted in unit (a second, or shorter in tests). The value is cast
// to a signed number first, as the real server does, so values from 2^63 up wrap around and
// put the cutoff in the future. ok is false when the cutoff leaves the range of dates the real
// server can represent, where its reaper task crashes.
func idleCutoff(now time.Time, secs uint64, unit time.Duration) (cutoff time.Time, ok bool) {
	n := int64(secs)
	if unit != time.Second {
		d := time.Duration(n) * unit
		if d/unit != time.Duration(n) {
			return time.Time{}, false
		}
		return now.Add(-d), true
	}
	nowUnix := now.Unix()
	cut := nowUnix - n
	if (n > 0 && cut > nowUnix) || (n < 0 && cut < nowUnix) || cut < minCutoffUnix || cut > maxCutoffUnix {
		return time.Time{}, false
	}
	return time.Unix(cut, int64(now.Nanosecond())).UTC(), true
}

// reapIdle runs one reaper pass at instant now and returns how many workspaces it paused. It
// returns ok false, and the caller stops reaping, where the real reaper task would crash.
func (e *execEngine) reapIdle(now time.Time) (paused int, ok bool) {
	st := e.ws
	st.mu.Lock()
	var rows []workspace
	for i := len(st.rows) - 1; i >= 0; i-- {
		if ws := st.rows[i].ws; ws.DeletedAt == nil {
			rows = append(rows, ws)
		}
	}
	unit := e.idleUnit
	st.mu.Unlock()
	sortNewestFirst(rows, func(w workspace) time.Time { return w.CreatedAt })
	if len(rows) > reaperWindow {
		rows = rows[:reaperWindow]
	}
	for _, ws := range rows {
		if ws.PausedAt != nil || ws.Config.IdleTimeoutSecs == 0 {
			continue
		}
		last := ws.CreatedAt
		if ws.LastExecAt != nil {
			last = *ws.LastExecAt
		}
		cutoff, valid := idleCutoff(now, ws.Config.IdleTimeoutSecs, unit)
		if !valid {
			e.s.log.Error("idle-reaper: idle_timeout_secs out of range; reaper stopped", "workspace", ws.ID)
			return paused, false
		}
		if !last.Before(cutoff) {
			continue
		}
		if err := e.pauseWorkspace(ws); err != nil {
			e.s.log.Warn("idle-reaper: pause failed", "workspace", ws.ID, "err", err)
			continue
		}
		paused++
	}
	if paused > 0 {
		e.s.log.Info("workspace idle reaper", "paused", paused)
	}
	return paused, true
}

// pauseWorkspace captures ws's source_dir in an auto: snapshot, empties the directory and marks
// the workspace paused.
func (e *execEngine) pauseWorkspace(ws workspace) error {
	name := "auto:" + ws.ID
	snap, err := e.captureSnapshot(ws, &name)
	if err != nil {
		return err
	}
	_ = emptyDir(ws.SourceDir) // errors are ignored, like the real reaper
	e.ws.mu.Lock()
	defer e.ws.mu.Unlock()
	if en, ok := e.ws.byID[ws.ID]; ok {
		at := now()
		id := snap.ID
		en.ws.PausedAt, en.ws.AutoSnapshot = &at, &id
	}
	return nil
}

// resumeWorkspace restores the auto: snapshot of a paused workspace into its emptied
// source_dir and clears the pause marks. A workspace whose snapshot is gone stays paused and
// runs on its empty directory, as in the real server. The error is ready to return from a
// handler; the workspace then stays paused.
func (e *execEngine) resumeWorkspace(en *wsEntry) error {
	e.ws.mu.Lock()
	ws := en.ws
	e.ws.mu.Unlock()
	if ws.PausedAt == nil || ws.AutoSnapshot == nil {
		return nil
	}
	snap, ok := e.snaps.get(*ws.AutoSnapshot, devScope)
	if !ok {
		return nil
	}
	if err := emptyDir(ws.SourceDir); err != nil {
		return errInternal(err)
	}
	if err := e.restoreSnapshot(snap, ws.SourceDir); err != nil {
		return err
	}
	e.ws.mu.Lock()
	en.ws.PausedAt, en.ws.AutoSnapshot = nil, nil
	e.ws.mu.Unlock()
	return nil
}

// emptyDir removes every entry inside dir, keeping dir itself; it tries them all and returns
// the first error.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var first error
	for _, en := range entries {
		if err := os.RemoveAll(filepath.Join(dir, en.Name())); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// setIdleTimeoutUnit makes a workspace's idle_timeout_secs count in unit instead of seconds, so
// tests can watch a pause in milliseconds.
func (e *execEngine) setIdleTimeoutUnit(unit time.Duration) {
	e.ws.mu.Lock()
	defer e.ws.mu.Unlock()
	e.idleUnit = unit
}
