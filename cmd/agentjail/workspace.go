package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

var workspaceCommands = []*command{
	{name: "create", args: "[flags]", summary: "create a workspace and print its ID", run: workspaceCreate},
	{name: "list", aliases: []string{"ls"}, args: "[-json]", summary: "list the workspaces, newest first",
		run: listCommand([]string{"ID", "LABEL", "CREATED", "LAST EXEC", "GIT"}, workspaceCells,
			noFlags(func(ctx context.Context, client *agentjail.Client) ([]agentjail.Workspace, error) {
				return collect(client.Workspaces.All(ctx, agentjail.WorkspaceListParams{}), 0)
			}))},
	{name: "exec", args: "[-timeout D] [-env K=V]... ID -- CMD [ARG...]", summary: "run a command in a workspace",
		about: "CMD runs without a shell in the workspace's /workspace. Its stdout and stderr are printed when\n" +
			"it ends, and its exit code is agentjail's (124 when it timed out).",
		run: workspaceExec},
	{name: "delete", args: "ID", summary: "delete a workspace and its files", run: workspaceDelete},
}

func workspaceCreate(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := newFlagSet(cmd.path)
	label := fs.String("label", "", "a label `L` for the workspace (default: a generated slug)")
	idle := fs.Duration("idle-timeout", 0, "pause the workspace after `D` without an exec (default: never)")
	var flavors listFlag
	fs.Var(&flavors, "flavor", "a runtime flavor `NAME` to add (repeatable)")
	jf := addJailFlags(fs)
	var opts agentjail.ExecOptions
	_, client, err := c.connect(cmd, fs, args, 0, 0, func(parsed) (err error) {
		if *idle < 0 {
			return errors.New("-idle-timeout must not be negative")
		}
		opts, err = jf.options()
		return err
	})
	if err != nil {
		return err
	}
	ws, err := client.Workspaces.Create(ctx, agentjail.WorkspaceCreateParams{
		Git: jf.gitSeed(), Label: *label, MemoryMB: jf.memory, Timeout: jf.timeout,
		IdleTimeout: *idle, Flavors: flavors, ExecOptions: opts,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, ws.ID)
	return nil
}

func workspaceCells(w agentjail.Workspace) []string {
	git := w.GitRepo
	if git != "" && w.GitRef != "" {
		git += "#" + w.GitRef
	}
	return []string{w.ID, cell(w.Label), timeText(w.CreatedAt), optTime(w.LastExecAt), cell(git)}
}

func workspaceExec(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := newFlagSet(cmd.path)
	var env listFlag
	fs.Var(&env, "env", "set the environment variable `K=V` for the command (repeatable)")
	vars := map[string]string{}
	checkEnv := func() error {
		for _, kv := range env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return fmt.Errorf("-env %q: want K=V", kv)
			}
			vars[k] = v
		}
		return nil
	}
	return c.exec(cmd, fs, args, "the workspace's timeout", checkEnv,
		func(client *agentjail.Client, id string, argv []string, timeout time.Duration) (*agentjail.ExecResult, error) {
			return client.Workspaces.Exec(ctx, id, agentjail.WorkspaceExecParams{Cmd: argv[0], Args: argv[1:], Timeout: timeout, Env: vars})
		})
}

// exec runs the exec command cmd: it adds -timeout (whose default is described by
// timeoutDefault) to fs, parses "ID -- CMD [ARG...]", runs check for the command's
// own flags, then do. The output is printed when the command ends, and its exit code
// becomes agentjail's.
func (c *cli) exec(cmd *command, fs *flag.FlagSet, args []string, timeoutDefault string, check func() error,
	do func(client *agentjail.Client, id string, argv []string, timeout time.Duration) (*agentjail.ExecResult, error)) error {
	timeout := fs.Duration("timeout", 0, "kill the command after `D` (default: "+timeoutDefault+")")
	var (
		id   string
		argv []string
	)
	_, client, err := c.connect(cmd, fs, args, 1, -1, func(p parsed) (err error) {
		if id, argv, err = execTarget(p); err != nil {
			return err
		}
		if *timeout < 0 {
			return errors.New("-timeout must not be negative")
		}
		if check != nil {
			return check()
		}
		return nil
	})
	if err != nil {
		return err
	}
	res, err := do(client, id, argv, *timeout)
	if err != nil {
		return err
	}
	c.printOutput(res)
	return jailExit(res.ExitCode, res.TimedOut)
}

// execTarget splits "ID -- CMD [ARG...]" (the "--" may be left out when CMD has no
// flags) into the ID and the command.
func execTarget(p parsed) (id string, argv []string, err error) {
	id, argv = p.pos[0], p.command
	if p.command == nil {
		argv = p.pos[1:]
	} else if len(p.pos) > 1 {
		return "", nil, fmt.Errorf("unexpected argument %q before --", p.pos[1])
	}
	if len(argv) == 0 {
		return "", nil, fmt.Errorf("missing the command to run after --")
	}
	return id, argv, nil
}

func workspaceDelete(ctx context.Context, c *cli, cmd *command, args []string) error {
	return withID(c, cmd, args, func(client *agentjail.Client, id string) error {
		return client.Workspaces.Delete(ctx, id)
	})
}

// withID runs a command whose only argument is an ID, such as a delete.
func withID(c *cli, cmd *command, args []string, do func(*agentjail.Client, string) error) error {
	p, client, err := c.connect(cmd, newFlagSet(cmd.path), args, 1, 1, nil)
	if err != nil {
		return err
	}
	return do(client, p.pos[0])
}

// collect gathers the rows of a listing, at most limit of them (0: all).
func collect[T any](seq func(func(T, error) bool), limit int) ([]T, error) {
	var rows []T
	for row, err := range seq {
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
		if limit > 0 && len(rows) == limit {
			break
		}
	}
	return rows, nil
}
