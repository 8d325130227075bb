//go:build unix

package testserver

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestUnescapeLineSeparators: the escapes encoding/json adds for U+2028 and U+2029 are undone,
// but an escaped backslash followed by "u2029" is literal text and stays.
func TestUnescapeLineSeparators(t *testing.T) {
	t.Parallel()
	in := []byte(`"a\u2028b\\u2029c\\\u2029d\n"`)
	want := "\"a\u2028b\\\\u2029c\\\\\u2029d\\n\""
	if got := string(unescapeLineSeparators(in)); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestLineSeparatorsAreNotEscaped: serde_json writes U+2028 and U+2029 as themselves, where
// encoding/json escapes them.
func TestLineSeparatorsAreNotEscaped(t *testing.T) {
	t.Parallel()
	s := Start(t)
	tests := []struct {
		name, code, want string
	}{
		{name: "line and paragraph separators", code: `printf '\342\200\250\342\200\251'`, want: `{"stdout":"` + "\u2028\u2029" + `",`},
		{name: "literal backslash-u text stays escaped", code: `printf '%s' '\u2028'`, want: `{"stdout":"\\u2028",`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, _ := json.Marshal(map[string]string{"language": "sh", "code": tt.code})
			r := wireDo(t, "POST", s.URL()+"/v1/runs", string(body))
			if r.status != 201 || !strings.HasPrefix(r.body, tt.want) {
				t.Fatalf("got %d %q, want prefix %q", r.status, r.body, tt.want)
			}
		})
	}
}

// TestWriteJSONUnencodable: a value that cannot be encoded is answered with the masked 500, never
// a partial body.
func TestWriteJSONUnencodable(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, map[string]any{"x": math.NaN()})
	if rec.Code != 500 || rec.Body.String() != `{"error":"internal server error"}` || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}
