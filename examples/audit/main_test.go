package main

import (
	"strings"
	"testing"

	"github.com/agentjail/agentjail-go/examples/internal/exampleenv"
)

func TestRun(t *testing.T) {
	out := exampleenv.Check(t, run,
		"200 GET    openai    /v1/models\n",
		"200 POST   openai    /v1/chat/completions\n",
		"401 GET    -         /v1/models rejected: unknown_token\n",
		"200 GET    openai    /v1/models/gpt-4o\n")
	// Every request is printed exactly once.
	if n := strings.Count(out, "/v1/chat/completions"); n != 1 {
		t.Errorf("the chat request was printed %d times, want once\n%s", n, out)
	}
	if n := strings.Count(out, "\n"); n != 1+len(sandboxCalls) {
		t.Errorf("got %d lines, want the embedded notice plus %d rows\n%s", n, len(sandboxCalls), out)
	}
}
