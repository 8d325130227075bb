// Package checks runs a change's checks (lint, tests…) in agentjail jails.
package checks

import (
	"context"
	"fmt"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

// Check is a shell script that passes when it exits 0.
type Check struct{ Name, Script string }

// Result is the outcome of one check.
type Result struct {
	Name   string
	Passed bool
	Output string // stdout, then stderr
}

// Run runs each check in a fresh jail, in order, and stops after the first failure.
// An error means a check's outcome is unknown, not that it failed.
func Run(ctx context.Context, client *agentjail.Client, checks []Check) ([]Result, error) {
	var results []Result
	for _, c := range checks {
		res, err := client.Runs.Create(ctx, agentjail.RunParams{
			Language: agentjail.LanguageBash,
			Code:     c.Script,
			Timeout:  5 * time.Minute,
		})
		if err != nil {
			return results, fmt.Errorf("check %s: %w", c.Name, err)
		}
		passed := res.ExitCode == 0 && !res.TimedOut
		results = append(results, Result{Name: c.Name, Passed: passed, Output: res.Stdout + res.Stderr})
		if !passed {
			break
		}
	}
	return results, nil
}
