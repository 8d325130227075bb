package agentjail

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestCredentialsRequests: ForTenant adds the escaped tenant to every call and "" takes
// it away again; the service is escaped into the path; an empty secret is still sent,
// for the server to reject.
func TestCredentialsRequests(t *testing.T) {
	t.Parallel()
	checkCalls(t, []apiCall{
		{name: "credentials list", reply: "[" + fixtureCredential + "]",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Credentials.List(ctx) },
			method: "GET", path: "/v1/credentials",
			check: func(t *testing.T, got any) {
				creds := got.([]Credential)
				want := Credential{TenantID: "acme", Service: ServiceOpenAI, AddedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
					UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC), Fingerprint: "cbf29ce484222325"}
				if len(creds) != 1 || !creds[0].AddedAt.Equal(want.AddedAt) || !creds[0].UpdatedAt.Equal(want.UpdatedAt) ||
					creds[0].TenantID != want.TenantID || creds[0].Fingerprint != want.Fingerprint || creds[0].Service != want.Service {
					t.Fatalf("got %+v", creds)
				}
			}},
		{name: "credentials put", reply: fixtureCredential,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credentials.Put(ctx, CredentialPutParams{Service: ServiceOpenAI, Secret: "sk-real"})
			},
			method: "POST", path: "/v1/credentials", body: `{"service":"openai","secret":"sk-real"}`,
			check: func(t *testing.T, got any) {
				if got.(*Credential).Service != ServiceOpenAI {
					t.Fatalf("service = %q", got.(*Credential).Service)
				}
			}},
		{name: "credentials put keeps an empty secret for the server to reject", reply: fixtureCredential,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credentials.Put(ctx, CredentialPutParams{Service: ServiceStripe})
			},
			method: "POST", path: "/v1/credentials", body: `{"service":"stripe","secret":""}`},
		{name: "credentials for tenant list",
			reply: "[]",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credentials.ForTenant("acme").List(ctx)
			},
			method: "GET", path: "/v1/credentials", query: "tenant=acme"},
		{name: "credentials for tenant put escapes the tenant", reply: fixtureCredential,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credentials.ForTenant("a&b c").Put(ctx, CredentialPutParams{Service: ServiceGitHub, Secret: "x"})
			},
			method: "POST", path: "/v1/credentials", query: "tenant=a%26b+c", body: `{"service":"github","secret":"x"}`},
		{name: "credentials for tenant delete",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Credentials.ForTenant("acme").Delete(ctx, ServiceStripe)
			},
			method: "DELETE", path: "/v1/credentials/stripe", query: "tenant=acme"},
		{name: "credentials for empty tenant is unscoped", reply: "[]",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credentials.ForTenant("acme").ForTenant("").List(ctx)
			},
			method: "GET", path: "/v1/credentials"},

		{name: "credential service escaped",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.Credentials.Delete(ctx, "open ai/x") },
			method: "DELETE", path: "/v1/credentials/open%20ai%2Fx"},
	})
	checkInvalid(t, []invalidCall{
		{"empty service", func(ctx context.Context, c *Client) error { return c.Credentials.Delete(ctx, "") }},
		{"dotdot service", func(ctx context.Context, c *Client) error { return c.Credentials.Delete(ctx, "..") }},
	})
}

// TestCredentialsFlow: against the fake control plane, a key is put, listed with its
// fingerprint and deleted once; an admin puts and lists another tenant's keys with
// ForTenant, which an operator cannot.
func TestCredentialsFlow(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	ctx := context.Background()
	c, globex, admin := st.client, st.clientFor(t, otherKey), st.clientFor(t, adminKey)

	cred, err := c.Credentials.Put(ctx, CredentialPutParams{Service: ServiceStripe, Secret: "sk_live_x"})
	if err != nil || cred.Service != ServiceStripe || len(cred.Fingerprint) != 16 || cred.TenantID != "acme" {
		t.Fatalf("put %+v %v", cred, err)
	}
	creds, err := c.Credentials.List(ctx)
	if err != nil || len(creds) != 1 || creds[0].Service != ServiceStripe {
		t.Fatalf("list %+v %v", creds, err)
	}
	if err := c.Credentials.Delete(ctx, ServiceStripe); err != nil {
		t.Fatal(err)
	}
	if creds, _ := c.Credentials.List(ctx); len(creds) != 0 {
		t.Fatalf("after delete: %+v", creds)
	}
	if err := c.Credentials.Delete(ctx, ServiceStripe); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}

	if _, err := admin.Credentials.ForTenant("globex").Put(ctx, CredentialPutParams{Service: ServiceGitHub, Secret: "ghp_x"}); err != nil {
		t.Fatal(err)
	}
	if l, err := globex.Credentials.List(ctx); err != nil || len(l) != 1 || l[0].TenantID != "globex" {
		t.Fatalf("globex credentials %+v %v", l, err)
	}
	if l, err := admin.Credentials.ForTenant("acme").List(ctx); err != nil || len(l) != 0 {
		t.Fatalf("admin filtered list %+v %v", l, err)
	}
	if err := c.Credentials.ForTenant("globex").Delete(ctx, ServiceGitHub); !errors.Is(err, ErrNotFound) {
		t.Fatalf("operator targeting another tenant: %v", err)
	}
}
