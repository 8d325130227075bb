package testserver

// How the runner turns a procSpec into a command: in a jail when the server has one (Linux with
// namespaces), otherwise as a plain host process. Either way argv[0] is executed as given, with
// no PATH lookup (callers resolve an interpreter's name first, with lookPathIn), and a program
// that cannot be executed ends with exit code 127 and the real engine's message on stderr.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// launched is a started command: its process, or nil when the program could not be executed on
// the host (its stderr then holds the reason, as a jail's would), the read ends of its stdout and
// stderr, and when it began running the program.
type launched struct {
	cmd        *exec.Cmd
	outR, errR *os.File
	started    time.Time
}

// launch starts spec: in a jail when the server has one and spec is not for the host, otherwise
// as a plain host process.
func (r *runner) launch(spec procSpec) (launched, error) {
	if r.jail != nil && !spec.onHost {
		return r.jail.launch(spec)
	}
	return startPiped(&exec.Cmd{
		Path:        spec.argv[0], // relative to Dir when it has no slash: no PATH lookup
		Args:        append([]string(nil), spec.argv...),
		Dir:         spec.dir,
		Env:         append([]string{}, spec.env...),
		SysProcAttr: newGroupAttr(),
	})
}

// startPiped starts cmd with its stdout and stderr on new pipes and returns their read ends. A
// program that cannot be executed is a result, as in a jail (exit code 127 and the engine's
// message on stderr), not an error.
func startPiped(cmd *exec.Cmd) (launched, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return launched{}, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return launched{}, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	l := launched{cmd: cmd, outR: outR, errR: errR, started: time.Now()}
	err = cmd.Start()
	if err != nil && isExecFailure(err) {
		_, _ = io.WriteString(errW, execFailureText(err)+"\n")
		l.cmd, err = nil, nil
	}
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return launched{}, err
	}
	return l, nil
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
	if p, ok := findInPath(name, path); ok {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("spawn %s: executable file not found in PATH", name)
}

// findInPath returns the first executable file called name in a directory of path (a PATH
// value).
func findInPath(name, path string) (string, bool) {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		if cand := filepath.Join(dir, name); isExecutableFile(cand) {
			return cand, true
		}
	}
	return "", false
}

// isExecutableFile reports whether p, symlinks followed, is a regular file with an execute bit.
func isExecutableFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
