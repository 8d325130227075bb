package checks

import (
	"context"
	"errors"
	"slices"
	"testing"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/agentjailtest"
)

var lintThenTest = []Check{
	{Name: "lint", Script: "echo lint ok"},
	{Name: "test", Script: "echo 1 test failed >&2; exit 1"},
	{Name: "deploy", Script: "echo must not run; exit 1"},
}

func TestRunStopsAtTheFirstFailure(t *testing.T) {
	// A fake control plane for this test only. It runs the scripts on this
	// machine (in a light jail on Linux): it is not a sandbox.
	srv := agentjailtest.NewServer(t)

	got, err := Run(context.Background(), srv.Client(), lintThenTest)
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{
		{Name: "lint", Passed: true, Output: "lint ok\n"},
		{Name: "test", Passed: false, Output: "1 test failed\n"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestRunRidesOutABusyServer(t *testing.T) {
	srv := agentjailtest.NewServer(t)
	srv.InjectFault(agentjailtest.Fault{Method: "POST", Path: "/v1/runs", Status: 503})

	got, err := Run(context.Background(), srv.Client(), lintThenTest[:1])
	if err != nil || len(got) != 1 || !got[0].Passed {
		t.Fatalf("got %+v, %v", got, err)
	}
	// The SDK retried the 503: the server saw the run twice and ran it once.
	want := []agentjailtest.Request{
		{Method: "POST", Path: "/v1/runs", Status: 503},
		{Method: "POST", Path: "/v1/runs", Status: 201},
	}
	if log := srv.Requests(); !slices.Equal(log, want) {
		t.Fatalf("requests %+v, want %+v", log, want)
	}
}

func TestRunReportsALostCheckWithoutRepeatingIt(t *testing.T) {
	srv := agentjailtest.NewServer(t)
	// The server reads the request, then the connection breaks: the check may have run.
	srv.InjectFault(agentjailtest.Fault{Method: "POST", Path: "/v1/runs", Drop: true})

	got, err := Run(context.Background(), srv.Client(), lintThenTest)
	if !errors.Is(err, agentjail.ErrNetwork) || len(got) != 0 {
		t.Fatalf("got %+v, %v; want no result and a network error", got, err)
	}
	if log := srv.Requests(); len(log) != 1 {
		t.Fatalf("the lost run was sent %d times: %+v", len(log), log)
	}
}
