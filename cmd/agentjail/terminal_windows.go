package main

import "syscall"

// fdIsTerminal reports whether fd is a console.
func fdIsTerminal(fd uintptr) bool {
	var mode uint32
	return syscall.GetConsoleMode(syscall.Handle(fd), &mode) == nil
}
