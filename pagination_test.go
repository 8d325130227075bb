package agentjail

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// pagedServer serves total workspaces/snapshots/jails, honouring limit and offset like
// the real server (default 50, at most 500, echoed unclamped).
func pagedServer(t *testing.T, total int, failAtOffset int) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, offset := 50, 0
		if v := q.Get("limit"); v != "" {
			limit, _ = strconv.Atoi(v)
		}
		if v := q.Get("offset"); v != "" {
			offset, _ = strconv.Atoi(v)
		}
		if failAtOffset >= 0 && offset >= failAtOffset {
			jsonReply(500, `{"error":"internal server error"}`)(w, r)
			return
		}
		var rows []string
		for i := offset; i < min(offset+min(max(limit, 1), 500), total); i++ {
			switch {
			case strings.HasSuffix(r.URL.Path, "/jails"):
				rows = append(rows, fmt.Sprintf(`{"id":%d}`, i))
			default:
				rows = append(rows, fmt.Sprintf(`{"id":"x_%d"}`, i))
			}
		}
		jsonReply(200, fmt.Sprintf(`{"rows":[%s],"total":%d,"limit":%d,"offset":%d}`, strings.Join(rows, ","), total, limit, offset))(w, r)
	})
}

// ids ranges over seq yielding each row's ID instead of the row, so that one test can
// range over every lister alike.
func ids[T any](seq iter.Seq2[T, error], id func(T) string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for row, err := range seq {
			if !yield(id(row), err) {
				return
			}
		}
	}
}

func TestAllIterators(t *testing.T) {
	t.Parallel()
	// Each lister calls All before returning, so that a fetch made before ranging shows.
	type lister func(c *Client, limit, offset int) iter.Seq2[string, error]
	listers := map[string]struct {
		list    lister
		filters string // the query every page's request must carry, besides limit and offset
	}{
		"workspaces": {func(c *Client, limit, offset int) iter.Seq2[string, error] {
			return ids(c.Workspaces.All(context.Background(), WorkspaceListParams{Limit: limit, Offset: offset, Query: "q"}),
				func(w Workspace) string { return w.ID })
		}, "q=q"},
		"snapshots": {func(c *Client, limit, offset int) iter.Seq2[string, error] {
			return ids(c.Snapshots.All(context.Background(), SnapshotListParams{WorkspaceID: "wrk_1", Limit: limit, Offset: offset, Query: "nightly"}),
				func(s Snapshot) string { return s.ID })
		}, "q=nightly&workspace_id=wrk_1"},
		"jails": {func(c *Client, limit, offset int) iter.Seq2[string, error] {
			return ids(c.Jails.All(context.Background(), JailListParams{Kind: JailKindRun, Status: JailError, Query: "boom", Limit: limit, Offset: offset}),
				func(j Jail) string { return "x_" + strconv.FormatInt(j.ID, 10) })
		}, "kind=run&q=boom&status=error"},
	}
	cases := []struct {
		name      string
		total     int
		limit     int
		offset    int
		breakAt   int // stop after this many rows; 0 = range to the end
		failAt    int // offset at which the server fails; -1 = never
		wantRows  int
		wantCalls int
		wantErr   bool
	}{
		{"three pages", 25, 10, 0, 0, -1, 25, 3, false},
		{"exact multiple stops on total", 20, 10, 0, 0, -1, 20, 2, false},
		{"default page size", 120, 0, 0, 0, -1, 120, 3, false},
		{"limit above server cap", 1200, 1000, 0, 0, -1, 1200, 3, false},
		{"start offset", 25, 10, 20, 0, -1, 5, 1, false},
		{"empty", 0, 10, 0, 0, -1, 0, 1, false},
		{"break after first row fetches one page", 25, 10, 0, 1, -1, 1, 1, false},
		{"break in second page", 25, 10, 0, 12, -1, 12, 2, false},
		{"error yielded once", 25, 10, 0, 0, 10, 10, 2, true},
	}
	for lname, l := range listers {
		for _, tc := range cases {
			t.Run(lname+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				srv := pagedServer(t, tc.total, tc.failAt)
				c := testClient(t, srv.URL, WithMaxRetries(0))
				seq := l.list(c, tc.limit, tc.offset)
				if n := len(srv.requests()); n != 0 {
					t.Fatalf("%d requests before ranging", n)
				}
				rows, errs := 0, 0
				seen := map[string]bool{}
				for id, err := range seq {
					if err != nil {
						errs++
						if !errors.Is(err, ErrServerError) {
							t.Fatalf("err = %v", err)
						}
						continue
					}
					if seen[id] {
						t.Fatalf("row %s yielded twice", id)
					}
					seen[id] = true
					rows++
					if tc.breakAt > 0 && rows == tc.breakAt {
						break
					}
				}
				if rows != tc.wantRows || (errs == 1) != tc.wantErr || errs > 1 {
					t.Fatalf("rows %d errs %d; want %d rows, error %v", rows, errs, tc.wantRows, tc.wantErr)
				}
				reqs := srv.requests()
				if len(reqs) != tc.wantCalls {
					t.Fatalf("%d requests, want %d", len(reqs), tc.wantCalls)
				}
				for i, r := range reqs {
					q, _ := url.ParseQuery(r.RawQuery)
					q.Del("limit")
					q.Del("offset")
					if got := q.Encode(); got != l.filters {
						t.Fatalf("request %d: filters %q, want %q on every page", i+1, got, l.filters)
					}
				}
				// Ranging the same sequence again starts over from the first page.
				if tc.breakAt == 0 && !tc.wantErr {
					again := 0
					for _, err := range seq {
						if err != nil {
							t.Fatalf("second range: %v", err)
						}
						again++
					}
					if again != rows {
						t.Fatalf("second range yielded %d rows, the first %d", again, rows)
					}
				}
			})
		}
	}
}
