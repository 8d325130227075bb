package testserver

// Request decoding: JSON bodies and query strings, rejected with the same statuses and texts as
// the real server's extractors (serde's wording, 1-based line and column).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxBodyBytes is the request body limit of the guarded routes: 1 MiB.
const maxBodyBytes = 1 << 20

// decodeBody reads a JSON request body with the rejections of axum's Json extractor, as plain
// text: 415 without a JSON content type, 413 over the body limit, 400 for invalid JSON (an empty
// body included), 422 for JSON of the wrong shape, a required key missing included. The body is
// first read as serde reads it against the request type's shape (requestShapes), so its
// rejections carry the real server's exact words, path, line and column; unknown keys and data
// after the first value are ignored.
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
	if !utf8.Valid(data) {
		// serde_json refuses invalid UTF-8 (a syntax error, so 400) where
		// encoding/json would quietly substitute U+FFFD.
		bad := 0
		for bad < len(data) {
			r, size := utf8.DecodeRune(data[bad:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			bad += size
		}
		return (&serdeError{syntax: true, msg: "invalid unicode code point", at: bad + 1}).httpError(data)
	}
	sh, ok := requestShapes[reflect.TypeOf(v).Elem()]
	if !ok {
		return errInternal(fmt.Errorf("no serde shape for %T", v))
	}
	checked, serr := serdeCheck(data, sh)
	if serr != nil {
		return serr.httpError(data)
	}
	if err := json.Unmarshal(checked, v); err != nil {
		// serde also reads a struct from the list of its fields in order; the fake does not, and
		// refuses such a body as a type mismatch. Nothing else serde accepts fails to fit v.
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Value == "array" {
			line, col := lineCol(checked, int(typ.Offset))
			return errUnprocessable(fmt.Sprintf("invalid type: sequence, expected a struct at line %d column %d", line, col))
		}
		return errInternal(err)
	}
	return nil
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
	s, present, err := queryString(r, name)
	if !present || err != nil {
		return 0, present, err
	}
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
	vals, ok := formQuery(r.URL.RawQuery)[name]
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

// seq is a request list with serde's #[serde(default)] Vec semantics: an absent key is empty
// (a null is refused by the serde check).
type seq[T any] []T

// unmarshalUnitVariant reads a unit variant of an externally tagged enum, which serde accepts as
// its name ("strict") or as a map from its name to null ({"strict":null}).
func unmarshalUnitVariant(b []byte, name *string) error {
	if b[0] != '{' {
		return json.Unmarshal(b, name)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for k := range m {
		*name = k
	}
	return nil
}

// defaultedString is a request string with a serde default: an absent key takes the default.
type defaultedString struct {
	val string
	set bool
}

func (d *defaultedString) UnmarshalJSON(b []byte) error {
	d.set = true
	return json.Unmarshal(b, &d.val)
}

// ptr is the value when the key was sent, else nil.
func (d defaultedString) ptr() *string {
	if !d.set {
		return nil
	}
	return &d.val
}

// formQuery parses a query string the way the real server's Query extractor
// (form_urlencoded) does: pairs split on '&' only, '+' is a space, and a
// malformed percent escape is kept literally instead of dropping the pair
// as net/url does.
func formQuery(raw string) map[string][]string {
	out := map[string][]string{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = formUnescape(k), formUnescape(v)
		out[k] = append(out[k], v)
	}
	return out
}

func formUnescape(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
