package labels

import (
	"context"
	"strings"
	"testing"
	"time"
)

// targetsWithoutEvidence are lateral-movement recordings whose target is
// known to hold no attributable event: their target windows are excluded,
// which the test checks instead.
var targetsWithoutEvidence = map[string]string{
	"windows/lateral_movement/covenant_dcom_executeexcel4macro_blocked.zip": "the Excel 4 macro was blocked: no logon or process of the attacker reaches WORKSTATION6 in the recording",
}

// TestLateralMovementRecordings labels every lateral-movement recording of
// the data set and checks that the source and every target host get attack
// windows. It needs ../shared/datasets and skips without it.
func TestLateralMovementRecordings(t *testing.T) {
	labelsDir, dataset := repoPaths(t)
	if dataset == "" {
		t.Skip("../shared/datasets absent")
	}
	if testing.Short() {
		t.Skip("reads ~100k events; skipped with -short")
	}
	seeds, err := LoadSeedDir(labelsDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sf := range seeds {
		if !strings.HasPrefix(sf.Recording, "windows/lateral_movement/") || sf.Unlabelable != "" || sf.LateralMovement == nil {
			continue
		}
		n++
		t.Run(strings.TrimPrefix(sf.Recording, "windows/lateral_movement/"), func(t *testing.T) {
			res, err := LabelRecording(context.Background(), dataset, sf, Options{Window: 3 * time.Minute, Stride: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			attack := map[string]int{}
			excluded := map[string]int{}
			for _, w := range res.Windows {
				switch w.Label {
				case Attack:
					attack[w.Host]++
				case Excluded:
					excluded[w.Host]++
				}
			}
			lm := sf.LateralMovement
			if attack[lm.Source] == 0 {
				t.Errorf("source %s has no attack window", lm.Source)
			}
			for _, tg := range lm.Targets {
				if why, ok := targetsWithoutEvidence[sf.Recording]; ok {
					if attack[tg] != 0 || excluded[tg] == 0 {
						t.Errorf("target %s (%s): want excluded windows only, got %d attack, %d excluded", tg, why, attack[tg], excluded[tg])
					}
					continue
				}
				if attack[tg] == 0 {
					t.Errorf("target %s has no attack window (report: %+v)", tg, res.Report.Hosts)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no lateral-movement seed files found")
	}
}
