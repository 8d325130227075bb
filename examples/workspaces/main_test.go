package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/agentjail/agentjail-go/examples/internal/exampleenv"
)

func TestRun(t *testing.T) {
	exampleenv.Check(t, run,
		`wrote marker.txt = "baseline"`,
		`snapshot snap_`, `"baseline": `,
		"removed marker.txt from the workspace",
		`restored into workspace wrk_`, `marker.txt = "baseline"`,
		`fork 0 wrk_`, `(e2e-fork-0): marker.txt = "baseline"`,
		`fork 1 wrk_`, `(e2e-fork-1): marker.txt = "baseline"`,
		`fork 2 wrk_`, `(e2e-fork-2): marker.txt = "baseline"`,
		"removed the marker in fork 0; fork 1 still has it",
		"cleaned up 7 workspaces and snapshots")
}

// TestRunCancelled checks that an interrupted run reports the interruption.
func TestRunCancelled(t *testing.T) {
	t.Setenv("AGENTJAIL_URL", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); !errors.Is(err, context.Canceled) {
		t.Fatalf("run() = %v, want an error matching context.Canceled\n%s", err, out.String())
	}
}

// TestRunInterruptedCleansUp interrupts the example after it has created a workspace, a
// snapshot and a restored workspace, and checks that all three are deleted anyway.
func TestRunInterruptedCleansUp(t *testing.T) {
	out := exampleenv.CheckInterrupted(t, run, "restored into workspace")
	exampleenv.ContainsInOrder(t, out, "restored into workspace", "cleaned up 3 workspaces and snapshots")
	if strings.Contains(out, "warning") {
		t.Errorf("clean-up reported failures:\n%s", out)
	}
}
