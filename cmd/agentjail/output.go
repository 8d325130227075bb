package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// writeJSON prints v as JSON, the -json output of every command: indented for a
// person at a terminal, else on one line, as a program reading it line by line needs.
func writeJSON(w io.Writer, v any) error {
	enc := newJSONEncoder(w)
	if isTerminal(w) {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

// newJSONEncoder returns an encoder that writes <, > and & as they are: the output is
// read by people and programs, never embedded in HTML.
func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// newTable returns a writer that aligns tab-separated cells into columns; Flush it.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 8, 3, ' ', 0) }

// writeRow writes one table row; cells must not contain tabs or newlines (see cell).
func writeRow(tw io.Writer, cells ...string) {
	io.WriteString(tw, strings.Join(cells, "\t")+"\n")
}

// listing prints rows as one JSON array, or as aligned columns under header.
func listing[T any](w io.Writer, asJSON bool, rows []T, header []string, cells func(T) []string) error {
	if asJSON {
		if rows == nil {
			rows = []T{}
		}
		return writeJSON(w, rows)
	}
	tw := newTable(w)
	writeRow(tw, header...)
	for _, r := range rows {
		writeRow(tw, cells(r)...)
	}
	return tw.Flush()
}

// timeText renders a time in RFC 3339, UTC, to the second.
func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// optTime renders a nullable time, "-" when unset.
func optTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return timeText(*t)
}

// sizeText renders a byte count with binary units: "512 B", "1.5 KiB", "3.0 GiB".
func sizeText(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n) / 1024
	units := "KMGTPE"
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, units[i])
}

// cell makes a value safe for one table cell: "-" when empty, quoted when it holds
// control characters that would break the row.
func cell(s string) string {
	switch {
	case s == "":
		return "-"
	case strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return strconv.Quote(s)
	}
	return s
}

// shellQuote quotes s for POSIX sh: inside single quotes nothing is special, and a
// single quote is written as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeFields prints a JSON-encodable value as "key value" lines, one per leaf, with
// nested keys joined by dots in the order the JSON has them. Nulls print "-", times
// are shown in RFC 3339 to the second, *_bytes counts in binary units, and lists of
// plain values on one line.
func writeFields(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tw := newTable(w)
	if err := fields(tw, "", b); err != nil {
		return err
	}
	return tw.Flush()
}

// fields writes the leaves of the JSON value raw under key.
func fields(tw io.Writer, key string, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			var val json.RawMessage
			if err := dec.Decode(&val); err != nil {
				return err
			}
			if err := fields(tw, join(key, k.(string)), val); err != nil {
				return err
			}
		}
		return nil
	case json.Delim('['):
		var items []json.RawMessage
		for dec.More() {
			var item json.RawMessage
			if err := dec.Decode(&item); err != nil {
				return err
			}
			items = append(items, item)
		}
		return listFields(tw, key, items)
	}
	writeRow(tw, key, scalarText(key, tok))
	return nil
}

// listFields writes a JSON array: plain values joined on one line, objects and
// lists under their index.
func listFields(tw io.Writer, key string, items []json.RawMessage) error {
	var plain []string
	for i, item := range items {
		if c := bytes.TrimSpace(item); len(c) > 0 && (c[0] == '{' || c[0] == '[') {
			if err := fields(tw, join(key, strconv.Itoa(i)), item); err != nil {
				return err
			}
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(item))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return err
		}
		plain = append(plain, scalarText(key, v))
	}
	if len(items) == 0 {
		writeRow(tw, key, "-")
	} else if len(plain) > 0 {
		writeRow(tw, key, strings.Join(plain, ", "))
	}
	return nil
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// scalarText renders one JSON scalar for writeFields.
func scalarText(key string, v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case json.Number:
		if n, err := v.Int64(); err == nil && strings.HasSuffix(key, "_bytes") {
			return sizeText(n)
		}
		return v.String()
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return timeText(t)
		}
		return cell(v)
	}
	return fmt.Sprint(v)
}
