package testserver

// Flattened values: the ExecOptions fields of a request are kept aside while its object is read
// and then deserialized from that copy, so their errors use serde's own wording (a null is a
// "unit value") and enums accept what serde's buffered form accepts.

import "slices"

// contentValue checks a kept list or enum whose first byte is c against s (strings and
// numbers read the same kept or not).
func (r *serdeReader) contentValue(s *shape, c byte) *serdeError {
	switch s.kind {
	case shapeSeq:
		if c != '[' {
			return r.invalidType("a sequence")
		}
		_, _, err := r.elements(func(int) (bool, *serdeError) { return true, r.value(s.elem, false) })
		return err
	case shapeEnum:
		return r.contentEnum(s, c)
	case shapeTagged:
		return r.tagged(s, c)
	}
	return r.skip(true)
}

// contentEnum checks a unit-variant enum: a variant name, or a one-entry map from a variant
// name to null.
func (r *serdeReader) contentEnum(s *shape, c byte) *serdeError {
	switch c {
	case '"':
		v, err := r.str()
		if err == nil && !slices.Contains(s.variants, v) {
			err = r.dataErr(r.i, "%s", unknownVariant(v, s.variants))
		}
		return err
	case '{':
		var kept []flatEntry
		err := r.entries(func(key string, _ int) *serdeError {
			if err := r.colon(); err != nil {
				return err
			}
			kept = append(kept, flatEntry{key, r.i})
			return r.skip(true)
		})
		switch {
		case err != nil:
			return err
		case len(kept) != 1:
			return r.dataErr(r.i, "invalid value: map, expected map with a single key")
		case !slices.Contains(s.variants, kept[0].key):
			return r.dataErr(r.i, "%s", unknownVariant(kept[0].key, s.variants))
		}
		sub := &serdeReader{data: r.data, i: kept[0].at, content: true}
		if c, _ := sub.peek(); c != 'n' {
			return sub.invalidType("unit")
		}
		return nil
	}
	return r.invalidType("string or map")
}

// tagged checks an internally tagged enum: an object whose "mode" names the variant (or gives
// its index), the other keys being the variant's fields; or a list whose first element is the
// tag.
func (r *serdeReader) tagged(s *shape, c byte) *serdeError {
	switch c {
	case '{':
		variant, haveTag := "", false
		var rest []flatEntry
		err := r.entries(func(key string, _ int) *serdeError {
			if err := r.colon(); err != nil {
				return err
			}
			if key != "mode" {
				rest = append(rest, flatEntry{key, r.i})
				return r.skip(true)
			}
			if haveTag {
				return r.dataErr(r.i, "duplicate field `mode`")
			}
			haveTag = true
			v, err := r.variantID(s)
			variant = v
			return err
		})
		switch {
		case err != nil:
			return err
		case !haveTag:
			return r.dataErr(r.i, "missing field `mode`")
		}
		return r.flattened(s.variantFields[variant], rest, r.i)
	case '[':
		n, _, err := r.elements(func(n int) (bool, *serdeError) {
			if n == 0 {
				_, err := r.variantID(s)
				return true, err
			}
			return true, r.skip(true)
		})
		if err == nil && n == 0 {
			err = r.dataErr(r.i, "missing field `mode`")
		}
		return err
	}
	return r.invalidType("internally tagged enum " + s.name)
}

// variantID reads a tag value: a variant name or a variant index.
func (r *serdeReader) variantID(s *shape) (string, *serdeError) {
	c, ok := r.peek()
	switch {
	case !ok:
		return "", r.peekErr("EOF while parsing a value")
	case c == '"':
		v, err := r.str()
		if err == nil && !slices.Contains(s.variants, v) {
			err = r.dataErr(r.i, "%s", unknownVariant(v, s.variants))
		}
		return v, err
	case isDigit(c):
		n, err := r.number(true)
		switch {
		case err != nil:
			return "", err
		case n.float:
			return "", r.dataErr(r.i, "invalid type: floating point `%s`, expected variant identifier", r.floatText(n.f))
		case n.u >= uint64(len(s.variants)):
			return "", r.dataErr(r.i, "invalid value: integer `%d`, expected variant index 0 <= i < %d", n.u, len(s.variants))
		}
		return s.variants[n.u], nil
	}
	return "", r.invalidType("variant identifier")
}
