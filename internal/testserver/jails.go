package testserver

// The jail ledger: one row per run, session exec, fork member, stream and workspace exec, and
// the read-only routes over it. Rows live in memory only; ids start at 0 like the real server's
// in-memory store.

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	jailStatusRunning   = "running"
	jailStatusCompleted = "completed"
	jailStatusError     = "error"
)

// jailConfigSnapshot is the wire shape of JailRecord.config.
type jailConfigSnapshot struct {
	NetworkMode    string   `json:"network_mode"`
	NetworkDomains []string `json:"network_domains,omitempty"`
	Seccomp        string   `json:"seccomp"`
	MemoryMB       uint64   `json:"memory_mb"`
	TimeoutSecs    uint64   `json:"timeout_secs"`
	CPUPercent     uint64   `json:"cpu_percent"`
	MaxPids        uint64   `json:"max_pids"`
	GitRepo        string   `json:"git_repo,omitempty"`
	GitRef         string   `json:"git_ref,omitempty"`
}

// jailRecord is the wire shape of a JailRecord. Every key but config is always present.
type jailRecord struct {
	ID                 int64               `json:"id"`
	TenantID           string              `json:"tenant_id"`
	Kind               string              `json:"kind"`
	StartedAt          time.Time           `json:"started_at"`
	EndedAt            *time.Time          `json:"ended_at"`
	Status             string              `json:"status"`
	SessionID          *string             `json:"session_id"`
	Label              string              `json:"label"`
	ParentID           *int64              `json:"parent_id"`
	ExitCode           *int                `json:"exit_code"`
	DurationMs         *uint64             `json:"duration_ms"`
	TimedOut           *bool               `json:"timed_out"`
	OomKilled          *bool               `json:"oom_killed"`
	MemoryPeakBytes    *uint64             `json:"memory_peak_bytes"`
	MemoryCurrentBytes *uint64             `json:"memory_current_bytes"`
	CPUUsageUsec       *uint64             `json:"cpu_usage_usec"`
	IOReadBytes        *uint64             `json:"io_read_bytes"`
	IOWriteBytes       *uint64             `json:"io_write_bytes"`
	PidsCurrent        *uint64             `json:"pids_current"`
	Stdout             *string             `json:"stdout"`
	Stderr             *string             `json:"stderr"`
	Error              *string             `json:"error"`
	Config             *jailConfigSnapshot `json:"config,omitempty"`
}

// jailCapacity is how many rows the real server's in-memory ledger keeps; the oldest rows are
// dropped (404 afterwards) while ids keep counting.
const jailCapacity = 2000

// jailStore is the in-memory ledger.
type jailStore struct {
	mu    sync.Mutex
	rows  []*jailRecord // ordered by id, contiguous ids
	next  int64
	cap   int           // retained rows
	ended chan struct{} // closed (and replaced) whenever a row changes
}

// rowLocked returns row id if it is still retained. st.mu held.
func (st *jailStore) rowLocked(id int64) *jailRecord {
	if len(st.rows) == 0 {
		return nil
	}
	i := id - st.rows[0].ID
	if i < 0 || i >= int64(len(st.rows)) {
		return nil
	}
	return st.rows[i]
}

// newJail describes a row to open.
type newJail struct {
	tenant    string
	kind      string
	label     string
	sessionID string // only for kind "exec"
	parentID  *int64
	config    *jailConfigSnapshot
}

// open records a running row and returns its id.
func (st *jailStore) open(n newJail) int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	rec := &jailRecord{
		ID: st.next, TenantID: n.tenant, Kind: n.kind, StartedAt: now(),
		Status: jailStatusRunning, Label: n.label, ParentID: n.parentID, Config: n.config,
	}
	if n.sessionID != "" {
		sid := n.sessionID
		rec.SessionID = &sid
	}
	st.next++
	st.rows = appendCapped(st.rows, rec, st.cap)
	return rec.ID
}

// ledgerCap is the stored stdout/stderr limit; longer text gets "… (truncated)".
const ledgerCap = 16 << 10

func ledgerText(s string) *string {
	if len(s) > ledgerCap {
		s = cutUTF8(s, ledgerCap) + "… (truncated)"
	}
	return &s
}

// complete marks a reaped process: status completed, even for timeouts.
func (st *jailStore) complete(id int64, res procResult) {
	st.update(id, func(r *jailRecord) {
		r.Status = jailStatusCompleted
		code, ms, to, oom := res.exitCode, res.durationMs(), res.timedOut, false
		r.ExitCode, r.DurationMs, r.TimedOut, r.OomKilled = &code, &ms, &to, &oom
		if res.stats != nil {
			s := *res.stats
			r.MemoryPeakBytes, r.MemoryCurrentBytes, r.CPUUsageUsec = &s.MemoryPeakBytes, &s.MemoryCurrentBytes, &s.CPUUsageUsec
			r.IOReadBytes, r.IOWriteBytes, r.PidsCurrent = &s.IOReadBytes, &s.IOWriteBytes, &s.PidsCurrent
		}
		r.Stdout, r.Stderr = ledgerText(res.stdout), ledgerText(res.stderr)
	})
}

// completeStream is complete for a stream row: its lines went to the client, so the row keeps
// "" for stdout and stderr like the real server's.
func (st *jailStore) completeStream(id int64, res procResult) {
	res.stdout, res.stderr = "", ""
	st.complete(id, res)
}

// fail marks an engine or spawn failure.
func (st *jailStore) fail(id int64, msg string) {
	st.update(id, func(r *jailRecord) {
		r.Status = jailStatusError
		r.Error = &msg
	})
}

func (st *jailStore) update(id int64, f func(*jailRecord)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r := st.rowLocked(id)
	if r == nil || r.Status != jailStatusRunning {
		return
	}
	f(r)
	at := now()
	r.EndedAt = &at
	st.changedLocked()
}

// awaitEnded waits until row id is no longer running, or ctx ends.
func (st *jailStore) awaitEnded(ctx context.Context, id int64) (jailRecord, error) {
	return st.awaitRow(ctx, id, func(r jailRecord) bool { return r.Status != jailStatusRunning })
}

// get returns a copy of row id when sc may see it.
func (st *jailStore) get(id int64, sc scope) (jailRecord, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r := st.rowLocked(id)
	if r == nil || !sc.canSee(r.TenantID) {
		return jailRecord{}, false
	}
	return *r, true
}

// jailFilter is the parsed query of GET /v1/jails.
type jailFilter struct {
	status, kind, q string
	limit, offset   int
}

func (st *jailStore) list(sc scope, f jailFilter) ([]jailRecord, int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	// A blank q is no filter; any other q is matched as sent, surrounding spaces included.
	q := ""
	if strings.TrimSpace(f.q) != "" {
		q = strings.ToLower(f.q)
	}
	var match []jailRecord
	for i := len(st.rows) - 1; i >= 0; i-- {
		r := st.rows[i]
		if !sc.canSee(r.TenantID) || (f.status != "" && r.Status != f.status) || (f.kind != "" && r.Kind != f.kind) {
			continue
		}
		if q != "" {
			hay := strings.ToLower(r.Label)
			if r.SessionID != nil {
				hay += "\x00" + strings.ToLower(*r.SessionID)
			}
			if r.Error != nil {
				hay += "\x00" + strings.ToLower(*r.Error)
			}
			if !strings.Contains(hay, q) {
				continue
			}
		}
		match = append(match, *r)
	}
	return pageOf(match, f.offset, f.limit), len(match)
}

func (s *Server) handleListJails(w http.ResponseWriter, r *http.Request, sc scope) error {
	lq, err := listQuery(r)
	if err != nil {
		return err
	}
	f := jailFilter{limit: lq.limit, offset: lq.offset}
	for _, p := range []struct {
		name  string
		dst   *string
		valid []string
	}{
		{"status", &f.status, []string{jailStatusRunning, jailStatusCompleted, jailStatusError}},
		{"kind", &f.kind, []string{"run", "exec", "fork", "stream", "workspace"}},
		{"q", &f.q, nil},
	} {
		v, _, err := queryString(r, p.name)
		if err != nil {
			return err
		}
		if p.valid == nil || slices.Contains(p.valid, v) {
			*p.dst = v // unknown status/kind values are ignored, like the real server
		}
	}
	rows, total := s.exec.jails.list(sc, f)
	writeJSON(w, http.StatusOK, lq.page(rows, total))
	return nil
}

func (s *Server) handleGetJail(w http.ResponseWriter, r *http.Request, sc scope) error {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return errBadRequest("invalid id")
	}
	rec, ok := s.exec.jails.get(id, sc)
	if !ok {
		return errNotFound("jail %d", id)
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}
