package agentjail

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// sseBenchStream builds a typical run: started, n output events (stdout mostly, some stderr,
// lines of 40-120 bytes, a quarter of them indented, a few empty), a stats event every 50
// lines, a keep-alive now and then, and completed. It returns the bytes and the event count.
func sseBenchStream(n int) ([]byte, int) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	events := 0
	add := func(typ, data string) {
		fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", typ, data)
		events++
	}
	add("started", `{"pid":41277}`)
	const words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua "
	for i := range n {
		var line string
		switch {
		case i%97 == 0:
			line = ""
		default:
			size := 40 + rng.IntN(81)
			start := rng.IntN(len(words) - 40)
			line = (words[start:] + words)[:size]
			if i%4 == 0 {
				line = strings.Repeat("    ", 1+rng.IntN(3)) + line[12:]
			}
		}
		if i%10 == 9 {
			add("stderr", line)
		} else {
			add("stdout", line)
		}
		if i%50 == 49 {
			add("stats", fmt.Sprintf(`{"memory_peak_bytes":%d,"memory_current_bytes":%d,"cpu_usage_usec":%d,"io_read_bytes":0,"io_write_bytes":%d,"pids_current":1}`,
				1<<20+rng.IntN(1<<20), 1<<20, i*113, i*61))
		}
		if i%500 == 499 {
			b.WriteString(":\n\n")
		}
	}
	add("completed", `{"exit_code":0,"duration_ms":1834,"timed_out":false,"oom_killed":false,"memory_peak_bytes":2097152,"memory_current_bytes":1048576,"cpu_usage_usec":1200345,"pids_current":0}`)
	return b.Bytes(), events
}

// benchSSEPasses times b.N passes over the typical run's bytes. Each pass reads them all
// from src and returns what it counted, which must be count(stream, events).
func benchSSEPasses(b *testing.B, count func(stream []byte, events int) int, pass func(src io.Reader) (int, error)) {
	stream, events := sseBenchStream(10000)
	want := count(stream, events)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		n, err := pass(bytes.NewReader(stream))
		if err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("counted %d, want %d", n, want)
		}
	}
}

// sseEvents is the count of a pass that reads events.
func sseEvents(_ []byte, events int) int { return events }

func BenchmarkSSEReader(b *testing.B) {
	benchSSEPasses(b, sseEvents, func(src io.Reader) (int, error) {
		r := NewSSEReader(src)
		for n := 0; ; n++ {
			if _, err := r.Next(); err != nil {
				return n, ignoreEOF(err)
			}
		}
	})
}

// BenchmarkSSEBaselineReadSlice is the floor for BenchmarkSSEReader: a bare line loop over
// the same bytes with a read buffer of the same size, doing nothing with the lines.
func BenchmarkSSEBaselineReadSlice(b *testing.B) {
	lines := func(stream []byte, _ int) int { return bytes.Count(stream, []byte("\n")) }
	benchSSEPasses(b, lines, func(src io.Reader) (int, error) {
		br := bufio.NewReaderSize(src, readBufferSize)
		for n := 0; ; n++ {
			if _, err := br.ReadSlice('\n'); err != nil {
				return n, ignoreEOF(err)
			}
		}
	})
}

// BenchmarkSSEBaselineReadSliceString is BenchmarkSSEBaselineReadSlice plus the one
// allocation every event must make: a string of each data line's value. The difference
// between the two is the cost of the allocation alone, which no reader can avoid.
func BenchmarkSSEBaselineReadSliceString(b *testing.B) {
	benchSSEPasses(b, sseEvents, func(src io.Reader) (int, error) {
		br := bufio.NewReaderSize(src, readBufferSize)
		n := 0
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return n, ignoreEOF(err)
			}
			if bytes.HasPrefix(line, []byte("data: ")) {
				sseSink = string(line[6 : len(line)-1])
				n++
			}
		}
	})
}

// ignoreEOF returns err, or nil if it is io.EOF: the end of a benchmark pass.
func ignoreEOF(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}

func TestSSEReaderAllocs(t *testing.T) {
	typical, _ := sseBenchStream(1000)
	tests := []struct {
		name   string
		stream []byte
		max    float64 // allocations per Next
	}{
		// The Data string only; the empty output lines need none.
		{name: "typical-run", stream: typical, max: 1},
		{name: "custom-type-repeated", stream: []byte("event: progress\ndata: 50%\n\n"), max: 1},
		{name: "cr-lf-framing", stream: []byte("event: stdout\r\ndata:   indented\r\n\r\n"), max: 1},
		{name: "invalid-utf8-data", stream: []byte("event: stdout\ndata: caf\xE9 \xE2\x82\n\n"), max: 1},
		{name: "new-id-every-event", stream: []byte("id: 1\ndata: a\n\nid: 2\ndata: b\n\n"), max: 2},
		{name: "types-alternating", stream: []byte("event: ping\ndata: a\n\nevent: pong\ndata: b\n\n"), max: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewSSEReader(&sseCycleReader{tmpl: tt.stream, left: 1 << 62})
			for range 100 { // warm the reusable buffers
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			got := testing.AllocsPerRun(5000, func() {
				if _, e := r.Next(); e != nil {
					err = e
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if got > tt.max {
				t.Errorf("%.2f allocations per event, want at most %.0f", got, tt.max)
			}
		})
	}
}

// sseSink keeps the strings a benchmark makes, so the compiler cannot leave them out.
var sseSink string
