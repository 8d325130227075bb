package testserver

// How the runner turns a procSpec into a command: in a jail when the server has one (Linux with
// namespaces), otherwise as a plain host process. Either way argv[0] is executed as given, with
// no PATH lookup (callers resolve an interpreter's name first, with lookPathIn), and a program
// that cannot be executed ends with exit code 127 and the real engine's message on stderr.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// command builds the unstarted command for spec and a clean-up to run once it was started.
func (r *runner) command(spec procSpec) (*exec.Cmd, func(), error) {
	if r.jail != nil && !spec.onHost {
		return r.jail.command(spec)
	}
	return &exec.Cmd{
		Path:        spec.argv[0], // relative to Dir when it has no slash: no PATH lookup
		Args:        append([]string(nil), spec.argv...),
		Dir:         spec.dir,
		Env:         append([]string{}, spec.env...),
		SysProcAttr: newGroupAttr(),
	}, func() {}, nil
}

// isExecFailure reports whether a start error means the program itself could not be executed
// (missing, not executable, not a program), which a jail reports as exit code 127.
func isExecFailure(err error) bool {
	var pe *os.PathError
	if !errors.As(err, &pe) {
		return false
	}
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOEXEC)
}

// execFailureText is the stderr line of a program that could not be executed.
func execFailureText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return "exec failed: failed to execute command: " + osErrorText(err)
}

// osErrorText renders an OS error the way Rust's io::Error does: the C library's message with a
// capital first letter, then "(os error N)".
func osErrorText(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	msg := errno.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return fmt.Sprintf("%s (os error %d)", msg, int(errno))
}

// lookPathIn resolves a command name against path (a PATH value), falling back to the server's
// own PATH so interpreters installed outside the jail PATH still work on developer machines. A
// name with a slash is used as given.
func lookPathIn(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		cand := filepath.Join(dir, name)
		if fi, err := os.Stat(cand); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return cand, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("spawn %s: executable file not found in PATH", name)
}
