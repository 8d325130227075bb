package testserver

import (
	"net/http"
	"sync"
	"time"
)

// Audit: one row per phantom-proxy request, newest first. Ids start at 0
// like the real in-memory store. Admins see every row; operators see the
// rows of their tenant's live sessions.

// auditRow is the wire AuditRow.
type auditRow struct {
	ID           uint64    `json:"id"`
	At           time.Time `json:"at"`
	SessionID    string    `json:"session_id"`
	Service      string    `json:"service"`
	Method       string    `json:"method"`
	Path         string    `json:"path"`
	Status       int       `json:"status"`
	RejectReason *string   `json:"reject_reason"`
	UpstreamMS   *uint64   `json:"upstream_ms"`
}

// auditCapacity is how many rows the real server's in-memory audit store
// keeps; older rows are dropped, but ids and the total keep counting.
const auditCapacity = 10_000

type auditLog struct {
	mu   sync.Mutex
	rows []auditRow // oldest first
	next uint64     // id of the next row = rows ever recorded
	cap  int        // retained rows
}

func newAuditLog() *auditLog { return &auditLog{cap: auditCapacity} }

// appendCapped appends v, first dropping the oldest elements so that at most max remain.
func appendCapped[T any](rows []T, v T, max int) []T {
	if len(rows) >= max {
		rows = rows[len(rows)-max+1:]
	}
	return append(rows, v)
}

// append stamps the row with the next id and the current time.
func (a *auditLog) append(row auditRow) {
	a.mu.Lock()
	defer a.mu.Unlock()
	row.ID = a.next
	a.next++
	row.At = now()
	a.rows = appendCapped(a.rows, row, a.cap)
}

// recent returns up to n retained rows, newest first, and the number of rows
// ever recorded.
func (a *auditLog) recent(n int) ([]auditRow, uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []auditRow{}
	for i := len(a.rows) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, a.rows[i])
	}
	return out, a.next
}

type auditPage struct {
	Rows  []auditRow `json:"rows"`
	Total uint64     `json:"total"`
}

func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request, sc scope) error {
	limit, present, err := queryUint(r, "limit")
	if err != nil {
		return err
	}
	if !present {
		limit = 100
	}
	limit = min(limit, 1000)
	if sc.isAdmin() {
		rows, total := s.audit.recent(int(limit))
		writeJSON(w, http.StatusOK, auditPage{Rows: rows, Total: total})
		return nil
	}
	// Operators: a window of recent rows filtered to their live sessions,
	// so the page can be short even when older matches exist.
	window, total := s.audit.recent(int(min(limit*4, 1000)))
	own := s.sessions.idsOfTenant(sc.tenant)
	rows := []auditRow{}
	for _, row := range window {
		if len(rows) == int(limit) {
			break
		}
		if own[row.SessionID] {
			rows = append(rows, row)
		}
	}
	writeJSON(w, http.StatusOK, auditPage{Rows: rows, Total: total})
	return nil
}
