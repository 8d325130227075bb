package agentjail

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrorCode classifies an Error. Compare it with the Code constants, or match an error
// with errors.Is and the Err sentinels.
type ErrorCode string

// The error codes, derived from the HTTP status (see Error).
const (
	CodeBadRequest   ErrorCode = "BAD_REQUEST"  // 400 and every other 4xx not listed below (413, 415, 422, …)
	CodeUnauthorized ErrorCode = "UNAUTHORIZED" // 401: missing or invalid API key
	CodeForbidden    ErrorCode = "FORBIDDEN"    // 403
	CodeNotFound     ErrorCode = "NOT_FOUND"    // 404, also for another tenant's resources
	CodeConflict     ErrorCode = "CONFLICT"     // 409, e.g. an exec already in flight on a workspace
	CodeRateLimited  ErrorCode = "RATE_LIMITED" // 429
	CodeTimeout      ErrorCode = "TIMEOUT"      // 408 and 504
	CodeServerError  ErrorCode = "SERVER_ERROR" // every other 5xx
	CodeNetwork      ErrorCode = "NETWORK"      // no HTTP response: the connection failed or broke
	CodeUnknown      ErrorCode = "UNKNOWN"      // anything else, e.g. a 2xx whose body is not one JSON value, or is empty or null
)

// codeForStatus maps an HTTP status to its ErrorCode.
func codeForStatus(status int) ErrorCode {
	switch {
	case status == 408 || status == 504:
		return CodeTimeout
	case status == 429:
		return CodeRateLimited
	case status == 400:
		return CodeBadRequest
	case status == 401:
		return CodeUnauthorized
	case status == 403:
		return CodeForbidden
	case status == 404:
		return CodeNotFound
	case status == 409:
		return CodeConflict
	case status >= 500 && status <= 599:
		return CodeServerError
	case status >= 400 && status <= 499:
		return CodeBadRequest
	}
	return CodeUnknown
}

// Error is the error returned for every failed call that reached the network: a non-2xx
// response, a transport failure (StatusCode 0, Code CodeNetwork, the cause reachable
// with errors.Unwrap) or a 2xx response that could not be decoded. Match it with
// errors.As, or match its Code with errors.Is and the Err sentinels. Its text never
// contains the API key or the request body.
type Error struct {
	StatusCode int       // HTTP status; 0 for transport failures
	Code       ErrorCode // classification of StatusCode, see the Code constants
	Message    string    // the JSON "error" field, else the plain-text body, else the status text; at most 1 KiB
	Body       []byte    // raw response body, at most 64 KiB kept
	Attempts   int       // requests made, retries included (1 when nothing was retried)

	err        error         // transport or decoding cause
	retryAfter time.Duration // the server's Retry-After hint, if any
	hint       string        // what to change in the client's set-up, if that is the likely cause
}

// Error returns "agentjail <status>: <message>", or "agentjail: <message>" when no
// response was received. When the client's own set-up is the likely cause, a hint
// follows in parentheses: a base URL ending in /v1 (the SDK adds /v1 itself) on a 404,
// or an API key in the server's token@tenant:role form on a 401. The text is one line:
// runs of whitespace and control characters in the message (a proxy's HTML page, say)
// become a single space.
func (e *Error) Error() string {
	if e.StatusCode == 0 {
		return "agentjail: " + oneLine(e.Message)
	}
	text := "agentjail " + strconv.Itoa(e.StatusCode) + ": " + oneLine(e.Message)
	if e.hint != "" {
		text += " (" + e.hint + ")"
	}
	return text
}

// oneLine replaces each run of whitespace and control characters in s with one space.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isBreak) {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, isBreak), " ")
}

func isBreak(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// Unwrap returns the transport or decoding error behind e, if any.
func (e *Error) Unwrap() error { return e.err }

// Is reports whether target is the sentinel of e's Code (ErrNotFound for CodeNotFound…).
func (e *Error) Is(target error) bool {
	s, ok := target.(*sentinel)
	return ok && s.code != "" && s.code == e.Code
}

// GoString keeps %#v to the same redacted, bounded text as Error.
func (e *Error) GoString() string { return "&agentjail.Error{" + strconv.Quote(e.Error()) + "}" }

// sentinel is the type of the Err variables; an *Error matches the one of its Code.
type sentinel struct {
	code ErrorCode
	msg  string
}

// Error returns the sentinel's fixed text.
func (s *sentinel) Error() string { return s.msg }

// Sentinels for errors.Is. An *Error matches the sentinel of its Code, so
// errors.Is(err, ErrNotFound) holds for every 404. The control plane itself answers
// only 400, 401, 404, 405, 409, 413, 415, 422 and 500; the other statuses come from a
// proxy, gateway or load balancer in front of it.
var (
	// ErrBadRequest is matched by a 400 and by every other 4xx without a sentinel of its
	// own: 405, 413 (the request is over 1 MiB), 415 and 422 (JSON of the wrong shape).
	// The server also answers 400 for "too many concurrent executions", which is worth
	// retrying later, and for a session asking for a service that has no credential.
	ErrBadRequest error = &sentinel{CodeBadRequest, "agentjail: bad request"}

	// ErrUnauthorized is matched by a 401: no API key was sent ("missing api key") or
	// the server does not know it ("invalid api key"). Check WithAPIKey or
	// $AGENTJAIL_API_KEY, which hold only the token part of the server's
	// token@tenant:role entry.
	ErrUnauthorized error = &sentinel{CodeUnauthorized, "agentjail: unauthorized"}

	// ErrForbidden is matched by a 403. The control plane never sends one; a proxy in
	// front of it may, and the local fake does for a Host header that is not loopback.
	ErrForbidden error = &sentinel{CodeForbidden, "agentjail: forbidden"}

	// ErrNotFound is matched by a 404: the ID does not exist, was deleted or closed, or
	// belongs to another tenant (the server does not tell these apart). A 404 with an
	// empty body (Message "Not Found") means the route itself is unknown, for example
	// because the base URL already ends in /v1.
	ErrNotFound error = &sentinel{CodeNotFound, "agentjail: not found"}

	// ErrConflict is matched by a 409: another exec is still running in the same
	// workspace. Wait for it to finish, then call again.
	ErrConflict error = &sentinel{CodeConflict, "agentjail: conflict"}

	// ErrRateLimited is matched by a 429 from a proxy in front of the server. Calls are
	// retried on it (see WithMaxRetries), following its Retry-After.
	ErrRateLimited error = &sentinel{CodeRateLimited, "agentjail: rate limited"}

	// ErrTimeout is matched by a 408 or 504 from a proxy in front of the server. It is
	// not a cancelled context (that matches context.DeadlineExceeded) and not a run that
	// hit its own Timeout (that is a result with TimedOut set).
	ErrTimeout error = &sentinel{CodeTimeout, "agentjail: timeout"}

	// ErrServerError is matched by a 5xx other than 504. The control plane's own 500
	// always reads "internal server error": the cause is only in the server's log.
	ErrServerError error = &sentinel{CodeServerError, "agentjail: server error"}

	// ErrNetwork is matched when no HTTP response arrived: the connection was refused or
	// reset, DNS failed, TLS failed, or a stream broke off. errors.Unwrap on the *Error
	// gives the cause.
	ErrNetwork error = &sentinel{CodeNetwork, "agentjail: network error"}

	// ErrInvalidParams is matched by errors returned before any request is sent because
	// the arguments cannot be valid: an empty, "." or ".." ID, a fork without a child or
	// with both child forms, more than 16 children, a workspace fork Count outside
	// 1..16, an empty ParentWorkspaceID, negative durations, limits or sizes.
	ErrInvalidParams error = &sentinel{"", "agentjail: invalid params"}
)

// invalidf returns an error matching ErrInvalidParams.
func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidParams}, a...)...)
}

const (
	maxErrorBody    = 64 << 10 // bytes of an error body kept in Error.Body
	maxErrorMessage = 1 << 10  // bytes of Error.Message
)

// scrubMargin is how many bytes beyond maxErrorBody the helper reads of an error body,
// so that a secret straddling the limit is still recognised and scrubbed whole.
const scrubMargin = 4 << 10

// newStatusError builds the *Error for a non-2xx response whose body (at most
// maxErrorBody+scrubMargin bytes) has already been read. The secrets, as sent and as
// JSON encoders escape them, are scrubbed from the body before it is cut to
// maxErrorBody, and from the decoded message (where an unusual escape such as \u0041
// may have hidden them from the first pass) before it is cut to 1 KiB.
func newStatusError(status int, header http.Header, body []byte, secrets ...string) *Error {
	body = []byte(scrubString(string(body), withJSONForms(secrets)...))
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	e := &Error{StatusCode: status, Code: codeForStatus(status), Body: body}
	e.Message = truncate(scrubString(errorMessage(status, e.Body), secrets...))
	e.retryAfter = parseRetryAfter(header.Get("Retry-After"), time.Now())
	return e
}

// errorMessage picks the JSON "error" field, else the plain-text body, else the status
// text. The caller truncates it.
func errorMessage(status int, body []byte) string {
	var env struct {
		Error *string `json:"error"`
	}
	switch err := json.Unmarshal(body, &env); {
	case err == nil && env.Error != nil && strings.TrimSpace(*env.Error) != "":
		return *env.Error
	case err != nil: // not JSON, whatever the Content-Type says: the text itself
		if text := strings.TrimSpace(string(body)); text != "" {
			return text
		}
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "status " + strconv.Itoa(status)
}

// truncate cuts s to maxErrorMessage bytes on a rune boundary.
func truncate(s string) string {
	if len(s) <= maxErrorMessage {
		return s
	}
	cut := maxErrorMessage - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// ellipsis marks a message cut to maxErrorMessage bytes; it counts towards the limit.
const ellipsis = "…"

// minScrubLen is the shortest key scrubbed from error texts: replacing a one-letter test
// key would mangle every message while protecting nothing.
const minScrubLen = 8

// scrubString replaces every occurrence of each secret in s with [REDACTED], so that a
// server or proxy echoing the API key cannot leak it through an error.
func scrubString(s string, secrets ...string) string {
	for _, secret := range secrets {
		if len(secret) >= minScrubLen && strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
		}
	}
	return s
}

// withJSONForms returns secrets plus each one as it appears inside a JSON string when
// escaping changes it (a quote or backslash, or <, > and & for encoders that escape
// HTML), so that a secret echoed in a JSON body is scrubbed from it too.
func withJSONForms(secrets []string) []string {
	out := secrets
	for _, secret := range secrets {
		if len(secret) < minScrubLen || !strings.ContainsAny(secret, `"\<>&`) {
			continue
		}
		for _, html := range []bool{false, true} {
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(html)
			if enc.Encode(secret) != nil {
				continue
			}
			quoted := strings.TrimSuffix(b.String(), "\n")
			if form := quoted[1 : len(quoted)-1]; form != secret && !slices.Contains(out, form) {
				out = append(out[:len(out):len(out)], form)
			}
		}
	}
	return out
}

// networkError wraps a transport failure; the secrets are scrubbed from its message.
func networkError(err error, secrets ...string) *Error {
	return &Error{Code: CodeNetwork, Message: truncate(scrubString(err.Error(), secrets...)), err: err}
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date; 0 when absent
// or unparsable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(time.Hour/time.Second) {
			return time.Hour
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
