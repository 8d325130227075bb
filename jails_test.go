package agentjail

import (
	"context"
	"math"
	"testing"
)

// jailMaxDuration is a finished jail whose duration_ms is the server's u64 maximum.
const jailMaxDuration = `{"id":0,"tenant_id":"dev","kind":"run","started_at":"2026-01-02T03:04:05Z","ended_at":null,` +
	`"status":"completed","session_id":null,"label":"js","parent_id":null,"exit_code":0,"duration_ms":` + maxU64 +
	`,"timed_out":false,"oom_killed":false,"memory_peak_bytes":null,"memory_current_bytes":null,` +
	`"cpu_usage_usec":null,"io_read_bytes":null,"io_write_bytes":null,"pids_current":null,` +
	`"stdout":"","stderr":"","error":null}`

// TestJailsRequests: every filter goes out, unknown kinds and states are kept as sent,
// and a u64 duration decodes saturated at math.MaxInt64 instead of failing the page.
func TestJailsRequests(t *testing.T) {
	t.Parallel()
	checkCalls(t, []apiCall{
		{name: "jails list all filters", reply: `{"rows":[` + fixtureJail + `],"total":1,"limit":0,"offset":3}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Jails.List(ctx, JailListParams{Limit: 8, Offset: 3, Status: JailRunning, Kind: JailKindWorkspace, Query: "workspace:wrk_1"})
			},
			method: "GET", path: "/v1/jails", query: "kind=workspace&limit=8&offset=3&q=workspace%3Awrk_1&status=running",
			check: func(t *testing.T, got any) {
				l := got.(*JailList)
				j := l.Rows[0]
				if j.ID != 0 || j.Kind != JailKindFork || *j.ParentID != 7 || j.ExitCode != nil || j.Config == nil || j.Config.GitRepo != "" ||
					j.Config.NetworkDomains != nil || j.Label != "js · child 2" || j.SessionID != nil || l.Offset != 3 {
					t.Fatalf("got %+v", l)
				}
			}},
		{name: "jails list keeps unknown enum values",
			reply:  `{"rows":[{"id":1,"kind":"teleport","status":"paused","started_at":"2026-01-02T03:04:05Z","label":"x"}],"total":1,"limit":50,"offset":0}`,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Jails.List(ctx, JailListParams{}) },
			method: "GET", path: "/v1/jails",
			check: func(t *testing.T, got any) {
				j := got.(*JailList).Rows[0]
				if j.Kind != "teleport" || j.Status != "paused" {
					t.Fatalf("got %+v", j)
				}
			}},

		{name: "jails get saturates duration_ms", reply: jailMaxDuration,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Jails.Get(ctx, 0) },
			method: "GET", path: "/v1/jails/0",
			check: func(t *testing.T, got any) {
				j := got.(*Jail)
				if j.DurationMS == nil || *j.DurationMS != math.MaxInt64 || j.ExitCode == nil || *j.ExitCode != 0 || j.Label != "js" {
					t.Fatalf("got %+v", j)
				}
			}},
		{name: "jails list saturates duration_ms", reply: `{"rows":[` + jailMaxDuration + `],"total":1,"limit":50,"offset":0}`,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Jails.List(ctx, JailListParams{}) },
			method: "GET", path: "/v1/jails",
			check: func(t *testing.T, got any) {
				l := got.(*JailList)
				if len(l.Rows) != 1 || l.Rows[0].DurationMS == nil || *l.Rows[0].DurationMS != math.MaxInt64 {
					t.Fatalf("got %+v", l)
				}
			}},
	})
	checkInvalid(t, []invalidCall{
		{"negative offset", func(ctx context.Context, c *Client) error {
			_, err := c.Jails.List(ctx, JailListParams{Offset: -1})
			return err
		}},
	})
}
