package testserver

// POST /v1/workspaces/{id}/exec, one command at a time per workspace (a second one is a 409),
// and POST /v1/workspaces/{id}/fork, which snapshots the workspace and restores the snapshot
// into 1 to 16 new ones. Execs are REAL processes with the workspace's source_dir as /workspace; see runner.go.

import (
	"fmt"
	"net/http"
	"os"
)

// envPair is one ["K","V"] element of a workspace exec's env.
type envPair [2]string

type workspaceExecRequest struct {
	commandRequest
	Env seq[envPair] `json:"env"`
}

func (s *Server) handleExecWorkspace(w http.ResponseWriter, r *http.Request, sc scope) error {
	var req workspaceExecRequest
	en, err := s.workspaceWithBody(r, sc, &req)
	if err != nil {
		return err
	}
	e := s.exec
	if !en.lock.TryLock() {
		return errConflict("another exec is in flight against this workspace")
	}
	defer en.lock.Unlock()
	if err := e.resumeWorkspace(en); err != nil {
		return err
	}
	pm, ok := e.run.tryAcquire()
	if !ok {
		return errTooManyExecs()
	}
	defer pm.release()

	e.ws.mu.Lock()
	ws := en.ws
	e.ws.mu.Unlock()
	for _, f := range ws.Config.Flavors {
		if !s.flavorExists(f) {
			return errBadRequest("flavor %s is no longer available on this server", rustQuote(f))
		}
	}
	js := ws.Config.settings()
	js.timeoutSecs = clampTimeout(req.TimeoutSecs, ws.Config.TimeoutSecs)
	js.memoryMB = clampMemory(req.MemoryMB, ws.Config.MemoryMB)
	// The ledger config of a workspace exec never carries the git seed: the real server passes
	// no GitSpec to its config snapshot here.
	if err := js.validate(); err != nil {
		return err
	}
	flavors, path := e.flavorsOf(ws.Config.Flavors)
	env := []string{"PATH=" + path}
	for _, kv := range req.Env {
		env = append(env, kv[0]+"="+kv[1])
	}
	e.ws.mu.Lock()
	at := now()
	en.ws.LastExecAt = &at
	en.liveAllowlist = js.networkMode == "allowlist"
	e.ws.mu.Unlock()
	defer func() {
		e.ws.mu.Lock()
		en.liveAllowlist = false
		e.ws.mu.Unlock()
	}()
	res, err := e.runJail(r.Context(), newJail{tenant: ws.TenantID, kind: "workspace", label: "workspace:" + ws.ID + "/" + *req.Cmd, config: js.snapshot()}, js,
		procSpec{argv: req.argv(), dir: ws.SourceDir, writable: true, output: ws.OutputDir, flavors: flavors, env: env, timeout: js.timeout()},
		func(p *process) {
			e.ws.mu.Lock()
			en.live = p
			e.ws.mu.Unlock()
		})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, responseOf(res))
	return nil
}

type forkWorkspaceRequest struct {
	Count *uint64 `json:"count"`
	Label *string `json:"label"`
}

type forkWorkspaceResponse struct {
	Parent     workspace   `json:"parent"`
	Forks      []workspace `json:"forks"`
	SnapshotID string      `json:"snapshot_id"`
}

func (s *Server) handleForkWorkspace(w http.ResponseWriter, r *http.Request, sc scope) error {
	var req forkWorkspaceRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if *req.Count == 0 || *req.Count > 16 {
		return errBadRequest("fork.count must be 1..=16")
	}
	e := s.exec
	en, err := byPathID(r, sc, "workspace", e.ws.lookup)
	if err != nil {
		return err
	}
	id := en.ws.ID
	name := "fork-origin:" + id
	snap, err := e.snapshotOf(en, &name)
	if err != nil {
		return errInternal(err)
	}
	e.ws.mu.Lock()
	parent := en.ws
	e.ws.mu.Unlock()
	forks := make([]workspace, 0, *req.Count)
	for i := 0; i < int(*req.Count); i++ {
		label := fmt.Sprintf("fork of %s-%d", id, i)
		if req.Label != nil {
			label = fmt.Sprintf("%s-%d", *req.Label, i)
		}
		child, err := e.restoreInto(parent.TenantID, parent, snap, &label)
		if err != nil {
			return err
		}
		forks = append(forks, child.view(sc))
	}
	writeJSON(w, http.StatusCreated, forkWorkspaceResponse{Parent: parent.view(sc), Forks: forks, SnapshotID: snap.ID})
	return nil
}

// restoreInto creates a workspace of tenant from snapshot snap, inheriting parent's config and
// git seed with empty domains, and stores it. The error is ready to return from a handler.
func (e *execEngine) restoreInto(tenant string, parent workspace, snap snapshotRecord, label *string) (workspace, error) {
	cfg := parent.Config
	cfg.NetworkDomains = append([]string{}, cfg.NetworkDomains...)
	cfg.Flavors = append([]string{}, cfg.Flavors...)
	en, err := e.newWorkspaceEntry(tenant, cfg, label)
	if err != nil {
		return workspace{}, errInternal(err)
	}
	en.ws.GitRepo, en.ws.GitRef = parent.GitRepo, parent.GitRef
	if err := e.restoreSnapshot(snap, en.ws.SourceDir); err != nil {
		os.RemoveAll(en.root)
		return workspace{}, err
	}
	e.ws.add(en)
	return en.ws, nil
}
