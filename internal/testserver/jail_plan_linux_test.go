package testserver

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// fakeHost is a host file system given as its directories and regular files.
type fakeHost struct{ dirs, files []string }

func (h fakeHost) isDir(p string) bool     { return slices.Contains(h.dirs, p) }
func (h fakeHost) isRegular(p string) bool { return slices.Contains(h.files, p) }

// render is one line per step: kind, source, destination under the root, flags, options.
func render(plan []mountStep, root string) []string {
	names := map[mountKind]string{bindDir: "bind-dir", bindFile: "bind-file", tmpfsAt: "tmpfs", procAt: "proc", mkdirAt: "mkdir"}
	flagNames := []struct {
		bit  uintptr
		name string
	}{{syscall.MS_RDONLY, "ro"}, {syscall.MS_NOSUID, "nosuid"}, {syscall.MS_NODEV, "nodev"}, {syscall.MS_NOEXEC, "noexec"}}
	var out []string
	for _, st := range plan {
		var flags []string
		for _, f := range flagNames {
			if st.flags&f.bit != 0 {
				flags = append(flags, f.name)
			}
		}
		line := fmt.Sprintf("%s %s %s %s %s", names[st.kind], st.src, strings.TrimPrefix(st.dst, root), strings.Join(flags, ","), st.opts)
		out = append(out, strings.Join(strings.Fields(line), " "))
	}
	return out
}

// TestMountPlan: a jail's root is the host's system directories and a few /etc files read-only,
// private /etc, /tmp, /proc and /dev, the workspace (read-only unless writable), /output (a tmpfs
// unless a host directory is given), the flavors read-only and the extra binds writable, in
// that order; host paths that are missing or of the wrong kind are left out.
func TestMountPlan(t *testing.T) {
	t.Parallel()
	host := fakeHost{
		dirs:  []string{"/usr", "/bin", "/lib", "/etc/passwd"},
		files: []string{"/etc/resolv.conf", "/etc/passwd", "/etc/ssl/certs/ca-certificates.crt", "/lib64"},
	}
	common := func(workspace string, tail ...string) []string {
		head := []string{
			"bind-dir /usr /usr ro,nosuid,nodev",
			"bind-dir /bin /bin ro,nosuid,nodev",
			"bind-dir /lib /lib ro,nosuid,nodev",
			"tmpfs /etc nosuid,nodev size=1m,mode=1777",
			"bind-file /etc/resolv.conf /etc/resolv.conf ro,nosuid,nodev",
			"bind-file /etc/passwd /etc/passwd ro,nosuid,nodev",
			"bind-file /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt ro,nosuid,nodev",
			"tmpfs /tmp nosuid,nodev,noexec size=100m,mode=1777",
			"proc /proc",
			"mkdir /dev",
			"bind-file /dev/null /dev/null nosuid",
			"bind-file /dev/zero /dev/zero ro,nosuid",
			"bind-file /dev/urandom /dev/urandom ro,nosuid",
			"bind-file /dev/random /dev/random ro,nosuid",
			workspace,
		}
		return append(head, tail...)
	}
	tests := []struct {
		name string
		spec jailSpec
		want []string
	}{
		{
			name: "run",
			spec: jailSpec{Root: "/r", Workspace: "/ws"},
			want: common("bind-dir /ws /workspace ro,nosuid,nodev", "tmpfs /output nosuid,nodev size=100m,mode=0755"),
		},
		{
			name: "workspace exec with an output, flavors and binds",
			spec: jailSpec{
				Root: "/r", Workspace: "/ws", WorkspaceRW: true, Output: "/out",
				Flavors: []flavor{{Name: "py", Dir: "/fl/py"}, {Name: "node", Dir: "/fl/node"}}, Binds: []string{"/shared"},
			},
			want: common("bind-dir /ws /workspace nosuid,nodev",
				"bind-dir /out /output nosuid,nodev",
				"bind-dir /fl/py /opt/flavors/py ro,nosuid,nodev",
				"bind-dir /fl/node /opt/flavors/node ro,nosuid,nodev",
				"bind-dir /shared /shared nosuid,nodev"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plan := mountPlan(tt.spec, host)
			if got := render(plan, tt.spec.Root); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, st := range plan {
				if !strings.HasPrefix(st.dst, tt.spec.Root+"/") {
					t.Errorf("%s is outside the root %s", st.dst, tt.spec.Root)
				}
			}
		})
	}
}

// TestRealHost: the real host's answers follow symlinks and tell directories from files.
func TestRealHost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "l")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path         string
		dir, regular bool
	}{
		{dir, true, false},
		{link, true, false},
		{file, false, true},
		{filepath.Join(dir, "missing"), false, false},
	}
	for _, tt := range tests {
		if got := (realHost{}).isDir(tt.path); got != tt.dir {
			t.Errorf("isDir(%s) = %v, want %v", tt.path, got, tt.dir)
		}
		if got := (realHost{}).isRegular(tt.path); got != tt.regular {
			t.Errorf("isRegular(%s) = %v, want %v", tt.path, got, tt.regular)
		}
	}
}

// TestDecodeJailSpec: the inside half refuses a spec it cannot read and one with nothing to run.
func TestDecodeJailSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		wantErr string
		argv    []string
	}{
		{name: "command", in: `{"Root":"/r","Argv":["/bin/true","x"]}`, argv: []string{"/bin/true", "x"}},
		{name: "probe without a command", in: `{"Root":"/r","Probe":true}`},
		{name: "empty command", in: `{"Root":"/r","Argv":[]}`, wantErr: "empty command"},
		{name: "not json", in: `{`, wantErr: "decoding spec: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec, err := decodeJailSpec([]byte(tt.in))
			switch {
			case tt.wantErr != "":
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case !reflect.DeepEqual(spec.Argv, tt.argv) || spec.Root != "/r":
				t.Errorf("spec = %+v", spec)
			}
		})
	}
}

// TestMountPoint: a directory mount point is created with its parents; a file mount point is an
// empty file in created directories, and whatever is already there is kept.
func TestMountPoint(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	existing := filepath.Join(root, "etc", "kept")
	if err := os.MkdirAll(filepath.Dir(existing), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(existing, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(root, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dst     string
		dir     bool
		want    string // "dir", "empty" or the file's content
		wantErr bool
	}{
		{name: "directory", dst: filepath.Join(root, "a", "b"), dir: true, want: "dir"},
		{name: "file", dst: filepath.Join(root, "dev", "null"), want: "empty"},
		{name: "existing file", dst: existing, want: "data"},
		{name: "directory under a file", dst: filepath.Join(blocker, "d"), dir: true, wantErr: true},
		{name: "file under a file", dst: filepath.Join(blocker, "f"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mountPoint(tt.dst, tt.dir)
			if tt.wantErr {
				if err == nil {
					t.Fatal("mountPoint succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(tt.dst)
			if err != nil {
				t.Fatal(err)
			}
			got := "dir"
			if !fi.IsDir() {
				b, _ := os.ReadFile(tt.dst)
				got = cmp.Or(string(b), "empty")
			}
			if got != tt.want {
				t.Errorf("%s is %q, want %q", tt.dst, got, tt.want)
			}
		})
	}
}
