package agentjail

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// PublicStats are the server-wide counters of GET /v1/stats.
type PublicStats struct {
	ActiveExecs int64 `json:"active_execs"` // executions running now
	TotalExecs  int64 `json:"total_execs"`  // executions started, all tenants
	Sessions    int64 `json:"sessions"`     // all tenants, expired ones included
	Credentials int64 `json:"credentials"`  // stored credential records, all tenants
}

// PublicService calls the unauthenticated routes. The API key is never sent on them.
type PublicService struct{ c *Client }

// Health asks the control plane whether it is up (GET /healthz, no API key sent). The
// server has no unhealthy answer: whenever it can answer at all it returns 200 with the
// plain text "ok", and Health returns that text with a nil error (any other 2xx text is
// returned as it is; a JSON string is unquoted). A server that is down shows up as an
// error instead: ErrNetwork when nothing answers (connection refused or reset),
// ErrServerError or ErrTimeout when a proxy in front of it answers 502, 503 or 504, and
// the context's error when ctx ends first. So treat a nil error as healthy. Like every
// GET it is retried (see WithMaxRetries); for a quick probe, bound ctx or use a client
// with WithMaxRetries(0).
func (s *PublicService) Health(ctx context.Context) (string, error) {
	var raw []byte
	if err := s.c.do(ctx, call{method: http.MethodGet, path: path("/healthz"), public: true}, &raw); err != nil {
		return "", err
	}
	text := strings.TrimSpace(string(raw))
	var quoted string
	if strings.HasPrefix(text, `"`) && json.Unmarshal([]byte(text), &quoted) == nil {
		return quoted, nil
	}
	return text, nil
}

// Stats returns the server-wide counters.
func (s *PublicService) Stats(ctx context.Context) (*PublicStats, error) {
	return doJSON[PublicStats](ctx, s.c, call{method: http.MethodGet, path: path("/v1/stats"), public: true})
}
