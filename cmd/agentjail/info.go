package main

import (
	"context"
	"fmt"
	"runtime"

	agentjail "github.com/agentjail/agentjail-go"
)

var (
	healthCommand = &command{name: "health", summary: "check that the control plane is up (prints ok)", run: runHealth}
	whoamiCommand = &command{name: "whoami", args: "[-json]", summary: "show the tenant and role of the API key",
		run: func(ctx context.Context, c *cli, cmd *command, args []string) error {
			return show(ctx, c, cmd, args, func(client *agentjail.Client) (any, error) { return client.Settings.Whoami(ctx) })
		}}
	configCommand = &command{name: "config", args: "[-json]", summary: "show the control plane's configuration",
		run: func(ctx context.Context, c *cli, cmd *command, args []string) error {
			return show(ctx, c, cmd, args, func(client *agentjail.Client) (any, error) { return client.Settings.Get(ctx) })
		}}
	versionCommand = &command{name: "version", summary: "print the version of agentjail and of Go", run: runVersion}
)

func runHealth(ctx context.Context, c *cli, cmd *command, args []string) error {
	_, client, err := c.connect(cmd, newFlagSet(cmd.path), args, 0, 0, nil)
	if err != nil {
		return err
	}
	status, err := client.Public.Health(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, status)
	return nil
}

// show prints what get returns as "key value" lines, or as JSON with -json.
func show(ctx context.Context, c *cli, cmd *command, args []string, get func(*agentjail.Client) (any, error)) error {
	fs := newFlagSet(cmd.path)
	asJSON := fs.Bool("json", false, "print JSON")
	_, client, err := c.connect(cmd, fs, args, 0, 0, nil)
	if err != nil {
		return err
	}
	v, err := get(client)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(c.stdout, v)
	}
	return writeFields(c.stdout, v)
}

func runVersion(_ context.Context, c *cli, cmd *command, args []string) error {
	if _, err := c.parse(cmd, newFlagSet(cmd.path), args, 0, 0); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, versionLine())
	return nil
}

// versionLine is "agentjail <SDK version> (go<version> <os>/<arch>)".
func versionLine() string {
	return fmt.Sprintf("agentjail %s (%s %s/%s)", agentjail.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
