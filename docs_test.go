package qoder_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readme returns README.md.
func readme(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	return string(data)
}

// goDoc runs go doc with args and returns its output.
func goDoc(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", append([]string{"doc"}, args...)...).CombinedOutput()
	require.NoError(t, err, "go doc %s\n%s", strings.Join(args, " "), out)
	return string(out)
}

// TestREADMEGoDoc checks what the README says go doc shows: every go doc
// command it gives works, the one it says prints every method does, and
// plain go doc, which it says shows none, shows none.
func TestREADMEGoDoc(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go doc")
	}
	t.Parallel()
	text := readme(t)
	for _, m := range regexp.MustCompile("`go doc ([^`]+)`").FindAllStringSubmatch(text, -1) {
		goDoc(t, strings.Fields(m[1])...)
	}

	const allClaim = "`go doc -all github.com/qoder-go/qoder` prints every method"
	require.True(t, strings.Contains(text, allClaim), "the README says %s", allClaim)
	all := goDoc(t, "-all", "github.com/qoder-go/qoder")
	for _, method := range []string{
		"func (s *SessionsService) Run(",
		"func (s *AgentsService) Create(",
		"func (s *EventsService) Stream(",
		"func (s *SessionThreadsService) Stream(",
	} {
		assert.Contains(t, all, method)
	}
	assert.Contains(t, all, "API: POST /sessions/{session_id}/events", "with its endpoint")

	const plainClaim = "Plain `go doc github.com/qoder-go/qoder` shows the package's overview, types and functions, but no methods."
	require.True(t, strings.Contains(strings.Join(strings.Fields(text), " "), plainClaim), "the README says %s", plainClaim)
	assert.NotContains(t, goDoc(t, "github.com/qoder-go/qoder"), "func (")
}

// TestREADMETestingSnippet checks that the README's qodertest snippet is a
// whole test file that says where require and assert come from.
func TestREADMETestingSnippet(t *testing.T) {
	t.Parallel()
	text := readme(t)
	_, section, ok := strings.Cut(text, "## Testing your code with qodertest")
	require.True(t, ok)
	_, snippet, ok := strings.Cut(section, "```go\n")
	require.True(t, ok)
	snippet, _, ok = strings.Cut(snippet, "```")
	require.True(t, ok)

	f, err := parser.ParseFile(token.NewFileSet(), "snippet_test.go", snippet, parser.ImportsOnly)
	require.NoError(t, err, "the snippet is a whole Go file:\n%s", snippet)
	var imports []string
	for _, spec := range f.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		require.NoError(t, err)
		imports = append(imports, path)
	}
	assert.Subset(t, imports, []string{
		"github.com/stretchr/testify/assert",
		"github.com/stretchr/testify/require",
		"github.com/qoder-go/qoder/qodertest",
	})
	assert.Contains(t, section[:strings.Index(section, "```go")], "testify")
}

// TestRunDocSaysWhatCancelDoes checks that SessionsService.Run's doc says
// what happens when its context ends mid-turn, and how to turn it off.
func TestRunDocSaysWhatCancelDoes(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "sessions_run.go", nil, parser.ParseComments)
	require.NoError(t, err)
	var doc string
	for _, decl := range f.Decls {
		if fn, ok := decl.(*ast.FuncDecl); ok && fn.Name.Name == "Run" && fn.Recv != nil {
			doc = fn.Doc.Text()
		}
	}
	require.NotEmpty(t, doc, "SessionsService.Run has a doc comment")
	for _, want := range []string{"When ctx ends while the turn is in flight", "user.interrupt", "settles", "ctx.Err()", "[WithoutInterrupt]", "[WithInterruptTimeout]"} {
		assert.Contains(t, strings.Join(strings.Fields(doc), " "), want)
	}
}

// TestDocsNameOnlyWhatExists checks that every qoder.Name and
// qodertest.Name in the Go code of README.md and examples/README.md is an
// exported identifier of that package, so that a rename cannot leave the
// docs behind. Methods and fields (qoder.Name.Method) are checked as far
// as their first name.
func TestDocsNameOnlyWhatExists(t *testing.T) {
	t.Parallel()
	exported := map[string]map[string]bool{
		"qoder":     packageNames(t, "."),
		"qodertest": packageNames(t, "qodertest"),
	}
	ref := regexp.MustCompile(`\b(qoder|qodertest)\.([A-Z]\w*)`)
	for _, file := range []string{"README.md", "examples/README.md", "CONTRIBUTING.md"} {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, m := range ref.FindAllStringSubmatch(string(data), -1) {
			assert.True(t, exported[m[1]][m[2]], "%s names %s.%s, which %s does not export", file, m[1], m[2], m[1])
		}
	}
}

// packageNames returns the exported top-level names declared in the
// non-test Go files of dir.
func packageNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, f := range parsePackage(t, dir) {
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					names[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						names[s.Name.Name] = s.Name.IsExported()
					case *ast.ValueSpec:
						for _, n := range s.Names {
							names[n.Name] = n.IsExported()
						}
					}
				}
			}
		}
	}
	return names
}

// TestREADMEResourcesTable checks the README's table of services: every
// client.Service path exists, every method it lists is a method of that
// service, and every exported method of each service is listed.
func TestREADMEResourcesTable(t *testing.T) {
	t.Parallel()
	_, table, ok := strings.Cut(readme(t), "## Resources\n")
	require.True(t, ok)
	table, _, _ = strings.Cut(table, "\n\n")
	fields, methods := packageTypes(t, ".")
	row := regexp.MustCompile("^\\| `client\\.([A-Za-z.]+)` \\| (.+?) \\| `")
	method := regexp.MustCompile("`([A-Z][A-Za-z]*)")
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rows++
		typ := "Client"
		for _, name := range strings.Split(m[1], ".") {
			next, ok := fields[typ][name]
			require.True(t, ok, "client.%s: %s has no field %s", m[1], typ, name)
			typ = next
		}
		listed := map[string]bool{}
		for _, mm := range method.FindAllStringSubmatch(m[2], -1) {
			if mm[1] == "ErrConflict" || mm[1] == "Version" {
				continue // named in a remark, not a method
			}
			listed[mm[1]] = true
			assert.True(t, methods[typ][mm[1]], "client.%s: %s has no method %s", m[1], typ, mm[1])
		}
		for name := range methods[typ] {
			assert.True(t, listed[name], "client.%s: the table does not list %s.%s", m[1], typ, name)
		}
	}
	assert.Greater(t, rows, 20, "the table was read")
}

// packageTypes returns, for the non-test Go files of dir, each struct
// type's exported pointer fields (name to the type pointed at) and each
// type's exported methods.
func packageTypes(t *testing.T, dir string) (fields map[string]map[string]string, methods map[string]map[string]bool) {
	t.Helper()
	fields, methods = map[string]map[string]string{}, map[string]map[string]bool{}
	for _, f := range parsePackage(t, dir) {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.TypeSpec:
				st, ok := n.Type.(*ast.StructType)
				if !ok {
					return false
				}
				for _, field := range st.Fields.List {
					star, ok := field.Type.(*ast.StarExpr)
					if !ok {
						continue
					}
					ident, ok := star.X.(*ast.Ident)
					if !ok {
						continue
					}
					for _, name := range field.Names {
						if name.IsExported() {
							if fields[n.Name.Name] == nil {
								fields[n.Name.Name] = map[string]string{}
							}
							fields[n.Name.Name][name.Name] = ident.Name
						}
					}
				}
				return false
			case *ast.FuncDecl:
				if n.Recv == nil || !n.Name.IsExported() {
					return false
				}
				recv := n.Recv.List[0].Type
				if star, ok := recv.(*ast.StarExpr); ok {
					recv = star.X
				}
				if ident, ok := recv.(*ast.Ident); ok {
					if methods[ident.Name] == nil {
						methods[ident.Name] = map[string]bool{}
					}
					methods[ident.Name][n.Name.Name] = true
				}
				return false
			}
			return true
		})
	}
	return fields, methods
}

// parsePackage parses the non-test Go files of dir.
func parsePackage(t *testing.T, dir string) []*ast.File {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, dir+"/"+e.Name(), nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		files = append(files, f)
	}
	return files
}
