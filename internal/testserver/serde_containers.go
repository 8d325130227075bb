package testserver

// The containers of serdeCheck: lists, tuples, objects read as structs (with their flattened
// fields) and maps with enum keys, with serde_json's separators, end checks and positions.

import (
	"fmt"
	"slices"
)

// elements reads the elements of the list whose [ is next, calling each for every one until
// each returns false (the visitor stopped) or the list ends. It returns how many it read and
// whether the list ended.
func (r *serdeReader) elements(each func(n int) (bool, *serdeError)) (int, bool, *serdeError) {
	r.i++ // [
	for n := 0; ; n++ {
		c, ok := r.peek()
		if !ok {
			return n, false, r.peekErr("EOF while parsing a list")
		}
		if c == ']' {
			return n, true, nil
		}
		if n > 0 {
			if c != ',' {
				return n, false, r.peekErr("expected `,` or `]`")
			}
			r.i++
			if c, ok = r.peek(); !ok {
				return n, false, r.peekErr("EOF while parsing a value")
			} else if c == ']' {
				return n, false, r.peekErr("trailing comma")
			}
		}
		more, err := each(n)
		if err != nil || !more {
			return n + 1, false, err
		}
	}
}

// endSeq reads the ] after a visitor that stopped reading elements.
func (r *serdeReader) endSeq() *serdeError {
	c, ok := r.peek()
	switch {
	case !ok:
		return r.peekErr("EOF while parsing a list")
	case c == ']':
		r.i++
		return nil
	case c == ',':
		r.i++
		if c, ok := r.peek(); ok && c == ']' {
			return r.peekErr("trailing comma")
		}
	}
	return r.peekErr("trailing characters")
}

// seq checks a Vec or a (String, String) pair.
func (r *serdeReader) seq(s *shape) *serdeError {
	pair := s.kind == shapePair
	elem := s.elem
	if pair {
		elem = stringShape
	}
	n, ended, err := r.elements(func(n int) (bool, *serdeError) {
		err := r.within(fmt.Sprintf("[%d]", n), func() *serdeError { return r.value(elem, false) })
		return !pair || n < 1, err
	})
	switch {
	case err != nil:
		return err
	case ended:
		r.i++ // ]
		if pair && n < 2 {
			return r.dataErr(r.i, "invalid length %d, expected a tuple of size 2", n)
		}
		return nil
	}
	return r.endSeq()
}

// structSeq checks a struct written as a list of its fields in order.
func (r *serdeReader) structSeq(s *shape) *serdeError {
	n, ended, err := r.elements(func(n int) (bool, *serdeError) {
		f := s.fields[n]
		err := r.within(fmt.Sprintf("[%d]", n), func() *serdeError { return r.value(f.s, f.optional) })
		return n+1 < len(s.fields), err
	})
	switch {
	case err != nil:
		return err
	case !ended:
		return r.endSeq()
	}
	r.i++ // ]
	for _, f := range s.fields[n:] {
		if f.required {
			return r.dataErr(r.i, "invalid length %d, expected struct %s with %d element%s", n, s.name, len(s.fields), plural(len(s.fields)))
		}
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// entries reads the entries of the object whose { is next, calling each with every key after
// its colon, and reads the closing }.
func (r *serdeReader) entries(each func(key string, keyEnd int) *serdeError) *serdeError {
	r.i++ // {
	for n := 0; ; n++ {
		c, ok := r.peek()
		if !ok {
			return r.peekErr("EOF while parsing an object")
		}
		if c == '}' {
			r.i++
			return nil
		}
		if n > 0 {
			if c != ',' {
				return r.peekErr("expected `,` or `}`")
			}
			r.i++
			if c, ok = r.peek(); !ok {
				return r.peekErr("EOF while parsing a value")
			} else if c == '}' {
				return r.peekErr("trailing comma")
			}
		}
		if c != '"' {
			return r.peekErr("key must be a string")
		}
		r.keyAt = r.i
		key, err := r.str()
		if err != nil {
			return err
		}
		keyEnd := r.i
		if err := each(key, keyEnd); err != nil {
			return err
		}
	}
}

// colon reads the : after a key.
func (r *serdeReader) colon() *serdeError {
	c, ok := r.peek()
	switch {
	case !ok:
		return r.peekErr("EOF while parsing an object")
	case c != ':':
		return r.peekErr("expected `:`")
	}
	r.i++
	return nil
}

// flatEntry is a key kept for the flattened fields, with where its value starts.
type flatEntry struct {
	key string
	at  int
}

// object checks a derived struct written as an object.
func (r *serdeReader) object(s *shape) *serdeError {
	seen := map[string]bool{}
	var flat []flatEntry
	err := r.entries(func(key string, keyEnd int) *serdeError {
		i := slices.IndexFunc(s.fields, func(f shapeField) bool { return f.name == key })
		if i < 0 && !slices.ContainsFunc(s.flatten, func(f shapeField) bool { return f.name == key }) {
			r.ignored = append(r.ignored, [2]int{r.keyAt + 1, keyEnd - 1})
		}
		if i >= 0 && seen[key] {
			r.peek()
			return r.dataErr(r.i, "duplicate field `%s`", key)
		}
		if err := r.colon(); err != nil {
			return err
		}
		if i < 0 {
			if s.flatten != nil {
				flat = append(flat, flatEntry{key, r.i})
			}
			return r.skip(s.flatten != nil)
		}
		seen[key] = true
		f := s.fields[i]
		return r.within(key, func() *serdeError { return r.value(f.s, f.optional) })
	})
	if err != nil {
		return err
	}
	for _, f := range s.fields {
		if f.required && !seen[f.name] {
			return r.dataErr(r.i, "missing field `%s`", f.name)
		}
	}
	if s.flatten != nil {
		return r.flattened(s.flatten, flat, r.i)
	}
	return nil
}

// flattened checks the kept entries against the flattened fields, in body order; errors have
// no path and sit at end, after the object.
func (r *serdeReader) flattened(fields []shapeField, flat []flatEntry, end int) *serdeError {
	seen := map[string]bool{}
	for _, en := range flat {
		i := slices.IndexFunc(fields, func(f shapeField) bool { return f.name == en.key })
		if i < 0 {
			continue
		}
		if seen[en.key] {
			return &serdeError{msg: fmt.Sprintf("duplicate field `%s`", en.key), at: end}
		}
		seen[en.key] = true
		sub := &serdeReader{data: r.data, i: en.at, content: true}
		if err := sub.value(fields[i].s, fields[i].optional); err != nil {
			err.path, err.at = "", end
			return err
		}
		r.ignored = append(r.ignored, sub.ignored...)
	}
	return nil
}

// enumKeyMap checks a map whose keys are enum variants (an unknown key's path is "?").
func (r *serdeReader) enumKeyMap(s *shape) *serdeError {
	return r.entries(func(key string, keyEnd int) *serdeError {
		if !slices.Contains(s.variants, key) {
			return r.within("?", func() *serdeError { return r.dataErr(keyEnd, "%s", unknownVariant(key, s.variants)) })
		}
		if err := r.colon(); err != nil {
			return err
		}
		return r.within(key, func() *serdeError { return r.value(s.elem, false) })
	})
}
