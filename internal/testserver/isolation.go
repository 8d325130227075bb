package testserver

// Which isolation the fake gives submitted code: a light jail per execution where Linux
// namespaces allow it, plain host processes elsewhere. The choice is made once in New and
// reported by Server.Isolation and one log line.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Isolation says how the fake runs submitted code.
type Isolation string

const (
	// IsolationAuto, the default, jails every execution where Linux namespaces are available and
	// falls back to host processes elsewhere (not Linux, user namespaces disabled, a seccomp
	// filter that forbids them).
	IsolationAuto Isolation = "auto"
	// IsolationNamespaces jails every execution the way the real server does: its own mount, PID,
	// IPC and network namespaces, /workspace and /output, a minimal root file system, no
	// capabilities. New fails where that is not possible.
	IsolationNamespaces Isolation = "namespaces"
	// IsolationNone runs every execution as a plain host process of the current user, in its
	// workspace directory, with the host's file system and network.
	IsolationNone Isolation = "none"
)

// IsolationEnv is the environment variable New reads when WithIsolation is not given: "auto",
// "namespaces" or "none" (case-insensitive; empty means auto).
const IsolationEnv = "AGENTJAIL_TESTSERVER_ISOLATION"

// WithIsolation chooses how submitted code runs; see Isolation. Without it New uses the value of
// $AGENTJAIL_TESTSERVER_ISOLATION, else IsolationAuto. New fails on an unknown mode, and on
// IsolationNamespaces where jails cannot be built.
func WithIsolation(mode Isolation) Option {
	return func(c *config) { c.isolation = mode }
}

// Isolation reports how this server runs submitted code: IsolationNamespaces or IsolationNone,
// never IsolationAuto.
func (s *Server) Isolation() Isolation {
	if s.jail != nil {
		return IsolationNamespaces
	}
	return IsolationNone
}

// setupIsolation resolves mode (or the environment's) and, for a jail, prepares the jailer. The
// returned function logs the outcome; New calls it once the server is up.
func (s *Server) setupIsolation(mode Isolation) (func(), error) {
	if mode == "" {
		mode = Isolation(strings.ToLower(strings.TrimSpace(os.Getenv(IsolationEnv))))
	}
	switch mode {
	case "", IsolationAuto, IsolationNamespaces:
	case IsolationNone:
		return func() {
			s.log.Warn("isolation none: submitted code runs as host processes with this machine's files and network")
		}, nil
	default:
		return nil, fmt.Errorf("testserver: unknown isolation %q (want auto, namespaces or none)", string(mode))
	}
	j, err := newJailer(filepath.Join(s.stateDir, "jailroot"))
	if err != nil {
		if mode == IsolationNamespaces {
			return nil, fmt.Errorf("testserver: isolation namespaces: %w", err)
		}
		return func() {
			s.log.Warn("jails unavailable, submitted code runs as host processes with this machine's files and network", "reason", err.Error())
		}, nil
	}
	s.jail = j
	return func() {
		s.log.Info("submitted code runs in jails: own mount, PID, IPC and network namespaces, read-only /workspace where the real server has one")
	}, nil
}
