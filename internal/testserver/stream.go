package testserver

// The Server-Sent Events of POST /v1/runs/stream (handleStreamRun in runs.go), framed byte for
// byte like axum 0.7.9's Sse response.
//
// Deliberate differences from the real server, which keep the wire contract:
//   - A bare CR inside an output line makes axum panic and cut the stream. An SSE data value
//     cannot carry a CR (WHATWG parsers treat it as a line end, so the rest of the line would
//     become a bogus field), and splitting the line into several data: lines would change its
//     text. The fake therefore sends every CR that is still inside a line as U+FFFD, the same
//     replacement character lossy UTF-8 decoding already puts into the same data: one event per
//     line, nothing dropped silently, and the stream always ends with its terminal event.
//   - A client that disconnects kills the process and the ledger row is still completed (the
//     real server leaves the row "running" forever).
//   - The timeout is enforced even while the process holds the pipes open (the real server
//     reads them to the end before it applies the timeout).

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
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
