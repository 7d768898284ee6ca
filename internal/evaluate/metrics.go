// Package evaluate scores a detector against labelled windows: confusion
// counts, precision/recall/false-positive rate, ROC AUC, threshold
// calibration for a target false-positive rate, and the logistic-regression
// baseline every model is compared with.
package evaluate

import (
	"math"
	"sort"
)

// Scored is one labelled prediction.
type Scored struct {
	Score  float64 // attack probability
	Attack bool    // ground truth
}

// Confusion holds the counts at one threshold (score >= threshold => attack).
type Confusion struct {
	TP, FP, TN, FN int
}

// At returns the confusion counts at threshold.
func At(xs []Scored, threshold float64) Confusion {
	var c Confusion
	for _, x := range xs {
		pred := x.Score >= threshold
		switch {
		case pred && x.Attack:
			c.TP++
		case pred && !x.Attack:
			c.FP++
		case !pred && x.Attack:
			c.FN++
		default:
			c.TN++
		}
	}
	return c
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// Precision is TP/(TP+FP); NaN when nothing was flagged.
func (c Confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is TP/(TP+FN); NaN when there are no attacks.
func (c Confusion) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// FPR is FP/(FP+TN); NaN when there are no benign windows.
func (c Confusion) FPR() float64 { return ratio(c.FP, c.FP+c.TN) }

// F1 is the harmonic mean of precision and recall.
func (c Confusion) F1() float64 {
	p, r := c.Precision(), c.Recall()
	if math.IsNaN(p) || math.IsNaN(r) || p+r == 0 {
		return math.NaN()
	}
	return 2 * p * r / (p + r)
}

// ROCAUC is the probability that a random attack scores above a random
// benign window (ties count one half) — the Mann-Whitney U statistic
// normalised. NaN when either class is empty.
func ROCAUC(xs []Scored) float64 {
	pos, neg := 0, 0
	for _, x := range xs {
		if x.Attack {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	s := append([]Scored(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i].Score < s[j].Score })
	// Average ranks over ties, then sum the ranks of the positives.
	var rankSum float64
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].Score == s[i].Score {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks are 1-based: (i+1 .. j) averaged
		for k := i; k < j; k++ {
			if s[k].Attack {
				rankSum += avg
			}
		}
		i = j
	}
	u := rankSum - float64(pos)*float64(pos+1)/2
	return u / (float64(pos) * float64(neg))
}

// ThresholdForFPR returns the lowest threshold whose false-positive rate on
// xs does not exceed maxFPR (so recall is as high as the budget allows).
// With no benign windows it returns 0.5.
func ThresholdForFPR(xs []Scored, maxFPR float64) float64 {
	n := 0
	for _, x := range xs {
		if !x.Attack {
			n++
		}
	}
	return ThresholdAllowing(xs, int(math.Floor(maxFPR*float64(n))))
}

// ThresholdAllowing returns the lowest threshold that leaves at most
// allowed benign windows of xs at or above it.
func ThresholdAllowing(xs []Scored, allowed int) float64 {
	var neg []float64
	for _, x := range xs {
		if !x.Attack {
			neg = append(neg, x.Score)
		}
	}
	if len(neg) == 0 {
		return 0.5
	}
	sort.Float64s(neg)
	// Threshold just above the (len-allowed)-th highest benign score.
	idx := len(neg) - allowed - 1
	if idx < 0 {
		return 0
	}
	t := math.Nextafter(neg[idx], math.Inf(1))
	return math.Min(t, 1)
}
