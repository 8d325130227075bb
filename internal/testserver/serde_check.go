package testserver

// serdeCheck reads a JSON request body the way the real server's serde_json and derived
// Deserialize impls do, against the route's shape (serde_shapes.go), and reports the first
// error with serde's words, serde_path_to_error's path and serde_json's line and column:
//   - a value error is placed after the value was read, or before a [ or { that is of the wrong
//     kind; struct errors (missing field, flattened fields) after the object's closing brace;
//   - a syntax error is placed at the character that broke it;
//   - flattened ExecOptions fields are checked after the whole object, without a path, with
//     serde's own wording for unexpected values ("unit value", floats without exponent).
//
// Syntax errors are answered 400, value errors 422. Data after the top-level value is ignored,
// like the real extractor.

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// serdeError is one rejection: syntax (400) or data (422), its path and where it was raised.
type serdeError struct {
	syntax bool
	path   string
	msg    string
	at     int // byte offset whose line and column are reported
}

// httpError renders e as the real extractor's plain-text rejection.
func (e *serdeError) httpError(data []byte) error {
	line, col := lineCol(data, e.at)
	msg := fmt.Sprintf("%s at line %d column %d", e.msg, line, col)
	if e.path != "" {
		msg = e.path + ": " + msg
	}
	if e.syntax {
		return plainError(400, "Failed to parse the request body as JSON: "+msg)
	}
	return errUnprocessable(msg)
}

// serdeCheck checks data against s and returns the top-level value as encoding/json should read
// it: a copy with every object key that serde ignores blanked out (its characters replaced by
// spaces, so offsets are kept). encoding/json matches keys to fields case-insensitively, where
// serde skips a key that is not exactly a field's name; blanked, such a key matches no field.
func serdeCheck(data []byte, s *shape) ([]byte, *serdeError) {
	r := &serdeReader{data: data}
	if err := r.value(s, false); err != nil {
		return nil, err
	}
	out := slices.Clone(data[:r.i])
	for _, k := range r.ignored {
		for i := k[0]; i < k[1]; i++ {
			out[i] = ' '
		}
	}
	return out, nil
}

type serdeReader struct {
	data    []byte
	i       int
	path    []string // "name" or "[i]" segments
	content bool     // reading a flattened value: serde's own wording
	keyAt   int      // offset of the opening quote of the key entries last read
	ignored [][2]int // the insides of the struct keys serde skipped, as [start, end) offsets
}

func (r *serdeReader) pathString() string {
	var b strings.Builder
	for _, seg := range r.path {
		if b.Len() > 0 && !strings.HasPrefix(seg, "[") {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

func (r *serdeReader) dataErr(at int, format string, a ...any) *serdeError {
	return &serdeError{path: r.pathString(), msg: fmt.Sprintf(format, a...), at: at}
}

// peekErr is a syntax error at the next character; consumedErr one after the last read.
func (r *serdeReader) peekErr(msg string) *serdeError {
	return &serdeError{syntax: true, path: r.pathString(), msg: msg, at: min(r.i+1, len(r.data))}
}

func (r *serdeReader) consumedErr(msg string) *serdeError {
	return &serdeError{syntax: true, path: r.pathString(), msg: msg, at: r.i}
}

// peek skips whitespace and returns the next byte without reading it.
func (r *serdeReader) peek() (byte, bool) {
	for r.i < len(r.data) {
		switch c := r.data[r.i]; c {
		case ' ', '\n', '\t', '\r':
			r.i++
		default:
			return c, true
		}
	}
	return 0, false
}

func (r *serdeReader) within(seg string, f func() *serdeError) *serdeError {
	r.path = append(r.path, seg)
	err := f()
	r.path = r.path[:len(r.path)-1]
	return err
}

// value checks the next value against s; optional accepts null (Option).
func (r *serdeReader) value(s *shape, optional bool) *serdeError {
	c, ok := r.peek()
	if !ok {
		return r.peekErr("EOF while parsing a value")
	}
	switch {
	case optional && c == 'n':
		return r.ident("null")
	case s.kind == shapeString && c == '"':
		_, err := r.str()
		return err
	case s.kind == shapeString:
		return r.invalidType("a string")
	case s.kind == shapeUint && (c == '-' || isDigit(c)):
		return r.uint(s)
	case s.kind == shapeUint:
		return r.invalidType(s.name)
	case r.content:
		return r.contentValue(s, c)
	}
	switch s.kind {
	case shapeSeq, shapePair:
		if c != '[' {
			return r.invalidType(seqExpectation(s))
		}
		return r.seq(s)
	case shapeMap:
		if c != '{' {
			return r.invalidType("a map")
		}
		return r.enumKeyMap(s)
	case shapeStruct:
		switch {
		case c == '{':
			return r.object(s)
		case c == '[' && s.flatten == nil:
			return r.structSeq(s)
		}
		return r.invalidType("struct " + s.name)
	case shapeEnum:
		switch c {
		case '"':
			return r.variantName(s)
		case '{':
			return r.variantObject(s)
		}
		return r.peekErr("expected value")
	}
	return r.skip(true)
}

// variantName reads a unit variant written as its name.
func (r *serdeReader) variantName(s *shape) *serdeError {
	v, err := r.str()
	if err == nil && !slices.Contains(s.variants, v) {
		err = r.dataErr(r.i, "%s", unknownVariant(v, s.variants))
	}
	return err
}

// variantObject reads a unit variant written as {"name": null}.
func (r *serdeReader) variantObject(s *shape) *serdeError {
	r.i++ // {
	c, ok := r.peek()
	switch {
	case !ok:
		return r.peekErr("EOF while parsing a value")
	case c != '"':
		return r.invalidType("variant identifier")
	}
	if err := r.variantName(s); err != nil {
		return err
	}
	if err := r.colon(); err != nil {
		return err
	}
	if c, ok = r.peek(); ok && c == 'n' {
		if err := r.ident("null"); err != nil {
			return err
		}
	} else {
		return r.invalidType("unit")
	}
	switch c, ok = r.peek(); {
	case !ok:
		return r.consumedErr("EOF while parsing an object")
	case c != '}':
		return r.consumedErr("expected value")
	}
	r.i++
	return nil
}

func seqExpectation(s *shape) string {
	if s.kind == shapePair {
		return "a tuple of size 2"
	}
	return "a sequence"
}

// uint checks an unsigned integer of s's width.
func (r *serdeReader) uint(s *shape) *serdeError {
	n, err := r.number(true)
	if err != nil {
		return err
	}
	switch {
	case n.float:
		return r.dataErr(r.i, "invalid type: floating point `%s`, expected %s", r.floatText(n.f), s.name)
	case n.neg && n.i < 0:
		return r.dataErr(r.i, "invalid value: integer `%d`, expected %s", n.i, s.name)
	case !n.neg && n.u > s.max:
		return r.dataErr(r.i, "invalid value: integer `%d`, expected %s", n.u, s.name)
	}
	return nil
}

// invalidType reads the unexpected value (not a [ or {) and reports it.
func (r *serdeReader) invalidType(expected string) *serdeError {
	what, err := r.unexpected()
	if err != nil {
		return err
	}
	return r.dataErr(r.i, "invalid type: %s, expected %s", what, expected)
}

// unexpected describes the next value as serde does, reading scalars but not containers.
func (r *serdeReader) unexpected() (string, *serdeError) {
	c, ok := r.peek()
	if !ok {
		return "", r.peekErr("EOF while parsing a value")
	}
	switch {
	case c == 'n':
		if r.content {
			return "unit value", r.ident("null")
		}
		return "null", r.ident("null")
	case c == 't':
		return "boolean `true`", r.ident("true")
	case c == 'f':
		return "boolean `false`", r.ident("false")
	case c == '-' || isDigit(c):
		n, err := r.number(true)
		switch {
		case err != nil:
			return "", err
		case n.float:
			return "floating point `" + r.floatText(n.f) + "`", nil
		case n.neg:
			return fmt.Sprintf("integer `%d`", n.i), nil
		}
		return fmt.Sprintf("integer `%d`", n.u), nil
	case c == '"':
		s, err := r.str()
		return "string " + rustQuote(s), err
	case c == '[':
		return "sequence", nil
	case c == '{':
		return "map", nil
	}
	return "", r.peekErr("expected value")
}

// floatText formats a float like serde_json (shortest digits, exponent outside 1e-5..1e16)
// or, for flattened values, like Rust's Display (never an exponent, always a decimal point).
func (r *serdeReader) floatText(f float64) string {
	if r.content || (math.Abs(f) >= 1e-5 && math.Abs(f) < 1e16) || f == 0 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	n, _ := strconv.Atoi(exp)
	return fmt.Sprintf("%se%+d", mant, n)
}

func unknownVariant(v string, variants []string) string {
	quoted := make([]string, len(variants))
	for i, name := range variants {
		quoted[i] = "`" + name + "`"
	}
	switch len(quoted) {
	case 0:
		return fmt.Sprintf("unknown variant `%s`, there are no variants", v)
	case 1:
		return fmt.Sprintf("unknown variant `%s`, expected %s", v, quoted[0])
	case 2:
		return fmt.Sprintf("unknown variant `%s`, expected %s or %s", v, quoted[0], quoted[1])
	}
	return fmt.Sprintf("unknown variant `%s`, expected one of %s", v, strings.Join(quoted, ", "))
}
