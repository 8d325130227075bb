package testserver

// What every route that runs code shares: the ExecResponse body, waiting for a process while
// the client is connected, and running one process under a ledger row. The processes are REAL
// host processes; see runner.go.

import (
	"context"
)

// execResponse is the body of a finished run, session exec or workspace exec; stats is
// omitted when the process could not be measured.
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

// commandRequest is the part of a session or workspace exec body that names the command.
type commandRequest struct {
	Cmd         *string     `json:"cmd"`
	Args        seq[string] `json:"args"`
	TimeoutSecs *uint64     `json:"timeout_secs"`
	MemoryMB    *uint64     `json:"memory_mb"`
}

// argv is the command line: cmd, then its args. The command is looked up on the jail PATH, no
// shell involved.
func (q *commandRequest) argv() []string { return append([]string{*q.Cmd}, q.Args...) }

// waitOrKill waits for p, killing its group if ctx ends first (the client went away).
func waitOrKill(ctx context.Context, p *process) procResult {
	select {
	case <-p.done:
	case <-ctx.Done():
		p.kill()
	}
	return p.wait()
}

// runJail opens a ledger row, runs spec to completion (killing it if ctx ends) and closes the
// row. A spawn failure marks the row "error" and is a 500. running, when not nil, is given the
// process once it has started and nil once it has been reaped.
func (e *execEngine) runJail(ctx context.Context, nj newJail, js jailSettings, spec procSpec, running func(*process)) (procResult, error) {
	id := e.jails.open(nj)
	p, err := e.start(js, spec)
	if err != nil {
		e.jails.fail(id, err.Error())
		return procResult{}, errInternal(err)
	}
	if running != nil {
		running(p)
	}
	stop := e.watchLive(id, p, true)
	res := waitOrKill(ctx, p)
	stop()
	if running != nil {
		running(nil)
	}
	e.jails.complete(id, res)
	return res, nil
}
