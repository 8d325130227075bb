package agentjail

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// page is a list query: the paging every listing shares and the listing's own filters.
// Zero values and empty filters are not sent.
type page struct {
	limit, offset int
	q             string      // case-insensitive substring filter
	filters       [][2]string // name and value of each further filter
}

// query renders the page, refusing a negative limit or offset.
func (p page) query() (url.Values, error) {
	if p.limit < 0 || p.offset < 0 {
		return nil, invalidf("limit %d and offset %d must not be negative", p.limit, p.offset)
	}
	v := url.Values{}
	if p.limit > 0 {
		v.Set("limit", strconv.Itoa(p.limit))
	}
	if p.offset > 0 {
		v.Set("offset", strconv.Itoa(p.offset))
	}
	if p.q != "" {
		v.Set("q", p.q)
	}
	for _, f := range p.filters {
		if f[1] != "" {
			v.Set(f[0], f[1])
		}
	}
	return v, nil
}

// Server-side list paging: the server answers /v1/workspaces, /v1/snapshots and /v1/jails
// with 50 rows when no limit is given and never more than 500, whatever the limit asked.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// listAll ranges over every row of a listing from limit and offset, page by page: list
// fetches the page that at moves p to, and rows takes the rows and the count of every
// matching row out of it. No request is made until the sequence is ranged; it stops
// fetching when the loop breaks, when total rows were seen or when a page comes back
// shorter than asked; an error is yielded once and ends the sequence. Each range starts
// again from offset.
func listAll[P, L, T any](ctx context.Context, p P, limit, offset int, at func(P, int, int) P,
	list func(context.Context, P) (L, error), rows func(L) ([]T, int64)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		want := defaultPageSize
		if limit > 0 {
			want = min(limit, maxPageSize)
		}
		next := offset // the caller's offset stays as it was, for the next range
		for {
			l, err := list(ctx, at(p, limit, next))
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			page, total := rows(l)
			for _, row := range page {
				if !yield(row, nil) {
					return
				}
			}
			next += len(page)
			if len(page) < want || int64(next) >= total {
				return
			}
		}
	}
}

// at returns a listing's params moved to another page: every filter carries over.
func (p WorkspaceListParams) at(limit, offset int) WorkspaceListParams {
	p.Limit, p.Offset = limit, offset
	return p
}

func (p SnapshotListParams) at(limit, offset int) SnapshotListParams {
	p.Limit, p.Offset = limit, offset
	return p
}

func (p JailListParams) at(limit, offset int) JailListParams {
	p.Limit, p.Offset = limit, offset
	return p
}

// rows returns a page's rows and the count of every matching row.
func (l *WorkspaceList) rows() ([]Workspace, int64) { return l.Rows, l.Total }

func (l *SnapshotList) rows() ([]Snapshot, int64) { return l.Rows, l.Total }

func (l *JailList) rows() ([]Jail, int64) { return l.Rows, l.Total }
