package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	agentjail "github.com/agentjail/agentjail-go"
)

var snapshotCommands = []*command{
	{name: "create", args: "[-name N] WORKSPACE", summary: "snapshot a workspace's files and print the snapshot's ID", run: snapshotCreate},
	{name: "list", aliases: []string{"ls"}, args: "[-workspace ID] [-json]", summary: "list the snapshots, newest first",
		run: listCommand([]string{"ID", "WORKSPACE", "NAME", "SIZE", "CREATED"}, snapshotCells,
			func(fs *flag.FlagSet) func(context.Context, *agentjail.Client) ([]agentjail.Snapshot, error) {
				workspace := fs.String("workspace", "", "only the snapshots of workspace `ID`")
				return func(ctx context.Context, client *agentjail.Client) ([]agentjail.Snapshot, error) {
					return collect(client.Snapshots.All(ctx, agentjail.SnapshotListParams{WorkspaceID: *workspace}), 0)
				}
			})},
	{name: "restore", args: "-parent WORKSPACE [-label L] SNAPSHOT", summary: "create a workspace from a snapshot and print its ID", run: snapshotRestore},
	{name: "delete", args: "ID", summary: "delete a snapshot", run: snapshotDelete},
}

func snapshotCreate(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := newFlagSet(cmd.path)
	name := fs.String("name", "", "a name `N` for the snapshot")
	p, client, err := c.connect(cmd, fs, args, 1, 1, nil)
	if err != nil {
		return err
	}
	snap, err := client.Snapshots.Create(ctx, p.pos[0], agentjail.SnapshotCreateParams{Name: *name})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, snap.ID)
	return nil
}

func snapshotCells(s agentjail.Snapshot) []string {
	return []string{s.ID, cell(s.WorkspaceID), cell(s.Name), sizeText(s.SizeBytes), timeText(s.CreatedAt)}
}

func snapshotRestore(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := newFlagSet(cmd.path)
	parent := fs.String("parent", "", "the `WORKSPACE` the snapshot was taken of (required)")
	label := fs.String("label", "", "a label `L` for the new workspace (default: a generated slug)")
	p, client, err := c.connect(cmd, fs, args, 1, 1, func(parsed) error {
		if *parent == "" {
			return errors.New("-parent is required")
		}
		return nil
	})
	if err != nil {
		return err
	}
	ws, err := client.Snapshots.CreateWorkspaceFrom(ctx, p.pos[0],
		agentjail.CreateWorkspaceFromParams{ParentWorkspaceID: *parent, Label: *label})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, ws.ID)
	return nil
}

func snapshotDelete(ctx context.Context, c *cli, cmd *command, args []string) error {
	return withID(c, cmd, args, func(client *agentjail.Client, id string) error {
		return client.Snapshots.Delete(ctx, id)
	})
}
