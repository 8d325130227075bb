package main

import (
	"testing"

	"github.com/agentjail/agentjail-go/examples/internal/exampleenv"
)

func TestRun(t *testing.T) {
	exampleenv.Check(t, run,
		"parent (exit 0):", "parent: checkpoint written", "parent: finished its own branch",
		"child 0 (exit 0;", `child 0: resumed from {"step": 41, "best": "alpha"}, exploring greedy`,
		"child 1 (exit 0;", "exploring beam search",
		"child 2 (exit 0;", "exploring random restarts")
}
