package main

import "os"

// isTerminal reports whether the stream s (a reader or writer) is an interactive
// terminal, where a person rather than a program reads or types.
func isTerminal(s any) bool {
	f, ok := s.(*os.File)
	return ok && fdIsTerminal(f.Fd())
}
