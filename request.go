package agentjail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// route is the escaped path of a request below the base URL, or why it could not be
// built: the helper returns err before any I/O.
type route struct {
	escaped string // e.g. "/v1/sessions/sess_1"
	err     error  // an invalid ID, matching ErrInvalidParams
}

// path returns the route of a collection, e.g. "/v1/sessions", or of one resource in it
// when an ID follows, then the literal segments after the ID ("exec", "manifest"). The
// ID is path-escaped, so a "/" or "?" in it stays inside its segment; an ID that is
// empty, "." or ".." would still name another resource, so it is refused.
func path(collection string, idThenSub ...string) route {
	if len(idThenSub) == 0 {
		return route{escaped: collection}
	}
	id, sub := idThenSub[0], idThenSub[1:]
	if err := checkID(strings.TrimSuffix(collection[strings.LastIndexByte(collection, '/')+1:], "s"), id); err != nil {
		return route{err: err}
	}
	// One concatenation either way (Join of one segment returns it without allocating).
	if len(sub) == 0 {
		return route{escaped: collection + "/" + url.PathEscape(id)}
	}
	return route{escaped: collection + "/" + url.PathEscape(id) + "/" + strings.Join(sub, "/")}
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
	path   route
	query  queryParams // nil, or what renders the parameters that are set
	body   any         // JSON request body, or a bodyParams that builds it; POST and PATCH send {} when nil
	public bool        // no Authorization header (/healthz, /v1/stats)
	stream bool        // Accept text/event-stream; the 2xx response is handed back unread
	secret string      // a secret the body carries, kept out of every error like the API key
}

// bodyParams is a params type that builds its own JSON body: zero fields left out,
// durations rounded, and invalid values refused with ErrInvalidParams.
type bodyParams interface {
	body() (any, error)
}

// queryParams is a params type that renders its own query, leaving out what is not
// set and refusing invalid values with ErrInvalidParams.
type queryParams interface {
	query() (url.Values, error)
}

// contextError reports that the caller's context ended the call: it matches
// context.Canceled or context.DeadlineExceeded, never ErrNetwork.
func (r call) contextError(err error) error {
	return fmt.Errorf("agentjail: %s %s: %w", r.method, r.path.escaped, err)
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

// doSlice is do for the routes that answer a JSON array: it returns the decoded elements.
func doSlice[T any](ctx context.Context, c *Client, r call) ([]T, error) {
	var out []T
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// send is do for callers that need the response itself (streams) and the number of
// attempts it took. For a stream, the returned response's body is open and belongs to
// the caller.
func (c *Client) send(ctx context.Context, r call, out any) (*http.Response, int, error) {
	target, body, err := c.prepare(ctx, r)
	if err != nil {
		return nil, 0, err
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
				slog.String("method", r.method), slog.String("path", r.path.escaped),
				slog.Int("attempt", attempt), slog.Int("status", apiErr.StatusCode),
				slog.Duration("wait", wait))
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, attempt, fmt.Errorf("%w (after %d attempts, last error: %s)",
				r.contextError(err), attempt, apiErr.Error())
		}
	}
}

// prepare checks everything the caller passed, before any I/O, and renders the URL and
// the body every attempt sends.
func (c *Client) prepare(ctx context.Context, r call) (target string, body []byte, err error) {
	if err := ctxCheck(ctx); err != nil {
		return "", nil, err
	}
	if r.path.err != nil {
		return "", nil, r.path.err
	}
	target = c.base + r.path.escaped
	if r.query != nil {
		q, err := r.query.query()
		if err != nil {
			return "", nil, err
		}
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
	}
	v := r.body
	if p, ok := v.(bodyParams); ok {
		if v, err = p.body(); err != nil {
			return "", nil, err
		}
	}
	if v != nil || r.method == http.MethodPost || r.method == http.MethodPatch {
		if body, err = encodeBody(v); err != nil {
			return "", nil, err
		}
	}
	return target, body, nil
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
		return nil, 0, invalidf("building request: %v", maskURLError(err))
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
		return nil, 0, networkError(maskURLError(err), c.secrets(r)...)
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

// maskURLError masks the user information in the URL of err when err is a *url.Error,
// as net/http returns them with the URL whole or only its password masked: a user name
// can be a token too. (A wrapping error has its text already fixed, so only err itself
// is looked at.)
func maskURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		ue.URL = maskUserinfo(ue.URL)
	}
	return err
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

// logAttempt writes the per-attempt debug record: never headers or bodies.
func (c *Client) logAttempt(ctx context.Context, r call, status, attempt int, took time.Duration) {
	if c.logger == nil || !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "agentjail: request",
		slog.String("method", r.method), slog.String("path", r.path.escaped),
		slog.Int("status", status), slog.Int("attempt", attempt), slog.Duration("duration", took))
}
