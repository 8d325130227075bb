package testserver

// Forked runs: a parent run frozen after a while, its /output copied once per child, and the
// children run against their copies while the parent resumes.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

type forkChild struct {
	Code string `json:"code"`
}

type forkRequest struct {
	ParentCode  *string        `json:"parent_code"`
	ChildCode   *string        `json:"child_code"`
	Children    seq[forkChild] `json:"children"`
	ForkAfterMs *uint64        `json:"fork_after_ms"`
	runSettings
}

// forkMeta is ForkMeta: how one child's copy of the parent was made.
type forkMeta struct {
	CloneMs     uint64 `json:"clone_ms"`
	FilesCloned uint64 `json:"files_cloned"`
	FilesCow    uint64 `json:"files_cow"`
	BytesCloned uint64 `json:"bytes_cloned"`
	Method      string `json:"method"`
	WasFrozen   bool   `json:"was_frozen"`
}

type forkResponse struct {
	Parent   execResponse   `json:"parent"`
	Child    execResponse   `json:"child"`
	Children []execResponse `json:"children"`
	Fork     forkMeta       `json:"fork"`
	Forks    []forkMeta     `json:"forks"`
}

// handleForkRun writes the parent's and every child's code into one shared read-only workspace,
// starts the parent, freezes its process group after fork_after_ms (default 1500, at most 30000),
// copies its /output once per child, resumes it, and runs each child's child_<i>_ file with its
// own copy as /output. Unlike the real server the parent's output is capped like every other
// output.
func (s *Server) handleForkRun(w http.ResponseWriter, r *http.Request, sc scope) error {
	var req forkRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	var codes []string
	for _, c := range req.Children {
		codes = append(codes, c.Code)
	}
	if len(codes) == 0 && req.ChildCode != nil {
		codes = []string{*req.ChildCode}
	}
	if len(codes) == 0 {
		return errBadRequest("children or child_code is required")
	}
	if len(codes) > 16 {
		return errBadRequest("at most 16 children per fork")
	}
	js := req.jail()
	forkAfter := uint64(1500)
	if req.ForkAfterMs != nil {
		forkAfter = min(*req.ForkAfterMs, 30000)
	}

	e := s.exec
	run, err := e.prepareRun(r.Context(), req.Language.ptr(), *req.ParentCode, req.Git, &js, true)
	if err != nil {
		return err
	}
	defer run.release()
	lang, l, parentDirs := run.label, run.lang, run.dirs
	// Every child's code sits in the one workspace all of them share, next to the parent's.
	childFiles := make([]string, len(codes))
	for i, code := range codes {
		childFiles[i] = fmt.Sprintf("child_%d_%s", i, l.file)
		if err := os.WriteFile(filepath.Join(parentDirs.workspace, childFiles[i]), []byte(code), 0o644); err != nil {
			return errInternal(err)
		}
	}
	timeout := js.timeout()
	env := []string{"PATH=" + jailPath}

	parentID := e.jails.open(newJail{tenant: sc.tenant, kind: "fork", label: lang + " · parent", config: js.snapshot()})
	rows := []int64{parentID}
	failAll := func(err error) error {
		for _, id := range rows {
			e.jails.fail(id, err.Error())
		}
		return errInternal(err)
	}
	parent, err := e.start(js, procSpec{argv: e.scriptArgv(l, l.file), dir: parentDirs.workspace, output: parentDirs.output, env: env, timeout: timeout})
	if err != nil {
		return failAll(err)
	}
	stopParentLive := e.watchLive(parentID, parent, false)
	defer stopParentLive()
	// Like the real server, the children are forked only after fork_after_ms, even when the
	// parent has already exited.
	forkAt := time.NewTimer(time.Duration(forkAfter) * time.Millisecond)
	select {
	case <-forkAt.C:
	case <-r.Context().Done():
	}
	forkAt.Stop()

	// Each child's /output starts as a copy of the parent's, taken while the parent is frozen.
	frozen := parent.freeze()
	metas := make([]forkMeta, len(codes))
	childOutputs := make([]string, len(codes))
	var copyErr error
	for i := range codes {
		dirs, err := e.newScratch()
		if err != nil {
			copyErr = err
			break
		}
		defer dirs.remove()
		childOutputs[i] = dirs.output
		began := time.Now()
		files, bytes, err := copyTree(parentDirs.output, dirs.output)
		if err != nil {
			copyErr = err
			break
		}
		metas[i] = forkMeta{CloneMs: uint64(time.Since(began) / time.Millisecond), FilesCloned: files, BytesCloned: bytes, Method: "copy", WasFrozen: frozen}
	}
	if frozen {
		parent.thaw()
	}
	if copyErr != nil {
		parent.kill()
		parent.wait()
		return failAll(copyErr)
	}

	children := make([]execResponse, len(codes))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var childErr error
	for i := range codes {
		label := lang + " · child"
		if len(codes) > 1 {
			label = fmt.Sprintf("%s · child %d", lang, i)
		}
		pid := parentID
		id := e.jails.open(newJail{tenant: sc.tenant, kind: "fork", label: label, parentID: &pid, config: js.snapshot()})
		rows = append(rows, id)
		p, err := e.start(js, procSpec{argv: e.scriptArgv(l, childFiles[i]), dir: parentDirs.workspace, output: childOutputs[i], env: env, timeout: timeout})
		if err != nil {
			childErr = err
			break
		}
		wg.Add(1)
		go func(i int, id int64, p *process) {
			defer wg.Done()
			stop := e.watchLive(id, p, true)
			res := waitOrKill(r.Context(), p)
			stop()
			e.jails.complete(id, res)
			mu.Lock()
			children[i] = responseOf(res)
			mu.Unlock()
		}(i, id, p)
	}
	if childErr != nil {
		parent.kill()
		parent.wait()
		wg.Wait()
		return failAll(childErr)
	}
	parentRes := waitOrKill(r.Context(), parent)
	stopParentLive()
	e.jails.complete(parentID, parentRes)
	wg.Wait()
	writeJSON(w, http.StatusCreated, forkResponse{
		Parent: responseOf(parentRes), Child: children[0], Children: children, Fork: metas[0], Forks: metas,
	})
	return nil
}
