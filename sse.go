package agentjail

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"time"
	"unicode/utf8"
)

// This file reads any text/event-stream, following the WHATWG HTML algorithm "Interpreting an
// event stream" exactly (HTML Living Standard, section 9.2.6). Runs.Stream turns its events
// into typed values.
//
// Bytes flow from the source into one fixed read buffer; complete lines are parsed in place.
// Only a line longer than the read buffer is copied (into long), and only an event's data is
// accumulated (into data, reused). An event with a single data line, the usual case, is not
// even copied there: its value stays in the read buffer (pending) until the event is
// dispatched, so the one allocation and one copy per event is its Data string.

// maxEventSize bounds both one line of the stream and the data of one event, in bytes.
const maxEventSize = 16 << 20

// readBufferSize is the size of the buffer each SSEReader reads into.
const readBufferSize = 64 << 10

// ErrEventTooLarge is returned by SSEReader.Next when a single line of the stream, or the data
// of a single event, is longer than 16 MiB. The reader stops there rather than buffer more;
// every later call to Next returns the same error.
var ErrEventTooLarge = errors.New("agentjail: server-sent event line or data larger than 16 MiB")

// errBadReadCount reports a source whose Read returned an impossible byte count.
var errBadReadCount = errors.New("agentjail: event stream source returned an invalid read count")

// SSEEvent is one event from a text/event-stream.
type SSEEvent struct {
	// Type is the value of the event's "event" field, or "message" when the stream named none.
	Type string
	// Data is the event's "data" lines joined with "\n", decoded as UTF-8 with invalid bytes
	// replaced by U+FFFD. Leading spaces are kept, apart from the single one after the colon.
	Data string
	// ID is the last event ID when the event was dispatched: the value of the most recent
	// "id" field on the stream (it carries over to later events until another "id" changes
	// or clears it), or "" if there was none.
	ID string
}

// SSEReader reads events from a text/event-stream one at a time. It is not safe for
// concurrent use; it starts no goroutines and reads from the source only inside Next.
type SSEReader struct {
	src  io.Reader
	rerr error // error from src, reported after the bytes before it are used up
	err  error // sticky result of Next once the stream has ended or failed

	buf    []byte // read buffer; unconsumed bytes are buf[r:w]
	r, w   int
	lf, cr byteMark // where the next LF and CR are

	skipLF     bool   // the last line ended in CR: an LF that comes next belongs to it
	bomChecked bool   // the first line has been seen (a BOM can only start the stream)
	long       []byte // the start of a line longer than buf
	inLong     bool   // the current line is in long, not in buf
	scratch    []byte // field values that needed U+FFFD replacement

	data       []byte // data buffer: each data line followed by LF
	pending    []byte // with hasPending, the block's only data line so far, valid UTF-8 in buf;
	hasPending bool   // the data buffer is then pending+LF, and data is empty
	eventType  string // event type buffer; "" means "message"
	lastType   string // last uncommon event type, reused to avoid allocating it again
	id         string // last event ID buffer
	retry      time.Duration
	hasRetry   bool
}

// NewSSEReader returns a reader of the event stream r. The bytes are decoded as UTF-8 whatever
// the stream's declared charset; the reader buffers its input, so it should be the only reader
// of r.
func NewSSEReader(r io.Reader) *SSEReader {
	return &SSEReader{src: r, buf: make([]byte, readBufferSize), lf: byteMark{at: -1}, cr: byteMark{at: -1}}
}

// Next returns the next event of the stream. Comments, unknown fields and blocks without data
// are skipped. At the end of the stream it returns io.EOF, discarding a last block that no
// blank line closed. An error from the underlying reader is returned as it is, and a line or an
// event's data over 16 MiB gives ErrEventTooLarge. Once Next has returned an error it returns
// the same error on every later call.
func (s *SSEReader) Next() (SSEEvent, error) {
	if name, value, ok := s.nextFrame(); ok {
		// Built here, in the result registers: returning a finished SSEEvent from nextFrame
		// would copy it through memory, which cost a tenth of the reader's time.
		return SSEEvent{Type: name, Data: string(value), ID: s.id}, nil
	}
	for s.err == nil {
		line, err := s.readLine()
		if err != nil {
			s.err = err
			break
		}
		if len(line) > 0 {
			s.err = s.field(line)
			continue
		}
		// A blank line dispatches the block. The last event ID is never cleared here.
		ev := SSEEvent{Type: s.eventType, ID: s.id}
		s.eventType = ""
		switch {
		case s.hasPending:
			ev.Data = string(s.pending)
			s.pending, s.hasPending = nil, false
		case len(s.data) > 0:
			ev.Data = string(s.data[:len(s.data)-1])
			s.data = s.data[:0]
		default:
			continue
		}
		if ev.Type == "" {
			ev.Type = "message"
		}
		return ev, nil
	}
	return SSEEvent{}, s.err
}

// nextFrame is a shortcut for the frame the agentjail server sends,
// "event: NAME\ndata: VALUE\n\n", when all of it is buffered and no CR can be in it. It
// consumes the frame and returns its event type and data value exactly as the general path
// would see them, or returns false having changed nothing. Next always starts between blocks
// (the data and event type buffers are empty and no partial line is kept), so the frame is a
// whole block; and bytes are only buffered here once the first line, the only one that may
// start with a BOM, has gone.
func (s *SSEReader) nextFrame() (typ string, value []byte, ok bool) {
	if s.err != nil {
		return "", nil, false
	}
	b := s.buf[s.r:s.w]
	if len(b) < 7 || string(b[:7]) != "event: " {
		return "", nil, false
	}
	// The output events are recognised by their whole first line; other names are looked up
	// once the frame is known to be whole.
	var name, rest []byte
	switch {
	case len(b) >= 14 && string(b[7:14]) == "stdout\n":
		typ, rest = "stdout", b[14:]
	case len(b) >= 14 && string(b[7:14]) == "stderr\n":
		typ, rest = "stderr", b[14:]
	default:
		i := bytes.IndexByte(b[7:], '\n')
		if i < 0 {
			return "", nil, false
		}
		name, rest = b[7:7+i], b[7+i+1:]
	}
	if len(rest) < 6 || string(rest[:6]) != "data: " {
		return "", nil, false
	}
	j := bytes.IndexByte(rest[6:], '\n')
	if j < 0 || 6+j+1 >= len(rest) || rest[6+j+1] != '\n' {
		return "", nil, false
	}
	value = rest[6 : 6+j]
	end := s.w - len(rest) + 6 + j + 2
	// No CR anywhere in the frame: either the next CR is after it, or the search for CR has
	// already covered it.
	if !s.cr.noneIn(s.r, end) || !validUTF8(value) {
		return "", nil, false
	}
	s.r = end
	if typ == "" {
		if typ = s.typeName(name); typ == "" {
			typ = "message"
		}
	}
	return typ, value, true
}

// validUTF8 reports whether b is valid UTF-8. It is utf8.Valid with a faster test for the
// usual output line, all ASCII: sixteen bytes at a time, with no early exit.
func validUTF8(b []byte) bool {
	if len(b) < 8 {
		return utf8.Valid(b)
	}
	var high uint64
	rest := b
	for len(rest) >= 16 {
		high |= binary.LittleEndian.Uint64(rest) | binary.LittleEndian.Uint64(rest[8:])
		rest = rest[16:]
	}
	if len(rest) >= 8 {
		high |= binary.LittleEndian.Uint64(rest)
	}
	// The last eight bytes, overlapping some already tested.
	high |= binary.LittleEndian.Uint64(b[len(b)-8:])
	return high&0x8080808080808080 == 0 || utf8.Valid(b)
}

// reconnectTime returns the reconnection time most recently set by a valid "retry" field,
// and whether the stream has sent one. Values too large for a time.Duration are capped at
// its maximum. The spec's reconnection logic is not the reader's job; the tests hold the
// parsing to the spec through this.
func (s *SSEReader) reconnectTime() (time.Duration, bool) {
	return s.retry, s.hasRetry
}

// field processes one non-empty line: a comment, or a field with its value.
func (s *SSEReader) field(line []byte) error {
	var i int
	switch {
	case line[0] == ':':
		return nil
	case len(line) > 4 && line[4] == ':' && string(line[:4]) == "data":
		i = 4
	case len(line) > 5 && line[5] == ':' && string(line[:5]) == "event":
		i = 5
	default:
		i = bytes.IndexByte(line, ':')
	}
	name, value := line, []byte(nil)
	if i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	// Field names are ASCII, so comparing the raw bytes is the same as comparing decoded text.
	switch string(name) {
	case "data":
		return s.appendData(value)
	case "event":
		s.eventType = s.typeName(value)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			s.id = s.text(value, s.id)
		}
	case "retry":
		if d, ok := parseRetry(value); ok {
			s.retry, s.hasRetry = d, true
		}
	}
	return nil
}

// appendData appends a data line's value and an LF to the data buffer.
func (s *SSEReader) appendData(value []byte) error {
	s.keepPending()
	// Decoding never shrinks the bytes, so the raw length is a lower bound.
	if len(s.data)+len(value) > maxEventSize {
		return ErrEventTooLarge
	}
	if !validUTF8(value) {
		s.data = appendUTF8(s.data, value)
		if len(s.data) > maxEventSize {
			return ErrEventTooLarge
		}
	} else if len(s.data) == 0 && !s.inLong {
		s.pending, s.hasPending = value, true
		return nil
	} else {
		s.data = append(s.data, value...)
	}
	s.data = append(s.data, '\n')
	return nil
}

// keepPending copies a pending data line into the data buffer, before another data line is
// added or the read buffer it lives in is reused.
func (s *SSEReader) keepPending() {
	if s.hasPending {
		s.data = append(append(s.data, s.pending...), '\n')
		s.pending, s.hasPending = nil, false
	}
}

// typeName returns the event type for value, without allocating for the types the agentjail
// server sends or for a repeat of the last other type.
func (s *SSEReader) typeName(value []byte) string {
	switch string(value) {
	case "":
		return ""
	case "message":
		return "message"
	case "started":
		return "started"
	case "stdout":
		return "stdout"
	case "stderr":
		return "stderr"
	case "stats":
		return "stats"
	case "completed":
		return "completed"
	case "error":
		return "error"
	}
	s.lastType = s.text(value, s.lastType)
	return s.lastType
}

// text returns value decoded as UTF-8, returning prev itself when the text is equal to it.
func (s *SSEReader) text(value []byte, prev string) string {
	if !validUTF8(value) {
		s.scratch = appendUTF8(s.scratch[:0], value)
		value = s.scratch
	}
	if string(value) == prev {
		return prev
	}
	return string(value)
}

// parseRetry parses a retry value: one or more ASCII digits, a time in milliseconds.
func parseRetry(value []byte) (time.Duration, bool) {
	if len(value) == 0 {
		return 0, false
	}
	const maxMS = math.MaxInt64 / int64(time.Millisecond)
	var ms int64
	for _, c := range value {
		if c < '0' || c > '9' {
			return 0, false
		}
		if ms <= maxMS {
			ms = ms*10 + int64(c-'0')
		}
	}
	if ms > maxMS {
		return math.MaxInt64, true
	}
	return time.Duration(ms) * time.Millisecond, true
}

// readLine returns the next line of the stream without its line ending. The line is only
// valid until the next call. A line ends at LF, at CR, or at CRLF; text after the last line
// ending is never returned: at the end of the input readLine returns the source's error.
func (s *SSEReader) readLine() ([]byte, error) {
	for {
		if s.skipLF && s.r < s.w {
			s.skipLF = false
			if s.buf[s.r] == '\n' {
				s.r++
			}
		}
		if e := s.lineEnd(); e >= 0 {
			line := s.buf[s.r:e]
			s.inLong = len(s.long) > 0
			s.r = e + 1
			if s.buf[e] == '\r' {
				if s.r == s.w {
					// The next byte is not here yet; the line is complete either way.
					s.skipLF = true
				} else if s.buf[s.r] == '\n' {
					s.r++
				}
			}
			if len(s.long) > 0 {
				if len(s.long)+len(line) > maxEventSize {
					return nil, ErrEventTooLarge
				}
				line = append(s.long, line...)
				s.long = line[:0]
			}
			if !s.bomChecked {
				s.bomChecked = true
				line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
			}
			return line, nil
		}
		if len(s.long)+s.w-s.r > maxEventSize {
			return nil, ErrEventTooLarge
		}
		if s.rerr != nil {
			return nil, s.rerr
		}
		s.keepPending()
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
}

// lineEnd returns the index in buf of the first CR or LF in buf[r:w], or -1 if there is none.
func (s *SSEReader) lineEnd() int {
	if s.lf.at < s.r && s.r < s.w && s.buf[s.r] == '\n' {
		s.lf.at = s.r // a blank line, the end of most events
	}
	lf := s.lf.next(s.buf, s.r, s.w, '\n')
	cr := s.cr.next(s.buf, s.r, s.w, '\r')
	if lf < 0 || (cr >= 0 && cr < lf) {
		return cr
	}
	return lf
}

// byteMark remembers where the next occurrence of one byte is in the read buffer, so that
// each buffered byte is searched for it at most once: at is that occurrence if at >= r;
// otherwise buf[r:from] holds none.
type byteMark struct{ at, from int }

// next returns the index of the first c in buf[r:w], or -1 if there is none.
func (m *byteMark) next(buf []byte, r, w int, c byte) int {
	if m.at < r {
		from := max(r, m.from)
		m.at, m.from = -1, w
		if from < w {
			if k := bytes.IndexByte(buf[from:w], c); k >= 0 {
				m.at, m.from = from+k, from+k
			}
		}
	}
	return m.at
}

// noneIn reports whether buf[r:end] is already known to hold no occurrence.
func (m *byteMark) noneIn(r, end int) bool {
	return m.at >= end || (m.at < r && m.from >= end)
}

// fill makes room in buf and reads into it once, recording the source's error in rerr. It is
// called only when buf[r:w] holds no line ending and long+buf[r:w] is within the limit.
func (s *SSEReader) fill() error {
	switch {
	case s.r == s.w:
		s.r, s.w = 0, 0
	case s.w == len(s.buf) && s.r > 0:
		s.w = copy(s.buf, s.buf[s.r:s.w])
		s.r = 0
	case s.w == len(s.buf):
		// One line fills the whole buffer: keep its start aside and reuse buf.
		s.long = append(s.long, s.buf[:s.w]...)
		s.r, s.w = 0, 0
	}
	// Everything buffered has been searched and holds no CR or LF.
	s.lf, s.cr = byteMark{-1, s.w}, byteMark{-1, s.w}
	for range 100 {
		n, err := s.src.Read(s.buf[s.w:])
		if n < 0 || n > len(s.buf)-s.w {
			return errBadReadCount
		}
		s.w += n
		if err != nil {
			s.rerr = err
			return nil
		}
		if n > 0 {
			return nil
		}
	}
	s.rerr = io.ErrNoProgress
	return nil
}

// appendUTF8 appends b to dst, decoded as the Encoding Standard's "UTF-8 decode" does: each
// maximal invalid subpart becomes one U+FFFD. (utf8.DecodeRune, by contrast, reports every
// byte of a truncated sequence separately.)
func appendUTF8(dst, b []byte) []byte {
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			dst = append(dst, b[0])
			b = b[1:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			n = invalidPrefix(b)
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, b[:n]...)
		}
		b = b[n:]
	}
	return dst
}

// invalidPrefix returns the length of the maximal invalid subpart that starts b, which does
// not start with a valid UTF-8 sequence: a lead byte followed by the continuation bytes that
// are allowed in their position, stopping at the first byte that is not.
func invalidPrefix(b []byte) int {
	need, lo, hi := 0, byte(0x80), byte(0xBF)
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for n <= need && n < len(b) && b[n] >= lo && b[n] <= hi {
		n++
		lo, hi = 0x80, 0xBF
	}
	return n
}
