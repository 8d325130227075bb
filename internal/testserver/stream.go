package testserver

// POST /v1/runs/stream (WIRE.md §5.11, §6): a run whose output arrives as Server-Sent Events,
// framed byte for byte like axum 0.7.9. The process is a REAL host process; see runner.go.
//
// Deliberate differences from the real server, which keep the wire contract:
//   - A bare CR inside an output line makes axum panic and cut the stream (§6.4). An SSE data
//     value cannot carry a CR (WHATWG parsers treat it as a line end, so the rest of the line
//     would become a bogus field), and splitting the line into several data: lines would change
//     its text. The fake therefore sends every CR that is still inside a line as U+FFFD, the same
//     replacement character lossy UTF-8 decoding already puts into the same data: one event per
//     line, nothing dropped silently, and the stream always ends with its terminal event.
//   - A client that disconnects kills the process and the ledger row is still completed (§11.12).
//   - The timeout is enforced even while a child holds the pipes (§11.3).

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// sseLine is one output line waiting to be framed.
type sseLine struct {
	stream, text string
}

// streamCompleted is the data of the terminal completed event: no io_* fields. The real server
// builds it with serde_json's json! macro, whose map sorts keys (no preserve_order feature), so
// the fields are in alphabetical order here.
type streamCompleted struct {
	CPUUsageUsec       uint64 `json:"cpu_usage_usec"`
	DurationMs         uint64 `json:"duration_ms"`
	ExitCode           int    `json:"exit_code"`
	MemoryCurrentBytes uint64 `json:"memory_current_bytes"`
	MemoryPeakBytes    uint64 `json:"memory_peak_bytes"`
	OomKilled          bool   `json:"oom_killed"`
	PidsCurrent        uint64 `json:"pids_current"`
	TimedOut           bool   `json:"timed_out"`
}

// streamStats is the data of a stats event: the ExecResponse stats counters, keys sorted like
// the json! map the real server sends.
type streamStats struct {
	CPUUsageUsec       uint64 `json:"cpu_usage_usec"`
	IOReadBytes        uint64 `json:"io_read_bytes"`
	IOWriteBytes       uint64 `json:"io_write_bytes"`
	MemoryCurrentBytes uint64 `json:"memory_current_bytes"`
	MemoryPeakBytes    uint64 `json:"memory_peak_bytes"`
	PidsCurrent        uint64 `json:"pids_current"`
}

func streamStatsOf(st execStats) streamStats {
	return streamStats{
		CPUUsageUsec: st.CPUUsageUsec, IOReadBytes: st.IOReadBytes, IOWriteBytes: st.IOWriteBytes,
		MemoryCurrentBytes: st.MemoryCurrentBytes, MemoryPeakBytes: st.MemoryPeakBytes, PidsCurrent: st.PidsCurrent,
	}
}

func (s *Server) handleStream(w http.ResponseWriter, r *http.Request, sc scope) error {
	req, js, err := readRunRequest(r)
	if err != nil {
		return err
	}
	e := s.exec
	// git is recorded but never cloned or validated, like the real route.
	js.gitRepo, js.gitRef = req.Git.primary()
	pm, ok := e.run.tryAcquire()
	if !ok {
		return errTooManyExecs()
	}
	defer pm.release()
	label, lang, err := languageOf(req.Language.ptr())
	if err != nil {
		return err
	}
	dirs, err := e.prepareRun(r.Context(), lang, *req.Code, nil, &js)
	if err != nil {
		return err
	}
	defer dirs.remove()

	lines := make(chan sseLine, 64)
	// stop releases output readers blocked on a full channel once nobody reads it any more.
	stop := make(chan struct{})
	stopReaders := sync.OnceFunc(func() { close(stop) })
	defer stopReaders()
	p, err := e.start(js, procSpec{
		argv: e.scriptArgv(lang, lang.file), dir: dirs.workspace, output: dirs.output, env: []string{"PATH=" + jailPath},
		timeout: js.timeout(),
		onLine: func(stream, line string) {
			select {
			case lines <- sseLine{stream, line}:
			case <-stop:
			}
		},
	})
	if err != nil {
		// Like the real route, a spawn failure leaves no ledger row: the row is opened only once
		// the process is running.
		return errInternal(err)
	}
	id := e.jails.open(newJail{tenant: sc.tenant, kind: "stream", label: label, config: js.snapshot()})

	sw := newSSEWriter(w)
	sw.json("started", map[string]int{"pid": p.pid()})
	keepAlive, statsEvery := e.streamTimings()
	stats := time.NewTicker(statsEvery)
	defer stats.Stop()
	idle := time.NewTimer(keepAlive)
	defer idle.Stop()
	for {
		select {
		case ln := <-lines:
			sw.text(ln.stream, ln.text)
		case <-stats.C:
			sw.json("stats", streamStatsOf(p.sample()))
		case <-idle.C:
			sw.comment()
		case <-p.done:
		drain:
			for {
				select {
				case ln := <-lines:
					sw.text(ln.stream, ln.text)
				default:
					break drain
				}
			}
			res := p.wait()
			e.jails.complete(id, res)
			c := streamCompleted{ExitCode: res.exitCode, DurationMs: res.durationMs(), TimedOut: res.timedOut}
			if st := res.stats; st != nil {
				c.MemoryPeakBytes, c.MemoryCurrentBytes, c.CPUUsageUsec, c.PidsCurrent = st.MemoryPeakBytes, st.MemoryCurrentBytes, st.CPUUsageUsec, st.PidsCurrent
			}
			sw.json("completed", c)
			return nil
		case <-r.Context().Done():
			p.kill()
			stopReaders()
			e.jails.complete(id, p.wait())
			return nil
		}
		idle.Reset(keepAlive)
	}
}

// sseWriter frames events exactly like axum's Sse response: "event: <name>\n", one
// "data: <piece>\n" per LF-separated piece, then "\n"; flushed after every frame.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf bytes.Buffer
}

func newSSEWriter(w http.ResponseWriter) *sseWriter {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{w: w, rc: http.NewResponseController(w)}
	_ = sw.rc.Flush()
	return sw
}

// text sends an event whose data is s, split on "\n"; a CR left in s is sent as U+FFFD (see
// the file comment).
func (sw *sseWriter) text(event, s string) {
	sw.buf.Reset()
	sw.buf.WriteString("event: " + event + "\n")
	for _, piece := range strings.Split(strings.ReplaceAll(s, "\r", "\uFFFD"), "\n") {
		sw.buf.WriteString("data: " + piece + "\n")
	}
	sw.buf.WriteString("\n")
	sw.flush()
}

// json sends an event whose data is v as compact JSON (no HTML escaping, like serde_json).
func (sw *sseWriter) json(event string, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	data := unescapeLineSeparators(bytes.ReplaceAll(bytes.ReplaceAll(b.Bytes(), []byte("\n"), nil), []byte("\r"), nil))
	sw.buf.Reset()
	sw.buf.WriteString("event: " + event + "\ndata: ")
	sw.buf.Write(data)
	sw.buf.WriteString("\n\n")
	sw.flush()
}

// comment sends the keep-alive frame ":\n\n".
func (sw *sseWriter) comment() {
	sw.buf.Reset()
	sw.buf.WriteString(":\n\n")
	sw.flush()
}

func (sw *sseWriter) flush() {
	_, _ = sw.w.Write(sw.buf.Bytes())
	_ = sw.rc.Flush()
}
