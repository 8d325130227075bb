package agentjail

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// sseCase is one conformance vector: the bytes of a stream, how to cut them into reads, and
// what a WHATWG-exact reader must produce from them.
type sseCase struct {
	name   string
	input  string
	chunks []int      // read sizes, cycled; nil runs only the standard read patterns
	want   []SSEEvent // events in order, after which Next returns io.EOF
	retry  string     // expected reconnectTime() as a time.ParseDuration string; "" means none set
}

func sseMsg(data string) SSEEvent               { return SSEEvent{Type: "message", Data: data} }
func sseTyped(typ, data string) SSEEvent        { return SSEEvent{Type: typ, Data: data} }
func sseWithID(ev SSEEvent, id string) SSEEvent { ev.ID = id; return ev }

// sseLongComment exceeds the read buffer, so comments take the long-line path.
var sseLongComment = strings.Repeat("x", 3*readBufferSize/2)

var sseCases = []sseCase{
	// BOM: one, only at byte 0 of the stream.
	{name: "bom/stripped", input: "\xEF\xBB\xBFdata: 1\n\n", want: []SSEEvent{sseMsg("1")}},
	{name: "bom/split-across-reads", input: "\xEF\xBB\xBFdata: 1\n\n", chunks: []int{1, 2, 1}, want: []SSEEvent{sseMsg("1")}},
	{name: "bom/wpt-format-bom", input: "\uFEFFdata: 1\n\n\uFEFFdata: 2\n\ndata: 3\n\n", want: []SSEEvent{sseMsg("1"), sseMsg("3")}},
	{name: "bom/wpt-format-bom-bom", input: "\uFEFF\uFEFFdata: 1\n\ndata: 2\n\ndata: 3\n\n", want: []SSEEvent{sseMsg("2"), sseMsg("3")}},
	{name: "bom/then-blank-line", input: "\uFEFF\ndata: x\n\n", want: []SSEEvent{sseMsg("x")}},
	{name: "bom/only", input: "\uFEFF"},
	{name: "bom/after-leading-blank-line-is-content", input: "\n\uFEFFdata: x\n\ndata: y\n\n", want: []SSEEvent{sseMsg("y")}},
	{name: "bom/in-value-kept", input: "\uFEFFdata: \uFEFFx\n\n", want: []SSEEvent{sseMsg("\uFEFFx")}},
	{name: "bom/truncated-is-one-replacement", input: "\xEF\xBBdata: x\n\ndata: y\n\n", want: []SSEEvent{sseMsg("y")}},
	{name: "bom/truncated-then-value", input: "\xEF\xBB\n\xEF\xBBdata: x\n\ndata:\xEF\xBB\n\n", want: []SSEEvent{sseMsg("\uFFFD")}},

	// Line endings: LF, CR, CRLF and nothing else.
	{name: "eol/lf", input: "data: a\ndata: b\n\n", want: []SSEEvent{sseMsg("a\nb")}},
	{name: "eol/crlf", input: "data: a\r\ndata: b\r\n\r\n", want: []SSEEvent{sseMsg("a\nb")}},
	{name: "eol/cr", input: "event: stdout\rdata: hi\r\r", want: []SSEEvent{sseTyped("stdout", "hi")}},
	{name: "eol/crlf-then-lf", input: "event: stdout\r\ndata: hi\r\n\n", want: []SSEEvent{sseTyped("stdout", "hi")}},
	{name: "eol/mixed", input: "data: a\rdata: b\r\ndata: c\n\r\n", want: []SSEEvent{sseMsg("a\nb\nc")}},
	{name: "eol/lf-then-lone-cr-is-blank-line", input: "event: stdout\ndata: a\n\revent: stdout\ndata: b\n\n", want: []SSEEvent{sseTyped("stdout", "a"), sseTyped("stdout", "b")}},
	{name: "eol/crlf-cr-then-text", input: "data: a\r\n\rdata: b\r\n\r\n", want: []SSEEvent{sseMsg("a"), sseMsg("b")}},
	{name: "eol/lf-crlf", input: "data: a\n\r\ndata: b\n\r\n", want: []SSEEvent{sseMsg("a"), sseMsg("b")}},
	{name: "eol/lf-cr-lf-is-one-blank-line", input: "data: a\n\r\n\n", want: []SSEEvent{sseMsg("a")}},
	{name: "eol/wpt-format-newlines", input: "data:test\r\ndata\ndata:test\r\n\r\n", want: []SSEEvent{sseMsg("test\n\ntest")}},
	{name: "eol/crlf-split-between-cr-and-lf", input: "data: a\r\n\r\ndata: b\r\n\r\n", chunks: []int{8, 2, 7, 1, 1, 1}, want: []SSEEvent{sseMsg("a"), sseMsg("b")}},
	{name: "eol/cr-at-end-of-read-then-cr", input: "data: a\r\rdata: b\r\r", chunks: []int{8, 1}, want: []SSEEvent{sseMsg("a"), sseMsg("b")}},
	{name: "eol/cr-at-end-of-read-then-text", input: "data: a\rdata: b\r\r", chunks: []int{8}, want: []SSEEvent{sseMsg("a\nb")}},
	{name: "eol/lone-cr-at-end-of-stream-ends-line", input: "data: a\n\r", want: []SSEEvent{sseMsg("a")}},
	{name: "eol/unicode-separators-are-content", input: "data: a\u2028b\u2029c\u0085d\ve\ff\x1cg\x1dh\x1ei\n\n", want: []SSEEvent{sseMsg("a\u2028b\u2029c\u0085d\ve\ff\x1cg\x1dh\x1ei")}},
	{name: "eol/cr-only-many-events", input: strings.Repeat("data: x\r\r", 5000), chunks: []int{4096}, want: sseRepeatEvents(sseMsg("x"), 5000)},

	// Comments.
	{name: "comments/keep-alive", input: ":\n\n", want: nil},
	{name: "comments/between-data-lines", input: "data: a\n: note\ndata: b\n\n", want: []SSEEvent{sseMsg("a\nb")}},
	{name: "comments/wpt-format-comments", input: "data:1\r:\x00\n:\r\ndata:2\n:" + sseLongComment + "\rdata:3\n:data:fail\r:" + sseLongComment + "\ndata:4\n\n", want: []SSEEvent{sseMsg("1\n2\n3\n4")}},
	{name: "comments/only-comments-then-eof", input: ": a\n: b\n\n: c", want: nil},
	{name: "comments/mixed-with-unterminated-block", input: ": hi\ndata: a\n\n: x\ndata: b\n:", want: []SSEEvent{sseMsg("a")}},

	// Fields: colon, no colon, case, unknown names.
	{name: "fields/wpt-format-field-parsing", input: "data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n", want: []SSEEvent{sseMsg("\x00\n 2\n1\n3\n\n4")}},
	{name: "fields/wpt-format-field-unknown", input: "data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n", want: []SSEEvent{sseMsg("test\n\ntest")}},
	{name: "fields/wpt-format-field-data", input: "data:\n\ndata\ndata\n\ndata:test\n\n", want: []SSEEvent{sseMsg(""), sseMsg("\n"), sseMsg("test")}},
	{name: "fields/names-are-case-sensitive", input: "Data: a\nDATA: b\nEVENT: x\nEvent: y\nID: 1\ndata: c\n\n", want: []SSEEvent{sseMsg("c")}},
	{name: "fields/name-with-space-or-nul-is-unknown", input: "data : a\n data: b\ndata\x00: c\n\tdata: d\ndata: e\n\n", want: []SSEEvent{sseMsg("e")}},
	{name: "fields/whitespace-only-line-is-not-blank", input: "data: a\n \n\t\ndata: b\n\n", want: []SSEEvent{sseMsg("a\nb")}},
	{name: "fields/value-keeps-later-colons", input: "data: a:b: c\ndata::x\n\n", want: []SSEEvent{sseMsg("a:b: c\n:x")}},
	{name: "fields/no-colon-event-is-empty-type", input: "event: x\nevent\ndata: y\n\n", want: []SSEEvent{sseMsg("y")}},

	// Exactly one U+0020 removed after the colon, nothing else trimmed.
	{name: "space/wpt-format-leading-space", input: "data:\x20test\n\n", want: []SSEEvent{sseMsg("test")}},
	{name: "space/no-space", input: "data:x\n\n", want: []SSEEvent{sseMsg("x")}},
	{name: "space/two-spaces-keep-one", input: "data:  x\n\n", want: []SSEEvent{sseMsg(" x")}},
	{name: "space/tab-kept", input: "data:\tx\ndata: \ty\n\n", want: []SSEEvent{sseMsg("\tx\n\ty")}},
	{name: "space/nbsp-and-ideographic-kept", input: "data:\u00a0x\ndata: \u3000y\n\n", want: []SSEEvent{sseMsg("\u00a0x\n\u3000y")}},
	{name: "space/trailing-kept", input: "data: x  \ndata: \t\n\n", want: []SSEEvent{sseMsg("x  \n\t")}},
	{name: "space/only-one-space-value", input: "data: \n\ndata:  \n\n", want: []SSEEvent{sseMsg(""), sseMsg(" ")}},
	{name: "space/event-type-not-trimmed", input: "event:  stdout\ndata: a\n\nevent: stdout \ndata: b\n\nevent:\tstdout\ndata: c\n\n", want: []SSEEvent{sseTyped(" stdout", "a"), sseTyped("stdout ", "b"), sseTyped("\tstdout", "c")}},

	// Data buffer: joining, trailing LF, dispatch only with data.
	{name: "data/multi-line-join", input: "data: a\ndata: b\ndata: c\n\n", want: []SSEEvent{sseMsg("a\nb\nc")}},
	{name: "data/empty-first-line", input: "data:\ndata: b\n\n", want: []SSEEvent{sseMsg("\nb")}},
	{name: "data/empty-line-in-middle", input: "data: a\ndata:\ndata: b\n\n", want: []SSEEvent{sseMsg("a\n\nb")}},
	{name: "data/empty-last-line-keeps-lf", input: "data: a\ndata:\n\n", want: []SSEEvent{sseMsg("a\n")}},
	{name: "data/two-empty-lines", input: "data\ndata\n\n", want: []SSEEvent{sseMsg("\n")}},
	{name: "data/no-data-no-dispatch", input: "event: x\n\nid: 1\n\nretry: 5\n\n", retry: "5ms"},
	{name: "data/wpt-format-null-character", input: "data:\x00\n\n\n\n", want: []SSEEvent{sseMsg("\x00")}},
	{name: "data/leading-blank-lines", input: "\n\n\r\n\rdata: x\n\n\n\n", want: []SSEEvent{sseMsg("x")}},
	{name: "data/event-fields-after-data", input: "data: x\nevent: e\nid: 1\n\n", want: []SSEEvent{{Type: "e", Data: "x", ID: "1"}}},

	// Event type buffer.
	{name: "event/wpt-format-field-event", input: "event:test\ndata:x\n\ndata:x\n\n", want: []SSEEvent{sseTyped("test", "x"), sseMsg("x")}},
	{name: "event/wpt-format-field-event-empty", input: "event: \ndata:data\n\n", want: []SSEEvent{sseMsg("data")}},
	{name: "event/type-reset-by-empty-block", input: "event: x\n\ndata: y\n\n", want: []SSEEvent{sseMsg("y")}},
	{name: "event/last-one-wins", input: "event: a\nevent: b\ndata: x\n\n", want: []SSEEvent{sseTyped("b", "x")}},
	{name: "event/explicit-message", input: "event: message\ndata: x\n\n", want: []SSEEvent{sseMsg("x")}},
	{name: "event/custom-repeated", input: "event: ping\ndata: 1\n\nevent: ping\ndata: 2\n\nevent: pong\ndata: 3\n\n", want: []SSEEvent{sseTyped("ping", "1"), sseTyped("ping", "2"), sseTyped("pong", "3")}},
	{name: "event/all-interned-names", input: "event: started\ndata: a\n\nevent: stdout\ndata: b\n\nevent: stderr\ndata: c\n\nevent: stats\ndata: d\n\nevent: completed\ndata: e\n\nevent: error\ndata: f\n\n",
		want: []SSEEvent{sseTyped("started", "a"), sseTyped("stdout", "b"), sseTyped("stderr", "c"), sseTyped("stats", "d"), sseTyped("completed", "e"), sseTyped("error", "f")}},

	// Last event ID.
	{name: "id/wpt-format-field-id", input: "id: 1\ndata: x\n\nid\ndata: y\n\n", want: []SSEEvent{sseWithID(sseMsg("x"), "1"), sseMsg("y")}},
	{name: "id/persists", input: "id: 1\ndata: a\n\ndata: b\n\n", want: []SSEEvent{sseWithID(sseMsg("a"), "1"), sseWithID(sseMsg("b"), "1")}},
	{name: "id/empty-value-resets", input: "id: 1\ndata: a\n\nid:\ndata: b\n\nid: 2\ndata: c\n\nid: \ndata: d\n\n", want: []SSEEvent{sseWithID(sseMsg("a"), "1"), sseMsg("b"), sseWithID(sseMsg("c"), "2"), sseMsg("d")}},
	{name: "id/with-nul-ignored", input: "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\nid: \x00\ndata: c\n\n", want: []SSEEvent{sseWithID(sseMsg("a"), "1"), sseWithID(sseMsg("b"), "1"), sseWithID(sseMsg("c"), "1")}},
	{name: "id/set-by-block-without-data", input: "id: 5\n\ndata: a\n\n", want: []SSEEvent{sseWithID(sseMsg("a"), "5")}},
	{name: "id/not-trimmed", input: "id:  7 \ndata: a\n\n", want: []SSEEvent{sseWithID(sseMsg("a"), " 7 ")}},
	{name: "id/last-one-wins-in-block", input: "id: 1\nid: 2\ndata: a\n\n", want: []SSEEvent{sseWithID(sseMsg("a"), "2")}},
	{name: "id/invalid-utf8-replaced", input: "id: \xFFa\ndata: x\n\n", want: []SSEEvent{sseWithID(sseMsg("x"), "\uFFFDa")}},
	{name: "id/of-undispatched-last-block", input: "data: a\n\nid: 9\ndata: b\n", want: []SSEEvent{sseMsg("a")}},

	// Reconnection time.
	{name: "retry/wpt-format-field-retry", input: "retry:03000\ndata:x\n\n", want: []SSEEvent{sseMsg("x")}, retry: "3s"},
	{name: "retry/wpt-bogus-ignored", input: "retry:3000\nretry:1000x\ndata:x\n\n", want: []SSEEvent{sseMsg("x")}, retry: "3s"},
	{name: "retry/wpt-empty-ignored", input: "retry\ndata:test\n\nretry:\n", want: []SSEEvent{sseMsg("test")}},
	{name: "retry/not-digits-ignored", input: "retry:  5\nretry: +5\nretry: -1\nretry: 1_000\nretry: 1.5\nretry: 1e3\nretry: 0x10\nretry: 5 \nretry: \u0661\u0662\u0663\nretry: \uFF15\n"},
	{name: "retry/zero", input: "retry: 0\n", retry: "0s"},
	{name: "retry/without-dispatch", input: "retry: 7\n", retry: "7ms"},
	{name: "retry/in-undispatched-block", input: "data: a\nretry: 42\n", retry: "42ms"},
	{name: "retry/later-valid-wins", input: "retry: 1\nretry: 2000\nretry: x\n", retry: "2s"},
	{name: "retry/saturates", input: "retry: 99999999999999999999999\n", retry: "2562047h47m16.854775807s"},
	{name: "retry/largest-exact", input: "retry: 9223372036854\n", retry: "2562047h47m16.854s"},

	// End of stream.
	{name: "eof/unterminated-line", input: "data: a\n\ndata: b", want: []SSEEvent{sseMsg("a")}},
	{name: "eof/unclosed-block", input: "data: a\n\ndata: b\n", want: []SSEEvent{sseMsg("a")}},
	{name: "eof/unclosed-block-with-event", input: "event: x\ndata: y\n", want: nil},
	{name: "eof/cr-ends-line-but-not-block", input: "data: a\r", want: nil},
	{name: "eof/wpt-data-before-final-empty-line", input: "retry:1000\ndata:test1\n\nid:test\ndata:test2", want: []SSEEvent{sseMsg("test1")}, retry: "1s"},
	{name: "eof/empty", input: ""},

	// UTF-8 decoding, with the Encoding Standard's replacement rule.
	{name: "utf8/wpt-format-utf-8", input: "data:ok\xE2\x80\xA6\n\n", want: []SSEEvent{sseMsg("ok\u2026")}},
	{name: "utf8/multibyte-split-across-reads", input: "data: é€😀\n\n", chunks: []int{7, 1, 2, 3}, want: []SSEEvent{sseMsg("é€😀")}},
	{name: "utf8/invalid-byte", input: "data: a\xFFb\x80c\n\n", want: []SSEEvent{sseMsg("a\uFFFDb\uFFFDc")}},
	{name: "utf8/truncated-3-byte-is-one", input: "data: \xE2\x82A\n\n", want: []SSEEvent{sseMsg("\uFFFDA")}},
	{name: "utf8/truncated-at-line-end", input: "data: \xE2\x82\ndata: \xF0\x9F\x98\n\n", want: []SSEEvent{sseMsg("\uFFFD\n\uFFFD")}},
	{name: "utf8/truncated-4-byte-then-ascii", input: "data: \xF0\x9F\x98x\xF0\x9Fy\n\n", want: []SSEEvent{sseMsg("\uFFFDx\uFFFDy")}},
	{name: "utf8/c0-af-is-two", input: "data: \xC0\xAF\n\n", want: []SSEEvent{sseMsg("\uFFFD\uFFFD")}},
	{name: "utf8/surrogate-is-three", input: "data: \xED\xA0\x80\n\n", want: []SSEEvent{sseMsg("\uFFFD\uFFFD\uFFFD")}},
	{name: "utf8/overlong-e0-is-three", input: "data: \xE0\x80\x80\n\n", want: []SSEEvent{sseMsg("\uFFFD\uFFFD\uFFFD")}},
	{name: "utf8/f0-80-is-two", input: "data: \xF0\x80\n\n", want: []SSEEvent{sseMsg("\uFFFD\uFFFD")}},
	{name: "utf8/above-max-f4-90-is-four", input: "data: \xF4\x90\x80\x80\n\n", want: []SSEEvent{sseMsg("\uFFFD\uFFFD\uFFFD\uFFFD")}},
	{name: "utf8/f5-and-ff", input: "data: \xF5\xFF\xFE\n\n", want: []SSEEvent{sseMsg("\uFFFD\uFFFD\uFFFD")}},
	{name: "utf8/lead-then-lead", input: "data: \xE2\xE2\x82\xAC\n\n", want: []SSEEvent{sseMsg("\uFFFD€")}},
	{name: "utf8/max-code-points", input: "data: \xF4\x8F\xBF\xBF\xEF\xBF\xBD\xED\x9F\xBF\n\n", want: []SSEEvent{sseMsg("\U0010FFFF\uFFFD\uD7FF")}},
	{name: "utf8/invalid-split-across-reads", input: "data: \xE2\x82A\xF0\x9F\x98\n\n", chunks: []int{7, 1, 1}, want: []SSEEvent{sseMsg("\uFFFDA\uFFFD")}},
	{name: "utf8/latin1-bytes-are-not-latin1", input: "data: caf\xE9\n\n", want: []SSEEvent{sseMsg("caf\uFFFD")}},
	{name: "utf8/invalid-in-event-type", input: "event: \xFFx\ndata: y\n\n", want: []SSEEvent{sseTyped("\uFFFDx", "y")}},
	{name: "utf8/invalid-in-field-name", input: "dat\xE1: x\n\xE1data: y\ndata: z\n\n", want: []SSEEvent{sseMsg("z")}},

	// The shapes the server's framework (axum 0.7.9) emits: an "event: <type>" line, "data:"
	// lines, a blank line after each event, and ":" keep-alives between events.
	{name: "axum/started-json", input: "event: started\ndata: {\"pid\":12345}\n\n", want: []SSEEvent{sseTyped("started", `{"pid":12345}`)}},
	{name: "axum/stdout", input: "event: stdout\ndata: hello world\n\n", want: []SSEEvent{sseTyped("stdout", "hello world")}},
	{name: "axum/indented-stdout", input: "event: stdout\ndata:   x\n\nevent: stderr\ndata: \t\tTraceback\n\n", want: []SSEEvent{sseTyped("stdout", "  x"), sseTyped("stderr", "\t\tTraceback")}},
	{name: "axum/empty-output-line", input: "event: stdout\ndata:\n\nevent: stdout\ndata: \n\n", want: []SSEEvent{sseTyped("stdout", ""), sseTyped("stdout", "")}},
	{name: "axum/keep-alive-between-events", input: "event: stdout\ndata: a\n\n:\n\n:\n\nevent: stdout\ndata: b\n\n", want: []SSEEvent{sseTyped("stdout", "a"), sseTyped("stdout", "b")}},
	{name: "axum/whole-run", chunks: []int{13, 5, 64},
		input: "event: started\ndata: {\"pid\":7}\n\nevent: stdout\ndata: def f():\n\nevent: stdout\ndata:     return 1\n\nevent: stdout\ndata:\n\n:\n\nevent: stats\ndata: {\"memory_peak_bytes\":1,\"memory_current_bytes\":2,\"cpu_usage_usec\":3,\"io_read_bytes\":4,\"io_write_bytes\":5,\"pids_current\":6}\n\nevent: stderr\ndata: warn\n\nevent: completed\ndata: {\"exit_code\":0,\"duration_ms\":12,\"timed_out\":false,\"oom_killed\":false,\"memory_peak_bytes\":1,\"memory_current_bytes\":2,\"cpu_usage_usec\":3,\"pids_current\":0}\n\n",
		want: []SSEEvent{sseTyped("started", `{"pid":7}`), sseTyped("stdout", "def f():"), sseTyped("stdout", "    return 1"), sseTyped("stdout", ""),
			sseTyped("stats", `{"memory_peak_bytes":1,"memory_current_bytes":2,"cpu_usage_usec":3,"io_read_bytes":4,"io_write_bytes":5,"pids_current":6}`), sseTyped("stderr", "warn"),
			sseTyped("completed", `{"exit_code":0,"duration_ms":12,"timed_out":false,"oom_killed":false,"memory_peak_bytes":1,"memory_current_bytes":2,"cpu_usage_usec":3,"pids_current":0}`)}},
	{name: "axum/error-event", input: "event: started\ndata: {\"pid\":1}\n\nevent: error\ndata: {\"message\":\"spawn failed\"}\n\n", want: []SSEEvent{sseTyped("started", `{"pid":1}`), sseTyped("error", `{"message":"spawn failed"}`)}},
	{name: "axum/truncated-mid-stream", input: "event: stdout\ndata: a\n\nevent: stdout\ndata: 10%", want: []SSEEvent{sseTyped("stdout", "a")}},

	// The shortcut for whole axum frames; the first event makes sure the shortcut is armed.
	{name: "frame/consecutive", input: "event: stdout\ndata: a\n\nevent: stdout\ndata: b\n\nevent: x\ndata: c\n\n", want: []SSEEvent{sseTyped("stdout", "a"), sseTyped("stdout", "b"), sseTyped("x", "c")}},
	{name: "frame/cr-inside-name", input: "data: 0\n\nevent: a\rb\ndata: x\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("a", "x")}},
	{name: "frame/cr-inside-value", input: "data: 0\n\nevent: s\ndata: x\ry\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("s", "x")}},
	{name: "frame/cr-inside-value-after-crlf-event", input: "data: 0\r\n\r\nevent: s\ndata: x\ry\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("s", "x")}},
	{name: "frame/crlf-after-value", input: "data: 0\n\nevent: s\ndata: x\r\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("s", "x")}},
	{name: "frame/cr-blank-line", input: "data: 0\n\nevent: s\ndata: x\n\r\ndata: y\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("s", "x"), sseMsg("y")}},
	{name: "frame/cr-only-after-frame", input: "data: 0\n\nevent: s\ndata: x\n\n\rdata: y\r\r", want: []SSEEvent{sseMsg("0"), sseTyped("s", "x"), sseMsg("y")}},
	{name: "frame/second-data-line", input: "data: 0\n\nevent: s\ndata: x\ndata: y\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("s", "x\ny")}},
	{name: "frame/invalid-utf8-value", input: "data: 0\n\nevent: s\ndata: \xE2\x82x\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("s", "\uFFFDx")}},
	{name: "frame/invalid-utf8-name", input: "data: 0\n\nevent: \xFF\ndata: x\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("\uFFFD", "x")}},
	{name: "frame/empty-name-and-value", input: "data: 0\n\nevent: \ndata: \n\n", want: []SSEEvent{sseMsg("0"), sseMsg("")}},
	{name: "frame/spaces-and-colons-kept", input: "data: 0\n\nevent:  a:b \ndata:  v: \n\n", want: []SSEEvent{sseMsg("0"), sseTyped(" a:b ", " v: ")}},
	{name: "frame/unclosed-at-eof", input: "data: 0\n\nevent: s\ndata: x\n", want: []SSEEvent{sseMsg("0")}},
	{name: "frame/id-carries-over", input: "id: 7\ndata: 0\n\nevent: s\ndata: x\n\n", want: []SSEEvent{sseWithID(sseMsg("0"), "7"), sseWithID(sseTyped("s", "x"), "7")}},
	{name: "frame/first-frame-then-bom-is-content", input: "event: s\ndata: 1\n\n\uFEFFdata: 2\n\ndata: 3\n\n", want: []SSEEvent{sseTyped("s", "1"), sseMsg("3")}},
	// The output names matched by their whole line, and values long enough for the wide ASCII test.
	{name: "frame/output-names-exact", input: "data: 0\n\nevent: stdoutx\ndata: a\n\nevent: stderr \ndata: b\n\nevent: stderr\ndata: c\n\nevent: stdou\ndata: d\n\n",
		want: []SSEEvent{sseMsg("0"), sseTyped("stdoutx", "a"), sseTyped("stderr ", "b"), sseTyped("stderr", "c"), sseTyped("stdou", "d")}},
	{name: "frame/output-name-cr", input: "data: 0\n\nevent: stdout\r\ndata: a\n\nevent: stderr\rdata: b\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("stdout", "a"), sseTyped("stderr", "b")}},
	{name: "frame/long-ascii-value", input: "data: 0\n\nevent: stdout\ndata: 0123456789abcdef0123456789abcdefXYZ\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("stdout", "0123456789abcdef0123456789abcdefXYZ")}},
	{name: "frame/long-value-valid-utf8", input: "data: 0\n\nevent: stdout\ndata: 0123456789abcdef\u20ac\u00e9 ok\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("stdout", "0123456789abcdef\u20ac\u00e9 ok")}},
	{name: "frame/long-value-invalid-in-each-part", input: "data: 0\n\nevent: stderr\ndata: \xFF123456789abcdef0123456789abcdef\n\nevent: stderr\ndata: 0123456789abcdef\xE2\x82x0123456\n\nevent: stderr\ndata: 0123456789abcdef0123456789ab\xC3\n\n",
		want: []SSEEvent{sseMsg("0"), sseTyped("stderr", "\uFFFD123456789abcdef0123456789abcdef"), sseTyped("stderr", "0123456789abcdef\uFFFDx0123456"), sseTyped("stderr", "0123456789abcdef0123456789ab\uFFFD")}},
	{name: "frame/cr-inside-output-value", input: "data: 0\n\nevent: stdout\ndata: 10%\r20%\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("stdout", "10%")}},
	{name: "frame/event-without-data-then-frame", input: "data: 0\n\nevent: t\nevent: s\ndata: x\n\n", want: []SSEEvent{sseMsg("0"), sseTyped("s", "x")}},

	// Lines longer than the read buffer.
	{name: "long/200k-data-line", input: "event: stdout\ndata: " + strings.Repeat("0123456789", 20000) + "\n\ndata: after\n\n", chunks: []int{70000, 3},
		want: []SSEEvent{sseTyped("stdout", strings.Repeat("0123456789", 20000)), sseMsg("after")}},
	{name: "long/cr-on-buffer-boundary", input: "data: " + strings.Repeat("y", readBufferSize-7) + "\r\n\r\ndata: z\n\n",
		want: []SSEEvent{sseMsg(strings.Repeat("y", readBufferSize-7)), sseMsg("z")}},
	{name: "long/line-fills-buffer-exactly", input: "data: " + strings.Repeat("y", readBufferSize-6) + "\r\rdata: z\r\r",
		want: []SSEEvent{sseMsg(strings.Repeat("y", readBufferSize-6)), sseMsg("z")}},
	{name: "long/multi-line-event", input: strings.Repeat("data: "+strings.Repeat("q", 40000)+"\n", 5) + "\n",
		want: []SSEEvent{sseMsg(strings.TrimSuffix(strings.Repeat(strings.Repeat("q", 40000)+"\n", 5), "\n"))}},
}

func sseRepeatEvents(ev SSEEvent, n int) []SSEEvent {
	out := make([]SSEEvent, n)
	for i := range out {
		out[i] = ev
	}
	return out
}

// sseChunkReader returns data in reads of the given sizes, cycling through them. A size of 0 is a
// read of nothing (never twice in a row). With eofWithData the last read also returns end.
type sseChunkReader struct {
	data        []byte
	sizes       []int
	i           int
	eofWithData bool
	end         error // returned at the end; io.EOF when nil
	lastEmpty   bool
}

func (c *sseChunkReader) Read(p []byte) (int, error) {
	end := c.end
	if end == nil {
		end = io.EOF
	}
	if len(c.data) == 0 {
		return 0, end
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = c.sizes[c.i%len(c.sizes)]
		c.i++
		if n == 0 && c.lastEmpty {
			n = 1
		}
		c.lastEmpty = n == 0
	}
	n = copy(p, c.data[:min(n, len(c.data))])
	c.data = c.data[n:]
	if len(c.data) == 0 && c.eofWithData {
		return n, end
	}
	return n, nil
}

// sseReadAll reads events until Next fails, checks that the error is sticky, and returns both.
func sseReadAll(t testing.TB, r *SSEReader) ([]SSEEvent, error) {
	t.Helper()
	var evs []SSEEvent
	for {
		ev, err := r.Next()
		if err != nil {
			if _, again := r.Next(); again != err {
				t.Errorf("Next after %v returned %v; want the same error again", err, again)
			}
			return evs, err
		}
		evs = append(evs, ev)
	}
}

var errSSEStop = errors.New("test: no more bytes yet")

// sseReadMode is one way of feeding a conformance case to the reader. A mode with stop ends the
// input with errSSEStop instead of io.EOF, so a reader that waited for the byte after a final CR
// (or for EOF) before dispatching would miss events.
type sseReadMode struct {
	name string
	r    io.Reader
	stop bool
}

func sseReadModes(c sseCase) []sseReadMode {
	in := []byte(c.input)
	modes := []sseReadMode{
		{"whole", strings.NewReader(c.input), false},
		{"one-byte", iotest.OneByteReader(strings.NewReader(c.input)), false},
		{"one-byte-eof-with-data", iotest.DataErrReader(iotest.OneByteReader(strings.NewReader(c.input))), false},
		{"half", iotest.HalfReader(strings.NewReader(c.input)), false},
		{"whole-then-stop", &sseChunkReader{data: in, end: errSSEStop, eofWithData: true}, true},
		{"one-byte-then-stop", &sseChunkReader{data: in, sizes: []int{1}, end: errSSEStop}, true},
	}
	if c.chunks != nil {
		modes = append(modes,
			sseReadMode{"chunks", &sseChunkReader{data: in, sizes: c.chunks}, false},
			sseReadMode{"chunks-with-empty-reads-then-stop", &sseChunkReader{data: in, sizes: append([]int{0}, c.chunks...), end: errSSEStop}, true})
	}
	return modes
}

func TestSSEReaderConformance(t *testing.T) {
	t.Parallel()
	for _, c := range sseCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var wantRetry time.Duration
			if c.retry != "" {
				var err error
				if wantRetry, err = time.ParseDuration(c.retry); err != nil {
					t.Fatalf("bad retry in table: %v", err)
				}
			}
			// The fuzz test's reference must agree with the table, or it proves nothing.
			if ref, d, ok := sseReference([]byte(c.input)); !reflect.DeepEqual(ref, c.want) ||
				d != wantRetry || ok != (c.retry != "") {
				t.Errorf("reference parser: events %s, retry %v %v", sseDescribe(ref), d, ok)
			}
			for _, m := range sseReadModes(c) {
				r := NewSSEReader(m.r)
				got, err := sseReadAll(t, r)
				var want error = io.EOF
				if m.stop {
					want = errSSEStop
				}
				if err != want {
					t.Errorf("%s: final error %v, want %v", m.name, err, want)
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s: events\n got %s\nwant %s", m.name, sseDescribe(got), sseDescribe(c.want))
				}
				if d, ok := r.reconnectTime(); ok != (c.retry != "") || d != wantRetry {
					t.Errorf("%s: reconnectTime() = %v, %v; want %v, %v", m.name, d, ok, wantRetry, c.retry != "")
				}
			}
		})
	}
}

// sseDescribe prints events compactly, shortening long data so failures stay readable.
func sseDescribe(evs []SSEEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		d := ev.Data
		if len(d) > 80 {
			d = fmt.Sprintf("%s…(%d bytes)", d[:40], len(d))
		}
		fmt.Fprintf(&b, "{%q %q id=%q} ", ev.Type, d, ev.ID)
	}
	if len(evs) == 0 {
		return "(none)"
	}
	return b.String()
}

// sseRepeatReader yields an endless run of one byte.
type sseRepeatReader byte

func (b sseRepeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// sseSized streams prefix, then n copies of fill, then suffix, without building the bytes.
func sseSized(prefix string, fill byte, n int64, suffix string) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), io.LimitReader(sseRepeatReader(fill), n), strings.NewReader(suffix))
}

// sseManyLines streams n lines "data: zzz…\n" that each add 1024 bytes to the data buffer.
func sseManyLines(n int) io.Reader {
	line := []byte("data: " + strings.Repeat("z", 1023) + "\n")
	return &sseCycleReader{tmpl: line, left: int64(n * len(line))}
}

func TestSSEReaderSizeLimit(t *testing.T) {
	t.Parallel()
	const limit = 16 << 20
	tests := []struct {
		name    string
		r       io.Reader
		wantN   int // events before the error
		wantLen int // length of the last event's data
		wantErr error
	}{
		{name: "comment-line-exactly-16MiB", r: sseSized(":", 'x', limit-1, "\ndata: ok\n\n"), wantN: 1, wantLen: 2, wantErr: io.EOF},
		{name: "comment-line-16MiB+1", r: sseSized(":", 'x', limit, "\ndata: ok\n\n"), wantErr: ErrEventTooLarge},
		{name: "unterminated-line-16MiB+1", r: sseSized("", 'x', limit+1, ""), wantErr: ErrEventTooLarge},
		{name: "data-line-exactly-16MiB", r: sseSized("data:", 'x', limit-5, "\n\n"), wantN: 1, wantLen: limit - 5, wantErr: io.EOF},
		{name: "data-line-16MiB+1", r: sseSized("data:", 'x', limit-4, "\n\n"), wantErr: ErrEventTooLarge},
		{name: "data-exactly-16MiB-over-two-lines", r: io.MultiReader(sseSized("data:", 'x', limit/2, "\n"), sseSized("data:", 'y', limit/2-1, "\n\n")), wantN: 1, wantLen: limit, wantErr: io.EOF},
		{name: "data-16MiB+1-over-two-lines", r: io.MultiReader(sseSized("data:", 'x', limit/2, "\n"), sseSized("data:", 'y', limit/2, "\n\n")), wantErr: ErrEventTooLarge},
		{name: "data-over-limit-after-replacement", r: io.MultiReader(sseSized("data:", 'x', limit-10, "\n"), strings.NewReader("data:\xFF\xFF\xFF\xFF\n\n")), wantErr: ErrEventTooLarge},
		{name: "many-lines-16MiB-less-one", r: io.MultiReader(sseManyLines(limit/1024), strings.NewReader("\n")), wantN: 1, wantLen: limit - 1, wantErr: io.EOF},
		{name: "many-lines-then-one-byte-too-many", r: io.MultiReader(sseManyLines(limit/1024), strings.NewReader("data: a\nevent: s\ndata: x\n\n")), wantErr: ErrEventTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewSSEReader(tt.r)
			evs, err := sseReadAll(t, r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if len(evs) != tt.wantN {
				t.Fatalf("%d events before the error, want %d", len(evs), tt.wantN)
			}
			if tt.wantN > 0 && len(evs[len(evs)-1].Data) != tt.wantLen {
				t.Fatalf("last event has %d bytes of data, want %d", len(evs[len(evs)-1].Data), tt.wantLen)
			}
		})
	}
}

// sseCycleReader yields tmpl over and over until total bytes have been read.
type sseCycleReader struct {
	tmpl []byte
	off  int
	left int64
}

func (c *sseCycleReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n := 0
	for n < len(p) {
		k := copy(p[n:], c.tmpl[c.off:])
		n += k
		c.off = (c.off + k) % len(c.tmpl)
	}
	c.left -= int64(n)
	return n, nil
}

func TestSSEReaderBoundedMemory(t *testing.T) {
	// Not parallel: it measures the heap. Two measures, so that GC pacing on a busy machine
	// cannot make it flaky while a reader that kept what it read still fails: the heap that
	// survives a collection must stay flat, and the peak heap in use must stay far below the
	// size of the stream.
	tmpl, perTmpl := sseBenchStream(200)
	const total = 256 << 20
	repeats := int64(total / len(tmpl))
	r := NewSSEReader(&sseCycleReader{tmpl: tmpl, left: repeats * int64(len(tmpl))})

	var ms runtime.MemStats
	base := liveHeap(&ms)
	baseInuse, peakInuse := ms.HeapInuse, ms.HeapInuse
	n := 0
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n++; n%(1<<17) == 0 {
			runtime.ReadMemStats(&ms)
			peakInuse = max(peakInuse, ms.HeapInuse)
		}
		if n%(1<<19) == 0 {
			if grown := int64(liveHeap(&ms)) - int64(base); grown > 1<<20 {
				t.Fatalf("after %d events the live heap has grown by %d bytes; want under 1 MiB (last event %d bytes)", n, grown, len(ev.Data))
			}
		}
	}
	if want := int(repeats) * perTmpl; n != want {
		t.Fatalf("read %d events, want %d", n, want)
	}
	if grown := peakInuse - baseInuse; grown > 32<<20 {
		t.Fatalf("heap in use grew by %d bytes while streaming %d MiB; want under 32 MiB", grown, total>>20)
	}
}

// sseFailAfter returns data, then err: with n > 0 on the same read when together is set.
type sseFailAfter struct {
	data     string
	err      error
	together bool
}

func (f *sseFailAfter) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	if f.data == "" && f.together {
		return n, f.err
	}
	return n, nil
}

// sseReadOnce returns all of data together with err, and fails the test if read again.
type sseReadOnce struct {
	t    *testing.T
	data string
	err  error
	done bool
}

func (o *sseReadOnce) Read(p []byte) (int, error) {
	if o.done {
		o.t.Error("Read called again after it returned an error")
		return 0, errors.New("read again")
	}
	o.done = true
	return copy(p, o.data), o.err
}

type sseZeroReader struct{}

func (sseZeroReader) Read([]byte) (int, error) { return 0, nil }

type sseLiarReader struct{}

func (sseLiarReader) Read(p []byte) (int, error) { return len(p) + 1, nil }

func TestSSEReaderSourceErrors(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		r       io.Reader
		want    []SSEEvent
		wantErr error
	}{
		{name: "error-after-events", r: &sseFailAfter{data: "data: a\n\ndata: b\n\ndata: partial\n", err: errBoom}, want: []SSEEvent{sseMsg("a"), sseMsg("b")}, wantErr: errBoom},
		{name: "error-with-last-bytes", r: &sseFailAfter{data: "data: a\n\ndata: b\n\n", err: errBoom, together: true}, want: []SSEEvent{sseMsg("a"), sseMsg("b")}, wantErr: errBoom},
		{name: "eof-with-data-read-once", r: &sseReadOnce{data: "data: a\n\ndata: b\n\n", err: io.EOF}, want: []SSEEvent{sseMsg("a"), sseMsg("b")}, wantErr: io.EOF},
		{name: "error-with-data-read-once", r: &sseReadOnce{data: "data: a\n\ndata: b\n", err: errBoom}, want: []SSEEvent{sseMsg("a")}, wantErr: errBoom},
		{name: "error-before-any-byte", r: iotest.ErrReader(errBoom), wantErr: errBoom},
		{name: "unexpected-eof", r: &sseFailAfter{data: "data: a\n\n", err: io.ErrUnexpectedEOF}, want: []SSEEvent{sseMsg("a")}, wantErr: io.ErrUnexpectedEOF},
		{name: "timeout", r: iotest.TimeoutReader(strings.NewReader("data: a\n\ndata: b\n\n")), want: []SSEEvent{sseMsg("a"), sseMsg("b")}, wantErr: iotest.ErrTimeout},
		{name: "no-progress", r: sseZeroReader{}, wantErr: io.ErrNoProgress},
		{name: "impossible-count", r: sseLiarReader{}, wantErr: errBadReadCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if o, ok := tt.r.(*sseReadOnce); ok {
				o.t = t
			}
			got, err := sseReadAll(t, NewSSEReader(tt.r))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events\n got %s\nwant %s", sseDescribe(got), sseDescribe(tt.want))
			}
		})
	}
}
