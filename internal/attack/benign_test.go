package attack_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logster/logster/internal/attack"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/ingest"
	"github.com/logster/logster/internal/normalize"
	"github.com/logster/logster/internal/schema"
)

// benignDir holds real attack-free EVTX logs from ordinary machines (MIT and
// Apache-2.0, licences inside).
var benignDir = filepath.Join("..", "..", "..", "shared", "datasets", "benign-evtx")

// On real benign logs the table must stay rare, and only dual-use
// administration (service installs, account changes, PsExec, log clearing,
// a debugging tool reading LSASS) may show up at all. A rule that starts
// firing on ordinary process, network or registry activity fails here.
func TestMatchPrecisionOnBenignEVTX(t *testing.T) {
	if _, err := os.Stat(benignDir); err != nil {
		t.Skipf("datasets not present (%v)", err)
	}
	var files []string
	_ = filepath.WalkDir(benignDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".evtx") {
			files = append(files, p)
		}
		return nil
	})
	allowed := map[string]bool{
		"service-installed": true, "psexec-service": true, "local-account-created": true,
		"domain-account-created": true, "privileged-group-add": true, "event-log-cleared": true,
		"lsass-memory-access": true, "scheduled-task-created": true,
	}
	total, flagged := 0, 0
	byRule := map[string]int{}
	for _, f := range files {
		n, err := normalize.New(config.Default().Normalizer, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		r, err := ingest.Open(f)
		if err != nil {
			t.Logf("skip %s: %v", f, err)
			continue
		}
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) || err != nil {
				break // damaged files in the corpus end early; that is their point
			}
			n.Normalize(normalize.Input{Value: rec.Data, Scope: f}, func(ev *schema.NormalizedEvent, _ *normalize.ParseError) {
				if ev == nil {
					return
				}
				total++
				hits := attack.Match(ev)
				if len(hits) > 0 {
					flagged++
				}
				for _, h := range hits {
					byRule[h.Rule]++
					if !allowed[h.Rule] {
						t.Errorf("%s: rule %s (%s) fired on benign %s event %s", filepath.Base(f), h.Rule, h.Technique, ev.EventType, ev.EventID)
					}
				}
			})
		}
		_ = r.Close()
	}
	if total == 0 {
		t.Skip("no events read from the benign corpus")
	}
	rules := make([]string, 0, len(byRule))
	for r := range byRule {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	for _, r := range rules {
		t.Logf("%-24s %d", r, byRule[r])
	}
	t.Logf("%d of %d benign events carry a technique (%.2f%%)", flagged, total, 100*float64(flagged)/float64(total))
	if float64(flagged) > 0.02*float64(total) {
		t.Errorf("%d of %d benign events carry a technique: the table is too noisy", flagged, total)
	}
}
