package agentjailtest_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestConsumerModule runs `go test ./...` in testdata/consumer, a module of its own that
// imports agentjailtest the way a user's module does (through a replace directive to
// this repository), so an import that only works from inside this module fails here.
func TestConsumerModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a separate module")
	}
	t.Parallel()
	// go test puts its own toolchain first on PATH, so this is the go running the test.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "consumer"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); errors.Is(err, fs.ErrNotExist) {
		// Module downloads leave out nested modules: this is a copy from the module cache.
		t.Skip("testdata/consumer is not in this copy of the module")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "test", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GOWORK=off",            // no go.work of the surroundings
		"GOFLAGS=-mod=readonly", // go.mod must be complete as committed: no go.sum is needed
		"GOPROXY=off",           // and nothing is downloaded
		"GOTOOLCHAIN=local",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test in %s: %v\n%s", dir, err, out)
	}
	t.Logf("%s", out)
}
