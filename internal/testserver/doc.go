// Package testserver is an in-memory fake of the agentjail control plane and
// its phantom proxy, faithful to the wire protocol of the real server: the
// same routes, status codes, error texts, validation, clamps, tenancy rules,
// id formats and SSE framing.
//
// It is the test bed of the Go SDK and the engine behind the
// agentjail-testserver command and the public agentjailtest package:
//
//	srv := testserver.Start(t,
//		testserver.WithCredential("dev", "openai", "sk-test"),
//		testserver.WithUpstream("openai", upstream.URL))
//	// point the SDK at srv.URL(); sandbox traffic goes to srv.ProxyURL()
//
// # What submitted code sees
//
// On Linux, where namespaces are available, every execution (runs, session
// execs, forks, streams and workspace execs) runs in a light jail that shows
// it what a real jail shows: a read-only /workspace holding its code (the
// workspace's persistent source, writable, for workspace execs), a writable
// /output (for fork children a copy of the parent's), the working directory
// /workspace, an environment built from scratch, cmd executed with no PATH
// lookup, the program as PID 1, and the network mode of the request: none
// (no network at all, the default), loopback (its own) or allowlist (a
// CONNECT proxy named in HTTP_PROXY and friends that only tunnels to listed
// public hosts; direct connections are not blocked in this mode). The jail
// re-executes the current binary, so the package hooks program start-up.
//
// # NOT A SANDBOX
//
// The jail is for fidelity, not security: its seccomp filter follows the
// request's profile, but there is no cgroup limit. Where namespaces are
// unavailable (not Linux, user namespaces disabled, a seccomp-filtered
// container), or with WithIsolation(IsolationNone), code runs as ordinary
// subprocesses of the current user with the host's file system and network,
// and Server.Isolation says so. Run the fake only with code
// you would run yourself, and never expose it to other machines.
//
// # Safe defaults
//
// Because it executes code, the server:
//   - listens on loopback (127.0.0.1, free ports) unless told otherwise;
//   - sends no CORS headers and answers no CORS preflight, so a web page
//     cannot drive it from a browser;
//   - refuses, with 403 and the plain-text body "forbidden: host not
//     allowed", any control-plane or proxy request whose Host header is not
//     localhost, a loopback IP or the IP it listens on (any IP literal when
//     bound to all interfaces; for the proxy also the host of the proxy base
//     URL), so a DNS-rebinding page cannot reach it through a name it
//     controls. The gateway (off unless WithGateway is given) routes by Host,
//     so it has no such guard, and it too listens on loopback by default;
//   - never logs credentials, API keys or phantom tokens.
//
// # Differences from the real server
//
// Where the real server has a bug that breaks the connection (a panic on a
// huge ttl_secs, a carriage return in a streamed line) or ignores a timeout,
// the fake keeps the wire contract and skips the bug: ttl_secs is clamped to
// the year 9999 and timeouts are always enforced.
package testserver
