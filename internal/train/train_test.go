package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/logster/logster/internal/evaluate"
	"github.com/logster/logster/internal/gnn"
	"github.com/logster/logster/internal/graph"
	"github.com/logster/logster/internal/labels"
	"github.com/logster/logster/internal/schema"
)

func rec(path, label string, n int) *Recording {
	r := &Recording{Path: path, Tactic: tacticOf(path)}
	for i := 0; i < n; i++ {
		r.Samples = append(r.Samples, &Sample{Recording: path, Label: label})
	}
	return r
}

func TestSplitIsByRecordingAndStratified(t *testing.T) {
	t.Parallel()
	var recs []*Recording
	for i := 0; i < 10; i++ {
		recs = append(recs, rec("windows/lateral_movement/lm"+string(rune('a'+i))+".zip", LabelAttack, 3))
		recs = append(recs, rec("windows/execution/ex"+string(rune('a'+i))+".zip", LabelAttack, 3))
		recs = append(recs, rec(BenignPrefix+"pool/"+string(rune('a'+i))+".evtx", LabelBenign, 2))
	}
	// The same procedure filed under two tactics must land in one set.
	recs = append(recs, rec("windows/defense_evasion/lma.zip", LabelAttack, 2))
	recs = append(recs, rec("windows/discovery/nolabels.zip", LabelExcluded, 2))

	s := SplitRecordings(recs, 0.2, 0.2, 7)
	seen := map[string]string{}
	for set, names := range map[string][]string{"train": s.Train, "val": s.Val, "test": s.Test} {
		for _, n := range names {
			if prev, dup := seen[n]; dup {
				t.Fatalf("%s in both %s and %s", n, prev, set)
			}
			seen[n] = set
		}
	}
	if len(seen) != len(recs) {
		t.Fatalf("split covers %d of %d recordings", len(seen), len(recs))
	}
	if seen["windows/lateral_movement/lma.zip"] != seen["windows/defense_evasion/lma.zip"] {
		t.Fatal("one procedure split across sets")
	}
	if seen["windows/discovery/nolabels.zip"] != "train" {
		t.Fatal("a recording without labelled windows was held out")
	}
	count := func(set, prefix string) int {
		n := 0
		for name, st := range seen {
			if st == set && strings.HasPrefix(name, prefix) {
				n++
			}
		}
		return n
	}
	for _, set := range []string{"val", "test"} {
		if count(set, "windows/lateral_movement/") == 0 || count(set, BenignPrefix) == 0 {
			t.Fatalf("%s lacks lateral-movement or benign-pool recordings: %+v", set, s)
		}
	}
	// Deterministic for a seed.
	if again := SplitRecordings(recs, 0.2, 0.2, 7); strings.Join(again.Test, ",") != strings.Join(s.Test, ",") {
		t.Fatal("split is not deterministic")
	}
}

func TestClassWeightsBalance(t *testing.T) {
	t.Parallel()
	var ss []*Sample
	for i := 0; i < 9; i++ {
		ss = append(ss, &Sample{Label: LabelBenign})
	}
	ss = append(ss, &Sample{Label: LabelAttack})
	w := ClassWeights(ss)
	if math.Abs(float64(w[0])*9-float64(w[1])*1) > 1e-5 {
		t.Fatalf("weights %v do not balance 9 benign against 1 attack", w)
	}
}

// syntheticSamples builds tiny graphs whose class is visible in their
// structure: attack windows hold a process that spawns and connects out.
func syntheticSamples(t *testing.T, n int, seed uint64) []*Sample {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []*Sample
	for i := 0; i < n; i++ {
		attack := i%2 == 0
		base := 1_700_000_000.0
		evs := []*schema.NormalizedEvent{
			{EventID: "a", Platform: schema.PlatformWindows, EventType: schema.EventProcessCreate, Timestamp: base + 1,
				Data: schema.EventData{Process: &schema.Process{GUID: "p1", Image: `C:\Windows\explorer.exe`}, Parent: &schema.Process{GUID: "p0", Image: `C:\Windows\userinit.exe`}}},
			{EventID: "b", Platform: schema.PlatformWindows, EventType: schema.EventFileCreate, Timestamp: base + 2,
				Data: schema.EventData{Process: &schema.Process{GUID: "p1"}, File: &schema.File{Path: `C:\Users\x\doc` + string(rune('a'+rng.IntN(20))) + `.txt`}}},
		}
		if attack {
			evs = append(evs,
				&schema.NormalizedEvent{EventID: "c", Platform: schema.PlatformWindows, EventType: schema.EventProcessCreate, Timestamp: base + 3,
					Data: schema.EventData{Process: &schema.Process{GUID: "p2", Image: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, CommandLine: "powershell -enc AAAA"}, Parent: &schema.Process{GUID: "p1"}}},
				&schema.NormalizedEvent{EventID: "d", Platform: schema.PlatformWindows, EventType: schema.EventNetworkConnect, Timestamp: base + 4,
					Data: schema.EventData{Process: &schema.Process{GUID: "p2"}, Network: &schema.Network{Protocol: "tcp", Direction: "outbound", DstIP: "203.0.113.9", DstPort: 445}}})
		}
		g, err := graph.Build(schema.PlatformWindows, base, base+180, evs)
		if err != nil {
			t.Fatal(err)
		}
		label := LabelBenign
		if attack {
			label = LabelAttack
		}
		out = append(out, &Sample{Label: label, Platform: schema.PlatformWindows, Input: g.Input()})
	}
	return out
}

func smallConfig(t *testing.T) gnn.Config {
	t.Helper()
	cfg, err := graph.ModelConfig(schema.PlatformWindows)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hidden, cfg.Heads, cfg.Layers = 16, 2, 2
	cfg.Version = "test"
	return cfg
}

func TestFitLearnsAndCalibrates(t *testing.T) {
	t.Parallel()
	trainS := syntheticSamples(t, 24, 1)
	valS := syntheticSamples(t, 12, 2)
	var reports []EpochReport
	m, _, err := Fit(smallConfig(t), trainS, valS, FitOptions{Epochs: 25, Patience: 25, BatchSize: 4, LR: 3e-3, Seed: 3, Workers: 2,
		Report: func(r EpochReport) { reports = append(reports, r) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) == 0 || reports[len(reports)-1].TrainLoss >= reports[0].TrainLoss {
		t.Fatalf("training loss did not fall: %+v", reports)
	}
	_, auc, err := Validate(m, valS, ClassWeights(trainS))
	if err != nil {
		t.Fatal(err)
	}
	if auc < 0.99 {
		t.Fatalf("validation AUC %v on separable graphs", auc)
	}
	before, err := Predict(m, valS)
	if err != nil {
		t.Fatal(err)
	}
	temp, err := Temperature(m, valS)
	if err != nil || temp <= 0 {
		t.Fatalf("temperature %v, %v", temp, err)
	}
	if err := ApplyTemperature(m, temp); err != nil {
		t.Fatal(err)
	}
	after, err := Predict(m, valS)
	if err != nil {
		t.Fatal(err)
	}
	// Temperature scaling must not change the ranking.
	var b, a []evaluate.Scored
	for i, s := range valS {
		b = append(b, evaluate.Scored{Score: before[i], Attack: s.Class() == 1})
		a = append(a, evaluate.Scored{Score: after[i], Attack: s.Class() == 1})
	}
	if evaluate.ROCAUC(a) != evaluate.ROCAUC(b) {
		t.Fatalf("AUC changed with temperature %v: %v -> %v", temp, evaluate.ROCAUC(b), evaluate.ROCAUC(a))
	}
}

func TestTemperatureNeedsBothClasses(t *testing.T) {
	t.Parallel()
	m, err := gnn.New(smallConfig(t), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	only := syntheticSamples(t, 4, 1)[:1]
	if temp, err := Temperature(m, only); err != nil || temp != 1 {
		t.Fatalf("one class: temperature %v, %v; want 1", temp, err)
	}
	if err := ApplyTemperature(m, 0); err == nil {
		t.Fatal("zero temperature accepted")
	}
}

func TestAllowedFalsePositives(t *testing.T) {
	t.Parallel()
	mk := func(n int) []evaluate.Scored {
		xs := make([]evaluate.Scored, n)
		return xs
	}
	if k := allowedFalsePositives(mk(50), 0.01); k != 1 {
		t.Fatalf("50 benign at 1%%: %d, want at least one", k)
	}
	if k := allowedFalsePositives(mk(400), 0.01); k != 4 {
		t.Fatalf("400 benign at 1%%: %d", k)
	}
}

func TestRecordingLevelDetection(t *testing.T) {
	t.Parallel()
	r := &Recording{Path: "windows/lateral_movement/x.zip", Tactic: "lateral_movement",
		Seed: &labels.SeedFile{LateralMovement: &labels.LateralMovement{Source: "ws5", Targets: []string{"ws6"}}}}
	s1 := &Sample{Host: "ws6", Label: LabelAttack, Start: 0, End: 180, FirstAttack: 100}
	s2 := &Sample{Host: "ws6", Label: LabelAttack, Start: 60, End: 240, FirstAttack: 100}
	s3 := &Sample{Host: "ws5", Label: LabelBenign, Start: 0, End: 180}
	r.Samples = []*Sample{s1, s2, s3}
	scored := map[*Sample]Scored{s1: {Sample: s1, Prob: 0.2}, s2: {Sample: s2, Prob: 0.95}, s3: {Sample: s3, Prob: 0.99}}
	res := Recordings([]*Recording{r}, scored, 0.9, nil)
	if len(res) != 1 {
		t.Fatalf("results %+v", res)
	}
	got := res[0]
	if !got.Flagged || got.Detected != 1 || got.Attack != 2 || !*got.OnTarget || *got.FirstWindow {
		t.Fatalf("%+v", got)
	}
	if got.TimeToDetect != 140 { // first attack event at 100, first flagged window ends at 240
		t.Fatalf("time to detect %v, want 140", got.TimeToDetect)
	}
}

// The eval's lateral report: a recorded hop linked through the alerts
// engine (here: flagged source, benign-scored target that records the
// remote service install) counts as linked; the same hop in a recording
// without a recorded hop is reported as unexpected.
func TestLateralLinksReport(t *testing.T) {
	t.Parallel()
	result := func(id, host string, pred schema.Prediction, prob float64, ev *schema.Evidence) *schema.InferenceResult {
		return &schema.InferenceResult{
			SchemaVersion: schema.Version, InferenceID: id, TenantID: "default", EndpointID: host, Hostname: host,
			Platform: schema.PlatformWindows, WindowStart: 1000, WindowEnd: 1180, Prediction: pred,
			AttackProb: prob, Confidence: max(prob, 1-prob), Threshold: 0.9, ModelVersion: "m", NumNodes: 10, Evidence: ev,
		}
	}
	build := func(path string, seed *labels.SeedFile, tag string) (*Recording, []Scored) {
		src := &Sample{Recording: path, Host: "ws5"}
		dst := &Sample{Recording: path, Host: "ws6"}
		r := &Recording{Path: path, Seed: seed, Samples: []*Sample{src, dst}}
		return r, []Scored{
			{Sample: src, Result: result(tag+"s", "ws5", schema.PredictionAttack, 0.97, &schema.Evidence{
				LocalAddresses: []string{"10.0.0.5"}, Accounts: []string{`corp\eve`}})},
			{Sample: dst, Result: result(tag+"t", "ws6", schema.PredictionBenign, 0.4, &schema.Evidence{
				LocalAddresses: []string{"10.0.0.6"}, Accounts: []string{`corp\eve`},
				Links: []schema.EvidenceLink{{Kind: schema.LinkRemoteService, Direction: "inbound", PeerIP: "10.0.0.5",
					Account: `corp\eve`, Timestamp: 1100, Technique: "T1569.002"}}})},
		}
	}
	lm, s1 := build("windows/lateral_movement/a.zip",
		&labels.SeedFile{LateralMovement: &labels.LateralMovement{Source: "ws5", Targets: []string{"ws6"}}}, "a")
	other, s2 := build("windows/execution/b.zip", &labels.SeedFile{}, "b")
	quiet := &Recording{Path: "windows/execution/c.zip"}
	links, unexpected, err := lateralLinks(t.Context(), []*Recording{lm, other, quiet}, append(s1, s2...), Split{Test: []string{lm.Path}})
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 || !links[0].OK || links[0].Set != "test" || strings.Join(links[0].Linked, ",") != "ws5 -> ws6" {
		t.Fatalf("links %+v", links)
	}
	if len(unexpected) != 1 || unexpected[0].File != other.Path || unexpected[0].OK {
		t.Fatalf("unexpected %+v", unexpected)
	}
}
