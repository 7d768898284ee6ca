package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/logster/logster/internal/evaluate"
	"github.com/logster/logster/internal/gnn"
)

// FitOptions tune training.
type FitOptions struct {
	Epochs      int     // maximum epochs (default 60)
	Patience    int     // early stopping: epochs without validation improvement (default 15)
	BatchSize   int     // graphs per optimiser step (default 8)
	LR          float64 // Adam learning rate (default 5e-4)
	WeightDecay float64 // decoupled weight decay (default 1e-4)
	Dropout     float64 // feature and attention dropout (default 0.2)
	ClipNorm    float64 // gradient norm clip (default 5)
	Seed        uint64  // every random choice derives from it
	Workers     int     // data-parallel goroutines (default GOMAXPROCS)
	// Report receives one line per epoch (progress).
	Report func(EpochReport)
}

func (o *FitOptions) defaults() {
	if o.Epochs <= 0 {
		o.Epochs = 60
	}
	if o.Patience <= 0 {
		o.Patience = 15
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 8
	}
	if o.LR <= 0 {
		o.LR = 5e-4
	}
	if o.WeightDecay < 0 {
		o.WeightDecay = 0
	} else if o.WeightDecay == 0 {
		o.WeightDecay = 1e-4
	}
	if o.Dropout <= 0 {
		o.Dropout = 0.2
	}
	if o.ClipNorm <= 0 {
		o.ClipNorm = 5
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
}

// EpochReport is one epoch's progress.
type EpochReport struct {
	Epoch, Epochs int
	TrainLoss     float64
	ValLoss       float64
	ValAUC        float64
	Took          time.Duration
	Best          bool
}

// ClassWeights weights classes inversely to their frequency so the rare
// attack windows count as much as the benign ones.
func ClassWeights(samples []*Sample) []float32 {
	var n [2]int
	for _, s := range samples {
		n[s.Class()]++
	}
	w := []float32{1, 1}
	total := float32(n[0] + n[1])
	for c := range n {
		if n[c] > 0 {
			w[c] = total / (2 * float32(n[c]))
		}
	}
	return w
}

// Fit trains a model of configuration cfg on train, early-stopping on the
// class-weighted validation loss, and returns the best epoch's model.
func Fit(cfg gnn.Config, train, val []*Sample, o FitOptions) (*gnn.Model, []EpochReport, error) {
	o.defaults()
	if len(train) == 0 {
		return nil, nil, errors.New("train: no labelled training windows")
	}
	cfg.Dropout = o.Dropout
	rng := rand.New(rand.NewPCG(o.Seed, 0x747261696e))
	m, err := gnn.New(cfg, rng)
	if err != nil {
		return nil, nil, fmt.Errorf("train: init model: %w", err)
	}
	cw := ClassWeights(train)
	opt := gnn.NewAdam(o.LR)
	opt.WeightDecay = o.WeightDecay

	type worker struct {
		tape *gnn.Tape
		g    *gnn.Grads
		rng  *rand.Rand
	}
	ws := make([]*worker, o.Workers)
	for i := range ws {
		ws[i] = &worker{tape: m.NewTape(), g: m.NewGrads(), rng: rand.New(rand.NewPCG(o.Seed, uint64(i)+1))}
	}
	order := make([]int, len(train))
	for i := range order {
		order[i] = i
	}
	var (
		reports  []EpochReport
		best     = math.Inf(1)
		bestSnap map[string][]float32
		since    int
	)
	for epoch := 1; epoch <= o.Epochs; epoch++ {
		start := time.Now()
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var lossSum, weightSum float64
		for b := 0; b < len(order); b += o.BatchSize {
			batch := order[b:min(b+o.BatchSize, len(order))]
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex
				first error
			)
			for wi, w := range ws {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := wi; k < len(batch); k += len(ws) {
						s := train[batch[k]]
						loss, _, err := w.tape.Backward(s.Input, s.Class(), cw, w.rng, w.g)
						mu.Lock()
						if err != nil && first == nil {
							first = fmt.Errorf("train: window %s %s [%v,%v): %w", s.Recording, s.Host, s.Start, s.End, err)
						}
						lossSum += float64(loss)
						weightSum += float64(cw[s.Class()])
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if first != nil {
				return nil, nil, first
			}
			var bw float32
			for _, k := range batch {
				bw += cw[train[k].Class()]
			}
			g := ws[0].g
			for _, w := range ws[1:] {
				g.Add(w.g)
				w.g.Zero()
			}
			g.Scale(1 / bw)
			g.ClipNorm(o.ClipNorm)
			if err := opt.Step(m, g); err != nil {
				return nil, nil, fmt.Errorf("train: optimiser step: %w", err)
			}
			g.Zero()
		}
		rep := EpochReport{Epoch: epoch, Epochs: o.Epochs, TrainLoss: lossSum / weightSum}
		// Early stopping ranks epochs by validation ROC AUC, ties broken by
		// validation loss. Loss alone stops far too early here: the
		// validation recordings are procedures the model never saw, and a
		// handful of confidently wrong windows drive the loss up while the
		// ranking of attacks above benign windows — what the calibrated
		// threshold relies on — keeps improving.
		crit := rep.TrainLoss
		if len(val) > 0 {
			vl, auc, err := Validate(m, val, cw)
			if err != nil {
				return nil, nil, err
			}
			rep.ValLoss, rep.ValAUC = vl, auc
			crit = vl
			if !math.IsNaN(auc) {
				crit = (1-auc)*1000 + math.Min(vl, 999)/1000
			}
		}
		if crit < best-1e-9 {
			best, since, rep.Best = crit, 0, true
			bestSnap = snapshot(m)
		} else {
			since++
		}
		rep.Took = time.Since(start)
		reports = append(reports, rep)
		if o.Report != nil {
			o.Report(rep)
		}
		if since >= o.Patience {
			break
		}
	}
	if bestSnap != nil {
		if err := restore(m, bestSnap); err != nil {
			return nil, nil, err
		}
	}
	return m, reports, nil
}

// Validate returns the class-weighted mean loss and ROC AUC of m on samples.
func Validate(m *gnn.Model, samples []*Sample, cw []float32) (loss, auc float64, err error) {
	probs, err := Predict(m, samples)
	if err != nil {
		return 0, 0, err
	}
	var lw float64
	sc := make([]evaluate.Scored, len(samples))
	for i, s := range samples {
		c := s.Class()
		p := probs[i]
		if c == 0 {
			p = 1 - p
		}
		loss -= float64(cw[c]) * math.Log(math.Max(p, 1e-7))
		lw += float64(cw[c])
		sc[i] = evaluate.Scored{Score: probs[i], Attack: c == 1}
	}
	return loss / lw, evaluate.ROCAUC(sc), nil
}

// Predict returns the attack probability of every sample (in parallel;
// Forward is safe for concurrent use).
func Predict(m *gnn.Model, samples []*Sample) ([]float64, error) {
	out := make([]float64, len(samples))
	errs := make([]error, len(samples))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(samples); i += workers {
				o, err := m.Forward(samples[i].Input)
				if err != nil {
					errs[i] = fmt.Errorf("predict %s %s: %w", samples[i].Recording, samples[i].Host, err)
					continue
				}
				out[i] = float64(o.Probs[1])
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func snapshot(m *gnn.Model) map[string][]float32 {
	out := map[string][]float32{}
	for _, n := range m.ParamNames() {
		d, _, _ := m.Param(n)
		out[n] = append([]float32(nil), d...)
	}
	return out
}

func restore(m *gnn.Model, snap map[string][]float32) error {
	for n, d := range snap {
		if err := m.SetParam(n, d); err != nil {
			return fmt.Errorf("train: restore best epoch: %w", err)
		}
	}
	return nil
}
