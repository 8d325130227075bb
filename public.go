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

// Health returns "ok" when the control plane is up. The server answers plain text; a
// JSON string is accepted too.
func (s *PublicService) Health(ctx context.Context) (string, error) {
	var raw []byte
	if err := s.c.do(ctx, call{method: http.MethodGet, path: route{escaped: "/healthz"}, public: true}, &raw); err != nil {
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
	return doJSON[PublicStats](ctx, s.c, call{method: http.MethodGet, path: path("stats"), public: true})
}
