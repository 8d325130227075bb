package testserver

// The lexical half of serdeCheck: numbers, strings, literals and skipped values, read with
// serde_json's grammar and its syntax error texts and positions.

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// skip reads any value; capture parses numbers fully, as keeping them for flattening does.
func (r *serdeReader) skip(capture bool) *serdeError {
	c, ok := r.peek()
	if !ok {
		return r.peekErr("EOF while parsing a value")
	}
	switch {
	case c == '"':
		_, err := r.str()
		return err
	case c == 't':
		return r.ident("true")
	case c == 'f':
		return r.ident("false")
	case c == 'n':
		return r.ident("null")
	case c == '-' || isDigit(c):
		_, err := r.number(capture)
		return err
	case c == '[':
		_, _, err := r.elements(func(int) (bool, *serdeError) { return true, r.skip(capture) })
		if err == nil {
			r.i++ // ]
		}
		return err
	case c == '{':
		return r.entries(func(string, int) *serdeError {
			if err := r.colon(); err != nil {
				return err
			}
			return r.skip(capture)
		})
	}
	return r.peekErr("expected value")
}

// ident reads the literal word (true, false or null) that starts here.
func (r *serdeReader) ident(word string) *serdeError {
	r.i++
	for k := 1; k < len(word); k++ {
		if r.i >= len(r.data) {
			return r.consumedErr("EOF while parsing a value")
		}
		c := r.data[r.i]
		r.i++
		if c != word[k] {
			return r.consumedErr("expected ident")
		}
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// jsonNumber is a parsed number: u (non-negative integer), i (negative integer) or f (float).
type jsonNumber struct {
	neg, float bool
	u          uint64
	i          int64
	f          float64
}

// number reads a number with serde_json's grammar; value computes its value (and range).
func (r *serdeReader) number(value bool) (jsonNumber, *serdeError) {
	start := r.i
	var n jsonNumber
	if r.data[r.i] == '-' {
		n.neg = true
		r.i++
	}
	switch {
	case r.i >= len(r.data):
		return n, r.consumedErr("invalid number")
	case r.data[r.i] == '0':
		r.i++
		if r.i < len(r.data) && isDigit(r.data[r.i]) {
			return n, r.peekErr("invalid number")
		}
	case isDigit(r.data[r.i]):
		for r.i < len(r.data) && isDigit(r.data[r.i]) {
			r.i++
		}
	default:
		r.i++
		return n, r.consumedErr("invalid number")
	}
	if r.i < len(r.data) && r.data[r.i] == '.' {
		n.float = true
		r.i++
		if r.i >= len(r.data) {
			return n, r.peekErr("EOF while parsing a value")
		}
		if !isDigit(r.data[r.i]) {
			return n, r.peekErr("invalid number")
		}
		for r.i < len(r.data) && isDigit(r.data[r.i]) {
			r.i++
		}
	}
	if r.i < len(r.data) && (r.data[r.i] == 'e' || r.data[r.i] == 'E') {
		n.float = true
		r.i++
		if r.i < len(r.data) && (r.data[r.i] == '+' || r.data[r.i] == '-') {
			r.i++
		}
		if r.i >= len(r.data) {
			return n, r.consumedErr("EOF while parsing a value")
		}
		r.i++
		if !isDigit(r.data[r.i-1]) {
			return n, r.consumedErr("invalid number")
		}
		for r.i < len(r.data) && isDigit(r.data[r.i]) {
			r.i++
		}
	}
	if !value {
		return n, nil
	}
	text := string(r.data[start:r.i])
	if !n.float {
		var err error
		if n.neg {
			n.i, err = strconv.ParseInt(text, 10, 64)
		} else {
			n.u, err = strconv.ParseUint(text, 10, 64)
		}
		switch {
		case err == nil && n.neg && n.i == 0:
			// serde_json reads -0 as the float -0.0, which no unsigned integer accepts.
			n.float, n.f = true, math.Copysign(0, -1)
			return n, nil
		case err == nil:
			return n, nil
		}
		n.float = true // too large for an integer: serde_json reads it as a float
	}
	f, _ := strconv.ParseFloat(text, 64)
	if math.IsInf(f, 0) {
		return n, r.consumedErr("number out of range")
	}
	n.f = f
	return n, nil
}

// str reads the string that starts here and returns it unescaped.
func (r *serdeReader) str() (string, *serdeError) {
	r.i++ // "
	var b strings.Builder
	for {
		if r.i >= len(r.data) {
			return "", r.consumedErr("EOF while parsing a string")
		}
		c := r.data[r.i]
		r.i++
		switch {
		case c == '"':
			return b.String(), nil
		case c < 0x20:
			return "", r.consumedErr("control character (\\u0000-\\u001F) found while parsing a string")
		case c != '\\':
			b.WriteByte(c)
			continue
		}
		if r.i >= len(r.data) {
			return "", r.consumedErr("EOF while parsing a string")
		}
		e := r.data[r.i]
		r.i++
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			rn, err := r.hexEscape()
			if err != nil {
				return "", err
			}
			b.WriteRune(rn)
		default:
			return "", r.consumedErr("invalid escape")
		}
	}
}

// hexEscape reads the four hex digits after \u, and a following low surrogate escape when the
// first is a high surrogate.
func (r *serdeReader) hexEscape() (rune, *serdeError) {
	hex4 := func() (rune, *serdeError) {
		var v rune
		for k := 0; k < 4; k++ {
			if r.i >= len(r.data) {
				return 0, r.consumedErr("EOF while parsing a string")
			}
			d := r.data[r.i]
			r.i++
			if !isHex(d) {
				return 0, r.consumedErr("invalid escape")
			}
			v = v<<4 | rune(unhex(d))
		}
		return v, nil
	}
	hi, err := hex4()
	switch {
	case err != nil:
		return 0, err
	case hi >= 0xDC00 && hi <= 0xDFFF:
		return 0, r.consumedErr("lone leading surrogate in hex escape")
	case hi < 0xD800 || hi > 0xDBFF:
		return hi, nil
	}
	if r.i+1 >= len(r.data) || r.data[r.i] != '\\' || r.data[r.i+1] != 'u' {
		return 0, r.consumedErr("lone leading surrogate in hex escape")
	}
	r.i += 2
	lo, err := hex4()
	if err != nil {
		return 0, err
	}
	rn := utf16.DecodeRune(hi, lo)
	if rn == utf8.RuneError {
		return 0, r.consumedErr("lone leading surrogate in hex escape")
	}
	return rn, nil
}
