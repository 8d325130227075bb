// Command runs shows one-shot runs: the same task in bash, Python and JavaScript, a run
// that hits its timeout, and a streamed run whose output is printed line by line as it
// is produced.
//
//	go run ./examples/runs
//
// Without $AGENTJAIL_URL it uses the embedded fake control plane, which runs the code
// on this host: languages whose runtime (python3, node) is missing are skipped.
package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/examples/internal/exampleenv"
)

func main() { exampleenv.Main("runs", run) }

// oneShots are the same small program in each language.
var oneShots = []struct {
	lang agentjail.Language
	bin  string // what the embedded fake needs on this host
	code string
}{
	{agentjail.LanguageBash, "sh", `echo "hello from $(uname -s) sh, 6*7=$((6*7))"`},
	{agentjail.LanguagePython, "python3", `import sys; print(f"hello from python {sys.version_info[0]}, 6*7={6*7}")`},
	{agentjail.LanguageJavaScript, "node", "console.log(`hello from node ${process.versions.node.split('.')[0]}, 6*7=${6*7}`)"},
}

// streamed prints indented lines on stdout and stderr with pauses, then fails, to show
// that lines arrive live, byte-exact, and that the exit code comes at the end.
const streamed = `echo "build:"
sleep 0.2
echo "  compile ok"
echo "    2 warnings" >&2
sleep 0.2
echo "  test:"
echo "      FAIL TestParse (0.01s)"
exit 3`

func run(ctx context.Context, out io.Writer) error {
	env, err := exampleenv.Connect(out)
	if err != nil {
		return err
	}
	defer env.Close()
	runs := env.Client.Runs

	fmt.Fprintln(out, "== one-shot runs")
	for _, r := range oneShots {
		if !env.CanRun(r.bin) {
			fmt.Fprintf(out, "%-10s skipped: %s is not installed on this host\n", r.lang, r.bin)
			continue
		}
		res, err := runs.Create(ctx, agentjail.RunParams{
			Code:     r.code,
			Language: r.lang,
			Timeout:  30 * time.Second,
			MemoryMB: 256,
		})
		if err != nil {
			return fmt.Errorf("%s run: %w", r.lang, err)
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("%s run exited %d: %s", r.lang, res.ExitCode, res.Stderr)
		}
		fmt.Fprintf(out, "%-10s exit %d in %d ms: %s\n", r.lang, res.ExitCode, res.DurationMS, strings.TrimSpace(res.Stdout))
	}

	fmt.Fprintln(out, "== a run that outlives its timeout")
	res, err := runs.Create(ctx, agentjail.RunParams{
		Code:     "echo started; sleep 30; echo never printed",
		Language: agentjail.LanguageBash,
		Timeout:  time.Second, // the server kills the whole process group after 1 s
	})
	if err != nil {
		return fmt.Errorf("timeout run: %w", err)
	}
	if !res.TimedOut {
		return fmt.Errorf("the run should have timed out, got exit %d", res.ExitCode)
	}
	// A timeout is a result, not an error: TimedOut is set and the exit code is 137 (SIGKILL).
	fmt.Fprintf(out, "timed out: %v, exit %d, stdout %q\n", res.TimedOut, res.ExitCode, res.Stdout)

	fmt.Fprintln(out, "== a streamed run")
	stream, err := runs.Stream(ctx, agentjail.RunParams{Code: streamed, Language: agentjail.LanguageBash, Timeout: 30 * time.Second})
	if err != nil {
		return fmt.Errorf("starting the stream: %w", err)
	}
	defer stream.Close()
	var exit *agentjail.CompletedEvent
	for stream.Next() {
		switch ev := stream.Event().(type) {
		case agentjail.StartedEvent:
			fmt.Fprintf(out, "started (pid %d)\n", ev.PID)
		case agentjail.StdoutEvent:
			fmt.Fprintf(out, "stdout | %s\n", ev.Line) // indentation is kept exactly
		case agentjail.StderrEvent:
			fmt.Fprintf(out, "stderr | %s\n", ev.Line)
		case agentjail.StatsEvent:
			// periodic resource samples; not printed here
		case agentjail.CompletedEvent:
			exit = &ev
		case agentjail.ErrorEvent:
			return fmt.Errorf("the run failed inside the engine: %s", ev.Message)
		}
	}
	if err := stream.Err(); err != nil {
		return fmt.Errorf("reading the stream: %w", err)
	}
	if exit == nil {
		return fmt.Errorf("the stream ended without a completed event")
	}
	fmt.Fprintf(out, "completed: exit %d after %d ms\n", exit.ExitCode, exit.DurationMS)
	return nil
}
