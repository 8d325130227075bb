package agentjail

import (
	"bytes"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"
)

// FuzzSSEReader checks, for any input and any way of cutting it into reads, that the reader
//   - never panics and ends with io.EOF (inputs are far below the size limit);
//   - returns the same events and Retry whether the input comes whole, one byte per read, or
//     in reads whose sizes come from split (with empty reads, and EOF with the last bytes);
//   - agrees with sseReference, a direct transcription of the WHATWG and Encoding Standard
//     algorithms that shares no code with the reader;
//   - never returns more data than it was given. Replacement can turn one invalid byte into
//     the three bytes of U+FFFD, so the bound is on characters: every character of every
//     event's Data comes from at least one distinct input byte (the LF that joins data lines
//     stands for the line's own ending), so the total rune count of all Data is at most
//     len(input), and its byte length at most 3*len(input).
//
// It also checks that Type, Data and ID are valid UTF-8 and that no ID contains NUL.
func FuzzSSEReader(f *testing.F) {
	f.Add([]byte("event: stdout\ndata:   x\n\n"), []byte{3})
	f.Add([]byte("data: a\r\n\r\ndata: b\r\r"), []byte{8, 1})
	f.Add([]byte("data: 0\n\nevent: stderr\ndata: 0123456789abcdef\xE2\x82x01\n\nevent: stdout\ndata: a\rb\n\n"), []byte{})
	f.Fuzz(func(t *testing.T, input, split []byte) {
		whole, err := sseReadAll(t, NewSSEReader(bytes.NewReader(input)))
		if err != io.EOF {
			t.Fatalf("whole: error %v", err)
		}
		wantRetry, wantHasRetry := sseRetryOf(NewSSEReader(bytes.NewReader(input)))

		sizes := make([]int, len(split))
		for i, b := range split {
			sizes[i] = int(b) % 67 // 0 is an empty read
		}
		readers := map[string]io.Reader{
			"one-byte": iotest.OneByteReader(bytes.NewReader(input)),
			"split":    &sseChunkReader{data: input, sizes: sizes, eofWithData: len(split)%2 == 1},
		}
		for name, src := range readers {
			r := NewSSEReader(src)
			got, err := sseReadAll(t, r)
			if err != io.EOF {
				t.Fatalf("%s: error %v", name, err)
			}
			if !reflect.DeepEqual(got, whole) {
				t.Fatalf("%s: events differ from whole input\n got %s\nwant %s", name, sseDescribe(got), sseDescribe(whole))
			}
			if d, ok := r.reconnectTime(); d != wantRetry || ok != wantHasRetry {
				t.Fatalf("%s: reconnectTime() = %v, %v; whole input gave %v, %v", name, d, ok, wantRetry, wantHasRetry)
			}
		}

		ref, refRetry, refHasRetry := sseReference(input)
		if !reflect.DeepEqual(whole, ref) {
			t.Fatalf("events differ from the reference\n got %s\nwant %s", sseDescribe(whole), sseDescribe(ref))
		}
		if refRetry != wantRetry || refHasRetry != wantHasRetry {
			t.Fatalf("reconnectTime() = %v, %v; reference gives %v, %v", wantRetry, wantHasRetry, refRetry, refHasRetry)
		}

		runes, size := 0, 0
		for _, ev := range whole {
			runes += utf8.RuneCountInString(ev.Data)
			size += len(ev.Data)
			if !utf8.ValidString(ev.Type) || !utf8.ValidString(ev.Data) || !utf8.ValidString(ev.ID) {
				t.Fatalf("event is not valid UTF-8: %+q", ev)
			}
			if strings.IndexByte(ev.ID, 0) >= 0 {
				t.Fatalf("ID contains NUL: %q", ev.ID)
			}
		}
		if runes > len(input) || size > 3*len(input) {
			t.Fatalf("%d runes / %d bytes of data from %d bytes of input", runes, size, len(input))
		}
	})
}

func sseRetryOf(r *SSEReader) (time.Duration, bool) {
	for {
		if _, err := r.Next(); err != nil {
			return r.reconnectTime()
		}
	}
}

// sseReference parses a whole stream the slow, literal way: decode everything, then split
// lines, then apply the field rules. It has no size limits and no buffering.
func sseReference(input []byte) (events []SSEEvent, retry time.Duration, hasRetry bool) {
	text := strings.TrimPrefix(sseReferenceDecode(input), "\uFEFF")
	var data, eventType strings.Builder
	var idBuf string
	for {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			return events, retry, hasRetry
		}
		line := text[:i]
		if strings.HasPrefix(text[i:], "\r\n") {
			text = text[i+2:]
		} else {
			text = text[i+1:]
		}
		if line == "" {
			if data.Len() == 0 {
				eventType.Reset()
				continue
			}
			ev := SSEEvent{Type: eventType.String(), Data: strings.TrimSuffix(data.String(), "\n"), ID: idBuf}
			if ev.Type == "" {
				ev.Type = "message"
			}
			events = append(events, ev)
			data.Reset()
			eventType.Reset()
			continue
		}
		if line[0] == ':' {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "event":
			eventType.Reset()
			eventType.WriteString(value)
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
		case "id":
			if !strings.Contains(value, "\x00") {
				idBuf = value
			}
		case "retry":
			if value != "" && strings.Trim(value, "0123456789") == "" {
				ms, err := strconv.ParseInt(value, 10, 64)
				if err != nil || ms > math.MaxInt64/int64(time.Millisecond) {
					retry = math.MaxInt64
				} else {
					retry = time.Duration(ms) * time.Millisecond
				}
				hasRetry = true
			}
		}
	}
}

// sseReferenceDecode is the Encoding Standard's UTF-8 decoder, step by step, over a whole input.
func sseReferenceDecode(b []byte) string {
	var out strings.Builder
	var cp rune
	needed, seen := 0, 0
	lower, upper := byte(0x80), byte(0xBF)
	for i := 0; i < len(b); {
		c := b[i]
		if needed == 0 {
			i++
			switch {
			case c <= 0x7F:
				out.WriteByte(c)
			case c >= 0xC2 && c <= 0xDF:
				needed, cp = 1, rune(c&0x1F)
			case c >= 0xE0 && c <= 0xEF:
				if c == 0xE0 {
					lower = 0xA0
				}
				if c == 0xED {
					upper = 0x9F
				}
				needed, cp = 2, rune(c&0xF)
			case c >= 0xF0 && c <= 0xF4:
				if c == 0xF0 {
					lower = 0x90
				}
				if c == 0xF4 {
					upper = 0x8F
				}
				needed, cp = 3, rune(c&0x7)
			default:
				out.WriteRune(utf8.RuneError)
			}
			continue
		}
		if c < lower || c > upper {
			// The byte is not consumed: it is decoded again as the start of what follows.
			cp, needed, seen, lower, upper = 0, 0, 0, 0x80, 0xBF
			out.WriteRune(utf8.RuneError)
			continue
		}
		i++
		lower, upper = 0x80, 0xBF
		cp = cp<<6 | rune(c&0x3F)
		if seen++; seen == needed {
			out.WriteRune(cp)
			cp, needed, seen = 0, 0, 0
		}
	}
	if needed != 0 {
		out.WriteRune(utf8.RuneError)
	}
	return out.String()
}
