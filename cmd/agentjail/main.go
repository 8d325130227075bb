// Command agentjail runs code in agentjail jails and manages a control plane's
// workspaces, snapshots, sessions, credentials and ledger from a shell or a CI job.
//
//	go install github.com/agentjail/agentjail-go/cmd/agentjail@latest
//	export AGENTJAIL_URL=http://127.0.0.1:7000 AGENTJAIL_API_KEY=<token>
//	agentjail run ci/check.py
//
// The control plane URL comes from -url or $AGENTJAIL_URL; the API key only from
// $AGENTJAIL_API_KEY, so it never shows in ps or shell history. Run agentjail -h for
// the commands and their exit statuses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

// Exit statuses other than a jail's own exit code.
const (
	exitOK          = 0
	exitError       = 1   // an API, network or jail error
	exitUsage       = 2   // a bad command line
	exitTimedOut    = 124 // the jail hit its timeout, as timeout(1) reports it
	exitInterrupted = 130 // SIGINT or SIGTERM
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run is the whole command: it parses args, talks to the control plane and returns the
// exit status. SIGINT and SIGTERM are delivered to the command while it runs.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, signals: sigs, pollEvery: time.Second}
	return c.main(args)
}

// cli is one invocation: its streams, environment and signal source.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	signals        <-chan os.Signal
	pollEvery      time.Duration // how often audit -f asks for new rows

	url     string // from -url, else $AGENTJAIL_URL
	urlFrom string // where url came from: "-url" or "$AGENTJAIL_URL"
	client  *agentjail.Client
}

// main parses the global flags and runs the command named by args. The command runs in
// its own goroutine: the first signal cancels its context (a streamed run then closes
// its stream, so the server kills the job) and the second returns at once.
func (c *cli) main(args []string) int {
	fs := newFlagSet("agentjail")
	fs.StringVar(&c.url, "url", "", "control plane base URL (default $AGENTJAIL_URL)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, topUsage())
			return exitOK
		}
		return c.usageFailure(err.Error(), shortTopUsage)
	}
	args = fs.Args()
	if len(args) == 0 {
		return c.usageFailure("no command given", shortTopUsage)
	}
	c.urlFrom = "-url"
	if c.url == "" {
		c.url, c.urlFrom = c.getenv("AGENTJAIL_URL"), "$AGENTJAIL_URL"
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- dispatch(ctx, c, nil, args) }()
	select {
	case err := <-done:
		return c.exit(err, false)
	case <-c.signals:
		cancel()
	}
	select {
	case err := <-done:
		return c.exit(err, true)
	case <-c.signals:
		return exitInterrupted
	}
}

// exit turns a command's outcome into the exit status, printing what the user must see.
func (c *cli) exit(err error, interrupted bool) int {
	var (
		status exitStatus
		usage  *usageError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &status):
		return int(status)
	case errors.Is(err, errHelpShown):
		return exitOK
	case interrupted:
		return exitInterrupted
	case errors.As(err, &usage):
		return c.usageFailure(usage.msg, usage.usage)
	}
	msg := errorText(err)
	if hint := c.hint(err); hint != "" {
		msg += "; " + hint
	}
	fmt.Fprintln(c.stderr, "agentjail:", msg)
	return exitError
}

// usageFailure reports a bad command line: the problem, then the usage, on stderr.
func (c *cli) usageFailure(msg, usage string) int {
	fmt.Fprintf(c.stderr, "agentjail: %s\n\n%s", msg, usage)
	return exitUsage
}

// errorText is err's message on one line (a server's message may hold line breaks),
// without the SDK's own "agentjail" prefix, which the error line already carries.
func errorText(err error) string {
	s := strings.Join(strings.FieldsFunc(err.Error(), func(r rune) bool { return r == '\n' || r == '\r' }), " ")
	for _, prefix := range []string{"agentjail: ", "agentjail "} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			return rest
		}
	}
	return s
}

// hint returns advice for the two mistakes a new user makes most: a wrong key and a
// control plane that is not running.
func (c *cli) hint(err error) string {
	switch {
	case errors.Is(err, agentjail.ErrUnauthorized):
		return "is AGENTJAIL_API_KEY set to the token part of token@tenant:role?"
	case isConnRefused(err):
		return "is the control plane at " + maskedURL(c.url) + " running?"
	}
	return ""
}

// maskedURL is raw with its user information, which may be a token or a password,
// replaced by "xxxxx", as the SDK shows a URL in its errors.
func maskedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the -url or $AGENTJAIL_URL given"
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	return u.String()
}

// isConnRefused reports whether err is a refused TCP connection.
func isConnRefused(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	// Windows reports WSAECONNREFUSED, which is not syscall.ECONNREFUSED.
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "actively refused")
}

// api returns the client for the control plane, creating it on first use. A missing
// or malformed URL or key is a usage error, like a missing argument: nothing was sent,
// and there is no default control plane to guess.
func (c *cli) api() (*agentjail.Client, error) {
	if c.client != nil {
		return c.client, nil
	}
	if c.url == "" {
		return nil, &usageError{msg: "no control plane URL: set AGENTJAIL_URL or pass -url", usage: shortTopUsage}
	}
	key := c.getenv("AGENTJAIL_API_KEY")
	if strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return nil, &usageError{msg: "$AGENTJAIL_API_KEY contains whitespace or non-printable characters", usage: shortTopUsage}
	}
	// One retry, not the SDK's two: a control plane that is down is reported within
	// half a second, and a passing 429 or 503 is still ridden out.
	client, err := agentjail.NewClient(c.url,
		agentjail.WithAPIKey(key),
		agentjail.WithUserAgent("agentjail-cli"),
		agentjail.WithMaxRetries(1))
	if err != nil {
		return nil, &usageError{msg: c.urlFrom + ": " + errorText(err), usage: shortTopUsage}
	}
	c.client = client
	return client, nil
}

// exitStatus is a command's chosen exit status, such as a jail's exit code; it is not
// an error to report.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// usageError is a bad command line; usage is the help of the command concerned.
type usageError struct {
	msg, usage string
}

func (e *usageError) Error() string { return e.msg }

// errHelpShown ends a command whose help was asked for and printed.
var errHelpShown = errors.New("help shown")

// jailExit is the exit status for a finished jail: 124 after a timeout, else its exit
// code (1 when the code cannot be an exit status).
func jailExit(code int, timedOut bool) error {
	switch {
	case timedOut:
		return exitStatus(exitTimedOut)
	case code < 0 || code > 255:
		return exitStatus(exitError)
	}
	return exitStatus(code)
}
