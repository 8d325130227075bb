package testserver

// Output capture for the runner: the 16 KiB cap cut at a UTF-8 boundary with "…", lossy UTF-8
// decoding, and line splitting for the streaming route.

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// lineBufSize is how much the line reader asks for per read. A line longer than this is put
// together in a separate buffer, up to its limit.
const lineBufSize = 64 << 10

// lineBufPool holds the read buffers of finished line readers.
var lineBufPool = sync.Pool{New: func() any { return new([lineBufSize]byte) }}

// readLines calls fn for every line of r with the trailing "\n" and one trailing "\r" removed.
// A line longer than limit bytes is cut at limit and the rest of it discarded. A final line
// without a newline is delivered too. The slice passed to fn is only valid during the call.
//
// idle, when not nil, is called after the lines of each read were delivered, before the next
// read (which may wait for the writer), and once at the end: the moment to pass on what fn
// collected.
func readLines(r io.Reader, limit int, fn func(line []byte), idle func()) {
	pooled := lineBufPool.Get().(*[lineBufSize]byte)
	defer lineBufPool.Put(pooled)
	buf := pooled[:]
	var long []byte   // the start of a line that did not fit in buf, at most limit bytes
	spanning := false // long holds the start of the current line
	emit := func(tail []byte) {
		line := tail
		if spanning {
			long = appendUpTo(long, tail, limit)
			line = long
		} else if len(line) > limit {
			line = line[:limit]
		}
		fn(trimCR(line))
		long, spanning = long[:0], false
	}
	start, end := 0, 0
	for {
		n, err := r.Read(buf[end:])
		end += n
		for {
			i := bytes.IndexByte(buf[start:end], '\n')
			if i < 0 {
				break
			}
			emit(buf[start : start+i])
			start += i + 1
		}
		if err != nil { // EOF or a read error: what is left is the last line
			if spanning || start < end {
				emit(buf[start:end])
			}
			if idle != nil {
				idle()
			}
			return
		}
		end = copy(buf, buf[start:end])
		start = 0
		if end == len(buf) {
			long, spanning, end = appendUpTo(long, buf, limit), true, 0
		}
		if idle != nil {
			idle()
		}
	}
}

// appendUpTo appends as much of p to dst as keeps dst at most limit bytes long.
func appendUpTo(dst, p []byte, limit int) []byte {
	if room := limit - len(dst); len(p) > room {
		p = p[:max(room, 0)]
	}
	return append(dst, p...)
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
	full atomic.Bool // more is set: later writes are dropped without taking mu
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if c.full.Load() {
		return len(p), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := outputCap + utf8.UTFMax - len(c.b)
	if keep < 0 {
		keep = 0
	}
	if len(p) > keep {
		c.b = append(c.b, p[:keep]...)
		c.more = true
		c.full.Store(true)
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
