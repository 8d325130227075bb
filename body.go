package agentjail

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// The JSON bodies of requests and responses: encoded once per call, decoded streaming,
// and drained so that connections are reused.

// encodeBody renders a request body once, so that every attempt sends the same bytes.
func encodeBody(v any) ([]byte, error) {
	if v == nil {
		return []byte("{}"), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, invalidf("encoding request body: %v", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// bodyReadError marks a failure to read the response body (as opposed to bad JSON in it).
type bodyReadError struct{ err error }

// Error returns the read error's text.
func (e *bodyReadError) Error() string { return e.err.Error() }

// Unwrap returns the transport's read error.
func (e *bodyReadError) Unwrap() error { return e.err }

// trackingReader counts the bytes read from the body, and remembers its first byte that
// is not JSON whitespace, whether it ended, and its first read error other than io.EOF.
type trackingReader struct {
	r     io.Reader
	n     int64
	first byte
	eof   bool
	err   error
}

// Read reads from the body, keeping count.
func (t *trackingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.n += int64(n)
	for i := 0; t.first == 0 && i < n; i++ {
		if !isJSONSpace(p[i]) {
			t.first = p[i]
		}
	}
	switch {
	case err == io.EOF:
		t.eof = true
	case err != nil && t.err == nil:
		t.err = err
	}
	return n, err
}

// decodeBody decodes a 2xx body into out, streaming. A body that is empty or JSON null is
// an error: out would keep a zero value that looks real.
// When out is a *[]byte it receives the raw body (at most maxErrorBody bytes).
func decodeBody(body io.Reader, out any) error {
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		b, err := io.ReadAll(io.LimitReader(body, maxErrorBody))
		if err != nil {
			return &bodyReadError{err}
		}
		*raw = b
		return nil
	}
	tr := trackingReader{r: body}
	dec := json.NewDecoder(&tr)
	err := dec.Decode(out)
	switch {
	case tr.err != nil:
		return &bodyReadError{tr.err}
	case err == io.EOF, err == nil && tr.first == 'n':
		// An empty body, or null, would leave out as a zero value that looks real.
		return errNoValue
	case err != nil:
		return err
	}
	// Only JSON whitespace may follow the value, or the body was not one JSON document (two
	// of them, or a proxy's page appended). The decoder has usually seen the end of the body
	// already, so only what it buffered is looked at, without copying. Otherwise at most
	// maxTrailing more bytes are read, and a read error there is ignored: the value itself
	// was complete.
	if tr.n > dec.InputOffset() {
		if _, err := io.Copy(whitespaceOnly{}, dec.Buffered()); err != nil {
			return err
		}
	}
	if !tr.eof {
		_, err := io.CopyBuffer(whitespaceOnly{}, io.LimitReader(body, maxTrailing), make([]byte, 512))
		if errors.Is(err, errTrailingData) {
			return err
		}
	}
	return nil
}

// maxTrailing bounds how much of the body after a decoded JSON value is inspected.
const maxTrailing = 64 << 10

// errTrailingData reports a 2xx body with more than one JSON value in it.
var errTrailingData = errors.New("unexpected data after the JSON value")

// errNoValue reports a 2xx body that is empty or JSON null where a value was expected.
var errNoValue = errors.New("no JSON value (an empty body or null)")

// isJSONSpace reports whether b is one of the four whitespace bytes JSON allows.
func isJSONSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r'
}

// whitespaceOnly is a writer that accepts JSON whitespace and fails on anything else.
type whitespaceOnly struct{}

// Write returns errTrailingData if p holds anything but JSON whitespace.
func (whitespaceOnly) Write(p []byte) (int, error) {
	for _, b := range p {
		if !isJSONSpace(b) {
			return 0, errTrailingData
		}
	}
	return len(p), nil
}

// discard drains a bounded amount of an unwanted body so the connection can be reused,
// then closes it.
func discard(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 256<<10)
	_ = body.Close()
}
