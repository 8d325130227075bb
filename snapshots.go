package agentjail

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Snapshot is a saved copy of a workspace's files.
type Snapshot struct {
	ID          string    `json:"id"`           // "snap_" + 24 hex characters
	TenantID    string    `json:"tenant_id"`    // owner, taken from the workspace
	WorkspaceID string    `json:"workspace_id"` // "" if unknown
	Name        string    `json:"name"`         // "" if unnamed; "fork-origin:<id>" and "auto:<id>" are made by the server
	CreatedAt   time.Time `json:"created_at"`   // when it was taken
	Path        string    `json:"path"`         // host path of the stored copy
	SizeBytes   int64     `json:"size_bytes"`   // logical size for incremental snapshots, on-disk size for classic ones
}

// ManifestKind says how a snapshot is stored.
type ManifestKind string

// The snapshot storage kinds.
const (
	ManifestIncremental ManifestKind = "incremental" // content-addressed; Entries lists every file
	ManifestClassic     ManifestKind = "classic"     // a full copy; Entries is empty
)

// SnapshotManifest lists the files of a snapshot.
type SnapshotManifest struct {
	Kind    ManifestKind    `json:"kind"`    // ManifestClassic also when the manifest could not be read
	Entries []ManifestEntry `json:"entries"` // empty, never nil, for classic snapshots
}

// ManifestEntry is one file of an incremental snapshot.
type ManifestEntry struct {
	Path string `json:"path"` // relative, "/"-separated
	Mode uint32 `json:"mode"` // Unix permission bits, e.g. 0o644
	Hash string `json:"hash"` // hex BLAKE3-256 of the content
	Size int64  `json:"size"` // content length in bytes
}

// SnapshotCreateParams are the arguments of SnapshotsService.Create.
type SnapshotCreateParams struct {
	Name string // optional
}

func (p SnapshotCreateParams) body() (any, error) {
	return struct {
		Name string `json:"name,omitempty"`
	}{p.Name}, nil
}

// SnapshotListParams select a page of snapshots. Zero values are not sent.
type SnapshotListParams struct {
	WorkspaceID string // only snapshots of this workspace
	Limit       int    // 0 = server default (50), at most 500
	Offset      int    // rows to skip
	Query       string // case-insensitive substring of ID, name or workspace ID
}

func (p SnapshotListParams) query() (url.Values, error) {
	return page{p.Limit, p.Offset, p.Query, [][2]string{{"workspace_id", p.WorkspaceID}}}.query()
}

// SnapshotList is one page of snapshots, newest first.
type SnapshotList struct {
	Rows   []Snapshot `json:"rows"`   // this page, newest first
	Total  int64      `json:"total"`  // rows matching, across all pages
	Limit  int64      `json:"limit"`  // as requested (the server echoes it unclamped)
	Offset int64      `json:"offset"` // as requested
}

// CreateWorkspaceFromParams are the arguments of SnapshotsService.CreateWorkspaceFrom.
type CreateWorkspaceFromParams struct {
	// ParentWorkspaceID is the workspace the snapshot was taken of (required); it must
	// still exist.
	ParentWorkspaceID string
	Label             string // "" = a generated slug
}

// body names the snapshot in the body: the route has no ID in its path.
func (p CreateWorkspaceFromParams) body(snapshotID string) (any, error) {
	if err := checkID("snapshot", snapshotID); err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.ParentWorkspaceID) == "" {
		return nil, invalidf("CreateWorkspaceFrom needs ParentWorkspaceID")
	}
	return struct {
		SnapshotID        string `json:"snapshot_id"`
		ParentWorkspaceID string `json:"parent_workspace_id"`
		Label             string `json:"label,omitempty"`
	}{snapshotID, p.ParentWorkspaceID, p.Label}, nil
}

// SnapshotsService manages workspace snapshots (/v1/snapshots).
type SnapshotsService struct{ c *Client }

// Create snapshots the workspace's files. It returns an error matching ErrNotFound when
// the workspace is not visible.
func (s *SnapshotsService) Create(ctx context.Context, workspaceID string, p SnapshotCreateParams) (*Snapshot, error) {
	return doJSON[Snapshot](ctx, s.c, call{method: http.MethodPost, path: path("/v1/workspaces", workspaceID, "snapshot"), body: p})
}

// List returns one page of snapshots, newest first, including the server's own
// "fork-origin:" and "auto:" snapshots.
func (s *SnapshotsService) List(ctx context.Context, p SnapshotListParams) (*SnapshotList, error) {
	return doJSON[SnapshotList](ctx, s.c, call{method: http.MethodGet, path: path("/v1/snapshots"), query: p})
}

// All ranges over every snapshot matching p, fetching pages lazily. Breaking out of the
// loop stops fetching; an error is yielded once.
func (s *SnapshotsService) All(ctx context.Context, p SnapshotListParams) iter.Seq2[Snapshot, error] {
	return listAll(ctx, p, p.Limit, p.Offset, SnapshotListParams.at, s.List, (*SnapshotList).rows)
}

// Get returns a snapshot, or an error matching ErrNotFound.
func (s *SnapshotsService) Get(ctx context.Context, id string) (*Snapshot, error) {
	return doJSON[Snapshot](ctx, s.c, call{method: http.MethodGet, path: path("/v1/snapshots", id)})
}

// Manifest returns the file list of a snapshot (empty for classic snapshots).
func (s *SnapshotsService) Manifest(ctx context.Context, id string) (*SnapshotManifest, error) {
	var out SnapshotManifest
	if err := s.c.do(ctx, call{method: http.MethodGet, path: path("/v1/snapshots", id, "manifest")}, &out); err != nil {
		return nil, err
	}
	if out.Entries == nil {
		out.Entries = []ManifestEntry{}
	}
	return &out, nil
}

// Delete removes a snapshot. It is not idempotent: a second Delete returns an error
// matching ErrNotFound.
func (s *SnapshotsService) Delete(ctx context.Context, id string) error {
	return s.c.do(ctx, call{method: http.MethodDelete, path: path("/v1/snapshots", id)}, nil)
}

// CreateWorkspaceFrom restores a snapshot into a new workspace that inherits the
// parent's configuration. It returns an error matching ErrInvalidParams, without sending
// anything, when ParentWorkspaceID is empty, and one matching ErrNotFound when the
// snapshot does not belong to that parent or the parent was deleted.
func (s *SnapshotsService) CreateWorkspaceFrom(ctx context.Context, snapshotID string, p CreateWorkspaceFromParams) (*Workspace, error) {
	body, err := p.body(snapshotID)
	if err != nil {
		return nil, err
	}
	return doJSON[Workspace](ctx, s.c, call{method: http.MethodPost, path: path("/v1/workspaces/from-snapshot"), body: body})
}
