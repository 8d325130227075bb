package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"strconv"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

var jailCommands = []*command{
	{name: "list", aliases: []string{"ls"}, args: "[-status S] [-kind K] [-q TEXT] [-limit N] [-json]",
		summary: "list the jails the server ran, newest first",
		run:     listCommand([]string{"ID", "KIND", "STATUS", "EXIT", "DURATION", "STARTED", "LABEL"}, jailCells, jailListFlags)},
	{name: "get", args: "[-json] ID", summary: "show one jail: its settings, result and captured output", run: jailGet},
}

// jailListFlags defines the filters of jail list and returns how to fetch its rows.
func jailListFlags(fs *flag.FlagSet) func(context.Context, *agentjail.Client) ([]agentjail.Jail, error) {
	status := choice(fs, "status", "", "only jails in state `S`: running, completed or error",
		string(agentjail.JailRunning), string(agentjail.JailCompleted), string(agentjail.JailError))
	kind := choice(fs, "kind", "", "only jails of kind `K`: run, exec, fork, stream or workspace",
		string(agentjail.JailKindRun), string(agentjail.JailKindExec), string(agentjail.JailKindFork),
		string(agentjail.JailKindStream), string(agentjail.JailKindWorkspace))
	query := fs.String("q", "", "only jails whose label, session ID or error contains `TEXT`")
	limit := fs.Uint("limit", 50, "show at most `N` jails (0: all)")
	return func(ctx context.Context, client *agentjail.Client) ([]agentjail.Jail, error) {
		params := agentjail.JailListParams{Status: agentjail.JailStatus(status.value), Kind: agentjail.JailKind(kind.value), Query: *query}
		n := int(min(*limit, math.MaxInt32))
		if n > 0 {
			params.Limit = min(n, 500)
		}
		return collect(client.Jails.All(ctx, params), n)
	}
}

func jailCells(j agentjail.Jail) []string {
	exit, duration := "-", "-"
	if j.ExitCode != nil {
		exit = strconv.Itoa(*j.ExitCode)
	}
	if j.TimedOut != nil && *j.TimedOut {
		exit += " (timed out)"
	}
	if j.DurationMS != nil {
		duration = durationText(*j.DurationMS)
	}
	return []string{strconv.FormatInt(j.ID, 10), cell(string(j.Kind)), cell(string(j.Status)), exit, duration,
		timeText(j.StartedAt), cell(j.Label)}
}

func jailGet(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := newFlagSet(cmd.path)
	asJSON := fs.Bool("json", false, "print the jail as JSON")
	var id int64
	_, client, err := c.connect(cmd, fs, args, 1, 1, func(p parsed) (err error) {
		if id, err = strconv.ParseInt(p.pos[0], 10, 64); err != nil {
			return fmt.Errorf("jail ID %q is not a number", p.pos[0])
		}
		return nil
	})
	if err != nil {
		return err
	}
	j, err := client.Jails.Get(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(c.stdout, j)
	}
	return writeFields(c.stdout, j)
}

// durationText renders milliseconds as a Go duration such as 1.5s; counts too large
// for a duration (the server saturates overflows) stay in milliseconds.
func durationText(ms int64) string {
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return strconv.FormatInt(ms, 10) + "ms"
	}
	return (time.Duration(ms) * time.Millisecond).String()
}
