package testserver

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// realServerRoutes are the routes the real control plane registers, public ones first.
var realServerRoutes = []string{
	"GET /healthz", "GET /v1/stats",
	"POST /v1/credentials", "GET /v1/credentials", "DELETE /v1/credentials/{service}",
	"POST /v1/sessions", "GET /v1/sessions", "GET /v1/sessions/{id}", "DELETE /v1/sessions/{id}",
	"POST /v1/sessions/{id}/exec",
	"POST /v1/runs", "POST /v1/runs/fork", "POST /v1/runs/stream",
	"GET /v1/audit", "GET /v1/config", "GET /v1/whoami", "GET /v1/flavors",
	"GET /v1/jails", "GET /v1/jails/{id}",
	"POST /v1/workspaces", "GET /v1/workspaces", "GET /v1/workspaces/{id}", "PATCH /v1/workspaces/{id}",
	"DELETE /v1/workspaces/{id}", "POST /v1/workspaces/{id}/exec", "POST /v1/workspaces/{id}/fork",
	"POST /v1/workspaces/{id}/snapshot", "POST /v1/workspaces/from-snapshot",
	"GET /v1/snapshots", "GET /v1/snapshots/{id}", "DELETE /v1/snapshots/{id}", "GET /v1/snapshots/{id}/manifest",
}

// TestRouteTableIsTheRealServers: the table holds exactly the real server's routes, and only
// the two public ones need no key.
func TestRouteTableIsTheRealServers(t *testing.T) {
	t.Parallel()
	s := Start(t)
	var got, publicRoutes []string
	for _, rt := range s.routes() {
		got = append(got, rt.method+" "+rt.path)
		if rt.access == public {
			publicRoutes = append(publicRoutes, rt.method+" "+rt.path)
		}
	}
	want := slices.Clone(realServerRoutes)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("routes\n%q\nwant\n%q", got, want)
	}
	if !slices.Equal(publicRoutes, []string{"GET /healthz", "GET /v1/stats"}) {
		t.Fatalf("public routes %q", publicRoutes)
	}
}

// TestEveryRouteIsServed sends each row of the route table, with its parameters filled in and an
// empty body, and checks that the row's own handler answered: the router neither fell back to
// its empty 404 nor refused the method with a 405.
func TestEveryRouteIsServed(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, rt := range s.routes() {
		path := rt.path
		for _, param := range []string{"{id}", "{service}"} {
			path = strings.ReplaceAll(path, param, "x")
		}
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(rt.method, s.URL()+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusMethodNotAllowed || (resp.StatusCode == http.StatusNotFound && resp.ContentLength == 0) {
				t.Fatalf("%s %s: %d (content length %d), the router did not reach the handler", rt.method, path, resp.StatusCode, resp.ContentLength)
			}
		})
	}
}
