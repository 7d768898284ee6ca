package train

import (
	"math"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
)

// Split assigns recordings to train, validation and test sets. Splitting is
// by recording — never by window — so a model is tested on procedures it
// never saw; a recording filed under two tactics (the same archive name)
// always lands in one set.
type Split struct {
	Train []string `json:"train"`
	Val   []string `json:"val"`
	Test  []string `json:"test"`
}

// Of returns "train", "val", "test" or "" for a recording path.
func (s Split) Of(rec string) string {
	for _, x := range s.Train {
		if x == rec {
			return "train"
		}
	}
	for _, x := range s.Val {
		if x == rec {
			return "val"
		}
	}
	for _, x := range s.Test {
		if x == rec {
			return "test"
		}
	}
	return ""
}

// SplitRecordings stratifies by kind — lateral movement, other labelled
// attacks, recordings without labels — so every set gets lateral-movement
// procedures, then allocates valFrac and testFrac of each stratum (at least
// one recording each once a stratum has three) with a seeded shuffle.
// Recordings with no labelled window go to training only (they carry no
// evaluation signal).
func SplitRecordings(recs []*Recording, valFrac, testFrac float64, seed uint64) Split {
	groups := map[string][]string{} // procedure name -> recording paths
	kind := map[string]string{}
	for _, r := range recs {
		name := strings.TrimSuffix(strings.TrimSuffix(path.Base(r.Path), ".zip"), ".tar.gz")
		if strings.HasPrefix(r.Path, BenignPrefix) {
			name = r.Path // benign-pool files of two corpora may share a name
		}
		groups[name] = append(groups[name], r.Path)
		k := "other"
		switch {
		case !hasLabelled(r):
			k = "unlabelled"
		case strings.HasPrefix(r.Path, BenignPrefix):
			k = "benign"
		case r.Tactic == "lateral_movement":
			k = "lateral"
		}
		if kind[name] == "" || k == "lateral" {
			kind[name] = k
		}
	}
	strata := map[string][]string{}
	for name, k := range kind {
		strata[k] = append(strata[k], name)
	}
	rng := rand.New(rand.NewPCG(seed, 0x73706c6974))
	var s Split
	for _, k := range []string{"lateral", "other", "benign", "unlabelled"} {
		names := strata[k]
		sort.Strings(names)
		rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		nTest, nVal := 0, 0
		if k != "unlabelled" {
			nTest = portion(len(names), testFrac)
			nVal = portion(len(names), valFrac)
		}
		for i, name := range names {
			dst := &s.Train
			switch {
			case i < nTest:
				dst = &s.Test
			case i < nTest+nVal:
				dst = &s.Val
			}
			*dst = append(*dst, groups[name]...)
		}
	}
	sort.Strings(s.Train)
	sort.Strings(s.Val)
	sort.Strings(s.Test)
	return s
}

func portion(n int, frac float64) int {
	if frac <= 0 || n == 0 {
		return 0
	}
	k := int(math.Round(float64(n) * frac))
	if k == 0 && n >= 3 {
		k = 1
	}
	return k
}

func hasLabelled(r *Recording) bool {
	for _, s := range r.Samples {
		if s.Labelled() {
			return true
		}
	}
	return false
}

// Select returns the labelled samples of the named recordings on platform.
// Derived samples (cut out of attack windows) are training data only.
func Select(recs []*Recording, names []string, platform string, train bool) []*Sample {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []*Sample
	for _, r := range recs {
		if !want[r.Path] {
			continue
		}
		for _, s := range r.Samples {
			if s.Labelled() && (platform == "" || string(s.Platform) == platform) && (!s.Derived || train) {
				out = append(out, s)
			}
		}
	}
	return out
}
