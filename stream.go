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
)

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
		ev, err = decodeJSONEvent[StartedEvent](raw.Data)
	case EventStats:
		ev, err = decodeJSONEvent[StatsEvent](raw.Data)
	case EventCompleted:
		ev, err = decodeJSONEvent[CompletedEvent](raw.Data)
	case EventError:
		ev, err = decodeJSONEvent[ErrorEvent](raw.Data)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, &Error{StatusCode: http.StatusOK, Code: CodeUnknown, err: err,
			Message: "malformed " + raw.Type + " event: " + err.Error()}
	}
	return ev, nil
}

// decodeJSONEvent decodes an event whose data is a JSON object.
func decodeJSONEvent[T StreamEvent](data string) (StreamEvent, error) {
	var v T
	err := json.Unmarshal([]byte(data), &v)
	return v, err
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
