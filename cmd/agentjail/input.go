package main

import (
	"context"
	"io"
)

// readInput reads r to its end, or its first limit bytes when limit > 0. It gives up
// with ctx's error when ctx ends first, so that an interrupt ends a command that waits
// for input which never comes (a terminal, or a pipe whose writer hangs).
func readInput(ctx context.Context, r io.Reader, limit int64) ([]byte, error) {
	if limit > 0 {
		r = io.LimitReader(r, limit)
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(r)
		done <- result{b, err}
	}()
	select {
	case res := <-done:
		return res.b, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
