package agentjail

import (
	"context"
	"testing"
)

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
