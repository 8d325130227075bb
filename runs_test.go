package agentjail

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentjail/agentjail-go/internal/testserver"
)

// hugeDuration is the largest time.Duration: rounded up to whole seconds or milliseconds
// it must not overflow into a negative wire value.
const hugeDuration = time.Duration(math.MaxInt64)

// maxU64 is the largest counter the server sends, above math.MaxInt64.
const maxU64 = "18446744073709551615"

// TestRunsRequests: runs and forks send their code, language, limits and exec options
// as the server expects them, durations rounded up without overflowing, and the results
// decode, a u64 duration or clone time saturated at math.MaxInt64.
func TestRunsRequests(t *testing.T) {
	t.Parallel()
	checkCalls(t, []apiCall{
		{name: "runs create", reply: fixtureExec,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Create(ctx, RunParams{Code: "console.log(1)", Language: LanguageJavaScript, Timeout: 30 * time.Second})
			},
			method: "POST", path: "/v1/runs", body: `{"code":"console.log(1)","language":"javascript","timeout_secs":30}`,
			check: func(t *testing.T, got any) {
				if got.(*ExecResult).Stdout != "hi\n" {
					t.Fatal("stdout not decoded")
				}
			}},
		{name: "runs create with exec options", reply: fixtureExec,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Create(ctx, RunParams{Code: "x", Language: LanguagePython, ExecOptions: ExecOptions{
					Network: NetworkAllowlist("api.openai.com", "*.mcp.company.com"), Seccomp: SeccompStrict, CPUPercent: 200, MaxPIDs: 128}})
			},
			method: "POST", path: "/v1/runs",
			body: `{"code":"x","language":"python","network":{"mode":"allowlist","domains":["api.openai.com","*.mcp.company.com"]},"seccomp":"strict","cpu_percent":200,"max_pids":128}`},
		{name: "runs create empty code is still sent", reply: fixtureExec,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Runs.Create(ctx, RunParams{}) },
			method: "POST", path: "/v1/runs", body: `{"code":""}`},
		{name: "runs create with git seed and stats", reply: fixtureExecStats,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Create(ctx, RunParams{Code: "ls", Language: LanguageBash, Timeout: 1, MemoryMB: 1024,
					Git: &GitSeed{Repo: "https://github.com/a/b", Ref: "main"}})
			},
			method: "POST", path: "/v1/runs",
			body: `{"code":"ls","language":"bash","timeout_secs":1,"memory_mb":1024,"git":{"repo":"https://github.com/a/b","ref":"main"}}`,
			check: func(t *testing.T, got any) {
				r := got.(*ExecResult)
				if !r.TimedOut || r.ExitCode != 137 || r.Stats == nil || r.Stats.MemoryPeakBytes != 1<<20 || r.Stats.IOWriteBytes != 2 {
					t.Fatalf("got %+v", r)
				}
				if r.DurationMS != 1<<63-1 {
					t.Fatalf("u64::MAX duration should saturate, got %d", r.DurationMS)
				}
			}},
		{name: "runs fork legacy child", reply: fixtureFork,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Fork(ctx, ForkParams{ParentCode: "p", ChildCode: "c", Language: LanguageJavaScript,
					ForkAfter: 300 * time.Millisecond, MemoryMB: 256, ExecOptions: ExecOptions{Seccomp: SeccompStrict}})
			},
			method: "POST", path: "/v1/runs/fork",
			body: `{"parent_code":"p","child_code":"c","language":"javascript","fork_after_ms":300,"memory_mb":256,"seccomp":"strict"}`,
			check: func(t *testing.T, got any) {
				r := got.(*ForkResult)
				if r.Parent.Stdout != "p" || r.Child.Stdout != "c" || len(r.Children) != 1 || !reflect.DeepEqual(r.Children[0], r.Child) ||
					len(r.Forks) != 1 || r.Forks[0] != r.Fork || r.Fork.Method != "reflink" || !r.Fork.WasFrozen || r.Fork.FilesCOW != 2 {
					t.Fatalf("got %+v", r)
				}
			}},
		{name: "runs fork n-way with git and timeout", reply: fixtureFork,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Fork(ctx, ForkParams{ParentCode: "p", Children: []ForkChild{{"a"}, {"b"}, {"c"}},
					ForkAfter: 1500*time.Microsecond + 1, Timeout: 61 * time.Second, Git: &GitSeed{Repos: []GitRepo{{Repo: "https://x/y"}, {Repo: "https://x/z", Ref: "main", Dir: "z-main"}}}})
			},
			method: "POST", path: "/v1/runs/fork",
			body: `{"parent_code":"p","children":[{"code":"a"},{"code":"b"},{"code":"c"}],"fork_after_ms":2,"timeout_secs":61,"git":{"repos":[{"repo":"https://x/y"},{"repo":"https://x/z","ref":"main","dir":"z-main"}]}}`},

		{name: "runs create huge timeout", reply: fixtureExec,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Create(ctx, RunParams{Code: "x", Timeout: hugeDuration})
			},
			method: "POST", path: "/v1/runs", body: `{"code":"x","timeout_secs":9223372037}`},
		{name: "runs fork huge fork after and timeout", reply: fixtureFork,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Fork(ctx, ForkParams{ParentCode: "p", ChildCode: "c", ForkAfter: hugeDuration, Timeout: hugeDuration})
			},
			method: "POST", path: "/v1/runs/fork", body: `{"parent_code":"p","child_code":"c","fork_after_ms":9223372036855,"timeout_secs":9223372037}`},
		{name: "runs fork one nanosecond rounds up", reply: fixtureFork,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Fork(ctx, ForkParams{ParentCode: "p", ChildCode: "c", ForkAfter: 1, Timeout: 1})
			},
			method: "POST", path: "/v1/runs/fork", body: `{"parent_code":"p","child_code":"c","fork_after_ms":1,"timeout_secs":1}`},
		{name: "runs fork saturates clone_ms",
			reply: `{"parent":{"stdout":"","stderr":"","exit_code":0,"duration_ms":1,"timed_out":false,"oom_killed":false},` +
				`"fork":{"clone_ms":` + maxU64 + `,"files_cloned":3,"files_cow":0,"bytes_cloned":9,"method":"copy","was_frozen":true}}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Runs.Fork(ctx, ForkParams{ParentCode: "p", ChildCode: "c"})
			},
			method: "POST", path: "/v1/runs/fork", body: `{"parent_code":"p","child_code":"c"}`,
			check: func(t *testing.T, got any) {
				f := got.(*ForkResult).Fork
				if f.CloneMS != math.MaxInt64 || f.FilesCloned != 3 || f.Method != "copy" || !f.WasFrozen {
					t.Fatalf("got %+v", f)
				}
			}},
	})
	many := make([]ForkChild, 17)
	checkInvalid(t, []invalidCall{
		{"fork without child", func(ctx context.Context, c *Client) error {
			_, err := c.Runs.Fork(ctx, ForkParams{ParentCode: "1"})
			return err
		}},
		{"fork with empty children", func(ctx context.Context, c *Client) error {
			_, err := c.Runs.Fork(ctx, ForkParams{ParentCode: "1", Children: []ForkChild{}})
			return err
		}},
		{"fork with both child forms", func(ctx context.Context, c *Client) error {
			_, err := c.Runs.Fork(ctx, ForkParams{ParentCode: "1", ChildCode: "2", Children: []ForkChild{{"3"}}})
			return err
		}},
		{"fork with 17 children", func(ctx context.Context, c *Client) error {
			_, err := c.Runs.Fork(ctx, ForkParams{ParentCode: "1", Children: many})
			return err
		}},
		{"negative memory", func(ctx context.Context, c *Client) error {
			_, err := c.Runs.Create(ctx, RunParams{Code: "1", MemoryMB: -2})
			return err
		}},
		{"negative timeout", func(ctx context.Context, c *Client) error {
			_, err := c.Runs.Create(ctx, RunParams{Code: "1", Timeout: -time.Second})
			return err
		}},
		{"negative stream timeout", func(ctx context.Context, c *Client) error {
			_, err := c.Runs.Stream(ctx, RunParams{Code: "1", Timeout: -time.Second})
			return err
		}},
	})
}

// TestRunsFlow: against the fake control plane, a run prints, a run past its timeout is
// killed with exit code 137, and a fork copies the parent's state into each child and
// records one parent and its children in the jail ledger.
func TestRunsFlow(t *testing.T) {
	t.Parallel()
	st := newStack(t, "sh")
	c, ctx := st.client, context.Background()

	res, err := c.Runs.Create(ctx, RunParams{Code: "echo run-from-sdk", Language: LanguageBash})
	if err != nil || res.ExitCode != 0 || !strings.Contains(res.Stdout, "run-from-sdk") {
		t.Fatalf("run %+v %v", res, err)
	}
	res, err = c.Runs.Create(ctx, RunParams{Code: "sleep 60", Language: LanguageBash, Timeout: time.Second})
	if err != nil || !res.TimedOut || res.ExitCode != 137 {
		t.Fatalf("timeout run %+v %v", res, err)
	}

	// Each child starts from a copy of the parent's /output, which only a jail has.
	fork, err := c.Runs.Fork(ctx, ForkParams{Language: LanguageBash, ForkAfter: 300 * time.Millisecond,
		ParentCode: "echo checkpoint > /output/state.txt; sleep 1; echo parent-done",
		Children:   []ForkChild{{Code: "echo child-a $(cat /output/state.txt)"}, {Code: "echo child-b $(cat /output/state.txt)"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fork.Parent.Stdout, "parent-done") || len(fork.Children) != 2 || len(fork.Forks) != 2 ||
		!strings.HasPrefix(fork.Children[0].Stdout, "child-a") || !strings.HasPrefix(fork.Children[1].Stdout, "child-b") ||
		!reflect.DeepEqual(fork.Child, fork.Children[0]) || fork.Fork != fork.Forks[0] || !fork.Fork.WasFrozen {
		t.Fatalf("fork %+v", fork)
	}
	if st.srv.Isolation() == testserver.IsolationNamespaces &&
		(strings.TrimSpace(fork.Children[0].Stdout) != "child-a checkpoint" || strings.TrimSpace(fork.Children[1].Stdout) != "child-b checkpoint" || fork.Fork.FilesCloned != 1) {
		t.Fatalf("children did not start from the parent's /output: %+v", fork)
	}
	jails, err := c.Jails.List(ctx, JailListParams{Kind: JailKindFork})
	if err != nil || jails.Total != 3 {
		t.Fatalf("fork jails %+v %v", jails, err)
	}
	var parentID int64 = -1
	parents := 0
	for _, j := range jails.Rows {
		if j.ParentID == nil {
			parentID = j.ID
			parents++
		}
	}
	if parents != 1 {
		t.Fatalf("%d fork jails without a parent, want exactly 1 (the parent): %+v", parents, jails.Rows)
	}
	for _, j := range jails.Rows {
		if j.ParentID != nil && *j.ParentID != parentID {
			t.Fatalf("child %d has parent %d, want %d", j.ID, *j.ParentID, parentID)
		}
	}
}
