package agentjail_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// readmePrelude wraps the README's code fragments. A fragment may use ctx, client and
// err, and the imports below; each one goes in its own block, so it may also redeclare
// them.
const readmePrelude = `package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

var (
	_ = context.Background
	_ = errors.Is
	_ = fmt.Println
	_ = io.EOF
	_ = log.Println
	_ = slog.Default
	_ = http.MethodGet
	_ = os.Getenv
	_ = exec.Command
	_ = strings.TrimSpace
	_ = time.Second
)

func main() {}
`

// readmeBlock is one fenced go block of README.md.
type readmeBlock struct {
	line int // of the opening fence, 1-based
	code string
}

// readmeGoBlocks returns the ```go blocks of a Markdown document.
func readmeGoBlocks(t *testing.T, doc []byte) []readmeBlock {
	t.Helper()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		buf    strings.Builder
	)
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = &readmeBlock{line: n}
			buf.Reset()
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.code = buf.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			buf.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("README.md:%d: unterminated ```go block", cur.line)
	}
	return blocks
}

// readmePackage returns the package name of a block that is a complete file, one with a
// package clause (possibly after a doc comment).
func readmePackage(b readmeBlock) (string, bool) {
	f, err := parser.ParseFile(token.NewFileSet(), "", b.code, parser.PackageClauseOnly)
	if err != nil {
		return "", false
	}
	return f.Name.Name, true
}

// readmeFragment turns a fragment into a function of the generated main package.
func readmeFragment(b readmeBlock) string {
	var f strings.Builder
	fmt.Fprintf(&f, "\n// README.md:%d\nfunc fragment%d(ctx context.Context, client *agentjail.Client) (err error) {\n\t{\n", b.line, b.line)
	f.WriteString(b.code)
	f.WriteString("\t}\n")
	// A fragment ending in a return statement terminates the block; anything after it
	// would be unreachable code.
	lines := strings.Split(strings.TrimSpace(b.code), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); !strings.HasPrefix(last, "return ") && last != "return" {
		f.WriteString("\treturn err\n")
	}
	f.WriteString("}\n")
	return f.String()
}

// TestReadmeCompiles type-checks and vets every ```go block of README.md. Fragments are
// wrapped in functions of one generated main package; blocks with a package clause are
// complete files, put together by package name. The packages are written
// under a temporary directory inside the module so that they can import it, including
// its internal packages; the directory's leading dot keeps it out of ./... patterns.
func TestReadmeCompiles(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	doc, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeGoBlocks(t, doc)
	if len(blocks) < 5 {
		t.Fatalf("found %d go blocks in README.md; the extraction is broken", len(blocks))
	}

	dir, err := os.MkdirTemp(".", ".readme-")
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		t.Skipf("the module directory is read-only (e.g. in the module cache): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	write := func(pkgDir, file, src string, origin int) {
		t.Helper()
		formatted, err := format.Source([]byte(src))
		if err != nil {
			t.Fatalf("README.md:%d: does not parse: %v\n%s", origin, err, src)
		}
		if err := os.MkdirAll(pkgDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pkgDir, file), formatted, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkgs := []string{"./" + filepath.ToSlash(filepath.Join(dir, "fragments"))}
	fragments := readmePrelude
	for _, b := range blocks {
		if name, ok := readmePackage(b); ok {
			// Files of one package (code and its test) share a directory.
			pkgDir := filepath.Join(dir, "pkg-"+name)
			if _, err := os.Stat(pkgDir); err != nil {
				pkgs = append(pkgs, "./"+filepath.ToSlash(pkgDir))
			}
			write(pkgDir, fmt.Sprintf("block%d.go", b.line), b.code, b.line)
			continue
		}
		fragments += readmeFragment(b)
	}
	write(filepath.Join(dir, "fragments"), "snippet.go", fragments, 0)

	cmd := exec.Command(goBin, append([]string{"vet"}, pkgs...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		// Positions in the output are in the generated fragments file, printed below;
		// each fragment function is named after the README line of its block.
		gen, _ := os.ReadFile(filepath.Join(dir, "fragments", "snippet.go"))
		var numbered strings.Builder
		for i, line := range strings.Split(string(gen), "\n") {
			fmt.Fprintf(&numbered, "%4d  %s\n", i+1, line)
		}
		t.Fatalf("go vet of the README's go blocks failed: %v\n%s\ngenerated fragments file:\n%s", err, out, numbered.String())
	}
}

// TestReadmeShowsTheConsumerModule checks that the README's testing section is the code of
// testdata/consumer, word for word: that module imports agentjailtest from outside, and
// agentjailtest's tests run it, so the code users copy is code that works outside.
func TestReadmeShowsTheConsumerModule(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeGoBlocks(t, doc)
	if _, err := os.Stat(filepath.Join("testdata", "consumer", "go.mod")); errors.Is(err, fs.ErrNotExist) {
		// Module downloads leave out nested modules: this is a copy from the module cache.
		t.Skip("testdata/consumer is not in this copy of the module")
	}
	files, err := filepath.Glob(filepath.Join("testdata", "consumer", "checks", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in testdata/consumer/checks: %v", err)
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, b := range blocks {
			found = found || b.code == string(src)
		}
		if !found {
			t.Errorf("README.md has no ```go block identical to %s", filepath.ToSlash(file))
		}
	}
}
