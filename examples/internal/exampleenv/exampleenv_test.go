package exampleenv

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentjail/agentjail-go/agentjailtest"
)

// TestConnect cannot be parallel: it sets $AGENTJAIL_URL.
func TestConnect(t *testing.T) {
	remote := agentjailtest.NewServer(t)
	tests := []struct {
		name         string
		url          string
		wantEmbedded bool
		wantOut      string // substring of the notice; "" means no output at all
	}{
		{name: "unset starts the fake", url: "", wantEmbedded: true, wantOut: "(it runs code on this host, NOT in a sandbox)"},
		{name: "blank starts the fake", url: "  ", wantEmbedded: true, wantOut: "AGENTJAIL_URL is not set"},
		{name: "set uses it", url: remote.URL(), wantEmbedded: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AGENTJAIL_URL", tt.url)
			var out bytes.Buffer
			env, err := Connect(&out)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := env.Close(); err != nil {
					t.Error(err)
				}
			})
			if env.Embedded() != tt.wantEmbedded {
				t.Errorf("Embedded() = %v, want %v", env.Embedded(), tt.wantEmbedded)
			}
			switch {
			case tt.wantOut == "" && out.Len() != 0:
				t.Errorf("unexpected output %q", out.String())
			case tt.wantOut != "" && (!strings.Contains(out.String(), tt.wantOut) || strings.Count(out.String(), "\n") != 1):
				t.Errorf("output %q: want one line containing %q", out.String(), tt.wantOut)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if got, err := env.Client.Public.Health(ctx); err != nil || got != "ok" {
				t.Errorf("Health() = %q, %v", got, err)
			}
		})
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{name: "phantom token", in: "phm_0123456789abcdef", want: "phm_012…"},
		{name: "short secret is hidden entirely", in: "sk-1234", want: "…"},
		{name: "empty", in: "", want: "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Mask(tt.in); got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestUpstreamRecordsAuthorization(t *testing.T) {
	t.Parallel()
	u := NewUpstream(`{"ok":true}`)
	t.Cleanup(u.Close)
	for _, auth := range []string{"Bearer a", "Bearer b"} {
		req, err := http.NewRequest(http.MethodGet, u.URL()+"/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != `{"ok":true}` {
			t.Errorf("body %q", body)
		}
	}
	if got := u.Authorizations(); len(got) != 2 || got[0] != "Bearer a" || got[1] != "Bearer b" {
		t.Errorf("Authorizations() = %q", got)
	}
}
