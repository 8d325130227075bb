package testserver

// Runs: code in a language (javascript, python or bash) run to completion, forked after a while
// into children that continue from a copy of its /output, or streamed as Server-Sent Events.
// Every run is a REAL process, jailed where the platform allows; see runner.go.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

type runRequest struct {
	Code        *string         `json:"code"`
	Language    defaultedString `json:"language"`
	TimeoutSecs *uint64         `json:"timeout_secs"`
	MemoryMB    *uint64         `json:"memory_mb"`
	Git         *gitSpec        `json:"git"`
	execOptions
}

func (q *runRequest) missing() string { return absent(q.Code, "code") }

// language is a resolved run language: the file the code goes to and its interpreter.
type language struct {
	file, interpreter string
}

// languageOf maps a run language (default javascript) to its file and interpreter.
func languageOf(lang *string) (string, language, error) {
	name := "javascript"
	if lang != nil {
		name = *lang
	}
	switch name {
	case "javascript", "js":
		return name, language{"main.mjs", "node"}, nil
	case "python", "py":
		return name, language{"main.py", "python3"}, nil
	case "bash", "sh":
		return name, language{"main.sh", "sh"}, nil
	}
	return name, language{}, errBadRequest("unsupported language: %s", name)
}

// readRunRequest decodes the body shared by /v1/runs and /v1/runs/stream, with its
// timeout and memory clamped.
func readRunRequest(r *http.Request) (runRequest, jailSettings, error) {
	var req runRequest
	if err := decodeBody(r, &req); err != nil {
		return req, jailSettings{}, err
	}
	return req, req.defaultSettings(req.TimeoutSecs, req.MemoryMB), nil
}

// handleRun runs code to completion in a fresh scratch directory.
func (s *Server) handleRun(w http.ResponseWriter, r *http.Request, sc scope) error {
	req, js, err := readRunRequest(r)
	if err != nil {
		return err
	}
	e := s.exec
	run, err := e.prepareRun(r.Context(), req.Language.ptr(), *req.Code, req.Git, &js, true)
	if err != nil {
		return err
	}
	defer run.release()
	res, err := e.runJail(r.Context(), newJail{tenant: sc.tenant, kind: "run", label: run.label, config: js.snapshot()}, js,
		procSpec{argv: e.scriptArgv(run.lang, run.lang.file), dir: run.dirs.workspace, output: run.dirs.output, env: []string{"PATH=" + jailPath}, timeout: js.timeout()})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, responseOf(res))
	return nil
}

// preparedRun is a run ready to start: its execution slot, its language and its scratch
// directories, the workspace holding its code (and git seed) and its output.
type preparedRun struct {
	label string // the language as sent, which names the ledger row
	lang  language
	dirs  scratch
	slot  *permit
}

// release removes the directories and frees the execution slot.
func (p *preparedRun) release() {
	p.dirs.remove()
	p.slot.release()
}

// prepareRun is the shared start of a run, a fork parent and a stream, in the real server's
// order of checks: a free execution slot, the language, the git seed, then the allowlist. The
// caller must release the result. countNow counts the execution in /v1/stats at once, as runs
// and forks do; a stream counts it (slot.count) only once its process runs.
func (e *execEngine) prepareRun(ctx context.Context, langName *string, code string, git *gitSpec, js *jailSettings, countNow bool) (*preparedRun, error) {
	pm, ok := e.run.tryAcquireSlot()
	if !ok {
		return nil, errTooManyExecs()
	}
	if countNow {
		pm.count()
	}
	label, lang, err := languageOf(langName)
	if err == nil {
		var dirs scratch
		if dirs, err = e.runDirs(ctx, lang, code, git, js); err == nil {
			return &preparedRun{label: label, lang: lang, dirs: dirs, slot: pm}, nil
		}
	}
	pm.release()
	return nil, err
}

// runDirs creates a run's scratch directories with the git seed cloned and the code written in
// the workspace, and validates the allowlist.
func (e *execEngine) runDirs(ctx context.Context, lang language, code string, git *gitSpec, js *jailSettings) (dirs scratch, err error) {
	dirs, err = e.newScratch()
	if err != nil {
		return scratch{}, errInternal(err)
	}
	defer func() {
		if err != nil {
			dirs.remove()
			dirs = scratch{}
		}
	}()
	if git != nil {
		clones, err := git.plan()
		if err != nil {
			return scratch{}, err
		}
		if err := e.cloneInto(ctx, dirs.workspace, clones, false); err != nil {
			return scratch{}, err
		}
		js.gitRepo, js.gitRef = git.primary()
	}
	if err := os.WriteFile(filepath.Join(dirs.workspace, lang.file), []byte(code), 0o644); err != nil {
		return scratch{}, errInternal(err)
	}
	if err := js.validate(); err != nil {
		return scratch{}, err
	}
	return dirs, nil
}

func (q *forkRequest) missing() string { return absent(q.ParentCode, "parent_code") }

type forkChild struct {
	Code *string `json:"code"`
}

type forkRequest struct {
	ParentCode  *string         `json:"parent_code"`
	ChildCode   *string         `json:"child_code"`
	Children    seq[forkChild]  `json:"children"`
	Language    defaultedString `json:"language"`
	ForkAfterMs *uint64         `json:"fork_after_ms"`
	TimeoutSecs *uint64         `json:"timeout_secs"`
	MemoryMB    *uint64         `json:"memory_mb"`
	Git         *gitSpec        `json:"git"`
	execOptions
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
		if c.Code == nil {
			return missingField("code")
		}
		codes = append(codes, *c.Code)
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
	js := req.defaultSettings(req.TimeoutSecs, req.MemoryMB)
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
		ctx, cancel := context.WithCancel(r.Context())
		cancel()
		waitOrKill(ctx, parent)
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

// handleStreamRun is a run whose output lines and periodic stats arrive as Server-Sent Events,
// ending with a completed event; see stream.go for the framing.
func (s *Server) handleStreamRun(w http.ResponseWriter, r *http.Request, sc scope) error {
	req, js, err := readRunRequest(r)
	if err != nil {
		return err
	}
	e := s.exec
	// git is recorded but never cloned or validated, like the real route.
	js.gitRepo, js.gitRef = req.Git.primary()
	run, err := e.prepareRun(r.Context(), req.Language.ptr(), *req.Code, nil, &js, false)
	if err != nil {
		return err
	}
	defer run.release()
	label, lang, dirs := run.label, run.lang, run.dirs

	ob := e.newOutbox()
	// Once nobody takes output any more, readers waiting for room must not wait for ever.
	defer ob.close()
	p, err := e.start(js, procSpec{
		argv: e.scriptArgv(lang, lang.file), dir: dirs.workspace, output: dirs.output, env: []string{"PATH=" + jailPath},
		timeout: js.timeout(),
		lines:   ob.sink,
	})
	if err != nil {
		// Like the real route, a spawn failure leaves no ledger row: the row is opened only once
		// the process is running.
		return errInternal(err)
	}
	run.slot.count()
	id := e.jails.open(newJail{tenant: sc.tenant, kind: "stream", label: label, config: js.snapshot()})
	stopLive := e.watchLive(id, p, false)
	defer stopLive()

	sw := newSSEWriter(w)
	sw.json("started", map[string]int{"pid": p.pid()})
	keepAlive, statsEvery := e.streamTimings()
	stats := time.NewTicker(statsEvery)
	defer stats.Stop()
	idle := time.NewTimer(keepAlive)
	defer idle.Stop()
	out := newPump(ob, sw)
	defer out.stop()
	for {
		select {
		case <-ob.ready:
			out.ready()
		case <-out.due():
			out.send()
		case <-stats.C:
			out.send() // output read before the sample goes first
			sw.json("stats", streamStatsOf(p.sample()))
		case <-idle.C:
			sw.comment()
		case <-p.done:
			// The readers are finished: everything the process printed is queued.
			out.send()
			res := p.wait()
			stopLive()
			e.jails.completeStream(id, res)
			c := streamCompleted{ExitCode: res.exitCode, DurationMs: res.durationMs(), TimedOut: res.timedOut}
			if st := res.stats; st != nil {
				c.MemoryPeakBytes, c.MemoryCurrentBytes, c.CPUUsageUsec, c.PidsCurrent = st.MemoryPeakBytes, st.MemoryCurrentBytes, st.CPUUsageUsec, st.PidsCurrent
			}
			sw.json("completed", c)
			return nil
		case <-r.Context().Done():
			p.kill()
			ob.close()
			res := p.wait()
			stopLive()
			e.jails.completeStream(id, res)
			return nil
		}
		idle.Reset(keepAlive)
	}
}
