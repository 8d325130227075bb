package testserver

// What every execution route shares about the jail it runs in: its scratch directories (the
// workspace and /output), the command line of a run's main file, and the network mode, which for
// allowlist means a CONNECT proxy living as long as the execution.

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// jailRuntimes are the interpreters of the run languages, as the real engine execs them.
var jailRuntimes = map[string]string{"node": "/usr/bin/node", "python3": "/usr/bin/python3", "sh": "/bin/sh"}

// scratch is the pair of fresh host directories of one execution: its workspace and its output.
type scratch struct {
	root, workspace, output string
}

// remove deletes both directories.
func (sc scratch) remove() { os.RemoveAll(sc.root) }

// newScratch creates an execution's empty workspace and output directories under the state
// directory.
func (e *execEngine) newScratch() (scratch, error) {
	parent := filepath.Join(e.s.stateDir, "jails")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return scratch{}, err
	}
	root, err := os.MkdirTemp(parent, "jail-")
	if err != nil {
		return scratch{}, err
	}
	sc := scratch{root: root, workspace: filepath.Join(root, "workspace"), output: filepath.Join(root, "output")}
	for _, d := range []string{sc.workspace, sc.output} {
		if err := os.Mkdir(d, 0o755); err != nil {
			sc.remove()
			return scratch{}, err
		}
	}
	return sc, nil
}

// scriptArgv is the command line that runs file of the workspace with l's interpreter: in a jail
// "<runtime> /workspace/<file>" like the real engine; on the host the interpreter found in the
// jail PATH (or this process's PATH) and the file relative to the workspace.
func (e *execEngine) scriptArgv(l language, file string) []string {
	if e.run.jail != nil {
		rt := jailRuntimes[l.interpreter]
		if _, err := os.Stat(rt); err != nil {
			// A host without the interpreter where the real image has it: any copy the jail's
			// PATH reaches will do.
			if p, err := lookPathIn(l.interpreter, jailPath); err == nil {
				rt = p
			}
		}
		return []string{rt, "/workspace/" + file}
	}
	bin, err := lookPathIn(l.interpreter, jailPath)
	if err != nil {
		bin = l.interpreter // not found: the run ends with exit code 127
	}
	return []string{bin, file}
}

// flavor is one workspace flavor: a host directory shown read-only at /opt/flavors/<Name>.
type flavor struct {
	Name, Dir string
}

// flavorsOf resolves a workspace's flavors, in its order, and the PATH that puts the bin
// directory of each flavor that has one before the jail PATH: inside a jail the flavor's
// /opt/flavors path, on the host its own directory.
func (e *execEngine) flavorsOf(names []string) ([]flavor, string) {
	var fs []flavor
	var bins []string
	for _, n := range names {
		f := flavor{Name: n, Dir: filepath.Join(e.s.flavorsDir(), n)}
		fs = append(fs, f)
		if fi, err := os.Stat(filepath.Join(f.Dir, "bin")); err == nil && fi.IsDir() {
			if e.run.jail != nil {
				bins = append(bins, "/opt/flavors/"+n+"/bin")
			} else {
				bins = append(bins, filepath.Join(f.Dir, "bin"))
			}
		}
	}
	return fs, strings.Join(append(bins, jailPath), ":")
}

// start runs spec with the network of js. In allowlist mode a CONNECT proxy for js.domains serves
// the execution, named in its proxy variables, and stops when the execution ends (before its
// result is published, and before the runner's close returns).
func (e *execEngine) start(js jailSettings, spec procSpec) (*process, error) {
	spec.network, spec.seccomp = js.networkMode, js.seccomp
	if js.networkMode != "allowlist" {
		return e.run.start(spec)
	}
	px, err := startAllowlistProxy(js.domains, e.proxyPermit, nil)
	if err != nil {
		return nil, err
	}
	spec.env = append(append([]string{}, spec.env...), px.env()...)
	spec.release = px.close
	p, err := e.run.start(spec)
	if err != nil {
		px.close()
		return nil, err
	}
	return p, nil
}

// proxyPermitFunc is the allowlist proxy's address check; tests replace it to reach local servers.
type proxyPermitFunc = func(netip.Addr) bool
