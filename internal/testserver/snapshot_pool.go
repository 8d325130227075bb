package testserver

// Incremental ("content-addressed") snapshots, used when a snapshot pool directory is set (the
// real server's AGENTJAIL_SNAPSHOT_POOL_DIR): every file of the workspace is stored once in the
// pool under its BLAKE3 hash (<pool>/<first two hex digits>/<hash>), and the snapshot itself is
// only a manifest.json (format version 2) listing path, mode, hash, size and mtime_ns. Restores
// read the blobs back. Deleting a snapshot, by hand or by GC, leaves its blobs in the pool, as in
// the real server, which never collects them. Empty directories are not recorded.

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
)

// manifestFile is the name of an incremental snapshot's manifest inside its directory.
const manifestFile = "manifest.json"

// manifestVersion is the format version the real engine writes (BLAKE3 hashes, mtime_ns).
const manifestVersion = 2

// snapshotManifest is the stored manifest, written like the real engine's (pretty JSON with
// version and entries); GET /v1/snapshots/{id}/manifest serves its entries without mtime_ns.
type snapshotManifest struct {
	Version uint32      `json:"version"`
	Entries []poolEntry `json:"entries"`
}

// poolEntry is one stored manifest entry: the served fields plus the file's modification time
// in nanoseconds since the Unix epoch.
type poolEntry struct {
	manifestEntry
	MtimeNs *uint64 `json:"mtime_ns,omitempty"`
}

// served is the manifest's entries as the manifest route lists them.
func (m snapshotManifest) served() []manifestEntry {
	out := make([]manifestEntry, 0, len(m.Entries))
	for _, e := range m.Entries {
		out = append(out, e.manifestEntry)
	}
	return out
}

// modeRegular is the Unix file type bits of a regular file, as the real server reports
// modes (st_mode). Incremental snapshots record regular files only.
const modeRegular = 0o100000

// unixMode renders a regular file's mode as st_mode: type bits, permissions and the setuid,
// setgid and sticky bits.
func unixMode(m fs.FileMode) uint32 {
	mode := uint32(modeRegular) | uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// setSnapshotPoolDir turns incremental snapshots on (dir) or off (""); later snapshots follow it.
func (e *execEngine) setSnapshotPoolDir(dir string) {
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	e.poolDir = dir
}

func (e *execEngine) snapshotPoolDir() string {
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	return e.poolDir
}

// blobPath is where content with the given hex hash lives in pool: <pool>/<first two hex
// digits>/<hash>, the real engine's layout, so a pool can be shared with it.
func blobPath(pool, hash string) string { return filepath.Join(pool, hash[:2], hash) }

// writeIncremental stores every file under src in pool and writes the manifest into snapDir. It
// returns the manifest's logical size: the sum of the entry sizes.
func writeIncremental(src, snapDir, pool string) (uint64, error) {
	m := snapshotManifest{Version: manifestVersion}
	var total uint64
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		// Like the real engine, only regular files are captured: symlinks, sockets, fifos
		// and devices are skipped.
		if !info.Mode().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := unixMode(info.Mode())
		sum := blake3Sum256(data)
		hash := hex.EncodeToString(sum[:])
		if err := putBlob(pool, hash, data); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		mtime := uint64(max(info.ModTime().UnixNano(), 0))
		m.Entries = append(m.Entries, poolEntry{
			manifestEntry: manifestEntry{Path: filepath.ToSlash(rel), Mode: mode, Hash: hash, Size: uint64(len(data))},
			MtimeNs:       &mtime,
		})
		total += uint64(len(data))
		return nil
	})
	if err != nil {
		return 0, err
	}
	if m.Entries == nil {
		m.Entries = []poolEntry{}
	}
	// Sorted by the whole path string, as the real manifest is (a walk visits "a/b" before
	// "a.txt"; a byte-wise sort puts "a.txt" first).
	sort.Slice(m.Entries, func(i, j int) bool { return m.Entries[i].Path < m.Entries[j].Path })
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return 0, err
	}
	return total, os.WriteFile(filepath.Join(snapDir, manifestFile), b, 0o644)
}

// putBlob stores data under hash unless the pool already has it.
func putBlob(pool, hash string, data []byte) error {
	dst := blobPath(pool, hash)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".blob-")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), dst)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}

// loadManifest reads an incremental snapshot's manifest; false means the snapshot is classic (or
// its manifest is unreadable, which the real server also reports as classic).
func loadManifest(snapDir string) (snapshotManifest, bool) {
	b, err := os.ReadFile(filepath.Join(snapDir, manifestFile))
	if err != nil {
		return snapshotManifest{}, false
	}
	var m struct {
		Version *uint32     `json:"version"`
		Entries []poolEntry `json:"entries"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Version == nil || m.Entries == nil {
		return snapshotManifest{}, false
	}
	return snapshotManifest{Version: *m.Version, Entries: m.Entries}, true
}

// restoreIncremental recreates the files of m under dst from pool.
func restoreIncremental(m snapshotManifest, pool, dst string) error {
	for _, en := range m.Entries {
		clean := path.Clean("/" + en.Path)[1:]
		if clean == "" || clean != en.Path {
			return errors.New("manifest entry outside the snapshot: " + en.Path)
		}
		target := filepath.Join(dst, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if _, err := hex.DecodeString(en.Hash); err != nil || len(en.Hash) != 64 {
			return errors.New("manifest entry with a bad hash: " + en.Path)
		}
		data, err := os.ReadFile(blobPath(pool, en.Hash))
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, fs.FileMode(en.Mode&0o777)); err != nil {
			return err
		}
	}
	return nil
}
