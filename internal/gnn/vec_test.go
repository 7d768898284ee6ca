package gnn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpAndELUAccuracy(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	xs := []float32{0, -0, 1, -1, 1e-8, -1e-8, -87, -87.5, -100, -1e30, 88, 50, -20} // only x <= 0 is used by the model, but stay exact above too
	for range 5000 {
		xs = append(xs, float32(rng.Float64()*178-90)) // up to 88: exp overflows float32 near 88.7
	}
	v := append([]float32(nil), xs...)
	expInPlace(v)
	e := append([]float32(nil), xs...)
	eluInPlace(e)
	for i, x := range xs {
		want := math.Exp(float64(x))
		for name, got := range map[string]float32{"expf": expf(x), "vector exp": v[i]} {
			if rel := math.Abs(float64(got)-want) / math.Max(want, 1e-37); rel > 1e-6 && math.Abs(float64(got)-want) > 1e-37 {
				t.Fatalf("%s(%g) = %g, want %g (rel err %.2e)", name, x, got, want, rel)
			}
		}
		wantE := float64(x)
		if x <= 0 {
			wantE = math.Expm1(float64(x))
		}
		for name, got := range map[string]float32{"elu": elu(x), "vector elu": e[i]} {
			if d := math.Abs(float64(got) - wantE); d > 2e-7*math.Max(1, math.Abs(wantE)) {
				t.Fatalf("%s(%g) = %g, want %g", name, x, got, wantE)
			}
		}
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Fatalf("expf(NaN) = %v", got)
	}
}

func TestAxpy(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 64, 100} {
		x, y := randSlice(rng, n), randSlice(rng, n)
		want := append([]float32(nil), y...)
		for i := range want {
			want[i] += 0.37 * x[i]
		}
		axpy(0.37, x, y)
		for i := range y {
			if math.Abs(float64(y[i]-want[i])) > 1e-6 {
				t.Fatalf("n=%d: y[%d]=%g want %g", n, i, y[i], want[i])
			}
		}
	}
}
