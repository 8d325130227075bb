package agentjail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// TestReviewU64Saturation: u64 counters the server can send above math.MaxInt64 decode
// saturated instead of failing the whole response (WIRE.md §1.7: duration_ms can reach
// u64::MAX and is stored in the jail ledger; idle_timeout_secs is never clamped).
func TestReviewU64Saturation(t *testing.T) {
	t.Parallel()
	const max = "18446744073709551615"
	jail := `{"id":0,"tenant_id":"dev","kind":"run","started_at":"2026-01-02T03:04:05Z","ended_at":null,` +
		`"status":"completed","session_id":null,"label":"js","parent_id":null,"exit_code":0,"duration_ms":` + max +
		`,"timed_out":false,"oom_killed":false,"memory_peak_bytes":null,"memory_current_bytes":null,` +
		`"cpu_usage_usec":null,"io_read_bytes":null,"io_write_bytes":null,"pids_current":null,` +
		`"stdout":"","stderr":"","error":null}`
	workspace := `{"id":"wrk_1","tenant_id":"dev","created_at":"2026-01-02T03:04:05Z","deleted_at":null,` +
		`"source_dir":"","output_dir":"","config":{"memory_mb":512,"timeout_secs":300,"cpu_percent":100,` +
		`"max_pids":64,"network_mode":"none","network_domains":[],"seccomp":"standard","idle_timeout_secs":` + max +
		`,"flavors":[]},"git_repo":null,"git_ref":null,"label":"x","domains":[],"last_exec_at":null,` +
		`"paused_at":null,"auto_snapshot":null}`
	cases := []struct {
		name string
		body string
		call func(c *Client) (int64, error)
	}{
		{"jail get duration_ms", jail, func(c *Client) (int64, error) {
			j, err := c.Jails.Get(context.Background(), 0)
			if err != nil {
				return 0, err
			}
			if j.DurationMS == nil || j.ExitCode == nil || *j.ExitCode != 0 || j.Label != "js" {
				return 0, fmt.Errorf("jail decoded wrongly: %+v", j)
			}
			return *j.DurationMS, nil
		}},
		{"jail list duration_ms", `{"rows":[` + jail + `],"total":1,"limit":50,"offset":0}`, func(c *Client) (int64, error) {
			l, err := c.Jails.List(context.Background(), JailListParams{})
			if err != nil {
				return 0, err
			}
			if len(l.Rows) != 1 || l.Rows[0].DurationMS == nil {
				return 0, fmt.Errorf("list decoded wrongly: %+v", l)
			}
			return *l.Rows[0].DurationMS, nil
		}},
		{"workspace idle_timeout_secs", workspace, func(c *Client) (int64, error) {
			w, err := c.Workspaces.Get(context.Background(), "wrk_1")
			if err != nil {
				return 0, err
			}
			if w.Config.MemoryMB != 512 || w.Config.NetworkMode != NetworkModeNone || w.Label != "x" {
				return 0, fmt.Errorf("workspace decoded wrongly: %+v", w)
			}
			return w.Config.IdleTimeoutSecs, nil
		}},
		{"fork clone_ms", `{"parent":{"stdout":"","stderr":"","exit_code":0,"duration_ms":1,"timed_out":false,"oom_killed":false},` +
			`"fork":{"clone_ms":` + max + `,"files_cloned":3,"files_cow":0,"bytes_cloned":9,"method":"copy","was_frozen":true}}`, func(c *Client) (int64, error) {
			f, err := c.Runs.Fork(context.Background(), ForkParams{ParentCode: "p", ChildCode: "c"})
			if err != nil {
				return 0, err
			}
			if f.Fork.FilesCloned != 3 || f.Fork.Method != "copy" || !f.Fork.WasFrozen {
				return 0, fmt.Errorf("fork decoded wrongly: %+v", f.Fork)
			}
			return f.Fork.CloneMS, nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, jsonReply(200, tc.body))
			got, err := tc.call(testClient(t, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if got != math.MaxInt64 {
				t.Fatalf("got %d, want math.MaxInt64", got)
			}
		})
	}
}

// TestReviewHugeDurationsRoundUp: the largest time.Duration is rounded up to whole
// seconds (or milliseconds) without overflowing into a negative wire value.
func TestReviewHugeDurationsRoundUp(t *testing.T) {
	t.Parallel()
	const huge = time.Duration(math.MaxInt64)
	cases := []struct {
		name string
		call func(c *Client) error
		body string
	}{
		{"run timeout", func(c *Client) error {
			_, err := c.Runs.Create(context.Background(), RunParams{Code: "x", Timeout: huge})
			return err
		}, `{"code":"x","timeout_secs":9223372037}`},
		{"fork after and timeout", func(c *Client) error {
			_, err := c.Runs.Fork(context.Background(), ForkParams{ParentCode: "p", ChildCode: "c", ForkAfter: huge, Timeout: huge})
			return err
		}, `{"parent_code":"p","child_code":"c","fork_after_ms":9223372036855,"timeout_secs":9223372037}`},
		{"session ttl", func(c *Client) error {
			_, err := c.Sessions.Create(context.Background(), SessionCreateParams{Services: []Service{ServiceOpenAI}, TTL: huge})
			return err
		}, `{"services":["openai"],"ttl_secs":9223372037}`},
		{"workspace idle timeout", func(c *Client) error {
			_, err := c.Workspaces.Create(context.Background(), WorkspaceCreateParams{IdleTimeout: huge})
			return err
		}, `{"idle_timeout_secs":9223372037}`},
		{"one nanosecond", func(c *Client) error {
			_, err := c.Runs.Fork(context.Background(), ForkParams{ParentCode: "p", ChildCode: "c", ForkAfter: 1, Timeout: 1})
			return err
		}, `{"parent_code":"p","child_code":"c","fork_after_ms":1,"timeout_secs":1}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, nil)
			if err := tc.call(testClient(t, srv.URL)); err != nil {
				t.Fatal(err)
			}
			assertJSON(t, srv.last(t).Body, tc.body)
		})
	}
}

// TestReviewStreamStopsAfterCloseOrCancel: events already buffered are not handed out
// once the caller closed the stream or cancelled its context.
func TestReviewStreamStopsAfterCloseOrCancel(t *testing.T) {
	t.Parallel()
	frames := "event: started\ndata: {\"pid\":1}\n\n" +
		"event: stdout\ndata: a\n\n" +
		"event: stdout\ndata: b\n\n"
	cases := []struct {
		name    string
		stop    func(s *RunStream, cancel context.CancelFunc)
		wantErr error // nil: Err must be nil
	}{
		{"close", func(s *RunStream, _ context.CancelFunc) { _ = s.Close() }, nil},
		{"cancel", func(_ *RunStream, cancel context.CancelFunc) { cancel() }, context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hold := make(chan struct{})
			t.Cleanup(func() { close(hold) })
			srv := newRecorder(t, sseReply([]string{frames}, hold))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s, err := testClient(t, srv.URL).Runs.Stream(ctx, RunParams{Code: "x"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !s.Next() {
				t.Fatalf("first Next failed: %v", s.Err())
			}
			tc.stop(s, cancel)
			if s.Next() {
				t.Fatalf("Next after %s returned event %#v", tc.name, s.Event())
			}
			switch err := s.Err(); {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Err() = %v, want nil", err)
			case tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || errors.Is(err, ErrNetwork)):
				t.Fatalf("Err() = %v, want %v and not ErrNetwork", err, tc.wantErr)
			}
		})
	}
}

// TestReviewStreamErrorAttempts: an *Error ending a stream counts the one request made.
func TestReviewStreamErrorAttempts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		frames string
		busy   int // leading 503 answers, each retried
		is     error
	}{
		{"eof before terminal", "event: started\ndata: {\"pid\":1}\n\n", 0, io.ErrUnexpectedEOF},
		{"malformed completed", "event: completed\ndata: {\"exit_code\":\"x\"}\n\n", 0, nil},
		{"eof after a retried 503", "event: started\ndata: {\"pid\":1}\n\n", 1, io.ErrUnexpectedEOF},
		{"malformed after two 503s", "event: started\ndata: []\n\n", 2, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			script := make([]http.HandlerFunc, tc.busy, tc.busy+1)
			for i := range script {
				script[i] = faultStatus(503, "")
			}
			srv := newRecorder(t, append(script, sseReply([]string{tc.frames}, nil))...)
			s, err := testClient(t, srv.URL).Runs.Stream(context.Background(), RunParams{Code: "x"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for s.Next() {
			}
			var e *Error
			if !errors.As(s.Err(), &e) {
				t.Fatalf("Err() = %v, want *Error", s.Err())
			}
			if want := tc.busy + 1; e.Attempts != want || len(srv.requests()) != want {
				t.Fatalf("Attempts = %d after %d requests, want %d", e.Attempts, len(srv.requests()), want)
			}
			if tc.is != nil && !errors.Is(e, tc.is) {
				t.Fatalf("Err() = %v, want %v", e, tc.is)
			}
		})
	}
}

// TestReviewEnvironSortedByKey: Environ is sorted by variable name, even when one name
// is a prefix of another followed by a byte below '='.
func TestReviewEnvironSortedByKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"prefix then dash", map[string]string{"A": "1", "A-B": "2", "A0": "3"}, []string{"A=1", "A-B=2", "A0=3"}},
		{"values with equals", map[string]string{"K": "a=b", "K_": "c"}, []string{"K=a=b", "K_=c"}},
		{"empty", nil, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := (&Session{Env: tc.env}).Environ()
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Environ() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestReviewBaseURLEdges: a bare "?" is a query like any other, and the password of a
// base URL never shows up when the client is printed.
func TestReviewBaseURLEdges(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		url     string
		wantErr bool
		hidden  string // must not appear in any formatting of the client
	}{
		{"empty query marker", "http://host/prefix/?", true, ""},
		{"userinfo password", "https://user:hunter2hunter2@host/x", false, "hunter2hunter2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tc.url, WithAPIKey(""))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("NewClient(%q) accepted, base %s", tc.url, c.base)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				if s := fmt.Sprintf(verb, c); strings.Contains(s, tc.hidden) {
					t.Fatalf("%s of the client shows the password: %s", verb, s)
				}
			}
		})
	}
}

// TestReviewTrailingDataAfterJSON: a 2xx body that is JSON followed by anything but
// whitespace is not valid JSON, so it is an error rather than a half-read value.
func TestReviewTrailingDataAfterJSON(t *testing.T) {
	t.Parallel()
	const sess = `{"id":"sess_1","created_at":"2026-01-02T03:04:05Z","expires_at":null,"services":[],"env":{}}`
	cases := []struct {
		name   string
		body   string
		wantOK bool
	}{
		{"trailing whitespace", sess + "\n \t\r\n", true},
		{"html after json", sess + "<html>proxy</html>", false},
		{"two documents", sess + sess, false},
		{"trailing bracket", sess + "}", false},
		{"whitespace past the decoder's buffer", sess + strings.Repeat(" ", 20000), true},
		{"garbage past the decoder's buffer", sess + strings.Repeat(" ", 20000) + "x", false},
		{"json null", "null", false},
		{"json null in whitespace", " \r\n\tnull\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, jsonReply(200, tc.body))
			s, err := testClient(t, srv.URL).Sessions.Get(context.Background(), "sess_1")
			if tc.wantOK {
				if err != nil || s.ID != "sess_1" {
					t.Fatalf("got %+v, %v", s, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeUnknown || e.StatusCode != 200 || s != nil {
				t.Fatalf("got %+v, %v; want an *Error with CodeUnknown", s, err)
			}
		})
	}
}

// TestDecodeBodyTrailingDataAnyReader: the check after the value holds however the body
// delivers its end: with the last bytes, in a later empty read, or one byte at a time.
func TestDecodeBodyTrailingDataAnyReader(t *testing.T) {
	t.Parallel()
	readers := map[string]func(string) io.Reader{
		"eof-with-data":  func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
		"eof-separately": func(s string) io.Reader { return strings.NewReader(s) },
		"one-byte-reads": func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half-reads":     func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
	}
	bodies := []struct {
		body   string
		wantOK bool
	}{
		{`{"id":"a"}`, true},
		{`{"id":"a"}` + "\n", true},
		{`{"id":"a"} ` + strings.Repeat("\r\n", 600), true},
		{`{"id":"a"}x`, false},
		{`{"id":"a"}` + "\n" + `{"id":"b"}`, false},
		{`{"id":"a"}` + strings.Repeat(" ", 5000) + "]", false},
	}
	for name, reader := range readers {
		for _, none := range []string{" null ", "", " \r\n"} {
			var v struct{ ID string }
			if err := decodeBody(reader(none), &v); !errors.Is(err, errNoValue) {
				t.Errorf("%s: body %q gave %v, want errNoValue", name, none, err)
			}
		}
		for _, b := range bodies {
			var out struct {
				ID string `json:"id"`
			}
			err := decodeBody(reader(b.body), &out)
			if b.wantOK && (err != nil || out.ID != "a") {
				t.Errorf("%s %.30q: got %+v, %v; want id a", name, b.body, out, err)
			}
			if !b.wantOK && !errors.Is(err, errTrailingData) {
				t.Errorf("%s %.30q: got %v, want errTrailingData", name, b.body, err)
			}
		}
	}
}

// TestReviewOptionsRejectBrokenHeaders: a header name or value net/http would refuse to
// send is an option error, not a "network" failure retried on every call.
func TestReviewOptionsRejectBrokenHeaders(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opt  Option
	}{
		{"header value with newline", WithHeader("X-Trace", "a\r\nX-Evil: 1")},
		{"header value with NUL", WithHeader("X-Trace", "a\x00b")},
		{"header value with DEL", WithHeader("X-Trace", "a\x7fb")},
		{"header name with space", WithHeader("X Trace", "v")},
		{"header name with colon", WithHeader("X-Trace:", "v")},
		{"user agent with newline", WithUserAgent("bot/1\nX-Evil: 1")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, nil)
			c, err := NewClient(srv.URL, WithAPIKey(""), tc.opt)
			if err == nil {
				_, callErr := c.Settings.Whoami(context.Background())
				t.Fatalf("option accepted; a call then gives %v after %d requests", callErr, len(srv.requests()))
			}
		})
	}
}

// TestReviewSessionScopesNilList: a scope entry with a nil list means "unrestricted" in
// Go terms; it must go out as [] (the server rejects null for a list with 422).
func TestReviewSessionScopesNilList(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		scopes map[Service][]string
		body   string
	}{
		{"nil list", map[Service][]string{ServiceOpenAI: nil, ServiceGitHub: {"/repos/a/*"}},
			`{"services":["openai","github"],"scopes":{"openai":[],"github":["/repos/a/*"]}}`},
		{"empty map", map[Service][]string{}, `{"services":["openai","github"]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, nil)
			_, err := testClient(t, srv.URL).Sessions.Create(context.Background(),
				SessionCreateParams{Services: []Service{ServiceOpenAI, ServiceGitHub}, Scopes: tc.scopes})
			if err != nil {
				t.Fatal(err)
			}
			assertJSON(t, srv.last(t).Body, tc.body)
		})
	}
}

// TestReviewStreamEnds: how a run stream ends. The terminal event releases the request at
// once, even if the server keeps the connection open; an overflowing duration saturates;
// a line over 16 MiB is ErrEventTooLarge, not a network failure.
func TestReviewStreamEnds(t *testing.T) {
	t.Parallel()
	t.Run("completed releases the request", func(t *testing.T) {
		t.Parallel()
		hold := make(chan struct{})
		defer close(hold)
		gone := make(chan struct{})
		held := sseReply([]string{"event: completed\ndata: {\"exit_code\":0,\"duration_ms\":18446744073709551615,\"timed_out\":false,\"oom_killed\":false}\n\n"}, hold)
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			held(w, r)
			close(gone)
		})
		s, err := testClient(t, srv.URL).Runs.Stream(context.Background(), RunParams{Code: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if !s.Next() {
			t.Fatal(s.Err())
		}
		ev, ok := s.Event().(CompletedEvent)
		if !ok || ev.DurationMS != math.MaxInt64 {
			t.Fatalf("got %#v, want a completed event with duration saturated at math.MaxInt64", s.Event())
		}
		if s.Next() || s.Err() != nil {
			t.Fatalf("Next after completed: Err %v", s.Err())
		}
		select { // no Close: the terminal event alone must let the request go
		case <-gone:
		case <-time.After(5 * time.Second):
			t.Fatal("the server still holds the request after the completed event")
		}
	})
	t.Run("oversized line", func(t *testing.T) {
		t.Parallel()
		huge := "event: stdout\ndata: " + strings.Repeat("x", maxEventSize+1) + "\n\n"
		srv := newRecorder(t, sseReply([]string{huge}, nil))
		s, err := testClient(t, srv.URL).Runs.Stream(context.Background(), RunParams{Code: "x"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Next() || !errors.Is(s.Err(), ErrEventTooLarge) || errors.Is(s.Err(), ErrNetwork) {
			t.Fatalf("Err %v, want ErrEventTooLarge and not a network error", s.Err())
		}
	})
}
