package testserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// maxBodyBytes is the request body limit of the guarded routes (WIRE.md §1.4).
const maxBodyBytes = 1 << 20

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

// writeJSON writes v as compact JSON with the given status, the way serde_json
// does (no HTML escaping, no trailing newline).
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":"internal server error"}`)
		return
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writePlain writes a text/plain body, as axum does for (StatusCode, &str).
func writePlain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// writeEmpty writes a status with no body and no content type (axum's bare
// StatusCode responses: 404 fallback, 405, 204).
func writeEmpty(w http.ResponseWriter, status int) {
	if status != http.StatusNoContent {
		w.Header().Set("Content-Length", "0")
	}
	w.WriteHeader(status)
}

// shapeError is returned by custom UnmarshalJSON methods when a value is
// valid JSON of the wrong shape; decodeBody turns it into a 422.
type shapeError struct{ msg string }

func (e *shapeError) Error() string { return e.msg }

// decodeBody enforces WIRE.md §1.5 for JSON request bodies: 415 without a
// JSON content type, 413 over the body limit, 400 for invalid JSON (an empty
// body included), 422 for JSON of the wrong shape. Unknown fields are ignored.
func decodeBody(r *http.Request, v any) error {
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		return plainError(http.StatusUnsupportedMediaType, "Expected request with `Content-Type: application/json`")
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return plainError(http.StatusRequestEntityTooLarge, "Failed to buffer the request body: length limit exceeded")
		}
		return plainError(http.StatusBadRequest, "Failed to buffer the request body: "+err.Error())
	}
	if err := json.Unmarshal(data, v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		var shape *shapeError
		switch {
		case len(bytes.TrimSpace(data)) == 0:
			line, col := lineCol(data, len(data))
			return plainError(http.StatusBadRequest, fmt.Sprintf("Failed to parse the request body as JSON: EOF while parsing a value at line %d column %d", line, col))
		case errors.As(err, &syn):
			line, col := lineCol(data, int(syn.Offset))
			msg := syn.Error()
			if msg == "unexpected end of JSON input" {
				msg = "EOF while parsing a value"
			}
			return plainError(http.StatusBadRequest, fmt.Sprintf("Failed to parse the request body as JSON: %s at line %d column %d", msg, line, col))
		case errors.As(err, &typ):
			line, col := lineCol(data, int(typ.Offset))
			msg := fmt.Sprintf("invalid type: %s, expected %s at line %d column %d", serdeValueName(typ.Value), serdeTypeName(typ.Type), line, col)
			if typ.Field != "" {
				msg = typ.Field + ": " + msg
			}
			return errUnprocessable(msg)
		case errors.As(err, &shape):
			return errUnprocessable(shape.msg)
		default:
			return errInternal(err)
		}
	}
	return nil
}

// serdeValueName renders encoding/json's name for a JSON value the way
// serde's "invalid type" messages do.
func serdeValueName(v string) string {
	switch {
	case v == "array":
		return "sequence"
	case v == "object":
		return "map"
	case v == "bool":
		return "boolean"
	case strings.HasPrefix(v, "number"):
		return "number"
	}
	return v
}

// serdeTypeName describes the expected Go type in serde's words.
func serdeTypeName(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Struct:
		return "a struct"
	case reflect.Slice, reflect.Array:
		return "a sequence"
	case reflect.Map:
		return "a map"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "u" + strconv.Itoa(t.Bits())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "i" + strconv.Itoa(t.Bits())
	case reflect.Float32, reflect.Float64:
		return "f" + strconv.Itoa(t.Bits())
	}
	return t.Kind().String()
}

// isJSONContentType reports whether ct is application/json or
// application/*+json (parameters allowed), as axum's Json extractor requires.
func isJSONContentType(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || typ != "application" {
		return false
	}
	return sub == "json" || strings.HasSuffix(sub, "+json")
}

// lineCol converts a byte offset into serde-style 1-based line and column.
func lineCol(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	line = 1
	for _, b := range data[:off] {
		if b == '\n' {
			line++
			col = 0
			continue
		}
		col++
	}
	return line, col
}

// queryUint parses an optional unsigned query parameter the way axum's Query
// extractor does: "abc", "-1", "" or a repeated key give 400 plain text.
func queryUint(r *http.Request, name string) (v uint64, present bool, err error) {
	vals, ok := r.URL.Query()[name]
	if !ok {
		return 0, false, nil
	}
	if len(vals) > 1 {
		return 0, true, queryError(fmt.Sprintf("duplicate field `%s`", name))
	}
	s := vals[0]
	if s == "" {
		return 0, true, queryError("cannot parse integer from empty string")
	}
	v, perr := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, 64)
	if perr != nil {
		var ne *strconv.NumError
		if errors.As(perr, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, true, queryError("number too large to fit in target type")
		}
		return 0, true, queryError("invalid digit found in string")
	}
	return v, true, nil
}

// queryString returns an optional string query parameter; a repeated key is
// a 400 like axum's Query extractor.
func queryString(r *http.Request, name string) (v string, present bool, err error) {
	vals, ok := r.URL.Query()[name]
	if !ok {
		return "", false, nil
	}
	if len(vals) > 1 {
		return "", true, queryError(fmt.Sprintf("duplicate field `%s`", name))
	}
	return vals[0], true, nil
}

func queryError(detail string) error {
	return plainError(http.StatusBadRequest, "Failed to deserialize query string: "+detail)
}
