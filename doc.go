// Package agentjail is the Go client for the agentjail control plane, which runs
// untrusted agent code in Linux jails while keeping the real API keys out of them.
//
// # Overview
//
// Create one Client and share it; it is safe for concurrent use:
//
//	client, err := agentjail.NewClient("http://127.0.0.1:7000", agentjail.WithAPIKey(key))
//
// Its fields are the services, one per resource: Credentials (the real upstream keys),
// Sessions (phantom tokens handed to a sandbox, and exec inside a session), Runs
// (one-shot runs, live forks and streamed runs), Workspaces and Snapshots (persistent
// jail directories and copies of them), Audit (the phantom proxy's request log), Jails
// (the ledger of every jail), Public (health and stats) and Settings (configuration,
// whoami, flavors).
//
// A session gives a sandbox phantom tokens (phm_…) and *_BASE_URL variables that point
// at the phantom proxy; the proxy swaps in the real key per request, enforces path
// scopes and writes an audit row. Session.Environ returns those variables ready for
// exec.Cmd.Env.
//
// Code runs in jails through Runs (fresh jail per call), Sessions.Exec (a jail with the
// session's phantom env) and Workspaces.Exec (a persistent directory):
//
//	res, err := client.Runs.Create(ctx, agentjail.RunParams{
//		Code:     `print("hi")`,
//		Language: agentjail.LanguagePython,
//		Timeout:  30 * time.Second,
//	})
//
// A timeout or a non-zero exit is a result (ExecResult.TimedOut, ExecResult.ExitCode),
// not an error.
//
// # Errors
//
// Every failed call that reached the network returns an *Error with the HTTP status,
// a Code, the server's message and up to 64 KiB of the body. Match it with errors.As,
// or match its code with errors.Is and the sentinels:
//
//	if errors.Is(err, agentjail.ErrNotFound) { … }
//
// Transport failures are *Error values with CodeNetwork that unwrap to the cause.
// Arguments that cannot be valid (an empty ID, a fork without children…) return an
// error matching ErrInvalidParams and send nothing. A cancelled or expired context
// returns an error matching context.Canceled or context.DeadlineExceeded, never
// ErrNetwork. No error text contains the API key or a request body.
//
// # Timeouts and retries
//
// Runs and execs can legitimately take up to an hour before the server answers, so
// the default HTTP client has no overall timeout: bound every call with its context.
//
// Failed requests are retried (WithMaxRetries, default 2) only when that cannot run
// code twice. GET and DELETE are retried after connection failures and on 408, 429,
// 502, 503 and 504. POST and PATCH start code or create resources, so they are retried
// only when the server provably did not act: the connection was never established, or
// it answered 429 or 503. Waits grow from 500 ms to at most 8 s with jitter, honour
// Retry-After within the same cap, end at once when the context is done, and no
// attempt starts past the context's deadline.
//
// # Lists
//
// List methods return one page; the All methods return an iter.Seq2 that fetches pages
// lazily and stops when the loop breaks:
//
//	for ws, err := range client.Workspaces.All(ctx, agentjail.WorkspaceListParams{}) { … }
//
// # Streaming
//
// Runs.Stream returns a RunStream of typed events (started, stdout, stderr, stats,
// completed, error) read from the server-sent event stream; output lines arrive
// byte-exact. NewSSEReader is a standalone, WHATWG-conformant reader for any
// text/event-stream.
//
// # Trying it without a server
//
// The repository's example programs (examples/quickstart, runs, workspaces, fork, audit,
// reviewer) use $AGENTJAIL_URL when it is set and otherwise start a fake control plane
// in-process, so `go run ./examples/quickstart` works on any machine. The same fake runs
// standalone as cmd/agentjail-testserver, and inside your own tests through package
// agentjailtest. It executes submitted code on the host, in a light jail on Linux and as
// ordinary processes elsewhere: it is not a sandbox.
package agentjail
