package agentjail_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/format"
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
// wrapped in functions of one generated main package; blocks that start with a package
// clause are complete files and get a package of their own. The packages are written
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

	write := func(pkgDir, src string, origin int) {
		t.Helper()
		formatted, err := format.Source([]byte(src))
		if err != nil {
			t.Fatalf("README.md:%d: does not parse: %v\n%s", origin, err, src)
		}
		if err := os.MkdirAll(pkgDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pkgDir, "snippet.go"), formatted, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkgs := []string{"./" + filepath.ToSlash(filepath.Join(dir, "fragments"))}
	fragments := readmePrelude
	for _, b := range blocks {
		if strings.HasPrefix(strings.TrimSpace(b.code), "package ") {
			pkgDir := filepath.Join(dir, fmt.Sprintf("file%d", b.line))
			write(pkgDir, b.code, b.line)
			pkgs = append(pkgs, "./"+filepath.ToSlash(pkgDir))
			continue
		}
		fragments += readmeFragment(b)
	}
	write(filepath.Join(dir, "fragments"), fragments, 0)

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
