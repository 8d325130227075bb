package agentjail

import (
	"context"
	"testing"
)

// TestAuditRequests: a limit of 0 is left out for the server's default, and rejected and
// forwarded rows decode their nullable fields.
func TestAuditRequests(t *testing.T) {
	t.Parallel()
	checkCalls(t, []apiCall{
		{name: "audit recent limit", reply: `{"rows":[{"id":3,"at":"2026-01-02T03:04:05Z","session_id":"sess_a","service":"openai","method":"POST","path":"/v1/chat/completions","status":200,"reject_reason":null,"upstream_ms":41},{"id":2,"at":"2026-01-02T03:04:04Z","session_id":"","service":"","method":"GET","path":"/x","status":401,"reject_reason":"no_token","upstream_ms":null}],"total":9}`,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Audit.Recent(ctx, 50) },
			method: "GET", path: "/v1/audit", query: "limit=50",
			check: func(t *testing.T, got any) {
				l := got.(*AuditList)
				if l.Total != 9 || len(l.Rows) != 2 || *l.Rows[0].UpstreamMS != 41 || l.Rows[0].RejectReason != nil ||
					*l.Rows[1].RejectReason != "no_token" || l.Rows[1].UpstreamMS != nil || l.Rows[1].Status != 401 {
					t.Fatalf("got %+v", l)
				}
			}},
		{name: "audit recent default", reply: `{"rows":[],"total":0}`,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Audit.Recent(ctx, 0) },
			method: "GET", path: "/v1/audit"},
	})
	checkInvalid(t, []invalidCall{
		{"negative limit", func(ctx context.Context, c *Client) error { _, err := c.Audit.Recent(ctx, -5); return err }},
	})
}

// TestAuditFlow: against the fake control plane, a request the phantom proxy forwarded
// and one it refused for its scope show up in the audit log, newest first.
func TestAuditFlow(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	c, ctx := st.client, context.Background()
	sess := openaiSession(t, c)
	if code := proxyCall(t, "POST", sess.Env["OPENAI_BASE_URL"]+"/chat/completions", sess.Env["OPENAI_API_KEY"]); code != 200 {
		t.Fatalf("proxy status %d", code)
	}
	audit, err := c.Audit.Recent(ctx, 10)
	if err != nil || audit.Total == 0 || len(audit.Rows) == 0 || audit.Rows[0].Service != "openai" ||
		audit.Rows[0].SessionID != sess.ID || audit.Rows[0].Status != 200 || audit.Rows[0].RejectReason != nil || audit.Rows[0].UpstreamMS == nil {
		t.Fatalf("audit %+v %v", audit, err)
	}
	if a, err := c.Audit.Recent(ctx, 0); err != nil || a.Total == 0 || a.Rows[0].Method == "" || a.Rows[0].Status == 0 {
		t.Fatalf("audit %+v %v", a, err)
	}

	scoped := openaiSession(t, c, "/v1/models/*")
	if code := proxyCall(t, "POST", scoped.Env["OPENAI_BASE_URL"]+"/chat/completions", scoped.Env["OPENAI_API_KEY"]); code != 403 {
		t.Fatalf("out of scope: %d", code)
	}
	rows, err := c.Audit.Recent(ctx, 5)
	if err != nil || rows.Rows[0].RejectReason == nil || *rows.Rows[0].RejectReason != "scope_denied" {
		t.Fatalf("audit %+v %v", rows, err)
	}
}
