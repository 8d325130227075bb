package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	agentjail "github.com/agentjail/agentjail-go"
)

// command is one node of the command tree: a group (subs) or a leaf (run).
type command struct {
	name    string
	aliases []string
	args    string // the synopsis after the command's name, e.g. "[-name N] WORKSPACE"
	summary string // one line for the command lists
	about   string // more for the command's own help; optional
	subs    []*command
	run     func(ctx context.Context, c *cli, cmd *command, args []string) error

	path string // "workspace exec", filled in by init
}

// commands is every command, in the order the help lists them. It is set by init
// because the commands' own code refers to it (for help texts).
var commands []*command

func init() {
	commands = []*command{
		runCommand,
		{name: "workspace", summary: "create, list, exec in and delete workspaces", subs: workspaceCommands},
		{name: "snapshot", summary: "take, list, restore and delete workspace snapshots", subs: snapshotCommands},
		{name: "session", summary: "mint, list, exec in and close phantom-token sessions", subs: sessionCommands},
		{name: "credential", summary: "store, list and delete upstream API keys", subs: credentialCommands},
		{name: "jail", summary: "read the jail ledger", subs: jailCommands},
		auditCommand,
		healthCommand,
		whoamiCommand,
		configCommand,
		versionCommand,
	}
	var setPaths func(prefix string, cmds []*command)
	setPaths = func(prefix string, cmds []*command) {
		for _, cmd := range cmds {
			cmd.path = prefix + cmd.name
			setPaths(cmd.path+" ", cmd.subs)
		}
	}
	setPaths("", commands)
}

// dispatch runs the command named by args[0]: a subcommand of group, or a top-level
// command when group is nil.
func dispatch(ctx context.Context, c *cli, group *command, args []string) error {
	cmds := commands
	if group != nil {
		cmds = group.subs
	} else if args[0] == "help" {
		return help(ctx, c, args[1:])
	}
	cmd := lookup(cmds, args[0])
	switch {
	case cmd == nil && group != nil:
		return &usageError{fmt.Sprintf("unknown command %q for %q", args[0], group.path), groupUsage(group)}
	case cmd == nil:
		return &usageError{fmt.Sprintf("unknown command %q", args[0]), shortTopUsage}
	case cmd.subs == nil:
		return cmd.run(ctx, c, cmd, args[1:])
	case len(args) < 2:
		return &usageError{cmd.path + " needs a subcommand", groupUsage(cmd)}
	case isHelpFlag(args[1]):
		fmt.Fprint(c.stdout, groupUsage(cmd))
		return errHelpShown
	}
	return dispatch(ctx, c, cmd, args[1:])
}

// help prints the help of the command named by args (the top-level help without args).
func help(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] == "help" || isHelpFlag(args[0]) {
		fmt.Fprint(c.stdout, topUsage())
		return errHelpShown
	}
	// A command prints its own help when asked with -h, before doing anything else.
	return dispatch(ctx, c, nil, append(slices.Clip(args), "-h"))
}

func lookup(cmds []*command, name string) *command {
	for _, cmd := range cmds {
		if cmd.name == name || slices.Contains(cmd.aliases, name) {
			return cmd
		}
	}
	return nil
}

func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
}

// newFlagSet returns a flag set that reports errors to its caller instead of printing.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parsed is a leaf command's arguments once its flags are taken out.
type parsed struct {
	pos     []string // positional arguments before "--"
	command []string // the arguments after "--"; nil without "--"
}

// parse reads cmd's flags from args. Flags may come before, between and after the
// positional arguments; everything after "--" is left alone. -h prints cmd's help to
// stdout. min and max bound the positional arguments (max < 0: no bound).
func (c *cli) parse(cmd *command, fs *flag.FlagSet, args []string, min, max int) (parsed, error) {
	var p parsed
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, leafUsage(cmd, fs, true))
			return p, errHelpShown
		}
		if err != nil {
			return p, &usageError{err.Error(), leafUsage(cmd, fs, false)}
		}
		rest := fs.Args()
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			p.command = append([]string{}, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		p.pos = append(p.pos, rest[0])
		args = rest[1:]
	}
	switch {
	case len(p.pos) < min:
		return p, &usageError{"missing arguments", leafUsage(cmd, fs, false)}
	case max >= 0 && len(p.pos) > max:
		return p, &usageError{fmt.Sprintf("unexpected argument %q", p.pos[max]), leafUsage(cmd, fs, false)}
	}
	return p, nil
}

// connect parses cmd's flags and arguments like parse, runs check (when not nil) on
// them, then returns the client: the first steps of every command that talks to the
// control plane. An error from check is a usage error, reported before a missing URL.
func (c *cli) connect(cmd *command, fs *flag.FlagSet, args []string, min, max int, check func(parsed) error) (parsed, *agentjail.Client, error) {
	p, err := c.parse(cmd, fs, args, min, max)
	if err != nil {
		return p, nil, err
	}
	if check != nil {
		if err := check(p); err != nil {
			return p, nil, &usageError{err.Error(), leafUsage(cmd, fs, false)}
		}
	}
	client, err := c.api()
	return p, client, err
}

// listCommand returns the run function of a listing: flags defines the listing's own
// flags (-json is added) and returns how to fetch the rows, which are printed under
// header, one line of cells each, or as one JSON array.
func listCommand[T any](header []string, cells func(T) []string,
	flags func(fs *flag.FlagSet) func(context.Context, *agentjail.Client) ([]T, error)) func(context.Context, *cli, *command, []string) error {
	return func(ctx context.Context, c *cli, cmd *command, args []string) error {
		fs := newFlagSet(cmd.path)
		fetch := flags(fs)
		asJSON := fs.Bool("json", false, "print one JSON array")
		_, client, err := c.connect(cmd, fs, args, 0, 0, nil)
		if err != nil {
			return err
		}
		rows, err := fetch(ctx, client)
		if err != nil {
			return err
		}
		return listing(c.stdout, *asJSON, rows, header, cells)
	}
}

// noFlags is the flags function of a listing without flags of its own.
func noFlags[T any](fetch func(context.Context, *agentjail.Client) ([]T, error)) func(*flag.FlagSet) func(context.Context, *agentjail.Client) ([]T, error) {
	return func(*flag.FlagSet) func(context.Context, *agentjail.Client) ([]T, error) { return fetch }
}
