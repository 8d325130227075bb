// Command workspaces walks through persistent workspaces, snapshots and forks: write a
// file, snapshot it, break it, restore the snapshot into a new workspace, fork that
// three ways in parallel and show the forks are independent. It deletes everything it
// created, also when interrupted. It is the Go port of upstream's
// scripts/e2e-workspaces.ts.
//
//	go run ./examples/workspaces
//
// Commands use paths relative to the exec's working directory, which is the workspace's
// directory (/workspace in a real jail, a host directory with the fake).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
	"github.com/agentjail/agentjail-go/examples/internal/exampleenv"
)

func main() { exampleenv.Main("workspaces", run) }

// cleanup remembers what the example created and deletes it, newest first.
type cleanup struct {
	client *agentjail.Client
	out    io.Writer
	steps  []func(context.Context) error
}

func (c *cleanup) workspace(id string) {
	c.steps = append(c.steps, func(ctx context.Context) error { return c.client.Workspaces.Delete(ctx, id) })
}

func (c *cleanup) snapshot(id string) {
	c.steps = append(c.steps, func(ctx context.Context) error { return c.client.Snapshots.Delete(ctx, id) })
}

func (c *cleanup) run(ctx context.Context) {
	ctx, cancel := exampleenv.Cleanup(ctx)
	defer cancel()
	n := 0
	for i := len(c.steps) - 1; i >= 0; i-- {
		if err := c.steps[i](ctx); err != nil {
			fmt.Fprintf(c.out, "warning: clean-up: %v\n", err)
			continue
		}
		n++
	}
	fmt.Fprintf(c.out, "cleaned up %d workspaces and snapshots\n", n)
}

// shIn runs a shell command in a workspace and returns its trimmed stdout; a non-zero
// exit is an error.
func shIn(ctx context.Context, c *agentjail.Client, wsID, script string) (string, error) {
	res, err := c.Workspaces.Exec(ctx, wsID, agentjail.WorkspaceExecParams{Cmd: "/bin/sh", Args: []string{"-c", script}})
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("%q exited %d: %s", script, res.ExitCode, strings.TrimSpace(res.Stderr))
	}
	return strings.TrimSpace(res.Stdout), nil
}

// markerCount counts marker.txt in a workspace: 1 when present, 0 when not.
const markerCount = "ls marker.txt 2>/dev/null | wc -l | tr -d ' '"

func run(ctx context.Context, out io.Writer) error {
	env, err := exampleenv.Connect(out)
	if err != nil {
		return err
	}
	defer env.Close()
	client := env.Client
	sh := func(wsID, script string) (string, error) { return shIn(ctx, client, wsID, script) }

	// 1. Is the control plane there?
	if _, err := client.Public.Health(ctx); err != nil {
		return fmt.Errorf("control plane not reachable: %w", err)
	}
	created := &cleanup{client: client, out: out}
	defer created.run(ctx)

	// 2. A workspace with a file in it.
	ws, err := client.Workspaces.Create(ctx, agentjail.WorkspaceCreateParams{
		Label:    "e2e-workspaces",
		MemoryMB: 256,
		Timeout:  30 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("creating the workspace: %w", err)
	}
	created.workspace(ws.ID)
	got, err := sh(ws.ID, "echo baseline > marker.txt && cat marker.txt")
	if err != nil {
		return err
	}
	if got != "baseline" {
		return fmt.Errorf("marker: got %q, want baseline", got)
	}
	fmt.Fprintf(out, "workspace %s: wrote marker.txt = %q\n", ws.ID, got)

	// 3. Snapshot it.
	snap, err := client.Snapshots.Create(ctx, ws.ID, agentjail.SnapshotCreateParams{Name: "baseline"})
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	created.snapshot(snap.ID)
	if snap.SizeBytes <= 0 {
		return fmt.Errorf("snapshot %s is empty", snap.ID)
	}
	fmt.Fprintf(out, "snapshot %s %q: %d bytes\n", snap.ID, snap.Name, snap.SizeBytes)

	// 4. Break the workspace.
	if got, err = sh(ws.ID, "rm marker.txt && "+markerCount); err != nil {
		return err
	}
	if got != "0" {
		return fmt.Errorf("after rm: %s markers left", got)
	}
	fmt.Fprintln(out, "removed marker.txt from the workspace")

	// 5. Restore the snapshot into a new workspace. The parent workspace is required
	// (upstream's script omits it and fails).
	restored, err := client.Snapshots.CreateWorkspaceFrom(ctx, snap.ID, agentjail.CreateWorkspaceFromParams{
		ParentWorkspaceID: ws.ID,
		Label:             "e2e-restored",
	})
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	created.workspace(restored.ID)
	if got, err = sh(restored.ID, "cat marker.txt"); err != nil {
		return err
	}
	if got != "baseline" {
		return fmt.Errorf("restored marker: got %q, want baseline", got)
	}
	fmt.Fprintf(out, "restored into workspace %s: marker.txt = %q\n", restored.ID, got)

	// 6. Fork the restored workspace three ways and check each fork, in parallel.
	fork, err := client.Workspaces.Fork(ctx, restored.ID, agentjail.WorkspaceForkParams{Count: 3, Label: "e2e-fork"})
	if err != nil {
		return fmt.Errorf("fork: %w", err)
	}
	created.snapshot(fork.SnapshotID)
	for _, f := range fork.Forks {
		created.workspace(f.ID)
	}
	results := make([]string, len(fork.Forks))
	errs := make([]error, len(fork.Forks))
	var wg sync.WaitGroup
	for i, f := range fork.Forks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = sh(f.ID, "cat marker.txt")
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reading the forks: %w", err)
	}
	for i, f := range fork.Forks {
		if results[i] != "baseline" {
			return fmt.Errorf("fork %d marker: got %q", i, results[i])
		}
		fmt.Fprintf(out, "fork %d %s (%s): marker.txt = %q\n", i, f.ID, f.Label, results[i])
	}

	// 7. The forks are independent: deleting the marker in fork 0 leaves fork 1 alone.
	if _, err := sh(fork.Forks[0].ID, "rm marker.txt"); err != nil {
		return err
	}
	counts := make([]string, 2)
	for i := range counts {
		if counts[i], err = sh(fork.Forks[i].ID, markerCount); err != nil {
			return err
		}
	}
	if counts[0] != "0" || counts[1] != "1" {
		return fmt.Errorf("forks are not independent: fork 0 has %s markers, fork 1 has %s", counts[0], counts[1])
	}
	fmt.Fprintln(out, "removed the marker in fork 0; fork 1 still has it")
	return nil
}
