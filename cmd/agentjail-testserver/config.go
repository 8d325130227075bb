package main

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/agentjail/agentjail-go/internal/testserver"
)

// configError is a refusal to start because of the environment; the command exits 2.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// exitCode is the process exit status for an error returned by run.
func exitCode(err error) int {
	var ce *configError
	if errors.As(err, &ce) {
		return 2
	}
	return 1
}

// seededKeys maps the environment variables holding real upstream keys to
// their services; all are seeded under tenant "dev" like the real server.
var seededKeys = []struct{ env, service string }{
	{"OPENAI_API_KEY", "openai"},
	{"ANTHROPIC_API_KEY", "anthropic"},
	{"GITHUB_TOKEN", "github"},
	{"STRIPE_API_KEY", "stripe"},
}

// skipMalformedKeysEnv restores the real server's handling of malformed
// AGENTJAIL_API_KEY entries (skip them, with a warning) for harnesses that pass a
// bare token on purpose, such as the upstream SDK's integration suite.
const skipMalformedKeysEnv = "AGENTJAIL_TESTSERVER_SKIP_MALFORMED_KEYS"

// apiKeys splits AGENTJAIL_API_KEY like the real server does (commas, each entry
// trimmed, empty entries dropped). It returns the well-formed entries and, for each
// malformed one, a description naming its position but never its token. The real
// server skips a malformed entry, so a key pasted in the client's form (a bare
// token) silently turns authentication off and every caller becomes admin.
func apiKeys(raw string) (keys, bad []string) {
	fields := strings.Split(raw, ",")
	for i, entry := range fields {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if err := testserver.ParseAPIKey(entry); err != nil {
			bad = append(bad, fmt.Sprintf("entry %d of %d is malformed (%v)", i+1, len(fields), err))
			continue
		}
		keys = append(keys, entry)
	}
	return keys, bad
}

// malformedKeysError refuses to start over the malformed entries described by bad:
// skipping them, as the real server does, could leave authentication off and keep a
// user's auth tests passing wrongly.
func malformedKeysError(bad []string) error {
	return &configError{"AGENTJAIL_API_KEY: " + strings.Join(bad, "; ") +
		". Each comma-separated entry must be token@tenant:role with role admin or operator," +
		" e.g. mytoken@dev:admin, and clients send only the token (mytoken)." +
		" Refusing to start: skipping the entry, as the real server does, could leave authentication off" +
		" (set " + skipMalformedKeysEnv + "=1 to skip it anyway)"}
}

// checkListenAddrs refuses to start, as the real server does, when CTL_ADDR or PROXY_ADDR is
// not an IP literal and port: "localhost:7000" or ":7000" would otherwise be resolved or bound
// to every interface, where the real server would not have started at all.
func checkListenAddrs(ctlAddr, proxyAddr string) error {
	for _, v := range []struct{ name, addr string }{{"CTL_ADDR", ctlAddr}, {"PROXY_ADDR", proxyAddr}} {
		if !testserver.ParseSocketAddr(v.addr) {
			return &configError{fmt.Sprintf("parsing %s: %q is not an IP literal and port such as 127.0.0.1:7000 or [::1]:7000", v.name, v.addr)}
		}
	}
	return nil
}

// listenError turns a failure to listen into one that names the variable to change.
// Which listener failed is found by trying the control address again: the server
// released it when it gave up.
func listenError(err error, ctlAddr, proxyAddr string) error {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "listen" {
		return err
	}
	name, addr, also := "PROXY_ADDR", proxyAddr, ""
	if ln, lerr := net.Listen("tcp", ctlAddr); lerr != nil {
		name, addr = "CTL_ADDR", ctlAddr
	} else {
		ln.Close()
		if proxyAddr == ctlAddr {
			also = ", different from CTL_ADDR"
		}
	}
	return fmt.Errorf("cannot listen on %s=%s: %v; set %s to a free address%s (port 0 picks one, and the ready line on stdout tells which)",
		name, addr, op.Err, name, also)
}

// envOr returns the trimmed value of key, or def when it is empty.
func envOr(getenv func(string) string, key, def string) string {
	if v := strings.TrimSpace(getenv(key)); v != "" {
		return v
	}
	return def
}
