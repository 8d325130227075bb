package testserver

// The output path of the streaming route. The two pipe readers frame their lines as SSE events
// into chunks and queue them in an outbox; the handler's pump takes what is queued, writes it
// and flushes. A line printed after a quiet spell is passed on as soon as its reader has
// nothing more to read, so it reaches the client at once; during a burst the pump lets output
// gather for up to coalesceDelay (or until chunkSize bytes are queued), so a burst leaves in
// large writes instead of one small write per read.
//
// Memory is bounded whatever the job prints: a reader waits while the outbox holds
// outboxLimit bytes, so a client that reads slowly stalls the pipe and, through it, the job.

import (
	"bytes"
	"sync"
	"time"
	"unicode/utf8"
)

const (
	// chunkSize is how many framed bytes a reader collects before queueing them, even if it
	// has more to read, and how many queued bytes make the pump send at once.
	chunkSize = 64 << 10
	// chunkCap is the capacity of a chunk buffer: room for the line that crosses chunkSize.
	chunkCap = chunkSize + 8<<10
	// outboxLimit is how many framed bytes may wait for the pump before readers wait too.
	outboxLimit = 4 * chunkSize
	// coalesceDelay is how long the pump lets output gather after a send before sending again.
	coalesceDelay = 2 * time.Millisecond
)

// chunk is a buffer of framed events. Chunks are pooled across streams, so a steady stream
// allocates none.
type chunk struct{ b []byte }

var chunkPool = sync.Pool{New: func() any { return &chunk{b: make([]byte, 0, chunkCap)} }}

// releaseChunk returns c to the pool, unless one very long line made it grow far past its
// usual size.
func releaseChunk(c *chunk) {
	if cap(c.b) <= 2*chunkCap {
		c.b = c.b[:0]
		chunkPool.Put(c)
	}
}

// outbox is the queue of framed chunks between the two pipe readers of one stream and its
// pump.
type outbox struct {
	mu     sync.Mutex
	room   sync.Cond // broadcast when queued bytes were taken or the outbox closed
	queued []*chunk  // in the order the readers queued them
	size   int       // bytes in queued
	closed bool

	// ready holds a token when the pump should look at the queue: output arrived in an empty
	// outbox, or chunkSize bytes are queued.
	ready chan struct{}
	// blocked, when set, is called each time a reader starts waiting for room. Tests only.
	blocked func()
}

func newOutbox() *outbox {
	ob := &outbox{ready: make(chan struct{}, 1)}
	ob.room.L = &ob.mu
	return ob
}

// newOutbox returns the outbox of a new stream, shown first to the hook tests may set.
func (e *execEngine) newOutbox() *outbox {
	ob := newOutbox()
	e.cfgMu.Lock()
	hook := e.outboxHook
	e.cfgMu.Unlock()
	if hook != nil {
		hook(ob)
	}
	return ob
}

// setOutboxHook makes later streams call hook with their outbox before their process starts.
func (e *execEngine) setOutboxHook(hook func(*outbox)) {
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	e.outboxHook = hook
}

// sink returns the line sink of one output stream, framing its lines as events named stream.
func (ob *outbox) sink(stream string) lineSink {
	return &eventSink{ob: ob, head: "event: " + stream + "\ndata: "}
}

// put queues the events in c, waiting while the outbox is full, and takes c over. Small chunks
// are merged into the last queued one, so the pump writes few large pieces. Once the outbox is
// closed, the events are dropped.
func (ob *outbox) put(c *chunk) {
	ob.mu.Lock()
	for ob.size >= outboxLimit && !ob.closed {
		if ob.blocked != nil {
			ob.blocked()
		}
		ob.room.Wait()
	}
	if ob.closed {
		ob.mu.Unlock()
		releaseChunk(c)
		return
	}
	before := ob.size
	ob.size += len(c.b)
	if n := len(ob.queued); n > 0 && len(ob.queued[n-1].b)+len(c.b) <= chunkCap {
		ob.queued[n-1].b = append(ob.queued[n-1].b, c.b...)
		releaseChunk(c)
	} else {
		ob.queued = append(ob.queued, c)
	}
	wake := before == 0 || before < chunkSize && ob.size >= chunkSize
	ob.mu.Unlock()
	if wake {
		select {
		case ob.ready <- struct{}{}:
		default:
		}
	}
}

// queuedBytes reports how many bytes wait for the pump.
func (ob *outbox) queuedBytes() int {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return ob.size
}

// take appends every queued chunk to dst, in order, and makes room for the readers. The
// caller releases the chunks once it has written them.
func (ob *outbox) take(dst []*chunk) []*chunk {
	ob.mu.Lock()
	dst = append(dst, ob.queued...)
	clear(ob.queued)
	ob.queued, ob.size = ob.queued[:0], 0
	ob.room.Broadcast()
	ob.mu.Unlock()
	return dst
}

// close drops whatever is queued later and releases readers waiting for room: nobody will
// take their output any more.
func (ob *outbox) close() {
	ob.mu.Lock()
	ob.closed = true
	ob.room.Broadcast()
	ob.mu.Unlock()
}

// pump moves output from an outbox to the client. It is driven by the handler's event loop:
// ready when the outbox signals, send when due fires, and send before any other event, so
// events keep the order in which they happened.
type pump struct {
	ob      *outbox
	sw      *sseWriter
	timer   *time.Timer // fires when output held back by ready is due
	waiting bool        // timer is armed
	last    time.Time   // end of the last send
	chunks  []*chunk
}

func newPump(ob *outbox, sw *sseWriter) *pump {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pump{ob: ob, sw: sw, timer: t}
}

// due delivers when held-back output must be sent.
func (p *pump) due() <-chan time.Time { return p.timer.C }

// ready handles the outbox's signal: output after a quiet spell, or a full chunk, is sent at
// once; output right after a send waits until coalesceDelay has passed since it.
func (p *pump) ready() {
	wait := coalesceDelay - time.Since(p.last)
	if wait <= 0 || p.ob.queuedBytes() >= chunkSize {
		p.send()
		return
	}
	if !p.waiting {
		p.timer.Reset(wait)
		p.waiting = true
	}
}

// send writes everything queued, flushes, and releases the chunks.
func (p *pump) send() {
	if p.waiting {
		p.timer.Stop()
		p.waiting = false
	}
	p.chunks = p.ob.take(p.chunks)
	if len(p.chunks) == 0 {
		return
	}
	for i, c := range p.chunks {
		p.sw.write(c.b)
		releaseChunk(c)
		p.chunks[i] = nil
	}
	p.chunks = p.chunks[:0]
	p.sw.flush()
	p.last = time.Now()
}

// stop releases the timer.
func (p *pump) stop() { p.timer.Stop() }

// eventSink frames the lines of one stream into a chunk, queued in its outbox when it is full
// or when the reader runs out of output. Between reads it holds no chunk.
type eventSink struct {
	ob   *outbox
	head string // "event: <stream>\ndata: "
	c    *chunk // nil while nothing is framed
}

func (s *eventSink) line(b []byte) {
	if s.c == nil {
		s.c = chunkPool.Get().(*chunk)
	}
	s.c.b = appendLineEvent(s.c.b, s.head, b)
	if len(s.c.b) >= chunkSize {
		s.queue()
	}
}

func (s *eventSink) idle() { s.queue() }

// queue hands what is framed to the outbox.
func (s *eventSink) queue() {
	if s.c != nil {
		s.ob.put(s.c)
		s.c = nil
	}
}

// appendLineEvent appends the SSE frame of one output line to dst: head ("event: <name>\n
// data: "), the line, "\n\n". A line that is not plain UTF-8 text is repaired on the way: an
// invalid byte becomes U+FFFD like lossy UTF-8 decoding, a CR becomes U+FFFD too (see the
// stream route), and an LF starts a new "data: " line.
func appendLineEvent(dst []byte, head string, line []byte) []byte {
	dst = append(dst, head...)
	if bytes.IndexByte(line, '\r') < 0 && bytes.IndexByte(line, '\n') < 0 && utf8.Valid(line) {
		dst = append(dst, line...)
		return append(dst, "\n\n"...)
	}
	for len(line) > 0 {
		c := line[0]
		if c < utf8.RuneSelf {
			switch c {
			case '\r':
				dst = utf8.AppendRune(dst, utf8.RuneError)
			case '\n':
				dst = append(dst, "\ndata: "...)
			default:
				dst = append(dst, c)
			}
			line = line[1:]
			continue
		}
		r, size := utf8.DecodeRune(line)
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, line[:size]...)
		}
		line = line[size:]
	}
	return append(dst, "\n\n"...)
}
