// Command fork shows a live fork: a parent run writes a checkpoint and keeps going; after
// ForkAfter the server freezes it, copies its files once per child, resumes it, and each
// child starts from that copy, reading the checkpoint and exploring its own branch.
//
//	go run ./examples/fork
//
// The programs are POSIX sh so the example needs no extra runtime with the embedded
// fake, which runs them on this host.
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

func main() { exampleenv.Main("fork", run) }

// checkpointDir picks /output in a jail (the writable output directory each child gets a
// copy of) and the working directory where the embedded fake runs host processes instead.
const checkpointDir = `d=/output; [ -d "$d" ] && [ -w "$d" ] || d=.`

// parent writes its checkpoint at once, then keeps working past the fork point.
const parent = checkpointDir + `
echo '{"step": 41, "best": "alpha"}' > "$d/state.json"
echo "parent: checkpoint written"
sleep 1
echo "parent: finished its own branch"`

// child is the code of child i: it starts from the parent's files and reads the checkpoint.
func child(i int, strategy string) string {
	return fmt.Sprintf(checkpointDir+`
state=$(cat "$d/state.json")
echo "child %d: resumed from $state, exploring %s"`, i, strategy)
}

var strategies = []string{"greedy", "beam search", "random restarts"}

func run(ctx context.Context, out io.Writer) error {
	env, err := exampleenv.Connect(out)
	if err != nil {
		return err
	}
	defer env.Close()

	children := make([]agentjail.ForkChild, len(strategies))
	for i, s := range strategies {
		children[i] = agentjail.ForkChild{Code: child(i, s)}
	}
	res, err := env.Client.Runs.Fork(ctx, agentjail.ForkParams{
		ParentCode: parent,
		Children:   children,
		Language:   agentjail.LanguageBash,
		ForkAfter:  300 * time.Millisecond, // the checkpoint exists by then
		Timeout:    30 * time.Second,
		MemoryMB:   256,
	})
	if err != nil {
		return fmt.Errorf("fork: %w", err)
	}

	fmt.Fprintf(out, "parent (exit %d):\n%s", res.Parent.ExitCode, indent(res.Parent.Stdout))
	for i, c := range res.Children {
		m := res.Forks[i]
		fmt.Fprintf(out, "child %d (exit %d; copied %d files with %s in %d ms, parent frozen: %v):\n%s",
			i, c.ExitCode, m.FilesCloned, m.Method, m.CloneMS, m.WasFrozen, indent(c.Stdout))
		if c.ExitCode != 0 || !strings.Contains(c.Stdout, `"step": 41`) {
			return fmt.Errorf("child %d did not read the checkpoint: exit %d, stderr %q", i, c.ExitCode, c.Stderr)
		}
	}
	if res.Parent.ExitCode != 0 {
		return fmt.Errorf("parent exited %d: %s", res.Parent.ExitCode, res.Parent.Stderr)
	}
	return nil
}

func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	return b.String()
}
