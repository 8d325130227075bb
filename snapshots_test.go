package agentjail

import (
	"context"
	"testing"
)

// TestSnapshotsRequests: list filters go out only when set; a classic snapshot's null
// manifest entries come back as an empty list; restoring names the snapshot in the body.
func TestSnapshotsRequests(t *testing.T) {
	t.Parallel()
	checkCalls(t, []apiCall{
		{name: "snapshots create", reply: fixtureSnapshot,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Snapshots.Create(ctx, "wrk_abc", SnapshotCreateParams{Name: "baseline"})
			},
			method: "POST", path: "/v1/workspaces/wrk_abc/snapshot", body: `{"name":"baseline"}`,
			check: func(t *testing.T, got any) {
				if s := got.(*Snapshot); s.ID != "snap_xyz" || s.SizeBytes != 12345 || s.TenantID != "acme" {
					t.Fatalf("got %+v", s)
				}
			}},
		{name: "snapshots create unnamed sends {}", reply: fixtureSnapshot,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Snapshots.Create(ctx, "wrk_abc", SnapshotCreateParams{})
			},
			method: "POST", path: "/v1/workspaces/wrk_abc/snapshot", body: `{}`},
		{name: "snapshots list everything", reply: `{"rows":[],"total":0,"limit":5,"offset":5}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Snapshots.List(ctx, SnapshotListParams{WorkspaceID: "wrk_a", Query: "baseline", Limit: 5, Offset: 5})
			},
			method: "GET", path: "/v1/snapshots", query: "limit=5&offset=5&q=baseline&workspace_id=wrk_a"},
		{name: "snapshots manifest incremental",
			reply:  `{"kind":"incremental","entries":[{"path":"a.txt","mode":420,"hash":"ab","size":1},{"path":"bin/x","mode":493,"hash":"cd","size":2}]}`,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Manifest(ctx, "snap_abc") },
			method: "GET", path: "/v1/snapshots/snap_abc/manifest",
			check: func(t *testing.T, got any) {
				m := got.(*SnapshotManifest)
				if m.Kind != ManifestIncremental || len(m.Entries) != 2 || m.Entries[0].Path != "a.txt" || m.Entries[0].Mode != 0o644 || m.Entries[1].Mode != 0o755 {
					t.Fatalf("got %+v", m)
				}
			}},
		{name: "snapshots manifest classic: null entries become empty", reply: `{"kind":"classic","entries":null}`,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Manifest(ctx, "snap_abc") },
			method: "GET", path: "/v1/snapshots/snap_abc/manifest",
			check: func(t *testing.T, got any) {
				m := got.(*SnapshotManifest)
				if m.Kind != ManifestClassic || m.Entries == nil || len(m.Entries) != 0 {
					t.Fatalf("got %+v", m)
				}
			}},
		{name: "snapshots create workspace from", reply: fixtureWorkspace,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Snapshots.CreateWorkspaceFrom(ctx, "snap_xyz", CreateWorkspaceFromParams{ParentWorkspaceID: "wrk_parent", Label: "recovered"})
			},
			method: "POST", path: "/v1/workspaces/from-snapshot",
			body: `{"snapshot_id":"snap_xyz","parent_workspace_id":"wrk_parent","label":"recovered"}`,
			check: func(t *testing.T, got any) {
				if w := got.(*Workspace); w.ID != "wrk_abc" || w.Label != "ci" {
					t.Fatalf("got %+v", w)
				}
			}},

		{name: "snapshot id escaped in manifest", reply: `{"kind":"classic","entries":[]}`,
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Manifest(ctx, "s/1") },
			method: "GET", path: "/v1/snapshots/s%2F1/manifest"},
	})
	checkInvalid(t, []invalidCall{
		{"empty snapshot workspace", func(ctx context.Context, c *Client) error {
			_, err := c.Snapshots.Create(ctx, "", SnapshotCreateParams{})
			return err
		}},
		{"empty snapshot id", func(ctx context.Context, c *Client) error { _, err := c.Snapshots.Get(ctx, ""); return err }},
		{"dot snapshot manifest", func(ctx context.Context, c *Client) error { _, err := c.Snapshots.Manifest(ctx, "."); return err }},
		{"empty snapshot delete", func(ctx context.Context, c *Client) error { return c.Snapshots.Delete(ctx, "") }},
		{"from snapshot without parent", func(ctx context.Context, c *Client) error {
			_, err := c.Snapshots.CreateWorkspaceFrom(ctx, "snap_x", CreateWorkspaceFromParams{Label: "x"})
			return err
		}},
		{"from snapshot with blank parent", func(ctx context.Context, c *Client) error {
			_, err := c.Snapshots.CreateWorkspaceFrom(ctx, "snap_x", CreateWorkspaceFromParams{ParentWorkspaceID: "  "})
			return err
		}},
		{"from snapshot empty snapshot id", func(ctx context.Context, c *Client) error {
			_, err := c.Snapshots.CreateWorkspaceFrom(ctx, "", CreateWorkspaceFromParams{ParentWorkspaceID: "wrk_a"})
			return err
		}},
		{"negative offset", func(ctx context.Context, c *Client) error {
			_, err := c.Snapshots.List(ctx, SnapshotListParams{Offset: -1})
			return err
		}},
	})
}
