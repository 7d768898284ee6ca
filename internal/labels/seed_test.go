package labels

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoPaths returns the repository's labels/ folder and, when the shared
// data sets are present beside the checkout, the otrf-security-datasets
// folder ("" when absent: a fresh clone has no data).
func repoPaths(t *testing.T) (labelsDir, dataset string) {
	t.Helper()
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	labelsDir = filepath.Join(root, "labels")
	dataset = filepath.Join(root, "..", "shared", "datasets", "otrf-security-datasets")
	if st, err := os.Stat(dataset); err != nil || !st.IsDir() {
		dataset = ""
	}
	return labelsDir, dataset
}

// TestSeedFilesInRepo validates every seed file under labels/ and, when the
// data sets are present, checks that every recording has exactly one seed
// file whose SHA-256 matches the archive.
func TestSeedFilesInRepo(t *testing.T) {
	t.Parallel()
	labelsDir, dataset := repoPaths(t)
	seeds, err := LoadSeedDir(labelsDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(seeds) == 0 {
		t.Fatalf("no seed files under %s", labelsDir)
	}
	for _, s := range seeds {
		rel, err := filepath.Rel(labelsDir, s.File)
		if err != nil {
			t.Fatal(err)
		}
		if want := SeedPath(s.Recording); rel != want {
			t.Errorf("%s describes %s: want it at labels/%s", rel, s.Recording, want)
		}
	}
	if dataset == "" {
		t.Skip("../shared/datasets absent: archive coverage and SHA-256 not checked")
	}
	archives, err := ListArchives(dataset)
	if err != nil {
		t.Fatal(err)
	}
	bySeed := map[string]*SeedFile{}
	for _, s := range seeds {
		bySeed[s.Recording] = s
	}
	for _, a := range archives {
		if _, ok := bySeed[a]; !ok {
			t.Errorf("recording %s has no seed file (want labels/%s)", a, SeedPath(a))
		}
	}
	have := map[string]bool{}
	for _, a := range archives {
		have[a] = true
	}
	for _, s := range seeds {
		if !have[s.Recording] {
			t.Errorf("%s: recording %s is not in the data set", s.File, s.Recording)
			continue
		}
		if err := s.VerifyArchive(dataset); err != nil {
			t.Error(err)
		}
	}
}

const validSeed = `
recording: windows/lateral_movement/x.zip
sha256: 8f40e7fc86bbbf31ebd50b3ba537cf0f4378392ae3e74de84bee00aeb0de1fa5
metadata: SDWIN-1
title: X
techniques: [T1021, T1021.002]
lab: shire-2020
hosts:
  - {name: workstation5, role: workstation, ip: 172.18.39.5}
  - {name: workstation6, role: workstation}
lateral_movement: {source: workstation5, targets: [workstation6]}
seeds:
  - host: workstation5
    pid: 6404
    image: powershell.exe
    why: 'agent UF5MYK42 powershell 6404'
agents:
  - {host: workstation5, name: UF5MYK42, pid: 6404, why: alive}
`

func TestParseSeedFile(t *testing.T) {
	t.Parallel()
	if _, err := ParseSeedFile([]byte(validSeed)); err != nil {
		t.Fatalf("valid seed file rejected: %v", err)
	}
	tests := []struct {
		name    string
		old     string
		new     string
		wantErr string
	}{
		{"unknown key", "title: X", "title: X\ntitel: Y", "titel"},
		{"bad hash", "sha256: 8f40", "sha256: XX40", "sha256"},
		{"absolute path", "recording: windows/", "recording: /windows/", "relative"},
		{"not an archive", "x.zip", "x.json", "archive"},
		{"bad technique", "T1021.002", "TA0008", "ATT&CK"},
		{"upper-case host", "name: workstation6, role", "name: WORKSTATION6, role", "canonical"},
		{"bad role", "role: workstation}", "role: desktop}", "role"},
		{"unknown target", "targets: [workstation6]", "targets: [mordordc]", "not listed"},
		{"seed without why", "    why: 'agent UF5MYK42 powershell 6404'", "", "why"},
		{"shared image seed", "image: powershell.exe", "image: services.exe", "shared system process"},
		{"two matcher kinds", "    pid: 6404", "    pid: 6404\n    service: Updater", "more than one"},
		{"bad time", "    image: powershell.exe", "    image: powershell.exe\n    from: yesterday", "from"},
		{"logon without ip or account", "    pid: 6404\n    image: powershell.exe", "    logon: {types: [3]}", "logon"},
		{"agent without why", "why: alive}", "why: ''}", "agents[0]"},
		{"no seeds, no reason", "seeds:\n  - host: workstation5\n    pid: 6404\n    image: powershell.exe\n    why: 'agent UF5MYK42 powershell 6404'", "seeds: []", "unlabelable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := strings.Replace(validSeed, tc.old, tc.new, 1)
			if src == validSeed {
				t.Fatalf("test case does not change the seed file (%q not found)", tc.old)
			}
			_, err := ParseSeedFile([]byte(src))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestVerifyArchive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "windows", "x")
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "a.zip"), []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	sf := &SeedFile{Recording: "windows/x/a.zip", SHA256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}
	if err := sf.VerifyArchive(dir); err != nil {
		t.Fatalf("VerifyArchive: %v", err)
	}
	sf.SHA256 = strings.Repeat("0", 64)
	if err := sf.VerifyArchive(dir); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("VerifyArchive with a wrong hash: %v, want ErrHashMismatch", err)
	}
	sf.Recording = "windows/x/missing.zip"
	if err := sf.VerifyArchive(dir); err == nil {
		t.Fatal("VerifyArchive of a missing archive succeeded")
	}
}

func TestSeedPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"windows/lateral_movement/a.zip":   filepath.FromSlash("windows/lateral_movement/a.yaml"),
		"windows/persistence/b.tar.gz":     filepath.FromSlash("windows/persistence/b.yaml"),
		"linux/syslog_x_cve2021_44228.zip": filepath.FromSlash("linux/syslog_x_cve2021_44228.yaml"),
	} {
		if got := SeedPath(in); got != want {
			t.Errorf("SeedPath(%q) = %q, want %q", in, got, want)
		}
	}
}
