package agentjail

import (
	"context"
	"net/http"
	"time"
)

// Language is the language of a run's code. The server also accepts the aliases "js",
// "py" and "sh".
type Language string

// The languages a run may use.
const (
	LanguageJavaScript Language = "javascript" // run as main.mjs with node
	LanguagePython     Language = "python"     // run as main.py with python3

	// LanguageBash runs the code as main.sh with /bin/sh, not with bash. On Debian and
	// Ubuntu hosts /bin/sh is dash, which has no bash syntax: a [[ ]] test is a command
	// "not found" (the test is false and the script carries on), and an array or
	// ${var//a/b} stops the script with exit code 2. A #!/bin/bash first line changes
	// nothing, because the file is handed to sh as an argument. Write POSIX sh, or start
	// the code with a line that re-runs the file under bash:
	//
	//	[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
	//
	// For a single command, SessionsService.Exec and WorkspacesService.Exec run any
	// program: Cmd "/bin/bash" with Args {"-c", script} (Cmd is not looked up in PATH).
	LanguageBash Language = "bash"
)

// RunParams are the arguments of RunsService.Create and RunsService.Stream.
type RunParams struct {
	Code     string        // the program; the whole request must stay under 1 MiB
	Language Language      // "" = server default, JavaScript
	Timeout  time.Duration // sent in whole seconds rounded up; 0 = server default (300 s), clamped to 1 h
	// MemoryMB is the memory limit in MiB; 0 = server default (512), MemoryUnlimited = none.
	MemoryMB int
	// Git is cloned into /workspace before the run (Create only; the server ignores it on Stream).
	Git *GitSeed
	ExecOptions
}

func (p RunParams) body() (any, error) {
	lim, err := limits(p.MemoryMB, p.Timeout, &p.ExecOptions)
	if err != nil {
		return nil, err
	}
	return struct {
		Code     string   `json:"code"`
		Language Language `json:"language,omitempty"`
		jailLimits
		Git *GitSeed `json:"git,omitempty"`
		ExecOptions
	}{p.Code, p.Language, lim, p.Git, p.ExecOptions}, nil
}

// ForkChild is one child of a live fork: code that runs in a copy of the parent's
// checkpoint.
type ForkChild struct {
	Code string `json:"code"` // the child's program, in the fork's Language
}

// maxForkChildren is the server's limit of children per fork.
const maxForkChildren = 16

// ForkParams are the arguments of RunsService.Fork. Give either ChildCode (one child)
// or Children (1 to 16), not both.
type ForkParams struct {
	ParentCode string      // the parent's program (required)
	ChildCode  string      // the code of a single child; or use Children
	Children   []ForkChild // 1 to 16 children, each run in its own copy of the parent
	Language   Language    // of every program; "" = server default, JavaScript
	// ForkAfter is how long the parent runs before it is frozen and copied; sent in whole
	// milliseconds rounded up; 0 = server default (1.5 s), at most 30 s.
	ForkAfter time.Duration
	Timeout   time.Duration // per process; 0 = server default (300 s)
	MemoryMB  int           // 0 = server default (512), MemoryUnlimited = none
	Git       *GitSeed      // cloned into /workspace before the parent starts
	ExecOptions
}

func (p ForkParams) body() (any, error) {
	switch {
	case p.ChildCode == "" && len(p.Children) == 0:
		return nil, invalidf("fork needs ChildCode or Children")
	case p.ChildCode != "" && len(p.Children) > 0:
		return nil, invalidf("fork takes ChildCode or Children, not both")
	case len(p.Children) > maxForkChildren:
		return nil, invalidf("fork takes at most %d children, got %d", maxForkChildren, len(p.Children))
	}
	lim, err := limits(p.MemoryMB, p.Timeout, &p.ExecOptions, p.ForkAfter)
	if err != nil {
		return nil, err
	}
	return struct {
		ParentCode  string      `json:"parent_code"`
		ChildCode   string      `json:"child_code,omitempty"`
		Children    []ForkChild `json:"children,omitempty"`
		Language    Language    `json:"language,omitempty"`
		ForkAfterMS int64       `json:"fork_after_ms,omitempty"`
		jailLimits
		Git *GitSeed `json:"git,omitempty"`
		ExecOptions
	}{p.ParentCode, p.ChildCode, p.Children, p.Language, millis(p.ForkAfter), lim, p.Git, p.ExecOptions}, nil
}

// ForkResult is the outcome of a live fork. Child and Fork repeat Children[0] and
// Forks[0] for single-child callers.
type ForkResult struct {
	Parent   ExecResult   `json:"parent"`   // the parent run, resumed after the copy
	Child    ExecResult   `json:"child"`    // same as Children[0]
	Children []ExecResult `json:"children"` // one result per child, in request order
	Fork     ForkMeta     `json:"fork"`     // same as Forks[0]
	Forks    []ForkMeta   `json:"forks"`    // one copy report per child, in request order
}

// ForkMeta describes how one child's copy of the parent was made.
type ForkMeta struct {
	CloneMS     int64  `json:"clone_ms"`     // milliseconds spent copying; saturated at math.MaxInt64
	FilesCloned int64  `json:"files_cloned"` // files copied
	FilesCOW    int64  `json:"files_cow"`    // files shared copy-on-write (reflinked)
	BytesCloned int64  `json:"bytes_cloned"` // bytes copied
	Method      string `json:"method"`       // "reflink", "copy" or "mixed"
	WasFrozen   bool   `json:"was_frozen"`   // the parent was frozen during the copy
}

// RunsService runs one-shot code in fresh jails (/v1/runs).
type RunsService struct{ c *Client }

// Create runs p.Code and waits for it to finish. The call lasts as long as the run (up
// to its Timeout, at most an hour): bound it with ctx. A run that times out is not an
// error: the result has TimedOut set and ExitCode 137. It returns an error matching
// ErrBadRequest for an unsupported language, an invalid git seed or allowlist, or when
// the server is at its concurrency limit.
func (s *RunsService) Create(ctx context.Context, p RunParams) (*ExecResult, error) {
	return doJSON[ExecResult](ctx, s.c, call{method: http.MethodPost, path: path("/v1/runs"), body: p})
}

// Fork starts ParentCode, freezes it after ForkAfter, copies its state into one jail per
// child, resumes it, runs the children there and waits for all of them. It returns an
// error matching ErrInvalidParams, without sending anything, when neither or both of
// ChildCode and Children are given or there are more than 16 children.
func (s *RunsService) Fork(ctx context.Context, p ForkParams) (*ForkResult, error) {
	return doJSON[ForkResult](ctx, s.c, call{method: http.MethodPost, path: path("/v1/runs/fork"), body: p})
}

// Stream starts p.Code like Create and returns as soon as the response headers arrive,
// so its output can be read live. A non-2xx status is returned here as an *Error, not
// later. The stream holds a connection and a server execution slot until it ends: always
// Close it (All does so for you). Cancelling ctx ends the stream and, on the server,
// kills the run. The server ignores p.Git on this route.
func (s *RunsService) Stream(ctx context.Context, p RunParams) (*RunStream, error) {
	if err := ctxCheck(ctx); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	r := call{method: http.MethodPost, path: path("/v1/runs/stream"), body: p, stream: true}
	resp, attempts, err := s.c.send(sctx, r, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	return &RunStream{ctx: ctx, cancel: cancel, call: r, body: resp.Body, sse: NewSSEReader(resp.Body), attempts: attempts}, nil
}
