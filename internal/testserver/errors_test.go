package testserver

import (
	"errors"
	"net/http/httptest"
	"testing"
)

// TestInternalErrorsAreMasked: every 5xx has the same JSON body whatever its cause, so nothing
// internal leaks; a 4xx keeps its message.
func TestInternalErrorsAreMasked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
	}{
		{name: "plain error", err: errors.New("secret path /etc/x")},
		{name: "errInternal", err: errInternal(errors.New("disk on fire"))},
		{name: "nil cause", err: errInternal(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			writeError(rec, tt.err)
			if rec.Code != 500 || rec.Body.String() != `{"error":"internal server error"}` || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %q", rec.Code, rec.Body.String())
			}
		})
	}
	rec := httptest.NewRecorder()
	writeError(rec, errConflict("busy %d", 1))
	if rec.Code != 409 || rec.Body.String() != `{"error":"conflict: busy 1"}` {
		t.Fatalf("conflict: got %d %q", rec.Code, rec.Body.String())
	}
}
