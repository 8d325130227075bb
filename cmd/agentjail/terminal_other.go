//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd && !windows

package main

// fdIsTerminal reports false: this platform has no terminal check, so standard input
// is always read.
func fdIsTerminal(uintptr) bool { return false }
