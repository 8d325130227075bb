package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/internal/testserver"
)

// auditFixture is a fake whose proxy forwards openai calls to a stub upstream, and a
// session to make them with.
type auditFixture struct {
	srv    *testserver.Server
	client *agentjail.Client
	token  string
}

func newAuditFixture(t *testing.T) *auditFixture {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data":[]}`)
	}))
	t.Cleanup(upstream.Close)
	srv, client := newServer(t, testserver.WithCredential("dev", "openai", "sk-real"), testserver.WithUpstream("openai", upstream.URL))
	sess, err := client.Sessions.Create(context.Background(), agentjail.SessionCreateParams{Services: []agentjail.Service{agentjail.ServiceOpenAI}})
	if err != nil {
		t.Fatal(err)
	}
	return &auditFixture{srv, client, sess.Env["OPENAI_API_KEY"]}
}

// call sends one request through the proxy, with the session's token when authorized.
func (f *auditFixture) call(t *testing.T, path string, authorized bool) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.ProxyURL()+"/v1/openai"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorized {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// rows returns the audit rows, oldest first, as the table should print them.
func (f *auditFixture) rows(t *testing.T) []string {
	t.Helper()
	list, err := f.client.Audit.Recent(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(list.Rows) - 1; i >= 0; i-- {
		r := list.Rows[i]
		session, service, upstream, reject := "-", "-", "-", "-"
		if r.SessionID != "" {
			session = r.SessionID
		}
		if r.Service != "" {
			service = r.Service
		}
		if r.UpstreamMS != nil {
			upstream = strconv.FormatInt(*r.UpstreamMS, 10) + "ms"
		}
		if r.RejectReason != nil {
			reject = *r.RejectReason
		}
		out = append(out, auditLine(strconv.FormatInt(r.ID, 10), rfc(r.At), session, service, r.Method,
			strconv.Itoa(r.Status), upstream, reject, r.Path))
	}
	return out
}

// auditLine lays out one audit table line: fixed minimum widths, three spaces apart.
func auditLine(cells ...string) string {
	return fmt.Sprintf("%-9s%-23s%-32s%-12s%-10s%-9s%-11s%-16s%s\n", toAny(cells)...)
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

var auditHeaderLine = auditLine("ID", "AT", "SESSION", "SERVICE", "METHOD", "STATUS", "UPSTREAM", "REJECT", "PATH")

func TestAudit(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t)
	url := f.srv.URL()
	runCLI(t, url, "", "audit").check(t, 0, auditHeaderLine, "")
	runCLI(t, url, "", "audit", "-json").check(t, 0, "[]\n", "")

	f.call(t, "/v1/models", true)
	f.call(t, "/v1/files", false)
	rows := f.rows(t)
	if len(rows) != 2 || !strings.Contains(rows[0], "ms ") || !strings.Contains(rows[1], "no_token") {
		t.Fatalf("audit rows %q: want one forwarded, then one rejected", rows)
	}
	runCLI(t, url, "", "audit").check(t, 0, auditHeaderLine+rows[0]+rows[1], "")
	runCLI(t, url, "", "audit", "-n", "1").check(t, 0, auditHeaderLine+rows[1], "")

	r := runCLI(t, url, "", "audit", "-json")
	var got []agentjail.AuditRow
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 2 || got[0].ID != 0 || got[1].ID != 1 {
		t.Errorf("audit -json: exit %d, %q (%v); want rows 0 and 1, oldest first", r.code, r.stdout, err)
	}
}

func TestAuditFollow(t *testing.T) {
	t.Parallel()
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", asJSON), func(t *testing.T) {
			t.Parallel()
			f := newAuditFixture(t)
			f.call(t, "/v1/models", true)
			args := []string{"audit", "-f"}
			if asJSON {
				args = append(args, "-json")
			}
			s := start(t, f.srv.URL(), nil, args...)
			// Polls go on every 10ms while the test adds rows; each must print once.
			s.stdout.waitFor(t, "/v1/models")
			f.call(t, "/v1/second", false)
			s.stdout.waitFor(t, "/v1/second")
			f.call(t, "/v1/third", true)
			s.stdout.waitFor(t, "/v1/third")
			s.signals <- os.Interrupt
			code := s.wait(t)

			var want string
			if asJSON {
				list, err := f.client.Audit.Recent(context.Background(), 0)
				if err != nil {
					t.Fatal(err)
				}
				for i := len(list.Rows) - 1; i >= 0; i-- {
					b, _ := json.Marshal(list.Rows[i])
					want += string(b) + "\n"
				}
			} else {
				want = auditHeaderLine + strings.Join(f.rows(t), "")
			}
			if strings.Count(want, "\n") != 3+boolInt(!asJSON) {
				t.Fatalf("the fixture made %q", want)
			}
			result{code, s.stdout.String(), s.stderr.String()}.check(t, 0, want, "")
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
