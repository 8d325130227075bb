package testserver

import (
	"errors"
	"fmt"
	"net/http"
)

// httpError is every error response the fake produces. JSON errors carry the
// {"error": msg} envelope of the real server's handlers; plain ones mimic the
// text bodies axum's extractors and middleware write.
type httpError struct {
	status int
	msg    string
	plain  bool
	cause  error // logged for 5xx, never sent
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *httpError) Unwrap() error { return e.cause }

// errBadRequest is a handler error: 400 {"error":"bad request: <msg>"}.
func errBadRequest(format string, a ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: "bad request: " + fmt.Sprintf(format, a...)}
}

// errNotFound is a handler error: 404 {"error":"not found: <msg>"}.
func errNotFound(format string, a ...any) error {
	return &httpError{status: http.StatusNotFound, msg: "not found: " + fmt.Sprintf(format, a...)}
}

// errConflict is a handler error: 409 {"error":"conflict: <msg>"}.
func errConflict(format string, a ...any) error {
	return &httpError{status: http.StatusConflict, msg: "conflict: " + fmt.Sprintf(format, a...)}
}

// errInternal is 500 {"error":"internal server error"}; cause is only logged.
func errInternal(cause error) error {
	if cause == nil {
		cause = errors.New("unspecified internal error")
	}
	return &httpError{status: http.StatusInternalServerError, msg: "internal server error", cause: cause}
}

// errUnprocessable is axum's JSON data rejection: 422 plain text.
func errUnprocessable(detail string) error {
	return plainError(http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: "+detail)
}

// plainError is an error answered with a text/plain body.
func plainError(status int, body string) error {
	return &httpError{status: status, msg: body, plain: true}
}

// writeError writes err as the real server would. Errors that are not
// *httpError become a masked 500.
func writeError(w http.ResponseWriter, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = errInternal(err).(*httpError)
	}
	if he.status >= 500 {
		// Never leak the cause: every 5xx is the same body on the wire.
		writeJSON(w, he.status, map[string]string{"error": "internal server error"})
		return
	}
	if he.plain {
		writePlain(w, he.status, he.msg)
		return
	}
	writeJSON(w, he.status, map[string]string{"error": he.msg})
}

// errTooManyExecs is the 400 of an execution refused because every slot is taken.
func errTooManyExecs() error { return errBadRequest("too many concurrent executions") }
