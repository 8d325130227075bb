package testserver

// Output capture for the runner: the 16 KiB cap cut at a UTF-8 boundary with "…", lossy UTF-8
// decoding, and line splitting for the streaming route.

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// readLines calls fn for every line of r with the trailing "\n" and one trailing "\r" removed.
// A line longer than limit bytes is cut at limit and the rest of it discarded. A final line
// without a newline is delivered too.
func readLines(r io.Reader, limit int, fn func(line []byte)) {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	pending := false
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			pending = true
		}
		if room := limit - len(line); room > 0 {
			take := chunk
			if len(take) > 0 && take[len(take)-1] == '\n' && err == nil {
				take = take[:len(take)-1]
			}
			if len(take) > room {
				take = take[:room]
			}
			line = append(line, take...)
		}
		switch {
		case err == nil:
			fn(trimCR(line))
			line, pending = line[:0], false
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default: // EOF or read error
			if pending {
				fn(trimCR(line))
			}
			return
		}
	}
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// capBuffer keeps the first outputCap bytes (plus a few, so a character crossing the limit can
// still be decoded) and remembers whether more was written.
type capBuffer struct {
	mu   sync.Mutex
	b    []byte
	more bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := outputCap + utf8.UTFMax - len(c.b)
	if keep < 0 {
		keep = 0
	}
	if len(p) > keep {
		c.b = append(c.b, p[:keep]...)
		c.more = true
	} else {
		c.b = append(c.b, p...)
	}
	return len(p), nil
}

func (c *capBuffer) WriteString(s string) { _, _ = c.Write([]byte(s)) }

// String returns the capture decoded as lossy UTF-8, cut to at most outputCap bytes at a
// character boundary with "…" appended when anything was cut.
func (c *capBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := lossyString(c.b)
	if !c.more && len(s) <= outputCap {
		return s
	}
	return cutUTF8(s, outputCap) + "…"
}

// cutUTF8 returns the longest prefix of s that is at most n bytes and ends on a character
// boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// lossyString decodes b as UTF-8, replacing every invalid byte with U+FFFD.
func lossyString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			sb.WriteRune(utf8.RuneError)
		} else {
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}
