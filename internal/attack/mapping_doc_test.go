package attack

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/attack-mapping.md from the technique table")

// docs/attack-mapping.md is generated from the table; the two must agree.
func TestMappingDoc(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "attack-mapping.md")
	want := MappingDoc()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/attack -run TestMappingDoc -update)", err)
	}
	if string(got) != want {
		t.Fatalf("%s is out of date with the technique table; run go test ./internal/attack -run TestMappingDoc -update", path)
	}
	for _, r := range Rules {
		if !strings.Contains(want, "`"+r.ID+"`") {
			t.Errorf("rule %s missing from the document", r.ID)
		}
	}
}
