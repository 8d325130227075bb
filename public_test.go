package agentjail

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestHealthUnhealthy pins what a server that is not up looks like to Health: an error
// matching the sentinel of whatever answered in its place, never a nil error.
func TestHealthUnhealthy(t *testing.T) {
	t.Parallel()
	refused := refusedURL
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

// TestPublicRequests: the public routes go out without the API key, and health is "ok"
// whether the server answers plain text or a JSON string.
func TestPublicRequests(t *testing.T) {
	t.Parallel()
	checkCalls(t, []apiCall{
		{name: "public health plain text", reply: "ok",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Public.Health(ctx) },
			method: "GET", path: "/healthz", public: true,
			check: func(t *testing.T, got any) {
				if got.(string) != "ok" {
					t.Fatalf("health = %q", got)
				}
			}},
		{name: "public health json string", reply: `"ok"`,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Public.Health(ctx) },
			method: "GET", path: "/healthz", public: true,
			check: func(t *testing.T, got any) {
				if got.(string) != "ok" {
					t.Fatalf("health = %q", got)
				}
			}},
		{name: "public stats", reply: `{"active_execs":2,"total_execs":9,"sessions":3,"credentials":4}`,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Public.Stats(ctx) },
			method: "GET", path: "/v1/stats", public: true,
			check: func(t *testing.T, got any) {
				if s := *got.(*PublicStats); s != (PublicStats{2, 9, 3, 4}) {
					t.Fatalf("got %+v", s)
				}
			}},
	})
}

// TestPublicFlow: against the fake control plane, health and stats answer a client with
// no key at all, and stats count the executions that ran.
func TestPublicFlow(t *testing.T) {
	t.Parallel()
	st := newStack(t, "sh")
	ctx := context.Background()
	anon, err := NewClient(st.srv.URL(), WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	if h, err := anon.Public.Health(ctx); err != nil || h != "ok" {
		t.Fatalf("health %q %v", h, err)
	}
	for i := 0; i < 2; i++ {
		if _, err := st.client.Runs.Create(ctx, RunParams{Code: "true", Language: LanguageBash}); err != nil {
			t.Fatal(err)
		}
	}
	if stats, err := anon.Public.Stats(ctx); err != nil || stats.TotalExecs < 2 || stats.ActiveExecs != 0 {
		t.Fatalf("stats %+v %v", stats, err)
	}
}
