package main

import (
	"os/exec"
	"testing"

	"github.com/agentjail/agentjail-go/examples/internal/exampleenv"
)

func TestRun(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	exampleenv.Check(t, run,
		"jail | lint: 0 problems",
		"jail | test: 12 passed",
		"jail | review: using OPENAI_API_KEY=phm_",
		"jail | review: APPROVE",
		"pipeline exit 0",
		"decision: APPROVE")
}
