package main

import (
	"io"
	"os"
)

// isTerminal reports whether r is an interactive terminal. A secret typed there would
// show on the screen, so credential put asks for it to be piped in instead.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && fdIsTerminal(f.Fd())
}
