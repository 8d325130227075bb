package testserver

// POST /v1/sessions/{id}/exec (WIRE.md §5.8) and POST /v1/runs (§5.9), plus the helpers every
// exec-type route shares. Runs are REAL host processes; see runner.go.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// execResponse is ExecResponse (WIRE.md §4.3).
type execResponse struct {
	Stdout     string     `json:"stdout"`
	Stderr     string     `json:"stderr"`
	ExitCode   int        `json:"exit_code"`
	DurationMs uint64     `json:"duration_ms"`
	TimedOut   bool       `json:"timed_out"`
	OomKilled  bool       `json:"oom_killed"`
	Stats      *execStats `json:"stats,omitempty"`
}

func responseOf(res procResult) execResponse {
	return execResponse{
		Stdout: res.stdout, Stderr: res.stderr, ExitCode: res.exitCode, DurationMs: res.durationMs(),
		TimedOut: res.timedOut, Stats: res.stats,
	}
}

// waitOrKill waits for p, killing its group if ctx ends first (the client went away).
func waitOrKill(ctx context.Context, p *process) procResult {
	select {
	case <-p.done:
	case <-ctx.Done():
		p.kill()
	}
	return p.wait()
}

type sessionExecRequest struct {
	Cmd         *string     `json:"cmd"`
	Args        seq[string] `json:"args"`
	TimeoutSecs *uint64     `json:"timeout_secs"`
	MemoryMB    *uint64     `json:"memory_mb"`
	execOptions
}

// missingField is the 422 for a required key that is absent.
func missingField(name string) error {
	return errUnprocessable(fmt.Sprintf("missing field `%s`", name))
}

func (s *Server) handleSessionExec(w http.ResponseWriter, r *http.Request, sc scope) error {
	var req sessionExecRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Cmd == nil {
		return missingField("cmd")
	}
	id := r.PathValue("id")
	env, expires, err := s.sessionEnv(id, sc)
	if err != nil {
		return err
	}
	if expires != nil && expires.Before(time.Now()) {
		return errBadRequest("session expired")
	}
	js := req.defaultSettings(req.TimeoutSecs, req.MemoryMB)
	e := s.exec
	pm, ok := e.run.tryAcquire()
	if !ok {
		return errTooManyExecs()
	}
	defer pm.release()
	if err := js.validate(); err != nil {
		return err
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	procEnv := []string{"PATH=" + jailPath}
	for _, k := range keys {
		procEnv = append(procEnv, k+"="+env[k])
	}
	dirs, err := e.newScratch()
	if err != nil {
		return errInternal(err)
	}
	defer dirs.remove()
	res, err := e.runJail(r.Context(), newJail{tenant: sc.tenant, kind: "exec", label: *req.Cmd, sessionID: id, config: js.snapshot()}, js,
		procSpec{argv: append([]string{*req.Cmd}, req.Args...), dir: dirs.workspace, output: dirs.output, env: procEnv, timeout: js.timeout()})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, responseOf(res))
	return nil
}

func errTooManyExecs() error { return errBadRequest("too many concurrent executions") }

// runJail opens a ledger row, runs spec to completion (killing it if ctx ends) and closes the
// row. A spawn failure marks the row "error" and is a 500.
func (e *execEngine) runJail(ctx context.Context, nj newJail, js jailSettings, spec procSpec) (procResult, error) {
	id := e.jails.open(nj)
	p, err := e.start(js, spec)
	if err != nil {
		e.jails.fail(id, err.Error())
		return procResult{}, errInternal(err)
	}
	res := waitOrKill(ctx, p)
	e.jails.complete(id, res)
	return res, nil
}

// prepareRun is the shared start of a run, a fork parent and a stream: fresh workspace and output
// directories, the git checkout and the code in the workspace's main file.
func (e *execEngine) prepareRun(ctx context.Context, lang language, code string, git *gitSpec, js *jailSettings) (dirs scratch, err error) {
	dirs, err = e.newScratch()
	if err != nil {
		return scratch{}, errInternal(err)
	}
	dir := dirs.workspace
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
		if err := e.cloneInto(ctx, dir, clones); err != nil {
			return scratch{}, err
		}
		js.gitRepo, js.gitRef = git.primary()
	}
	if err := os.WriteFile(filepath.Join(dir, lang.file), []byte(code), 0o644); err != nil {
		return scratch{}, errInternal(err)
	}
	if err := js.validate(); err != nil {
		return scratch{}, err
	}
	return dirs, nil
}

// ---- runs ----

type runRequest struct {
	Code        *string         `json:"code"`
	Language    defaultedString `json:"language"`
	TimeoutSecs *uint64         `json:"timeout_secs"`
	MemoryMB    *uint64         `json:"memory_mb"`
	Git         *gitSpec        `json:"git"`
	execOptions
}

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
	if req.Code == nil {
		return req, jailSettings{}, missingField("code")
	}
	return req, req.defaultSettings(req.TimeoutSecs, req.MemoryMB), nil
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request, sc scope) error {
	req, js, err := readRunRequest(r)
	if err != nil {
		return err
	}
	e := s.exec
	pm, ok := e.run.tryAcquire()
	if !ok {
		return errTooManyExecs()
	}
	defer pm.release()
	label, lang, err := languageOf(req.Language.ptr())
	if err != nil {
		return err
	}
	dirs, err := e.prepareRun(r.Context(), lang, *req.Code, req.Git, &js)
	if err != nil {
		return err
	}
	defer dirs.remove()
	res, err := e.runJail(r.Context(), newJail{tenant: sc.tenant, kind: "run", label: label, config: js.snapshot()}, js,
		procSpec{argv: e.scriptArgv(lang, lang.file), dir: dirs.workspace, output: dirs.output, env: []string{"PATH=" + jailPath}, timeout: js.timeout()})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, responseOf(res))
	return nil
}
