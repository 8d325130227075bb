package agentjail

import (
	"context"
	"net/http"
	"time"
)

// AuditRow is one request seen by the phantom proxy.
type AuditRow struct {
	ID           int64     `json:"id"`            // starts at 0 on an in-memory server, 1 with Postgres
	At           time.Time `json:"at"`            // when the proxy saw the request
	SessionID    string    `json:"session_id"`    // "" when the token was missing or unknown
	Service      string    `json:"service"`       // "" when unknown
	Method       string    `json:"method"`        // HTTP method, e.g. "POST"
	Path         string    `json:"path"`          // upstream path after /v1/<service>
	Status       int       `json:"status"`        // HTTP status the proxy answered the sandbox with
	RejectReason *string   `json:"reject_reason"` // nil when forwarded; e.g. "scope_denied", "unknown_token"
	UpstreamMS   *int64    `json:"upstream_ms"`   // set on forwarded requests only
}

// AuditList is the newest audit rows. Total counts every row on the server, across
// tenants, not just the ones returned.
type AuditList struct {
	Rows  []AuditRow `json:"rows"`  // newest first; operators see only rows of their live sessions
	Total int64      `json:"total"` // every audit row on the server, all tenants; not the filtered count
}

// AuditService reads the phantom proxy's audit log (/v1/audit).
type AuditService struct{ c *Client }

// Recent returns the newest audit rows, newest first. limit 0 means the server default
// (100); the server caps it at 1000. Operators only see rows of their own live sessions,
// so a page may be shorter than limit.
func (s *AuditService) Recent(ctx context.Context, limit int) (*AuditList, error) {
	return doJSON[AuditList](ctx, s.c, call{method: http.MethodGet, path: path("/v1/audit"), query: page{limit: limit}})
}
