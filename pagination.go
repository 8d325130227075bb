package agentjail

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// pageQuery renders limit/offset/q list parameters, leaving out the ones not set.
func pageQuery(limit, offset int, q string) (url.Values, error) {
	if limit < 0 || offset < 0 {
		return nil, invalidf("limit %d and offset %d must not be negative", limit, offset)
	}
	v := url.Values{}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if q != "" {
		v.Set("q", q)
	}
	return v, nil
}

// Server-side list paging: the server answers /v1/workspaces, /v1/snapshots and /v1/jails
// with 50 rows when no limit is given and never more than 500, whatever the limit asked.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// paginate ranges over a listing page by page. No request is made until the sequence is
// ranged; it stops fetching when the loop breaks, when total rows were seen or when a
// page comes back shorter than asked; an error is yielded once and ends the sequence.
func paginate[T any](ctx context.Context, limit, offset int,
	fetch func(ctx context.Context, limit, offset int) (rows []T, total int64, err error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		want := defaultPageSize
		if limit > 0 {
			want = min(limit, maxPageSize)
		}
		for {
			rows, total, err := fetch(ctx, limit, offset)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, row := range rows {
				if !yield(row, nil) {
					return
				}
			}
			offset += len(rows)
			if len(rows) < want || int64(offset) >= total {
				return
			}
		}
	}
}
