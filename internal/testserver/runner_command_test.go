//go:build unix

package testserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestLookPathIn: a name is resolved against the given PATH (skipping empty entries, directories
// and files that are not executable), then against this process's PATH; a name with a slash is
// used as given.
func TestLookPathIn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tool := write("tool", 0o755)
	write("plain", 0o644)
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this host's PATH")
	}
	tests := []struct {
		name, path, want, wantErr string
	}{
		{name: "tool", path: "::" + dir, want: tool},
		{name: "./tool", path: dir, want: "./tool"},
		{name: "/no/such/tool", path: dir, want: "/no/such/tool"},
		{name: "subdir", path: dir, wantErr: "spawn subdir: executable file not found in PATH"},
		{name: "plain", path: dir, wantErr: "spawn plain: executable file not found in PATH"},
		{name: "sh", path: dir, want: sh},
	}
	for _, tt := range tests {
		got, err := lookPathIn(tt.name, tt.path)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("lookPathIn(%q) = %q, %v; want error %q", tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("lookPathIn(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// TestExecFailures: a start error that means the program could not be executed is reported like
// the real engine's ("exec failed: …" with Rust's rendering of the OS error); others are not
// exec failures.
func TestExecFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err      error
		failure  bool
		wantText string
	}{
		{&os.PathError{Op: "fork/exec", Path: "x", Err: syscall.ENOENT}, true, "exec failed: failed to execute command: No such file or directory (os error 2)"},
		{&os.PathError{Op: "fork/exec", Path: "x", Err: syscall.EACCES}, true, "exec failed: failed to execute command: Permission denied (os error 13)"},
		{&os.PathError{Op: "fork/exec", Path: "x", Err: syscall.ENOEXEC}, true, "exec failed: failed to execute command: Exec format error (os error 8)"},
		{&os.PathError{Op: "fork/exec", Path: "x", Err: syscall.EMFILE}, false, "exec failed: failed to execute command: Too many open files (os error 24)"},
		{syscall.ENOENT, false, "exec failed: failed to execute command: No such file or directory (os error 2)"},
		{fmt.Errorf("wrapped: %w", errors.New("plain")), false, "exec failed: failed to execute command: wrapped: plain"},
	}
	for _, tt := range tests {
		if got := isExecFailure(tt.err); got != tt.failure {
			t.Errorf("isExecFailure(%v) = %v, want %v", tt.err, got, tt.failure)
		}
		if got := execFailureText(tt.err); got != tt.wantText {
			t.Errorf("execFailureText(%v) = %q, want %q", tt.err, got, tt.wantText)
		}
	}
}
