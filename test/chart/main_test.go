// Package chart tests charts/sluice, the Dockerfile and the RBAC they grant:
// it renders the chart with every supported Helm, decodes the output into
// Kubernetes types and checks it; applies it to a real kube-apiserver; and
// runs the controller binary, built with the Dockerfile's own build command,
// as the chart's ServiceAccount, proving from the API server's audit log
// that the chart grants every permission the controller uses and none that
// it does not.
package chart

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var (
	// repoRoot is the repository's top directory.
	repoRoot string
	// chartDir is charts/sluice.
	chartDir string
	// helms are the Helm binaries the chart is tested with, one per version
	// in hack/helm/versions.sh.
	helms []helmBinary
	// workDir holds the binary and the audit log; removed after the run.
	workDir string
)

type helmBinary struct {
	version string // v3.22.0
	path    string
}

// major is "v3" or "v4".
func (h helmBinary) major() string { return strings.SplitN(h.version, ".", 2)[0] }

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test/chart:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	wd, err := os.Getwd()
	if err != nil {
		return 0, err
	}
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	chartDir = filepath.Join(repoRoot, "charts", "sluice")
	if helms, err = installHelm(); err != nil {
		return 0, err
	}
	if workDir, err = os.MkdirTemp("", "sluice-chart-"); err != nil {
		return 0, err
	}
	defer os.RemoveAll(workDir)
	code := m.Run()
	stopCluster()
	return code, nil
}

// installHelm runs hack/helm/install.sh, which builds every Helm version
// the chart supports from the Go module proxy once and then only prints the
// cached binaries' paths.
func installHelm() ([]helmBinary, error) {
	versions, err := helmVersions()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "helm", "install.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("hack/helm/install.sh: %w", err)
	}
	paths := strings.Fields(string(out))
	if len(paths) != len(versions) {
		return nil, fmt.Errorf("hack/helm/install.sh printed %d paths for %d versions: %q", len(paths), len(versions), paths)
	}
	var hs []helmBinary
	for i, v := range versions {
		if !strings.Contains(paths[i], "/helm/"+v+"/") {
			return nil, fmt.Errorf("hack/helm/install.sh: %s is not Helm %s", paths[i], v)
		}
		hs = append(hs, helmBinary{version: v, path: paths[i]})
	}
	return hs, nil
}

// helmVersions reads HELM_VERSIONS=(...) from hack/helm/versions.sh.
func helmVersions() ([]string, error) {
	f, err := os.Open(filepath.Join(repoRoot, "hack", "helm", "versions.sh"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "HELM_VERSIONS=("); ok {
			rest, ok = strings.CutSuffix(rest, ")")
			if !ok {
				break
			}
			return strings.Fields(rest), nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("hack/helm/versions.sh: no HELM_VERSIONS=(...) line")
}
