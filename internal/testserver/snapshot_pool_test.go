//go:build unix

package testserver

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestIncrementalSnapshots: with a pool directory a snapshot is a manifest over blobs stored once
// by hash, and restores and forks rebuild the files from it.
func TestIncrementalSnapshots(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	pool := t.TempDir()
	srv.exec.setSnapshotPoolDir(pool)
	ws := createWS(t, srv, "", map[string]any{})
	wsExec(t, srv, "", ws.ID, "/bin/sh", "-c", "mkdir -p sub && printf hello > a.txt && printf hello > sub/same.txt && printf '#!/bin/sh\\necho run\\n' > sub/run.sh && chmod 755 sub/run.sh && ln -s a.txt link")
	var snap snapshotRecord
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+ws.ID+"/snapshot", map[string]any{"name": "inc"}).wantJSON(t, 201, &snap)
	// The symlink is not captured: the real engine snapshots regular files only.
	if want := uint64(5 + 5 + 19); snap.SizeBytes != want {
		t.Errorf("size_bytes %d, want the logical sum %d", snap.SizeBytes, want)
	}
	var man struct {
		Kind    string          `json:"kind"`
		Entries []manifestEntry `json:"entries"`
	}
	apiCall(t, srv, "", "GET", "/v1/snapshots/"+snap.ID+"/manifest", nil).wantJSON(t, 200, &man)
	hello := blake3Sum256([]byte("hello"))
	want := map[string]manifestEntry{
		"a.txt":        {Path: "a.txt", Mode: 0o100644, Hash: hex.EncodeToString(hello[:]), Size: 5},
		"sub/same.txt": {Path: "sub/same.txt", Mode: 0o100644, Hash: hex.EncodeToString(hello[:]), Size: 5},
	}
	got := map[string]manifestEntry{}
	for _, e := range man.Entries {
		got[e.Path] = e
	}
	if _, ok := got["link"]; man.Kind != "incremental" || len(man.Entries) != 3 || got["a.txt"] != want["a.txt"] || got["sub/same.txt"] != want["sub/same.txt"] ||
		got["sub/run.sh"].Mode != 0o100755 || ok {
		t.Fatalf("manifest %+v", man)
	}
	// Identical content is stored once, at <pool>/<two hex digits>/<hash> like the real engine.
	var blobs []string
	_ = filepath.WalkDir(pool, func(p string, d fs.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			rel, _ := filepath.Rel(pool, p)
			blobs = append(blobs, rel)
		}
		return nil
	})
	helloHex := hex.EncodeToString(hello[:])
	if len(blobs) != 2 || !slices.Contains(blobs, filepath.Join(helloHex[:2], helloHex)) {
		t.Errorf("pool holds %v, want 2 blobs, one at %s/%s", blobs, helloHex[:2], helloHex)
	}
	// The stored manifest is the real engine's format: pretty JSON, version 2, mtime_ns.
	raw, err := os.ReadFile(filepath.Join(snap.Path, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var stored struct {
		Version *int `json:"version"`
		Entries []struct {
			Path    string  `json:"path"`
			MtimeNs *uint64 `json:"mtime_ns"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(raw, &stored); err != nil || stored.Version == nil || *stored.Version != 2 || len(stored.Entries) != 3 ||
		stored.Entries[0].MtimeNs == nil || *stored.Entries[0].MtimeNs == 0 || !strings.HasPrefix(string(raw), "{\n  \"version\": 2,\n  \"entries\": [\n    {\n      \"path\": ") {
		t.Fatalf("manifest.json:\n%s", raw)
	}

	var restored workspace
	apiCall(t, srv, "", "POST", "/v1/workspaces/from-snapshot", map[string]any{"snapshot_id": snap.ID, "parent_workspace_id": ws.ID}).wantJSON(t, 201, &restored)
	if out := wsExec(t, srv, "", restored.ID, "/bin/sh", "-c", "cat a.txt sub/same.txt; ./sub/run.sh; test -e link || echo nolink"); out.Stdout != "hellohellorun\nnolink\n" {
		t.Fatalf("restored: %+v", out)
	}
	var fork forkWorkspaceResponse
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+restored.ID+"/fork", map[string]any{"count": 2}).wantJSON(t, 201, &fork)
	if out := wsExec(t, srv, "", fork.Forks[1].ID, "/bin/cat", "sub/same.txt"); out.Stdout != "hello" {
		t.Fatalf("fork: %+v", out)
	}

	// Without a pool the same snapshot cannot be restored.
	srv.exec.setSnapshotPoolDir("")
	apiCall(t, srv, "", "POST", "/v1/workspaces/from-snapshot", map[string]any{"snapshot_id": snap.ID, "parent_workspace_id": ws.ID}).
		wantError(t, 400, "bad request: snapshot is content-addressed but AGENTJAIL_SNAPSHOT_POOL_DIR is not set")
	apiCall(t, srv, "", "DELETE", "/v1/snapshots/"+snap.ID, nil).wantEmpty(t, 204)
	if _, err := os.Stat(blobPath(pool, helloHex)); err != nil {
		t.Errorf("blobs were removed with the snapshot: %v", err)
	}
}

// TestIncrementalManifest: incremental manifests list regular files only (the real engine skips
// symlinks at capture), sorted by the full path string.
func TestIncrementalManifest(t *testing.T) {
	t.Parallel()
	s := Start(t, WithSnapshotPoolDir(t.TempDir()))
	ws := createWS(t, s, "", map[string]any{})
	wsExec(t, s, "", ws.ID, "/bin/sh", "-c", `mkdir -p a && printf x > a/b && printf yy > a.txt && ln -s a.txt link && chmod 755 a.txt`)
	var snap snapshotRecord
	wireDo(t, "POST", s.URL()+"/v1/workspaces/"+ws.ID+"/snapshot", `{}`).wantJSON(t, 201, &snap)
	var m struct {
		Kind    string          `json:"kind"`
		Entries []manifestEntry `json:"entries"`
	}
	wireDo(t, "GET", s.URL()+"/v1/snapshots/"+snap.ID+"/manifest", "").wantJSON(t, 200, &m)
	var got []string
	for _, e := range m.Entries {
		got = append(got, fmt.Sprintf("%s %o %d", e.Path, e.Mode, e.Size))
	}
	tests := []struct {
		name, got, want string
	}{
		{name: "kind", got: m.Kind, want: "incremental"},
		{name: "entries", got: strings.Join(got, ","), want: "a.txt 100755 2,a/b 100644 1"},
		{name: "size_bytes", got: fmt.Sprint(snap.SizeBytes), want: "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// TestUnixMode: a regular file's mode is reported as st_mode, with the setuid, setgid and sticky
// bits in their Unix places.
func TestUnixMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   fs.FileMode
		want uint32
	}{
		{0o644, 0o100644},
		{0o755 | fs.ModeSetuid, 0o104755},
		{0o755 | fs.ModeSetgid, 0o102755},
		{0o777 | fs.ModeSticky, 0o101777},
		{0o700 | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky, 0o107700},
	}
	for _, tt := range tests {
		if got := unixMode(tt.in); got != tt.want {
			t.Errorf("unixMode(%v) = %o, want %o", tt.in, got, tt.want)
		}
	}
}

// TestLoadManifest: a snapshot whose manifest is missing, not JSON, or lacks its version or
// entries is a classic one.
func TestLoadManifest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, manifest string
		ok             bool
	}{
		{name: "missing"},
		{name: "not json", manifest: "{"},
		{name: "no version", manifest: `{"entries":[]}`},
		{name: "no entries", manifest: `{"version":2}`},
		{name: "empty", manifest: `{"version":2,"entries":[]}`, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tt.manifest != "" {
				if err := os.WriteFile(filepath.Join(dir, manifestFile), []byte(tt.manifest), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, ok := loadManifest(dir); ok != tt.ok {
				t.Errorf("loadManifest ok = %v, want %v", ok, tt.ok)
			}
		})
	}
}

// TestRestoreIncrementalRefuses: a manifest entry that leaves the snapshot, has a malformed hash
// or names a blob the pool lacks stops the restore.
func TestRestoreIncrementalRefuses(t *testing.T) {
	t.Parallel()
	pool := t.TempDir()
	data := []byte("hello")
	sum := blake3Sum256(data)
	hash := hex.EncodeToString(sum[:])
	if err := putBlob(pool, hash, data); err != nil {
		t.Fatal(err)
	}
	missing := strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		entry   manifestEntry
		wantErr string
	}{
		{name: "restored", entry: manifestEntry{Path: "dir/f.txt", Mode: 0o100640, Hash: hash}},
		{name: "parent directory", entry: manifestEntry{Path: "../x", Hash: hash}, wantErr: "manifest entry outside the snapshot: ../x"},
		{name: "absolute", entry: manifestEntry{Path: "/etc/x", Hash: hash}, wantErr: "manifest entry outside the snapshot: /etc/x"},
		{name: "empty path", entry: manifestEntry{Hash: hash}, wantErr: "manifest entry outside the snapshot: "},
		{name: "short hash", entry: manifestEntry{Path: "f", Hash: "abcd"}, wantErr: "manifest entry with a bad hash: f"},
		{name: "hash not hex", entry: manifestEntry{Path: "f", Hash: strings.Repeat("zz", 32)}, wantErr: "manifest entry with a bad hash: f"},
		{name: "blob missing", entry: manifestEntry{Path: "f", Hash: missing}, wantErr: "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dst := t.TempDir()
			err := restoreIncremental(snapshotManifest{Version: manifestVersion, Entries: []poolEntry{{manifestEntry: tt.entry}}}, pool, dst)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(filepath.Join(dst, "dir", "f.txt"))
				if err != nil || string(got) != "hello" {
					t.Fatalf("restored %q, %v", got, err)
				}
				if fi, _ := os.Stat(filepath.Join(dst, "dir", "f.txt")); fi.Mode().Perm() != 0o640 {
					t.Errorf("mode %v, want 0640", fi.Mode())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
