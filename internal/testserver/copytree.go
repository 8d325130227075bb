package testserver

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// copyTree copies the directory tree src into dst (which may exist), preserving file modes, and
// reports the regular files and bytes copied. Like the real engine's snapshot and fork copies,
// only directories and regular files are copied: symlinks (which could point outside the tree)
// and special files are skipped.
func copyTree(src, dst string) (files, bytes uint64, err error) {
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode().IsRegular():
			n, err := copyFile(path, target, info.Mode().Perm())
			files++
			bytes += uint64(n)
			return err
		default:
			return nil // symlinks, sockets, fifos and devices are not part of a copy
		}
	})
	return files, bytes, err
}

func copyFile(src, dst string, perm fs.FileMode) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}
