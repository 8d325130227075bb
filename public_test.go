package agentjail

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
)

// TestHealthUnhealthy pins what a server that is not up looks like to Health: an error
// matching the sentinel of whatever answered in its place, never a nil error.
func TestHealthUnhealthy(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	cases := []struct {
		name  string
		reply http.HandlerFunc // nil: nothing listens
		want  error
	}{
		{"nothing listening", nil, ErrNetwork},
		{"proxy: bad gateway", textReply(502, "<html>bad gateway</html>"), ErrServerError},
		{"proxy: unavailable", textReply(503, "no healthy upstream"), ErrServerError},
		{"proxy: gateway timeout", textReply(504, ""), ErrTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := refused
			if tc.reply != nil {
				url = newRecorder(t, tc.reply).URL
			}
			c := testClient(t, url, WithMaxRetries(0))
			got, err := c.Public.Health(context.Background())
			if !errors.Is(err, tc.want) || got != "" {
				t.Fatalf("Health() = %q, %v; want an error matching %v", got, err, tc.want)
			}
		})
	}
}
