package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"strings"
)

// topUsage is the help of agentjail itself: every command on one line, the global
// flag, the environment and the exit statuses.
func topUsage() string {
	var b strings.Builder
	b.WriteString(`agentjail runs code in agentjail jails and manages a control plane from a shell or a CI job.

Usage:
  agentjail [-url URL] COMMAND [flags] [args]

Commands:
`)
	tw := newTable(&b)
	var list func(cmds []*command)
	list = func(cmds []*command) {
		for _, cmd := range cmds {
			if cmd.subs != nil {
				list(cmd.subs)
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\n", cmd.path, summaryLine(cmd))
		}
	}
	list(commands)
	fmt.Fprintf(tw, "  %s\t%s\n", "help COMMAND", "show a command's flags and arguments")
	tw.Flush()
	b.WriteString(`
Flags:
  -url URL   control plane base URL (default $AGENTJAIL_URL)

Environment:
  AGENTJAIL_URL       control plane base URL, used when -url is not given
  AGENTJAIL_API_KEY   API key: the token part of token@tenant:role (there is no flag for it,
                      so it never shows in ps or shell history)

Exit status:
  the jail's exit code for run, workspace exec and session exec;
  124 when the jail timed out; 130 when interrupted (SIGINT or SIGTERM), except
  that audit -f then exits 0;
  1 for an API, network or jail error; 2 for a usage error, a missing or malformed
  URL or key included; 0 otherwise.

Run 'agentjail help COMMAND' or 'agentjail COMMAND -h' for a command's flags.
`)
	return b.String()
}

// summaryLine is cmd's one-line description, with its aliases.
func summaryLine(cmd *command) string {
	if len(cmd.aliases) == 0 {
		return cmd.summary
	}
	return cmd.summary + " (alias " + strings.Join(cmd.aliases, ", ") + ")"
}

// groupUsage is the help of a command group such as workspace.
func groupUsage(group *command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "agentjail %s: %s.\n\nCommands:\n", group.path, group.summary)
	tw := newTable(&b)
	for _, cmd := range group.subs {
		fmt.Fprintf(tw, "  %s\t%s\n", cmd.name, summaryLine(cmd))
	}
	tw.Flush()
	b.WriteString("\nUsage:\n")
	for _, cmd := range group.subs {
		fmt.Fprintf(&b, "  agentjail %s %s\n", cmd.path, cmd.args)
	}
	fmt.Fprintf(&b, "\nRun 'agentjail help %s COMMAND' for a command's flags.\n", group.path)
	return b.String()
}

// shortTopUsage follows a usage error that concerns no command in particular.
const shortTopUsage = `Usage: agentjail [-url URL] COMMAND [flags] [args]

Run 'agentjail -h' for the commands.
`

// leafUsage is the help of a command: synopsis, description (when full) and flags.
func leafUsage(cmd *command, fs *flag.FlagSet, full bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: agentjail %s", cmd.path)
	if cmd.args != "" {
		b.WriteString(" " + cmd.args)
	}
	b.WriteString("\n")
	if full {
		b.WriteString("\n" + capitalize(summaryLine(cmd)) + ".\n")
		if cmd.about != "" {
			b.WriteString("\n" + cmd.about + "\n")
		}
	}
	var flags bytes.Buffer
	fs.SetOutput(&flags)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	if flags.Len() > 0 {
		b.WriteString("\nFlags:\n")
		b.Write(flags.Bytes())
	}
	if !full {
		fmt.Fprintf(&b, "\nRun 'agentjail help %s' for more.\n", cmd.path)
	}
	return b.String()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
