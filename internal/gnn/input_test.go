package gnn

import (
	"math"
	"testing"
)

func TestFirstNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for n := 0; n < 40; n++ {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i) - 3.5
		}
		if got := firstNonFinite(x); got != -1 {
			t.Fatalf("n=%d: finite input reported at %d", n, got)
		}
		for pos := 0; pos < n; pos++ {
			for _, bad := range []float32{nan, inf, -inf} {
				y := append([]float32(nil), x...)
				y[pos] = bad
				if pos+1 < n {
					y[n-1] = bad // a later one must not win
				}
				if got := firstNonFinite(y); got != pos {
					t.Fatalf("n=%d: %v at %d reported at %d", n, bad, pos, got)
				}
			}
		}
	}
	// The largest finite values and subnormals are finite.
	if got := firstNonFinite([]float32{math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 0}); got != -1 {
		t.Fatalf("extremes reported at %d", got)
	}
}
