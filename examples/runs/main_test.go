package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/agentjail/agentjail-go/examples/internal/exampleenv"
)

func TestRun(t *testing.T) {
	want := []string{"== one-shot runs", "bash       exit 0", "6*7=42"}
	for _, r := range oneShots[1:] {
		if _, err := exec.LookPath(r.bin); err == nil {
			want = append(want, string(r.lang)+" ", "6*7=42")
		} else {
			want = append(want, string(r.lang)+" ", "skipped")
		}
	}
	want = append(want,
		"timed out: true, exit 137", `stdout "started\n"`,
		"started (pid ",
		"stdout | build:", // the stderr line may come anywhere between the stdout lines
		"stdout |   compile ok", "stdout |   test:", "stdout |       FAIL TestParse (0.01s)",
		"completed: exit 3")
	out := exampleenv.Check(t, run, want...)
	exampleenv.ContainsInOrder(t, out, "started (pid ", "stderr |     2 warnings", "completed: exit 3")
}

// TestRunInterruptedMidStream checks that Ctrl-C during the streamed run ends the
// example promptly with a context error rather than waiting for the run.
func TestRunInterruptedMidStream(t *testing.T) {
	out := exampleenv.CheckInterrupted(t, run, "stdout | build:")
	if strings.Contains(out, "completed:") {
		t.Errorf("the stream was read to the end despite the interrupt\n%s", out)
	}
}
