package testserver

// Git seeds: GitSpec validation with the real server's texts, and cloning with the
// host's git binary (60 s limit) into a run's or workspace's directory.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

const gitCloneTimeout = 60 * time.Second

// gitSpec is GitSpec: either {repo, ref} or {repos:[{repo, ref, dir}]}.
type gitSpec struct {
	Repo  *string          `json:"repo"`
	Ref   *string          `json:"ref"`
	Repos seq[gitRepoSpec] `json:"repos"`
}

type gitRepoSpec struct {
	Repo string  `json:"repo"`
	Ref  *string `json:"ref"`
	Dir  *string `json:"dir"`
}

// gitClone is one validated clone: url, optional ref, and target dir ("" = the root itself).
type gitClone struct {
	url, ref, dir string
}

// plan validates g exactly like the real server and returns the clones to perform.
func (g *gitSpec) plan() ([]gitClone, error) {
	if g.Repo != nil && len(g.Repos) > 0 {
		return nil, errBadRequest("git: set either `repo` or `repos`, not both")
	}
	if g.Repo == nil && len(g.Repos) == 0 {
		return nil, errBadRequest("git: provide `repo` or `repos`")
	}
	if g.Repo != nil {
		c := gitClone{url: *g.Repo}
		if err := c.check(g.Ref); err != nil {
			return nil, err
		}
		return []gitClone{c}, nil
	}
	var out []gitClone
	for _, r := range g.Repos {
		// The real server checks each entry's directory before its URL and ref.
		c := gitClone{url: r.Repo}
		if r.Dir != nil {
			c.dir = *r.Dir
		} else {
			seg := c.url[strings.LastIndexByte(c.url, '/')+1:]
			c.dir = strings.TrimSpace(strings.TrimSuffix(seg, ".git"))
		}
		switch {
		case c.dir == "" || c.dir == "." || c.dir == "..":
			return nil, errBadRequest("git.repos.dir invalid: %s", rustQuote(c.dir))
		case strings.ContainsAny(c.dir, `/\`) || strings.HasPrefix(c.dir, "."):
			return nil, errBadRequest("git.repos.dir must not contain slashes or leading `.`: %s", rustQuote(c.dir))
		}
		if err := c.check(r.Ref); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// check validates the clone's URL and ref, the latter when set, and records the ref.
func (c *gitClone) check(ref *string) error {
	if err := checkGitURL(c.url); err != nil {
		return err
	}
	if ref != nil {
		if err := checkGitRef(*ref); err != nil {
			return err
		}
		c.ref = *ref
	}
	return nil
}

// primary is the (repo, ref) recorded in the ledger and on workspaces.
func (g *gitSpec) primary() (repo, ref string) {
	switch {
	case g == nil:
		return "", ""
	case g.Repo != nil:
		return *g.Repo, strOrEmpty(g.Ref)
	case len(g.Repos) > 0:
		return g.Repos[0].Repo, strOrEmpty(g.Repos[0].Ref)
	}
	return "", ""
}

func checkGitURL(u string) error {
	if !strings.HasPrefix(u, "https://") || len(u) > 512 {
		return errBadRequest("git.repo must be https:// (max 512 bytes)")
	}
	host := strings.TrimPrefix(u, "https://")
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	if strings.Contains(host, "@") {
		return errBadRequest("git.repo must not embed credentials (user:token@host)")
	}
	return nil
}

func checkGitRef(ref string) error {
	if ref == "" || len(ref) > 200 || strings.IndexFunc(ref, unicode.IsControl) >= 0 {
		return errBadRequest("git.ref invalid")
	}
	if strings.HasPrefix(ref, "-") {
		return errBadRequest("git.ref must not start with `-`")
	}
	return nil
}

// Where git is found, as in the real server: a host-mode clone (runs, forks, and workspace
// creation with host clones) runs the git found on the jail PATH, a jail-mode clone (workspace
// creation otherwise) the host's /usr/bin/git.
const jailModeGit = "/usr/bin/git"

// errJailGitMissing is the jail-mode clone failure when the host has no /usr/bin/git: the clone
// jail's exec fails and the real server reports the shim's message.
var errJailGitMissing = errBadRequest("git clone failed: exec failed: failed to execute command: No such file or directory (os error 2)")

// findGit returns the git binary of a host-mode or jail-mode clone. A missing host-mode git is
// a 500, a missing jail-mode git a 400, with the real server's texts.
func (e *execEngine) findGit(jailMode bool) (string, error) {
	e.cfgMu.Lock()
	searchPath, jailGit := e.gitSearchPath, e.jailGit
	e.cfgMu.Unlock()
	if jailMode {
		if !isExecutableFile(jailGit) {
			return "", errJailGitMissing
		}
		return jailGit, nil
	}
	if p, ok := findInPath("git", searchPath); ok {
		return p, nil
	}
	return "", errInternal(errors.New("spawn git: No such file or directory"))
}

// setGitLocations changes where later clones look for git: searchPath for host mode, jailGit
// for jail mode.
func (e *execEngine) setGitLocations(searchPath, jailGit string) {
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	e.gitSearchPath, e.jailGit = searchPath, jailGit
}

// cloneInto runs `git clone --depth 1 [--branch ref] url dir` on the host for every planned
// clone, with the real server's 60 s limit and error texts. jailMode picks where git is found
// (see findGit); the clone itself runs on the host either way.
func (e *execEngine) cloneInto(ctx context.Context, root string, clones []gitClone, jailMode bool) error {
	gitBin, err := e.findGit(jailMode)
	if err != nil {
		return err
	}
	for _, c := range clones {
		target := root
		if c.dir != "" {
			target = filepath.Join(root, c.dir)
		}
		// The real server's hardening: https only, no hooks or fsmonitor from any config, fsck
		// every object, one branch, no tags.
		args := []string{
			"-c", "protocol.allow=never", "-c", "protocol.https.allow=always", "-c", "protocol.ext.allow=never",
			"-c", "protocol.file.allow=never", "-c", "core.sshCommand=false", "-c", "core.fsmonitor=false",
			"-c", "core.hooksPath=/dev/null", "-c", "transfer.fsckObjects=true", "-c", "fetch.fsckObjects=true",
			"-c", "receive.fsckObjects=true",
			"clone", "--depth", "1", "--single-branch", "--no-tags",
		}
		if c.ref != "" {
			args = append(args, "--branch", c.ref)
		}
		args = append(args, "--", c.url, target)
		// Error texts name the directory as the jail sees it, never the host path.
		shown := "/workspace"
		if c.dir != "" {
			shown += "/" + c.dir
		}
		if err := e.runGit(ctx, gitBin, args, target, shown); err != nil {
			return err
		}
	}
	return nil
}

func (e *execEngine) runGit(ctx context.Context, gitBin string, args []string, target, shown string) error {
	env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C"}, e.gitEnvironment()...)
	p, err := e.run.start(procSpec{argv: append([]string{gitBin}, args...), dir: e.s.stateDir, env: env, timeout: gitCloneTimeout, onHost: true})
	if err != nil {
		return errInternal(err)
	}
	res := waitOrKill(ctx, p)
	if res.timedOut {
		return errBadRequest("git clone timed out (60s)")
	}
	if res.exitCode != 0 {
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(res.stderr), "\n") {
			if l = strings.TrimSpace(strings.ReplaceAll(l, target, shown)); l != "" {
				lines = append(lines, l)
			}
		}
		var last []string
		for i := len(lines) - 1; i >= 0 && len(last) < 3; i-- {
			last = append(last, lines[i])
		}
		return errBadRequest("git clone failed: %s", strings.Join(last, " · "))
	}
	return nil
}
