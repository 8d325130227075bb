package agentjail

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net/http"
	"sync"
	"sync/atomic"
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
	mem, err := limits(p.MemoryMB, &p.ExecOptions, p.Timeout)
	if err != nil {
		return nil, err
	}
	return struct {
		Code        string   `json:"code"`
		Language    Language `json:"language,omitempty"`
		TimeoutSecs int64    `json:"timeout_secs,omitempty"`
		MemoryMB    *int64   `json:"memory_mb,omitempty"`
		Git         *GitSeed `json:"git,omitempty"`
		ExecOptions
	}{p.Code, p.Language, seconds(p.Timeout), mem, p.Git, p.ExecOptions}, nil
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
	mem, err := limits(p.MemoryMB, &p.ExecOptions, p.ForkAfter, p.Timeout)
	if err != nil {
		return nil, err
	}
	return struct {
		ParentCode  string      `json:"parent_code"`
		ChildCode   string      `json:"child_code,omitempty"`
		Children    []ForkChild `json:"children,omitempty"`
		Language    Language    `json:"language,omitempty"`
		ForkAfterMS int64       `json:"fork_after_ms,omitempty"`
		TimeoutSecs int64       `json:"timeout_secs,omitempty"`
		MemoryMB    *int64      `json:"memory_mb,omitempty"`
		Git         *GitSeed    `json:"git,omitempty"`
		ExecOptions
	}{p.ParentCode, p.ChildCode, p.Children, p.Language, millis(p.ForkAfter), seconds(p.Timeout), mem, p.Git, p.ExecOptions}, nil
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

// UnmarshalJSON decodes a ForkMeta, saturating an overflowed clone_ms instead of failing.
func (m *ForkMeta) UnmarshalJSON(b []byte) error {
	type plain ForkMeta
	aux := struct {
		*plain
		CloneMS satInt64 `json:"clone_ms"`
	}{plain: (*plain)(m)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	m.CloneMS = int64(aux.CloneMS)
	return nil
}

// RunsService runs one-shot code in fresh jails (/v1/runs).
type RunsService struct{ c *Client }

// Create runs p.Code and waits for it to finish. The call lasts as long as the run (up
// to its Timeout, at most an hour): bound it with ctx. A run that times out is not an
// error: the result has TimedOut set and ExitCode 137. It returns an error matching
// ErrBadRequest for an unsupported language, an invalid git seed or allowlist, or when
// the server is at its concurrency limit.
func (s *RunsService) Create(ctx context.Context, p RunParams) (*ExecResult, error) {
	body, err := p.body()
	if err != nil {
		return nil, err
	}
	return doJSON[ExecResult](ctx, s.c, call{method: http.MethodPost, path: "/v1/runs", body: body})
}

// Fork starts ParentCode, freezes it after ForkAfter, copies its state into one jail per
// child, resumes it, runs the children there and waits for all of them. It returns an
// error matching ErrInvalidParams, without sending anything, when neither or both of
// ChildCode and Children are given or there are more than 16 children.
func (s *RunsService) Fork(ctx context.Context, p ForkParams) (*ForkResult, error) {
	body, err := p.body()
	if err != nil {
		return nil, err
	}
	return doJSON[ForkResult](ctx, s.c, call{method: http.MethodPost, path: "/v1/runs/fork", body: body})
}

// Stream starts p.Code like Create and returns as soon as the response headers arrive,
// so its output can be read live. A non-2xx status is returned here as an *Error, not
// later. The stream holds a connection and a server execution slot until it ends: always
// Close it (All does so for you). Cancelling ctx ends the stream and, on the server,
// kills the run. The server ignores p.Git on this route.
func (s *RunsService) Stream(ctx context.Context, p RunParams) (*RunStream, error) {
	body, err := p.body()
	if err != nil {
		return nil, err
	}
	if err := ctxCheck(ctx); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	r := call{method: http.MethodPost, path: "/v1/runs/stream", body: body, stream: true}
	resp, attempts, err := s.c.send(sctx, r, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	return &RunStream{ctx: ctx, cancel: cancel, call: r, body: resp.Body, sse: NewSSEReader(resp.Body), attempts: attempts}, nil
}

// EventType names a RunStream event.
type EventType string

// The events of a run stream, in the order the server sends them: started once, then
// stdout, stderr and stats interleaved, then exactly one of completed or error.
const (
	EventStarted   EventType = "started"
	EventStdout    EventType = "stdout"
	EventStderr    EventType = "stderr"
	EventStats     EventType = "stats"
	EventCompleted EventType = "completed"
	EventError     EventType = "error"
)

// StreamEvent is one event of a RunStream: a StartedEvent, StdoutEvent, StderrEvent,
// StatsEvent, CompletedEvent or ErrorEvent value. Switch on its concrete type.
type StreamEvent interface {
	Type() EventType
}

// StartedEvent is the first event: the run's process started.
type StartedEvent struct {
	PID int `json:"pid"` // host PID of the jailed process
}

// StdoutEvent is one line the run wrote to stdout, without its line ending; leading
// whitespace is kept and an empty line is "".
type StdoutEvent struct {
	Line string // at most 1 MiB, lossy UTF-8
}

// StderrEvent is one line the run wrote to stderr, like StdoutEvent.
type StderrEvent struct {
	Line string // at most 1 MiB, lossy UTF-8
}

// StatsEvent is a periodic resource sample (about every 500 ms; samples are dropped
// when the reader is slow).
type StatsEvent struct {
	ResourceStats
}

// CompletedEvent ends a stream whose process ran to the end, timed out or was killed.
type CompletedEvent struct {
	ExitCode           int   `json:"exit_code"`            // 137 after a timeout kill; 128+signal when killed by a signal
	DurationMS         int64 `json:"duration_ms"`          // run time in milliseconds; saturated at math.MaxInt64
	TimedOut           bool  `json:"timed_out"`            // killed for exceeding its timeout
	OOMKilled          bool  `json:"oom_killed"`           // killed for exceeding its memory limit
	MemoryPeakBytes    int64 `json:"memory_peak_bytes"`    // highest memory use, in bytes; 0 when unavailable
	MemoryCurrentBytes int64 `json:"memory_current_bytes"` // memory use at the end, in bytes; 0 when unavailable
	CPUUsageUsec       int64 `json:"cpu_usage_usec"`       // CPU time used, in microseconds; 0 when unavailable
	PIDsCurrent        int64 `json:"pids_current"`         // processes at the end; 0 when unavailable
}

// ErrorEvent ends a stream whose run failed inside the jail engine: the jail could not
// be set up or the process could not be waited for. A program that exits non-zero, times
// out or is killed ends with a CompletedEvent instead.
type ErrorEvent struct {
	// Message is the engine's error text, unmasked: unlike an HTTP 500, whose cause the
	// server replaces with "internal server error", it is passed on as is, for example
	// "cgroup setup failed: Permission denied (os error 13)" or "path does not exist:
	// /tmp/…". It can therefore name paths and OS errors of the server's host. It holds
	// no credential secrets, since a run's process is given none. Show it to whoever
	// operates the server; think before showing it to the authors of the code that ran.
	Message string `json:"message"`
}

// Type returns EventStarted.
func (StartedEvent) Type() EventType { return EventStarted }

// Type returns EventStdout.
func (StdoutEvent) Type() EventType { return EventStdout }

// Type returns EventStderr.
func (StderrEvent) Type() EventType { return EventStderr }

// Type returns EventStats.
func (StatsEvent) Type() EventType { return EventStats }

// Type returns EventCompleted.
func (CompletedEvent) Type() EventType { return EventCompleted }

// Type returns EventError.
func (ErrorEvent) Type() EventType { return EventError }

// RunStream reads the events of a streamed run. Call Next until it returns false, then
// check Err; or range over All. Next, Event and Err belong to one goroutine; Close may
// be called from any goroutine and unblocks a pending Next.
type RunStream struct {
	ctx    context.Context // the caller's context, to tell cancellation from Close
	cancel context.CancelFunc
	call   call // the request that opened the stream, for error texts
	body   io.ReadCloser
	sse    *SSEReader

	attempts int // requests made to open the stream, for Error.Attempts

	event     StreamEvent
	err       error
	done      bool
	closed    atomic.Bool
	closeOnce sync.Once
}

// Next advances to the next event and reports whether there is one. It returns false
// after the completed or error event, after Close, and on failure (see Err).
func (s *RunStream) Next() bool {
	if s.done {
		return false
	}
	for {
		// Events already buffered are not handed out once the caller closed the stream
		// or its context ended.
		if s.closed.Load() || s.ctx.Err() != nil {
			s.fail(context.Canceled)
			return false
		}
		raw, err := s.sse.Next()
		if err != nil {
			s.fail(err)
			return false
		}
		ev, err := decodeEvent(raw)
		if err != nil {
			s.fail(err)
			return false
		}
		if ev == nil {
			continue // an event type this SDK does not know
		}
		s.event = ev
		if t := ev.Type(); t == EventCompleted || t == EventError {
			s.done = true
			s.release()
		}
		return true
	}
}

// fail ends the stream after a read or decode error, classifying it for Err.
func (s *RunStream) fail(err error) {
	s.done = true
	s.event = nil
	switch {
	case s.closed.Load():
		// Closed by the caller: not an error.
	case s.ctx.Err() != nil:
		s.err = s.call.contextError(s.ctx.Err())
	case err == io.EOF:
		s.err = &Error{Code: CodeNetwork, err: io.ErrUnexpectedEOF,
			Message: "run stream ended before a completed or error event: " + io.ErrUnexpectedEOF.Error()}
	case errors.Is(err, ErrEventTooLarge):
		s.err = err
	default:
		if errors.As(err, new(*Error)) {
			s.err = err
		} else {
			s.err = networkError(err)
		}
	}
	var e *Error
	if errors.As(s.err, &e) && e.Attempts == 0 {
		e.Attempts = s.attempts
	}
	s.release()
}

// decodeEvent turns a wire event into its typed value; nil for unknown types.
func decodeEvent(raw SSEEvent) (StreamEvent, error) {
	var (
		ev  StreamEvent
		err error
	)
	switch EventType(raw.Type) {
	case EventStdout:
		return StdoutEvent{Line: raw.Data}, nil
	case EventStderr:
		return StderrEvent{Line: raw.Data}, nil
	case EventStarted:
		var v StartedEvent
		err = json.Unmarshal([]byte(raw.Data), &v)
		ev = v
	case EventStats:
		var v StatsEvent
		err = json.Unmarshal([]byte(raw.Data), &v.ResourceStats)
		ev = v
	case EventCompleted:
		var v CompletedEvent
		err = json.Unmarshal([]byte(raw.Data), &v)
		ev = v
	case EventError:
		var v ErrorEvent
		err = json.Unmarshal([]byte(raw.Data), &v)
		ev = v
	default:
		return nil, nil
	}
	if err != nil {
		return nil, &Error{StatusCode: http.StatusOK, Code: CodeUnknown, err: err,
			Message: "malformed " + raw.Type + " event: " + err.Error()}
	}
	return ev, nil
}

// UnmarshalJSON decodes a completed event, saturating an overflowed duration_ms.
func (e *CompletedEvent) UnmarshalJSON(b []byte) error {
	type plain CompletedEvent
	aux := struct {
		*plain
		DurationMS satInt64 `json:"duration_ms"`
	}{plain: (*plain)(e)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	e.DurationMS = int64(aux.DurationMS)
	return nil
}

// Event returns the event the last call to Next advanced to. It is nil before the first
// Next, and nil after a Next that returned false because the stream failed, was closed
// or its context ended. After the terminal event it stays that CompletedEvent or
// ErrorEvent, while Next keeps returning false.
func (s *RunStream) Event() StreamEvent { return s.event }

// Err returns the error that ended the stream, or nil when it ended with a completed or
// error event or was closed by the caller. A connection dropped before the terminal event
// gives an error matching io.ErrUnexpectedEOF (and ErrNetwork); a cancelled context one
// matching context.Canceled.
func (s *RunStream) Err() error { return s.err }

// Close ends the stream and releases its connection; on the server this kills a run that
// is still going. It is idempotent, safe from any goroutine, and makes a pending Next
// return false.
func (s *RunStream) Close() error {
	s.closed.Store(true)
	s.release()
	return nil
}

// release cancels the request and closes the body, once. It does not drain: after a
// terminal event a misbehaving peer could keep the body open forever.
func (s *RunStream) release() {
	s.closeOnce.Do(func() {
		s.cancel()
		_ = s.body.Close()
	})
}

// All returns the remaining events as an iterator, starting from the current position,
// and closes the stream when the loop ends or breaks. A failure is yielded once as the
// last element, with a nil event.
func (s *RunStream) All() iter.Seq2[StreamEvent, error] {
	return func(yield func(StreamEvent, error) bool) {
		defer s.Close()
		for s.Next() {
			if !yield(s.Event(), nil) {
				return
			}
		}
		if err := s.Err(); err != nil {
			yield(nil, err)
		}
	}
}
