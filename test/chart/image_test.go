package chart

import (
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

// There is no container engine here, so the image is checked in parts: the
// Dockerfile's build command is the Makefile's, it builds in a context made
// by .dockerignore's rules, the binary is static and reports the version it
// was stamped with, and the final stage is distroless as a non-root user
// that the chart's security context agrees with. The controller tests run
// that very binary.

// Stamped into the test binary, as `docker build --build-arg` would.
const (
	testVersion = "v0.0.0-chart-test"
	testCommit  = "c0ffee1"
)

// dockerfile is what the tests need of the Dockerfile.
type dockerfile struct {
	args       map[string]string // ARG defaults
	stages     []string          // FROM images, in order
	buildCmd   string            // the RUN line that runs go build
	user       string
	expose     []string
	entrypoint string
	cmd        string
}

func parseDockerfile(t testing.TB) dockerfile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	d := dockerfile{args: map[string]string{}}
	// Join continuation lines; drop comments and blank lines.
	text := strings.ReplaceAll(string(raw), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "ARG":
			name, def, _ := strings.Cut(rest, "=")
			d.args[name] = def
		case "FROM":
			d.stages = append(d.stages, strings.Fields(rest)[0])
		case "RUN":
			if strings.Contains(rest, "go build") {
				if d.buildCmd != "" {
					t.Fatal("Dockerfile: more than one go build")
				}
				d.buildCmd = rest
			}
		case "USER":
			d.user = rest
		case "EXPOSE":
			d.expose = append(d.expose, strings.Fields(rest)...)
		case "ENTRYPOINT":
			d.entrypoint = rest
		case "CMD":
			d.cmd = rest
		}
	}
	return d
}

// makefileBuild returns the Makefile's command that builds bin/sluice, with
// $(GO) and $(LDFLAGS) expanded and $(VERSION)/$(COMMIT) written as the
// Dockerfile writes its build arguments.
func makefileBuild(t testing.TB) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	var ldflags, build string
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "LDFLAGS"); ok {
			_, v, ok := strings.Cut(rest, ":=")
			if ok {
				ldflags = strings.TrimSpace(v)
			}
		}
		if strings.HasPrefix(line, "\t") && strings.Contains(line, " build ") && strings.HasSuffix(strings.TrimSpace(line), "./cmd/sluice") {
			if build != "" {
				t.Fatalf("Makefile builds ./cmd/sluice twice:\n%s\n%s", build, line)
			}
			build = strings.TrimSpace(line)
		}
	}
	if ldflags == "" || build == "" {
		t.Fatalf("Makefile: no LDFLAGS (%q) or no build line for ./cmd/sluice (%q)", ldflags, build)
	}
	r := strings.NewReplacer("$(LDFLAGS)", ldflags, "$(GO)", "go", "$(VERSION)", "${VERSION}", "$(COMMIT)", "${COMMIT}")
	return r.Replace(r.Replace(build))
}

// TestDockerfileBuildMatchesMakefile: the image is built with exactly the
// command that `make build` runs, bar the output path.
func TestDockerfileBuildMatchesMakefile(t *testing.T) {
	d := parseDockerfile(t)
	docker, err := shellWords(d.buildCmd)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := shellWords(makefileBuild(t))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := withoutOutput(docker), withoutOutput(mk); !slices.Equal(a, b) {
		t.Errorf("Dockerfile builds with\n  %q\nthe Makefile with\n  %q", a, b)
	}
	if !slices.Contains(docker, "CGO_ENABLED=0") {
		t.Errorf("build %q is not static (CGO_ENABLED=0)", docker)
	}
	ld := flagValue(docker, "-ldflags")
	for _, want := range []string{"-X main.version=${VERSION}", "-X main.commit=${COMMIT}"} {
		if !strings.Contains(ld, want) {
			t.Errorf("-ldflags %q does not inject %q", ld, want)
		}
	}
}

// TestDockerfileImage: multi-stage, the Go of go.mod, a distroless (or
// scratch) final stage, a numeric non-root user the chart runs as, the
// chart's ports, the binary as entrypoint.
func TestDockerfileImage(t *testing.T) {
	d := parseDockerfile(t)
	if len(d.stages) < 2 {
		t.Fatalf("stages %v: want a build stage and a final one", d.stages)
	}
	goMod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(goMod)
	if goVersion == nil || d.args["GO_VERSION"] != string(goVersion[1]) {
		t.Errorf("Dockerfile GO_VERSION %q, go.mod says go %s", d.args["GO_VERSION"], goVersion)
	}
	if d.stages[0] != "golang:${GO_VERSION}" {
		t.Errorf("build stage %q", d.stages[0])
	}
	final := d.stages[len(d.stages)-1]
	if final != "scratch" && !strings.HasPrefix(final, "gcr.io/distroless/static") {
		t.Errorf("final stage %q is neither distroless static nor scratch", final)
	}
	uid, gid, ok := strings.Cut(d.user, ":")
	u, uerr := strconv.Atoi(uid)
	g, gerr := strconv.Atoi(gid)
	if !ok || uerr != nil || gerr != nil || u == 0 || g == 0 {
		// Numeric, so that the kubelet can verify runAsNonRoot.
		t.Fatalf("USER %q: want a numeric non-root uid:gid", d.user)
	}
	vals := chartValues(t)
	sc := vals["controller"].(map[string]any)["securityContext"].(map[string]any)
	if sc["runAsUser"] != float64(u) || sc["runAsGroup"] != float64(g) {
		t.Errorf("chart runs as %v:%v, the image as %s", sc["runAsUser"], sc["runAsGroup"], d.user)
	}
	if !slices.Equal(d.expose, []string{"8080", "8443", "10254"}) {
		t.Errorf("EXPOSE %v", d.expose)
	}
	if d.entrypoint != `["/sluice"]` || d.cmd != `["controller"]` {
		t.Errorf("ENTRYPOINT %s CMD %s: want the binary, running the controller", d.entrypoint, d.cmd)
	}
}

// TestBinaryStaticAndVersioned: the Dockerfile's build yields a static
// binary that reports the version, commit and Go it was built with.
func TestBinaryStaticAndVersioned(t *testing.T) {
	bin := sluiceBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v program header: it is dynamically linked", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) != 0 {
		t.Errorf("binary needs %v", libs)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("sluice version: %v\n%s", err, out)
	}
	want := fmt.Sprintf("sluice %s (commit %s, %s)\n", testVersion, testCommit, runtime.Version())
	if string(out) != want {
		t.Errorf("sluice version printed %q, want %q", out, want)
	}
}

// TestDockerignore: the rules the build context is made with.
func TestDockerignore(t *testing.T) {
	rules := loadDockerignore(t)
	for path, want := range map[string]bool{
		".git/HEAD":                     true,
		"charts/sluice/values.yaml":     true,
		"test/chart/main_test.go":       true,
		"controllers/controller.go":     false,
		"controllers/status_test.go":    true,
		"config/testdata/x.cfg":         true,
		"go.mod":                        false,
		"go.sum":                        false,
		"cmd/sluice/main.go":            false,
		"README.md":                     true,
		"hack/controlplane/etcd/go.mod": true,
	} {
		if got := rules.ignored(path); got != want {
			t.Errorf("%s ignored = %v, want %v", path, got, want)
		}
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// sluiceBinary builds cmd/sluice once, as the Dockerfile does: its own go
// build command, run in a copy of the build context that .dockerignore
// leaves, with the build arguments set.
func sluiceBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() { binPath, binErr = buildLikeDockerfile(t) })
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func buildLikeDockerfile(t testing.TB) (string, error) {
	d := parseDockerfile(t)
	words, err := shellWords(d.buildCmd)
	if err != nil {
		return "", err
	}
	ctx := filepath.Join(workDir, "context")
	if err := copyContext(loadDockerignore(t), ctx); err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	out := filepath.Join(workDir, "sluice")
	var env []string
	var argv []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case len(argv) == 0 && strings.Contains(w, "=") && !strings.HasPrefix(w, "-"):
			env = append(env, w)
		case w == "-o" && i+1 < len(words):
			argv = append(argv, w, out)
			i++
		default:
			argv = append(argv, os.Expand(w, func(k string) string {
				return map[string]string{"VERSION": testVersion, "COMMIT": testCommit}[k]
			}))
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = ctx
	// As in the golang image: no workspace, no VCS stamping (the context
	// has no .git).
	cmd.Env = append(append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false"), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s in the build context: %w\n%s", strings.Join(words, " "), err, b)
	}
	return out, nil
}

// dockerignore holds .dockerignore's rules; the last rule matching a path
// or one of its parent directories decides.
type dockerignore []ignoreRule

type ignoreRule struct {
	re     *regexp.Regexp
	negate bool
}

func loadDockerignore(t testing.TB) dockerignore {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var rules dockerignore
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			r.negate, line = true, rest
		}
		line = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(line)), "/")
		r.re = regexp.MustCompile("^" + globToRegexp(line) + "$")
		rules = append(rules, r)
	}
	return rules
}

// globToRegexp translates Docker's patterns: ** spans directories, * and ?
// stay within one.
func globToRegexp(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		case p[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	return b.String()
}

func (rules dockerignore) ignored(rel string) bool {
	parts := strings.Split(rel, "/")
	ignored := false
	for _, r := range rules {
		for i := range parts {
			if r.re.MatchString(strings.Join(parts[:i+1], "/")) {
				ignored = !r.negate
				break
			}
		}
	}
	return ignored
}

// copyContext copies the repository to dst, leaving out what the rules
// ignore.
func copyContext(rules dockerignore, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	return filepath.WalkDir(repoRoot, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repoRoot, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rules.ignored(rel) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case e.IsDir():
			return os.MkdirAll(target, 0o755)
		case e.Type().IsRegular():
			return copyFile(path, target)
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// shellWords splits a command line as sh would for the quoting these
// files use: words, "double" and 'single' quotes.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// withoutOutput drops -o and its value: the image and the Makefile write
// the binary to different places.
func withoutOutput(words []string) []string {
	var out []string
	for i := 0; i < len(words); i++ {
		if words[i] == "-o" {
			i++
			continue
		}
		out = append(out, words[i])
	}
	return out
}

func flagValue(words []string, name string) string {
	for i, w := range words {
		if w == name && i+1 < len(words) {
			return words[i+1]
		}
	}
	return ""
}

func chartValues(t testing.TB) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
