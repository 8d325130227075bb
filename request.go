package agentjail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// path returns the escaped path of one resource: "/v1/<collection>/<id>", followed by
// the literal segments of sub ("exec", "manifest", …). The ID is path-escaped, so a "/"
// or "?" in it stays inside its segment; an ID that is empty, "." or ".." would still
// name another resource, so it is rejected with ErrInvalidParams before any I/O.
func path(collection, id string, sub ...string) (string, error) {
	if err := checkID(strings.TrimSuffix(collection, "s"), id); err != nil {
		return "", err
	}
	p := "/v1/" + collection + "/" + url.PathEscape(id)
	for _, s := range sub {
		p += "/" + s
	}
	return p, nil
}

// checkID refuses an ID that is empty or would change the path it is escaped into.
func checkID(what, id string) error {
	if id == "" || id == "." || id == ".." {
		return invalidf("%s ID %q is not valid", what, id)
	}
	return nil
}

// ctxCheck rejects a nil context before any work is done.
func ctxCheck(ctx context.Context) error {
	if ctx == nil {
		return invalidf("nil context")
	}
	return nil
}

// call describes one API request for the request helper.
type call struct {
	method string
	path   string     // escaped path below the base URL, e.g. "/v1/sessions/sess_1"
	query  url.Values // nil or only the parameters that are set
	body   any        // JSON request body; POST and PATCH send {} when nil
	public bool       // no Authorization header (/healthz, /v1/stats)
	stream bool       // Accept text/event-stream; the 2xx response is handed back unread
	secret string     // a secret the body carries, kept out of every error like the API key
}

// contextError reports that the caller's context ended the call: it matches
// context.Canceled or context.DeadlineExceeded, never ErrNetwork.
func (r call) contextError(err error) error {
	return fmt.Errorf("agentjail: %s %s: %w", r.method, r.path, err)
}

// do sends c with the retry policy and decodes a 2xx JSON body into out (out may be nil:
// the body is then ignored; otherwise an empty or null body is an error). Every service method goes through here.
func (c *Client) do(ctx context.Context, r call, out any) error {
	_, _, err := c.send(ctx, r, out)
	return err
}

// doJSON is do for the common case: it returns the decoded 2xx body as a new *T.
func doJSON[T any](ctx context.Context, c *Client, r call) (*T, error) {
	var out T
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// send is do for callers that need the response itself (streams) and the number of
// attempts it took. For a stream, the returned response's body is open and belongs to
// the caller.
func (c *Client) send(ctx context.Context, r call, out any) (*http.Response, int, error) {
	if err := ctxCheck(ctx); err != nil {
		return nil, 0, err
	}
	var body []byte
	if r.body != nil || r.method == http.MethodPost || r.method == http.MethodPatch {
		var err error
		if body, err = encodeBody(r.body); err != nil {
			return nil, 0, err
		}
	}
	target := c.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		resp, status, err := c.attempt(ctx, r, target, body, out)
		c.logAttempt(ctx, r, status, attempt, time.Since(start))
		if err == nil {
			return resp, attempt, nil
		}
		apiErr, ok := err.(*Error)
		if !ok { // context errors and the like end the call as they are
			return nil, attempt, err
		}
		apiErr.Attempts = attempt
		if attempt > c.maxRetries || !c.retryable(r, apiErr) {
			return nil, attempt, apiErr
		}
		wait := c.backoff(attempt, apiErr.retryAfter)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return nil, attempt, apiErr // the next attempt could not start before the deadline
		}
		if c.logger != nil {
			c.logger.LogAttrs(ctx, slog.LevelWarn, "agentjail: retrying request",
				slog.String("method", r.method), slog.String("path", r.path),
				slog.Int("attempt", attempt), slog.Int("status", apiErr.StatusCode),
				slog.Duration("wait", wait))
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, attempt, fmt.Errorf("%w (after %d attempts, last error: %s)",
				r.contextError(err), attempt, apiErr.Error())
		}
	}
}

// attempt makes one HTTP request and reports the status it got (0 for none). It returns
// a *Error for anything the retry policy may look at, and a plain wrapped error when the
// context ended.
func (c *Client) attempt(ctx context.Context, r call, target string, body []byte, out any) (*http.Response, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return nil, 0, invalidf("building request: %v", err)
	}
	for k, v := range c.headers {
		req.Header[k] = v[:len(v):len(v)] // full slice: an append elsewhere cannot write into ours
	}
	req.Header["User-Agent"] = c.userAgent
	if r.stream {
		req.Header["Accept"] = mediaSSE
	} else {
		req.Header["Accept"] = mediaJSON
	}
	if body != nil {
		req.Header["Content-Type"] = mediaJSON
	}
	if c.auth != nil && !r.public {
		req.Header["Authorization"] = c.auth()
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, 0, r.contextError(ctxErr)
		}
		return nil, 0, networkError(err, c.secrets(r)...)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Read a little more than is kept, so that a secret cut by the limit is still
		// recognised and scrubbed. A body cut short keeps its status: the policy decides
		// on that; a body cut by the context ends the call with the context's error.
		b, err := io.ReadAll(io.LimitReader(resp.Body, int64(maxErrorBody+scrubMargin)))
		discard(resp.Body)
		if ctxErr := ctx.Err(); err != nil && ctxErr != nil {
			return nil, resp.StatusCode, r.contextError(ctxErr)
		}
		return nil, resp.StatusCode, c.statusError(r, resp, b)
	}
	if r.stream {
		return resp, resp.StatusCode, nil
	}
	defer discard(resp.Body)
	if err := decodeBody(resp.Body, out); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, resp.StatusCode, r.contextError(ctxErr)
		}
		var cut *bodyReadError
		if errors.As(err, &cut) {
			return nil, resp.StatusCode, networkError(cut.err, c.secrets(r)...)
		}
		return nil, resp.StatusCode, &Error{StatusCode: resp.StatusCode, Code: CodeUnknown,
			Message: truncate(scrubString("malformed response body: "+err.Error(), c.secrets(r)...)), err: err}
	}
	return nil, resp.StatusCode, nil
}

// secrets returns what must never appear in an error of r: the API key and the secret
// its body carries, if any (a server or proxy may echo either back).
func (c *Client) secrets(r call) []string {
	return []string{c.apiKey(), r.secret}
}

// Header values shared by every request (never modified).
var (
	mediaJSON = []string{"application/json"}
	mediaSSE  = []string{"text/event-stream"}
)

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
	tr := trackingReader{r: body}
	if raw, ok := out.(*[]byte); ok {
		b, err := io.ReadAll(io.LimitReader(&tr, maxErrorBody))
		if err != nil {
			return &bodyReadError{err}
		}
		*raw = b
		return nil
	}
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

// logAttempt writes the per-attempt debug record: never headers or bodies.
func (c *Client) logAttempt(ctx context.Context, r call, status, attempt int, took time.Duration) {
	if c.logger == nil || !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "agentjail: request",
		slog.String("method", r.method), slog.String("path", r.path),
		slog.Int("status", status), slog.Int("attempt", attempt), slog.Duration("duration", took))
}
