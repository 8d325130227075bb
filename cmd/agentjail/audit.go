package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

var auditCommand = &command{
	name:    "audit",
	args:    "[-n N] [-f] [-json]",
	summary: "show the phantom proxy's audit log; -f follows until interrupted",
	about: "Rows are printed oldest first. With -f it asks for new rows every second and prints each\n" +
		"row once, in order, until interrupted (exit status 0); with -json each row is then one\n" +
		"line of JSON.",
	run: runAudit,
}

// auditPollLimit is how many rows each -f poll asks for: the server's maximum, so that
// a busy second loses nothing.
const auditPollLimit = 1000

// auditHeader and auditWidths lay the audit table out with fixed minimum widths, so
// the rows -f prints later line up with the first ones.
var (
	auditHeader = []string{"ID", "AT", "SESSION", "SERVICE", "METHOD", "STATUS", "UPSTREAM", "REJECT", "PATH"}
	auditWidths = []int{6, 20, 29, 9, 7, 6, 8, 13}
)

func runAudit(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := newFlagSet(cmd.path)
	n := fs.Uint("n", 0, "show the newest `N` rows (default: the server's, 100; at most 1000)")
	follow := fs.Bool("f", false, "keep printing new rows until interrupted")
	asJSON := fs.Bool("json", false, "print one JSON array (with -f: one JSON object per line)")
	_, client, err := c.connect(cmd, fs, args, 0, 0, nil)
	if err != nil {
		return err
	}
	list, err := client.Audit.Recent(ctx, int(min(*n, auditPollLimit)))
	if err != nil {
		return err
	}
	rows := oldestFirst(list.Rows, -1)
	if *asJSON && !*follow {
		return writeJSON(c.stdout, rows)
	}
	out := auditWriter{w: c.stdout, json: *asJSON}
	last := out.write(rows, -1)
	if !*follow {
		return nil
	}
	tick := time.NewTicker(c.pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		list, err := client.Audit.Recent(ctx, auditPollLimit)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		last = out.write(oldestFirst(list.Rows, last), last)
	}
}

// oldestFirst returns the rows whose ID is above after, in ascending ID order.
func oldestFirst(rows []agentjail.AuditRow, after int64) []agentjail.AuditRow {
	out := make([]agentjail.AuditRow, 0, len(rows))
	for _, r := range rows {
		if r.ID > after {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b agentjail.AuditRow) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// auditWriter prints audit rows as they are found: a table whose header comes before
// the first rows, or one JSON object per line.
type auditWriter struct {
	w          io.Writer
	json       bool
	headerDone bool
}

// write prints rows and returns the highest ID printed so far (last when none).
func (a *auditWriter) write(rows []agentjail.AuditRow, last int64) int64 {
	if a.json {
		enc := newJSONEncoder(a.w)
		for _, r := range rows {
			_ = enc.Encode(r)
		}
	} else {
		tw := newTable(a.w)
		if !a.headerDone {
			writeRow(tw, padded(auditHeader)...)
			a.headerDone = true
		}
		for _, r := range rows {
			writeRow(tw, padded(auditCells(r))...)
		}
		tw.Flush()
	}
	if len(rows) > 0 {
		last = rows[len(rows)-1].ID
	}
	return last
}

// padded widens each cell but the last to its column's minimum width.
func padded(cells []string) []string {
	out := make([]string, len(cells))
	for i, s := range cells {
		if i < len(auditWidths) {
			s = fmt.Sprintf("%-*s", auditWidths[i], s)
		}
		out[i] = s
	}
	return out
}

func auditCells(r agentjail.AuditRow) []string {
	upstream, reject := "-", "-"
	if r.UpstreamMS != nil {
		upstream = strconv.FormatInt(*r.UpstreamMS, 10) + "ms"
	}
	if r.RejectReason != nil {
		reject = cell(*r.RejectReason)
	}
	return []string{strconv.FormatInt(r.ID, 10), timeText(r.At), cell(r.SessionID), cell(r.Service), cell(r.Method),
		strconv.Itoa(r.Status), upstream, reject, cell(r.Path)}
}
