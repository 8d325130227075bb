package testserver

import "testing"

// workdirOf is the working directory a program sees when its workspace is hostDir: /workspace in
// a jail, hostDir itself on the host.
func workdirOf(srv *Server, hostDir string) string {
	if srv.Isolation() == IsolationNamespaces {
		return "/workspace"
	}
	return hostDir
}

// needJail skips a test that observes what only a jail provides.
func needJail(t *testing.T, srv *Server, what string) {
	t.Helper()
	if srv.Isolation() != IsolationNamespaces {
		t.Skipf("isolation %s: %s needs the jail's namespaces", srv.Isolation(), what)
	}
}
