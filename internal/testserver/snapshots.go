package testserver

// Snapshots: a copy of a workspace's source_dir under
// $stateDir/snapshots/<id> — a full copy ("classic"), or a manifest over a content-addressed pool
// ("incremental", snapshot_pool.go) when a pool directory is set — plus restore into a new
// workspace, listing, delete and the manifest route.

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// snapshotRecord is the wire shape of a SnapshotRecord. path is not redacted, like the real
// server.
type snapshotRecord struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"tenant_id"`
	WorkspaceID *string   `json:"workspace_id"`
	Name        *string   `json:"name"`
	CreatedAt   time.Time `json:"created_at"`
	Path        string    `json:"path"`
	SizeBytes   uint64    `json:"size_bytes"`
}

type snapshotStore struct {
	mu   sync.Mutex
	rows []snapshotRecord // creation order
}

func newSnapshotStore() *snapshotStore { return &snapshotStore{} }

func (st *snapshotStore) get(id string, sc scope) (snapshotRecord, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, r := range st.rows {
		if r.ID == id && sc.canSee(r.TenantID) {
			return r, true
		}
	}
	return snapshotRecord{}, false
}

// matching returns the snapshots passing keep, newest created first.
func (st *snapshotStore) matching(keep func(snapshotRecord) bool) []snapshotRecord {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []snapshotRecord
	for i := len(st.rows) - 1; i >= 0; i-- {
		if keep(st.rows[i]) {
			out = append(out, st.rows[i])
		}
	}
	return out
}

func (st *snapshotStore) add(rec snapshotRecord) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.rows = append(st.rows, rec)
}

func (st *snapshotStore) remove(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, r := range st.rows {
		if r.ID == id {
			st.rows = append(st.rows[:i], st.rows[i+1:]...)
			return
		}
	}
}

// snapshotOf copies en's source_dir into a new snapshot owned by the workspace's tenant: a full
// copy, or a manifest plus pool blobs when a snapshot pool is set. A process running in the
// workspace is frozen (SIGSTOP) during the copy.
func (e *execEngine) snapshotOf(en *wsEntry, name *string) (snapshotRecord, error) {
	e.ws.mu.Lock()
	ws := en.ws
	live := en.live
	e.ws.mu.Unlock()
	if live != nil && live.freeze() {
		defer live.thaw()
	}
	return e.captureSnapshot(ws, name)
}

// captureSnapshot copies ws's source_dir into a new stored snapshot, without freezing anything.
func (e *execEngine) captureSnapshot(ws workspace, name *string) (snapshotRecord, error) {
	id := newID("snap_")
	dir := filepath.Join(e.s.stateDir, "snapshots", id)
	err := os.MkdirAll(dir, 0o755)
	if err != nil {
		return snapshotRecord{}, err
	}
	var size uint64
	if pool := e.snapshotPoolDir(); pool != "" {
		size, err = writeIncremental(ws.SourceDir, dir, pool)
	} else if _, _, err = copyTree(ws.SourceDir, dir); err == nil {
		size = diskSize(dir)
	}
	if err != nil {
		os.RemoveAll(dir)
		return snapshotRecord{}, err
	}
	wid := ws.ID
	rec := snapshotRecord{ID: id, TenantID: ws.TenantID, WorkspaceID: &wid, Name: name, CreatedAt: now(), Path: dir, SizeBytes: size}
	e.snaps.add(rec)
	return rec, nil
}

// restoreSnapshot fills dst with the files of snap. The error is ready to return from a handler.
func (e *execEngine) restoreSnapshot(snap snapshotRecord, dst string) error {
	if m, ok := loadManifest(snap.Path); ok {
		pool := e.snapshotPoolDir()
		if pool == "" {
			return errBadRequest("snapshot is content-addressed but AGENTJAIL_SNAPSHOT_POOL_DIR is not set")
		}
		if err := restoreIncremental(m, pool, dst); err != nil {
			return errInternal(err)
		}
		return nil
	}
	if _, _, err := copyTree(snap.Path, dst); err != nil {
		return errInternal(err)
	}
	return nil
}

// diskSize sums the sizes of the regular files under dir.
func diskSize(dir string) uint64 {
	var n uint64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += uint64(info.Size())
			}
		}
		return nil
	})
	return n
}

type createSnapshotRequest struct {
	Name *string `json:"name"`
}

func (s *Server) handleSnapshotWorkspace(w http.ResponseWriter, r *http.Request, sc scope) error {
	var req createSnapshotRequest
	en, err := s.workspaceWithBody(r, sc, &req)
	if err != nil {
		return err
	}
	rec, err := s.exec.snapshotOf(en, req.Name)
	if err != nil {
		return errInternal(err)
	}
	writeJSON(w, http.StatusCreated, rec)
	return nil
}

type restoreSnapshotRequest struct {
	SnapshotID        *string `json:"snapshot_id"`
	ParentWorkspaceID *string `json:"parent_workspace_id"`
	Label             *string `json:"label"`
}

func (s *Server) handleRestoreSnapshot(w http.ResponseWriter, r *http.Request, sc scope) error {
	var req restoreSnapshotRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	e := s.exec
	sid := *req.SnapshotID
	snap, ok := e.snaps.get(sid, sc)
	if !ok {
		return errNotFound("snapshot %s", sid)
	}
	parentID := strings.TrimSpace(*req.ParentWorkspaceID)
	if parentID == "" {
		return errBadRequest("parent_workspace_id is required")
	}
	if snap.WorkspaceID == nil || *snap.WorkspaceID != parentID {
		return errNotFound("snapshot %s", sid)
	}
	parent, ok := e.ws.live(parentID, sc)
	if !ok {
		return errNotFound("snapshot %s", sid)
	}
	// The new workspace belongs to the parent's tenant, not the caller's (an admin restoring
	// another tenant's snapshot creates it in that tenant).
	ws, err := e.restoreInto(parent.TenantID, parent, snap, labelOrSlug(req.Label))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ws.view(sc))
	return nil
}

func (s *Server) handleListSnapshots(w http.ResponseWriter, r *http.Request, sc scope) error {
	lq, err := listQuery(r)
	if err != nil {
		return err
	}
	wid, hasWid, err := queryString(r, "workspace_id")
	if err != nil {
		return err
	}
	q, err := searchTerm(r)
	if err != nil {
		return err
	}
	match := s.exec.snaps.matching(func(rec snapshotRecord) bool {
		return sc.canSee(rec.TenantID) && (!hasWid || strOrEmpty(rec.WorkspaceID) == wid) &&
			matchesTerm(q, rec.ID, strOrEmpty(rec.Name), strOrEmpty(rec.WorkspaceID))
	})
	return writeNewestFirst(w, lq, match, func(r snapshotRecord) time.Time { return r.CreatedAt })
}

func (s *Server) handleGetSnapshot(w http.ResponseWriter, r *http.Request, sc scope) error {
	return writeByPathID(w, r, sc, "snapshot", s.exec.snaps.get)
}

func (s *Server) handleDeleteSnapshot(w http.ResponseWriter, r *http.Request, sc scope) error {
	rec, err := byPathID(r, sc, "snapshot", s.exec.snaps.get)
	if err != nil {
		return err
	}
	id := rec.ID
	s.exec.snaps.remove(id)
	if err := os.RemoveAll(rec.Path); err != nil {
		s.log.Warn("remove snapshot directory", "snapshot", id, "err", err)
	}
	writeEmpty(w, http.StatusNoContent)
	return nil
}

// manifestEntry is one file of an incremental snapshot's manifest.
type manifestEntry struct {
	Path string `json:"path"`
	Mode uint32 `json:"mode"`
	Hash string `json:"hash"`
	Size uint64 `json:"size"`
}

func (s *Server) handleGetSnapshotManifest(w http.ResponseWriter, r *http.Request, sc scope) error {
	rec, err := byPathID(r, sc, "snapshot", s.exec.snaps.get)
	if err != nil {
		return err
	}
	out := struct {
		Kind    string          `json:"kind"`
		Entries []manifestEntry `json:"entries"`
	}{Kind: "classic", Entries: []manifestEntry{}}
	if m, ok := loadManifest(rec.Path); ok {
		out.Kind, out.Entries = "incremental", m.served()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
