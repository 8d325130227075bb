package testserver

// Fault injection and the request log of the control plane. Both sit in front
// of everything else the control plane does: a request is logged on arrival,
// and a request a fault matches is answered here, so it never reaches
// authentication or a handler and changes no state. The phantom proxy is
// neither logged nor faulted.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault makes the control plane answer matching requests with a failure
// instead of handling them. Package agentjailtest documents each field for
// its users; in short: Method "" and Path "" match everything, a Path ending
// in "*" is a prefix of the escaped path; Status 0 is 500; Body "" is the
// JSON error envelope with the lower-case status text, a valid JSON Body is
// sent as application/json and any other as text/plain; RetryAfter is sent
// in whole seconds rounded up; Drop reads the request and closes the
// connection unanswered; Times 0 is 1 and negative is forever.
type Fault struct {
	Method     string
	Path       string
	Status     int
	Body       string
	RetryAfter time.Duration
	Drop       bool
	Times      int
}

// Request is one control-plane request the server received: its escaped
// path, raw query and the status answered (0 for a Drop fault, and while it
// is not answered yet).
type Request struct {
	Method string
	Path   string
	Query  string
	Status int
}

// maxLoggedRequests is how many requests the log keeps; older ones are
// forgotten.
const maxLoggedRequests = 10_000

// controlTap holds the fault rules and the request log.
type controlTap struct {
	mu    sync.Mutex
	rules []Fault         // in the order added; Times > 0 counts down, < 0 is forever
	log   []loggedRequest // oldest first, consecutive sequence numbers
	next  uint64          // sequence number of the next request
	limit int             // requests kept; 0 means maxLoggedRequests
}

type loggedRequest struct {
	Request
	seq uint64
}

// InjectFault makes the control plane answer the requests f matches with
// f's failure. Rules are tried in the order they were added, the first match
// wins, and a rule that has failed its Times requests is removed. It returns
// an error, and adds nothing, if f.Status is neither 0 nor between 200 and
// 599.
func (s *Server) InjectFault(f Fault) error {
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	if f.Status < 200 || f.Status > 599 {
		return fmt.Errorf("fault status %d is not between 200 and 599", f.Status)
	}
	if f.Times == 0 {
		f.Times = 1
	}
	s.tap.mu.Lock()
	defer s.tap.mu.Unlock()
	s.tap.rules = append(s.tap.rules, f)
	return nil
}

// ClearFaults removes every fault rule; requests are handled normally again.
func (s *Server) ClearFaults() {
	s.tap.mu.Lock()
	defer s.tap.mu.Unlock()
	s.tap.rules = nil
}

// Requests returns the control-plane requests received so far, oldest first,
// including those answered 401, 404 or by a fault: the last 10,000 of them.
// The slice is a copy the caller may keep.
func (s *Server) Requests() []Request {
	s.tap.mu.Lock()
	defer s.tap.mu.Unlock()
	out := make([]Request, len(s.tap.log))
	for i, e := range s.tap.log {
		out[i] = e.Request
	}
	return out
}

func (t *controlTap) capacity() int {
	if t.limit > 0 {
		return t.limit
	}
	return maxLoggedRequests
}

// arrive logs r and, unless hostOK is false, takes the first fault rule
// matching it. It returns r's sequence number for answered.
func (t *controlTap) arrive(r *http.Request, hostOK bool) (uint64, Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	seq := t.next
	t.next++
	entry := loggedRequest{Request: Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery}, seq: seq}
	t.log = appendCapped(t.log, entry, t.capacity())
	if !hostOK {
		return seq, Fault{}, false
	}
	for i, f := range t.rules {
		if !f.matches(r.Method, entry.Path) {
			continue
		}
		if f.Times > 0 {
			t.rules[i].Times--
			if t.rules[i].Times == 0 {
				t.rules = append(t.rules[:i], t.rules[i+1:]...)
			}
		}
		return seq, f, true
	}
	return seq, Fault{}, false
}

// answered records the status of request seq, unless it has been forgotten
// or already has one.
func (t *controlTap) answered(seq uint64, status int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.log) == 0 || seq < t.log[0].seq || seq-t.log[0].seq >= uint64(len(t.log)) {
		return
	}
	if e := &t.log[seq-t.log[0].seq]; e.Status == 0 {
		e.Status = status
	}
}

func (f Fault) matches(method, escapedPath string) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, method) {
		return false
	}
	if prefix, ok := strings.CutSuffix(f.Path, "*"); ok {
		return strings.HasPrefix(escapedPath, prefix)
	}
	return f.Path == "" || f.Path == escapedPath
}

// tapped wraps the control plane's handler: every request is logged, and one
// that a fault matches is answered with the fault instead of reaching next.
// Requests with a foreign Host are never faulted, so the Host guard still
// answers them.
func (s *Server) tapped(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, f, faulted := s.tap.arrive(r, s.ctlHosts.allowed(r.Host))
		if faulted {
			if !f.Drop {
				// Logged before the answer leaves, as for handled requests.
				s.tap.answered(seq, f.Status)
			}
			answerFault(w, r, f)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, tap: &s.tap, seq: seq}
		next.ServeHTTP(rec, r)
		// A handler that wrote nothing is answered 200 once it returns.
		rec.record(http.StatusOK)
	})
}

// answerFault answers r with f, or closes the connection for a drop.
func answerFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if f.Drop {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			// Without a connection to close, abort: net/http then drops
			// the connection without writing a response.
			panic(http.ErrAbortHandler)
		}
		conn.Close()
		return
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatUint(ceilSecs(f.RetryAfter), 10))
	}
	if f.Body == "" {
		writeJSON(w, f.Status, map[string]string{"error": statusText(f.Status)})
		return
	}
	if json.Valid([]byte(f.Body)) {
		writeBody(w, f.Status, "application/json", []byte(f.Body))
		return
	}
	writePlain(w, f.Status, f.Body)
}

// statusText is the message of a status in the real server's error
// envelope: the reason phrase in lower case, as in "internal server error".
func statusText(status int) string {
	if text := http.StatusText(status); text != "" {
		return strings.ToLower(text)
	}
	return "status " + strconv.Itoa(status)
}

// statusRecorder reports the status of a response as soon as it is decided,
// before any byte reaches the client, so a client that has its answer finds
// it in the log.
type statusRecorder struct {
	http.ResponseWriter
	tap  *controlTap
	seq  uint64
	done bool // a status was recorded
}

// record logs status unless one was recorded already.
func (r *statusRecorder) record(status int) {
	if !r.done {
		r.done = true
		r.tap.answered(r.seq, status)
	}
}

func (r *statusRecorder) WriteHeader(status int) {
	if status >= 200 {
		r.record(status)
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.record(http.StatusOK)
	return r.ResponseWriter.Write(p)
}

// FlushError flushes the response, which sends 200 if no status was written.
func (r *statusRecorder) FlushError() error {
	r.record(http.StatusOK)
	return http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
