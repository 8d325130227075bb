// Command audit follows the phantom proxy's audit log like tail -f: it prints the latest
// rows, then every new proxied request exactly once, as it happens.
//
//	go run ./examples/audit
//
// Against $AGENTJAIL_URL it polls every two seconds and stops after 50 rows or on
// Ctrl-C. With the embedded fake it also plays the sandbox: it opens a session and sends
// a few requests through the proxy (one with a forged token), then stops once it has
// printed them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/agentjailtest"
	"github.com/agentjail/agentjail-go/examples/internal/exampleenv"
)

func main() { exampleenv.Main("audit", run) }

const (
	pageSize = 200 // rows fetched per poll
	history  = 10  // existing rows printed at start, like tail
)

func run(ctx context.Context, out io.Writer) error {
	upstream := exampleenv.NewUpstream(`{"ok":true}`)
	defer upstream.Close()
	env, err := exampleenv.Connect(out,
		agentjailtest.WithUpstream("openai", upstream.URL()),
		agentjailtest.WithCredential("dev", "openai", "sk-demo-audit-key"))
	if err != nil {
		return err
	}
	defer env.Close()

	t := tail{client: env.Client, out: out, every: 2 * time.Second, maxRows: 50, last: -1}
	if !env.Embedded() {
		return t.follow(ctx, nil)
	}

	// Embedded: generate traffic once the tail has taken its first look.
	t.every, t.maxRows = 100*time.Millisecond, len(sandboxCalls)
	sess, err := env.Client.Sessions.Create(ctx, agentjail.SessionCreateParams{
		Services: []agentjail.Service{agentjail.ServiceOpenAI},
		TTL:      5 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("creating the session: %w", err)
	}
	defer func() {
		cctx, cancel := exampleenv.Cleanup(ctx)
		defer cancel()
		_ = env.Client.Sessions.Close(cctx, sess.ID)
	}()
	ready, trafficErr := make(chan struct{}), make(chan error, 1)
	go func() {
		select {
		case <-ready:
			trafficErr <- sandbox(ctx, sess)
		case <-ctx.Done():
		}
	}()
	return t.follow(ctx, func() (chan<- struct{}, <-chan error) { return ready, trafficErr })
}

// tail polls the audit log and prints rows it has not printed yet.
type tail struct {
	client  *agentjail.Client
	out     io.Writer
	every   time.Duration
	maxRows int
	last    int64 // highest row ID printed; -1 before the first (IDs start at 0)
	printed int
}

// follow polls until maxRows new rows were printed or ctx ends (not an error for a
// tail). When traffic is non-nil, its ready channel is closed after the first poll and
// a non-nil error from its error channel ends the tail.
func (t *tail) follow(ctx context.Context, traffic func() (chan<- struct{}, <-chan error)) error {
	var ready chan<- struct{}
	var failed <-chan error
	if traffic != nil {
		ready, failed = traffic()
	}
	ticker := time.NewTicker(t.every)
	defer ticker.Stop()
	for first := true; ; first = false {
		page, err := t.client.Audit.Recent(ctx, pageSize)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading the audit log: %w", err)
		}
		t.print(page.Rows, first)
		if first && ready != nil {
			close(ready)
		}
		if !first && t.printed >= t.maxRows {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			if err != nil {
				return fmt.Errorf("sending sandbox traffic: %w", err)
			}
			failed = nil // done sending; keep tailing until the rows show up
		case <-ticker.C:
		}
	}
}

// print writes the rows newer than the last one printed, oldest first. On the first
// poll only the latest few are shown, and they do not count towards maxRows.
func (t *tail) print(rows []agentjail.AuditRow, first bool) {
	var fresh []agentjail.AuditRow
	for _, r := range rows {
		if r.ID > t.last {
			fresh = append(fresh, r)
		}
	}
	slices.SortFunc(fresh, func(a, b agentjail.AuditRow) int { return int(a.ID - b.ID) })
	if first && len(fresh) > history {
		fresh = fresh[len(fresh)-history:]
	}
	if !first && len(rows) == pageSize && len(fresh) == len(rows) && t.last >= 0 {
		fmt.Fprintln(t.out, "… more rows arrived than one poll fetches; some were skipped")
	}
	for _, r := range fresh {
		reason := ""
		if r.RejectReason != nil {
			reason = " rejected: " + *r.RejectReason
		}
		service := r.Service
		if service == "" {
			service = "-"
		}
		fmt.Fprintf(t.out, "%s %d %-6s %-9s %s%s\n", r.At.Local().Format(time.TimeOnly), r.Status, r.Method, service, r.Path, reason)
		t.last = r.ID
		if !first {
			t.printed++
		}
	}
}

// sandboxCalls are the requests the embedded demo sends through the phantom proxy.
var sandboxCalls = []struct {
	method, path string
	forged       bool // use a well-formed token that no session issued
}{
	{http.MethodGet, "/models", false},
	{http.MethodPost, "/chat/completions", false},
	{http.MethodGet, "/models", true},
	{http.MethodGet, "/models/gpt-4o", false},
}

// sandbox does what code inside a jail would: call the provider through the proxy with
// the phantom token from the session's environment.
func sandbox(ctx context.Context, sess *agentjail.Session) error {
	base, token := sess.Env["OPENAI_BASE_URL"], sess.Env["OPENAI_API_KEY"]
	var errs []error
	for _, c := range sandboxCalls {
		req, err := http.NewRequestWithContext(ctx, c.method, base+c.path, strings.NewReader("{}"))
		if err != nil {
			return err
		}
		if c.forged {
			req.Header.Set("Authorization", "Bearer phm_"+strings.Repeat("0", 64))
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return errors.Join(errs...)
}
