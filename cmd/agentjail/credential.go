package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	agentjail "github.com/agentjail/agentjail-go"
)

var credentialCommands = []*command{
	{name: "put", args: "SERVICE", summary: "store the real API key of a service, read from standard input",
		about: "The key is read from standard input, never from the command line, where ps and the shell\n" +
			"history would show it, nor from a terminal, where the screen would. Surrounding whitespace\n" +
			"is dropped:\n\n" +
			"\tprintf %s \"$OPENAI_API_KEY\" | agentjail credential put openai",
		run: credentialPut},
	{name: "list", aliases: []string{"ls"}, args: "[-json]", summary: "list the stored keys by fingerprint, never the secrets",
		run: listCommand([]string{"SERVICE", "TENANT", "FINGERPRINT", "ADDED", "UPDATED"}, credentialCells,
			noFlags(func(ctx context.Context, client *agentjail.Client) ([]agentjail.Credential, error) {
				return client.Credentials.List(ctx)
			}))},
	{name: "delete", args: "SERVICE", summary: "delete the stored key of a service", run: credentialDelete},
}

// maxSecret bounds what credential put reads: far more than any API key.
const maxSecret = 64 << 10

func credentialPut(ctx context.Context, c *cli, cmd *command, args []string) error {
	p, client, err := c.connect(cmd, newFlagSet(cmd.path), args, 1, 1, func(p parsed) error {
		if isTerminal(c.stdin) {
			return fmt.Errorf("standard input is a terminal, where the secret would show: pipe it in, "+
				"e.g. printf %%s \"$KEY\" | agentjail credential put %s", p.pos[0])
		}
		return nil
	})
	if err != nil {
		return err
	}
	b, err := readInput(ctx, c.stdin, maxSecret+1)
	if err != nil {
		return err
	}
	if len(b) > maxSecret {
		return errors.New("the secret on standard input is longer than 64 KiB")
	}
	secret := strings.TrimSpace(string(b))
	if secret == "" {
		return errors.New("no secret on standard input")
	}
	_, err = client.Credentials.Put(ctx, agentjail.CredentialPutParams{Service: agentjail.Service(p.pos[0]), Secret: secret})
	return err
}

func credentialCells(cr agentjail.Credential) []string {
	return []string{cell(string(cr.Service)), cell(cr.TenantID), cell(cr.Fingerprint), timeText(cr.AddedAt), timeText(cr.UpdatedAt)}
}

func credentialDelete(ctx context.Context, c *cli, cmd *command, args []string) error {
	return withID(c, cmd, args, func(client *agentjail.Client, service string) error {
		return client.Credentials.Delete(ctx, agentjail.Service(service))
	})
}
