package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

var sessionCommands = []*command{
	{name: "create", args: "-service S [-service S]... [-scope S=GLOB]... [-ttl D] [-format env|json]",
		summary: "mint phantom tokens for services and print their environment",
		about: "With -format env (the default) it prints one export line per variable, quoted for POSIX sh,\n" +
			"and AGENTJAIL_SESSION_ID, so that this sets them in the current shell:\n\n" +
			"\teval \"$(agentjail session create -service openai)\"",
		run: sessionCreate},
	{name: "list", aliases: []string{"ls"}, args: "[-json]", summary: "list the sessions (-json includes their live tokens)",
		run: listCommand([]string{"ID", "SERVICES", "CREATED", "EXPIRES"}, sessionCells,
			noFlags(func(ctx context.Context, client *agentjail.Client) ([]agentjail.Session, error) {
				return client.Sessions.List(ctx)
			}))},
	{name: "exec", args: "[-timeout D] ID -- CMD [ARG...]", summary: "run a command in a jail with the session's environment",
		about: "CMD runs without a shell. Its stdout and stderr are printed when it ends, and its exit code is\n" +
			"agentjail's (124 when it timed out).",
		run: sessionExec},
	{name: "close", args: "ID", summary: "close a session, revoking its tokens", run: sessionClose},
}

func sessionCreate(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := newFlagSet(cmd.path)
	var services, scopes listFlag
	fs.Var(&services, "service", "a service `S` to mint a token for: openai, anthropic, github or stripe (repeatable, required)")
	fs.Var(&scopes, "scope", "restrict service S to upstream paths matching `S=GLOB`, e.g. github=/repos/acme/* (repeatable)")
	ttl := fs.Duration("ttl", 0, "the tokens' lifetime `D` (default: no expiry)")
	format := choice(fs, "format", "env", "print the session as sh export lines or as JSON, `env|json`", "env", "json")
	var params agentjail.SessionCreateParams
	_, client, err := c.connect(cmd, fs, args, 0, 0, func(parsed) error {
		switch {
		case len(services) == 0:
			return errors.New("at least one -service is required")
		case *ttl < 0:
			return errors.New("-ttl must not be negative")
		}
		params.TTL = *ttl
		for _, s := range services {
			params.Services = append(params.Services, agentjail.Service(s))
		}
		for _, sc := range scopes {
			svc, glob, ok := strings.Cut(sc, "=")
			if !ok || svc == "" || glob == "" {
				return fmt.Errorf("-scope %q: want SERVICE=GLOB", sc)
			}
			if params.Scopes == nil {
				params.Scopes = map[agentjail.Service][]string{}
			}
			params.Scopes[agentjail.Service(svc)] = append(params.Scopes[agentjail.Service(svc)], glob)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sess, err := client.Sessions.Create(ctx, params)
	if err != nil {
		return err
	}
	if format.value == "json" {
		return writeJSON(c.stdout, sess)
	}
	return writeExports(c.stdout, sess)
}

// writeExports prints the session's env as sh export lines, then its ID. A name that
// is not a shell identifier is refused rather than printed, since the output is
// meant for eval.
func writeExports(w io.Writer, sess *agentjail.Session) error {
	names := make([]string, 0, len(sess.Env))
	for k := range sess.Env {
		if !isShellName(k) {
			return fmt.Errorf("session %s: variable name %q cannot be exported by sh", sess.ID, k)
		}
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString("export " + k + "=" + shellQuote(sess.Env[k]) + "\n")
	}
	b.WriteString("export AGENTJAIL_SESSION_ID=" + shellQuote(sess.ID) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// isShellName reports whether s is a POSIX sh variable name.
func isShellName(s string) bool {
	for i, r := range s {
		if r != '_' && !(r >= 'A' && r <= 'Z') && !(r >= 'a' && r <= 'z') && (i == 0 || !(r >= '0' && r <= '9')) {
			return false
		}
	}
	return s != ""
}

func sessionCells(s agentjail.Session) []string {
	services := make([]string, len(s.Services))
	for i, svc := range s.Services {
		services[i] = string(svc)
	}
	return []string{s.ID, cell(strings.Join(services, ",")), timeText(s.CreatedAt), optTime(s.ExpiresAt)}
}

func sessionExec(ctx context.Context, c *cli, cmd *command, args []string) error {
	return c.exec(cmd, newFlagSet(cmd.path), args, "the server's, 300s", nil,
		func(client *agentjail.Client, id string, argv []string, timeout time.Duration) (*agentjail.ExecResult, error) {
			return client.Sessions.Exec(ctx, id, agentjail.SessionExecParams{Cmd: argv[0], Args: argv[1:], Timeout: timeout})
		})
}

func sessionClose(ctx context.Context, c *cli, cmd *command, args []string) error {
	return withID(c, cmd, args, func(client *agentjail.Client, id string) error {
		return client.Sessions.Close(ctx, id)
	})
}
