package testserver

// The plumbing shared by the list routes (/v1/jails, /v1/workspaces, /v1/snapshots): the
// {rows,total,limit,offset} envelope, limit and offset parsing and the case-insensitive q search;
// and by the get routes: the {id} lookup and its 404.

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// listQuery reads the limit (default 50, at most 500) and offset parameters shared by the jail,
// workspace and snapshot lists. The echoed limit is capped at 500 like the real handlers, but not
// raised to the store's lower bound of 1: limit=0 echoes 0 and still returns one row.
func listQuery(r *http.Request) (lq listQueryValues, err error) {
	lq.limitEcho = 50
	if v, ok, err := queryUint(r, "limit"); err != nil {
		return lq, err
	} else if ok {
		lq.limitEcho = min(v, 500)
	}
	if lq.offsetEcho, _, err = queryUint(r, "offset"); err != nil {
		return lq, err
	}
	lq.limit = int(lq.limitEcho)
	lq.offset = int(min(lq.offsetEcho, 1<<40))
	return lq, nil
}

// listQueryValues holds the paging parameters as sent (echoed back) and as applied.
type listQueryValues struct {
	limitEcho, offsetEcho uint64
	limit, offset         int
}

// page wraps one page of rows, out of total matches, in the list envelope with the
// limit and offset echoed as sent.
func (lq listQueryValues) page(rows any, total int) listPage {
	return listPage{Rows: rows, Total: uint64(total), Limit: lq.limitEcho, Offset: lq.offsetEcho}
}

// listPage is the {rows,total,limit,offset} envelope of the list routes.
type listPage struct {
	Rows   any    `json:"rows"`
	Total  uint64 `json:"total"`
	Limit  uint64 `json:"limit"`
	Offset uint64 `json:"offset"`
}

// pageOf returns rows[offset:offset+limit] with the store's lower bound of one row.
func pageOf[T any](rows []T, offset, limit int) []T {
	if limit < 1 {
		limit = 1
	}
	if offset >= len(rows) {
		return []T{}
	}
	end := len(rows)
	if limit < end-offset {
		end = offset + limit
	}
	return rows[offset:end]
}

// writeNewestFirst answers a list route: match sorted newest first, then the page lq asks for,
// with the total number of matches.
func writeNewestFirst[T any](w http.ResponseWriter, lq listQueryValues, match []T, created func(T) time.Time) error {
	sortNewestFirst(match, created)
	writeJSON(w, http.StatusOK, lq.page(pageOf(match, lq.offset, lq.limit), len(match)))
	return nil
}

// sortNewestFirst orders rows by created time, newest first, ties broken by insertion order.
func sortNewestFirst[T any](rows []T, created func(T) time.Time) {
	sort.SliceStable(rows, func(i, j int) bool { return created(rows[i]).After(created(rows[j])) })
}

// byPathID looks up the {id} path value with get; a miss is the 404 "not found: <kind> <id>".
func byPathID[T any](r *http.Request, sc scope, kind string, get func(id string, sc scope) (T, bool)) (T, error) {
	id := r.PathValue("id")
	v, ok := get(id, sc)
	if !ok {
		return v, errNotFound("%s %s", kind, id)
	}
	return v, nil
}

// writeByPathID answers a get route: the {id} row visible to the caller as JSON, or the 404.
func writeByPathID[T any](w http.ResponseWriter, r *http.Request, sc scope, kind string, get func(id string, sc scope) (T, bool)) error {
	v, err := byPathID(r, sc, kind, get)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// searchTerm reads the q parameter of the workspace and snapshot lists: trimmed and
// lower-cased, "" when absent or blank.
func searchTerm(r *http.Request) (string, error) {
	q, _, err := queryString(r, "q")
	return strings.ToLower(strings.TrimSpace(q)), err
}

// matchesTerm reports whether the lower-cased term q is a substring of one of the
// fields, ignoring case; an empty q matches everything.
func matchesTerm(q string, fields ...string) bool {
	if q == "" {
		return true
	}
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}
