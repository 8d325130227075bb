package testserver

// A stray "%" in a request path (one not followed by two hex digits) makes net/http refuse the
// request with a plain 400 before any handler runs. The real server takes such a path as it is:
// "%zz" stays "%zz", so GET /v1/workspaces/%zz is its ordinary 404 {"error":"not found: workspace
// %zz"}. The control plane's connections therefore pass through lenientConn, which follows the
// HTTP/1.1 framing of what the client sends and, in each request line only, writes such a "%" in
// the path as "%25", which decodes back to the same "%". Bodies, headers and queries pass
// untouched. Anything it cannot follow (an oversized line, a malformed chunk size) switches it to
// plain pass-through for the rest of the connection, leaving the request to net/http.

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"strings"
)

// lenientListener wraps every accepted connection in a lenientConn.
type lenientListener struct{ net.Listener }

func (l lenientListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lenientConn{Conn: c, in: bufio.NewReaderSize(c, 16<<10)}, nil
}

// What lenientConn is reading.
type framing int

const (
	atRequestLine framing = iota
	inHeaders
	inBody      // remaining bytes of a Content-Length body or a chunk's data and CRLF
	atChunkSize // a chunk-size line
	inTrailers  // the trailer lines after the last chunk
	passThrough // lost the framing: copy everything as it comes
)

// maxLineBytes is the longest line lenientConn follows; net/http refuses longer headers anyway.
const maxLineBytes = 1 << 20

type lenientConn struct {
	net.Conn
	in      *bufio.Reader
	state   framing
	partial []byte // the current line so far
	out     []byte // processed bytes not yet returned; aliases partial or buf until read
	buf     []byte // read buffer of the pass-through states

	bodyLeft  int64 // in inBody
	afterBody framing
	length    int64 // Content-Length of the request whose headers are being read
	chunked   bool
}

func (c *lenientConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// fill processes the next piece of the stream into c.out.
func (c *lenientConn) fill() error {
	switch c.state {
	case passThrough, inBody:
		if c.buf == nil {
			c.buf = make([]byte, 32<<10)
		}
		size := len(c.buf)
		if c.state == inBody && int64(size) > c.bodyLeft {
			size = int(c.bodyLeft)
		}
		n, err := c.in.Read(c.buf[:size])
		c.out = c.buf[:n]
		if c.state == inBody {
			c.bodyLeft -= int64(n)
			if c.bodyLeft == 0 {
				c.state = c.afterBody
			}
		}
		if n > 0 {
			return nil
		}
		return err
	}
	chunk, err := c.in.ReadSlice('\n')
	c.partial = append(c.partial, chunk...)
	switch {
	case err == bufio.ErrBufferFull && len(c.partial) < maxLineBytes:
		return nil
	case err == bufio.ErrBufferFull:
		c.out, c.state = c.partial, passThrough
		c.partial = c.partial[:0]
		return nil
	case err != nil:
		return err // the partial line is kept for the next read
	}
	c.out = c.line(c.partial)
	c.partial = c.partial[:0] // c.out is read before the next fill
	return nil
}

// line handles one complete line and returns the bytes to pass on.
func (c *lenientConn) line(line []byte) []byte {
	blank := len(bytes.TrimRight(line, "\r\n")) == 0
	switch c.state {
	case atRequestLine:
		if !blank {
			c.state, c.length, c.chunked = inHeaders, 0, false
		}
		return fixRequestTarget(line)
	case inHeaders:
		if blank {
			c.bodyStart()
			return line
		}
		name, value, _ := strings.Cut(string(line), ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			if n, err := strconv.ParseInt(value, 10, 64); err == nil && n >= 0 {
				c.length = n
			} else {
				c.state = passThrough
			}
		case "transfer-encoding":
			c.chunked = strings.Contains(strings.ToLower(value), "chunked")
		}
	case atChunkSize:
		sizeText, _, _ := strings.Cut(strings.TrimSpace(string(line)), ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
		switch {
		case err != nil || size < 0:
			c.state = passThrough
		case size == 0:
			c.state = inTrailers
		default:
			c.state, c.bodyLeft, c.afterBody = inBody, size+2, atChunkSize // data and its CRLF
		}
	case inTrailers:
		if blank {
			c.state = atRequestLine
		}
	}
	return line
}

// bodyStart picks the framing after a request's headers.
func (c *lenientConn) bodyStart() {
	switch {
	case c.state == passThrough:
	case c.chunked:
		c.state = atChunkSize
	case c.length > 0:
		c.state, c.bodyLeft, c.afterBody = inBody, c.length, atRequestLine
	default:
		c.state = atRequestLine
	}
}

// fixRequestTarget writes every "%" of the request line's path that does not start a valid
// escape as "%25".
func fixRequestTarget(line []byte) []byte {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 0 {
		return line
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ')
	if sp2 < 0 {
		return line
	}
	target := line[sp1+1 : sp1+1+sp2]
	path := target
	if q := bytes.IndexByte(target, '?'); q >= 0 {
		path = target[:q]
	}
	if !hasStrayPercent(path) {
		return line
	}
	var b bytes.Buffer
	b.Write(line[:sp1+1])
	for i := 0; i < len(path); i++ {
		if path[i] == '%' && !validEscapeAt(path, i) {
			b.WriteString("%25")
			continue
		}
		b.WriteByte(path[i])
	}
	b.Write(line[sp1+1+len(path):])
	return b.Bytes()
}

func hasStrayPercent(path []byte) bool {
	for i := range path {
		if path[i] == '%' && !validEscapeAt(path, i) {
			return true
		}
	}
	return false
}

func validEscapeAt(s []byte, i int) bool {
	return i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2])
}
