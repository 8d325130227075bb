package testserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// Responses are written the way the real server writes them: JSON compact like serde_json,
// plain text with axum's content type, and bare status codes with no body at all.

// writeJSON writes v as compact JSON with the given status, the way serde_json
// does (no HTML escaping, no trailing newline).
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeBody(w, http.StatusInternalServerError, "application/json", []byte(`{"error":"internal server error"}`))
		return
	}
	writeBody(w, status, "application/json", unescapeLineSeparators(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))))
}

// writeBody writes body with the given status, content type and length.
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// unescapeLineSeparators undoes the one escape encoding/json adds that
// serde_json does not: U+2028 and U+2029 are written as \u2028 and \u2029
// even without HTML escaping. serde_json writes the characters themselves.
// Escaped backslashes are skipped in pairs, so a literal "\\u2028" in the
// data is left alone.
func unescapeLineSeparators(b []byte) []byte {
	if !bytes.Contains(b, []byte(`\u202`)) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+5 < len(b) && string(b[i+2:i+5]) == "202" && (b[i+5] == '8' || b[i+5] == '9') {
			if b[i+5] == '8' {
				out = append(out, "\u2028"...)
			} else {
				out = append(out, "\u2029"...)
			}
			i += 5
			continue
		}
		out = append(out, b[i], b[i+1])
		i++
	}
	return out
}

// writePlain writes a text/plain body, as axum does for (StatusCode, &str).
func writePlain(w http.ResponseWriter, status int, body string) {
	writeBody(w, status, "text/plain; charset=utf-8", []byte(body))
}

// writeEmpty writes a status with no body and no content type (axum's bare
// StatusCode responses: 404 fallback, 405, 204).
func writeEmpty(w http.ResponseWriter, status int) {
	if status != http.StatusNoContent {
		w.Header().Set("Content-Length", "0")
	}
	w.WriteHeader(status)
}
