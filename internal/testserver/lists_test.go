package testserver

import "testing"

// TestListLimitEchoIsCapped: the limit echoed in a list envelope is capped at 500 and defaults
// to 50. The jail list's echo (including limit=0) is covered with its filters in jails_test.go.
func TestListLimitEchoIsCapped(t *testing.T) {
	t.Parallel()
	s := Start(t)
	tests := []struct {
		name, route, query string
		wantLimit          uint64
	}{
		{name: "workspaces over 500", route: "/v1/workspaces", query: "?limit=501", wantLimit: 500},
		{name: "snapshots over 500", route: "/v1/snapshots", query: "?limit=18446744073709551615", wantLimit: 500},
		{name: "default", route: "/v1/workspaces", wantLimit: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var page struct {
				Limit uint64 `json:"limit"`
			}
			wireDo(t, "GET", s.URL()+tt.route+tt.query, "").wantJSON(t, 200, &page)
			if page.Limit != tt.wantLimit {
				t.Fatalf("limit %d, want %d", page.Limit, tt.wantLimit)
			}
		})
	}
}
