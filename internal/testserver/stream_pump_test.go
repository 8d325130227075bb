package testserver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAppendLineEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line, want string
	}{
		{"plain", "hello world", "event: stdout\ndata: hello world\n\n"},
		{"empty", "", "event: stdout\ndata: \n\n"},
		{"indented", "  x", "event: stdout\ndata:   x\n\n"},
		{"unicode", "café ✓", "event: stdout\ndata: café ✓\n\n"},
		{"bare CR", "10%\r20%", "event: stdout\ndata: 10%\uFFFD20%\n\n"},
		{"invalid byte", "a\xffb", "event: stdout\ndata: a\uFFFDb\n\n"},
		{"cut character", "caf\xc3", "event: stdout\ndata: caf\uFFFD\n\n"},
		{"LF starts a data line", "a\nb", "event: stdout\ndata: a\ndata: b\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := appendLineEvent([]byte("before|"), "event: stdout\ndata: ", []byte(tt.line))
			if string(got) != "before|"+tt.want {
				t.Errorf("got %q, want %q", got, "before|"+tt.want)
			}
		})
	}
}

// notify puts a token in ch unless one is there already.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// takeAll empties ob and returns what was queued, in order, and in how many chunks.
func takeAll(ob *outbox) (string, int) {
	chunks := ob.take(nil)
	var sb strings.Builder
	for _, c := range chunks {
		sb.Write(c.b)
	}
	return sb.String(), len(chunks)
}

func TestOutboxKeepsReadOrderAndMergesChunks(t *testing.T) {
	t.Parallel()
	ob := newOutbox()
	out, errs := ob.sink("stdout"), ob.sink("stderr")
	out.line([]byte("a"))
	out.line([]byte("b"))
	out.idle()
	errs.line([]byte("oops"))
	errs.idle()
	out.line([]byte("c"))
	out.idle()
	out.idle() // nothing new: queues nothing
	select {
	case <-ob.ready:
	default:
		t.Fatal("no wake-up after output arrived in an empty outbox")
	}
	got, n := takeAll(ob)
	want := "event: stdout\ndata: a\n\nevent: stdout\ndata: b\n\nevent: stderr\ndata: oops\n\nevent: stdout\ndata: c\n\n"
	if got != want || n != 1 {
		t.Fatalf("queued %q in %d chunks, want %q in 1", got, n, want)
	}
	if got, n := takeAll(ob); got != "" || n != 0 {
		t.Fatalf("second take got %q", got)
	}
}

// waitsForRoom runs fill on its own goroutine and returns once fill waits for room in ob,
// failing the test if fill ends first; done is closed when fill has returned.
func waitsForRoom(t *testing.T, ob *outbox, fill func()) (done <-chan struct{}) {
	t.Helper()
	waiting := make(chan struct{}, 1)
	ob.blocked = func() { notify(waiting) }
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		fill()
	}()
	select {
	case <-waiting:
	case <-finished:
		t.Fatal("the reader never waited for room")
	}
	return finished
}

func TestOutboxBoundsWhatWaits(t *testing.T) {
	t.Parallel()
	ob := newOutbox()
	sink := ob.sink("stdout")
	line := bytes.Repeat([]byte("x"), 1000)
	n := 0
	done := waitsForRoom(t, ob, func() {
		for ob.queuedBytes() < outboxLimit {
			sink.line(line)
			n++
		}
		sink.line(line) // must wait: the outbox is full
		n++
		sink.idle()
	})
	if got := ob.queuedBytes(); got > outboxLimit+chunkCap {
		t.Fatalf("%d bytes queued, limit %d", got, outboxLimit)
	}
	first, _ := takeAll(ob) // makes room
	<-done
	rest, _ := takeAll(ob)
	if want := strings.Repeat("event: stdout\ndata: "+string(line)+"\n\n", n); first+rest != want {
		t.Fatalf("got %d bytes, want %d lines = %d bytes", len(first+rest), n, len(want))
	}
}

func TestOutboxCloseReleasesWaitingReader(t *testing.T) {
	t.Parallel()
	ob := newOutbox()
	sink := ob.sink("stdout")
	done := waitsForRoom(t, ob, func() {
		for range outboxLimit/chunkSize + 2 {
			sink.line(make([]byte, chunkSize))
		}
		sink.idle()
	})
	ob.close()
	<-done
	if got := ob.queuedBytes(); got > outboxLimit+chunkCap {
		t.Fatalf("%d bytes queued after close", got)
	}
}

// flushCounter is a response writer that counts flushes.
type flushCounter struct {
	*httptest.ResponseRecorder
	flushes int
}

func (f *flushCounter) Flush() { f.flushes++; f.ResponseRecorder.Flush() }

var _ http.Flusher = (*flushCounter)(nil)

func TestPumpSendsAtOnceAfterQuietAndCoalescesBursts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		last     time.Time // end of the previous send
		bytes    int       // output queued
		wantSent bool
	}{
		{name: "first output", last: time.Time{}, bytes: 100, wantSent: true},
		{name: "after a quiet spell", last: time.Now().Add(-time.Second), bytes: 100, wantSent: true},
		{name: "right after a send", last: time.Now().Add(time.Hour), bytes: 100, wantSent: false},
		{name: "a full chunk right after a send", last: time.Now().Add(time.Hour), bytes: chunkSize + 100, wantSent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
			sw := newSSEWriter(rec)
			flushes, header := rec.flushes, rec.Body.Len()
			ob := newOutbox()
			p := newPump(ob, sw)
			defer p.stop()
			p.last = tt.last
			sink := ob.sink("stdout")
			line := bytes.Repeat([]byte("x"), 78) // 100-byte frames
			for range tt.bytes / 100 {
				sink.line(line)
			}
			sink.idle()
			<-ob.ready
			p.ready()
			sent := rec.Body.Len() - header
			if tt.wantSent != (sent > 0) || tt.wantSent != (rec.flushes > flushes) || tt.wantSent == p.waiting {
				t.Fatalf("sent %d bytes, %d flushes, waiting %v; want sent %v", sent, rec.flushes-flushes, p.waiting, tt.wantSent)
			}
			p.send()
			if got := rec.Body.Len() - header; got != tt.bytes/100*100 || rec.flushes != flushes+1 {
				t.Fatalf("in the end %d bytes, %d flushes; want %d bytes, 1 flush", got, rec.flushes-flushes, tt.bytes/100*100)
			}
		})
	}
}

func TestPumpHeldOutputFallsDue(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	sw := newSSEWriter(rec)
	header := rec.Body.Len()
	ob := newOutbox()
	p := newPump(ob, sw)
	defer p.stop()
	// A last send slightly in the future: however slow this test runs, coalesceDelay has not
	// passed since it when ready is called, so the output is held and must fall due.
	p.last = time.Now().Add(50 * time.Millisecond)
	sink := ob.sink("stdout")
	sink.line([]byte("x"))
	sink.idle()
	<-ob.ready
	p.ready()
	if !p.waiting || rec.Body.Len() != header {
		t.Fatalf("output right after a send was not held (waiting %v, sent %q)", p.waiting, rec.Body.String()[header:])
	}
	<-p.due()
	p.send()
	if got := rec.Body.String()[header:]; got != "event: stdout\ndata: x\n\n" {
		t.Fatalf("sent %q", got)
	}
}

// BenchmarkAppendLineEvent frames one typical 99-byte output line.
func BenchmarkAppendLineEvent(b *testing.B) {
	line := []byte("2026-11-25T21:04:11.123Z INFO  worker-07 processed item 000042 in 3.2 ms (queue depth 17, ok)......")
	buf := make([]byte, 0, chunkCap)
	b.SetBytes(int64(len(line) + 1))
	for i := 0; i < b.N; i++ {
		if len(buf) >= chunkSize {
			buf = buf[:0]
		}
		buf = appendLineEvent(buf, "event: stdout\ndata: ", line)
	}
}
